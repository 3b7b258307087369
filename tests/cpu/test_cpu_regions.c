/* test_cpu_regions.c — the parallel regions of backends/cpu/schedule.c are
 * safe in any unit order, checked deterministically: the model's entry
 * runs with parallel_for replaced by serial loops over the units in
 * reverse, and odd units before even ones; the outputs must be the bytes
 * of a plain serial run.  A region whose units shared bytes (a value
 * overwritten by a later step at other rows, a whole-tensor read of a
 * value the region writes) gives other bytes in one of the orders.
 *
 *   test_cpu_regions model.so weights.safetensors inputs.safetensors */
#include <string.h>

#include "bare_model.h"

static long jobs;

static void reverse_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  (void)pool;
  jobs++;
  for (int64_t u = n - 1; u >= 0; u--) fn(args, u, u + 1);
}

static void odd_even_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  (void)pool;
  for (int64_t u = 1; u < n; u += 2) fn(args, u, u + 1);
  for (int64_t u = 0; u < n; u += 2) fn(args, u, u + 1);
}

/* Runs with `par` into fresh outputs (NULL on failure). */
static void **run_with(const bare_model *r, const fab_parallel *par) {
  void **out = calloc((size_t)r->d->noutputs + 1, sizeof *out);
  for (int i = 0; i < r->d->noutputs; i++) out[i] = calloc(1, (size_t)r->d->outputs[i].nbytes);
  memset(r->scratch, 0x5a, (size_t)r->d->scratch_bytes); /* stale bytes differ from a fresh arena */
  if (r->d->run(r->w, r->in, (void *const *)out, r->scratch, par) != FAB_RUN_OK) return NULL;
  return out;
}

static int same(const bare_model *r, void **a, void **b, const char *what) {
  for (int i = 0; i < r->d->noutputs; i++)
    if (memcmp(a[i], b[i], (size_t)r->d->outputs[i].nbytes)) {
      fprintf(stderr, "FAIL: output '%s' differs with units %s\n", r->d->outputs[i].name, what);
      return 0;
    }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_cpu_regions model.so weights.safetensors inputs.safetensors\n");
    return 2;
  }
  char err[512];
  bare_model r;
  if (!bare_model_load(&r, argv[1], argv[2], argv[3], err, sizeof err)) {
    fprintf(stderr, "FAIL: %s\n", err);
    bare_model_free(&r);
    return 1;
  }
  fab_parallel rev = {NULL, reverse_for, 2}, oe = {NULL, odd_even_for, 2};
  void **plain = run_with(&r, NULL), **a = run_with(&r, &rev), **b = run_with(&r, &oe);
  if (!plain || !a || !b) {
    fprintf(stderr, "FAIL: the model did not run\n");
    return 1;
  }
  int ok = same(&r, plain, a, "in reverse") & same(&r, plain, b, "odd before even");
  printf("%s: %ld parallel regions per run; outputs %s in every unit order\n", argv[1], jobs,
         ok ? "the same" : "NOT the same");
  void **runs[3] = {plain, a, b};
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < r.d->noutputs; i++) free(runs[k][i]);
    free(runs[k]);
  }
  bare_model_free(&r);
  return ok && jobs > 0 ? 0 : 1;
}
