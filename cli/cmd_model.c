/* cmd_model.c — the foundation subcommands: check, emit, run, stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fab_tensor.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "stats.h"

/* ---- fabc check ---------------------------------------------------------- */

static int run_check(const cli_args *a) {
  int rc = EXIT_OK;
  for (int i = 0; i < a->npos; i++) {
    fab_module *m = cli_load_model(a, a->pos[i]);
    if (!m) {
      rc = EXIT_USER;
      continue;
    }
    if (cli_flag(a, "verbose")) {
      const fab_func *f = fab_module_main(m);
      printf("%s: ok (%d parameters, %d ops)\n", a->pos[i], m->nparams, f ? f->nops : 0);
    }
    fab_module_free(m);
  }
  return rc;
}

static const opt_spec check_opts[] = {
    CLI_MODEL_OPTS,
    {"verbose", OPT_FLAG, NULL, "print a line per file that is fine"},
};

const cli_cmd cmd_check = {
    "check", "FILE.fab|FILE.fir... [options]", "parse and verify models; prints diagnostics only",
    "Exits 0 when every file is valid, 1 when any has errors (all of them are reported).",
    check_opts, sizeof check_opts / sizeof *check_opts, 1, CLI_MAX_POS, run_check,
};

/* ---- fabc stats ---------------------------------------------------------- */

/* Peak activation memory: the target's pipeline (with memplan) and the
 * planner's own accounting. */
static int print_memory(const cli_args *a, fab_module *m) {
  const char *target = cli_str(a, "target", "cpu");
  if (!cli_run_passes(a, m, cli_pipeline_for(a, target), target)) return EXIT_USER;
  int64_t planned, unplanned;
  if (!fab_memplan_stats(m, &planned, &unplanned))
    return cli_user_error("the pipeline for '%s' did not plan memory (add memplan to --passes)", target);
  if (cli_flag(a, "json")) {
    printf("{\"model\": \"%s\", \"target\": \"%s\", \"planned_bytes\": %lld, \"unplanned_bytes\": %lld}\n",
           m->name, target, (long long)planned, (long long)unplanned);
  } else {
    printf("model %s, target %s (activations, one inference; weights and inputs not included)\n", m->name,
           target);
    printf("  planned peak    %12lld bytes  (%.2f MiB)\n", (long long)planned, planned / 1048576.0);
    printf("  unplanned sum   %12lld bytes  (%.2f MiB, one buffer per value)\n", (long long)unplanned,
           unplanned / 1048576.0);
    printf("  saving          %12.1fx\n", planned ? (double)unplanned / (double)planned : 0.0);
  }
  return EXIT_OK;
}

static int run_stats(const cli_args *a) {
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  if (cli_flag(a, "memory")) {
    int rc = print_memory(a, m);
    fab_module_free(m);
    return rc;
  }
  fab_diag *d = fab_diag_new();
  fab_model_stats s;
  int rc = EXIT_OK;
  if (!fab_stats_compute(m, &s, d)) {
    cli_print_diag(d);
    rc = EXIT_USER;
  } else {
    if (cli_flag(a, "json"))
      fab_stats_print_json(stdout, m, &s);
    else
      fab_stats_print_table(stdout, m, &s);
    fab_stats_free(&s);
  }
  fab_diag_free(d);
  fab_module_free(m);
  return rc;
}

static const opt_spec stats_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    {"json", OPT_FLAG, NULL, "print JSON instead of a table"},
    {"memory", OPT_FLAG, NULL, "peak activation memory, planned (memplan) vs unplanned"},
    {"target", OPT_VALUE, "NAME", "with --memory: whose pipeline plans memory (cpu, fpga; default cpu)"},
};

const cli_cmd cmd_stats = {
    "stats", "FILE.fab [options]", "parameters and multiply-accumulates per layer and in total",
    "Counts are per inference of one sample.  'params' is what the model stores (torch_butterfly\n"
    "twiddles: 2·n·log2 n per stack); 'params*' is the FABNet paper's convention (a butterfly\n"
    "matrix counts 4n, FFT twiddles count too); 'dense' columns are the same model with every\n"
    "butterfly layer dense and Fourier mixing done by dense DFT matrices.",
    stats_opts, sizeof stats_opts / sizeof *stats_opts, 1, 1, run_stats,
};

/* ---- fabc run ------------------------------------------------------------ */

