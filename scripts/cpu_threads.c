/* cpu_threads.c — for scripts/cpu_scaling.sh: how a compiled model uses
 * threads.  Prints the fork/joins (parallel_for calls with more than one
 * row) of one run; the schedule's own bound on 2 threads (each job's two
 * halves timed one after the other on one thread, fastest of N runs, so
 * little disturbed by other load: the sum of the slower halves against
 * the sum of both); then the best-of-N time of a run with 1 and with T
 * threads and their ratio (needs an idle machine).  Built by
 * scripts/cpu_scaling.sh with -Iruntime -Itests/cpu (bare_model.h).
 *
 *   cpu_threads model.so weights.safetensors inputs.safetensors T REPS */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "bare_model.h" /* tests/cpu */

static long forks;

static void counting_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  (void)pool;
  if (n > 1) forks++;
  if (n > 0) fn(args, 0, n);
}

static double now_ms(void);

/* One thread, each job's two halves timed one after the other, the
 * fastest of several runs per job and half: the slower half is what the
 * job would take on two threads (without the fork/join). */
#define MAX_JOBS 4096
static double half_ms[MAX_JOBS][2];
static int job;

static void halves_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  (void)pool;
  int64_t h = (n + 1) / 2;
  double t0 = now_ms();
  fn(args, 0, h);
  double t1 = now_ms();
  if (n > h) fn(args, h, n);
  double t2 = now_ms();
  if (job < MAX_JOBS) {
    if (t1 - t0 < half_ms[job][0]) half_ms[job][0] = t1 - t0;
    if (t2 - t1 < half_ms[job][1]) half_ms[job][1] = t2 - t1;
  }
  job++;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double best_ms(fab_model *m, int threads, int reps, const void **in, void **out) {
  char err[256];
  fab_status st;
  fab_context *ctx = fab_context_new(m, threads, &st, err, sizeof err);
  if (!ctx) {
    fprintf(stderr, "context: %s\n", err);
    exit(1);
  }
  double best = 1e30;
  for (int r = 0; r < reps + 2; r++) { /* two warm-up runs */
    double t0 = now_ms();
    if (fab_context_run_raw(ctx, in, out) != FAB_OK) exit(1);
    double t = now_ms() - t0;
    if (r >= 2 && t < best) best = t;
  }
  fab_context_free(ctx);
  return best;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: cpu_threads model.so weights.safetensors inputs.safetensors T REPS\n");
    return 2;
  }
  char err[512];
  bare_model b;
  if (!bare_model_load(&b, argv[1], argv[2], argv[3], err, sizeof err)) {
    fprintf(stderr, "cpu_threads: %s\n", err);
    return 1;
  }
  const fab_model_desc *d = b.d;
  const void **wts = b.w, **ins = b.in;
  void **outs = b.out, *scratch = b.scratch;
  fab_model *m = b.m;
  fab_parallel par = {NULL, counting_for, 2};
  if (d->run(wts, ins, (void *const *)outs, scratch, &par) != FAB_RUN_OK) return 1;
  printf("fork/joins per run: %ld\n", forks);
  int T = atoi(argv[4]), reps = atoi(argv[5]);
  /* the schedule's bound on 2 threads */
  for (int j = 0; j < MAX_JOBS; j++) half_ms[j][0] = half_ms[j][1] = 1e30;
  fab_parallel hpar = {NULL, halves_for, 2};
  for (int r = 0; r < reps; r++) {
    job = 0;
    d->run(wts, ins, (void *const *)outs, scratch, &hpar);
  }
  double jobs = 0, slow = 0;
  for (int j = 0; j < job && j < MAX_JOBS; j++) {
    jobs += half_ms[j][0] + half_ms[j][1];
    slow += half_ms[j][0] > half_ms[j][1] ? half_ms[j][0] : half_ms[j][1];
  }
  printf("parallel jobs: %.2f ms on one thread (fastest halves of %d runs); with each at its "
         "slower half: %.2f ms, a 2-thread bound of %.3f\n", jobs, reps, slow, jobs / slow);
  double t1 = best_ms(m, 1, reps, ins, outs), tn = best_ms(m, T, reps, ins, outs);
  printf("best of %d: 1 thread %.2f ms, %d threads %.2f ms, speedup %.3f\n", reps, t1, T, tn, t1 / tn);
  bare_model_free(&b);
  return 0;
}
