/* test_cpu_ffn.c — the fused feed-forward kernel (pass cpu-fuse-ffn,
 * backends/cpu/kernel_ffn.c) against the reference interpreter: post-norm
 * butterfly FFN blocks with and without the pads, the slice and the stack,
 * partial row tiles, both GELU forms, 1 and 2 threads, factored twiddles
 * and the plain ones when a pivot is out of range (cpu.ffn); one model
 * bound to other weights in turn, each binding preparing its own factors,
 * and few-tile blocks out of range (cpu.ffn_prepared); and a
 * cpu.ffn the ops do not bear out is an error (cpu.ffn_errors). */
#include "cpu_test_util.h"
#include "passes.h"

static const double RTOL = 1e-4;

static int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

static int log2i(int64_t n) {
  int l = 0;
  while (((int64_t)1 << l) < n) l++;
  return l;
}

/* x -> layernorm(x + fc2(gelu(fc1(x)))) as the front end writes it; with
 * pre = 1 x is itself layernorm(x0), with pre = 2 layernorm(x0 + r). */
static fab_module *ffn_module(int64_t rows, int64_t d, int64_t h, const char *approx, bool swap, int pre,
                              fab_diag *dg) {
  int64_t n1 = pow2_at_least(d), s1 = (h + n1 - 1) / n1, n2 = pow2_at_least(h);
  char norm[1024] = "", params[256] = "", text[6144];
  if (pre) {
    snprintf(params, sizeof params,
             "param @\"n.weight\" : f32[%lld] = normal(1, 0.2)\n"
             "param @\"n.bias\" : f32[%lld] = normal(0, 0.2)\n",
             (long long)d, (long long)d);
    int at = 0;
    if (pre == 2)
      at = snprintf(norm, sizeof norm,
                    "  %%30 = input {index = 1, name = \"r\"} : f32[%lld,%lld]\n"
                    "  %%33 = add %%40, %%30 : f32[%lld,%lld]\n",
                    (long long)rows, (long long)d, (long long)rows, (long long)d);
    snprintf(norm + at, sizeof norm - (size_t)at,
             "  %%31 = weight {name = \"n.weight\"} : f32[%lld]\n"
             "  %%32 = weight {name = \"n.bias\"} : f32[%lld]\n"
             "  %%0 = layernorm %s, %%31, %%32 {eps = 1.0000000000000001e-05} : f32[%lld,%lld]\n",
             (long long)d, (long long)d, pre == 2 ? "%33" : "%40", (long long)rows, (long long)d);
  }
  snprintf(text, sizeof text,
           "module @ffn\n%s"
           "param @\"fc1.twiddle\" : f32[%lld,1,%d,%lld,2,2] = normal(0, 0.7)\n"
           "param @\"fc1.bias\" : f32[%lld] = uniform(-0.5, 0.5)\n"
           "param @\"fc2.twiddle\" : f32[1,1,%d,%lld,2,2] = normal(0, 0.7)\n"
           "param @\"fc2.bias\" : f32[%lld] = uniform(-0.5, 0.5)\n"
           "param @\"ln.weight\" : f32[%lld] = normal(1, 0.2)\n"
           "param @\"ln.bias\" : f32[%lld] = normal(0, 0.2)\n"
           "func @main {\n"
           "  %%%d = input {index = 0, name = \"x\"} : f32[%lld,%lld]\n%s"
           "  %%1 = weight {name = \"fc1.twiddle\"} : f32[%lld,1,%d,%lld,2,2]\n"
           "  %%2 = weight {name = \"fc1.bias\"} : f32[%lld]\n"
           "  %%3 = bfly.linear %%0, %%1, %%2 {in = %lld, increasing = 0, nblocks = 1, out = %lld} : f32[%lld,%lld]\n"
           "  %%4 = gelu %%3 {approx = \"%s\"} : f32[%lld,%lld]\n"
           "  %%5 = weight {name = \"fc2.twiddle\"} : f32[1,1,%d,%lld,2,2]\n"
           "  %%6 = weight {name = \"fc2.bias\"} : f32[%lld]\n"
           "  %%7 = bfly.linear %%4, %%5, %%6 {in = %lld, increasing = 0, nblocks = 1, out = %lld} : f32[%lld,%lld]\n"
           "  %%8 = add %s : f32[%lld,%lld]\n"
           "  %%9 = weight {name = \"ln.weight\"} : f32[%lld]\n"
           "  %%10 = weight {name = \"ln.bias\"} : f32[%lld]\n"
           "  %%11 = layernorm %%8, %%9, %%10 {eps = 1.0000000000000001e-05} : f32[%lld,%lld]\n"
           "  output %%11 {index = 0, name = \"y\"}\n"
           "}\n",
           params, (long long)s1, log2i(n1), (long long)n1 / 2, (long long)h, log2i(n2), (long long)n2 / 2,
           (long long)d, (long long)d, (long long)d, pre ? 40 : 0, (long long)rows, (long long)d, norm, (long long)s1,
           log2i(n1), (long long)n1 / 2, (long long)h, (long long)d, (long long)h, (long long)rows,
           (long long)h, approx, (long long)rows, (long long)h, log2i(n2), (long long)n2 / 2,
           (long long)d, (long long)h, (long long)d, (long long)rows, (long long)d,
           swap ? "%7, %0" : "%0, %7", (long long)rows, (long long)d, (long long)d, (long long)d,
           (long long)rows, (long long)d);
  return fab_parse_module("ffn", text, strlen(text), dg);
}

