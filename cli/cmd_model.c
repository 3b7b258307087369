/* cmd_model.c — the foundation subcommands: check, emit, run, stats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "cli.h"
#include "fab_out.h"
#include "fab_tensor.h"
#include "fabc.h"

/* ---- fabc check ---------------------------------------------------------- */

static int run_check(const cli_args *a) {
  int rc = EXIT_OK;
  for (int i = 0; i < a->npos; i++) {
    int frc;
    fabc_model *m = cli_compile(a, a->pos[i], NULL, FABC_STAGE_IR, &frc);
    if (!m) {
      if (frc == EXIT_USAGE) return frc;
      rc = EXIT_USER;
      continue;
    }
    if (cli_flag(a, "verbose"))
      printf("%s: ok (%d parameters, %d ops)\n", a->pos[i], fabc_model_count(m, FABC_WEIGHTS), fabc_model_op_count(m));
    fabc_model_free(m);
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
static int print_memory(const cli_args *a) {
  const char *target = cli_str(a, "target", "cpu");
  if (!cli_target_known(a, target, "target")) return EXIT_USAGE;
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], target, FABC_STAGE_IR, &rc);
  if (!m) return rc;
  int64_t planned, unplanned;
  char *err = NULL;
  fabc_status st = fabc_model_memplan(m, &planned, &unplanned, &err);
  if (st != FABC_OK) {
    fabc_model_free(m);
    return cli_api_error(a, FABC_E_SOURCE, err);
  }
  const char *name = fabc_model_name(m);
  if (cli_flag(a, "json")) {
    printf("{\"model\": \"%s\", \"target\": \"%s\", \"planned_bytes\": %lld, \"unplanned_bytes\": %lld}\n",
           name, target, (long long)planned, (long long)unplanned);
  } else {
    /* What a plan covers is the target's: memplan (cpu) plans activations
     * only, fpga-alloc the accelerator's whole memory (docs/passes.md). */
    printf("model %s, target %s (one inference, the target's memory plan: docs/passes.md)\n", name, target);
    printf("  planned peak    %12lld bytes  (%.2f MiB)\n", (long long)planned, planned / 1048576.0);
    printf("  unplanned sum   %12lld bytes  (%.2f MiB, one buffer per value)\n", (long long)unplanned,
           unplanned / 1048576.0);
    printf("  saving          %12.1fx\n", planned ? (double)unplanned / (double)planned : 0.0);
  }
  fabc_model_free(m);
  return EXIT_OK;
}

static int run_stats(const cli_args *a) {
  if (cli_flag(a, "memory")) return print_memory(a);
  /* The counts need only the model as written. */
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], NULL, FABC_STAGE_IR, &rc);
  if (!m) return rc;
  fabc_model_free(m);
  fabc_options o = {.source_path = a->pos[0]};
  const char *names[CLI_MAX_LIST];
  int64_t values[CLI_MAX_LIST];
  char buf[CLI_MAX_LIST][128];
  const opt_value *incs = cli_opt(a, "I");
  if (!cli_defines(a, names, values, buf, &o.ndefines)) return EXIT_USAGE;
  o.define_names = names;
  o.define_values = values;
  o.include_dirs = incs ? incs->list : NULL;
  o.ninclude_dirs = incs ? incs->nlist : 0;
  char *text = NULL, *err = NULL;
  fabc_status st = cli_flag(a, "json") ? fabc_stats(&o, &text, &err) : fabc_stats_table(&o, &text, &err);
  if (st != FABC_OK) return cli_api_error(a, st == FABC_E_ARG ? FABC_E_SOURCE : st, err);
  fputs(text, stdout);
  fabc_free(text);
  return EXIT_OK;
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

/* fpga: the report to standard error, the trace to --trace. */
static int run_model(const cli_args *a, fabc_model *m, const fab_tensor_set *in, fab_tensor_set *out) {
  fabc_run_options ro = {.trace_path = cli_str(a, "trace", NULL), .want_report = cli_flag(a, "report")};
  char *err = NULL;
  fabc_status st = fabc_model_run_ex(m, in, out, &ro, &err);
  if (st != FABC_OK) return cli_api_error(a, st, err);
  if (ro.report_text) fputs(ro.report_text, stderr);
  fabc_free(ro.report_text);
  fabc_free(ro.report_json);
  return EXIT_OK;
}

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

/* --repeat N: N more runs after the first (the warm-up), without report
 * or trace; their wall-clock times to standard error. */
static int run_repeat(const cli_args *a, fabc_model *m, const fab_tensor_set *in, fab_tensor_set *out, int64_t n) {
  double *t = malloc((size_t)n * sizeof *t);
  if (!t) return cli_user_error("out of memory");
  int rc = EXIT_OK;
  for (int64_t i = 0; i < n && rc == EXIT_OK; i++) {
    char *err = NULL;
    double t0 = wall_now();
    fabc_status st = fabc_model_run_ex(m, in, out, NULL, &err);
    t[i] = wall_now() - t0;
    if (st != FABC_OK) rc = cli_api_error(a, st, err);
  }
  if (rc == EXIT_OK) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
    fprintf(stderr, "fabc: %lld runs after one warm-up, wall-clock: min %.3f ms, median %.3f ms, max %.3f ms\n",
            (long long)n, t[0] * 1e3, med * 1e3, t[n - 1] * 1e3);
  }
  free(t);
  return rc;
}

