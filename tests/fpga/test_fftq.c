/* test_fftq.c — the engines' mixed-radix FFT (.fbin version 4): a
 * hand-written program (digit-reversing load, fft over the groups of 2^k,
 * fftq per odd radix) against a direct DFT in double, in fp32 and fp16;
 * the cycles of fftq; the version it needs; the static checks; and a
 * Fourier mix of 12 x 24 (both axes mixed radix) + residual + layer norm
 * compiled by the fpga pipeline: against the interpreter, and LN1 in the
 * last pass's write-back (fpga-absorb(fft-ln=1)) bit-identical to the PPU
 * path. */
#include <math.h>

#include "codegen.h"
#include "fpga_cases.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

enum { X = 0, Y = 1024, MEM = 4096 };

/* x[rows, n] (real) -> FFT along each row -> y[rows, n] complex: n = 2^k *
 * the product of radices, rows on ne engines. */
static fab_fpga_program *fft_program(const fab_fpga_config *c, uint64_t rows, uint64_t n, int k, const int *radix,
                                     int nq) {
  fab_fpga_program *p = fab_fpga_program_new(c);
  int64_t xd[2] = {(int64_t)rows, (int64_t)n}, yd[3] = {(int64_t)rows, (int64_t)n, 2};
  fab_fpga_program_add_tensor(p, "x", FAB_FT_INPUT, FAB_FD_F32, 2, xd, X);
  fab_fpga_program_add_tensor(p, "y", FAB_FT_OUTPUT, FAB_FD_F32, 3, yd, Y);
  p->mem_words = MEM;
  uint64_t ne = rows < 4 ? rows : 4, nrows = (rows + ne - 1) / ne, Q = n >> k;
  fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_BE, X, n, rows, n, 0, ne);
  FAB_SET(&in, DMA_BREV, 1);
  FAB_SET(&in, DMA_BANK, 0);
  in.sig = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  bool first = true;
  if (k) {
    in = fab_fpga_insn_make(FAB_I_FFT);
    FAB_SET(&in, BE_NE, ne);
    FAB_SET(&in, BE_LOGN, k);
    FAB_SET(&in, BE_NROWS, nrows * Q);
    FAB_SET(&in, BE_NST, k);
    FAB_SET(&in, BE_DIR, 1);
    FAB_SET(&in, BE_RIN, 1);
    in.wait = 1u << FAB_Q_LD;
    if (!nq) in.sig = 1u << FAB_Q_ST;
    fab_fpga_program_push(p, &in);
    first = false;
  }
  for (int i = 0; i < nq; i++) { /* stage i's size: 2^k q1 .. qi */
    uint64_t m = (uint64_t)1 << k;
    for (int t = 0; t <= i; t++) m *= (uint64_t)radix[t];
    in = fab_fpga_insn_make(FAB_I_FFTQ);
    FAB_SET(&in, BE_NE, ne);
    FAB_SET(&in, BE_NROWS, nrows);
    FAB_SET(&in, BE_RQ, radix[i]);
    FAB_SET(&in, BE_RM, m);
    FAB_SET(&in, BE_RN, n);
    FAB_SET(&in, BE_RIN, first);
    if (first) in.wait = 1u << FAB_Q_LD;
    first = false;
    if (i == nq - 1) in.sig = 1u << FAB_Q_ST;
    fab_fpga_program_push(p, &in);
  }
  in = dma(FAB_I_ST, FAB_BUF_BE, Y, n, rows, n, 0, ne);
  FAB_SET(&in, DMA_CPLX, 1);
  in.wait = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  return p;
}

/* max |y - DFT(x)| / max |DFT(x)| over every row. */
static double fft_error(const fab_fpga_config *c, uint64_t rows, uint64_t n, int k, const int *radix, int nq) {
  fab_fpga_program *p = fft_program(c, rows, n, k, radix, nq);
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *os = fab_tset_new();
  int64_t xd[2] = {(int64_t)rows, (int64_t)n};
  fab_tensor *x = fab_tset_add(is, "x", FAB_DT_F32, 2, xd);
  fill_normal(x, 7);
  char err[256];
  double worst = -1;
  if (fab_fpga_sim_run(p, c, ws, is, os, NULL, NULL, err, sizeof err)) {
    fprintf(stderr, "fftq n=%llu: %s\n", (unsigned long long)n, err);
  } else {
    const fab_tensor *y = fab_tset_find(os, "y");
    const float *xv = x->data, *yv = y ? y->data : NULL;
    double e = 0, mx = 1e-30;
    for (uint64_t r = 0; r < rows && yv; r++)
      for (uint64_t f = 0; f < n; f++) {
        double re = 0, im = 0;
        for (uint64_t j = 0; j < n; j++) {
          double a = -2 * M_PI * (double)((j * f) % n) / (double)n;
          re += xv[r * n + j] * cos(a);
          im += xv[r * n + j] * sin(a);
        }
        mx = fmax(mx, hypot(re, im));
        e = fmax(e, hypot(re - yv[2 * (r * n + f)], im - yv[2 * (r * n + f) + 1]));
      }
    worst = yv ? e / mx : -1;
  }
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(os);
  return worst;
}

