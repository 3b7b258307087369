/* test_perf.c — FABNet-shaped layers on the real configurations: the
 * simulator's report next to the authors' analytical model (fabnet.md §5).
 * Checks only sanity (the run succeeds, butterfly layers keep the BUs
 * busy); the printed numbers go into docs/fpga.md. */
#include "codegen.h"
#include "fpga_test.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

/* One post-LN FBfly block: x = LN(x + Re(FFT2(x))); x = LN(x + B2(GELU(B1(x)))). */
static char *fbfly_text(int s, int d, int h) {
  char *t = malloc(8192);
  int ld = 0, lh = 0;
  while ((1 << ld) < d) ld++;
  while ((1 << lh) < h) lh++;
  snprintf(t, 8192,
           "module @fbfly\n"
           "param @\"n1.w\" : f32[%d] = ones\nparam @\"n1.b\" : f32[%d] = zeros\n"
           "param @\"n2.w\" : f32[%d] = ones\nparam @\"n2.b\" : f32[%d] = zeros\n"
           "param @\"fc1.twiddle\" : f32[%d,1,%d,%d,2,2] = normal(0.0, 0.7071067811865475)\n"
           "param @\"fc1.bias\" : f32[%d] = zeros\n"
           "param @\"fc2.twiddle\" : f32[1,1,%d,%d,2,2] = normal(0.0, 0.7071067811865475)\n"
           "param @\"fc2.bias\" : f32[%d] = zeros\n"
           "func @main {\n"
           "  %%0 = input {index = 0, name = \"x\"} : f32[1,%d,%d]\n"
           "  %%1 = fourier.mix %%0 : f32[1,%d,%d]\n"
           "  %%2 = add %%0, %%1 : f32[1,%d,%d]\n"
           "  %%3 = weight {name = \"n1.w\"} : f32[%d]\n  %%4 = weight {name = \"n1.b\"} : f32[%d]\n"
           "  %%5 = layernorm %%2, %%3, %%4 {eps = 1e-05} : f32[1,%d,%d]\n"
           "  %%6 = weight {name = \"fc1.twiddle\"} : f32[%d,1,%d,%d,2,2]\n"
           "  %%7 = weight {name = \"fc1.bias\"} : f32[%d]\n"
           "  %%8 = bfly.linear %%5, %%6, %%7 {in = %d, increasing = 0, nblocks = 1, out = %d} : f32[1,%d,%d]\n"
           "  %%9 = gelu %%8 {approx = \"erf\"} : f32[1,%d,%d]\n"
           "  %%10 = weight {name = \"fc2.twiddle\"} : f32[1,1,%d,%d,2,2]\n"
           "  %%11 = weight {name = \"fc2.bias\"} : f32[%d]\n"
           "  %%12 = bfly.linear %%9, %%10, %%11 {in = %d, increasing = 0, nblocks = 1, out = %d} : f32[1,%d,%d]\n"
           "  %%13 = add %%5, %%12 : f32[1,%d,%d]\n"
           "  %%14 = weight {name = \"n2.w\"} : f32[%d]\n  %%15 = weight {name = \"n2.b\"} : f32[%d]\n"
           "  %%16 = layernorm %%13, %%14, %%15 {eps = 1e-05} : f32[1,%d,%d]\n"
           "  output %%16 {index = 0, name = \"y\"}\n}\n",
           d, d, d, d, h / d, ld, d / 2, h, lh, h / 2, d, s, d, s, d, s, d, d, d, s, d, h / d, ld, d / 2, h, d, h,
           s, h, s, h, lh, h / 2, d, h, d, s, d, s, d, d, d, s, d);
  return t;
}

