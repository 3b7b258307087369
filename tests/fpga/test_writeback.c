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
 *   bfly os (version 6, an out-of-place first stage, what fc1 of the pair
 *     uses): the results of copying the rows and running in place, the
 *     source untouched, the same cycles; the static checks;
 *   stp keep (version 6): the results left in the bank as a load of them
 *     would, the serial write port shared with loads; the pair's first
 *     fc1 wave reading LN1's kept results (p_be = 16);
 *   a streaming store of bank-filling rows (a butterfly of one bank's
 *     length, bias only, more than two waves): its column chunks inside
 *     the bank (each at the pitch of its own columns), the outputs those
 *     of the post-processing unit, full rows and truncated (pad + slice);
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
  /* one BU per engine (fc1's bias + GELU store keeps up with a stack's
   * compute): fc1 loads each wave once and its first stack reads it out of
   * place (bfly os, codegen_be.c fc1_wave); the outputs stay the same */
  fab_fpga_config c1 = test_config("small");
  c1.fp16 = 1;
  c1.p_bu = 1, c1.be_rams = 2;
  /* 16 engines, LN1 in the Fourier mix's store (fft-ln=1): its results
   * stay in bank A (stp keep) and fc1's first wave reads them there */
  fab_fpga_config c2 = c;
  c2.p_be = 16;
  const fab_fpga_config *cfgs[] = {&c, &c1, &c2};
  const char *cases[] = {"fbfly_post", "fabnet_small_post"};
  for (int ck = 0; ck < 6; ck++) {
    int k = ck % 2;
    const fab_fpga_config *cc = cfgs[ck / 2];
    fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
    fab_fpga_report r[2];
    fab_fpga_program *p = compile_run(cases[k], ck < 4 ? "fpga-absorb(wb=1),fpga-alloc" : "fpga-absorb(wb=1,fft-ln=1),fpga-alloc", cc, o[0], &r[0]);
    fab_fpga_program *q = compile_run(cases[k], "fpga-absorb(wb=0),fpga-alloc", cc, o[1], &r[1]);
    CHECK(p && q, "%s: compiles with and without the write-back", cases[k]);
    if (p && q) {
      size_t fc2_first = 0, fc1_last = 0, fc1 = 0, fc1_os = 0, fc1_loads = 0, keeps = 0, fc1_kept = 0;
      for (size_t i = 0; i < p->ninsn; i++) {
        fab_fpga_insn in;
        if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0)) continue;
        if (in.op == FAB_I_LD && in.f[FAB_F_DMA_BUF] == FAB_BUF_BE && in.f[FAB_F_DMA_BANK] == 1 &&
            in.f[FAB_F_DMA_LEN] == 64)
          fc1_loads++;
        if (in.op == FAB_I_STP) keeps += in.f[FAB_F_EWB_KEEP];
        if (in.op != FAB_I_BFLY) continue;
        if (in.f[FAB_F_BE_LOGN] == 7 && !fc2_first) fc2_first = i + 1;
        if (in.f[FAB_F_BE_LOGN] == 6) fc1_last = i + 1, fc1++, fc1_os += in.f[FAB_F_BE_OS];
        if (in.f[FAB_F_BE_LOGN] == 6 && in.f[FAB_F_BE_OS] && in.f[FAB_F_BE_SB] == 0) fc1_kept++;
      }
      CHECK(k || ck >= 4 || (fc2_first && fc2_first < fc1_last), "%s: fc2's first butterfly at %zu, fc1's last at %zu",
            cases[k], fc2_first, fc1_last);
      CHECK(same_tensors(o[0], o[1]), "%s on %d BUs: fc1 and fc2 wave by wave change the outputs", cases[k],
            cc->p_bu);
      /* fbfly_post: 8 waves of 2 stacks (2 waves on 16 engines), 6 stages in one pass */
      if (!k && ck < 4)
        CHECK(ck < 2 ? fc1_os == 0 && fc1_loads == 16 : fc1_os == 8 && fc1 == 16 && fc1_loads == 8,
              "%s on %d BUs: %zu of fc1's %zu butterflies out of place, %zu loads into bank B", cases[k],
              cc->p_bu, fc1_os, fc1, fc1_loads);
      if (!k && ck >= 4)
        CHECK(keeps == 1 && fc1_kept == 2 && fc1_loads == 2, "%s on 16 engines: %zu stp keep, %zu fc1 butterflies "
              "from bank A, %zu loads into bank B", cases[k], keeps, fc1_kept, fc1_loads);
      CHECK(ck >= 4 || keeps == 0, "%s: %zu stp keep without the LN1 fold", cases[k], keeps);
      printf("%-20s %d x %d BUs: fc1 %zu bfly (%zu out of place, %zu from kept rows), %zu loads, %llu cycles\n",
             cases[k], cc->p_be, cc->p_bu, fc1, fc1_os, fc1_kept, fc1_loads, (unsigned long long)r[0].total_cycles);
    }
    fab_fpga_program_free(p);
    fab_fpga_program_free(q);
    fab_tset_free(o[0]);
    fab_tset_free(o[1]);
  }
}

