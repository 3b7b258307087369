/* cmd_backend.c — fabc build: compile a model for a target (cpu: shared
 * library or object + C header; fpga: .fbin). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir.h"

static int run_build(const cli_args *a) {
  const char *target = cli_str(a, "target", NULL);
  if (!target) return cli_usage_error(a, "give --target cpu or --target fpga");
  bool cpu = strcmp(target, "cpu") == 0, fpga = strcmp(target, "fpga") == 0;
  if (!cpu && !fpga) return cli_usage_error(a, "unknown target '%s' (available: cpu, fpga)", target);
  const char *out = cli_str(a, "o", NULL);
  if (!out) return cli_usage_error(a, "give the output file with -o");
  /* A built model binds its weights when it is loaded (the runtime, fabc
   * sim --weights); only embedded weights are read here. */
  if (!(cpu && cli_flag(a, "embed-weights")) && (cli_str(a, "weights", NULL) || cli_weight_map_given(a)))
    return cli_usage_error(a, "--weights and its map options are read only with --target cpu "
                              "--embed-weights (a built model binds its weights when it is loaded)");
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  if (cli_run_passes(a, m, cli_pipeline_for(a, target), target))
    rc = cpu ? cli_cpu_emit(a, m, cli_str(a, "emit", "so"), out) : cli_fpga_build(a, m, out);
  fab_module_free(m);
  return rc;
}

static const opt_spec build_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"target", OPT_VALUE, "cpu|fpga", "what to compile for"},
    {"emit", OPT_VALUE, "so|obj|llvm|asm", "cpu: shared library (default) or object file (both also write FILE.h), LLVM IR or assembly"},
    {"embed-weights", OPT_FLAG, NULL, "cpu: put the weights into the binary (from --weights or seeded init)"},
    {"weights", OPT_VALUE, "FILE", "weights to embed (.safetensors)"},
    CLI_WMAP_OPTS,
    {"seed", OPT_VALUE, "N", "seed for embedded initialised weights (default 0)"},
    {"accel", OPT_VALUE, "CONFIG", "fpga: the accelerator, a shipped configuration's NAME (vcu128-be40, ...) or a FILE.json"},
    {"o", OPT_VALUE, "FILE", "output (.so, .o or .fbin), written atomically"},
};

const cli_cmd cmd_build = {
    "build", "FILE.fab --target cpu|fpga -o OUT [options]", "compile a model ahead of time",
    "cpu: a shared library (or object with --emit=obj) and a C header next to it, loaded\n"
    "with the runtime (runtime/fab_runtime.h); fpga: an instruction stream (.fbin) for the\n"
    "accelerator configuration given with --accel, run by `fabc sim`.",
    build_opts, sizeof build_opts / sizeof *build_opts, 1, 1, run_build,
};
