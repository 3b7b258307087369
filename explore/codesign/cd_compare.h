/* cd_compare.h — experiments that compare the choices of a codesign run
 * (fab_codesign): search strategies against the exhaustive front,
 * accuracy objectives against training, predictor-driven against
 * measured search, latency predictors on a data set.  `fabc codesign
 * --compare strategies|accuracy|predictor` and `fabc predictor compare`
 * print them; docs/codesign.md quotes their results. */
#ifndef FAB_CD_COMPARE_H
#define FAB_CD_COMPARE_H

#include <stdio.h>

#include "codesign.h"
#include "predict.h"

/* The front of n results as CSV and/or SVG (either path may be NULL),
 * each replaced whole; false after reporting which file failed and why. */
bool fab_cd_write_front_files(const fab_cd_space *s, const fab_cd_result *r, int64_t n, const char *csv,
                              const char *svg, const char *title, fab_diag *d);

/* Strategies (compare_search.c): the exhaustive search, then every other
 * strategy at max(64, frac x canonical points) evaluations for seeds
 * 1..seeds; writes SPACE-exhaustive.csv/.svg, SPACE-trace.csv and
 * SPACE-hv.svg to out_dir.  `search` carries threads, sharding and
 * progress.  out NULL: compute only, print and write nothing (MPI ranks
 * other than 0). */
typedef struct fab_cd_study_options {
  double frac;
  int seeds;
  const char *out_dir;
  fab_cd_search_options search;
  fab_cd_progress_line *line; /* closed before printing; may be NULL */
  FILE *out;
} fab_cd_study_options;
bool fab_cd_compare_strategies(const fab_cd_space *s, fab_cd_evaluator *e, const fab_cd_study_options *o,
                               fab_diag *d);

/* Accuracy objectives (compare_acc.c): the first canonical pair of every
 * `every`-th model (at most max_models) scored trained, proxy and
 * stand-in with `base`'s training options and cache; a line per model,
 * the rank correlations, and the table as CSV to `csv` (may be NULL). */
typedef struct fab_cd_acc_compare_options {
  int max_models, every, threads;
  const char *csv;
  fab_cd_progress_line *line;
  FILE *out;
} fab_cd_acc_compare_options;
bool fab_cd_compare_accuracy(const fab_cd_space *s, const fab_cd_eval_options *base,
                             const fab_cd_acc_compare_options *o, fab_diag *d);

/* A predictor as the search's latency (fab_cd_eval_options.predict, user
 * = the fab_predictor): the point's IR graph and accelerator, with the
 * analytical latency feature as `fabc sample` records it. */
double fab_cd_predict_point(const fab_cd_space *s, const fab_cd_point *p, void *user);

/* Predictor-driven against measurement-driven search (compare_pred.c):
 * evolution (population 16, one thread) with simulated latency for
 * budget_meas evaluations and with the predictor for budget_pred, the
 * predicted front then simulated; hypervolumes in a common box. */
bool fab_cd_compare_predictor_search(const fab_cd_space *s, const fab_predictor *pr, int64_t budget_meas,
                                     int64_t budget_pred, uint64_t seed, FILE *out, fab_diag *d);

/* Predictors on a data set (compare_pred.c): a split (the held-out family
 * hidden >= holdout_hidden first, then of the rest ntrain (default 80%)
 * for training and the remainder halved into validation and test;
 * shuffle > 0 draws another split), the analytical model raw and
 * calibrated (latency targets), then the GCN, the MACs fit, the op lookup
 * table and BRP (train.* their options; brp_epochs > 0 overrides the
 * epochs for BRP) on the test and family sets, each Kendall tau, Spearman
 * rho and within-10% with a 95% bootstrap interval over the test models;
 * iterative data selection with select. */
typedef struct fab_cd_pred_compare_options {
  const char *target; /* a latency key of the data set: fpga_sim_ms, cpu_ms, ... */
  int holdout_hidden, ntrain, brp_epochs;
  int ntest; /* > 0: exactly this many test models (the rest after training validates) */
  uint64_t shuffle;
  fab_pred_train_options train;
  bool no_brp, select, select_only;
  /* iterative selection (BRP-NAS): rounds x per_round models from the
   * training and validation models (the pool), kind GCN or BRP, maximize
   * for accuracy labels; reported beside as many random models trained
   * once, both on the test set */
  int select_rounds, select_per_round;
  fab_pred_kind select_kind;
  bool maximize;
  const char *save; /* the GCN's file, or NULL */
  FILE *out;
} fab_cd_pred_compare_options;
bool fab_cd_compare_predictors(const char *data, const fab_cd_pred_compare_options *o, fab_diag *d);

#endif /* FAB_CD_COMPARE_H */