/* A butterfly layer of rows `in` -> `out` elements on `rows` rows,
 * length n = the larger, rounded up to a power of two. */
static fab_module *bfly_layer(uint64_t rows, uint64_t in, uint64_t out, fab_diag *d) {
  uint64_t n = 1;
  int L = 0;
  while (n < in || n < out) n *= 2, L++;
  char text[1024];
  int len = snprintf(text, sizeof text,
                     "module @wide\n"
                     "param @\"b.twiddle\" : f32[1,1,%d,%llu,2,2] = normal(0, 0.7)\n"
                     "param @\"b.bias\" : f32[%llu] = uniform(-0.02, 0.02)\n"
                     "func @main {\n"
                     "  %%0 = input {index = 0, name = \"x\"} : f32[%llu,%llu]\n"
                     "  %%1 = weight {name = \"b.twiddle\"} : f32[1,1,%d,%llu,2,2]\n"
                     "  %%2 = weight {name = \"b.bias\"} : f32[%llu]\n"
                     "  %%3 = bfly.linear %%0, %%1, %%2 {in = %llu, increasing = 1, nblocks = 1, out = %llu} : "
                     "f32[%llu,%llu]\n"
                     "  output %%3 {index = 0, name = \"y\"}\n}\n",
                     L, (unsigned long long)n / 2, (unsigned long long)out, (unsigned long long)rows,
                     (unsigned long long)in, L, (unsigned long long)n / 2, (unsigned long long)out,
                     (unsigned long long)in, (unsigned long long)out, (unsigned long long)rows,
                     (unsigned long long)out);
  return fab_parse_module("wide.fir", text, (size_t)len, d);
}

/* A butterfly whose rows fill a bank (n = the bank's words), its bias
 * through the write-back lanes, over more than two waves: its tiles
 * store in FPGA_STREAM_CHUNKS column chunks (codegen_wb.c fpga_cg_stp).
 * At the rows' pitch every chunk after the first reached past the bank's
 * end, so the program failed its own check (fabgen's gen_large_2_0 on
 * vcu128-be40: "engine buffer overflow: 256 + 1 rows x 4096").  Each
 * chunk now takes its columns' pitch; the outputs are the
 * post-processing unit's bit for bit.  vcu128-be40 folds the bias by
 * default; small (512-word banks, 4 engines) with wb=1. */
