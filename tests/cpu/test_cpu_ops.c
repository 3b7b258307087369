/* test_cpu_ops.c — every lowered op through the JIT against the reference
 * interpreter (cpu.<group>). */
#include "cpu_test_util.h"
#include "passes.h"

static const double RTOL = 1e-4;

/* The cpu backend's passes (memplan first: they need the plan; neither
 * reads the cost model). */
static bool cpu_passes(tb *t, const char *pipeline) {
  fab_pass_options po = {.verify_each = true};
  if (fab_run_pipeline(t->m, pipeline, &po, t->d)) return true;
  fprintf(stderr, "pipeline %s failed\n", pipeline);
  fab_diag_print(t->d, stderr);
  fab_diag_clear(t->d);
  g_failures++;
  return false;
}

static fab_cpu_options opts(void) {
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  return o;
}

static void test_elementwise(void) {
  tb t = tb_new("elem");
  int64_t xd[3] = {3, 5, 24}, bd[1] = {24};
  int x = tb_input(&t, "x", FAB_F32, 3, xd), y = tb_input(&t, "y", FAB_F32, 3, xd);
  int b = tb_weight(&t, "b", 1, bd, 1.0), g = tb_weight(&t, "g", 1, bd, 1.0);
  int v;
  tb_op(&t, FAB_OP_RELU, x, -1, -1, -1); tb_output(&t, tb_infer(&t), "relu");
  tb_op(&t, FAB_OP_GELU, x, -1, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
  tb_output(&t, tb_infer(&t), "gelu_erf");
  tb_op(&t, FAB_OP_GELU, x, -1, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "tanh");
  tb_output(&t, tb_infer(&t), "gelu_tanh");
  tb_op(&t, FAB_OP_SCALE, x, -1, -1, -1); fab_op_set_float(t.m, tb_last(&t), "factor", -0.25);
  tb_output(&t, tb_infer(&t), "scale");
  tb_op(&t, FAB_OP_ADD, x, y, -1, -1); tb_output(&t, tb_infer(&t), "add");
  tb_op(&t, FAB_OP_ADD, x, b, -1, -1); tb_output(&t, tb_infer(&t), "add_bcast");
  tb_op(&t, FAB_OP_MUL, x, y, -1, -1); tb_output(&t, tb_infer(&t), "mul");
  tb_op(&t, FAB_OP_MUL, x, b, -1, -1); tb_output(&t, tb_infer(&t), "mul_bcast");
  tb_op(&t, FAB_OP_SOFTMAX, x, -1, -1, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 0.7);
  tb_output(&t, tb_infer(&t), "softmax");
  tb_op(&t, FAB_OP_LAYERNORM, x, g, b, -1); fab_op_set_float(t.m, tb_last(&t), "eps", 1e-5);
  tb_output(&t, tb_infer(&t), "layernorm");
  tb_op(&t, FAB_OP_BIAS_GELU, x, b, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
  tb_output(&t, tb_infer(&t), "bias_gelu");
  tb_op(&t, FAB_OP_ADD_LAYERNORM, x, y, g, b); fab_op_set_float(t.m, tb_last(&t), "eps", 1e-5);
  tb_output(&t, tb_infer(&t), "add_layernorm");
  v = tb_op(&t, FAB_OP_CONST, -1, -1, -1, -1);
  fab_op_set_float(t.m, tb_last(&t), "value", 1.5);
  tb_last(&t)->type = tyof(FAB_F32, 1, bd);
  tb_op(&t, FAB_OP_ADD, x, v, -1, -1); tb_output(&t, tb_infer(&t), "add_const");
  fab_cpu_options o = opts();
  jit_vs_interp(&t, "elementwise", &o, RTOL);
  tb_free(&t);
}

static void test_data(void) {
  tb t = tb_new("data");
  int64_t xd[3] = {2, 3, 4}, id[2] = {2, 5}, ed[2] = {10, 8}, sd[2] = {6, 16};
  int x = tb_input(&t, "x", FAB_F32, 3, xd);
  int ids = tb_input(&t, "ids", FAB_I32, 2, id);
  int s = tb_input(&t, "s", FAB_F32, 2, sd);
  int e = tb_weight(&t, "emb", 2, ed, 1.0);
  tb_op(&t, FAB_OP_PAD, x, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
  fab_op_set_int(t.m, tb_last(&t), "size", 5); tb_output(&t, tb_infer(&t), "pad1");
  tb_op(&t, FAB_OP_PAD, x, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 2);
  fab_op_set_int(t.m, tb_last(&t), "size", 8); tb_output(&t, tb_infer(&t), "pad2");
  tb_op(&t, FAB_OP_SLICE, x, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 2);
  fab_op_set_int(t.m, tb_last(&t), "start", 1); fab_op_set_int(t.m, tb_last(&t), "size", 2);
  tb_output(&t, tb_infer(&t), "slice");
  int64_t rs[2] = {6, 4};
  tb_op(&t, FAB_OP_RESHAPE, x, -1, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "shape", rs, 2);
  int r = tb_infer(&t);
  tb_op(&t, FAB_OP_SCALE, r, -1, -1, -1); fab_op_set_float(t.m, tb_last(&t), "factor", 2.0);
  tb_output(&t, tb_infer(&t), "reshape_scale");
  int64_t perm[3] = {2, 0, 1};
  tb_op(&t, FAB_OP_TRANSPOSE, x, -1, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "perm", perm, 3);
  tb_output(&t, tb_infer(&t), "transpose");
  int64_t perm2[3] = {1, 0, 2};
  tb_op(&t, FAB_OP_TRANSPOSE, x, -1, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "perm", perm2, 3);
  tb_output(&t, tb_infer(&t), "transpose2");
  tb_op(&t, FAB_OP_STACK, x, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "count", 3);
  tb_output(&t, tb_infer(&t), "stack");
  tb_op(&t, FAB_OP_EMBED, ids, e, -1, -1); tb_output(&t, tb_infer(&t), "embed");
  /* an add gathering its embed's rows (cpu.embed_in, cpu-fold-embed), with
   * a weight op between; rows of 8 (scalar tail) and of 35 (one vector of
   * 16 or more and a tail) */
  for (int k = 0; k < 2; k++) {
    int64_t ed2[2] = {10, k ? 35 : 8}, pd[2] = {10, k ? 35 : 8}, id2[1] = {10};
    int ids2 = tb_input(&t, k ? "ids35" : "ids8", FAB_I32, 1, id2);
    int tab = tb_weight(&t, k ? "tab35" : "tab8", 2, ed2, 1.0);
    int em = tb_op(&t, FAB_OP_EMBED, ids2, tab, -1, -1); tb_infer(&t);
    int pos = tb_weight(&t, k ? "pos35" : "pos8", 2, pd, 1.0);
    tb_op(&t, FAB_OP_ADD, em, pos, -1, -1); fab_op_set_int(t.m, tb_last(&t), "cpu.embed_in", 1);
    tb_output(&t, tb_infer(&t), k ? "embed_add35" : "embed_add8");
  }
  /* the positions a slice of a longer table's rows from row 3 (then 5: the
   * two adds have one signature but for the slice's start), read in place
   * (cpu.slice_in) */
  for (int k = 0; k < 2; k++) {
    int64_t ed2[2] = {10, 35}, pd[2] = {16, 35}, id2[1] = {10};
    int ids2 = tb_input(&t, k ? "ids_s5" : "ids_s", FAB_I32, 1, id2);
    int em = tb_op(&t, FAB_OP_EMBED, ids2, tb_weight(&t, k ? "tab_s5" : "tab_s", 2, ed2, 1.0), -1, -1); tb_infer(&t);
    int pos = tb_op(&t, FAB_OP_SLICE, tb_weight(&t, k ? "pos_s5" : "pos_s", 2, pd, 1.0), -1, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    fab_op_set_int(t.m, tb_last(&t), "start", k ? 5 : 3);
    fab_op_set_int(t.m, tb_last(&t), "size", 10);
    tb_infer(&t);
    tb_op(&t, FAB_OP_ADD, em, pos, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "cpu.embed_in", 1);
    fab_op_set_int(t.m, tb_last(&t), "cpu.slice_in", 1);
    tb_output(&t, tb_infer(&t), k ? "embed_add_sliced5" : "embed_add_sliced");
  }
  tb_op(&t, FAB_OP_MEANPOOL, x, -1, -1, -1); tb_output(&t, tb_infer(&t), "meanpool");
  tb_op(&t, FAB_OP_TAKE, x, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "index", 2);
  tb_output(&t, tb_infer(&t), "take");
  int cx = tb_op(&t, FAB_OP_COMPLEX, s, -1, -1, -1); tb_infer(&t);
  tb_op(&t, FAB_OP_BITREV, cx, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
  int br = tb_infer(&t);
  tb_op(&t, FAB_OP_REAL, br, -1, -1, -1); tb_output(&t, tb_infer(&t), "bitrev");
  tb_op(&t, FAB_OP_BITREV, s, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
  tb_output(&t, tb_infer(&t), "bitrev_f32");
  fab_cpu_options o = opts();
  jit_vs_interp(&t, "data", &o, RTOL);
  tb_free(&t);
}

/* complex -> bitrev -> fft.stages along an axis (-> real), and dft. */
static void add_fft(tb *t, int x, int axis, int64_t len, bool fused_real, const char *name) {
  int cx = tb_op(t, FAB_OP_COMPLEX, x, -1, -1, -1); tb_infer(t);
  tb_op(t, FAB_OP_BITREV, cx, -1, -1, -1); fab_op_set_int(t->m, tb_last(t), "axis", axis);
  int br = tb_infer(t);
  int64_t st[16];
  int ns = 0;
  for (int64_t m = 2; m <= len; m *= 2, ns++) st[ns] = ns + 1;
  tb_op(t, FAB_OP_FFT_STAGES, br, -1, -1, -1);
  fab_op_set_int(t->m, tb_last(t), "axis", axis);
  fab_op_set_ints(t->m, tb_last(t), "stages", st, ns);
  if (fused_real) fab_op_set_int(t->m, tb_last(t), "real_out", 1);
  int f = tb_infer(t);
  if (!fused_real) {
    tb_op(t, FAB_OP_REAL, f, -1, -1, -1);
    f = tb_infer(t);
  }
  tb_output(t, f, name);
}

static void test_fourier(void) {
  tb t = tb_new("fourier");
  int64_t xd[2] = {16, 32}, yd[2] = {6, 12};
  int x = tb_input(&t, "x", FAB_F32, 2, xd), y = tb_input(&t, "y", FAB_F32, 2, yd);
  add_fft(&t, x, 1, 32, false, "fft_last");
  add_fft(&t, x, 0, 16, true, "fft_first_real");
  add_fft(&t, x, 1, 32, true, "fft_last_real");
  add_fft(&t, x, 0, 16, false, "fft_first_complex"); /* lanes = inner positions */
  int64_t zd[3] = {8, 3, 12};
  int z = tb_input(&t, "z", FAB_F32, 3, zd);
  add_fft(&t, z, 0, 8, false, "fft_blocks");         /* inner 36: blocked scalar path */
  add_fft(&t, z, 0, 8, true, "fft_blocks_real");
  int64_t wd[3] = {3, 4, 16};
  int w = tb_input(&t, "w", FAB_F32, 3, wd);
  add_fft(&t, w, 1, 4, false, "fft_middle");         /* middle axis, inner 16 */
  int cy = tb_op(&t, FAB_OP_COMPLEX, y, -1, -1, -1); tb_infer(&t);
  tb_op(&t, FAB_OP_DFT, cy, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
  int d1 = tb_infer(&t);
  tb_op(&t, FAB_OP_DFT, d1, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 0);
  int d0 = tb_infer(&t);
  tb_op(&t, FAB_OP_REAL, d0, -1, -1, -1); tb_output(&t, tb_infer(&t), "dft2");
  /* the rows-as-lanes dft along the last axis: odd, even and multiple-of-4
   * lengths (1, 2 and 4 frequencies per register block), a full tile plus
   * a partial one; its imaginary parts reach the output through the
   * second (axis 0) transform */
  static const int64_t dl[3][2] = {{19, 7}, {21, 10}, {17, 24}};
  for (int k = 0; k < 3; k++) {
    char name[32];
    int u = tb_input(&t, (const char *[]){"u0", "u1", "u2"}[k], FAB_F32, 2, dl[k]);
    int cu = tb_op(&t, FAB_OP_COMPLEX, u, -1, -1, -1); tb_infer(&t);
    tb_op(&t, FAB_OP_DFT, cu, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
    int e1 = tb_infer(&t);
    tb_op(&t, FAB_OP_REAL, e1, -1, -1, -1);
    snprintf(name, sizeof name, "dft_last_%lld", (long long)dl[k][1]);
    tb_output(&t, tb_infer(&t), name);
    tb_op(&t, FAB_OP_DFT, e1, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    int e0 = tb_infer(&t);
    tb_op(&t, FAB_OP_REAL, e0, -1, -1, -1);
    snprintf(name, sizeof name, "dft2_%lld", (long long)dl[k][1]);
    tb_output(&t, tb_infer(&t), name);
    /* axis 0 first: the last-axis dft then has a complex input */
    tb_op(&t, FAB_OP_DFT, cu, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    int f0 = tb_infer(&t);
    tb_op(&t, FAB_OP_DFT, f0, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
    int f1 = tb_infer(&t);
    tb_op(&t, FAB_OP_REAL, f1, -1, -1, -1);
    snprintf(name, sizeof name, "dft2_complex_in_%lld", (long long)dl[k][1]);
    tb_output(&t, tb_infer(&t), name);
  }
  /* Re(FFT2) as lower-fourier emits it: the row fft loads real rows
   * through the bitrev (cpu.real_in, cpu.bitrev_in), the column fft reads
   * through its bitrev and stores half the columns twice (cpu.hermitian);
   * 4 rows are a partial tile, 32 full tiles; 19 rows end in a partial one.
   * The column fft transforms pairs of column blocks (codegen_fft_cols.c):
   * 256 columns are 4 pairs at 16 lanes (8 at 8 lanes); 32 columns a lone
   * block at 16 lanes, a pair at 8.  Column W/2 runs over the lanes in the
   * last unit when the length is a power of two >= 2V (32 and 64 rows at
   * 16 lanes, 16, 32 and 64 at 8), else in a block of its own (4 and 16
   * rows at 16 lanes) */
  static const int64_t fd[5][2] = {{4, 32}, {32, 64}, {19, 32}, {16, 256}, {64, 32}};
  for (int k = 0; k < 5; k++) {
    char name[32];
    int u = tb_input(&t, (const char *[]){"f0", "f1", "f2", "f3", "f4"}[k], FAB_F32, 2, fd[k]);
    int cu = tb_op(&t, FAB_OP_COMPLEX, u, -1, -1, -1); tb_infer(&t);
    tb_op(&t, FAB_OP_BITREV, cu, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
    int br = tb_infer(&t);
    int64_t st[8], ns = 0;
    for (int64_t m = 2; m <= fd[k][1]; m *= 2, ns++) st[ns] = ns + 1;
    tb_op(&t, FAB_OP_FFT_STAGES, br, -1, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "axis", 1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, (int)ns);
    int rows = tb_infer(&t);
    snprintf(name, sizeof name, "fft2_%lld", (long long)fd[k][0]);
    if (k == 2) { /* 19 rows: no axis-0 fft */
      tb_op(&t, FAB_OP_REAL, rows, -1, -1, -1);
      tb_output(&t, tb_infer(&t), name);
      continue;
    }
    tb_op(&t, FAB_OP_BITREV, rows, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    int bc = tb_infer(&t);
    ns = 0;
    for (int64_t m = 2; m <= fd[k][0]; m *= 2, ns++) st[ns] = ns + 1;
    tb_op(&t, FAB_OP_FFT_STAGES, bc, -1, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, (int)ns);
    fab_op_set_int(t.m, tb_last(&t), "real_out", 1);
    tb_output(&t, tb_infer(&t), name);
  }
  /* a complex (not complex-of-real) row through a folded bitrev: the
   * second last-axis fft reads the first one's spectrum */
  {
    int cx = tb_op(&t, FAB_OP_COMPLEX, x, -1, -1, -1); tb_infer(&t);
    int v = cx;
    int64_t st[5] = {1, 2, 3, 4, 5};
    for (int rep = 0; rep < 2; rep++) {
      tb_op(&t, FAB_OP_BITREV, v, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 1);
      v = tb_infer(&t);
      tb_op(&t, FAB_OP_FFT_STAGES, v, -1, -1, -1);
      fab_op_set_int(t.m, tb_last(&t), "axis", 1);
      fab_op_set_ints(t.m, tb_last(&t), "stages", st, 5);
      v = tb_infer(&t);
    }
    tb_op(&t, FAB_OP_REAL, v, -1, -1, -1);
    tb_output(&t, tb_infer(&t), "fft_last_twice");
  }
  /* rank 3, the real_out fft on axis 0 (not the second last): the half-
   * column shortcut does not apply */
  {
    int64_t hd[3] = {8, 2, 32}, st[5] = {1, 2, 3, 4, 5}, st0[3] = {1, 2, 3};
    int h = tb_input(&t, "h3", FAB_F32, 3, hd);
    int v = tb_op(&t, FAB_OP_COMPLEX, h, -1, -1, -1); tb_infer(&t);
    tb_op(&t, FAB_OP_BITREV, v, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 2);
    v = tb_infer(&t);
    tb_op(&t, FAB_OP_FFT_STAGES, v, -1, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "axis", 2);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, 5);
    v = tb_infer(&t);
    tb_op(&t, FAB_OP_BITREV, v, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    v = tb_infer(&t);
    tb_op(&t, FAB_OP_FFT_STAGES, v, -1, -1, -1);
    fab_op_set_int(t.m, tb_last(&t), "axis", 0);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st0, 3);
    fab_op_set_int(t.m, tb_last(&t), "real_out", 1);
    tb_output(&t, tb_infer(&t), "fft2_rank3_axis0");
  }
  /* without folding (what a memory plan that overlaps the folded read and
   * the fft's result gets), then folded (cpu-fold-fft-loads) at every
   * vector width the target option allows (this machine's, AVX2's 8
   * lanes, scalar) */
  fab_cpu_options o = opts();
  jit_vs_interp(&t, "fourier (not folded)", &o, RTOL);
  cpu_passes(&t, "memplan,cpu-fold-fft-loads");
  static const int lanes[3] = {0, 8, 1};
  for (int k = 0; k < 3; k++) {
    o.vector_lanes = lanes[k];
    char name[48];
    snprintf(name, sizeof name, "fourier (lanes %d)", lanes[k]);
    jit_vs_interp(&t, name, &o, RTOL);
  }
  /* no-real-dft: real rows one per lane, every column block alone */
  o = opts();
  o.no_real_dft = true;
  jit_vs_interp(&t, "fourier (no-real-dft)", &o, RTOL);
  tb_free(&t);
}

static void test_linalg(void) {
  tb t = tb_new("linalg");
  int64_t xd[2] = {7, 20}, wd[2] = {13, 20}, bd[1] = {13};
  int64_t ad[3] = {3, 5, 20}, md[3] = {3, 20, 9};
  int64_t qd[3] = {4, 9, 16}, kd[3] = {4, 21, 16};
  int x = tb_input(&t, "x", FAB_F32, 2, xd);
  int a = tb_input(&t, "a", FAB_F32, 3, ad), mb = tb_input(&t, "mb", FAB_F32, 3, md);
  int q = tb_input(&t, "q", FAB_F32, 3, qd), k = tb_input(&t, "k", FAB_F32, 3, kd),
      v = tb_input(&t, "v", FAB_F32, 3, kd);
  int w = tb_weight(&t, "w", 2, wd, 0.3), b = tb_weight(&t, "b", 1, bd, 1.0);
  tb_op(&t, FAB_OP_DENSE, x, w, b, -1); tb_output(&t, tb_infer(&t), "dense");
  tb_op(&t, FAB_OP_DENSE, x, w, -1, -1); tb_output(&t, tb_infer(&t), "dense_nobias");
  tb_op(&t, FAB_OP_MATMUL, a, mb, -1, -1); tb_output(&t, tb_infer(&t), "matmul");
  tb_op(&t, FAB_OP_MATMUL, q, k, -1, -1); fab_op_set_int(t.m, tb_last(&t), "transpose_b", 1);
  tb_output(&t, tb_infer(&t), "matmul_tb");
  tb_op(&t, FAB_OP_ATTENTION, q, k, v, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 0.25);
  fab_op_set_int(t.m, tb_last(&t), "block", 8);
  tb_output(&t, tb_infer(&t), "attention");
  tb_op(&t, FAB_OP_ATTENTION, q, k, v, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 1.0);
  fab_op_set_int(t.m, tb_last(&t), "block", 64);
  tb_output(&t, tb_infer(&t), "attention_1block");
  /* query rows in register tiles: 12 rows of dh 32 (tiles of 4), 6 rows
   * of dh 128 (tiles of 2), keys in partial blocks */
  static const int64_t att[3][3] = {{12, 21, 32}, {6, 19, 128}, {8, 13, 8}}; /* dh 8: 4 rows > 2 lanes */
  for (int i = 0; i < 3; i++) {
    int64_t q2d[3] = {3, att[i][0], att[i][2]}, k2d[3] = {3, att[i][1], att[i][2]};
    char nq[8], nk[8], nv[8], no[24];
    snprintf(nq, sizeof nq, "q%d", i), snprintf(nk, sizeof nk, "k%d", i), snprintf(nv, sizeof nv, "v%d", i);
    int q2 = tb_input(&t, nq, FAB_F32, 3, q2d), k2 = tb_input(&t, nk, FAB_F32, 3, k2d),
        v2 = tb_input(&t, nv, FAB_F32, 3, k2d);
    tb_op(&t, FAB_OP_ATTENTION, q2, k2, v2, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 0.3);
    fab_op_set_int(t.m, tb_last(&t), "block", 8);
    snprintf(no, sizeof no, "attention_tile%d", i);
    tb_output(&t, tb_infer(&t), no);
  }
  static const int lanes[3] = {0, 8, 2}; /* 2 lanes: tiles of at most 2 rows */
  for (int i = 0; i < 3; i++) {
    fab_cpu_options o = opts();
    o.vector_lanes = lanes[i];
    char name[32];
    snprintf(name, sizeof name, "linalg (lanes %d)", lanes[i]);
    jit_vs_interp(&t, name, &o, RTOL);
  }
  tb_free(&t);
}

/* Key-padding masks (random 0/1 flags: some rows have every key masked)
 * and causal attention on softmax, attention (vector tiles and scalar
 * kernel, keys in partial blocks) and meanpool. */
static void test_masks(void) {
  tb t = tb_new("masks");
  int64_t xd[4] = {2, 3, 7, 7}, md[2] = {2, 7}, pd[3] = {2, 9, 5}, pm[2] = {2, 9};
  int x = tb_input(&t, "x", FAB_F32, 4, xd), m = tb_input(&t, "m", FAB_I32, 2, md);
  int p = tb_input(&t, "p", FAB_F32, 3, pd), pmask = tb_input(&t, "pm", FAB_I32, 2, pm);
  for (int v = 0; v < 3; v++) { /* mask, causal, both */
    char name[32];
    tb_op(&t, FAB_OP_SOFTMAX, x, v == 1 ? -1 : m, -1, -1);
    fab_op_set_float(t.m, tb_last(&t), "scale", 0.6);
    if (v) fab_op_set_int(t.m, tb_last(&t), "causal", 1);
    snprintf(name, sizeof name, "softmax_%d", v);
    tb_output(&t, tb_infer(&t), name);
  }
  tb_op(&t, FAB_OP_MEANPOOL, p, pmask, -1, -1); tb_output(&t, tb_infer(&t), "meanpool");
  static const int64_t dh[3] = {32, 8, 5}; /* 4-row tiles, 2 rows at 2 lanes, scalar */
  for (int i = 0; i < 3; i++) {
    int64_t qd[4] = {2, 2, 12, dh[i]};
    char nq[8], nk[8], name[32];
    snprintf(nq, sizeof nq, "q%d", i), snprintf(nk, sizeof nk, "k%d", i);
    int q = tb_input(&t, nq, FAB_F32, 4, qd), k = tb_input(&t, nk, FAB_F32, 4, qd);
    int64_t mk[2] = {2, 12};
    snprintf(nq, sizeof nq, "m%d", i);
    int mm = tb_input(&t, nq, FAB_I32, 2, mk);
    for (int v = 0; v < 3; v++) {
      tb_op(&t, FAB_OP_ATTENTION, q, k, k, v == 1 ? -1 : mm);
      fab_op_set_float(t.m, tb_last(&t), "scale", 0.4);
      fab_op_set_int(t.m, tb_last(&t), "block", 5);
      if (v) fab_op_set_int(t.m, tb_last(&t), "causal", 1);
      snprintf(name, sizeof name, "attention_%d_%d", i, v);
      tb_output(&t, tb_infer(&t), name);
    }
  }
  static const int lanes[3] = {0, 8, 2};
  for (int i = 0; i < 3; i++) {
    fab_cpu_options o = opts();
    o.vector_lanes = lanes[i];
    char name[32];
    snprintf(name, sizeof name, "masks (lanes %d)", lanes[i]);
    jit_vs_interp(&t, name, &o, RTOL);
  }
  tb_free(&t);
}

/* One module per n: several bfly.stages ops of 1..6 triples, both stride
 * orders, two blocks, S stacks; compiled with fusion widths 1, 3, 6 and
 * `lanes` vector lanes (0: the host's).  Rows of >= 4 lanes run on the
 * row kernel (kernel_bfly_rows.c), shorter ones on the lane kernel. */
static void bfly_case_lanes(int64_t n, int64_t S, int64_t rows, int fuse, int lanes) {
  int L = 0;
  while (((int64_t)1 << L) < n) L++;
  tb t = tb_new("bfly");
  int64_t xd[3] = {rows, S, n}, twd[6] = {S, 2, L, n / 2, 2, 2};
  int x = tb_input(&t, "x", FAB_F32, 3, xd);
  int tw = tb_weight(&t, "twiddle", 6, twd, 0.7071);
  char name[64];
  for (int dir = 0; dir < 2; dir++) {
    /* the whole layer: block 0 one way, block 1 the other */
    int64_t st[6 * 64];
    int ns = 0;
    for (int b = 0; b < 2; b++)
      for (int k = 0; k < L; k++) {
        bool inc = (dir == 1) ^ (b & 1);
        st[3 * ns] = b;
        st[3 * ns + 1] = k;
        st[3 * ns + 2] = inc ? k : L - 1 - k;
        ns++;
      }
    tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", st, 3 * ns);
    snprintf(name, sizeof name, "full_%d", dir);
    tb_output(&t, tb_infer(&t), name);
    /* chains of 1..6 triples split over ops */
    for (int len = 1; len <= 6 && len <= L; len++) {
      int64_t s2[18];
      for (int i = 0; i < len; i++) {
        s2[3 * i] = 0;
        s2[3 * i + 1] = i;
        s2[3 * i + 2] = dir ? i : L - 1 - i;
      }
      tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
      fab_op_set_ints(t.m, tb_last(&t), "stages", s2, 3 * len);
      snprintf(name, sizeof name, "part_%d_%d", dir, len);
      tb_output(&t, tb_infer(&t), name);
    }
  }
  /* a chain of ops (merged into one kernel by cpu-chain-bfly), ending in an
   * op that also feeds a second user (so the chain stops there) */
  int v = x;
  for (int k = 0; k < L; k++) {
    int64_t s3[3] = {0, k, L - 1 - k};
    tb_op(&t, FAB_OP_BFLY_STAGES, v, tw, -1, -1);
    fab_op_set_ints(t.m, tb_last(&t), "stages", s3, 3);
    v = tb_infer(&t);
  }
  tb_output(&t, v, "chain");
  tb_op(&t, FAB_OP_RELU, v, -1, -1, -1);
  tb_output(&t, tb_infer(&t), "chain_relu");
  fab_cpu_options o = opts();
  o.vector_lanes = lanes;
  char pipeline[64];
  snprintf(pipeline, sizeof pipeline, "memplan,cpu-chain-bfly(group=%d)", fuse);
  cpu_passes(&t, pipeline);
  char what[96];
  snprintf(what, sizeof what, "bfly n=%lld S=%lld rows=%lld fuse=%d lanes=%d", (long long)n, (long long)S,
           (long long)rows, fuse, lanes);
  jit_vs_interp(&t, what, &o, RTOL);
  tb_free(&t);
}

static void bfly_case(int64_t n, int64_t S, int64_t rows, int fuse) { bfly_case_lanes(n, S, rows, fuse, 0); }

static void test_bfly(void) {
  bfly_case_lanes(32, 2, 7, 3, 8);  /* row kernel, 8 lanes: n = 4 V */
  bfly_case_lanes(128, 1, 6, 3, 4); /* row kernel, 4 lanes */
  bfly_case_lanes(64, 1, 9, 3, 16); /* row kernel at its shortest rows, 2 row blocks and 1 row */
  bfly_case(8, 1, 5, 3);
  bfly_case(16, 2, 16, 3);
  bfly_case(32, 1, 37, 2);
  bfly_case(64, 3, 33, 6);
  bfly_case(256, 2, 32, 1);
  bfly_case(1024, 1, 40, 3);
  bfly_case(4096, 1, 17, 4);
}

/* A small FBfly-like block by hand: bfly + layernorm + bias.gelu + residual. */
static void test_model(void) {
  tb t = tb_new("model");
  int64_t xd[2] = {48, 64}, twd[6] = {1, 1, 6, 32, 2, 2}, bd[1] = {64};
  int x = tb_input(&t, "x", FAB_F32, 2, xd);
  int tw = tb_weight(&t, "fc1.twiddle", 6, twd, 0.7071), b = tb_weight(&t, "fc1.bias", 1, bd, 0.5);
  int g = tb_weight(&t, "ln.gamma", 1, bd, 1.0), be = tb_weight(&t, "ln.beta", 1, bd, 1.0);
  int64_t one[2] = {48, 1}, shp3[3] = {48, 1, 64};
  (void)one;
  tb_op(&t, FAB_OP_RESHAPE, x, -1, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "shape", shp3, 3);
  int x3 = tb_infer(&t);
  int64_t st[18];
  for (int k = 0; k < 6; k++) {
    st[3 * k] = 0;
    st[3 * k + 1] = k;
    st[3 * k + 2] = 5 - k;
  }
  tb_op(&t, FAB_OP_BFLY_STAGES, x3, tw, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "stages", st, 18);
  int y3 = tb_infer(&t);
  tb_op(&t, FAB_OP_RESHAPE, y3, -1, -1, -1); fab_op_set_ints(t.m, tb_last(&t), "shape", xd, 2);
  int y = tb_infer(&t);
  tb_op(&t, FAB_OP_BIAS_GELU, y, b, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
  int h = tb_infer(&t);
  tb_op(&t, FAB_OP_ADD_LAYERNORM, h, x, g, be); fab_op_set_float(t.m, tb_last(&t), "eps", 1e-5);
  int o1 = tb_infer(&t);
  tb_output(&t, o1, "out");
  tb_op(&t, FAB_OP_MEANPOOL, o1, -1, -1, -1);
  tb_output(&t, tb_infer(&t), "pooled");
  fab_cpu_options o = opts();
  jit_vs_interp(&t, "model", &o, RTOL);
  o.threads = 2;
  jit_vs_interp(&t, "model 2 threads", &o, RTOL);
  tb_free(&t);
}

/* The vectorised transcendental paths (rows a multiple of the vector
 * width: GELU erf / tanh, bias.gelu, softmax through the polynomial exp),
 * with inputs scaled by 6 so the erf branches (|z| < 1, 1..2, > 2, the
 * underflow of e^(-z^2)) and exp's clamping are all reached; attention
 * with whole-vector rows; and a row length for the scalar paths (40). */
static void test_transcendental(void) {
  const int64_t widths[2] = {48, 40};
  for (int k = 0; k < 2; k++) {
    tb t = tb_new("transc");
    int64_t xd[2] = {7, widths[k]}, bd[1] = {widths[k]};
    int x0 = tb_input(&t, "x", FAB_F32, 2, xd);
    int b = tb_weight(&t, "b", 1, bd, 2.0);
    tb_op(&t, FAB_OP_SCALE, x0, -1, -1, -1); fab_op_set_float(t.m, tb_last(&t), "factor", 6.0);
    int x = tb_infer(&t);
    tb_op(&t, FAB_OP_GELU, x, -1, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
    tb_output(&t, tb_infer(&t), "gelu_erf");
    tb_op(&t, FAB_OP_GELU, x, -1, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "tanh");
    tb_output(&t, tb_infer(&t), "gelu_tanh");
    tb_op(&t, FAB_OP_BIAS_GELU, x, b, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "erf");
    tb_output(&t, tb_infer(&t), "bias_gelu");
    tb_op(&t, FAB_OP_BIAS_GELU, x0, b, -1, -1); fab_op_set_str(t.m, tb_last(&t), "approx", "tanh");
    tb_output(&t, tb_infer(&t), "bias_gelu_tanh");
    tb_op(&t, FAB_OP_SOFTMAX, x, -1, -1, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 3.0);
    tb_output(&t, tb_infer(&t), "softmax");
    /* attention: dh = the width (3 vectors, or the scalar kernel), 37 keys
     * in blocks of 16 (a partial last block), large scores (scale 0.5) */
    int64_t qd[3] = {2, 11, widths[k]}, kd[3] = {2, 37, widths[k]};
    int q = tb_input(&t, "q", FAB_F32, 3, qd), kk = tb_input(&t, "k", FAB_F32, 3, kd),
        v = tb_input(&t, "v", FAB_F32, 3, kd);
    tb_op(&t, FAB_OP_ATTENTION, q, kk, v, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 0.5);
    fab_op_set_int(t.m, tb_last(&t), "block", 16);
    tb_output(&t, tb_infer(&t), "attention");
    fab_cpu_options o = opts();
    jit_vs_interp(&t, k ? "transcendental (scalar rows)" : "transcendental (vector rows)", &o, RTOL);
    tb_free(&t);
  }
}

/* The kernels the codegen options choose (dft of real and complex rows,
 * attention tiles, no sharing) against the interpreter. */
static void test_codegen(void) {
  tb t = tb_new("codegen");
  int64_t xd[3] = {3, 5, 10}, qd[3] = {4, 12, 16}, kd[3] = {4, 21, 16};
  int x = tb_input(&t, "x", FAB_F32, 3, xd);
  int cx = tb_op(&t, FAB_OP_COMPLEX, x, -1, -1, -1); tb_infer(&t);
  tb_op(&t, FAB_OP_DFT, cx, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 2);
  int d1 = tb_infer(&t);
  tb_op(&t, FAB_OP_DFT, d1, -1, -1, -1); fab_op_set_int(t.m, tb_last(&t), "axis", 2);
  tb_op(&t, FAB_OP_REAL, tb_infer(&t), -1, -1, -1); tb_output(&t, tb_infer(&t), "dft2");
  int q = tb_input(&t, "q", FAB_F32, 3, qd), k = tb_input(&t, "k", FAB_F32, 3, kd),
      v = tb_input(&t, "v", FAB_F32, 3, kd);
  for (int i = 0; i < 2; i++) { /* two equal ops: one kernel unless no-share */
    tb_op(&t, FAB_OP_ATTENTION, q, k, v, -1); fab_op_set_float(t.m, tb_last(&t), "scale", 0.25);
    fab_op_set_int(t.m, tb_last(&t), "block", 8);
    tb_output(&t, tb_infer(&t), i ? "attention2" : "attention");
  }
  const char *lists[] = {"", "scalar-dft,scalar-attention", "no-real-dft,attention-rows=1,no-share",
                         "attention-rows=2,llvm-pipeline=default<O1>"};
  for (int i = 0; i < 4; i++) {
    fab_cpu_options o = opts();
    char err[256], name[96];
    if (!fab_cpu_codegen_options_parse(&o, lists[i], err, sizeof err)) {
      fprintf(stderr, "codegen '%s': %s\n", lists[i], err);
      g_failures++;
    }
    snprintf(name, sizeof name, "codegen (%s)", lists[i]);
    jit_vs_interp(&t, name, &o, RTOL);
  }
  tb_free(&t);
}

/* JIT-compiling m must fail with a message containing `want`. */
static void expect_compile_error(tb *t, const char *want) {
  fab_cpu_options o = opts();
  fab_cpu_jit *j = fab_cpu_jit_compile(t->m, &o, t->d);
  bool found = false;
  for (int i = 0; i < fab_diag_count(t->d); i++) found = found || strstr(fab_diag_message(t->d, i), want);
  if (j || !found) {
    fprintf(stderr, "annotations: expected the error '%s'\n", want);
    fab_diag_print(t->d, stderr);
    g_failures++;
  }
  fab_diag_clear(t->d);
  fab_cpu_jit_free(j);
}

/* cpu.* attributes the ops do not bear out are errors, not wrong code;
 * --codegen lists are checked. */
static void test_annotations(void) {
  int64_t xd[3] = {4, 1, 8}, twd[6] = {1, 1, 3, 4, 2, 2}, st[6] = {0, 0, 2, 0, 1, 2};
  const char *cases[] = {"has cpu.bitrev_in but its operand is not the bitrev just before it",
                         "cpu.groups[0] = 2", "cpu.groups cover 1 of its 2 stages",
                         "has cpu.real_in but not cpu.bitrev_in",
                         "add has cpu.embed_in but its first operand is not an f32 embed",
                         "has cpu.half_cols but it is not read by a bitrev alone",
                         "add has cpu.slice_in but its second operand is not a slice of a weight's leading rows"};
  for (int c = 0; c < 7; c++) {
    tb t = tb_new("annotations");
    int x = tb_input(&t, "x", FAB_F32, 3, xd);
    int tw = tb_weight(&t, "tw", 6, twd, 0.7);
    if (c == 4) { /* an add of x, not of an embed */
      tb_op(&t, FAB_OP_ADD, x, x, -1, -1);
      fab_op_set_int(t.m, tb_last(&t), "cpu.embed_in", 1);
    } else if (c == 6) { /* an embed's add whose other operand is a weight, not a slice of one */
      int64_t ed[2] = {10, 8}, id[1] = {4};
      int em = tb_op(&t, FAB_OP_EMBED, tb_input(&t, "ids", FAB_I32, 1, id), tb_weight(&t, "tab", 2, ed, 1.0), -1, -1);
      tb_infer(&t);
      tb_op(&t, FAB_OP_ADD, em, tb_weight(&t, "pos", 2, (int64_t[]){4, 8}, 1.0), -1, -1);
      fab_op_set_int(t.m, tb_last(&t), "cpu.embed_in", 1);
      fab_op_set_int(t.m, tb_last(&t), "cpu.slice_in", 1);
    } else if (c == 1 || c == 2) {
      tb_op(&t, FAB_OP_BFLY_STAGES, x, tw, -1, -1);
      fab_op_set_ints(t.m, tb_last(&t), "stages", st, 6); /* stride 2^2 twice */
      fab_op_set_ints(t.m, tb_last(&t), "cpu.groups", (int64_t[]){c == 2 ? 1 : 2}, 1);
    } else { /* fft.stages of complex(x), no bitrev between */
      int cx = tb_op(&t, FAB_OP_COMPLEX, x, -1, -1, -1); tb_infer(&t);
      tb_op(&t, FAB_OP_FFT_STAGES, cx, -1, -1, -1);
      fab_op_set_int(t.m, tb_last(&t), "axis", -1);
      fab_op_set_ints(t.m, tb_last(&t), "stages", (int64_t[]){1, 2, 3}, 3);
      fab_op_set_int(t.m, tb_last(&t), c == 0 ? "cpu.bitrev_in" : c == 5 ? "cpu.half_cols" : "cpu.real_in", 1);
    }
    tb_output(&t, tb_infer(&t), "y");
    expect_compile_error(&t, cases[c]);
    tb_free(&t);
  }
  fab_cpu_options o = opts();
  char err[256];
  const char *all = "no-share,scalar-dft,no-real-dft,scalar-attention,attention-rows=2,llvm-pipeline=default<O1>,x";
  if (!fab_cpu_codegen_options_parse(&o, all, err, sizeof err) || !o.no_share || !o.scalar_dft ||
      !o.no_real_dft || !o.scalar_attention || o.attention_rows != 2 ||
      strcmp(o.llvm_pipeline, "default<O1>,x")) {
    fprintf(stderr, "codegen options: '%s' not parsed\n", all);
    g_failures++;
  }
  const char *bad[][2] = {{"scalar-dft,fast", "unknown codegen option 'fast' (valid: no-share"},
                          {"attention-rows=3", "attention-rows must be 1, 2 or 4"},
                          {"attention-rows=2x", "attention-rows must be 1, 2 or 4"},
                          {"llvm-pipeline=", "needs a pipeline"}};
  for (int i = 0; i < 4; i++)
    if (fab_cpu_codegen_options_parse(&o, bad[i][0], err, sizeof err) || !strstr(err, bad[i][1])) {
      fprintf(stderr, "codegen options: '%s' should fail with '%s'\n", bad[i][0], bad[i][1]);
      g_failures++;
    }
}

/* One case from the environment (BFLY_N, BFLY_S, BFLY_ROWS, BFLY_FUSE), for
 * investigating. */
static void test_bfly_env(void) {
  const char *n = getenv("BFLY_N"), *s = getenv("BFLY_S"), *r = getenv("BFLY_ROWS"), *f = getenv("BFLY_FUSE");
  bfly_case(n ? atoll(n) : 256, s ? atoll(s) : 1, r ? atoll(r) : 32, f ? atoi(f) : 3);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {{"elementwise", test_elementwise}, {"data", test_data},   {"fourier", test_fourier},
               {"linalg", test_linalg}, {"masks", test_masks},           {"bfly", test_bfly},   {"model", test_model}, {"transcendental", test_transcendental}, {"annotations", test_annotations}, {"codegen", test_codegen}, {"bfly_env", test_bfly_env}};
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if ((!strcmp(which, "all") && strcmp(tests[i].name, "bfly_env")) || !strcmp(which, tests[i].name)) {
      tests[i].fn();
      ran++;
    }
  if (!ran) {
    fprintf(stderr, "unknown test '%s'\n", which);
    return 2;
  }
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
