/* test_sim.c — hand-built programs through the simulator: butterfly, FFT,
 * matrix, attention and post-processing results against direct
 * computation; cycle counts against hand-computed values; fp16 rounding;
 * run-time faults (deadlock, bad token id, configuration mismatch). */
#include "fpga_test.h"

static fab_tensor_set *bfly_weights(int logn, uint64_t seed) {
  fab_tensor_set *w = fab_tset_new();
  int n = 1 << logn;
  int64_t td[6] = {1, 1, logn, n / 2, 2, 2};
  fill_normal(fab_tset_add(w, "tw", FAB_DT_F32, 6, td), seed);
  float *t = fab_tset_find(w, "tw")->data;
  for (int i = 0; i < 2 * n * logn; i++) t[i] *= 0.7f;
  return w;
}

static double check_bfly(const fab_fpga_config *c, int rows, int logn, fab_fpga_report *rep, double *maxrel) {
  int n = 1 << logn;
  fab_fpga_program *p = bfly_program(c, rows, logn);
  fab_tensor_set *w = bfly_weights(logn, 7), *in = fab_tset_new(), *out = fab_tset_new();
  int64_t xd[2] = {rows, n};
  fill_normal(fab_tset_add(in, "x", FAB_DT_F32, 2, xd), 8);
  char err[256];
  fab_status st = fab_fpga_sim_run(p, NULL, w, in, out, NULL, rep, err, sizeof err);
  CHECK(st == FAB_OK, "bfly sim: %s", err);
  double worst = 0, scale = 0;
  if (st == FAB_OK) {
    const float *x = fab_tset_find(in, "x")->data, *y = fab_tset_find(out, "y")->data;
    const float *tw = fab_tset_find(w, "tw")->data;
    double *ref = malloc(sizeof(double) * (size_t)n);
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < n; j++) ref[j] = x[r * n + j];
      ref_bfly(ref, tw, logn);
      for (int j = 0; j < n; j++) {
        worst = fmax(worst, fabs(ref[j] - y[r * n + j]));
        scale = fmax(scale, fabs(ref[j]));
      }
    }
    free(ref);
  }
  *maxrel = worst / (scale > 0 ? scale : 1);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_fpga_program_free(p);
  return worst;
}

static fab_fpga_program *small_vm_program(const fab_fpga_config *c, int nin, int nout) {
  fab_fpga_program *p = fab_fpga_program_new(c);
  p->mem_words = 8192;
  (void)nin;
  (void)nout;
  return p;
}

