/* predict.h — latency predictors in the manner of BRP-NAS (Dudziak et al.
 * 2020): a graph convolutional network over the IR graph of a model, a
 * binary relation predictor for ranking, iterative data selection, and the
 * two baselines every report shows beside them (a linear fit on MACs and a
 * sum of per-op latencies from a fitted lookup table).
 *
 * Graphs come from the IR (fab_pred_graph_json); data sets are the JSONL
 * files `fabc sample` writes (one model per line, with its graph and its
 * measured latencies).  Errors go to fab_diag; nothing here exits.
 */
#ifndef FAB_PREDICT_H
#define FAB_PREDICT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

/* ---- graphs ---------------------------------------------------------------- */

/* The compute graph of a module's entry function as compact JSON
 * (malloc'd): {"nodes": [[op, [out dims], [in dims], macs(, heads)], ...],
 *  "edges": [[from, to], ...]}; weight and const ops are left out (their
 * shapes are in the users' features). */
char *fab_pred_graph_json(const fab_module *m, fab_diag *d);

/* Node features: one-hot op kind (FAB_PRED_NOPS + 1 slots, the last for
 * the global node), FAB_PRED_NSHAPE shape features (log2 sizes, MACs,
 * elements moved, attention heads), then on the global node 8 features of
 * the accelerator, 1 of the analytical model's latency and, last, the
 * accelerator's write-back sharing (wb_share, engines per write-back lane:
 * log2(wb_share / 2) / 2, so 0 at the default 2).  The op slots are an
 * explicit list of op names (graph.c), not the opcode order, so adding an
 * op to the IR keeps every saved predictor and data set valid; an op not
 * on the list has no one-hot slot (its shape features still count) until
 * the list is extended, which changes "nfeat" and needs retraining.
 *
 * wb_share came after the other features (FAB_PRED_NFEAT_V2 of them): it
 * takes the last slot, is 0 for every accelerator before it (wb_share 2),
 * and its first-layer weights start at 0 (gcn.c), so a data set that does
 * not vary it trains exactly as before and a .pred file of
 * FAB_PRED_NFEAT_V2 features loads with a zero row for it (io.c). */
#define FAB_PRED_NOPS 33
#define FAB_PRED_NACCEL 9 /* accel[8] is wb_share */
#define FAB_PRED_NSHAPE 7
#define FAB_PRED_NFEAT (FAB_PRED_NOPS + 1 + FAB_PRED_NSHAPE + FAB_PRED_NACCEL + 1)
#define FAB_PRED_NFEAT_V2 (FAB_PRED_NFEAT - 1)
#define FAB_PRED_SLOT_ACCEL (FAB_PRED_NOPS + 1 + FAB_PRED_NSHAPE) /* accel[0..7] */
#define FAB_PRED_SLOT_ANALYTICAL (FAB_PRED_SLOT_ACCEL + 8)
#define FAB_PRED_SLOT_WB_SHARE (FAB_PRED_NFEAT - 1)
/* The one-hot slot of an opcode, -1 if it has none. */
int fab_pred_op_slot(int opcode);

typedef struct fab_pred_graph {
  int n;          /* nodes, the global node last */
  float *x;       /* n * FAB_PRED_NFEAT */
  int nadj;       /* normalised adjacency with self-loops, CSR */
  int *adj_start; /* n + 1 */
  int *adj_col;
  float *adj_w;
  /* BRP-NAS's form (its code's A + I, used as A·H): row i sums node i and
   * the nodes that consume i's output (directed, unnormalised); the
   * global node's row sums every node and no node reads the global node */
  int npadj;
  int *padj_start, *padj_col;
  int *op;        /* opcode per node (-1: global) */
  uint64_t *key;  /* lookup-table key per node (op + shapes) */
  double *macs;   /* per node */
  double *elems;  /* per node: elements read and written (node_elems) */
} fab_pred_graph;

typedef struct fab_pred_sample {
  fab_pred_graph g;
  double accel[FAB_PRED_NACCEL];
  double latency;   /* the chosen target, ms */
  double latency2;  /* a second measurement of it (CPU noise), 0 if none */
  double macs;      /* whole model */
  /* the analytical FPGA model's latency of this point (ms; 0 = unknown):
   * "fpga_model_ms" of a data set line, fab_cd_model_latency at
   * prediction time (fab_pred_sample_set_analytical) */
  double analytical_ms;
  int hidden, layers; /* for held-out family splits */
  int64_t key;      /* the search-space point */
} fab_pred_sample;