/* A lone layer: kind 0 butterfly d -> d (no bias), kind 1 fourier.mix. */
static char *layer_text(int kind, int s, int d) {
  char *t = malloc(4096);
  int ld = 0;
  while ((1 << ld) < d) ld++;
  if (kind == 0)
    snprintf(t, 4096,
             "module @layer\nparam @\"fc.twiddle\" : f32[1,1,%d,%d,2,2] = normal(0.0, 0.7071067811865475)\n"
             "func @main {\n  %%0 = input {index = 0, name = \"x\"} : f32[1,%d,%d]\n"
             "  %%1 = weight {name = \"fc.twiddle\"} : f32[1,1,%d,%d,2,2]\n"
             "  %%2 = bfly.linear %%0, %%1 {in = %d, increasing = 0, nblocks = 1, out = %d} : f32[1,%d,%d]\n"
             "  output %%2 {index = 0, name = \"y\"}\n}\n",
             ld, d / 2, s, d, ld, d / 2, d, d, s, d);
  else
    snprintf(t, 4096,
             "module @layer\nfunc @main {\n  %%0 = input {index = 0, name = \"x\"} : f32[1,%d,%d]\n"
             "  %%1 = fourier.mix %%0 : f32[1,%d,%d]\n  output %%1 {index = 0, name = \"y\"}\n}\n",
             s, d, s, d);
  return t;
}

static void run(const char *cfgname, int s, int d, int h) {
  fab_fpga_config c = test_config(cfgname);
  char *text = h < 0 ? layer_text(-h - 1, s, d) : fbfly_text(s, d, h);
  fab_diag *dg = fab_diag_new();
  fab_module *m = fab_parse_module("fbfly", text, strlen(text), dg);
  fab_target_config tcfg = {.accel_config = &c};
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  fab_fpga_program *p = NULL;
  if (m && fab_bind_init_weights(m, 1, ws, dg) && fab_bind_init_inputs(m, 2, is, dg) &&
      fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, dg))
    p = fab_fpga_codegen(m, &c, dg);
  CHECK(p != NULL, "compile FBfly s=%d d=%d h=%d for %s", s, d, h, cfgname);
  if (fab_diag_error_count(dg)) fab_diag_print(dg, stderr);
  if (p) {
    fab_fpga_report rep;
    char err[256];
    fab_status st = fab_fpga_sim_run(p, NULL, ws, is, NULL, NULL, &rep, err, sizeof err);
    CHECK(st == FAB_OK, "sim: %s", err);
    if (h < 0)
      printf("\n== %s layer s=%d d=%d, %zu instructions ==\n", h == -1 ? "butterfly" : "Fourier", s, d, p->ninsn);
    else
      printf("\n== FBfly block s=%d d=%d h=%d, %zu instructions ==\n", s, d, h, p->ninsn);
    fab_fpga_report_print(&rep, &c, stdout);
    uint64_t mf = fab_fpga_model_fft_layer(&c, (uint64_t)s, (uint64_t)d);
    if (h > 0) {
      uint64_t mb = fab_fpga_model_bfly_layer(&c, (uint64_t)s, (uint64_t)d, (uint64_t)(h / d)) +
                    fab_fpga_model_bfly_layer(&c, (uint64_t)s, (uint64_t)h, 1);
      printf("authors' model per layer: FFT2 %llu cycles, two butterfly layers %llu cycles\n",
             (unsigned long long)mf, (unsigned long long)mb);
    } else {
      uint64_t m = h == -1 ? fab_fpga_model_bfly_layer(&c, (uint64_t)s, (uint64_t)d, 1) : mf;
      printf("SUMMARY %s %s s=%d d=%d: simulated %llu cycles, authors' model %llu cycles (ratio %.2f)\n", cfgname,
             h == -1 ? "butterfly" : "fourier", s, d, (unsigned long long)rep.total_cycles, (unsigned long long)m,
             (double)rep.total_cycles / (double)m);
    }
    CHECK(rep.bu_util > 0.5, "BU utilisation %g", rep.bu_util);
  }
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  if (m) fab_module_free(m);
  fab_diag_free(dg);
  free(text);
}

int main(void) {
  const char *cf[] = {"vcu128-be40", "zynq7045-be20"};
  for (int i = 0; i < 2; i++) {
    run(cf[i], 1024, 1024, -1); /* butterfly 1024 -> 1024 over 1024 rows */
    run(cf[i], 1024, 256, -2);  /* Fourier mix 1024 x 256 */
  }
  run("vcu128-be40", 1024, 256, 512);  /* LRA-Text FABNet block */
  run("zynq7045-be20", 1024, 256, 512);
  run("vcu128-be120", 128, 1024, 4096); /* BERT-Large-shaped FBfly block, seq 128 */
  return g_fail ? 1 : 0;
}