int main(void) {
  fab_fpga_config c = test_config("small");
  fab_fpga_report rep;
  double rel;
  /* one pass of length 64 on 4 rows (one per engine) */
  check_bfly(&c, 4, 6, &rep, &rel);
  CHECK(rel < 1e-5, "fp32 butterfly rel error %g", rel);
  /* hand-computed: CB load 6 x 128 x 32 bits / 256 = 96 on the coefficient channel, in parallel
   * with the BE load max(4*64*32/256, 64 serial) = 64 on the input channel; bfly 64/(2*4) * 6 = 48;
   * store 64: max(96, 64) + 48 + 64 = 208 */
  CHECK(rep.busy[FAB_Q_BE] == 48, "bfly cycles %llu, expected N/(2 P_bu) log2 N = 48", (unsigned long long)rep.busy[FAB_Q_BE]);
  CHECK(rep.total_cycles == 208, "total cycles %llu, expected 208", (unsigned long long)rep.total_cycles);
  CHECK(rep.bytes_coef == 6 * 128 * 4 && rep.bytes_in == 4 * 64 * 4 && rep.bytes_out == 4 * 64 * 4, "bytes");
  CHECK(fabs(rep.bu_util - 1.0) < 1e-12, "bu util %g", rep.bu_util);
  CHECK(rep.coef_busy == 96 && rep.busy[FAB_Q_LD] == 64, "load channels %llu / %llu", (unsigned long long)rep.coef_busy,
        (unsigned long long)rep.busy[FAB_Q_LD]);
  printf("bfly 4x64 on small: total %llu cycles (loads 96 || 64, bfly %llu, store 64), latency %.6f ms\n",
         (unsigned long long)rep.total_cycles, (unsigned long long)rep.busy[FAB_Q_BE], rep.latency_ms);
  /* the same program with a Chrome trace */
  {
    fab_fpga_program *p = bfly_program(&c, 4, 6);
    fab_tensor_set *w = bfly_weights(6, 7), *in = fab_tset_new();
    int64_t xd[2] = {4, 64};
    fill_normal(fab_tset_add(in, "x", FAB_DT_F32, 2, xd), 8);
    fab_fpga_sim_opts o = {.trace_path = "fpga_test_trace.json"};
    char err[256];
    CHECK(fab_fpga_sim_run(p, NULL, w, in, NULL, &o, NULL, err, sizeof err) == FAB_OK, "trace run: %s", err);
    FILE *f = fopen("fpga_test_trace.json", "r");
    char buf[8192] = {0};
    size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    CHECK(got > 0 && strstr(buf, "\"traceEvents\"") && strstr(buf, "\"name\":\"bfly\"") && strstr(buf, "DMA load"),
          "trace content");
    remove("fpga_test_trace.json");
    fab_tset_free(w);
    fab_tset_free(in);
    fab_fpga_program_free(p);
  }
  /* the file-level entry point (fabc sim) */
  {
    fab_fpga_program *p = bfly_program(&c, 4, 6);
    fab_tensor_set *w = bfly_weights(6, 7), *in = fab_tset_new();
    int64_t xd[2] = {4, 64};
    fill_normal(fab_tset_add(in, "x", FAB_DT_F32, 2, xd), 8);
    char err[256], cfgpath[512];
    CHECK(fab_fpga_fbin_write("fpga_test.fbin", p, err, sizeof err) == FAB_OK, "%s", err);
    CHECK(fab_safetensors_write("fpga_test_w.safetensors", w, err, sizeof err) == FAB_OK, "%s", err);
    CHECK(fab_safetensors_write("fpga_test_x.safetensors", in, err, sizeof err) == FAB_OK, "%s", err);
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/small.json", FAB_ROOT);
    FILE *devnull = fopen("/dev/null", "w");
    fab_status st = fab_fpga_sim_files("fpga_test.fbin", cfgpath, "fpga_test_w.safetensors", "fpga_test_x.safetensors",
                                       "fpga_test_y.safetensors", NULL, devnull, err, sizeof err);
    CHECK(st == FAB_OK, "sim_files: %s", err);
    fab_tensor_set *ys = NULL;
    CHECK(fab_safetensors_read("fpga_test_y.safetensors", &ys, err, sizeof err) == FAB_OK && fab_tset_find(ys, "y"),
          "outputs written");
    fab_tset_free(ys);
    snprintf(cfgpath, sizeof cfgpath, "%s/configs/vcu128-be40.json", FAB_ROOT);
    st = fab_fpga_sim_files("fpga_test.fbin", cfgpath, "fpga_test_w.safetensors", "fpga_test_x.safetensors", NULL,
                            NULL, NULL, err, sizeof err);
    CHECK(st == FAB_E_VERSION, "configuration mismatch through files: %s", err);
    if (devnull) fclose(devnull);
    remove("fpga_test.fbin");
    remove("fpga_test_w.safetensors");
    remove("fpga_test_x.safetensors");
    remove("fpga_test_y.safetensors");
    fab_tset_free(w);
    fab_tset_free(in);
    fab_fpga_program_free(p);
  }
  /* config validation names the field */
  {
    char err[256];
    fab_fpga_config k;
    const char *bad = "{\"name\":\"x\",\"device\":\"generic\",\"clock_mhz\":200,\"p_be\":4,\"p_bu\":3,"
                      "\"be_rams\":6,\"be_depth\":64,\"cb_depth\":16384,\"att_mults\":64,\"exp_units\":8,"
                      "\"ppu_lanes\":16,\"vm_words\":65536,\"bw_in\":256,\"bw_coef\":256,\"bw_out\":256,"
                      "\"format\":\"fp32\",\"efficiency\":0.85}";
    CHECK(fab_fpga_config_parse(bad, strlen(bad), "bad.json", &k, err, sizeof err) != FAB_OK && strstr(err, "'p_bu'"),
          "p_bu power of two: %s", err);
    CHECK(fab_fpga_config_parse("{\"p_be\": 4}", 11, "b.json", &k, err, sizeof err) != FAB_OK && strstr(err, "missing"),
          "missing field: %s", err);
    const char *cfgs[] = {"vcu128-be40", "vcu128-be120", "zynq7045-be20", "small"};
    for (int i = 0; i < 4; i++) test_config(cfgs[i]);
  }
  /* a cycle budget stops a long program with a message */
  {
    fab_fpga_program *p = bfly_program(&c, 4, 6);
    fab_tensor_set *w = bfly_weights(6, 7), *in = fab_tset_new();
    int64_t xd[2] = {4, 64};
    fill_normal(fab_tset_add(in, "x", FAB_DT_F32, 2, xd), 8);
    fab_fpga_sim_opts o = {.max_cycles = 100};
    char err[256];
    CHECK(fab_fpga_sim_run(p, NULL, w, in, NULL, &o, NULL, err, sizeof err) == FAB_E_LIMIT && strstr(err, "budget"),
          "budget: %s", err);
    fab_tset_free(w);
    fab_tset_free(in);
    fab_fpga_program_free(p);
  }
  /* 8 rows on 4 engines: two rows per engine in one instruction; length 256 */
  check_bfly(&c, 8, 8, &rep, &rel);
  CHECK(rel < 1e-5, "fp32 butterfly (256) rel error %g", rel);
  CHECK(rep.busy[FAB_Q_BE] == 2 * 256 / 8 * 8, "bfly 256 cycles %llu", (unsigned long long)rep.busy[FAB_Q_BE]);
  /* fp16 datapath: error bounded by ~ log2(n) * 2^-10 relative growth */
  fab_fpga_config h = c;
  h.fp16 = 1;
  check_bfly(&h, 4, 6, &rep, &rel);
  CHECK(rel < 6 * 3 * 9.8e-4 && rel > 0, "fp16 butterfly rel error %g", rel);
  printf("fp16 butterfly n=64: max error / max |y| = %.3g\n", rel);
  /* fp16 rounding */
  CHECK(fab_fpga_round_f16(1.0f + 1.0f / 2048) == 1.0f, "tie to even");
  CHECK(fab_fpga_round_f16(1.0f + 3.0f / 2048) == 1.0f + 4.0f / 2048, "tie to even up");
  CHECK(fab_fpga_round_f16(65519.0f) == 65504.0f, "max");
  CHECK(isinf(fab_fpga_round_f16(65520.0f)), "overflow");
  CHECK(fab_fpga_round_f16(ldexpf(1, -25)) == 0.0f, "subnormal tie");
  CHECK(fab_fpga_round_f16(ldexpf(3, -25)) == ldexpf(1, -23), "subnormal up");

  /* FFT: real x[2, 16], bit-reversed by the load, 4 DIT stages, vs DFT */
  {
    fab_fpga_program *p = small_vm_program(&c, 0, 0);
    int64_t d[2] = {2, 16};
    fab_fpga_program_add_tensor(p, "x", FAB_FT_INPUT, FAB_FD_F32, 2, d, 0);
    fab_fpga_program_add_tensor(p, "y", FAB_FT_OUTPUT, FAB_FD_C64, 2, d, 64);
    fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_BE, 0, 16, 2, 16, 0, 2);
    FAB_SET(&in, DMA_BREV, 1);
    in.sig = 1u << FAB_Q_BE;
    fab_fpga_program_push(p, &in);
    in = fab_fpga_insn_make(FAB_I_FFT);
    FAB_SET(&in, BE_NE, 2);
    FAB_SET(&in, BE_LOGN, 4);
    FAB_SET(&in, BE_NROWS, 1);
    FAB_SET(&in, BE_NST, 4);
    FAB_SET(&in, BE_DIR, 1);
    FAB_SET(&in, BE_RIN, 1);
    in.wait = 1u << FAB_Q_LD;
    in.sig = 1u << FAB_Q_ST;
    fab_fpga_program_push(p, &in);
    in = dma(FAB_I_ST, FAB_BUF_BE, 64, 16, 2, 16, 0, 2);
    FAB_SET(&in, DMA_CPLX, 1);
    in.wait = 1u << FAB_Q_BE;
    fab_fpga_program_push(p, &in);
    fab_tensor_set *is = fab_tset_new(), *os = fab_tset_new();
    fab_tensor *x = fab_tset_add(is, "x", FAB_DT_F32, 2, d);
    fill_normal(x, 3);
    char err[256];
    fab_status st = fab_fpga_sim_run(p, NULL, NULL, is, os, NULL, &rep, err, sizeof err);
    CHECK(st == FAB_OK, "fft: %s", err);
    fab_tensor *y = fab_tset_find(os, "y");
    CHECK(y && y->rank == 3 && y->dims[2] == 2, "c64 output is f32 [.., 2]");
    if (y) {
      const float *xv = x->data, *yv = y->data;
      double worst = 0;
      for (int r = 0; r < 2; r++)
        for (int k = 0; k < 16; k++) {
          double re = 0, im = 0;
          for (int j = 0; j < 16; j++) {
            re += xv[r * 16 + j] * cos(-2 * M_PI * j * k / 16);
            im += xv[r * 16 + j] * sin(-2 * M_PI * j * k / 16);
          }
          worst = fmax(worst, fabs(re - yv[(r * 16 + k) * 2]) + fabs(im - yv[(r * 16 + k) * 2 + 1]));
        }
      CHECK(worst < 1e-4, "fft error %g", worst);
    }
    CHECK(rep.busy[FAB_Q_BE] == 16 / 8 * 4, "fft cycles %llu", (unsigned long long)rep.busy[FAB_Q_BE]);
    /* configuration mismatch */
    fab_fpga_config other = c;
    other.p_be = 8;
    snprintf(other.name, sizeof other.name, "other");
    st = fab_fpga_sim_run(p, &other, NULL, is, NULL, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_E_VERSION && strstr(err, "differs"), "config mismatch: %s", err);
    /* missing input */
    st = fab_fpga_sim_run(p, NULL, NULL, os, NULL, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_E_MISSING && strstr(err, "'x'"), "missing input: %s", err);
    /* deadlock: the FFT waits for a token the load never pushes */
    fab_fpga_insn ld;
    fab_fpga_decode(p->code, &ld, NULL, 0);
    ld.sig = 0;
    fab_fpga_encode(&ld, p->code);
    st = fab_fpga_sim_run(p, NULL, NULL, is, NULL, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_E_RUNTIME && strstr(err, "deadlock"), "deadlock: %s", err);
    printf("deadlock message: %s\n", err);
    fab_fpga_program_free(p);
    fab_tset_free(is);
    fab_tset_free(os);
  }
  /* VM units: gather, mm, attention, layernorm, softmax against direct math */
  {
    fab_fpga_program *p = small_vm_program(&c, 0, 0);
    int64_t ed[2] = {10, 8}, idd[1] = {4}, od[2] = {4, 8};
    fab_fpga_program_add_tensor(p, "emb", FAB_FT_WEIGHT, FAB_FD_F32, 2, ed, 0);
    fab_fpga_program_add_tensor(p, "ids", FAB_FT_INPUT, FAB_FD_I32, 1, idd, 80);
    fab_fpga_program_add_tensor(p, "o", FAB_FT_OUTPUT, FAB_FD_F32, 2, od, 100);
    fab_fpga_program_add_tensor(p, "a", FAB_FT_OUTPUT, FAB_FD_F32, 2, od, 200);
    fab_fpga_insn in = fab_fpga_insn_make(FAB_I_GATHER);
    FAB_SET(&in, GATH_D, 8);
    FAB_SET(&in, GATH_COUNT, 4);
    FAB_SET(&in, GATH_IDS, 80);
    FAB_SET(&in, GATH_TABLE, 0);
    FAB_SET(&in, GATH_ADDR, 0);
    fab_fpga_program_push(p, &in);
    /* Q = K = V = the 4 gathered rows: copy rows to 32 and 64 with mm by I? use attention
     * on q=k=v block laid out by three gathers instead */
    in.sig = 0;
    FAB_SET(&in, GATH_ADDR, 32);
    fab_fpga_program_push(p, &in);
    FAB_SET(&in, GATH_ADDR, 64);
    in.sig = 1u << FAB_Q_ATT;
    fab_fpga_program_push(p, &in);
    in = fab_fpga_insn_make(FAB_I_ATTN);
    FAB_SET(&in, ATTN_Q, 0);
    FAB_SET(&in, ATTN_O, 200);
    FAB_SET(&in, ATTN_S, 4);
    FAB_SET(&in, ATTN_T, 4);
    FAB_SET(&in, ATTN_DH, 8);
    FAB_SET(&in, ATTN_SCALE, fab_fpga_f32_bits(0.35f));
    in.wait = 1u << FAB_Q_LD;
    in.sig = 1u << FAB_Q_PPU;
    fab_fpga_program_push(p, &in);
    /* wait for the second ld token too (two tokens pushed) */
    in = fab_fpga_insn_make(FAB_I_PPU);
    FAB_SET(&in, PPU_FN, FAB_PPU_SOFTMAX);
    FAB_SET(&in, PPU_ROWS, 4);
    FAB_SET(&in, PPU_LEN, 8);
    FAB_SET(&in, PPU_A, 0);
    FAB_SET(&in, PPU_PARAM, fab_fpga_f32_bits(1.0f));
    in.wait = 1u << FAB_Q_ATT;
    in.sig = 1u << FAB_Q_ST;
    fab_fpga_program_push(p, &in);
    in = dma(FAB_I_ST, FAB_BUF_VM, 100, 8, 4, 8, 0, 0);
    in.wait = 1u << FAB_Q_PPU;
    fab_fpga_program_push(p, &in);
    in = dma(FAB_I_ST, FAB_BUF_VM, 200, 8, 4, 8, 200, 0);
    fab_fpga_program_push(p, &in);
    fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *os = fab_tset_new();
    fill_normal(fab_tset_add(ws, "emb", FAB_DT_F32, 2, ed), 5);
    int32_t *ids = fab_tset_add(is, "ids", FAB_DT_I32, 1, idd)->data;
    ids[0] = 3, ids[1] = 0, ids[2] = 9, ids[3] = 3;
    char err[256];
    fab_status st = fab_fpga_sim_run(p, NULL, ws, is, os, NULL, &rep, err, sizeof err);
    CHECK(st == FAB_OK, "vm program: %s", err);
    if (st == FAB_OK) {
      const float *E = fab_tset_find(ws, "emb")->data, *O = fab_tset_find(os, "o")->data,
                  *A = fab_tset_find(os, "a")->data;
      double worst = 0;
      for (int i = 0; i < 4; i++) {
        double mx = -1e30, sum = 0, sc[4];
        for (int j = 0; j < 4; j++) {
          double dot = 0;
          for (int k = 0; k < 8; k++) dot += E[ids[i] * 8 + k] * E[ids[j] * 8 + k];
          sc[j] = 0.35f * dot;
          mx = fmax(mx, sc[j]);
        }
        for (int j = 0; j < 4; j++) sum += (sc[j] = exp(sc[j] - mx));
        for (int k = 0; k < 8; k++) {
          double o = 0;
          for (int j = 0; j < 4; j++) o += sc[j] / sum * E[ids[j] * 8 + k];
          worst = fmax(worst, fabs(o - A[i * 8 + k]));
        }
        double m2 = -1e30, s2 = 0;
        for (int k = 0; k < 8; k++) m2 = fmax(m2, E[ids[i] * 8 + k]);
        for (int k = 0; k < 8; k++) s2 += exp(E[ids[i] * 8 + k] - m2);
        for (int k = 0; k < 8; k++) worst = fmax(worst, fabs(exp(E[ids[i] * 8 + k] - m2) / s2 - O[i * 8 + k]));
      }
      CHECK(worst < 1e-5, "attention/softmax error %g", worst);
    }
    ids[2] = 10;
    st = fab_fpga_sim_run(p, NULL, ws, is, NULL, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_E_RUNTIME && strstr(err, "outside [0, 10)"), "bad id: %s", err);
    fab_tset_free(ws);
    fab_tset_free(is);
    fab_tset_free(os);
    fab_fpga_program_free(p);
  }
  /* Key-blocked attention: attns on keys 0..5 and attnm on keys 6..9 give
   * what attn gives over all 10; the att queue's cycles are the hand sums
   * attn 8 + 4, attns 5 + 3, attnm 3 + 2 + rescale 1 + 1 (att_mults 64,
   * exp_units 8); state past the end of the VM is refused at load. */
  {
    fab_fpga_program *p = small_vm_program(&c, 0, 0);
    p->mem_words = 256;
    int64_t qd[2] = {3, 8}, kd[2] = {10, 8};
    fab_fpga_program_add_tensor(p, "q", FAB_FT_INPUT, FAB_FD_F32, 2, qd, 0);
    fab_fpga_program_add_tensor(p, "k", FAB_FT_INPUT, FAB_FD_F32, 2, kd, 24);
    fab_fpga_program_add_tensor(p, "v", FAB_FT_INPUT, FAB_FD_F32, 2, kd, 104);
    fab_fpga_program_add_tensor(p, "whole", FAB_FT_OUTPUT, FAB_FD_F32, 2, qd, 184);
    fab_fpga_program_add_tensor(p, "blocked", FAB_FT_OUTPUT, FAB_FD_F32, 2, qd, 208);
    /* {ext, rows, vm}: the whole layout Q K V at 0, slot A at 1000, slot B at 2000 */
    const uint64_t lds[][3] = {{0, 3, 0},     {24, 10, 24},   {104, 10, 104}, {0, 3, 1000}, {24, 6, 1024},
                               {104, 6, 1072}, {0, 3, 2000}, {72, 4, 2024},  {152, 4, 2056}};
    for (int i = 0; i < 9; i++) {
      fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_VM, lds[i][0], 8, lds[i][1], 8, lds[i][2], 0);
      if (i == 8) in.sig = 1u << FAB_Q_ATT;
      fab_fpga_program_push(p, &in);
    }
    const struct { fab_fpga_opcode op; uint64_t q, o, t; } at[3] = {
        {FAB_I_ATTN, 0, 200, 10}, {FAB_I_ATTNS, 1000, 3000, 6}, {FAB_I_ATTNM, 2000, 3000, 4}};
    for (int i = 0; i < 3; i++) {
      fab_fpga_insn in = fab_fpga_insn_make(at[i].op);
      FAB_SET(&in, ATTN_Q, at[i].q);
      FAB_SET(&in, ATTN_O, at[i].o);
      FAB_SET(&in, ATTN_S, 3);
      FAB_SET(&in, ATTN_T, at[i].t);
      FAB_SET(&in, ATTN_DH, 8);
      FAB_SET(&in, ATTN_SCALE, fab_fpga_f32_bits(0.4f));
      if (i == 0) in.wait = 1u << FAB_Q_LD;
      if (i == 2) in.sig = 1u << FAB_Q_ST;
      fab_fpga_program_push(p, &in);
    }
    fab_fpga_insn in = dma(FAB_I_ST, FAB_BUF_VM, 184, 8, 3, 8, 200, 0);
    in.wait = 1u << FAB_Q_ATT;
    fab_fpga_program_push(p, &in);
    in = dma(FAB_I_ST, FAB_BUF_VM, 208, 8, 3, 8, 3000, 0);
    fab_fpga_program_push(p, &in);
    fab_tensor_set *is = fab_tset_new(), *os = fab_tset_new();
    fill_normal(fab_tset_add(is, "q", FAB_DT_F32, 2, qd), 21);
    fill_normal(fab_tset_add(is, "k", FAB_DT_F32, 2, kd), 22);
    fill_normal(fab_tset_add(is, "v", FAB_DT_F32, 2, kd), 23);
    char err[256];
    fab_status st = fab_fpga_sim_run(p, NULL, NULL, is, os, NULL, &rep, err, sizeof err);
    CHECK(st == FAB_OK, "blocked attention: %s", err);
    if (st == FAB_OK) {
      const float *W = fab_tset_find(os, "whole")->data, *B = fab_tset_find(os, "blocked")->data;
      double worst = 0;
      for (int i = 0; i < 24; i++) worst = fmax(worst, fabs((double)W[i] - B[i]));
      CHECK(worst < 1e-6, "attns + attnm differ from attn by %g", worst);
      CHECK(rep.busy[FAB_Q_ATT] == 27, "att busy %llu cycles, expected 12 + 8 + 7",
            (unsigned long long)rep.busy[FAB_Q_ATT]);
      printf("blocked attention: max |attn - attns/attnm| %.3g, att busy %llu cycles\n", worst,
             (unsigned long long)rep.busy[FAB_Q_ATT]);
    }
    /* the same O with its 6 state words pushed past the VM's last word */
    fab_fpga_insn bad;
    fab_fpga_decode(p->code + 10 * FAB_FPGA_INSN_BYTES, &bad, NULL, 0);
    FAB_SET(&bad, ATTN_O, c.vm_words - 24 - 5);
    fab_fpga_encode(&bad, p->code + 10 * FAB_FPGA_INSN_BYTES);
    st = fab_fpga_program_check(p, err, sizeof err);
    CHECK(st != FAB_OK && strstr(err, "outside the vector memory"), "attnm state past the VM: %s", err);
    bad.op = FAB_I_ATTN; /* without state the same O fits */
    fab_fpga_encode(&bad, p->code + 10 * FAB_FPGA_INSN_BYTES);
    st = fab_fpga_program_check(p, err, sizeof err);
    CHECK(st == FAB_OK, "attn at the end of the VM: %s", err);
    fab_tset_free(is);
    fab_tset_free(os);
    fab_fpga_program_free(p);
  }
  printf("sim: %s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
