/* test_writeback.c — the engines' write-back (ldp, stp, wbp; .fbin v3):
 *   same outputs: every golden case with a write-back chain gives
 *     bit-identical simulated outputs with the write-back (default) and
 *     without it (fpga-absorb(wb=0): the post-processing unit), fp16 and
 *     fp32, and its program has fewer instructions and off-chip bytes;
 *   the Fourier mix's LN1 in its last fft pass's store: the same outputs
 *     as on the PPU (fpga-absorb(fft-ln=0)), fp16 and fp32;
 *   an FFN's fc1 and fc2 wave by wave (codegen_be.c, gen_ffn_pair):
 *     interleaved, with the same outputs as on the PPU;
 *   semantics: a hand-written ldp / wbp / stp program against a C
 *     reference (zero fill, truncated store, bias, gelu, residual, layer
 *     norm) in fp32;
 *   errors: a version-2 file holding write-back instructions, an stp wider
 *     than its pitch, an ldp with a function, a wbp outside the parameter
 *     buffer, parameters or a residual outside their memories at run time. */
#include "fpga_case_run.h"

/* Compiles golden case `name` (extra: a pipeline run after the fpga one),
 * simulates it into out; returns the program (NULL: failed). */
static fab_fpga_program *compile_run(const char *name, const char *extra, const fab_fpga_config *c,
                                     fab_tensor_set *out, fab_fpga_report *rep) {
  return fpga_case_run(name, NULL, NULL, extra, c, out, rep);
}

static void test_same_outputs(void) {
  const char *cases[] = {"fabnet_small_post", "fabnet_small_pre", "fabnet_padded", "fbfly_post",
                         "fbfly_pre",         "abfly_post",       "abfly_pre",     "bfly_128_48_dec_b2"};
  const char *configs[] = {"vcu128-be40", "vcu128-be40-fp32", "small"};
  for (int k = 0; k < 8; k++)
    for (int ci = 0; ci < 3; ci++) {
      fab_fpga_config c = test_config(configs[ci]);
      fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
      fab_fpga_report r[2];
      fab_fpga_program *p = compile_run(cases[k], "fpga-absorb(wb=1),fpga-alloc", &c, o[0], &r[0]);
      fab_fpga_program *q = compile_run(cases[k], "fpga-absorb(wb=0),fpga-alloc", &c, o[1], &r[1]);
      CHECK(p && q, "%s on %s: compiles with and without the write-back", cases[k], configs[ci]);
      if (p && q) {
        CHECK(fpga_count_op(p, FAB_I_STP) > 0 && fpga_count_op(q, FAB_I_STP) == 0, "%s: stp only with the write-back",
              cases[k]);
        CHECK(same_tensors(o[0], o[1]), "%s on %s: the write-back changes the outputs", cases[k], configs[ci]);
        uint64_t b0 = r[0].bytes_in + r[0].bytes_out, b1 = r[1].bytes_in + r[1].bytes_out;
        CHECK(b0 < b1, "%s on %s: off-chip bytes %llu with the write-back, %llu without", cases[k], configs[ci],
              (unsigned long long)b0, (unsigned long long)b1);
        if (ci == 0)
          printf("%-20s %s  cycles %8llu -> %8llu  off-chip bytes %9llu -> %9llu\n", cases[k], configs[ci],
                 (unsigned long long)r[1].total_cycles, (unsigned long long)r[0].total_cycles,
                 (unsigned long long)b1, (unsigned long long)b0);
      }
      fab_fpga_program_free(p);
      fab_fpga_program_free(q);
      fab_tset_free(o[0]);
      fab_tset_free(o[1]);
    }
}

/* The Fourier mix's residual + LN1 in its last fft pass's store
 * (fpga-absorb(fft-ln=1), lower-fourier(seq-first=2)): the same outputs as
 * on the PPU (fft-ln=0), bit for bit in fp16 and fp32, one rln stp per
 * tile more and fewer off-chip bytes; by default on vcu128-be120 (120
 * engines, 64 PPU lanes), not on vcu128-be40 (256 lanes). */
