/* test_cpu_pool.c — the runtime's thread pool (runtime/pool.c) through the
 * public API: a model runs many times on contexts of 2 and 3 threads,
 * back to back and after pauses longer than the workers' spin (so that
 * they sleep and must be woken), and every run must give the bytes of a
 * one-thread run.  A lost wake-up hangs (the test's timeout fails it); a
 * job published before its fields were visible, or a join that returned
 * while a worker still wrote rows, gives other bytes.
 *
 *   test_cpu_pool model.so weights.safetensors inputs.safetensors RUNS */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>

#include "bare_model.h"

static void pause_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

static void **fresh_outputs(const fab_model_desc *d) {
  void **out = calloc((size_t)d->noutputs + 1, sizeof *out);
  for (int i = 0; out && i < d->noutputs; i++) out[i] = calloc(1, (size_t)d->outputs[i].nbytes);
  return out;
}

static void free_outputs(const fab_model_desc *d, void **out) {
  for (int i = 0; out && i < d->noutputs; i++) free(out[i]);
  free(out);
}

/* Runs on `threads` threads, pausing before some runs; false (with a
 * message) on the first run whose outputs differ from want. */
static bool stress(const bare_model *b, int threads, int runs, void **want) {
  static const long pauses_us[4] = {0, 300, 0, 3000}; /* none, a sleep, none, a long sleep */
  char err[256];
  fab_status st;
  fab_context *ctx = fab_context_new(b->m, threads, &st, err, sizeof err);
  if (!ctx) {
    fprintf(stderr, "FAIL: context of %d threads: %s\n", threads, err);
    return false;
  }
  const fab_model_desc *d = b->d;
  void **out = fresh_outputs(d);
  bool ok = out != NULL;
  for (int r = 0; ok && r < runs; r++) {
    pause_us(pauses_us[r % 4]);
    for (int i = 0; i < d->noutputs; i++) memset(out[i], 0xa5, (size_t)d->outputs[i].nbytes);
    if (fab_context_run_raw(ctx, b->in, out) != FAB_OK) {
      fprintf(stderr, "FAIL: run %d on %d threads failed\n", r, threads);
      ok = false;
    }
    for (int i = 0; ok && i < d->noutputs; i++)
      if (memcmp(out[i], want[i], (size_t)d->outputs[i].nbytes)) {
        fprintf(stderr, "FAIL: run %d on %d threads: output '%s' differs from one thread's\n", r, threads,
                d->outputs[i].name);
        ok = false;
      }
  }
  free_outputs(d, out);
  fab_context_free(ctx);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: test_cpu_pool model.so weights.safetensors inputs.safetensors RUNS\n");
    return 2;
  }
  char err[512];
  bare_model b;
  if (!bare_model_load(&b, argv[1], argv[2], argv[3], err, sizeof err)) {
    fprintf(stderr, "FAIL: %s\n", err);
    bare_model_free(&b);
    return 1;
  }
  int runs = atoi(argv[4]);
  fab_status st;
  fab_context *one = fab_context_new(b.m, 1, &st, err, sizeof err);
  void **want = fresh_outputs(b.d);
  bool ok = one && want && fab_context_run_raw(one, b.in, want) == FAB_OK;
  if (!ok) fprintf(stderr, "FAIL: the one-thread run: %s\n", one ? "failed" : err);
  fab_context_free(one);
  for (int t = 2; ok && t <= 3; t++) ok = stress(&b, t, runs, want);
  if (ok) printf("%s: %d runs on 2 and 3 threads, each the bytes of one thread's\n", argv[1], runs);
  free_outputs(b.d, want);
  bare_model_free(&b);
  return ok ? 0 : 1;
}
