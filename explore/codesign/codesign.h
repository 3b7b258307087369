/* codesign.h — joint search over FABNet models and butterfly accelerators
 * (Codesign-NAS, Abdelfattah et al. DAC 2020, for fabc).
 *
 * A search space (spaces/NAME.json) lists model knobs (layers, hidden,
 * ffn_ratio, heads, seq, kind0..kind7, ffn_linear, attn_proj) and
 * accelerator knobs (any integer field of fab_fpga_config: p_be, p_bu,
 * be_depth, bw_in/bw_coef/bw_out or bw for all three, clock_mhz, format).
 * A point is one value index per knob; its key is the mixed-radix index
 * model_index * naccels + accel_index, so every strategy, the evaluation
 * log and MPI shards name points the same way.
 *
 * Evaluators (evaluate.c) turn a point into objectives: accuracy
 * (accuracy.c: short training on a generated task for spaces of few
 * models, the synflow proxy for larger ones, or a documented stand-in),
 * FPGA latency (the analytical model composed per layer, or the cycle
 * simulator), resources (the resource model, with the device limits as a
 * constraint) and CPU latency (the CPU backend's JIT, median of repeats).
 *
 * Errors go to fab_diag; nothing here exits.
 */
#ifndef FAB_CODESIGN_H
#define FAB_CODESIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fbin.h"
#include "ir.h"

#define FAB_CD_MAX_KNOBS 24
#define FAB_CD_MAX_VALS 16
#define FAB_CD_MAX_LAYERS 8
#define FAB_CD_MAX_POINTS ((int64_t)1 << 62) /* models x accelerators */
#define FAB_CD_MAX_EXHAUSTIVE ((int64_t)1 << 32) /* points an exhaustive search walks */
#define FAB_CD_MAX_BUDGET ((int64_t)1 << 40)     /* evaluations of the other searches */

typedef struct fab_cd_knob {
  char name[32];
  bool model;                   /* model knob (else accelerator) */
  int nvals;
  double vals[FAB_CD_MAX_VALS]; /* numbers; for string knobs the index */
  char strs[FAB_CD_MAX_VALS][16]; /* "fbfly", "dense", "fp16", ... or "" */
} fab_cd_knob;

typedef struct fab_cd_space {
  char name[64];
  int nknobs;
  fab_cd_knob knobs[FAB_CD_MAX_KNOBS]; /* model knobs first */
  int nmodel_knobs;
  int vocab, classes, seq;  /* the task (seq unless a "seq" knob is given) */
  int pe_total;             /* > 0: p_be = pe_total / p_bu (the authors' P_be*P_bu) */
  fab_fpga_config base;     /* accelerator fields no knob sets */
  int64_t nmodels, naccels; /* mixed-radix sizes (including non-canonical points) */
  /* constraints for constrained queries (0: none) */
  double max_latency_ms;
  bool require_fit;         /* resources within the device */
  unsigned objectives;      /* FAB_CD_OBJ_* bits ("objectives" in the file; 0: all three) */
} fab_cd_space;

/* Loads / parses a space; every problem is reported (the message names the
 * knob).  `what` names the source in messages. */
bool fab_cd_space_load(const char *path, fab_cd_space *s, fab_diag *d);
bool fab_cd_space_parse(const char *json, size_t len, const char *what, fab_cd_space *s,
                        fab_diag *d);
int64_t fab_cd_space_size(const fab_cd_space *s); /* nmodels * naccels */

/* A decoded point: one value index per knob. */
typedef struct fab_cd_point {
  int64_t key;
  uint8_t v[FAB_CD_MAX_KNOBS];
} fab_cd_point;

void fab_cd_point_decode(const fab_cd_space *s, int64_t key, fab_cd_point *p);
int64_t fab_cd_point_encode(const fab_cd_space *s, const fab_cd_point *p);
int64_t fab_cd_model_index(const fab_cd_space *s, int64_t key);
int64_t fab_cd_accel_index(const fab_cd_space *s, int64_t key);
/* False for duplicate spellings of another point (a per-layer kind set
 * beyond `layers`) and for accelerators the config validator refuses. */
bool fab_cd_point_canonical(const fab_cd_space *s, const fab_cd_point *p);
/* "layers=2,hidden=256,...;p_be=40,p_bu=4,..." into buf. */
char *fab_cd_point_str(const fab_cd_space *s, const fab_cd_point *p, char *buf, size_t n);