static void test_fft_ln(void) {
  const char *cases[] = {"fbfly_post", "fabnet_small_post", "fabnet_padded", "fbfly_pre"};
  const char *configs[] = {"vcu128-be40", "vcu128-be40-fp32", "small", "vcu128-be120"};
  for (int k = 0; k < 4; k++)
    for (int ci = 0; ci < 4; ci++) {
      fab_fpga_config c = test_config(configs[ci]);
      fab_tensor_set *o[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()};
      fab_fpga_report r[3];
      fab_fpga_program *p = compile_run(cases[k], "fpga-absorb(wb=1,fft-ln=1),fpga-alloc", &c, o[0], &r[0]);
      fab_fpga_program *q = compile_run(cases[k], "fpga-absorb(wb=1,fft-ln=0),fpga-alloc", &c, o[1], &r[1]);
      fab_fpga_program *dflt = compile_run(cases[k], NULL, &c, o[2], &r[2]);
      CHECK(p && q && dflt, "%s on %s: compiles with and without the fft's layer norm", cases[k], configs[ci]);
      if (p && q && dflt) {
        bool post = k < 3; /* fbfly_pre: no add.layernorm after the mix */
        size_t sp = fpga_count_op(p, FAB_I_STP), sq = fpga_count_op(q, FAB_I_STP), sd = fpga_count_op(dflt, FAB_I_STP);
        CHECK(post ? sp > sq : sp == sq, "%s on %s: stp %zu with the fft's layer norm, %zu without", cases[k],
              configs[ci], sp, sq);
        /* the target decides both: write-back and LN1 where 2 p_be /
         * wb_share >= PPU lanes (be120); elsewhere no LN1, and no chain
         * with a lane per two engines (be40 with a lane per engine folds
         * the chains whose stores hide behind the compute) */
        CHECK(ci == 3 ? sd == sp : c.wb_share == 1 ? sd <= sq : sd == 0, "%s on %s: the default chose %zu stp", cases[k],
              configs[ci], sd);
        CHECK(same_tensors(o[0], o[1]) && same_tensors(o[0], o[2]), "%s on %s: the fft's layer norm changes the outputs",
              cases[k], configs[ci]);
        uint64_t b0 = r[0].bytes_in + r[0].bytes_out, b1 = r[1].bytes_in + r[1].bytes_out;
        CHECK(post ? b0 < b1 : b0 == b1, "%s on %s: off-chip bytes %llu with the fft's layer norm, %llu without",
              cases[k], configs[ci], (unsigned long long)b0, (unsigned long long)b1);
        if (post && (ci == 0 || ci == 3))
          printf("fft+ln %-15s %-12s cycles %8llu -> %8llu  off-chip bytes %9llu -> %9llu\n", cases[k],
                 configs[ci], (unsigned long long)r[1].total_cycles, (unsigned long long)r[0].total_cycles,
                 (unsigned long long)b1, (unsigned long long)b0);
      }
      fab_fpga_program_free(p);
      fab_fpga_program_free(q);
      fab_fpga_program_free(dflt);
      for (int i = 0; i < 3; i++) fab_tset_free(o[i]);
    }
}

/* fc1 and fc2 wave by wave: on "small" in fp16 with 128-word banks (4
 * engines; its coefficient stream keeps up with fc1's reloads per tile,
 * so fc1 runs tile-major; fc2's 128-point rows fill a bank)
 * fbfly_post's 32 rows make 8 waves.  fc2's butterflies (rows
 * of 128) start before fc1's (rows of 64) end, and the outputs equal the
 * post-processing unit's (wb=0: no write-back, op after op) bit for bit;
 * fabnet_small_post (two layers) the same outputs. */
static void test_ffn_pair(void) {
  fab_fpga_config c = test_config("small");
  c.fp16 = 1;
  c.be_depth = 16;
  const char *cases[] = {"fbfly_post", "fabnet_small_post"};
  for (int k = 0; k < 2; k++) {
    fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
    fab_fpga_report r[2];
    fab_fpga_program *p = compile_run(cases[k], "fpga-absorb(wb=1),fpga-alloc", &c, o[0], &r[0]);
    fab_fpga_program *q = compile_run(cases[k], "fpga-absorb(wb=0),fpga-alloc", &c, o[1], &r[1]);
    CHECK(p && q, "%s: compiles with and without the write-back", cases[k]);
    if (p && q) {
      size_t fc2_first = 0, fc1_last = 0;
      for (size_t i = 0; i < p->ninsn; i++) {
        fab_fpga_insn in;
        if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) || in.op != FAB_I_BFLY) continue;
        if (in.f[FAB_F_BE_LOGN] == 7 && !fc2_first) fc2_first = i + 1;
        if (in.f[FAB_F_BE_LOGN] == 6) fc1_last = i + 1;
      }
      CHECK(k || (fc2_first && fc2_first < fc1_last), "%s: fc2's first butterfly at %zu, fc1's last at %zu",
            cases[k], fc2_first, fc1_last);
      CHECK(same_tensors(o[0], o[1]), "%s: fc1 and fc2 wave by wave change the outputs", cases[k]);
    }
    fab_fpga_program_free(p);
    fab_fpga_program_free(q);
    fab_tset_free(o[0]);
    fab_tset_free(o[1]);
  }
}

