/* test_cpu_bfly_rows.c — bfly.stages on long rows (kernel_bfly_rows.c's
 * phases: n > 1024, up to 512 KiB of twiddles) against the reference
 * interpreter (cpu.bfly_rows_<case>): N = 2048 and 4096, stages in
 * decreasing, increasing and mixed stride order, odd row counts (a
 * partial block of rows), stacks, 4/8/16 lanes, 2 threads; the streamed
 * stores of a result >= 8 MiB, also into an out buffer that is not
 * 64-byte aligned (the plain-store path), compared byte for byte; the
 * plain twiddles when a pivot has no factored form (fallback); one model
 * bound to other weights in turn, each binding preparing its own tables,
 * per stack (rebind). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_test_util.h"
#include "fab_runtime.h"

static const double RTOL = 1e-4;

static fab_cpu_options opts(int lanes, int threads) {
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.vector_lanes = lanes;
  o.threads = threads;
  return o;
}

static int log2i(int64_t n) {
  int L = 0;
  while (((int64_t)1 << L) < n) L++;
  return L;
}

/* Stage orders of an L-stage layer (block b): 0 decreasing strides (the
 * bench's and the lowering's default), 1 increasing, 2 mixed (low and high
 * strides alternating: phases that end on low stages, low runs riding on
 * high passes before and after them). */
static int layer_stages(int order, int L, int64_t b, int64_t *st) {
  for (int k = 0; k < L; k++) {
    int l = order == 0 ? L - 1 - k : order == 1 ? k : (k % 2 ? k / 2 : L - 1 - k / 2);
    st[3 * k] = b;
    st[3 * k + 1] = k;
    st[3 * k + 2] = l;
  }
  return L;
}

/* x [rows, S, n], twiddles [S, 2, L, n/2, 2, 2]: one op per stage order,
 * plus a part of a layer (stages 3..9: starts and ends mid-row) and two
 * blocks of one layer whose twiddles exceed the rows kernel's table (the
 * lane kernel). */
static tb bfly_module(int64_t n, int64_t S, int64_t rows, bool all_orders) {
  int L = log2i(n);
  tb t = tb_new("bfly_rows");
  int64_t xd[3] = {rows, S, n}, twd[6] = {S, 2, L, n / 2, 2, 2};
  int x = tb_input(&t, "x", FAB_F32, 3, xd);
  int tw = tb_weight(&t, "twiddle", 6, twd, 0.7071);
  int64_t st[3 * 64];
  char name[32];
  for (int order = 0; order < (all_orders ? 3 : 1); order++) {
    int ns = layer_stages(order, L, order == 2 ? 1 : 0, st);
    tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, 3 * ns);
    snprintf(name, sizeof name, "order_%d", order);
    tb_output(&t, tb_infer(&t), name);
  }
  if (all_orders) {
    int ns = layer_stages(2, L, 0, st);
    tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st + 9, 3 * (ns - 5));
    tb_output(&t, tb_infer(&t), "part");
    ns = layer_stages(0, L, 0, st);
    ns += layer_stages(1, L, 1, st + 3 * ns);
    tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, 3 * ns);
    tb_output(&t, tb_infer(&t), "two_blocks");
  }
  return t;
}

/* The optimised LLVM IR of t's model contains `needle`. */
static bool ir_contains(tb *t, const fab_cpu_options *o, const char *needle) {
  char path[] = "/tmp/fab_bfly_rows_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return false;
  close(fd);
  bool found = false;
  if (fab_cpu_emit(t->m, o, FAB_CPU_EMIT_LLVM_IR, path, t->d)) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char chunk[8192];
    size_t k;
    while (f && m && (k = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, k, m);
    if (m) fclose(m);
    if (f) fclose(f);
    found = text && strstr(text, needle);
    free(text);
  }
  fab_diag_clear(t->d);
  remove(path);
  return found;
}