static const char *PIPELINE = "canonicalize,lower-bfly,fuse-elementwise,memplan,cpu-chain-bfly,cpu-fuse-ffn";

static int count_fused(const fab_module *m, int value) {
  const fab_func *f = fab_module_main(m);
  int n = 0;
  for (int i = 0; i < f->nops; i++) n += fab_op_int(&f->ops[i], "cpu.ffn", 0) == value;
  return n;
}

/* Twiddle edits for the kernel's factored butterflies (factored once per
 * bind by the op's prepare kernel, cg_bfly_factor): a pivot t00 or t11 of 0 or 2e-38 has no factored
 * form in range, and the kernel must run the plain twiddles (the factored
 * ones give NaN there).  fc1: butterfly 37 of its first stage; fc2 (n 256):
 * stage 5, butterfly 3 (positions 3 and 7, which the slice to d reads). */
static void set_twiddle(fab_tensor_set *w, const char *name, int64_t at, float v) {
  fab_tensor *t = fab_tset_find(w, name);
  if (t && (int64_t)(t->nbytes / 4) > at) ((float *)t->data)[at] = v;
  else CHECK(false, "no twiddle %s[%lld]", name, (long long)at);
}
static void zero_pivot_fc1(fab_tensor_set *w) { set_twiddle(w, "fc1.twiddle", 4 * 37, 0.0f); }
static void tiny_pivot_fc2(fab_tensor_set *w) { set_twiddle(w, "fc2.twiddle", (5 * 128 + 3) * 4 + 3, 2e-38f); }

/* pre: the block's input norm (ffn_module); norm_in: the pass option, so
 * cpu.ffn = 2 exactly when both are set; edit: a change to the weights. */
static void ffn_case_edit(int64_t rows, int64_t d, int64_t h, const char *approx, bool swap, int pre, bool norm_in,
                          void (*edit)(fab_tensor_set *)) {
  tb t = {0};
  t.d = fab_diag_new();
  t.m = ffn_module(rows, d, h, approx, swap, pre, t.d);
  char what[160], pipeline[256];
  snprintf(what, sizeof what, "ffn rows=%lld d=%lld h=%lld %s%s pre=%d norm-in=%d", (long long)rows,
           (long long)d, (long long)h, approx, swap ? " (residual second)" : "", pre, norm_in);
  snprintf(pipeline, sizeof pipeline, "%s(norm-in=%d)", PIPELINE, norm_in);
  fab_pass_options po = {.verify_each = true};
  bool ok = t.m && fab_run_pipeline(t.m, pipeline, &po, t.d);
  CHECK(ok, "%s: the pipeline failed", what);
  if (ok) {
    int want = pre && norm_in ? 2 : 1;
    CHECK(count_fused(t.m, want) == 1, "%s: %d add.layernorm with cpu.ffn = %d, expected 1", what,
          count_fused(t.m, want), want);
    t.f = fab_module_main(t.m);
    t.nin = pre == 2 ? 2 : 1;
    t.nout = 1;
    fab_cpu_options o;
    fab_cpu_options_default(&o);
    jit_vs_interp_edit(&t, what, &o, RTOL, edit);
    o.threads = 2;
    jit_vs_interp_edit(&t, what, &o, RTOL, edit);
  }
  if (t.m) tb_free(&t);
  else fab_diag_free(t.d);
}

