/* proxy.h — zero-cost proxies, FABNet supernets and Zero-Cost-PT.
 *
 * Proxies (docs/explore.md; definitions of /work/shared/docs/nas.md) score
 * an untrained network from one minibatch.  "Linear layers" are the
 * bfly.linear and dense ops: their weight operand (twiddles, dense
 * matrices) is what grad_norm, snip and synflow sum over; biases, norms
 * and embeddings are not scored.  The loss is the mean softmax
 * cross-entropy of output 0.
 *
 * A supernet is a plain module whose choice edges hold every candidate:
 * each candidate's output op carries `hint.choice_edge = "<edge>"` and
 * `hint.choice = "<candidate>"`, the candidates are summed by `add` ops
 * and the sum is scaled by 1/k by a `scale` op carrying
 * `hint.choice_mix = "<edge>"` (equal-weight mixing).  Candidate weights
 * are named `<edge>.<candidate>.<rest>`; the plain model keeps
 * `<edge>.<rest>` (the front end's name for the same layer).
 */
#ifndef FAB_PROXY_H
#define FAB_PROXY_H

#include <stdio.h>

#include "train.h"

typedef enum {
  FAB_PROXY_SYNFLOW,   /* ln of sum |theta * dR/dtheta|, |theta|, all-ones input, no data */
  FAB_PROXY_SNIP,      /* sum |W * dL/dW| */
  FAB_PROXY_GRAD_NORM, /* sum over layers of ||dL/dW||_F */
  FAB_PROXY_FISHER,    /* sum over layer outputs of 1/2 mean_n (sum z dL/dz)^2 */
  FAB_PROXY_JACOB_COV, /* -sum log(l + 1e-5) + 1/(l + 1e-5) over eig of corr(J) */
  FAB_PROXY_NWOT,      /* log|det K|, K[n,m] = units whose activity agrees */
  FAB_PROXY_PARAMS,    /* live parameters ("real" count) */
  FAB_PROXY_MACS,      /* multiply-accumulates per sample (explore/stats) */
  FAB_PROXY_COUNT
} fab_proxy_kind;

const char *fab_proxy_name(fab_proxy_kind k); /* "synflow", ... */
int fab_proxy_lookup(const char *name);       /* -1 if unknown */

/* One minibatch for input 0 of the model: n rows of the input's numel
 * values (token ids as doubles, or f32 inputs) and n labels. */
typedef struct fab_proxy_batch {
  int n;
  int64_t width;
  double *x; /* owned */
  int32_t *y; /* owned; NULL: label-free proxies only */
} fab_proxy_batch;

/* Rows start..start+n-1 of a data set (wrapping around). */
bool fab_proxy_batch_from_dataset(const fab_dataset *ds, int64_t start, int n,
                                  fab_proxy_batch *b, fab_diag *d);
void fab_proxy_batch_free(fab_proxy_batch *b);

/* Which definitions a proxy follows.  FABC (the default) and REFERENCE
 * (zero-cost-nas's code, exactly) differ in two places (docs/explore.md):
 * fisher (REFERENCE multiplies each channel by the layer's weights per
 * output unit -- the fan-in of a dense layer -- and takes dim 0 of a
 * sample's activation as the channel, as its NCHW hook does; FABC counts
 * each output unit once) and synflow on token models (REFERENCE feeds
 * token id 1, the all-ones input; FABC sets the embedding's output to
 * ones).  The other proxies are the same in both. */
typedef enum { FAB_PROXY_DEFS_FABC, FAB_PROXY_DEFS_REFERENCE } fab_proxy_defs;

/* Scores `ad` (its current parameters, masks respected: dead ops and
 * their weights and units are ignored).  synflow changes the parameters
 * temporarily and restores them. */
bool fab_proxy_score_ad(fab_ad *ad, fab_proxy_kind k, const fab_proxy_batch *b, double *score,
                        fab_diag *d);
bool fab_proxy_score_ad_defs(fab_ad *ad, fab_proxy_kind k, fab_proxy_defs defs,
                             const fab_proxy_batch *b, double *score, fab_diag *d);
/* Module-level: parameters from `weights` (NULL: the module's seeded
 * initialisation with `seed`). */
bool fab_proxy_score(const fab_module *m, const fab_tensor_set *weights, uint64_t seed,
                     fab_proxy_kind k, const fab_proxy_batch *b, double *score, fab_diag *d);
bool fab_proxy_score_defs(const fab_module *m, const fab_tensor_set *weights, uint64_t seed,
                          fab_proxy_kind k, fab_proxy_defs defs, const fab_proxy_batch *b,
                          double *score, fab_diag *d);