enum { STREAM_CHUNKS = 4 }; /* codegen_internal.h FPGA_STREAM_CHUNKS */
static void test_streamed_store(void) {
  struct {
    const char *cfg, *wb;
    uint64_t rows, in, out;
  } cases[] = {{"vcu128-be40", NULL, 120, 4096, 4096}, {"vcu128-be40", NULL, 120, 3072, 1024},
               {"small", "fpga-absorb(wb=1),fpga-alloc", 16, 512, 512},
               {"small", "fpga-absorb(wb=1),fpga-alloc", 16, 384, 128}};
  for (int k = 0; k < 4; k++) {
    fab_fpga_config c = test_config(cases[k].cfg);
    uint64_t n = 1;
    while (n < cases[k].in) n *= 2;
    CHECK(n == (uint64_t)fab_fpga_bank_words(&c), "%s: rows of %llu do not fill a bank", cases[k].cfg,
          (unsigned long long)n);
    fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
    fab_diag *d[2] = {fab_diag_new(), fab_diag_new()};
    fab_module *m[2] = {bfly_layer(cases[k].rows, cases[k].in, cases[k].out, d[0]),
                        bfly_layer(cases[k].rows, cases[k].in, cases[k].out, d[1])};
    fab_fpga_program *p = fpga_module_run(m[0], d[0], "wide", NULL, NULL, cases[k].wb, &c, o[0], NULL);
    fab_fpga_program *q = fpga_module_run(m[1], d[1], "wide", NULL, NULL, "fpga-absorb(wb=0),fpga-alloc", &c, o[1], NULL);
    CHECK(p && q, "%s, %llu -> %llu: compiles with and without the write-back", cases[k].cfg,
          (unsigned long long)cases[k].in, (unsigned long long)cases[k].out);
    size_t chunks = 0;
    for (size_t i = 0; p && i < p->ninsn; i++) {
      fab_fpga_insn in;
      if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) || in.op != FAB_I_STP) continue;
      chunks += in.f[FAB_F_EWB_LEN] * STREAM_CHUNKS == cases[k].out;
    }
    CHECK(!p || chunks > 0, "%s, %llu -> %llu: no stp of a column chunk", cases[k].cfg,
          (unsigned long long)cases[k].in, (unsigned long long)cases[k].out);
    CHECK(!p || !q || same_tensors(o[0], o[1]), "%s, %llu -> %llu: the streamed stores change the outputs",
          cases[k].cfg, (unsigned long long)cases[k].in, (unsigned long long)cases[k].out);
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

/* stp keep (version 6): the results stay in the bank in place as a load
 * of the stored rows would bring them back (fp32 and fp16: a plain st of
 * the bank gives y's values, the zero fill beyond them untouched); the
 * keeping stp and a load into the engines take the serial write port one
 * at a time (without keep the load overlaps the stp); static checks. */
enum { KZ = 224 };