/* The model knobs of a point, resolved. */
typedef struct fab_cd_model {
  int layers, hidden, ffn, heads, seq, vocab, classes;
  int kind[FAB_CD_MAX_LAYERS]; /* 0 FBfly, 1 ABfly */
  bool ffn_dense, proj_dense;
} fab_cd_model;
void fab_cd_point_model(const fab_cd_space *s, const fab_cd_point *p, fab_cd_model *m);
/* The accelerator configuration of a point (validated: false + message). */
bool fab_cd_point_config(const fab_cd_space *s, const fab_cd_point *p, fab_fpga_config *c,
                         fab_diag *d);
/* Self-contained .fab source of the model (malloc'd). */
char *fab_cd_model_source(const fab_cd_model *m);
/* Compiles the model with the front end into high-level IR. */
fab_module *fab_cd_model_build(const fab_cd_model *m, fab_diag *d);

/* ---- evaluation ------------------------------------------------------------ */

typedef enum {
  FAB_CD_LAT_MODEL, /* analytical per-layer model (microseconds per pair) */
  FAB_CD_LAT_SIM,   /* codegen + cycle simulator (seconds per pair) */
  FAB_CD_LAT_PRED,  /* a latency predictor (fab_cd_evaluator.predict) */
} fab_cd_lat_kind;

typedef enum {
  FAB_CD_ACC_STANDIN, /* documented closed form of capacity (docs/codesign.md) */
  FAB_CD_ACC_PROXY,   /* synflow at a reduced sequence length (needs fab_proxy) */
  FAB_CD_ACC_TRAINED, /* held-out accuracy after a short training (needs fab_train) */
  FAB_CD_ACC_AUTO,    /* the stand-in if accuracy is not one of the space's
                         objectives; else trained if the space has <=
                         auto_max_models distinct models, else the proxy
                         (else the stand-in) */
  FAB_CD_ACC_KIND_COUNT
} fab_cd_acc_kind;
const char *fab_cd_acc_name(fab_cd_acc_kind k); /* "standin", "proxy", "trained", "auto" */
int fab_cd_acc_lookup(const char *name);        /* -1 if unknown */

/* Trained accuracy: the model's knobs at reduced size (sequence `seq`,
 * widths divided by `width_div`, at least 4; layers, kinds, heads, FFN
 * ratio and dense/butterfly choices kept) trained on a generated task
 * (explore/train) with one thread and fixed seeds, scored on held-out
 * samples.  The defaults (ListOps of one operator over 2-5 digits, 16
 * tokens, widths / 16, 400 steps of 32) train a model in 1-20 s and
 * separate the capacities of the FABNet spaces (docs/codesign.md).
 * Zero fields take the defaults. */
typedef struct fab_cd_train_options {
  int task;          /* fab_task_kind (default ListOps) */
  int seq;           /* tokens per sample (default 16) */
  int width_div;     /* default 16: hidden 64..1024 train at 4..64 */
  int max_depth;     /* ListOps nesting (default 1) */
  int64_t steps;     /* optimiser steps (default 400) */
  int batch;         /* default 32 */
  double lr;         /* default 3e-3 */
  int64_t train_n, test_n; /* generated samples (default 4000, 1000) */
  uint64_t seed;     /* data, order and initialisation (default 1) */
} fab_cd_train_options;
void fab_cd_train_options_default(fab_cd_train_options *o);
/* Trains the reduced model of `m` and returns its held-out accuracy. */
bool fab_cd_train_accuracy(const fab_cd_model *m, const fab_cd_train_options *o, double *acc,
                           fab_diag *d);
/* The reduced model fab_cd_train_accuracy trains. */
void fab_cd_train_model(const fab_cd_model *m, const fab_cd_train_options *o, fab_cd_model *out);
/* The documented stand-in and the synflow proxy of one model. */
double fab_cd_accuracy_standin(const fab_cd_model *m, int64_t model_index);
bool fab_cd_accuracy_proxy(const fab_cd_model *m, double *score, fab_diag *d);
/* Distinct canonical models of a space, counted up to `cap`: returns
 * cap + 1 when there are more, or when telling would take more than
 * 2 cap + 2 steps (O(cap) work whatever the space's size). */
int64_t fab_cd_count_models(const fab_cd_space *s, int64_t cap);

typedef struct fab_cd_result {
  int64_t key;
  bool ok;           /* false: the pair could not be evaluated (counted, not searched) */
  double accuracy;   /* higher is better */
  double latency_ms; /* FPGA latency */
  double area;       /* max fraction of LUT / FF / DSP / BRAM used (1 = full device) */
  double dsp, lut, bram;
  bool fits;
  double perf_per_area; /* 1000 / (latency_ms * area) */
  double params, macs;
} fab_cd_result;