/* ---- a hand-written program ------------------------------------------------------------ */

enum { ROWS = 3, M = 5, LP = 3, W = 6, X = 0, RES = 64, PARAM = 128, Y = 192, MEM = 256 };

static fab_fpga_insn ewb(fab_fpga_opcode op, int fn, uint64_t len, uint64_t ext, uint64_t stride) {
  fab_fpga_insn in = fab_fpga_insn_make(op);
  FAB_SET(&in, EWB_FN, fn);
  FAB_SET(&in, EWB_NE, 2);
  FAB_SET(&in, EWB_LP, LP);
  FAB_SET(&in, EWB_LEN, len);
  FAB_SET(&in, EWB_ROWS, ROWS);
  FAB_SET(&in, EWB_EXT, ext);
  FAB_SET(&in, EWB_STRIDE, stride);
  return in;
}

static fab_fpga_insn wbp(uint64_t pb, uint64_t gb) {
  fab_fpga_insn in = fab_fpga_insn_make(FAB_I_WBP);
  FAB_SET(&in, WBP_PB, pb);
  FAB_SET(&in, WBP_GB, gb);
  FAB_SET(&in, WBP_RES, RES);
  FAB_SET(&in, WBP_RSTR, W);
  FAB_SET(&in, WBP_EPS, fab_fpga_f32_bits(1e-5f));
  return in;
}

/* x[ROWS, M] -> engine rows of pitch 8 (zero filled) -> stp fn of the
 * first W elements into y[ROWS, W], with bias / gamma / beta in "p". */
static fab_fpga_program *wb_program(const fab_fpga_config *c, int fn, fab_fpga_insn pw) {
  fab_fpga_program *p = fab_fpga_program_new(c);
  int64_t xd[2] = {ROWS, M}, rd[2] = {ROWS, W}, pd[1] = {3 * W};
  fab_fpga_program_add_tensor(p, "x", FAB_FT_INPUT, FAB_FD_F32, 2, xd, X);
  fab_fpga_program_add_tensor(p, "r", FAB_FT_INPUT, FAB_FD_F32, 2, rd, RES);
  fab_fpga_program_add_tensor(p, "p", FAB_FT_WEIGHT, FAB_FD_F32, 1, pd, PARAM);
  fab_fpga_program_add_tensor(p, "y", FAB_FT_OUTPUT, FAB_FD_F32, 2, rd, Y);
  p->mem_words = MEM;
  fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_PB, PARAM, 3 * W, 1, 3 * W, 0, 0);
  fab_fpga_program_push(p, &in);
  in = ewb(FAB_I_LDP, 0, M, X, M);
  in.sig = 1u << FAB_Q_ST;
  fab_fpga_program_push(p, &in);
  fab_fpga_program_push(p, &pw);
  in = ewb(FAB_I_STP, fn, W, Y, W);
  in.wait = 1u << FAB_Q_LD;
  fab_fpga_program_push(p, &in);
  return p;
}

static float gelu_ref(float v) { return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f)); }

