/* predict_internal.h — shared by the files of fab_predict only. */
#ifndef FAB_PREDICT_INTERNAL_H
#define FAB_PREDICT_INTERNAL_H

#include "predict.h"

#define GCN_MAX_LAYERS 8

/* Parameters live in one flat array (theta) so the optimiser and the
 * .pred writer treat them uniformly; o* are offsets into it. */
typedef struct gcn {
  int L, W, F, head_in, head_out;
  double dropout;
  bool paper_graph; /* aggregate over the graph's padj (BRP-NAS's A + I) */
  int nparams;
  double *theta;
  int oW[GCN_MAX_LAYERS], ob[GCN_MAX_LAYERS], og[GCN_MAX_LAYERS], obeta[GCN_MAX_LAYERS], ohead;
} gcn;

typedef struct gcn_ws {
  int n;
  size_t cap;
  double *buf;
  double *H[GCN_MAX_LAYERS + 1], *AH[GCN_MAX_LAYERS], *Zh[GCN_MAX_LAYERS], *R[GCN_MAX_LAYERS],
      *M[GCN_MAX_LAYERS], *rstd[GCN_MAX_LAYERS];
} gcn_ws;

int gcn_layout(gcn *g);
bool gcn_init(gcn *g, int L, int W, int head_in_mult, int head_out, double dropout, uint64_t seed);
void gcn_free(gcn *g);
bool gcn_forward(const gcn *g, const fab_pred_graph *gr, gcn_ws *w, uint64_t *rng);
const double *gcn_embedding(const gcn *g, const gcn_ws *w);
void gcn_backward(const gcn *g, const fab_pred_graph *gr, const gcn_ws *w, const double *demb,
                  double *grad);
void gcn_backward_all(const gcn *g, const fab_pred_graph *gr, const gcn_ws *w, const double *dlast,
                      double *grad);
void gcn_ws_free(gcn_ws *w);

typedef struct adamw {
  double *m, *v;
  int t;
} adamw;
bool adamw_init(adamw *o, int n);
void adamw_step(adamw *o, double *theta, const double *grad, int n, double lr, double wd);
void adamw_free(adamw *o);

struct fab_predictor {
  fab_pred_kind kind;
  gcn net;              /* GCN, BRP */
  double y_mean, y_std; /* GCN: normalisation of log latency */
  bool sum_readout;     /* GCN: log of the sum of per-node costs, not the global node */
  bool residual;        /* GCN: the target is log(latency / analytical_ms) */
  double a, b;          /* MACs: latency = a + b * macs */
  int nkeys;            /* LUT */
  uint64_t *keys;       /* sorted */
  double *tval;         /* ms per occurrence of the key */
  double rate[FAB_PRED_NOPS]; /* ms per MAC for unseen keys, by op slot */
  double lut_bias;
};

#endif
