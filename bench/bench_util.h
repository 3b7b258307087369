/* bench_util.h — shared by fabc-bench's parts (fabc_bench.c: kernels;
 * bench_models.c: whole models, scaling, compile times, fusion depth). */
#ifndef FAB_BENCH_UTIL_H
#define FAB_BENCH_UTIL_H

#include <stdbool.h>
#include <stdio.h>

double bench_now(void);

/* Latency statistics of repeated runs, in seconds. */
typedef struct bench_stats {
  double min, median, max;
  int reps;
} bench_stats;

/* Runs fn(arg) once to warm up, then at least min_reps times and until
 * min_time seconds have passed (at most max_reps). */
void bench_time(void (*fn)(void *), void *arg, int min_reps, int max_reps, double min_time,
                bench_stats *st);

double bench_loadavg(void);

typedef struct bench_cfg {
  const char *srcdir; /* the repository (examples/, scripts/bench/) */
  const char *svg;    /* where the scaling plot goes (NULL: not written) */
  int threads;        /* "all threads" */
  bool quick;         /* fewer sizes, fewer repetitions (smoke run) */
} bench_cfg;

/* Whole models, scaling, compile times and stage-fusion depth; markdown to
 * out, progress to stderr.  False after reporting a failure. */
bool bench_models(FILE *out, const bench_cfg *cfg);

#endif /* FAB_BENCH_UTIL_H */