/* Latency predictor hook: returns latency in ms or < 0 on failure. */
typedef double (*fab_cd_predict_fn)(const fab_cd_space *s, const fab_cd_point *p, void *user);

typedef struct fab_cd_progress {
  const char *phase; /* "sample", "search", "train", ... */
  int64_t done, total;
  double best;       /* strategy-specific (hypervolume so far) */
} fab_cd_progress;
typedef void (*fab_cd_progress_fn)(const fab_cd_progress *p, void *user);
/* The command-line tools' printer (progress.c), user = a zeroed
 * fab_cd_progress_line: redrawn in place on a terminal, a line per tenth
 * of each phase otherwise.  fab_cd_progress_end closes a line left open
 * and forgets the phases (call it before printing anything else). */
#define FAB_CD_PROGRESS_PHASES 4
typedef struct fab_cd_progress_line {
  bool quiet; /* print nothing (MPI ranks other than 0) */
  /* state */
  bool open;  /* a redrawn line is not ended yet */
  double last_draw;
  int nphases;
  struct {
    char name[24];
    int64_t done, total, last_tenth;
  } phases[FAB_CD_PROGRESS_PHASES];
} fab_cd_progress_line;
void fab_cd_progress_stderr(const fab_cd_progress *p, void *line);
void fab_cd_progress_end(fab_cd_progress_line *l);

typedef struct fab_cd_evaluator fab_cd_evaluator;
typedef struct fab_cd_eval_options {
  fab_cd_lat_kind latency;
  fab_cd_acc_kind accuracy;  /* zero: the stand-in; the tools default to AUTO */
  fab_cd_predict_fn predict; /* for FAB_CD_LAT_PRED */
  void *predict_user;
  fab_cd_train_options train; /* FAB_CD_ACC_TRAINED */
  int auto_max_models;        /* FAB_CD_ACC_AUTO limit (0: FAB_CD_AUTO_MAX_MODELS) */
  /* Accuracies (trained or proxy) by model: read at start, appended as
   * they are computed (one O_APPEND write per line, so threads and MPI
   * ranks may share it); a stopped search resumes without retraining.
   * NULL: in memory only. */
  const char *acc_cache;
  /* "train" progress: done = models scored so far, total = the space's
   * distinct models.  Called from evaluation threads, serialised. */
  fab_cd_progress_fn progress;
  void *progress_user;
} fab_cd_eval_options;
#define FAB_CD_AUTO_MAX_MODELS 100
/* accuracy = AUTO, the rest zero (defaults). */
void fab_cd_eval_options_default(fab_cd_eval_options *o);

/* The evaluator caches per-model work (IR, layer list, accuracy), so one
 * evaluator serves many accelerators of the same model cheaply.  Thread
 * safe: fab_cd_evaluate may be called from several threads. */
fab_cd_evaluator *fab_cd_evaluator_new(const fab_cd_space *s, const fab_cd_eval_options *o,
                                       fab_diag *d);
void fab_cd_evaluator_free(fab_cd_evaluator *e);
/* "model+standin", "sim+proxy", "model+trained(...)": names the
 * objectives and the training budget (log headers). */
const char *fab_cd_evaluator_name(const fab_cd_evaluator *e);
/* The accuracy kind in use (AUTO resolved). */
fab_cd_acc_kind fab_cd_evaluator_accuracy(const fab_cd_evaluator *e);
/* Models whose accuracy was computed (trained / proxy) and read from the
 * cache file by this evaluator, and the seconds spent computing. */
void fab_cd_evaluator_acc_stats(const fab_cd_evaluator *e, int64_t *computed, int64_t *cached,
                                double *seconds);
bool fab_cd_evaluate(fab_cd_evaluator *e, int64_t key, fab_cd_result *r, fab_diag *d);

/* Analytical latency of a (high-level) module on an accelerator, cycles
 * and ms (after clock and efficiency). */
bool fab_cd_model_latency(const fab_module *m, const fab_fpga_config *c, uint64_t *cycles,
                          double *ms, fab_diag *d);
/* Simulated latency: fpga pipeline, codegen, simulator with seeded
 * weights and inputs. */
bool fab_cd_sim_latency(const fab_module *m, const fab_fpga_config *c, uint64_t *cycles,
                        double *ms, fab_diag *d);
/* CPU latency with the JIT: `warmup` runs, then the median and every
 * repeat's time (times may be NULL).  False if the CPU backend is not
 * built. */