/* synflow in detail (tests): ln of the score and ln R, R = sum of the
 * outputs on the all-ones input with |theta|. */
bool fab_proxy_synflow(fab_ad *ad, double *log_score, double *log_r, fab_diag *d);
/* jacob_cov in detail (tests): the eigenvalues of the correlation matrix
 * (b->n of them, caller-allocated). */
bool fab_proxy_jacob_cov_eigs(fab_ad *ad, const fab_proxy_batch *b, double *eig, fab_diag *d);
/* nwot in detail (tests): the kernel K (b->n * b->n, caller-allocated). */
bool fab_proxy_nwot_kernel(fab_ad *ad, const fab_proxy_batch *b, double *K, fab_diag *d);

/* ---- supernets ---------------------------------------------------------- */

typedef struct fab_supernet_edge {
  const char *name;       /* "layers.0" */
  int ncand;
  const char **cand;      /* candidate names */
  int *cand_op;           /* op index of each candidate's output */
  int mix_op;             /* the hint.choice_mix scale op, -1 if none */
} fab_supernet_edge;

typedef struct fab_supernet {
  int nedges;
  fab_supernet_edge *edges; /* malloc'd; names point into the module */
} fab_supernet;

/* Finds the choice edges of a module (none: an ordinary model). */
bool fab_supernet_scan(const fab_module *m, fab_supernet *s, fab_diag *d);
void fab_supernet_free(fab_supernet *s);
/* Masks every candidate but choice[e] on each edge (choice[e] < 0 keeps
 * all of that edge's candidates). */
void fab_supernet_apply(fab_ad *ad, const fab_supernet *s, const int *choice);
/* The plain module of one architecture: masked candidates and the mixing
 * scale removed, weights renamed to <edge>.<rest>.  Edges with
 * choice[e] < 0 are kept whole, markers included (a smaller supernet).  When `w_in` and
 * `w_out` are given, the chosen candidates' tensors are copied renamed. */
fab_module *fab_supernet_extract(const fab_module *m, const fab_supernet *s, const int *choice,
                                 const fab_tensor_set *w_in, fab_tensor_set *w_out, fab_diag *d);

/* A FABNet supernet: embedding + positional embedding, `layers` choice
 * edges "layers.<i>" each holding the post-LN blocks named in `cands`
 * ("fbfly": Fourier mixing + butterfly FFN; "abfly": attention with
 * butterfly projections + butterfly FFN; "abfly_dffn": butterfly
 * attention + dense FFN; "transformer": dense attention + dense FFN;
 * "fdense": Fourier mixing + dense FFN), mean pooling and a dense head. */
typedef struct fab_supernet_options {
  int seq, d, h, heads, vocab, classes, layers;
  int ncands;
  const char *const *cands;
} fab_supernet_options;
fab_module *fab_supernet_fabnet(const fab_supernet_options *o, fab_diag *d);

/* ---- Zero-Cost-PT --------------------------------------------------------- */

typedef struct fab_zcpt_options {
  fab_proxy_kind proxy; /* default nwot */
  int proposals;        /* N (default 10) */
  int valid_batches;    /* V (default 100) */
  int batch;            /* samples per minibatch (default 32) */
  uint64_t seed;        /* edge orders, minibatch draws and init */
  /* REFERENCE: Zero-Cost-PT's code -- a fresh minibatch for every op
   * evaluation -- and the reference proxy definitions; FABC (default):
   * the candidates of one edge are compared on one shared minibatch. */
  fab_proxy_defs defs;
  FILE *log;            /* each edge's op scores; NULL: silent */
} fab_zcpt_options;

void fab_zcpt_options_default(fab_zcpt_options *o);

typedef struct fab_zcpt_result {
  int nedges;
  int *choice;           /* chosen candidate per edge */
  double **op_score;     /* [edge][cand]: mean over proposals of
                            score(current) - score(without the op) */
  double best_score;     /* validation score of the returned architecture */
  int nproposals_distinct;
  int64_t proxy_evals;   /* proxy evaluations (each one minibatch) */
  int64_t forward_passes; /* samples forwarded (a backward counts as one more) */
  double seconds;
} fab_zcpt_result;

/* Runs Zero-Cost-PT on a supernet with `weights` (NULL: seeded init)
 * using minibatches drawn from `data`.  A decided edge computes its
 * chosen operation with weight 1 (the reference's project_op), not the
 * 1/k of the mixing. */
bool fab_zcpt_select(const fab_module *supernet, const fab_tensor_set *weights,
                     const fab_dataset *data, const fab_zcpt_options *o, fab_zcpt_result *res,
                     fab_diag *d);
void fab_zcpt_result_free(fab_zcpt_result *r);

#endif /* FAB_PROXY_H */
