/* interp_internal.h — what the interpreter's files share.
 *
 * A value is a dense row-major array of doubles: one double per f32 or
 * i32 element, two (re, im) per c64 element.  Each op kernel receives the
 * context (operand values by op index) and fills `out`; it reports errors
 * through interp_err() and returns false, never aborting.
 */
#ifndef FAB_INTERP_INTERNAL_H
#define FAB_INTERP_INTERNAL_H

#include "interp.h"

typedef struct ival {
  fab_type type;
  int64_t n;  /* element count */
  double *d;  /* n doubles, 2n for c64; NULL until computed */
} ival;

typedef struct ictx {
  const fab_module *m;
  const fab_func *f;
  const fab_tensor_set *weights, *inputs;
  ival *vals; /* one per op */
  int cur;    /* index of the op being run */
  fab_diag *d;
} ictx;

typedef bool (*run_fn)(ictx *c, const fab_op *op, ival *out);

/* Reports "interp: %<cur> 'op': message" at the op's location. */
bool interp_err(ictx *c, const fab_op *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Operand i's value. */
const ival *interp_arg(ictx *c, const fab_op *op, int i);
/* Allocates out (zero-filled) with the given dtype and shape. */
bool interp_alloc(ictx *c, const fab_op *op, ival *out, fab_dtype dt, int rank,
                const int64_t *dims);
/* Same dtype and shape as `like`. */
bool interp_alloc_like(ictx *c, const fab_op *op, ival *out, const ival *like);
/* Requires dtype; names the operand in the error. */
bool interp_want_dtype(ictx *c, const fab_op *op, int i, fab_dtype dt);
/* Requires rank >= r for operand i. */
bool interp_want_rank(ictx *c, const fab_op *op, int i, int r);
/* Normalises a possibly negative axis of a rank-r value; false if out of range. */
bool interp_norm_axis(ictx *c, const fab_op *op, int64_t axis, int rank, int *out);
/* Product of dims[lo..hi). */
int64_t interp_dims_prod(const int64_t *dims, int lo, int hi);
/* Required integer attribute (reports when absent). */
bool interp_req_int(ictx *c, const fab_op *op, const char *key, int64_t *v);
bool interp_req_float(ictx *c, const fab_op *op, const char *key, double *v);
char *interp_shape_str(const fab_type *t, char *buf, size_t n);

/* Kernels, one per op (interp_*.c). */
#define FAB_OP(id, text, mn, mx, schema, flags) bool interp_run_##id(ictx *c, const fab_op *op, ival *out);
#include "ops.def"
#undef FAB_OP

/* Shared numerics. */
double interp_gelu_erf(double x);
double interp_gelu_tanh(double x);
/* LayerNorm of one row of d values into y (biased variance). */
void interp_layernorm_row(const double *x, const double *g, const double *b, int64_t d,
                   double eps, double *y);
/* In-place complex DFT (re, im pairs) of n points with stride `stride`
 * (in complex elements): radix-2 when n is a power of two, else direct. */
bool interp_dft_strided(double *x, int64_t n, int64_t stride);

#endif /* FAB_INTERP_INTERNAL_H */