bool fab_cd_cpu_latency(const fab_module *m, int threads, int warmup, int repeats,
                        double *median_ms, double *times_ms, fab_diag *d);
bool fab_cd_have_cpu(void);
bool fab_cd_have_sim(void);

/* ---- the latency data set (`fabc sample`) ------------------------------------ */

typedef struct fab_cd_sample_options {
  int count;
  uint64_t seed;
  bool fpga_sim;   /* simulator latency (else only the analytical model) */
  bool cpu;        /* CPU latency with the JIT */
  int cpu_threads, cpu_warmup, cpu_repeats;
  bool cpu_second_pass; /* time every model twice (repeat-measurement noise) */
  /* trained accuracy ("accuracy", fab_cd_train_accuracy with `train`):
   * the labels of accuracy predictors; draw from a space with one
   * accelerator (spaces/accbench.json) so that every line is a model */
  bool accuracy;
  fab_cd_train_options train;
  fab_cd_progress_fn progress;
  void *user;
  /* Resuming a stopped run: the keys of the lines already written (in
   * order).  The same space and seed draw them again; they are skipped,
   * not measured, and only the lines after them are written.  A drawn
   * point that differs is an error (another space or seed). */
  const int64_t *resume_keys;
  int nresume;
} fab_cd_sample_options;
void fab_cd_sample_options_default(fab_cd_sample_options *o);
/* A data set line's "accel" (malloc'd JSON): p_be, p_bu, bw_in, bw_coef,
 * bw_out, clock_mhz, fp16, att_mults, ppu_lanes, exp_units, be_depth,
 * wb_share; fab_pred_sample_make reads it for a point to predict. */
char *fab_cd_accel_json(const fab_fpga_config *c);
/* The keys of the complete lines of an existing data set (none if `path`
 * does not exist) and the bytes they take: a stopped run's file is cut to
 * them and continued.  A line without a key is an error. */
bool fab_cd_sample_read_keys(const char *path, int64_t **keys, int *n, long *complete_bytes,
                             fab_diag *d);

/* Draws `count` distinct canonical points and writes one JSON line each
 * (after o->nresume resumed ones):
 * {"key", "point", "model": {...}, "accel": {...}, "params", "macs",
 *  "fpga_model_ms", "fpga_sim_ms", "cpu_ms", "cpu_ms_2", "cpu_times",
 *  "accuracy", "graph": <fab_predict graph JSON>}.
 * "accel" is fab_cd_accel_json; lines written before "wb_share" was in
 * it read as the default 2 (fab_pred_dataset_load). */
bool fab_cd_sample(const fab_cd_space *s, const fab_cd_sample_options *o, FILE *out,
                   fab_diag *d);
/* Adds CPU latencies (o->cpu_threads, cpu_warmup, cpu_repeats) to every
 * line of an existing data set `in`: each model timed twice with a fresh
 * JIT ("cpu_ms", "cpu_ms_2", "cpu_times", "cpu_threads"); *nlines = the
 * lines written to `out`. */
bool fab_cd_sample_add_cpu(const fab_cd_space *s, const fab_cd_sample_options *o, FILE *in,
                           const char *in_name, FILE *out, int *nlines, fab_diag *d);

/* ---- search ----------------------------------------------------------------- */

typedef enum {
  FAB_CD_EXHAUSTIVE,
  FAB_CD_RANDOM,
  FAB_CD_EVOLUTION, /* NSGA-II style */
  FAB_CD_RL_COMBINED,
  FAB_CD_RL_PHASE,
  FAB_CD_RL_SEPARATE,
  FAB_CD_STRATEGY_COUNT
} fab_cd_strategy;
const char *fab_cd_strategy_name(fab_cd_strategy s);
int fab_cd_strategy_lookup(const char *name); /* also combined, phase, separate for rl-*; -1 if unknown */

/* The normalisation box of the hypervolume: accuracy in [acc_lo, acc_hi],
 * log latency in [log lat_lo, log lat_hi], area in [0, area_hi]. */
typedef struct fab_cd_hv_ref {
  double acc_lo, acc_hi, lat_lo, lat_hi, area_hi;
} fab_cd_hv_ref;

