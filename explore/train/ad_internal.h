/* ad_internal.h — the compiled program and tape shared by ad.c and the
 * op kernels (ad_linear.c, ad_nn.c).  Not a public header. */
#ifndef FAB_AD_INTERNAL_H
#define FAB_AD_INTERNAL_H

#include "train.h"

/* Per-op facts fixed at compile time. */
typedef struct ad_op {
  fab_opcode code;
  int nin;
  int in[4];        /* operand op indices */
  int64_t n;        /* result element count (0 for NORESULT) */
  fab_type type;    /* result type */
  int param;        /* WEIGHT: parameter index */
  double *cos_s, *sin_s, *cos_d, *sin_d; /* FOURIER_MIX tables (owned) */
} ad_op;

struct fab_ad {
  const fab_module *m;
  const fab_func *f;
  int nops;
  ad_op *ops;
  int nparams;
  double **params;
  int64_t *pnumel;
  unsigned char *mask, *live;
  const double **override;
  int ninputs, noutputs;
  int *inputs, *outputs;
};

struct fab_ad_tape {
  const fab_ad *ad;
  double **val;   /* per op; weights alias the parameters */
  double **grad;  /* per op; weights alias pgrad; NULL for i32 values */
  double **pgrad; /* per parameter accumulators */
  double *scratch;
  size_t scratch_n;
};

/* Scratch space of at least n doubles (grown on demand); NULL if out of
 * memory. */
double *ad_scratch(fab_ad_tape *t, size_t n);

/* Kernels: forward computes t->val[i]; backward adds into the operands'
 * gradient buffers from t->grad[i].  Forward reports run-time errors. */
bool ad_forward_op(fab_ad_tape *t, int i, fab_diag *d);
void ad_backward_op(fab_ad_tape *t, int i);
/* Compile-time checks and tables for one op (shapes the kernels assume). */
bool ad_prepare_op(fab_ad *ad, int i, fab_diag *d);

/* Linear-layer kernels (ad_linear.c). */
bool ad_fw_linear(fab_ad_tape *t, int i, fab_diag *d);
void ad_bw_linear(fab_ad_tape *t, int i);
bool ad_prepare_linear(fab_ad *ad, int i, fab_diag *d);

#define AD_PI 3.14159265358979323846264338327950288

#endif