static int run_run(const cli_args *a) {
  const char *backend = cli_str(a, "backend", fabc_target_name(0));
  if (!cli_target_known(a, backend, "backend")) return EXIT_USAGE;
  int64_t repeat;
  if (!cli_int(a, "repeat", 0, 1, 1000000, &repeat)) return EXIT_USAGE;
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], backend, FABC_STAGE_RUN, &rc);
  if (!m) return rc;
  /* Weights and inputs are bound against the model as written, before
   * lowering, so every backend sees the same tensors. */
  fab_tensor_set *in = NULL, *out = fab_tset_new();
  if (!out) rc = cli_user_error("out of memory");
  else if ((rc = cli_bind_weights(a, m)) == EXIT_OK && (in = cli_model_inputs(a, m, &rc)) &&
      (rc = run_model(a, m, in, out)) == EXIT_OK && (!repeat || (rc = run_repeat(a, m, in, out, repeat)) == EXIT_OK))
    rc = cli_write_outputs(a, out);
  fab_tset_free(out);
  fab_tset_free(in);
  fabc_model_free(m);
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
    {"repeat", OPT_VALUE, "N", "after the run (a warm-up), run N more times, 1..1000000, and print their min, median "
                               "and max wall-clock time to standard error (compiling and binding not included)"},
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

/* Copies a file to standard output (its write errors are reported at exit). */
static int copy_to_stdout(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return cli_user_error("cannot read '%s'", path);
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
  bool ok = !ferror(f);
  fclose(f);
  return ok ? EXIT_OK : cli_user_error("cannot read '%s'", path);
}

/* Text forms of a build (llvm, asm) to -o or standard output.  The library
 * writes files, so standard output goes through a temporary in $TMPDIR
 * (default /tmp), reserved with the writer: a signal removes it like any
 * other temporary, and a run after a kill sweeps it. */
static int emit_backend(const cli_args *a, const char *kind) {
  const char *target = cli_str(a, "target", "cpu");
  if (!cli_target_known(a, target, "target")) return EXIT_USAGE;
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], target, FABC_STAGE_BUILD, &rc);
  if (!m) return rc;
  const char *out = cli_str(a, "o", NULL);
  fab_out *tmp = NULL;
  if (!out) {
    const char *dir = getenv("TMPDIR");
    char path[4096], e[512];
    snprintf(path, sizeof path, "%s/fabc-emit", dir && *dir ? dir : "/tmp");
    if (!(tmp = fab_out_reserve(path, e, sizeof e))) {
      fabc_model_free(m);
      return cli_user_error("%s", e);
    }
    out = fab_out_temp_path(tmp);
  }
  char *err = NULL;
  fabc_status st = fabc_model_emit(m, kind, out, 0, &err);
  rc = st == FABC_OK ? EXIT_OK : cli_api_error(a, st, err);
  if (tmp && rc == EXIT_OK) rc = copy_to_stdout(out);
  fab_out_abort(tmp);
  fabc_model_free(m);
  return rc;
}

static int run_emit(const cli_args *a) {
  const char *kind = cli_str(a, "emit", NULL);
  if (!cli_flag(a, "ir") && !kind) return cli_usage_error(a, "say what to emit: --ir or --emit=llvm|asm");
  if (kind) return emit_backend(a, kind);
  const char *target = cli_str(a, "target", NULL);
  if (target && !cli_target_known(a, target, "target")) return EXIT_USAGE;
  int rc;
  fabc_model *m = cli_compile(a, a->pos[0], target, FABC_STAGE_IR, &rc);
  if (!m) return rc;
  char *text = NULL, *err = NULL;
  fabc_status st = fabc_model_ir(m, 1, cli_flag(a, "locs"), &text, &err);
  rc = st == FABC_OK ? cli_write_text(a, text) : cli_api_error(a, st, err);
  fabc_free(text);
  fabc_model_free(m);
  return rc;
}

static const opt_spec emit_opts[] = {
    CLI_MODEL_OPTS,
    CLI_PASS_OPTS,
    CLI_CPU_OPTS,
    {"ir", OPT_FLAG, NULL, "emit the butterfly IR as text"},
    {"emit", OPT_VALUE, "llvm|asm", "emit the CPU backend's LLVM IR or assembly instead"},
    {"target", OPT_VALUE, "NAME", "lower with the target's default pipeline first: cpu, fpga"},
    {"accel", OPT_VALUE, "CONFIG", "fpga: the accelerator whose cost model the passes use (default: the engine every shipped board has)"},
    {"locs", OPT_FLAG, NULL, "annotate every op with its source location"},
    {"o", OPT_VALUE, "FILE", "write to FILE instead of standard output"},
};

const cli_cmd cmd_emit = {
    "emit", "FILE.fab|FILE.fir --ir | --emit=llvm|asm [options]", "print the butterfly IR of a model",
    "With --target T the IR is what backend T receives (after its default pipeline);\n"
    "--print-after=all shows every stage on standard error.", emit_opts, sizeof emit_opts / sizeof *emit_opts, 1, 1, run_emit,
};