typedef struct fab_cd_search_options {
  fab_cd_strategy strategy;
  int64_t budget;        /* evaluations (distinct points); ignored by exhaustive */
  uint64_t seed;
  int threads;           /* parallel evaluations (0: all cores) */
  int population;        /* evolution (default 64) */
  int batch;             /* RL episodes per update (default 16) */
  /* REINFORCE (docs/codesign.md, "Codesign search"): learning rate
   * (default 0.05), entropy bonus weight (default 0.02) and the floor of
   * the uniform share of each knob's sampling distribution (default
   * 0.05; it doubles after every batch that finds no new point, up to
   * pure random sampling, and returns to the floor when one does), so
   * that the controller keeps exploring and spends the whole budget.
   * Zero fields take the defaults; a negative value means 0. */
  double rl_lr, rl_entropy, rl_explore;
  const char *log_path;  /* append-only evaluation log: resume from it; NULL: none */
  int shard, nshards;    /* evaluate only keys with key % nshards == shard (MPI) */
  fab_cd_progress_fn progress;
  void *user;
  int64_t trace_every;   /* > 0: record the hypervolume every N evaluations */
  const fab_cd_hv_ref *hv_ref; /* the box for the trace (NULL: from the results so far) */
  /* Sharding (MPI): each process evaluates the keys of a batch with
   * key % nshards == shard, then `exchange` fills in the others' results
   * (e.g. an allreduce); every process then proceeds identically. */
  bool (*exchange)(fab_cd_result *r, int n, void *user);
  void *exchange_user;
} fab_cd_search_options;
void fab_cd_search_options_default(fab_cd_search_options *o);

typedef struct fab_cd_search_result {
  fab_cd_result *evals; /* every distinct evaluation, in evaluation order */
  int64_t nevals;
  int64_t resumed;      /* evaluations read back from the log */
  int64_t *trace_n;     /* hypervolume trace (trace_every) */
  double *trace_hv;
  int ntrace;
  double seconds;
} fab_cd_search_result;

bool fab_cd_search(const fab_cd_space *s, fab_cd_evaluator *e, const fab_cd_search_options *o,
                   fab_cd_search_result *res, fab_diag *d);
void fab_cd_search_result_free(fab_cd_search_result *r);

/* ---- Pareto front, hypervolume, output --------------------------------------- */

/* Which results form a front (the `front` argument below):
 * FAB_CD_FRONT_FIT keeps only pairs within the device; the objective bits
 * say which objectives count (none set: all three).  A bool require_fit
 * converts to FIT with every objective. */
#define FAB_CD_FRONT_FIT 1u
#define FAB_CD_OBJ_ACCURACY 2u
#define FAB_CD_OBJ_LATENCY 4u
#define FAB_CD_OBJ_AREA 8u
#define FAB_CD_OBJ_ALL (FAB_CD_OBJ_ACCURACY | FAB_CD_OBJ_LATENCY | FAB_CD_OBJ_AREA)
/* The objective bits of `bits` (a front or fab_cd_space.objectives), none
 * set meaning all three: the one place that rule lives. */
static inline unsigned fab_cd_objectives_of(unsigned bits) {
  return bits & FAB_CD_OBJ_ALL ? bits & FAB_CD_OBJ_ALL : FAB_CD_OBJ_ALL;
}
unsigned fab_cd_front_of(const fab_cd_space *s);
/* "accuracy,latency,area", any non-empty subset in any order -> FAB_CD_OBJ_*
 * bits; 0 for anything else. */
unsigned fab_cd_objectives_parse(const char *list);

/* Objectives: maximise accuracy, minimise latency and area (those `front`
 * selects); only ok results that fit (FAB_CD_FRONT_FIT) are candidates.
 * Fills idx with the indices of the non-dominated results (caller frees). */
int fab_cd_pareto(const fab_cd_result *r, int64_t n, unsigned front, int64_t **idx);
/* Hypervolume of the front in the normalised box (1.0 = the whole box). */
void fab_cd_hv_ref_from(const fab_cd_result *r, int64_t n, fab_cd_hv_ref *ref);
double fab_cd_hypervolume(const fab_cd_result *r, int64_t n, unsigned front, const fab_cd_hv_ref *ref);
bool fab_cd_write_csv(const fab_cd_space *s, const fab_cd_result *r, int64_t n, const int64_t *idx,
                      int nidx, FILE *out);
/* Accuracy against latency: every evaluation as a grey dot, the front in
 * red; axes labelled. */
bool fab_cd_write_svg(const fab_cd_result *r, int64_t n, const int64_t *front, int nfront,
                      const char *title, FILE *out);

/* Best accuracy under a latency limit (and the device limits); -1 if none. */
int64_t fab_cd_best_constrained(const fab_cd_result *r, int64_t n, double max_latency_ms, unsigned front);

#endif /* FAB_CODESIGN_H */
