/* pipeline.c — running pass pipelines from the command line (shared by
 * opt, emit, build and run). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir.h"
#include "passes.h"

bool cli_run_passes(const cli_args *a, fab_module *m, const char *pipeline, const char *target) {
  const fab_target_info *t = fab_target_lookup(target ? target : "generic");
  if (!t) {
    cli_usage_error(a, "unknown target '%s' (available: cpu, fpga, generic)", target);
    return false;
  }
  fab_pass_options po = {
      .target = t,
      .print_before = cli_str(a, "print-before", NULL),
      .print_after = cli_str(a, "print-after", NULL),
      .stop_after = cli_str(a, "stop-after", NULL),
      .verify_each = cli_flag(a, "verify-each"),
      .time_passes = cli_flag(a, "time-passes"),
      .print_out = stderr,
      .reproducer_dir = cli_str(a, "reproducer-dir", "."),
  };
  fab_diag *d = fab_diag_new();
  bool ok = fab_run_pipeline(m, pipeline, &po, d);
  if (ok && !fab_verify(m, d)) ok = false;
  cli_print_diag(d);
  fab_diag_free(d);
  return ok;
}

/* The pipeline a target's backend receives: --passes overrides it. */
const char *cli_pipeline_for(const cli_args *a, const char *target) {
  const char *p = cli_str(a, "passes", NULL);
  if (p) return p;
  p = fab_default_pipeline(target);
  return p ? p : "canonicalize";
}
