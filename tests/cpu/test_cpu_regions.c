/* test_cpu_regions.c — the parallel regions of backends/cpu/schedule.c are
 * safe in any unit order, checked deterministically: the model's entry
 * runs with parallel_for replaced by serial loops over the units in
 * reverse, and odd units before even ones; the outputs must be the bytes
 * of a plain serial run.  A region whose units shared bytes (a value
 * overwritten by a later step at other rows, a whole-tensor read of a
 * value the region writes) gives other bytes in one of the orders.
 *
 *   test_cpu_regions model.so weights.safetensors inputs.safetensors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_runtime.h"
#include "fab_tensor.h"

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

typedef struct run {
  const fab_model_desc *d;
  const void **w, **in;
  void *scratch;
} run;

/* Runs with `par` into fresh outputs (NULL on failure). */
static void **run_with(const run *r, const fab_parallel *par) {
  void **out = calloc((size_t)r->d->noutputs + 1, sizeof *out);
  for (int i = 0; i < r->d->noutputs; i++) out[i] = calloc(1, (size_t)r->d->outputs[i].nbytes);
  memset(r->scratch, 0x5a, (size_t)r->d->scratch_bytes); /* stale bytes differ from a fresh arena */
  if (r->d->run(r->w, r->in, (void *const *)out, r->scratch, par) != FAB_RUN_OK) return NULL;
  return out;
}

static int same(const run *r, void **a, void **b, const char *what) {
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
  fab_status st;
  fab_model *m = fab_model_load(argv[1], &st, err, sizeof err);
  fab_tensor_set *w = NULL, *in = NULL;
  if (!m || fab_tensors_load(argv[2], &w, err, sizeof err) != FAB_OK ||
      fab_tensors_load(argv[3], &in, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "FAIL: %s\n", err);
    return 1;
  }
  run r = {fab_model_descriptor(m), NULL, NULL, NULL};
  r.w = calloc((size_t)r.d->nweights + 1, sizeof *r.w);
  r.in = calloc((size_t)r.d->ninputs + 1, sizeof *r.in);
  r.scratch = malloc((size_t)r.d->scratch_bytes + 64);
  for (int i = 0; i < r.d->nweights; i++) {
    const fab_tensor *t = fab_tset_find(w, r.d->weights[i].name);
    if (!t || t->dtype != FAB_DT_F32 || (int64_t)t->nbytes != r.d->weights[i].nbytes) return 1;
    r.w[i] = t->data;
  }
  for (int i = 0; i < r.d->ninputs; i++) {
    const fab_tensor *t = fab_tset_find(in, r.d->inputs[i].name);
    if (!t || (int64_t)t->nbytes != r.d->inputs[i].nbytes) return 1;
    r.in[i] = t->data;
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
  return ok && jobs > 0 ? 0 : 1;
}
