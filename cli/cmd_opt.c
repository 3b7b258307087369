/* cmd_opt.c — fabc opt: IR in, pass pipeline, IR out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fab_tensor.h"
#include "ir.h"
#include "passes.h"

static int list_passes(void) {
  printf("passes (use as -passes=a,b(opt=v),...):\n");
  for (int i = 0; i < fab_pass_count(); i++) {
    const fab_pass_info *p = fab_pass_get(i);
    printf("  %-18s %s\n", p->name, p->summary);
    if (p->options && *p->options) printf("  %-18s options: %s\n", "", p->options);
    if (p->requires && *p->requires) printf("  %-18s requires: %s\n", "", p->requires);
    if (p->establishes && *p->establishes) printf("  %-18s establishes: %s\n", "", p->establishes);
  }
  printf("\ndefault pipelines:\n");
  const char *targets[] = {"cpu", "fpga", "interp"};
  for (int i = 0; i < 3; i++) printf("  %-6s %s\n", targets[i], fab_default_pipeline(targets[i]));
  return EXIT_OK;
}

static int run_opt(const cli_args *a) {
  if (cli_flag(a, "list-passes")) return list_passes();
  if (a->npos != 1) return cli_usage_error(a, "expected one input file");
  const char *target = cli_str(a, "target", "generic");
  const char *pipeline = cli_str(a, "passes", NULL);
  if (!pipeline) pipeline = fab_default_pipeline(target);
  if (!pipeline) return cli_usage_error(a, "give -passes=... or a --target with a default pipeline");
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  if (cli_run_passes(a, m, pipeline, target)) rc = cli_write_ir(a, m, 0);
  fab_module_free(m);
  return rc;
}

static const opt_spec opt_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    {"target", OPT_VALUE, "NAME", "cost model and default pipeline: cpu, fpga, generic"},
    {"list-passes", OPT_FLAG, NULL, "list the passes, their options and contracts"},
    {"o", OPT_VALUE, "FILE", "write the IR to FILE (atomically) instead of standard output"},
};

const cli_cmd cmd_opt = {
    "opt", "FILE.fir|FILE.fab -passes=P1,P2(opt=v),... [options]", "run a pass pipeline: IR in, IR out",
    "Example: fabc opt model.fir -passes=lower-bfly,fuse-stages(k=3) -o out.fir\n"
    "On a pass failure the input IR and the pipeline are written as a reproducer\n"
    "(fabc-repro.fir, fabc-repro.pipeline in --reproducer-dir).",
    opt_opts, sizeof opt_opts / sizeof *opt_opts, 0, 1, run_opt,
};