static void test_semantics(void) {
  fab_fpga_config c = test_config("small");
  const int r3[] = {3}, r35[] = {3, 5}, r7[] = {7}, r33[] = {3, 3};
  struct {
    uint64_t n;
    int k;
    const int *radix;
    int nq;
  } cases[] = {{12, 2, r3, 1}, {96, 5, r3, 1}, {120, 3, r35, 2}, {7, 0, r7, 1}, {36, 2, r33, 2}, {16, 4, r3, 0}};
  for (int fp16 = 0; fp16 < 2; fp16++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      c.fp16 = fp16;
      double e = fft_error(&c, 5, cases[i].n, cases[i].k, cases[i].radix, cases[i].nq);
      /* fp16: every product and sum rounded, log n stages of 2^-11 */
      double bound = fp16 ? 1e-2 : 1e-5;
      printf("fftq n=%-4llu fp%d: max error %.3g of the largest |X|\n", (unsigned long long)cases[i].n,
             fp16 ? 16 : 32, e);
      CHECK(e >= 0 && e < bound, "fftq n=%llu fp%d: error %g (bound %g)", (unsigned long long)cases[i].n,
            fp16 ? 16 : 32, e, bound);
    }
}

static void test_checks(void) {
  fab_fpga_config c = test_config("small");
  const int r3[] = {3};
  /* cycles: n (q^2 - 1) / (2 q P_bu) per row, 8/3 radix-2 passes for q = 3 */
  fab_fpga_insn in = fab_fpga_insn_make(FAB_I_FFTQ);
  FAB_SET(&in, BE_NE, 1);
  FAB_SET(&in, BE_NROWS, 2);
  FAB_SET(&in, BE_RQ, 3);
  FAB_SET(&in, BE_RM, 768);
  FAB_SET(&in, BE_RN, 768);
  fab_fpga_config be = test_config("vcu128-be120");
  CHECK(fab_fpga_insn_cycles(&be, &in) == 2 * 256, "fftq 768: %llu cycles",
        (unsigned long long)fab_fpga_insn_cycles(&be, &in));
  /* version 4: a file that says 3 is refused, naming the mixed radix */
  fpga_expect_version(fft_program(&c, 2, 12, 2, r3, 1), 4, "mixed-radix");
  /* a radix-2 program stays version 1 */
  fab_fpga_program *p = fft_program(&c, 2, 16, 4, r3, 0);
  uint8_t *bin = NULL;
  size_t blen = 0;
  char err[256];
  CHECK(!fab_fpga_fbin_to_mem(p, &bin, &blen, err, sizeof err) && bin && bin[8] == 1, "radix 2: .fbin version 1");
  free(bin);
  fab_fpga_program_free(p);
  /* static checks: the radix, the stage size, fields of other formats, the digit reversal */
  const struct {
    int field;
    uint64_t value;
    const char *msg;
  } bad[] = {{FAB_F_BE_RQ, 4, "radix q=4"},        {FAB_F_BE_RQ, 17, "radix q=17"},
             {FAB_F_BE_RM, 8, "stage size m=8"},   {FAB_F_BE_RN, 18, "stage size m=12"},
             {FAB_F_BE_CB, 4, "must be 0"},        {FAB_F_BE_NROWS, 4000, "outside the"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    p = fft_program(&c, 2, 12, 2, r3, 1);
    fab_fpga_insn f;
    fab_fpga_decode(p->code + 2 * FAB_FPGA_INSN_BYTES, &f, NULL, 0); /* ld, fft, fftq, st */
    f.f[bad[i].field] = bad[i].value;
    uint8_t w[FAB_FPGA_INSN_BYTES];
    fab_fpga_encode(&f, w);
    memcpy(p->code + 2 * FAB_FPGA_INSN_BYTES, w, FAB_FPGA_INSN_BYTES);
    fpga_expect_check(p, bad[i].msg);
  }
  p = fft_program(&c, 2, 12, 2, r3, 1);
  fab_fpga_insn f;
  fab_fpga_decode(p->code + FAB_FPGA_INSN_BYTES, &f, NULL, 0);
  f.f[FAB_F_BE_RQ] = 3;
  uint8_t w[FAB_FPGA_INSN_BYTES];
  fab_fpga_encode(&f, w);
  memcpy(p->code + FAB_FPGA_INSN_BYTES, w, FAB_FPGA_INSN_BYTES);
  fpga_expect_check(p, "q, m and n are fftq fields");
  p = fft_program(&c, 2, 12, 2, r3, 1);
  fab_fpga_decode(p->code, &f, NULL, 0);
  f.f[FAB_F_DMA_LEN] = 34; /* 2 * 17: a prime above the engines' radices */
  fab_fpga_encode(&f, w);
  memcpy(p->code, w, FAB_FPGA_INSN_BYTES);
  fpga_expect_check(p, "digit reversal needs a row of 2^k times odd primes up to 15 (len=34)");
}

/* Mix + LN1 of [2, 12, 24] through the fpga pipeline with fpga-absorb's
 * fft-ln option; returns the program, the outputs in out, the worst error
 * against the interpreter in *err. */
static const char mix_ln[] = "module @m\n"
                             "param @g : f32[24] = ones\n"
                             "param @b : f32[24] = zeros\n"
                             "func @main {\n"
                             "  %0 = input {index = 0, name = \"x\"} : f32[2,12,24]\n"
                             "  %1 = weight {name = \"g\"} : f32[24]\n"
                             "  %2 = weight {name = \"b\"} : f32[24]\n"
                             "  %3 = fourier.mix %0 : f32[2,12,24]\n"
                             "  %4 = add.layernorm %3, %0, %1, %2 {eps = 1e-05} : f32[2,12,24]\n"
                             "  output %4 {index = 0, name = \"y\"}\n"
                             "}\n";

static fab_fpga_program *mix_ln_run(const fab_fpga_config *c, int fft_ln, fab_tensor_set *out, double *err) {
  fab_diag *d = fab_diag_new();
  fab_module *ref = fab_parse_module("mix_ln", mix_ln, sizeof mix_ln - 1, d);
  fab_module *m = fab_parse_module("mix_ln", mix_ln, sizeof mix_ln - 1, d);
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *ro = fab_tset_new();
  fab_fpga_program *p = NULL;
  char msg[256], pipe[64];
  fab_target_config tcfg = {.accel_config = c};
  snprintf(pipe, sizeof pipe, "fpga-absorb(wb=%d,fft-ln=%d),fpga-alloc", fft_ln, fft_ln);
  *err = -1;
  if (!ref || !m || !fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d) ||
      !fab_interp_run(ref, ws, is, ro, d) || !fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d) ||
      !fab_run_pipeline(m, pipe, NULL, d) || !(p = fab_fpga_codegen(m, c, d)))
    goto out;
  if (fab_fpga_sim_run(p, c, ws, is, out, NULL, NULL, msg, sizeof msg)) {
    fprintf(stderr, "mix_ln: %s\n", msg);
    goto out;
  }
  const fab_tensor *a = fab_tset_find(ro, "y"), *b = fab_tset_find(out, "y");
  if (a && b && a->nbytes == b->nbytes) {
    const float *x = a->data, *y = b->data;
    double mx = 1e-30, e = 0;
    for (int64_t k = 0; k < fab_tensor_numel(a); k++) {
      mx = fmax(mx, fabs(x[k]));
      e = fmax(e, fabs((double)x[k] - y[k]));
    }
    *err = e / mx;
  }
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(ro);
  if (ref) fab_module_free(ref);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return p;
}

