/* golden_runner.c — runs one golden case through the reference interpreter.
 *
 *   golden_runner <dir>/<case> [--perturb expected|weight]
 *
 * Reads <case>.fir (IR text, parsed and verified) and <case>.safetensors, whose tensors are the
 * weights (state_dict names), the inputs ("input.<name>") and the expected
 * outputs ("expected.<name>"), all written by gen/gen.py from an
 * independent PyTorch implementation evaluated in float64.  Binds and
 * checks the weights and inputs, runs fab_interp_run and compares every
 * output with its expected tensor.
 *
 * Metric: for output a and expected b (same shape),
 *     err = max_i |a_i - b_i| / max(|b_i|, 1e-3)
 * i.e. the relative error per element with an absolute floor of 1e-3 for
 * elements near zero; the case passes when err <= 1e-5 for every output.
 * (Both sides are F32 roundings of double computations on the same F32
 * weights, so a correct interpreter lands near 1e-7.)
 *
 * --perturb expected: adds 3x the tolerance to one expected value;
 * --perturb weight: changes one weight value by 1e-3 (relative).  With
 * either flag the runner succeeds only if the comparison then FAILS, which
 * shows that the test can fail.
 *
 * Exit status: 0 pass, 1 mismatch, 2 setup error (bad files, parse or
 * binding errors, interpreter error).
 */
#include "golden_case.h"
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5
#define FLOOR 1e-3

static double compare(const fab_tensor *a, const fab_tensor *b, bool *shape_ok) {
  *shape_ok = a->rank == b->rank && a->dtype == FAB_DT_F32 && b->dtype == FAB_DT_F32;
  for (int i = 0; *shape_ok && i < a->rank; i++) *shape_ok = a->dims[i] == b->dims[i];
  if (!*shape_ok) return INFINITY;
  const float *x = a->data, *y = b->data;
  double e = 0;
  for (int64_t i = 0; i < fab_tensor_numel(a); i++) {
    double den = fmax(fabs((double)y[i]), FLOOR), d = fabs((double)x[i] - (double)y[i]) / den;
    if (!(d <= e)) e = d; /* NaN propagates */
  }
  return e;
}

int main(int argc, char **argv) {
  if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--perturb") == 0)) {
    fprintf(stderr, "usage: golden_runner <dir>/<case> [--perturb expected|weight]\n");
    return 2;
  }
  const char *base = argv[1], *perturb = argc == 4 ? argv[3] : NULL;
  const char *cname = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
  int rc = 2;
  fab_diag *d = fab_diag_new();
  golden_case gc;
  fab_tensor_set *out = fab_tset_new();
  if (!golden_case_load(base, &gc, d)) goto done;
  fab_module *m = gc.module;
  fab_tensor_set *w = gc.weights, *in = gc.inputs, *exp = gc.expected;
  bool wok = fab_bind_check_weights(m, w, false, d), iok = fab_bind_check_inputs(m, in, d);
  if (!wok || !iok) goto done;
  if (perturb && strcmp(perturb, "expected") == 0) {
    if (exp->count == 0) goto done;
    fab_tensor *t = &exp->items[0];
    float *v = t->data;
    int64_t k = fab_tensor_numel(t) / 2;
    v[k] += (float)(3 * TOL * fmax(fabs(v[k]), FLOOR));
    printf("perturbed %s[%lld] by 3x the tolerance\n", t->name, (long long)k);
  } else if (perturb && strcmp(perturb, "weight") == 0) {
    fab_tensor *t = NULL;
    for (int i = 0; i < w->count; i++)
      if (!t || fab_tensor_numel(&w->items[i]) > fab_tensor_numel(t)) t = &w->items[i];
    if (!t) goto done;
    float *v = t->data;
    v[0] += 1e-3f * (fabsf(v[0]) > 1e-3f ? v[0] : 1.0f);
    printf("perturbed weight %s[0] by 1e-3\n", t->name);
  } else if (perturb) {
    fprintf(stderr, "unknown perturbation '%s'\n", perturb);
    goto done;
  }
  if (!fab_interp_run(m, w, in, out, d)) goto done;
  rc = 0;
  for (int i = 0; i < exp->count; i++)
    if (!fab_tset_find(out, exp->items[i].name)) {
      printf("%s: no output named '%s'\n", cname, exp->items[i].name);
      rc = 1;
    }
  for (int i = 0; i < out->count; i++) {
    const fab_tensor *a = &out->items[i], *b = fab_tset_find(exp, a->name);
    if (!b) {
      printf("%s: output '%s' has no expected.%s\n", cname, a->name, a->name);
      rc = 1;
      continue;
    }
    bool shape_ok;
    double e = compare(a, b, &shape_ok);
    printf("%s: output %s: max rel err %.3e (tol %.0e)%s\n", cname, a->name, e, TOL,
           !shape_ok ? " SHAPE MISMATCH" : e <= TOL ? "" : " FAIL");
    if (!(e <= TOL)) rc = 1;
  }
done:
  fab_diag_print(d, stderr);
  if (perturb) {
    printf("%s: perturbed run %s\n", cname, rc == 1 ? "failed as it must" : "was NOT detected");
    rc = rc == 1 ? 0 : 1;
  }
  golden_case_free(&gc);
  fab_tset_free(out);
  fab_diag_free(d);
  return rc;
}