static void test_keep(void) {
  for (int fp16 = 0; fp16 < 2; fp16++) {
    fab_fpga_config c = test_config("small");
    c.fp16 = fp16;
    fab_fpga_program *p = wb_program(&c, FAB_WB_BRLN, wbp(0, W));
    fab_fpga_insn in;
    fab_fpga_decode(p->code + (p->ninsn - 1) * FAB_FPGA_INSN_BYTES, &in, NULL, 0);
    FAB_SET(&in, EWB_KEEP, 1);
    in.sig = 1u << FAB_Q_LD;
    fab_fpga_encode(&in, p->code + (p->ninsn - 1) * FAB_FPGA_INSN_BYTES);
    int64_t zd[2] = {ROWS, 1 << LP};
    fab_fpga_program_add_tensor(p, "z", FAB_FT_OUTPUT, FAB_FD_F32, 2, zd, KZ);
    in = dma(FAB_I_ST, FAB_BUF_BE, KZ, 1 << LP, ROWS, 1 << LP, 0, 2);
    fab_fpga_program_push(p, &in);
    fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *os = fab_tset_new();
    int64_t xd[2] = {ROWS, M}, rd[2] = {ROWS, W}, pd[1] = {3 * W};
    fill_normal(fab_tset_add(is, "x", FAB_DT_F32, 2, xd), 3);
    fill_normal(fab_tset_add(is, "r", FAB_DT_F32, 2, rd), 4);
    fill_normal(fab_tset_add(ws, "p", FAB_DT_F32, 1, pd), 5);
    char err[256] = "";
    fab_status st = fab_fpga_sim_run(p, &c, ws, is, os, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_OK, "stp keep: %s", err);
    const fab_tensor *y = fab_tset_find(os, "y"), *z = fab_tset_find(os, "z");
    bool same = y && z;
    for (int i = 0; same && i < ROWS; i++)
      for (int j = 0; j < (1 << LP); j++) {
        float zv = ((const float *)z->data)[i * (1 << LP) + j];
        same = same && (j < W ? zv == ((const float *)y->data)[i * W + j] : zv == 0);
      }
    CHECK(same, "stp keep (fp16 %d): the bank does not hold the stored results", fp16);
    if (!fp16) fpga_expect_version(p, 6, "kept in the banks");
    else fab_fpga_program_free(p);
    fab_tset_free(ws);
    fab_tset_free(is);
    fab_tset_free(os);
  }
  /* the serial write port: a load into the engines and a keeping stp do
   * not overlap */
  fab_fpga_config c = test_config("small");
  for (int keep = 0; keep < 2; keep++) {
    fab_fpga_program *p = wb_program(&c, FAB_WB_BIAS, wbp(0, W));
    fab_fpga_insn in;
    fab_fpga_decode(p->code + (p->ninsn - 1) * FAB_FPGA_INSN_BYTES, &in, NULL, 0);
    FAB_SET(&in, EWB_KEEP, keep);
    fab_fpga_encode(&in, p->code + (p->ninsn - 1) * FAB_FPGA_INSN_BYTES);
    in = dma(FAB_I_LD, FAB_BUF_BE, X, M, 2, M, 64, 2);
    fab_fpga_program_push(p, &in);
    uint64_t t0[8], t1[8];
    fab_fpga_sim_opts o = {.timing_only = true, .insn_start = t0, .insn_end = t1};
    char err[256] = "";
    CHECK(p->ninsn == 5 && !fab_fpga_sim_run(p, &c, NULL, NULL, NULL, &o, NULL, err, sizeof err), "port: %s", err);
    bool apart = t0[4] >= t1[3] || t0[3] >= t1[4];
    CHECK(apart == (keep == 1), "keep=%d: the load [%llu, %llu), the stp [%llu, %llu)", keep, (unsigned long long)t0[4],
          (unsigned long long)t1[4], (unsigned long long)t0[3], (unsigned long long)t1[3]);
    fab_fpga_program_free(p);
  }
  fab_fpga_program *p = wb_program(&c, FAB_WB_BIAS, wbp(0, W));
  fab_fpga_insn in = ewb(FAB_I_LDP, 0, M, X, M);
  FAB_SET(&in, EWB_KEEP, 1);
  fab_fpga_program_push(p, &in);
  fpga_expect_check(p, "keep is a store feature");
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

/* ---- bfly os: an out-of-place first stage (version 6) -------------------------------------- */

enum { OS_N = 16, OS_LOG = 4, OS_ROWS = 4, OS_SRC = 32, OS_X = 0, OS_TW = 64, OS_Y = 192, OS_Z = 256, OS_MEM = 320 };

/* x[4, 16] into bank A at `at` (one row per engine), 4 stages of the
 * coefficients tw, the results stored from bank A 0 into y and the rows
 * at OS_SRC into z; out of place (os): the load goes to OS_SRC and the
 * bfly reads it from there. */
static fab_fpga_program *os_program(const fab_fpga_config *c, bool os) {
  fab_fpga_program *p = fab_fpga_program_new(c);
  int64_t xd[2] = {OS_ROWS, OS_N}, td[1] = {4 * 2 * OS_N};
  fab_fpga_program_add_tensor(p, "x", FAB_FT_INPUT, FAB_FD_F32, 2, xd, OS_X);
  fab_fpga_program_add_tensor(p, "tw", FAB_FT_WEIGHT, FAB_FD_F32, 1, td, OS_TW);
  fab_fpga_program_add_tensor(p, "y", FAB_FT_OUTPUT, FAB_FD_F32, 2, xd, OS_Y);
  fab_fpga_program_add_tensor(p, "z", FAB_FT_OUTPUT, FAB_FD_F32, 2, xd, OS_Z);
  p->mem_words = OS_MEM;
  fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_BE, OS_X, OS_N, OS_ROWS, OS_N, os ? OS_SRC : 0, OS_ROWS);
  fab_fpga_program_push(p, &in);
  in = dma(FAB_I_LD, FAB_BUF_CB, OS_TW, 2 * OS_N, 4, 2 * OS_N, 0, 0);
  in.sig = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  in = fab_fpga_insn_make(FAB_I_BFLY);
  FAB_SET(&in, BE_NE, OS_ROWS);
  FAB_SET(&in, BE_LOGN, OS_LOG);
  FAB_SET(&in, BE_NROWS, 1);
  FAB_SET(&in, BE_LSTRIDE, OS_LOG - 1);
  FAB_SET(&in, BE_NST, 4);
  FAB_SET(&in, BE_OS, os);
  FAB_SET(&in, BE_SRC, os ? OS_SRC / 8 : 0);
  in.wait = 1u << FAB_Q_LD;
  in.sig = 1u << FAB_Q_ST;
  fab_fpga_program_push(p, &in);
  in = dma(FAB_I_ST, FAB_BUF_BE, OS_Y, OS_N, OS_ROWS, OS_N, 0, OS_ROWS);
  in.wait = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  in = dma(FAB_I_ST, FAB_BUF_BE, OS_Z, OS_N, OS_ROWS, OS_N, OS_SRC, OS_ROWS);
  fab_fpga_program_push(p, &in);
  return p;
}

