/* test_layers.c — the report's butterfly-unit utilisation over the
 * butterfly layers and its roofline (sim/layers.c), and what keeps the
 * engines busy (issue 16): one FABNet layer compiled and simulated
 * (timing only; cycle counts, no wall clock).
 *   - the layers are the op's butterfly/FFT passes (4 per FBfly layer);
 *   - 128 rows on 120 engines: the last wave holds 8 rows, and the
 *     roofline says so (the engines' waves bound the layers near 53 %);
 *   - 4096-point rows (FABNet-Large's fc2) stream their stores: on
 *     vcu128-be40 at seq 512 the layers reach 97.3 % (85.6 % before). */
#include "codegen.h"
#include "fpga_test.h"
#include "frontend.h"
#include "passes.h"
#include "target.h"

static bool run(const char *version, const char *cfg, int seq, fab_fpga_report *r) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/fabnet_%s.fab", FAB_ROOT, version);
  fab_fpga_config c = test_config(cfg);
  fab_define defs[2] = {{"seq", seq}, {"layers", 1}};
  fab_frontend_options fo = {.defines = defs, .ndefines = 2};
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_file(path, &fo, d);
  fab_target_config tcfg = {.accel_config = &c};
  fab_fpga_program *p = NULL;
  if (m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) p = fab_fpga_codegen(m, &c, d);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  char err[256];
  fab_fpga_sim_opts so = {.timing_only = true};
  bool ok = p && fab_fpga_sim_run(p, NULL, NULL, NULL, NULL, &so, r, err, sizeof err) == FAB_OK;
  CHECK(ok, "%s on %s at seq %d: %s", version, cfg, seq, p ? err : "no program");
  if (ok) {
    printf("\n== FABNet-%s, one layer, %s, seq %d ==\n", version, cfg, seq);
    fab_fpga_report_print(r, &c, stdout);
  }
  fab_fpga_program_free(p);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return ok;
}

int main(void) {
  fab_fpga_report r;
  if (run("large", "vcu128-be120", 128, &r)) {
    CHECK(r.bl_layers == 4, "%llu butterfly layers, expected FFT, FFT, fc1, fc2", (unsigned long long)r.bl_layers);
    double want = r.bl_compute / (double)r.bl_span;
    CHECK(fabs(r.bl_util - want) < 1e-12 && r.bl_util <= r.bl_roofline && r.bl_roofline <= 1,
          "utilisation %g, roofline %g", r.bl_util, r.bl_roofline);
    /* two waves of 120 and 8 rows: at most 128 / 240 of the units busy */
    CHECK(r.bl_roofline < 128.0 / 240 + 0.01, "roofline %g above the waves' bound", r.bl_roofline);
    CHECK(r.bl_span_waves * 2 > r.bl_span, "waves bound %llu of %llu cycles", (unsigned long long)r.bl_span_waves,
          (unsigned long long)r.bl_span);
  }
  if (run("large", "vcu128-be40", 512, &r)) {
    CHECK(r.bl_util >= 0.9, "utilisation over the layers %g below 90 %%", r.bl_util);
    CHECK(r.bl_roofline >= r.bl_util, "roofline %g below the utilisation %g", r.bl_roofline, r.bl_util);
  }
  printf("%s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