static void check_case(int64_t n, int64_t S, int64_t rows, int lanes, int threads) {
  tb t = bfly_module(n, S, rows, true);
  fab_cpu_options o = opts(lanes, threads);
  char what[96];
  snprintf(what, sizeof what, "bfly rows n=%lld S=%lld rows=%lld lanes=%d threads=%d", (long long)n,
           (long long)S, (long long)rows, lanes, threads);
  jit_vs_interp(&t, what, &o, RTOL);
  /* the long rows took the phased kernel (it alone prefetches) */
  CHECK(ir_contains(&t, &o, "llvm.prefetch"), "%s: no phased rows kernel in the IR", what);
  tb_free(&t);
}

static void test_n4096(void) {
  check_case(4096, 1, 17, 0, 1); /* 4 full blocks of rows and 1 row */
  check_case(4096, 1, 6, 8, 1);  /* AVX2: 7 high strides a phase */
  check_case(4096, 1, 3, 4, 1);  /* one partial block */
}

static void test_n2048(void) {
  check_case(2048, 3, 9, 0, 1); /* stacks */
  check_case(2048, 2, 13, 0, 2);
}

/* The kernel factors the twiddles (one FMA per output); pivots with no
 * factored form in range (t00 = 0, t11 = 2e-38: NaN if it did not fall
 * back) make it run the plain twiddles: block 0's stage 5 and block 1's
 * stage 2 of stack 0. */
static int64_t g_edit_n;
static void edit_pivots(fab_tensor_set *w) {
  fab_tensor *t = fab_tset_find(w, "twiddle");
  int64_t n = g_edit_n, L = log2i(n);
  CHECK(t && t->nbytes / 4 >= (size_t)(2 * L * n * 2), "bfly rows: no twiddle to edit");
  if (!t) return;
  float *f = t->data;
  f[(0 * L + 5) * (n / 2) * 4 + 4 * 3 + 0] = 0.0f;
  f[(1 * L + 2) * (n / 2) * 4 + 4 * 10 + 3] = 2e-38f;
}

static void test_fallback(void) {
  const int64_t ns[2] = {256, 2048};
  for (int k = 0; k < 2; k++) {
    g_edit_n = ns[k];
    tb t = bfly_module(ns[k], 1, 9, true);
    for (int threads = 1; threads <= 2; threads++) {
      fab_cpu_options o = opts(0, threads);
      char what[96];
      snprintf(what, sizeof what, "bfly rows n=%lld, pivots out of range, threads=%d", (long long)ns[k], threads);
      jit_vs_interp_edit(&t, what, &o, RTOL, edit_pivots);
    }
    tb_free(&t);
  }
}

/* Stack 1's block 0, stage 3, butterfly 7: t00 = 0 (no factored form). */
static void edit_stack1(fab_tensor_set *w) {
  fab_tensor *t = fab_tset_find(w, "twiddle");
  int64_t n = g_edit_n, L = log2i(n), at = ((1 * 2 + 0) * L + 3) * (n / 2) * 4 + 4 * 7;
  CHECK(t && (int64_t)(t->nbytes / 4) > at, "bfly rows: no twiddle to edit");
  if (t && (int64_t)(t->nbytes / 4) > at) ((float *)t->data)[at] = 0.0f;
}

/* One compiled model bound to weights A, B (A with stack 1 out of the
 * factored range: that stack's table plain, stack 0's still factored), C
 * (other values), A again: each binding prepares its own tables (the
 * tables of an earlier one would give other outputs), each run against
 * the interpreter on its weights. */
static void test_rebind(void) {
  g_edit_n = 256;
  tb t = bfly_module(256, 2, 9, false);
  fab_tensor_set *w[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()}, *in = fab_tset_new();
  fab_tensor_set *want[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()};
  uint64_t seeds[3] = {7, 7, 8};
  bool ok = fab_bind_init_inputs(t.m, 11, in, t.d);
  for (int k = 0; ok && k < 3; k++) {
    ok = fab_bind_init_weights(t.m, seeds[k], w[k], t.d);
    if (ok && k == 1) edit_stack1(w[k]);
    ok = ok && fab_interp_run(t.m, w[k], in, want[k], t.d);
  }
  CHECK(ok, "bfly rows rebind: the interpreter failed");
  fab_cpu_options o = opts(0, 2);
  fab_cpu_jit *j = ok ? fab_cpu_jit_compile(t.m, &o, t.d) : NULL;
  CHECK(!ok || j, "bfly rows rebind: JIT compile failed");
  int order[4] = {0, 1, 2, 0};
  for (int r = 0; j && r < 4; r++) {
    char what[64];
    snprintf(what, sizeof what, "bfly rows rebind run %d (weights %c)", r, "ABC"[order[r]]);
    fab_tensor_set *got = fab_tset_new();
    bool ran = fab_cpu_jit_run(j, w[order[r]], in, got, t.d);
    CHECK(ran, "%s: run failed", what);
    if (ran) close_sets(what, got, want[order[r]], RTOL);
    fab_tset_free(got);
  }
  if (fab_diag_count(t.d)) fab_diag_print(t.d, stderr);
  fab_cpu_jit_free(j);
  for (int k = 0; k < 3; k++) {
    fab_tset_free(w[k]);
    fab_tset_free(want[k]);
  }
  fab_tset_free(in);
  tb_free(&t);
}