typedef struct fab_pred_dataset {
  fab_pred_sample *s;
  int n;
} fab_pred_dataset;

/* Reads a `sample` JSONL file; `target` is "fpga_sim_ms", "fpga_model_ms"
 * or "cpu_ms".  Lines without that field are skipped; malformed lines are
 * errors naming the line. */
bool fab_pred_dataset_load(const char *path, const char *target, fab_pred_dataset *ds,
                           fab_diag *d);
void fab_pred_dataset_free(fab_pred_dataset *ds);
/* One sample from a graph (fab_pred_graph_json) and the accelerator as
 * JSON ({"p_be", "p_bu", "bw_in", "bw_coef", "clock_mhz", "fp16",
 * "att_mults", "ppu_lanes", "wb_share"}: a data set line's "accel",
 * fab_cd_accel_json), for predicting unseen points.  A missing field takes
 * its default (wb_share 2: records written before it). */
bool fab_pred_sample_make(const char *graph_json, const char *accel_json, fab_pred_sample *s,
                          fab_diag *d);
void fab_pred_sample_free(fab_pred_sample *s);
/* Sets analytical_ms and its feature on the global node (a latency of 0
 * or less means unknown: the feature is 0). */
void fab_pred_sample_set_analytical(fab_pred_sample *s, double ms);

/* ---- metrics ---------------------------------------------------------------- */

typedef struct fab_pred_metrics {
  int n;
  double within1, within5, within10; /* fractions of |pred/true - 1| <= 1/5/10% */
  double kendall, spearman, mape;
} fab_pred_metrics;
void fab_pred_metrics_compute(const double *pred, const double *truth, int n,
                              fab_pred_metrics *m);
double fab_pred_kendall(const double *a, const double *b, int n);
double fab_pred_spearman(const double *a, const double *b, int n);

/* Percentile bootstrap: the statistic `stat` of n items recomputed on
 * `rounds` resamples (n indices drawn with replacement, xorshift seeded by
 * `seed`); *lo and *hi receive the 2.5th and 97.5th percentiles (a 95%
 * interval).  `idx` holds the resample's item indices. */
typedef double (*fab_pred_stat_fn)(const int *idx, int n, void *user);
void fab_pred_bootstrap_ci(int n, fab_pred_stat_fn stat, void *user, int rounds, uint64_t seed,
                           double *lo, double *hi);
/* The mean of v[0..n) and its bootstrap interval (2000 resamples). */
double fab_pred_mean_ci(const double *v, int n, uint64_t seed, double *lo, double *hi);
/* Metrics of pred against truth with 95% bootstrap intervals (2000
 * resamples of the n items) of Kendall tau, Spearman rho and within10. */
typedef struct fab_pred_metrics_ci {
  fab_pred_metrics m;
  double kendall_lo, kendall_hi, spearman_lo, spearman_hi, within10_lo, within10_hi;
} fab_pred_metrics_ci;
void fab_pred_metrics_ci_compute(const double *pred, const double *truth, int n, uint64_t seed,
                                 fab_pred_metrics_ci *m);

/* ---- predictors ---------------------------------------------------------------- */

typedef enum { FAB_PRED_GCN, FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_BRP } fab_pred_kind;

typedef struct fab_predictor fab_predictor;

typedef struct fab_pred_progress {
  int epoch, epochs;
  double train_loss, valid_loss;
} fab_pred_progress;
typedef void (*fab_pred_progress_fn)(const fab_pred_progress *p, void *user);

typedef struct fab_pred_train_options {
  fab_pred_kind kind;
  int width;        /* GCN width (default 32) */
  int layers;       /* GCN layers (default 4) */
  double lr, weight_decay, dropout; /* 4e-4, 5e-4, 0.05 */
  int epochs, patience, batch;      /* 400, 40, 16 */
  /* GCN readout: false = a linear layer on the global node (BRP-NAS);
   * true = log of the sum over op nodes of exp(linear(node)): per-op
   * costs that add up, as latency does */
  bool sum_readout;
  /* GCN: learn log(latency / analytical_ms), the analytical model's
   * error, instead of log latency; every sample then needs analytical_ms */
  bool residual;
  /* GCN and BRP: the graph as BRP-NAS's code builds it (A + I, directed,
   * unnormalised) instead of ours (undirected, D^-1/2 (A + I) D^-1/2 with
   * the global node joined both ways) */
  bool paper_graph;
  /* BRP: 0 = all ordered pairs (BRP-NAS: the loss is the mean over all
   * n(n-1) ordered pairs of the training set; each step takes every
   * ordered pair within a minibatch of `batch` models, an unbiased
   * estimate of it); N > 0 = N random pairs per epoch */
  int brp_pairs;
  /* BRP: hard 0/1 targets instead of BRP-NAS's soft ones (the softmax of
   * the pair's labels, min-max normalised over the training set) */
  bool brp_hard;
  uint64_t seed;
  fab_pred_progress_fn progress;
  void *user;
} fab_pred_train_options;
void fab_pred_train_options_default(fab_pred_train_options *o);

