/* fpga_case_run.h — compiling a golden case for a configuration and
 * simulating it with its seeded weights and inputs (test_writeback.c,
 * test_embed.c). */
#ifndef FPGA_CASE_RUN_H
#define FPGA_CASE_RUN_H

#include "codegen.h"
#include "fpga_cases.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

/* Module m (named `name` in messages; parsed into diagnostics d, NULL
 * after a diagnostic; freed here with d) through the fpga pipeline, then
 * edit(m, ctx) (may be NULL) and the pipeline `extra` (NULL: none),
 * compiled for c and simulated into out (rep: the report); the program,
 * NULL after a diagnostic. */
static inline fab_fpga_program *fpga_module_run(fab_module *m, fab_diag *d, const char *name,
                                                void (*edit)(fab_module *m, void *ctx), void *ctx, const char *extra,
                                                const fab_fpga_config *c, fab_tensor_set *out, fab_fpga_report *rep) {
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  fab_fpga_program *p = NULL;
  char err[256];
  fab_target_config tcfg = {.accel_config = c};
  if (!m || !fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d)) goto out;
  if (!fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) goto out;
  if (edit) edit(m, ctx);
  if (extra && !fab_run_pipeline(m, extra, NULL, d)) goto out;
  if (!(p = fab_fpga_codegen(m, c, d))) goto out;
  if (fab_fpga_sim_run(p, c, ws, is, out, NULL, rep, err, sizeof err)) {
    fprintf(stderr, "%s: sim: %s\n", name, err);
    fab_fpga_program_free(p);
    p = NULL;
  }
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_tset_free(ws);
  fab_tset_free(is);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return p;
}

/* Golden case `name` (tests/golden/cases/<name>.fir) through fpga_module_run. */
static inline fab_fpga_program *fpga_case_run(const char *name, void (*edit)(fab_module *m, void *ctx), void *ctx,
                                              const char *extra, const fab_fpga_config *c, fab_tensor_set *out,
                                              fab_fpga_report *rep) {
  fab_diag *d = fab_diag_new();
  return fpga_module_run(parse_case(name, d), d, name, edit, ctx, extra, c, out, rep);
}

#endif