static int run_run(const cli_args *a) {
  const char *backend = cli_str(a, "backend", "interp");
  bool interp = strcmp(backend, "interp") == 0, cpu = strcmp(backend, "cpu") == 0;
  if (!interp && !cpu && strcmp(backend, "fpga") != 0)
    return cli_usage_error(a, "unknown backend '%s' (available: interp, cpu, fpga)", backend);
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  int rc = EXIT_USER;
  /* Weights and inputs are bound against the model as written, before
   * lowering, so every backend sees the same tensors. */
  fab_tensor_set *w = cli_load_weights(a, m), *in = w ? cli_load_inputs(a, m) : NULL;
  fab_tensor_set *out = fab_tset_new();
  if (w && in) {
    if (interp) {
      fab_diag *d = fab_diag_new();
      if (fab_interp_run(m, w, in, out, d)) rc = EXIT_OK;
      cli_print_diag(d);
      fab_diag_free(d);
    } else if (cli_run_passes(a, m, cli_pipeline_for(a, backend), backend)) {
      rc = cpu ? cli_cpu_run(a, m, w, in, out) : cli_fpga_run(a, m, w, in, out);
    }
    if (rc == EXIT_OK) rc = cli_write_outputs(a, out);
  }
  fab_tset_free(out);
  fab_tset_free(in);
  fab_tset_free(w);
  fab_module_free(m);
  return rc;
}

static const opt_spec run_opts[] = {
    CLI_MODEL_OPTS,
    CLI_DATA_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"backend", OPT_VALUE, "NAME", "interp (reference interpreter, default), cpu (JIT), fpga (simulator)"},
    {"accel", OPT_VALUE, "CONFIG", "fpga: the accelerator, a shipped configuration's NAME (vcu128-be40, ...) or a FILE.json"},
    {"report", OPT_FLAG, NULL, "fpga: print the simulator's cycle report to standard error"},
    {"trace", OPT_VALUE, "FILE", "fpga: write a Chrome/Perfetto trace"},
    {"batch", OPT_VALUE, "N", "seeded inputs for N samples, 1..2^31-1 (a leading axis of N; input files have no limit but memory)"},
    {"o", OPT_VALUE, "FILE", "write outputs (.safetensors or .npy); default: print a summary"},
};

const cli_cmd cmd_run = {
    "run", "FILE.fab|FILE.fir [options]", "run a model on a backend",
    "Without --weights, parameters get a seeded initialisation with PyTorch's default\n"
    "distributions; without --input, inputs are seeded random (token ids in range).\n"
    "Batches: every input may have the model's declared shape (one sample) or one more\n"
    "leading axis [n, ...], the same n >= 1 for all (no limit but memory); the outputs then\n"
    "have it too.  Each sample's result equals a run on that sample alone (bit for bit on\n"
    "cpu); cpu spreads the samples over --threads, interp and fpga run them in turn (the\n"
    "fpga --report gives per-sample figures and the batch's cycles).\n"
    "A state_dict saved by PyTorch loads with --rename, --reshape and --allow-unused\n"
    "(or --weight-map): docs/language.md, \"Weights from PyTorch\".",
    run_opts, sizeof run_opts / sizeof *run_opts, 1, 1, run_run,
};

/* ---- fabc emit ----------------------------------------------------------- */

static int run_emit(const cli_args *a) {
  const char *kind = cli_str(a, "emit", NULL);
  if (!cli_flag(a, "ir") && !kind) return cli_usage_error(a, "say what to emit: --ir or --emit=llvm|asm");
  if (kind) {
    const char *t = cli_str(a, "target", "cpu");
    if (strcmp(t, "cpu") != 0) return cli_usage_error(a, "--emit=%s is for --target cpu", kind);
    fab_module *m = cli_load_model(a, a->pos[0]);
    if (!m) return EXIT_USER;
    int rc = cli_run_passes(a, m, cli_pipeline_for(a, "cpu"), "cpu")
                 ? cli_cpu_emit(a, m, kind, cli_str(a, "o", NULL))
                 : EXIT_USER;
    fab_module_free(m);
    return rc;
  }
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  const char *target = cli_str(a, "target", NULL);
  if ((target || cli_str(a, "passes", NULL)) &&
      !cli_run_passes(a, m, cli_pipeline_for(a, target ? target : "generic"), target)) {
    fab_module_free(m);
    return EXIT_USER;
  }
  int rc = cli_write_ir(a, m, cli_flag(a, "locs") ? FAB_PRINT_LOCS : 0);
  fab_module_free(m);
  return rc;
}

static const opt_spec emit_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"ir", OPT_FLAG, NULL, "emit the butterfly IR as text"},
    {"emit", OPT_VALUE, "llvm|asm", "emit the CPU backend's LLVM IR or assembly instead"},
    {"target", OPT_VALUE, "NAME", "lower with the target's default pipeline first: cpu, fpga"},
    {"locs", OPT_FLAG, NULL, "annotate every op with its source location"},
    {"o", OPT_VALUE, "FILE", "write to FILE instead of standard output"},
};

const cli_cmd cmd_emit = {
    "emit", "FILE.fab|FILE.fir --ir | --emit=llvm|asm [options]", "print the butterfly IR of a model",
    "With --target T the IR is what backend T receives (after its default pipeline);\n"
    "--print-after=all shows every stage on standard error.", emit_opts, sizeof emit_opts / sizeof *emit_opts, 1, 1, run_emit,
};
