/* test_cpu_ffn.c — the fused feed-forward kernel (pass cpu-fuse-ffn,
 * backends/cpu/kernel_ffn.c) against the reference interpreter: post-norm
 * butterfly FFN blocks with and without the pads, the slice and the stack,
 * partial row tiles, both GELU forms, 1 and 2 threads (cpu.ffn); and a
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

/* x -> layernorm(x + fc2(gelu(fc1(x)))) as the front end writes it. */
static fab_module *ffn_module(int64_t rows, int64_t d, int64_t h, const char *approx, bool swap, fab_diag *dg) {
  int64_t n1 = pow2_at_least(d), s1 = (h + n1 - 1) / n1, n2 = pow2_at_least(h);
  char text[4096];
  snprintf(text, sizeof text,
           "module @ffn\n"
           "param @\"fc1.twiddle\" : f32[%lld,1,%d,%lld,2,2] = normal(0, 0.7)\n"
           "param @\"fc1.bias\" : f32[%lld] = uniform(-0.5, 0.5)\n"
           "param @\"fc2.twiddle\" : f32[1,1,%d,%lld,2,2] = normal(0, 0.7)\n"
           "param @\"fc2.bias\" : f32[%lld] = uniform(-0.5, 0.5)\n"
           "param @\"ln.weight\" : f32[%lld] = normal(1, 0.2)\n"
           "param @\"ln.bias\" : f32[%lld] = normal(0, 0.2)\n"
           "func @main {\n"
           "  %%0 = input {index = 0, name = \"x\"} : f32[%lld,%lld]\n"
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
           (long long)s1, log2i(n1), (long long)n1 / 2, (long long)h, log2i(n2), (long long)n2 / 2,
           (long long)d, (long long)d, (long long)d, (long long)rows, (long long)d, (long long)s1,
           log2i(n1), (long long)n1 / 2, (long long)h, (long long)d, (long long)h, (long long)rows,
           (long long)h, approx, (long long)rows, (long long)h, log2i(n2), (long long)n2 / 2,
           (long long)d, (long long)h, (long long)d, (long long)rows, (long long)d,
           swap ? "%7, %0" : "%0, %7", (long long)rows, (long long)d, (long long)d, (long long)d,
           (long long)rows, (long long)d);
  return fab_parse_module("ffn", text, strlen(text), dg);
}

static const char *PIPELINE = "canonicalize,lower-bfly,fuse-elementwise,memplan,cpu-chain-bfly,cpu-fuse-ffn";

static int count_fused(const fab_module *m) {
  const fab_func *f = fab_module_main(m);
  int n = 0;
  for (int i = 0; i < f->nops; i++) n += fab_op_int(&f->ops[i], "cpu.ffn", 0) != 0;
  return n;
}

static void ffn_case(int64_t rows, int64_t d, int64_t h, const char *approx, bool swap) {
  tb t = {0};
  t.d = fab_diag_new();
  t.m = ffn_module(rows, d, h, approx, swap, t.d);
  char what[128];
  snprintf(what, sizeof what, "ffn rows=%lld d=%lld h=%lld %s%s", (long long)rows, (long long)d,
           (long long)h, approx, swap ? " (residual second)" : "");
  fab_pass_options po = {.verify_each = true};
  bool ok = t.m && fab_run_pipeline(t.m, PIPELINE, &po, t.d);
  CHECK(ok, "%s: the pipeline failed", what);
  if (ok) {
    CHECK(count_fused(t.m) == 1, "%s: %d add.layernorm with cpu.ffn, expected 1", what, count_fused(t.m));
    t.f = fab_module_main(t.m);
    t.nin = 1;
    t.nout = 1;
    fab_cpu_options o;
    fab_cpu_options_default(&o);
    jit_vs_interp(&t, what, &o, RTOL);
    o.threads = 2;
    jit_vs_interp(&t, what, &o, RTOL);
  }
  if (t.m) tb_free(&t);
  else fab_diag_free(t.d);
}

static void test_ffn(void) {
  ffn_case(20, 12, 32, "erf", false);    /* pad 12 -> 16, 2 blocks, slice 32 -> 12, a partial tile */
  ffn_case(33, 16, 32, "tanh", true);    /* no pad before fc1; the norm adds x second */
  ffn_case(37, 48, 192, "erf", false);   /* 3 blocks of 64, pad 192 -> 256 before fc2 */
  ffn_case(16, 64, 64, "erf", true);     /* one block (reshape, no stack), no pad, no slice */
  ffn_case(40, 256, 1024, "erf", false); /* full tiles transposed by shuffles */
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
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "ffn";
  if (!strcmp(which, "ffn")) test_ffn();
  else if (!strcmp(which, "ffn_errors")) test_ffn_errors();
  else return fprintf(stderr, "unknown test '%s'\n", which), 2;
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