static void ffn_case(int64_t rows, int64_t d, int64_t h, const char *approx, bool swap, int pre, bool norm_in) {
  ffn_case_edit(rows, d, h, approx, swap, pre, norm_in, NULL);
}

static void test_ffn(void) {
  ffn_case(20, 12, 32, "erf", false, 0, true);    /* pad 12 -> 16, 2 blocks, slice 32 -> 12, a partial tile */
  ffn_case(33, 16, 32, "tanh", true, 0, true);    /* no pad before fc1; the norm adds x second */
  ffn_case(37, 48, 192, "erf", false, 0, true);   /* 3 blocks of 64, pad 192 -> 256 before fc2 */
  ffn_case(16, 64, 64, "erf", true, 0, true);     /* one block (reshape, no stack), no pad, no slice */
  ffn_case(40, 256, 1024, "erf", false, 0, true); /* full tiles transposed by shuffles */
  /* the input norm in the kernel: layernorm(x), layernorm(x + r) */
  ffn_case(20, 12, 32, "erf", false, 1, true);
  ffn_case(20, 12, 32, "erf", true, 2, true);
  ffn_case(37, 48, 192, "tanh", false, 2, true);
  ffn_case(40, 256, 1024, "erf", false, 2, true);
  ffn_case(48, 256, 512, "erf", true, 1, true);
  ffn_case(40, 256, 1024, "erf", false, 2, false); /* norm-in=0: the norm is its own kernel */
  /* many tiles (ranges split differently between threads); a partial last tile */
  ffn_case(1032, 64, 256, "erf", false, 2, true);
  ffn_case(1024, 48, 192, "tanh", true, 0, true);
  /* pivots out of the factored range: the plain twiddles, decided at prepare time */
  ffn_case_edit(1032, 64, 256, "erf", false, 2, true, zero_pivot_fc1);
  ffn_case_edit(1032, 64, 256, "erf", false, 2, true, tiny_pivot_fc2);
}

/* Blocks of few tiles with pivots out of range; then one compiled model, bound again and again (fab_cpu_jit_run binds the
 * weights it is given): each binding must prepare its own factors.
 * Weights A, B (A with a pivot out of range: the plain twiddles), C
 * (other values), A again, each against the interpreter on them; A's and
 * C's outputs differ (so factors left from an earlier bind would show). */
static void test_ffn_prepared(void) {
  /* few tiles (3): factored too, and the plain twiddles out of range */
  ffn_case_edit(40, 64, 256, "erf", false, 0, true, zero_pivot_fc1);
  ffn_case_edit(40, 64, 256, "tanh", true, 2, true, tiny_pivot_fc2);
  tb t = {0};
  t.d = fab_diag_new();
  t.m = ffn_module(40, 64, 256, "erf", false, 2, t.d);
  fab_pass_options po = {.verify_each = true};
  bool ok = t.m && fab_run_pipeline(t.m, PIPELINE, &po, t.d) && count_fused(t.m, 2) == 1;
  CHECK(ok, "rebind: the pipeline failed");
  fab_tensor_set *w[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()}, *in = fab_tset_new();
  fab_tensor_set *want[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()};
  uint64_t seeds[3] = {7, 7, 8};
  for (int k = 0; ok && k < 3; k++) {
    ok = fab_bind_init_weights(t.m, seeds[k], w[k], t.d);
    if (ok && k == 1) zero_pivot_fc1(w[k]);
    ok = ok && fab_bind_init_inputs(t.m, 11, in, t.d) && fab_interp_run(t.m, w[k], in, want[k], t.d);
  }
  CHECK(ok, "rebind: the interpreter failed");
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.threads = 2;
  fab_cpu_jit *j = ok ? fab_cpu_jit_compile(t.m, &o, t.d) : NULL;
  CHECK(!ok || j, "rebind: JIT compile failed");
  if (j) { /* no weights given and none bound yet: an error, not a run on nothing */
    fab_diag *d0 = fab_diag_new();
    fab_tensor_set *none = fab_tset_new();
    CHECK(!fab_cpu_jit_run(j, NULL, in, none, d0) && fab_diag_count(d0) > 0,
          "rebind: a run before any binding did not fail");
    fab_tset_free(none);
    fab_diag_free(d0);
  }
  /* the last run gives no weights: A, bound by the run before, stays */
  int order[5] = {0, 1, 2, 0, 0};
  fab_tensor_set *got[5] = {0};
  for (int r = 0; j && r < 5; r++) {
    char what[64];
    snprintf(what, sizeof what, "rebind run %d (weights %c%s)", r, "ABC"[order[r]], r == 4 ? ", kept" : "");
    got[r] = fab_tset_new();
    bool ran = fab_cpu_jit_run(j, r == 4 ? NULL : w[order[r]], in, got[r], t.d);
    CHECK(ran, "%s: run failed", what);
    if (ran) close_sets(what, got[r], want[order[r]], RTOL);
  }
  if (got[0] && got[2] && got[0]->count && got[2]->count)
    CHECK(memcmp(got[0]->items[0].data, got[2]->items[0].data, got[0]->items[0].nbytes) != 0,
          "rebind: weights A and C give the same outputs (the test cannot tell them apart)");
  if (fab_diag_count(t.d)) fab_diag_print(t.d, stderr);
  fab_cpu_jit_free(j);
  for (int k = 0; k < 5; k++) fab_tset_free(got[k]);
  for (int k = 0; k < 3; k++) {
    fab_tset_free(w[k]);
    fab_tset_free(want[k]);
  }
  fab_tset_free(in);
  if (t.m) tb_free(&t);
  else fab_diag_free(t.d);
}