static void test_mix_ln(void) {
  const char *configs[] = {"vcu128-be120", "vcu128-be40-fp32", "small"};
  for (int ci = 0; ci < 3; ci++) {
    fab_fpga_config c = test_config(configs[ci]);
    fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
    double e[2];
    fab_fpga_program *p = mix_ln_run(&c, 1, o[0], &e[0]), *q = mix_ln_run(&c, 0, o[1], &e[1]);
    double bound = c.fp16 ? 5e-2 : 1e-4;
    CHECK(p && q && e[0] >= 0 && e[0] < bound, "mix+ln on %s: error %g against the interpreter", configs[ci], e[0]);
    if (p && q) {
      CHECK(fpga_count_op(p, FAB_I_FFTQ) > 0 && fpga_count_op(q, FAB_I_FFTQ) > 0,
            "mix+ln on %s: fftq on both axes", configs[ci]);
      CHECK(fpga_count_op(p, FAB_I_STP) > 0 && fpga_count_op(q, FAB_I_STP) == 0, "mix+ln on %s: LN1 in the write-back",
            configs[ci]);
      CHECK(same_tensors(o[0], o[1]), "mix+ln on %s: LN1 in the write-back changes the outputs", configs[ci]);
      printf("mix+ln %-16s error %.3g (fp%d), fftq %zu, stp %zu\n", configs[ci], e[0], c.fp16 ? 16 : 32,
             fpga_count_op(p, FAB_I_FFTQ), fpga_count_op(p, FAB_I_STP));
    }
    fab_fpga_program_free(p);
    fab_fpga_program_free(q);
    fab_tset_free(o[0]);
    fab_tset_free(o[1]);
  }
}

int main(void) {
  test_semantics();
  test_checks();
  test_mix_ln();
  return g_fail ? 1 : 0;
}
