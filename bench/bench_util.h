/* bench_util.h — shared by fabc-bench's parts (fabc_bench.c: kernels;
 * bench_models.c: whole models, scaling, compile times, fusion depth;
 * baselines.c: the machine, OpenBLAS, FFTW, bandwidth; flops.c: model
 * arithmetic for the compute bound; parallel.c: 1 against N threads and
 * the host probe; targets.c: issue 15's targets). */
#ifndef FAB_BENCH_UTIL_H
#define FAB_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct fab_module;

double bench_now(void);
/* CPU time of this process (all its threads), seconds. */
double bench_cpu_now(void);
/* The clock a measurement with `threads` threads uses: with one thread the
 * process's CPU time (equal to wall-clock time on an idle machine, and it
 * hardly moves when other jobs take turns on the cores), else wall-clock
 * time. */
double bench_clock(int threads);

/* Latency statistics of repeated runs, in seconds (bench_clock). */
typedef struct bench_stats {
  double min, median, max;
  int reps;
} bench_stats;

/* Sorts t[0..n) (n >= 1) and fills st with its min, median and max. */
void bench_stats_of(double *t, int n, bench_stats *st);

/* Runs fn(arg) once to warm up, then at least min_reps times and until
 * min_time seconds have passed (at most max_reps). */
void bench_time(void (*fn)(void *), void *arg, int threads, int min_reps, int max_reps, double min_time,
                bench_stats *st);

double bench_loadavg(void);

/* Wall-clock seconds of the FMA peak loop (fabc_bench.c) run on `threads`
 * threads at once, each sized to take `seconds` at gflops1 GFLOP/s (the
 * one-thread peak at `lanes` f32 lanes). */
double bench_fma_wall(int threads, int lanes, double seconds, double gflops1);

/* ---- 1 against N threads at the same moments (parallel.c) ---- */

/* Interleaved timing of one model's 1-thread and N-thread contexts. */
typedef struct bench_pair {
  bench_stats one;      /* 1 thread, the calling thread's CPU time */
  bench_stats one_wall; /* 1 thread, wall-clock time */
  bench_stats many;     /* N threads, wall-clock time */
  double speedup;       /* one_wall.median / many.median */
  int rounds;
} bench_pair;

/* Runs fn(one) and fn(many) alternately, one timed run of each per round
 * (the order alternating from round to round, each timed run preceded by
 * an untimed run of the same context), for at least min_time seconds and
 * 5 rounds, at most max_rounds. */
void bench_interleave(void (*fn)(void *), void *one, void *many, double min_time, int max_rounds, bench_pair *p);

/* How much of N threads' work the host ran in parallel: `rounds` rounds
 * of the ~20 ms FMA loop on 1 thread, then on N threads at once; each
 * round gives N × t(1 thread) / t(N threads) (2.0 on 2 free cores), and
 * the round trip of a cache line between two threads. */
typedef struct bench_host {
  double ratio[64];
  double rtt[64]; /* ns per round trip of a cache line between two threads (-1: not measured) */
  int n;
} bench_host;

/* /proc/stat's first line: all CPUs' time and the part of it the host
 * took (steal; the guest kernel counts it when the host reports it), in
 * ticks (zeros where there is no /proc/stat). */
typedef struct bench_ticks {
  double total, steal;
} bench_ticks;
void bench_cpu_ticks(bench_ticks *t);
/* The stolen share of the CPUs' time between a and b (-1: unknown). */
double bench_steal_share(const bench_ticks *a, const bench_ticks *b);

struct bench_cfg;
void bench_host_probe(const struct bench_cfg *cfg, int rounds, bench_host *h);
/* min, median and max of every round probed so far: the ratios, the
 * round trips */
void bench_host_stats(const bench_host *h, bench_stats *st, bench_stats *rtt);

/* ---- the machine and the baselines (baselines.c) ---- */

typedef struct bench_machine_info {
  char model[256];  /* lscpu's "Model name" */
  char simd[256];   /* the SIMD flags that matter here, space-separated */
  long ncpu;
  int family, model_no;
  int simd_level;   /* 1 SSE, 2 AVX, 3 AVX2 + FMA, 4 AVX-512 */
  bool amd, hypervisor;
} bench_machine_info;

void bench_machine(bench_machine_info *mi);

typedef struct bench_blas_info {
  char config[256];   /* openblas_get_config() */
  char detected[64];  /* the core OpenBLAS chose by itself */
  char core[64];      /* the core it runs */
  char how[512];      /* one sentence for the report */
} bench_blas_info;

/* Finds which kernel OpenBLAS runs; when its auto-detection picked a
 * narrower ISA than the CPU has, sets OPENBLAS_CORETYPE and re-executes
 * the bench (does not return then). */
void bench_openblas_check(char **argv, bench_blas_info *bi);

/* fn(a, b, threads) in a forked child; -1 on failure. */
double bench_in_child(double (*fn)(int64_t, int64_t, int), int64_t a, int64_t b, int threads);
double bench_sgemm_time(int64_t rows, int64_t n, int threads);
double bench_fftw_time(int64_t s, int64_t d, int threads);
/* Bytes/s of a one-thread read + write stream over `footprint` bytes. */
double bench_bandwidth(int64_t footprint);

/* Flops of a high-level module's cheapest algorithm (flops.c). */
double bench_model_flops(const struct fab_module *m);

/* ---- results kept for the targets table (targets.c) ---- */

enum { BENCH_MAX_ROWS = 4 };

typedef struct bench_results {
  int nbfly, nfft, nmodels;
  struct {
    int64_t n;
    double t, roofline;
  } bfly[BENCH_MAX_ROWS]; /* one thread */
  struct {
    int64_t s, d;
    double t, fftw;
  } fft[BENCH_MAX_ROWS];  /* one thread */
  struct {
    const char *label;
    double t1, t2, bound1, torch1; /* torch1: the fastest PyTorch eager form, 1 thread */
    double speedup, host;          /* 1 -> N threads (bench_pair), the host probe's median */
    double wall1;                  /* 1 thread, wall-clock median of the same window as speedup */
    double steal;                  /* the stolen share of that window (-1: unknown) */
  } model[BENCH_MAX_ROWS];
  int threads;
  double compile1, compile24; /* fabnet_base, 1 and 24 layers, seconds (-1: not run) */
} bench_results;

void bench_targets(FILE *out, const bench_results *r);

typedef struct bench_cfg {
  const char *srcdir; /* the repository (examples/, scripts/bench/) */
  const char *svg;    /* where the scaling plot goes (NULL: not written) */
  int threads;        /* "all threads" */
  bool quick;         /* fewer sizes, fewer repetitions (smoke run) */
  bool models_only;   /* whole models only: no kernels, scaling, fusion depth */
  const char *const *only; /* run the whole models whose label contains one of these */
  int nonly;
  double peak1, peak2;     /* FMA peak, GFLOP/s, 1 and `threads` threads */
  int lanes1;              /* f32 lanes of the loop that reached peak1 */
  bench_results *res;
} bench_cfg;

/* A .fab model lowered by the cpu target's default pipeline (NULL after
 * printing why). */
struct fab_module *bench_lower_fab(const bench_cfg *cfg, const char *name, const char *src);

/* False after printing which --model pattern matches no whole model. */
bool bench_check_models(const bench_cfg *cfg);

/* Whole models, scaling, compile times and stage-fusion depth; markdown to
 * out, progress to stderr.  False after reporting a failure. */
bool bench_models(FILE *out, const bench_cfg *cfg);

#endif /* FAB_BENCH_UTIL_H */
