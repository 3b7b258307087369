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
 * Evaluators (evaluate.c) turn a point into objectives: accuracy (a
 * documented stand-in, or a zero-cost proxy when fab_proxy is built),
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
} fab_cd_acc_kind;

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

typedef struct fab_cd_evaluator fab_cd_evaluator;
typedef struct fab_cd_eval_options {
  fab_cd_lat_kind latency;
  fab_cd_acc_kind accuracy;
  fab_cd_predict_fn predict; /* for FAB_CD_LAT_PRED */
  void *predict_user;
} fab_cd_eval_options;

/* The evaluator caches per-model work (IR, layer list, accuracy), so one
 * evaluator serves many accelerators of the same model cheaply.  Thread
 * safe: fab_cd_evaluate may be called from several threads. */
fab_cd_evaluator *fab_cd_evaluator_new(const fab_cd_space *s, const fab_cd_eval_options *o,
                                       fab_diag *d);
void fab_cd_evaluator_free(fab_cd_evaluator *e);
/* "model+standin", "sim+proxy", ...: names the objectives (log headers). */
const char *fab_cd_evaluator_name(const fab_cd_evaluator *e);
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

typedef struct fab_cd_progress {
  const char *phase; /* "sample", "search", ... */
  int64_t done, total;
  double best;       /* strategy-specific (hypervolume so far) */
} fab_cd_progress;
typedef void (*fab_cd_progress_fn)(const fab_cd_progress *p, void *user);

typedef struct fab_cd_sample_options {
  int count;
  uint64_t seed;
  bool fpga_sim;   /* simulator latency (else only the analytical model) */
  bool cpu;        /* CPU latency with the JIT */
  int cpu_threads, cpu_warmup, cpu_repeats;
  bool cpu_second_pass; /* time every model twice (repeat-measurement noise) */
  fab_cd_progress_fn progress;
  void *user;
} fab_cd_sample_options;
void fab_cd_sample_options_default(fab_cd_sample_options *o);

/* Draws `count` distinct canonical points and writes one JSON line each:
 * {"key", "point", "model": {...}, "accel": {...}, "params", "macs",
 *  "fpga_model_ms", "fpga_sim_ms", "cpu_ms", "cpu_ms_2", "cpu_times",
 *  "graph": <fab_predict graph JSON>}. */
bool fab_cd_sample(const fab_cd_space *s, const fab_cd_sample_options *o, FILE *out,
                   fab_diag *d);

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
int fab_cd_strategy_lookup(const char *name); /* -1 if unknown */

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

/* Objectives: maximise accuracy, minimise latency and area; only ok
 * results that fit (when the space requires it) are candidates.  Fills
 * idx with the indices of the non-dominated results (caller frees). */
int fab_cd_pareto(const fab_cd_result *r, int64_t n, bool require_fit, int64_t **idx);
/* Hypervolume of the front in the normalised box (1.0 = the whole box). */
void fab_cd_hv_ref_from(const fab_cd_result *r, int64_t n, fab_cd_hv_ref *ref);
double fab_cd_hypervolume(const fab_cd_result *r, int64_t n, bool require_fit,
                          const fab_cd_hv_ref *ref);
bool fab_cd_write_csv(const fab_cd_space *s, const fab_cd_result *r, int64_t n, const int64_t *idx,
                      int nidx, FILE *out);
/* Accuracy against latency: every evaluation as a grey dot, the front in
 * red; axes labelled. */
bool fab_cd_write_svg(const fab_cd_result *r, int64_t n, const int64_t *front, int nfront,
                      const char *title, FILE *out);

/* Best accuracy under a latency limit (and the device limits); -1 if none. */
int64_t fab_cd_best_constrained(const fab_cd_result *r, int64_t n, double max_latency_ms,
                                bool require_fit);

#endif /* FAB_CODESIGN_H */