static void test_semantics(void) {
  fab_fpga_config c = test_config("small");
  c.fp16 = 0;
  const int fns[] = {FAB_WB_NONE, FAB_WB_BIAS, FAB_WB_BGELU, FAB_WB_BRLN, FAB_WB_RLN};
  for (int k = 0; k < 5; k++) {
    int fn = fns[k];
    fab_fpga_program *p = wb_program(&c, fn, wbp(0, W));
    fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *os = fab_tset_new();
    int64_t xd[2] = {ROWS, M}, rd[2] = {ROWS, W}, pd[1] = {3 * W};
    fab_tensor *x = fab_tset_add(is, "x", FAB_DT_F32, 2, xd), *r = fab_tset_add(is, "r", FAB_DT_F32, 2, rd);
    fab_tensor *pp = fab_tset_add(ws, "p", FAB_DT_F32, 1, pd);
    fill_normal(x, 3);
    fill_normal(r, 4);
    fill_normal(pp, 5);
    char err[256];
    fab_status st = fab_fpga_sim_run(p, &c, ws, is, os, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_OK, "write-back %s: %s", fab_fpga_wbfn_names[fn], err);
    const fab_tensor *y = fab_tset_find(os, "y");
    const float *xv = x->data, *rv = r->data, *pv = pp->data;
    double worst = 0;
    for (int i = 0; i < ROWS && y; i++) {
      float v[W];
      for (int j = 0; j < W; j++) {
        v[j] = j < M ? xv[i * M + j] : 0; /* zero fill beyond the M loaded */
        if (fn != FAB_WB_NONE && fn != FAB_WB_RLN) v[j] += pv[j];
        if (fn == FAB_WB_BGELU) v[j] = gelu_ref(v[j]);
        if (fab_fpga_wbfn_residual[fn]) v[j] += rv[i * W + j];
      }
      if (fab_fpga_wbfn_residual[fn]) {
        double mean = 0, var = 0;
        for (int j = 0; j < W; j++) mean += v[j] / W;
        for (int j = 0; j < W; j++) var += (v[j] - mean) * (v[j] - mean) / W;
        for (int j = 0; j < W; j++) v[j] = (float)((v[j] - mean) / sqrt(var + 1e-5) * pv[W + j] + pv[2 * W + j]);
      }
      for (int j = 0; j < W; j++) worst = fmax(worst, fabs(v[j] - ((const float *)y->data)[i * W + j]));
    }
    CHECK(y && worst < 1e-5, "write-back %s: max error %g against the reference", fab_fpga_wbfn_names[fn], worst);
    fab_tset_free(ws);
    fab_tset_free(is);
    fab_tset_free(os);
    fab_fpga_program_free(p);
  }
}

/* ---- errors ------------------------------------------------------------------------------ */

static void test_errors(void) {
  fab_fpga_config c = test_config("small");
  /* version 3: a file that says 2 is refused, naming the write-back */
  fpga_expect_version(wb_program(&c, FAB_WB_BIAS, wbp(0, W)), 3, "write-back");
  /* static checks */
  fab_fpga_program *p = wb_program(&c, FAB_WB_BIAS, wbp(0, W));
  fab_fpga_insn in = ewb(FAB_I_STP, FAB_WB_BIAS, 9, Y, 9); /* 9 > pitch 8 */
  fab_fpga_program_push(p, &in);
  fpga_expect_check(p, "exceeds the row pitch");
  p = wb_program(&c, FAB_WB_BIAS, wbp(0, W));
  in = ewb(FAB_I_LDP, FAB_WB_BIAS, M, X, M);
  fab_fpga_program_push(p, &in);
  fpga_expect_check(p, "fn is a store feature");
  fpga_expect_check(wb_program(&c, FAB_WB_BIAS, wbp(32767, W)), "outside the");
  p = wb_program(&c, FAB_WB_BIAS, wbp(0, W));
  in = ewb(FAB_I_STP, FAB_WB_BIAS, W, X, W); /* over the input x */
  fab_fpga_program_push(p, &in);
  fpga_expect_check(p, "overwrites weight/input 'x'");
  /* run time: parameters and residual from the registers */
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  int64_t xd[2] = {ROWS, M}, rd[2] = {ROWS, W}, pd[1] = {3 * W};
  fill_normal(fab_tset_add(is, "x", FAB_DT_F32, 2, xd), 1);
  fill_normal(fab_tset_add(is, "r", FAB_DT_F32, 2, rd), 2);
  fill_normal(fab_tset_add(ws, "p", FAB_DT_F32, 1, pd), 3);
  uint64_t pbw = (uint64_t)fab_fpga_pb_words(&c);
  char err[256];
  p = wb_program(&c, FAB_WB_BRLN, wbp(0, pbw - W));
  fab_status st = fab_fpga_sim_run(p, &c, ws, is, NULL, NULL, NULL, err, sizeof err);
  CHECK(st == FAB_E_RUNTIME && strstr(err, "parameters outside"), "stp parameters: %d (%s)", st, err);
  fab_fpga_program_free(p);
  fab_fpga_insn far = wbp(0, W);
  FAB_SET(&far, WBP_RES, MEM - 4);
  p = wb_program(&c, FAB_WB_RLN, far);
  st = fab_fpga_sim_run(p, &c, ws, is, NULL, NULL, NULL, err, sizeof err);
  CHECK(st == FAB_E_RUNTIME && strstr(err, "residual outside"), "stp residual: %d (%s)", st, err);
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
}

int main(void) {
  test_semantics();
  test_errors();
  test_same_outputs();
  test_fft_ln();
  test_ffn_pair();
  return g_fail ? 1 : 0;
}
