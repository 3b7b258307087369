/* test_fp16.c — fp16 accuracy of a whole FBfly model (tests/fpga/data/
 * fbfly_512x128.fir: fabnet_text with seq 512, d 128, h 256, 2 post-LN
 * FBfly layers, mean pooling, head; seeded weights and inputs) on the
 * vcu128-be40 datapath against the reference interpreter.
 *
 * The Fourier mix of 512 x 128 N(0, 2) values has variance ~1.3e5 > 65504,
 * so the layer norm after it needs the fp32 statistics unit (docs/fpga.md
 * §3): with fp16 statistics every row normalised to beta and the logits
 * were off by 100 %.  Checks (bounds from docs/fpga.md):
 *   fp32 config: logits within 1e-4 of max |logit|;
 *   fp16: the pooled features (before the head, where no cancellation
 *   hides the error) within 1e-2 of their largest magnitude, the logits
 *   within 5e-2, nothing non-finite. */
#include "codegen.h"
#include "fpga_test.h"
#include "golden_case.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

/* Relative error (max |err| / max |ref|) of the logits and, through the
 * debugging options (every intermediate kept), of the meanpool value. */
static bool run(const char *text, size_t n, const fab_fpga_config *c, double *logits_err, double *pool_err) {
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("fbfly.fir", text, n, d);
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *ro = fab_tset_new(), *vals = fab_tset_new(),
                 *so = fab_tset_new();
  fab_fpga_program *p = NULL;
  uint64_t *va = NULL;
  float *mem = NULL;
  bool ok = false;
  fab_target_config tcfg = {.accel = "vcu128-be40"};
  fab_pass_options po = {0};
  /* fpga-alloc(reuse=0): every intermediate stays readable after the run */
  if (!m || !fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d) ||
      !fab_run_pipeline(m, "fpga-alloc(reuse=0)", &po, d))
    goto out;
  if (!fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d)) goto out;
  if (!fab_interp_run_all(m, ws, is, ro, vals, d)) goto out;
  const fab_func *f = fab_module_main(m);
  va = calloc((size_t)f->nops, sizeof *va);
  fab_fpga_codegen_opts co = {.value_addr = va};
  if (!va || !(p = fab_fpga_codegen_ex(m, c, &co, d))) goto out;
  char err[256];
  fab_fpga_sim_opts so_ = {.mem_out = &mem};
  if (fab_fpga_sim_run(p, c, ws, is, so, &so_, NULL, err, sizeof err)) {
    fprintf(stderr, "sim: %s\n", err);
    goto out;
  }
  *logits_err = *pool_err = -1;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    bool pool = op->code == FAB_OP_MEANPOOL, out = op->code == FAB_OP_OUTPUT;
    if (!pool && !out) continue;
    int v = out ? op->operands[0] : i;
    char nm[32];
    snprintf(nm, sizeof nm, "%%%d", v);
    const fab_tensor *t = fab_tset_find(vals, nm);
    if (!t || va[v] == UINT64_MAX) continue;
    double mx = 1e-30, e = 0;
    for (int64_t k = 0; k < fab_tensor_numel(t); k++) {
      float y = mem[va[v] + (uint64_t)k], r = ((const float *)t->data)[k];
      mx = fmax(mx, fabs(r));
      e = isfinite(y) ? fmax(e, fabs((double)r - y)) : INFINITY;
    }
    *(pool ? pool_err : logits_err) = e / mx;
  }
  ok = *logits_err >= 0 && *pool_err >= 0;
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  free(mem);
  free(va);
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(ro);
  fab_tset_free(vals);
  fab_tset_free(so);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return ok;
}

int main(void) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fpga/data/fbfly_512x128.fir", FAB_ROOT);
  size_t n;
  char *text = golden_read_text(path, &n);
  CHECK(text != NULL, "cannot read %s", path);
  if (!text) return 1;
  fab_fpga_config h = test_config("vcu128-be40"), c = h;
  c.fp16 = 0;
  double l32, p32, l16, p16;
  CHECK(run(text, n, &c, &l32, &p32), "fp32 run failed");
  CHECK(run(text, n, &h, &l16, &p16), "fp16 run failed");
  printf("fbfly 512x128 fp32: logits %.2e pooled %.2e\n", l32, p32);
  printf("fbfly 512x128 fp16: logits %.2e pooled %.2e\n", l16, p16);
  CHECK(l32 < 1e-4 && p32 < 1e-4, "fp32 error %g / %g", l32, p32);
  CHECK(p16 < 1e-2, "fp16 pooled-feature error %g above the documented 1e-2", p16);
  CHECK(l16 < 5e-2, "fp16 logits error %g above the documented 5e-2", l16);
  free(text);
  return g_fail ? 1 : 0;
}
