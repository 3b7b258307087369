/* fpga_example.h — compiling an example FABNet for a configuration, and
 * comparing outputs, for the fpga tests that need the front end
 * (test_model.c, test_layers.c). */
#ifndef FPGA_EXAMPLE_H
#define FPGA_EXAMPLE_H

#include "codegen.h"
#include "fpga_test.h"
#include "frontend.h"
#include "passes.h"
#include "target.h"

/* examples/fabnet_<version>.fab at sequence `seq` with `layers` layers (0:
 * the example's own) compiled for configuration *c; NULL on failure
 * (diagnostics printed). */
static inline fab_fpga_program *fpga_compile_example_for(const char *version, const fab_fpga_config *c, int seq,
                                                         int layers) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/fabnet_%s.fab", FAB_ROOT, version);
  fab_define defs[2] = {{"seq", seq}, {"layers", layers}};
  fab_frontend_options fo = {.defines = defs, .ndefines = layers ? 2 : 1};
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_file(path, &fo, d);
  fab_target_config tcfg = {.accel_config = c};
  fab_fpga_program *p = NULL;
  if (m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) p = fab_fpga_codegen(m, c, d);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return p;
}

/* The same for shipped configuration `cfg` (*c receives it). */
static inline fab_fpga_program *fpga_compile_example(const char *version, const char *cfg, int seq, int layers,
                                                     fab_fpga_config *c) {
  char name[32];
  snprintf(name, sizeof name, "%.31s", cfg);
  *c = test_config(name);
  return fpga_compile_example_for(version, c, seq, layers);
}

/* max |a - b| / max |a| over two F32 tensors of one shape. */
static inline double fpga_rel_error(const fab_tensor *a, const fab_tensor *b) {
  const float *x = a->data, *y = b->data;
  double mx = 1e-30, e = 0;
  for (int64_t k = 0; k < fab_tensor_numel(a); k++) {
    mx = fmax(mx, fabs(x[k]));
    e = fmax(e, fabs((double)x[k] - y[k]));
  }
  return e / mx;
}

#endif