/* Runs a compiled model through the raw entry with out at `out` (any
 * alignment). */
static bool run_raw(fab_cpu_jit *j, const fab_tensor_set *w, const float *x, float *out, int threads) {
  fab_model *m = fab_cpu_jit_model(j);
  char err[256];
  fab_status st = fab_model_bind_weights(m, w, err, sizeof err);
  fab_context *ctx = st == FAB_OK ? fab_context_new(m, threads, &st, err, sizeof err) : NULL;
  if (!ctx) {
    fprintf(stderr, "bfly rows: %s\n", err);
    return false;
  }
  const void *in[1] = {x};
  void *outs[1] = {out};
  st = fab_context_run_raw(ctx, in, outs);
  fab_context_free(ctx);
  return st == FAB_OK;
}

/* A result of >= 8 MiB: streamed stores (and their fence) in the IR,
 * the interpreter's values, and the same bytes through an out pointer
 * 4 bytes off 64-byte alignment (plain stores) and with 2 threads. */
static void test_stream(void) {
  const int64_t n = 4096, rows = 513;
  tb t = bfly_module(n, 1, rows, false);
  fab_cpu_options o = opts(0, 1);
  CHECK(ir_contains(&t, &o, "!nontemporal"), "bfly rows: no streamed stores for an 8 MiB result");
  CHECK(ir_contains(&t, &o, "llvm.x86.sse.sfence"), "bfly rows: no fence after the streamed stores");
  jit_vs_interp(&t, "bfly rows streamed", &o, RTOL);
  fab_tensor_set *w = fab_tset_new();
  fab_cpu_jit *j = fab_bind_init_weights(t.m, 7, w, t.d) ? fab_cpu_jit_compile(t.m, &o, t.d) : NULL;
  size_t count = (size_t)(rows * n);
  float *x = aligned_alloc(64, count * 4), *a = aligned_alloc(64, count * 4 + 64),
        *b = aligned_alloc(64, count * 4 + 64), *c2 = aligned_alloc(64, count * 4 + 64);
  CHECK(j && x && a && b && c2, "bfly rows: setup failed");
  if (j && x && a && b && c2) {
    for (size_t k = 0; k < count; k++) x[k] = (float)((k * 104729 % 2000) / 1000.0 - 1.0);
    bool ok = run_raw(j, w, x, a, 1) && run_raw(j, w, x, b + 1, 1) && run_raw(j, w, x, c2, 2);
    CHECK(ok, "bfly rows: raw runs failed");
    CHECK(ok && !memcmp(a, b + 1, count * 4), "bfly rows: unaligned out differs from aligned out");
    CHECK(ok && !memcmp(a, c2, count * 4), "bfly rows: 2 threads differ from 1");
  }
  free(x);
  free(a);
  free(b);
  free(c2);
  fab_cpu_jit_free(j);
  fab_tset_free(w);
  if (fab_diag_count(t.d)) fab_diag_print(t.d, stderr);
  tb_free(&t);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "n4096";
  if (!strcmp(which, "n4096")) test_n4096();
  else if (!strcmp(which, "n2048")) test_n2048();
  else if (!strcmp(which, "stream")) test_stream();
  else if (!strcmp(which, "fallback")) test_fallback();
  else if (!strcmp(which, "rebind")) test_rebind();
  else return fprintf(stderr, "unknown test '%s'\n", which), 2;
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
