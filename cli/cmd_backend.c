/* cmd_backend.c — fabc build: compile a model ahead of time for a target
 * (cpu: shared library or object + C header, LLVM IR, assembly; fpga:
 * .fbin), through libfabc. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fabc.h"

static int run_build(const cli_args *a) {
  const char *target = cli_str(a, "target", NULL);
  if (!target) return cli_usage_error(a, "give --target (cpu or fpga)");
  if (!cli_target_known(a, target, "target")) return EXIT_USAGE;
  const char *out = cli_str(a, "o", NULL);
  if (!out) return cli_usage_error(a, "give the output file with -o");
  bool embed = cli_flag(a, "embed-weights");
  /* A built model binds its weights when it is loaded (the runtime, fabc
   * sim --weights); only embedded weights are read here. */
  if (!embed && (cli_str(a, "weights", NULL) || cli_weight_map_given(a)))
    return cli_usage_error(a, "--weights and its map options are read only with --target cpu "
                              "--embed-weights (a built model binds its weights when it is loaded)");
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], target, FABC_STAGE_BUILD, &rc);
  if (!m) return rc;
  if (!embed || (rc = cli_bind_weights(a, m)) == EXIT_OK) {
    char *err = NULL;
    fabc_status st = fabc_model_emit(m, cli_str(a, "emit", NULL), out, embed, &err);
    rc = st == FABC_OK ? EXIT_OK : cli_api_error(a, st, err);
  }
  fabc_model_free(m);
  return rc;
}

static const opt_spec build_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"target", OPT_VALUE, "cpu|fpga", "what to compile for"},
    {"emit", OPT_VALUE, "so|obj|llvm|asm|fbin", "what to write (default: the target's first: cpu so, fpga fbin); so and obj also write FILE.h"},
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
