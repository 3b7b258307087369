/* test_cpu_gelu.c — GELU's accuracy on the CPU backend against double
 * precision (cpu.gelu_accuracy).
 *
 *   test_cpu_gelu [CPU]
 *
 * A dense sweep of 2^20 + 3 points over [-12, 12] (the 3 take the scalar
 * remainder path) through `gelu` (erf and tanh forms) and `bias.gelu`
 * (erf, zero bias) compiled by the JIT for CPU (default: this machine;
 * x86-64-v3 for the 8-lane path), against 0.5 x erfc(-x / sqrt 2) and
 * x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated in
 * double.  Prints the errors docs/cpu.md §4 quotes and fails when one is
 * above its bound: max abs error 1e-6 (a few ulps of |gelu| <= 12), max
 * relative error 4e-6 where |gelu| >= 1e-3, and 1e-4 relative down to
 * |gelu| >= 1e-30 (erf form; the tanh formula underflows earlier in
 * double than in the kernel's form, so there only where the reference is
 * normal and above 1e-30 too). */
#include "cpu_test_util.h"

enum { NPTS = (1 << 20) + 3 };

static double gelu_erf_ref(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }

static double gelu_tanh_ref(double x) {
  double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp(-2.0 * u));
}

typedef struct errors {
  double abs, rel_big, rel_tiny, at_abs, at_big, at_tiny;
} errors;

static errors measure(const float *got, const float *x, double (*ref)(double)) {
  errors e = {0};
  for (int i = 0; i < NPTS; i++) {
    double r = ref(x[i]), d = fabs((double)got[i] - r);
    if (!(d <= e.abs)) e.abs = d, e.at_abs = x[i];
    double rel = r != 0 ? d / fabs(r) : d;
    if (fabs(r) >= 1e-3 && !(rel <= e.rel_big)) e.rel_big = rel, e.at_big = x[i];
    if (fabs(r) >= 1e-30 && !(rel <= e.rel_tiny)) e.rel_tiny = rel, e.at_tiny = x[i];
  }
  return e;
}

static void report(const char *cpu, const char *name, const float *got, const float *x, double (*ref)(double)) {
  errors e = measure(got, x, ref);
  printf("%s %-14s max abs %.2e (x = %.3f)  max rel where |gelu| >= 1e-3 %.2e (x = %.3f)  "
         "where >= 1e-30 %.2e (x = %.3f)\n",
         cpu, name, e.abs, e.at_abs, e.rel_big, e.at_big, e.rel_tiny, e.at_tiny);
  CHECK(e.abs <= 1e-6, "%s %s: max abs error %.3e", cpu, name, e.abs);
  CHECK(e.rel_big <= 4e-6, "%s %s: max rel error %.3e where |gelu| >= 1e-3", cpu, name, e.rel_big);
  CHECK(e.rel_tiny <= 1e-4, "%s %s: max rel error %.3e where |gelu| >= 1e-30", cpu, name, e.rel_tiny);
}

int main(int argc, char **argv) {
  const char *cpu = argc > 1 ? argv[1] : NULL;
  tb t = tb_new("gelu_sweep");
  int64_t xd[1] = {NPTS};
  int x = tb_input(&t, "x", FAB_F32, 1, xd);
  int b = tb_weight(&t, "b", 1, xd, 1.0);
  const char *forms[2] = {"erf", "tanh"};
  for (int k = 0; k < 2; k++) {
    tb_op(&t, FAB_OP_GELU, x, -1, -1, -1);
    fab_op_set_str(t.m, tb_last(&t), "approx", forms[k]);
    tb_output(&t, tb_infer(&t), forms[k]);
  }
  tb_op(&t, FAB_OP_BIAS_GELU, x, b, -1, -1);
  fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
  tb_output(&t, tb_infer(&t), "bias_erf");
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *out = fab_tset_new();
  fab_tensor *xt = fab_tset_add(in, "x", FAB_DT_F32, 1, xd);
  CHECK(fab_tset_add(w, "b", FAB_DT_F32, 1, xd) != NULL, "out of memory"); /* zeros */
  float *xs = xt ? xt->data : NULL;
  for (int i = 0; xs && i < NPTS; i++) xs[i] = (float)(-12.0 + 24.0 * i / (NPTS - 1));
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.cpu = cpu;
  fab_cpu_jit *j = xs && fab_verify(t.m, t.d) ? fab_cpu_jit_compile(t.m, &o, t.d) : NULL;
  CHECK(j != NULL, "compile");
  if (j && fab_cpu_jit_run(j, w, in, out, t.d)) {
    const char *name = cpu ? cpu : "host";
    report(name, "gelu erf", fab_tset_find(out, "erf")->data, xs, gelu_erf_ref);
    report(name, "bias.gelu erf", fab_tset_find(out, "bias_erf")->data, xs, gelu_erf_ref);
    report(name, "gelu tanh", fab_tset_find(out, "tanh")->data, xs, gelu_tanh_ref);
  } else {
    CHECK(false, "run");
  }
  fab_cpu_jit_free(j);
  fab_tset_free(w), fab_tset_free(in), fab_tset_free(out);
  tb_free(&t);
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
