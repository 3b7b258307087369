/* example_common.h — what both example programs share: running a loaded
 * model on tensor files and printing / checking the outputs.  Uses only
 * the runtime (fab_runtime.h, fab_tensor.h). */
#ifndef EXAMPLE_COMMON_H
#define EXAMPLE_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_runtime.h"
#include "fab_tensor.h"

/* Loads weights (renamed / reshaped by the weight map at map_path, a
 * JSON file, if not NULL) and inputs, runs `m` with `threads` threads,
 * prints a summary of every output, writes them to out_path (if not NULL)
 * and compares them with expect_path (if not NULL; rtol 1e-4).  Returns
 * the process exit status. */
static int run_files(fab_model *m, const char *weights_path, const char *map_path,
                     const char *inputs_path, const char *out_path, const char *expect_path,
                     int threads) {
  char err[512];
  fab_status st;
  fab_tensor_set *w = NULL, *in = NULL, *out = fab_tset_new(), *exp = NULL;
  fab_context *ctx = NULL;
  int rc = 1;
  fab_weight_map *map = NULL;
  if (map_path && (!(map = fab_wmap_new()) ||
                   fab_wmap_load_json(map, map_path, err, sizeof err) != FAB_OK)) {
    fprintf(stderr, "weight map: %s\n", map ? err : "out of memory");
    goto done;
  }
  if (fab_model_descriptor(m)->embedded_weights == 0 || weights_path) {
    if ((st = fab_tensors_load(weights_path, &w, err, sizeof err)) != FAB_OK ||
        (st = map ? fab_model_bind_weights_map(m, w, map, err, sizeof err)
                  : fab_model_bind_weights(m, w, err, sizeof err)) != FAB_OK) {
      fprintf(stderr, "weights: %s\n", err);
      goto done;
    }
  }
  if (fab_tensors_load(inputs_path, &in, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "inputs: %s\n", err);
    goto done;
  }
  if (!(ctx = fab_context_new(m, threads, &st, err, sizeof err)) ||
      fab_context_run(ctx, in, out, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "run: %s\n", err);
    goto done;
  }
  for (int i = 0; i < out->count; i++) {
    const fab_tensor *t = &out->items[i];
    double sum = 0;
    const float *p = t->data;
    for (int64_t k = 0; k < fab_tensor_numel(t); k++) sum += p[k];
    printf("%s: %lld values, sum %.6g, first %.6g\n", t->name, (long long)fab_tensor_numel(t), sum,
           (double)p[0]);
  }
  if (out_path && fab_tensors_save(out_path, out, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "%s\n", err);
    goto done;
  }
  rc = 0;
  if (expect_path) {
    if (fab_tensors_load(expect_path, &exp, err, sizeof err) != FAB_OK) {
      fprintf(stderr, "expected: %s\n", err);
      rc = 1;
      goto done;
    }
    for (int i = 0; i < exp->count; i++) {
      const fab_tensor *b = &exp->items[i], *a = fab_tset_find(out, b->name);
      if (!a || a->nbytes != b->nbytes) {
        fprintf(stderr, "output '%s' missing or misshaped\n", b->name);
        rc = 1;
        continue;
      }
      const float *x = a->data, *y = b->data;
      double mx = 0, e = 0;
      for (int64_t k = 0; k < fab_tensor_numel(b); k++) mx = fmax(mx, fabs((double)y[k]));
      for (int64_t k = 0; k < fab_tensor_numel(b); k++) {
        double d = fabs((double)x[k] - y[k]) / fmax(fabs((double)y[k]), 1e-2 * mx + 1e-30);
        if (!(d <= e)) e = d;
      }
      printf("%s: max relative error %.3g\n", b->name, e);
      if (!(e <= 1e-4)) rc = 1;
    }
  }
done:
  fab_wmap_free(map);
  fab_context_free(ctx);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(exp);
  return rc;
}

#endif