/* cpu.ffn = 2 on a block whose input is no layer norm (an input). */
static void norm_in_error(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = ffn_module(20, 12, 32, "erf", false, 0, d);
  fab_pass_options po = {0};
  bool ok = m && fab_run_pipeline(m, PIPELINE, &po, d);
  CHECK(ok && count_fused(m, 1) == 1, "norm-in error case: the pipeline failed");
  fab_cpu_jit *j = NULL;
  if (ok) {
    fab_func *f = fab_module_main(m);
    for (int i = 0; i < f->nops; i++)
      if (fab_op_int(&f->ops[i], "cpu.ffn", 0)) fab_op_set_int(m, &f->ops[i], "cpu.ffn", 2);
    fab_cpu_options o;
    fab_cpu_options_default(&o);
    j = fab_cpu_jit_compile(m, &o, d);
  }
  const char *want = "has cpu.ffn = 2 but its block's input %0 is not a layernorm or add.layernorm";
  bool found = false;
  for (int i = 0; i < fab_diag_count(d); i++) found = found || strstr(fab_diag_message(d, i), want);
  CHECK(!j && found, "expected the error '%s'", want);
  fab_cpu_jit_free(j);
  fab_module_free(m);
  fab_diag_free(d);
}

/* A cpu.ffn on an add.layernorm that does not end such a block. */
static void test_ffn_errors(void) {
  tb t = tb_new("ffn_errors");
  int64_t xd[2] = {8, 16}, bd[1] = {16};
  int x = tb_input(&t, "x", FAB_F32, 2, xd), r = tb_input(&t, "r", FAB_F32, 2, xd);
  int g = tb_weight(&t, "g", 1, bd, 1.0), b = tb_weight(&t, "b", 1, bd, 1.0);
  tb_op(&t, FAB_OP_ADD_LAYERNORM, x, r, g, b);
  fab_op_set_float(t.m, tb_last(&t), "eps", 1e-5);
  fab_op_set_int(t.m, tb_last(&t), "cpu.ffn", 1);
  tb_output(&t, tb_infer(&t), "y");
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  fab_cpu_jit *j = fab_cpu_jit_compile(t.m, &o, t.d);
  const char *want = "has cpu.ffn but its operands are not a butterfly feed-forward block and its input";
  bool found = false;
  for (int i = 0; i < fab_diag_count(t.d); i++) found = found || strstr(fab_diag_message(t.d, i), want);
  CHECK(!j && found, "expected the error '%s'", want);
  fab_diag_clear(t.d);
  fab_cpu_jit_free(j);
  tb_free(&t);
  norm_in_error();
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "ffn";
  if (!strcmp(which, "ffn")) test_ffn();
  else if (!strcmp(which, "ffn_errors")) test_ffn_errors();
  else if (!strcmp(which, "ffn_prepared")) test_ffn_prepared();
  else return fprintf(stderr, "unknown test '%s'\n", which), 2;
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
