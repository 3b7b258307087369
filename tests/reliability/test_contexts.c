/* test_contexts.c — many contexts over one model on many threads.
 *
 *   reliability_contexts MODEL.so WEIGHTS.safetensors INPUTS.safetensors [N] [RUNS]
 *
 * Loads a compiled model with the runtime alone (as an application does),
 * binds the weights once, then N threads each create their own context
 * (two threads each, so the contexts' worker pools run too) and run the
 * model RUNS times; every output must equal a single-threaded reference
 * byte for byte.  Built in every configuration; in the ThreadSanitizer
 * build (-DFAB_TSAN=ON) it is the data-race test of the runtime
 * (ctest reliability.contexts, label tsan). */
#include "fab_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
  fab_model *m;
  const fab_tensor_set *in, *ref;
  int runs, ok;
  char err[256];
} job;

static int equal_sets(const fab_tensor_set *a, const fab_tensor_set *b) {
  if (a->count != b->count) return 0;
  for (int i = 0; i < a->count; i++) {
    const fab_tensor *t = fab_tset_find(b, a->items[i].name);
    if (!t || t->nbytes != a->items[i].nbytes || memcmp(t->data, a->items[i].data, t->nbytes))
      return 0;
  }
  return 1;
}

static void *worker(void *arg) {
  job *j = arg;
  fab_status st;
  fab_context *c = fab_context_new(j->m, 2, &st, j->err, sizeof j->err);
  if (!c) return NULL;
  j->ok = 1;
  for (int r = 0; r < j->runs && j->ok; r++) {
    fab_tensor_set *out = fab_tset_new();
    if (!out || fab_context_run(c, j->in, out, j->err, sizeof j->err) != FAB_OK) j->ok = 0;
    else if (!equal_sets(out, j->ref)) {
      snprintf(j->err, sizeof j->err, "run %d: outputs differ from the reference", r);
      j->ok = 0;
    }
    fab_tset_free(out);
  }
  fab_context_free(c);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODEL.so WEIGHTS INPUTS [N] [RUNS]\n", argv[0]);
    return 2;
  }
  int n = argc > 4 ? atoi(argv[4]) : 8, runs = argc > 5 ? atoi(argv[5]) : 4;
  if (n < 1 || n > 256 || runs < 1) return 2;
  char err[256];
  fab_status st;
  fab_tensor_set *w = NULL, *in = NULL, *ref = fab_tset_new();
  fab_model *m = fab_model_load(argv[1], &st, err, sizeof err);
  if (!m || fab_tensors_load(argv[2], &w, err, sizeof err) != FAB_OK ||
      fab_tensors_load(argv[3], &in, err, sizeof err) != FAB_OK ||
      fab_model_bind_weights(m, w, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "contexts: %s\n", err);
    return 1;
  }
  fab_context *c0 = fab_context_new(m, 1, &st, err, sizeof err);
  if (!c0 || fab_context_run(c0, in, ref, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "contexts: reference run: %s\n", err);
    return 1;
  }
  fab_context_free(c0);
  job *jobs = calloc((size_t)n, sizeof *jobs);
  pthread_t *th = calloc((size_t)n, sizeof *th);
  if (!jobs || !th) return 1;
  for (int i = 0; i < n; i++) {
    jobs[i] = (job){.m = m, .in = in, .ref = ref, .runs = runs};
    if (pthread_create(&th[i], NULL, worker, &jobs[i]) != 0) {
      fprintf(stderr, "contexts: cannot start thread %d\n", i);
      return 1;
    }
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    if (!jobs[i].ok) {
      fprintf(stderr, "contexts: thread %d: %s\n", i, jobs[i].err[0] ? jobs[i].err : "failed");
      bad++;
    }
  }
  printf("%d contexts x %d runs on %d threads: %s\n", n, runs, n, bad ? "FAILED" : "all identical");
  free(jobs);
  free(th);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(ref);
  fab_model_free(m);
  return bad ? 1 : 0;
}