/* The same results as copying the rows and running in place (bit for bit,
 * fp16 and fp32), the source left as loaded, the same cycles; version 6;
 * the static checks. */
static void test_out_of_place(void) {
  for (int fp16 = 0; fp16 < 2; fp16++) {
    fab_fpga_config c = test_config("small");
    c.fp16 = fp16;
    fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *o[2] = {fab_tset_new(), fab_tset_new()};
    int64_t xd[2] = {OS_ROWS, OS_N}, td[1] = {4 * 2 * OS_N};
    fill_normal(fab_tset_add(is, "x", FAB_DT_F32, 2, xd), 7);
    fill_normal(fab_tset_add(ws, "tw", FAB_DT_F32, 1, td), 8);
    fab_fpga_report r[2];
    for (int os = 0; os < 2; os++) {
      fab_fpga_program *p = os_program(&c, os);
      char err[256] = "";
      fab_status st = fab_fpga_sim_run(p, &c, ws, is, o[os], NULL, &r[os], err, sizeof err);
      CHECK(st == FAB_OK, "bfly os=%d: %s", os, err);
      fab_fpga_program_free(p);
    }
    const fab_tensor *y0 = fab_tset_find(o[0], "y"), *y1 = fab_tset_find(o[1], "y"), *z = fab_tset_find(o[1], "z");
    const fab_tensor *x = fab_tset_find(is, "x");
    CHECK(y0 && y1 && !memcmp(y0->data, y1->data, y0->nbytes), "bfly os (fp16 %d): results differ from in place", fp16);
    bool kept = z != NULL;
    for (int i = 0; kept && i < OS_ROWS * OS_N; i++) {
      float v = ((const float *)x->data)[i];
      kept = ((const float *)z->data)[i] == (fp16 ? fab_fpga_round_f16(v) : v);
    }
    CHECK(kept, "bfly os (fp16 %d): the source rows changed", fp16);
    CHECK(r[0].total_cycles == r[1].total_cycles && r[1].busy[FAB_Q_BE] == r[0].busy[FAB_Q_BE],
          "bfly os: %llu cycles, in place %llu", (unsigned long long)r[1].total_cycles,
          (unsigned long long)r[0].total_cycles);
    fab_tset_free(ws);
    fab_tset_free(is);
    fab_tset_free(o[0]);
    fab_tset_free(o[1]);
  }
  fab_fpga_config c = test_config("small");
  fpga_expect_version(os_program(&c, true), 6, "out-of-place");
  /* the static checks: overlap, outside the bank, os on fft, sb/src without os */
  const struct { uint64_t os, sb, src, op; const char *msg; } bad[] = {
      {1, 0, 1, FAB_I_BFLY, "overlap the rows written"},
      {1, 0, 511, FAB_I_BFLY, "outside the"},
      {1, 1, 0, FAB_I_FFT, "bfly feature"},
      {0, 1, 0, FAB_I_BFLY, "need os = 1"},
      {0, 0, 4, FAB_I_ZERO, "need os = 1"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    fab_fpga_program *p = os_program(&c, true);
    fab_fpga_insn in;
    fab_fpga_decode(p->code + 2 * FAB_FPGA_INSN_BYTES, &in, NULL, 0);
    in.op = (fab_fpga_opcode)bad[k].op;
    if (in.op != FAB_I_BFLY) FAB_SET(&in, BE_CB, 0);
    if (in.op == FAB_I_ZERO) FAB_SET(&in, BE_LSTRIDE, 0), FAB_SET(&in, BE_NST, 0), FAB_SET(&in, BE_BANK, 1);
    FAB_SET(&in, BE_OS, bad[k].os);
    FAB_SET(&in, BE_SB, bad[k].sb);
    FAB_SET(&in, BE_SRC, bad[k].src);
    fab_fpga_encode(&in, p->code + 2 * FAB_FPGA_INSN_BYTES);
    fpga_expect_check(p, bad[k].msg);
  }
}

int main(void) {
  test_out_of_place();
  test_keep();
  test_semantics();
  test_errors();
  test_same_outputs();
  test_fft_ln();
  test_ffn_pair();
  test_streamed_store();
  return g_fail ? 1 : 0;
}
