/* cmd_opt.c — fabc opt: IR in, pass pipeline, IR out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fabc.h"
#include "passes.h"
#include "target.h"

static int list_passes(void) {
  printf("passes (use as -passes=a,b(opt=v),...):\n");
  for (int i = 0; i < fab_pass_count(); i++) {
    const fab_pass_info *p = fab_pass_get(i);
    printf("  %-18s %s\n", p->name, p->summary);
    if (p->options && *p->options) printf("  %-18s options: %s\n", "", p->options);
    if (p->requires && *p->requires) printf("  %-18s requires: %s\n", "", p->requires);
    if (p->establishes && *p->establishes) printf("  %-18s establishes: %s\n", "", p->establishes);
  }
  printf("\ntargets and their default pipelines:\n");
  for (int i = 0; i < fab_target_count(); i++) {
    const fab_target *t = fab_target_get(i);
    printf("  %-6s %s\n  %-6s %s\n", t->name, t->summary, "", *t->pipeline ? t->pipeline : "(none)");
  }
  return EXIT_OK;
}

static int run_opt(const cli_args *a) {
  if (cli_flag(a, "list-passes")) return list_passes();
  if (a->npos != 1) return cli_usage_error(a, "expected one input file");
  const char *target = cli_str(a, "target", NULL);
  if (target && !cli_target_known(a, target, "target")) return EXIT_USAGE;
  if (!target && !cli_str(a, "passes", NULL))
    return cli_usage_error(a, "give -passes=... or a --target with a default pipeline");
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], target, FABC_STAGE_IR, &rc);
  if (!m) return rc;
  char *text = NULL, *err = NULL;
  fabc_status st = fabc_model_ir(m, 1, 0, &text, &err);
  rc = st == FABC_OK ? cli_write_text(a, text) : cli_api_error(a, st, err);
  fabc_free(text);
  fabc_model_free(m);
  return rc;
}

static const opt_spec opt_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"accel", OPT_VALUE, "CONFIG", "fpga: the accelerator whose cost model the passes use"},
    {"target", OPT_VALUE, "NAME", "cost model and default pipeline: interp, cpu, fpga (default: a generic cost model, no pipeline)"},
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