/* Trains on `train`, early-stopping on `valid` (may be NULL: no early
 * stopping).  BRP trains on pairs of the training set.  A target is
 * any positive label: a latency, or an accuracy (fabc sample --measure
 * accuracy); the GCN regresses its log, and BRP learns p(a's label is the
 * smaller), so its ranking score grows with the label either way. */
fab_predictor *fab_pred_train(const fab_pred_sample *const *train, int ntrain,
                              const fab_pred_sample *const *valid, int nvalid,
                              const fab_pred_train_options *o, fab_diag *d);
/* Trains p (GCN or BRP) further from its current weights on a new
 * training set (BRP-NAS's iterative selection continues training rather
 * than starting over); the GCN keeps its target normalisation. */
bool fab_pred_train_more(fab_predictor *p, const fab_pred_sample *const *train, int ntrain,
                         const fab_pred_sample *const *valid, int nvalid, const fab_pred_train_options *o,
                         fab_diag *d);
void fab_pred_free(fab_predictor *p);
fab_pred_kind fab_pred_get_kind(const fab_predictor *p);
/* True if the predictor needs the sample's analytical_ms (a residual GCN). */
bool fab_pred_needs_analytical(const fab_predictor *p);
/* Latency in ms (GCN, MACs, LUT); for BRP a ranking score (lower = faster).
 * NAN if the predictor needs analytical_ms and the sample has none. */
double fab_pred_predict(const fab_predictor *p, const fab_pred_sample *s);
/* A predictor scored on n samples (fab_pred_rank_scores against their
 * labels) with bootstrap intervals (seed 1); false for n < 2 or out of
 * memory. */
bool fab_pred_evaluate(const fab_predictor *p, const fab_pred_sample *const *s, int n, fab_pred_metrics_ci *m);
/* BRP: probability that a is faster than b. */
double fab_pred_compare(const fab_predictor *p, const fab_pred_sample *a, const fab_pred_sample *b);
/* Scores for ranking n samples: latency predictions, or for BRP the
 * fraction of round-robin comparisons each one loses (lower = faster). */
void fab_pred_rank_scores(const fab_predictor *p, const fab_pred_sample *const *s, int n,
                          double *score);

/* .pred files: JSON {"format": "fab-predictor", "version": 2, "kind", ...}.
 * Loading checks the header, the sizes and every number.  Version 2 (the
 * bytes and analytical-latency features, the residual target) refuses
 * version 1 files with a message to retrain.  A GCN or BRP file of
 * FAB_PRED_NFEAT_V2 features (written before wb_share) loads with a zero
 * weight row for wb_share and predicts as it did. */
#define FAB_PRED_FILE_VERSION 2
bool fab_pred_save(const fab_predictor *p, const char *path, fab_diag *d);
fab_predictor *fab_pred_load(const char *path, fab_diag *d);

/* ---- iterative data selection (BRP-NAS) ---------------------------------------- */

typedef struct fab_pred_select_options {
  int rounds, per_round; /* 5, 20 */
  bool maximize;         /* the best model has the largest label (accuracy) */
  /* round r (0-based) trains (r + 1) * train.epochs / rounds epochs, as
   * BRP-NAS's schedule grows them; train.kind is GCN or BRP */
  fab_pred_train_options train;
  FILE *log;             /* one line per round, or NULL */
} fab_pred_select_options;

/* BRP-NAS's iterative data selection (its code's --iter T --sample_best2,
 * alpha = 0.5): from `pool` (whose labels stand for measurements made on
 * demand) round 0 measures per_round models at random; every later round
 * r ranks the unmeasured pool with the predictor, measures the per_round/2
 * predicted best and per_round - per_round/2 random ones from the
 * predicted top 1/2^r, and trains the same predictor further on
 * everything measured (no restart).  `chosen` receives pool indices
 * (caller-allocated, rounds*per_round); returns the final predictor. */
fab_predictor *fab_pred_select(const fab_pred_sample *const *pool, int npool,
                               const fab_pred_select_options *o, int *chosen, fab_diag *d);

#endif /* FAB_PREDICT_H */
