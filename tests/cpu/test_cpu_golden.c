/* test_cpu_golden.c — a golden case (tests/golden/cases) through the real
 * lowering pipeline for the cpu target, JIT-compiled, against the
 * PyTorch-computed expected outputs (cpu.golden.<case>).
 *
 *   test_cpu_golden <dir>/<case> [threads | aot SO_PATH]
 * With `aot`, the case is compiled to a shared library at SO_PATH and run
 * through the runtime (fab_model_load, contexts) instead of the JIT.
 *
 * err = max |a - b| / max(|b|, 1e-3, 1e-2 max|b|) must stay <= 1e-4 (the
 * interpreter's own golden bound is 1e-5 in double with a 1e-3 floor; f32
 * kernels with FMAs and reassociated sums land near 1e-6 of the scale). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "cpu.h"
#include "golden_case.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "target.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_cpu_golden <dir>/<case> [threads]\n");
    return 2;
  }
  const char *base = argv[1];
  char err[512];
  int rc = 2;
  fab_diag *d = fab_diag_new();
  golden_case gc;
  fab_tensor_set *out = fab_tset_new();
  fab_cpu_jit *j = NULL;
  if (!golden_case_load(base, &gc, d)) goto done;
  fab_module *m = gc.module;
  fab_tensor_set *w = gc.weights, *in = gc.inputs, *exp = gc.expected;
  fab_pass_options po = {.verify_each = true};
  fab_target_config tcfg = {0};
  if (!fab_target_lower(fab_target_find("cpu"), &tcfg, m, NULL, &po, d)) {
    fprintf(stderr, "pipeline failed\n");
    goto done;
  }
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  bool aot = argc > 3 && !strcmp(argv[2], "aot");
  o.threads = argc > 2 && !aot ? atoi(argv[2]) : 1;
  if (aot) {
    if (!fab_cpu_emit(m, &o, FAB_CPU_EMIT_SHARED, argv[3], d)) goto done;
    fab_status st;
    fab_model *so = fab_model_load(argv[3], &st, err, sizeof err);
    fab_context *ctx = NULL;
    if (so && fab_model_bind_weights(so, w, err, sizeof err) == FAB_OK)
      ctx = fab_context_new(so, 1, &st, err, sizeof err);
    bool ran = ctx && fab_context_run(ctx, in, out, err, sizeof err) == FAB_OK;
    fab_context_free(ctx);
    fab_model_free(so);
    if (!ran) {
      fprintf(stderr, "%s: %s\n", argv[3], err);
      goto done;
    }
  } else {
    j = fab_cpu_jit_compile(m, &o, d);
    if (!j || !fab_cpu_jit_run(j, w, in, out, d)) goto done;
  }
  rc = 0;
  for (int i = 0; i < exp->count; i++) {
    const fab_tensor *b = &exp->items[i], *a = fab_tset_find(out, b->name);
    if (!a || a->nbytes != b->nbytes) {
      fprintf(stderr, "output '%s' missing or misshaped\n", b->name);
      rc = 1;
      continue;
    }
    const float *x = a->data, *y = b->data;
    /* The floor scales with the output: near-zero results of long f32 sums
     * (DFT, layernorm of a residual) carry absolute errors of ~1e-7 of the
     * summands, which a fixed 1e-3 floor would count as large relative
     * errors. */
    double e = 0, mx = 0;
    for (int64_t k = 0; k < fab_tensor_numel(b); k++) mx = fmax(mx, fabs((double)y[k]));
    for (int64_t k = 0; k < fab_tensor_numel(b); k++) {
      double dd = fabs((double)x[k] - y[k]) / fmax(fabs((double)y[k]), fmax(1e-3, 1e-2 * mx));
      if (!(dd <= e)) e = dd;
    }
    printf("%s: %s err %.3g\n", base, b->name, e);
    if (!(e <= 1e-4)) rc = 1;
  }
done:
  if (fab_diag_count(d)) fab_diag_print(d, stderr);
  fab_cpu_jit_free(j);
  golden_case_free(&gc);
  fab_tset_free(out);
  fab_diag_free(d);
  return rc;
}
