/* cli.h — internals of the fabc driver: option parsing shared by the
 * subcommands, and the subcommand table.  Each subcommand is a thin
 * function over library calls (cmd_*.c); everything it does is also
 * reachable from C through the libraries.
 *
 * Exit codes: 0 ok, 1 user error (with a message), 2 usage error.
 */
#ifndef FAB_CLI_H
#define FAB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { EXIT_OK = 0, EXIT_USER = 1, EXIT_USAGE = 2 };

typedef enum {
  OPT_FLAG,  /* --name */
  OPT_VALUE, /* --name VALUE or --name=VALUE */
  OPT_LIST,  /* repeatable: -D a=1 -D b=2 */
} opt_kind;

typedef struct opt_spec {
  const char *name;    /* long name without dashes ("weights"); "o" and "D" are short */
  opt_kind kind;
  const char *metavar; /* "FILE" */
  const char *help;
} opt_spec;

#define CLI_MAX_OPTS 48
#define CLI_MAX_LIST 64
#define CLI_MAX_POS 16

typedef struct opt_value {
  bool set;
  const char *value;
  const char *list[CLI_MAX_LIST];
  int nlist;
} opt_value;

typedef struct cli_cmd cli_cmd;

typedef struct cli_args {
  const cli_cmd *cmd;
  opt_value values[CLI_MAX_OPTS];
  const char *pos[CLI_MAX_POS];
  int npos;
} cli_args;

struct cli_cmd {
  const char *name;
  const char *usage;   /* "FILE.fab [options]" */
  const char *summary; /* one line */
  const char *details; /* paragraph shown by `fabc CMD --help`; may be NULL */
  const opt_spec *opts;
  int nopts;
  int min_pos, max_pos;
  int (*run)(const cli_args *a);
};

/* Lookup helpers for a command's parsed options. */
bool cli_flag(const cli_args *a, const char *name);
const char *cli_str(const cli_args *a, const char *name, const char *dflt);
const opt_value *cli_opt(const cli_args *a, const char *name);
/* Parses an integer option; prints an error and returns false on junk. */
bool cli_int(const cli_args *a, const char *name, int64_t dflt, int64_t lo, int64_t hi, int64_t *out);
/* Parses a real-valued option in [lo, hi] (the whole string: "1e-3x" is
 * junk); prints a usage error and returns false on junk. */
bool cli_double(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out);
int cli_usage_error(const cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Shared pieces (common.c). */
struct fab_module;
struct fab_diag;
struct fab_tensor_set;
struct fab_weight_map;
/* Reads a model: .fab through the front end (with -D and -I), .fir through
 * the IR parser.  Prints diagnostics to stderr; NULL on error. */
struct fab_module *cli_load_model(const cli_args *a, const char *path);
/* Whether any of --rename, --reshape, --weight-map, --allow-unused is given. */
bool cli_weight_map_given(const cli_args *a);
/* The weight map for --weights (*map NULL without --weights; map options
 * without it are a usage error); false after printing an error.
 * fab_wmap_free frees the map. */
bool cli_weights_map(const cli_args *a, struct fab_weight_map **map);
/* Weights (--weights through the weight map of --rename, --reshape,
 * --weight-map and --allow-unused; else seeded init --seed) and inputs
 * (--input, else seeded random) for a module; NULL after printing errors. */
struct fab_tensor_set *cli_load_weights(const cli_args *a, const struct fab_module *m);
struct fab_tensor_set *cli_load_inputs(const cli_args *a, const struct fab_module *m);
/* Writes outputs to -o (safetensors or .npy) or prints a summary. */
int cli_write_outputs(const cli_args *a, const struct fab_tensor_set *outs);
void cli_print_diag(struct fab_diag *d);
/* Reads a whole text file (at most 64 MiB), NUL-terminated; NULL after
 * printing why. */
char *cli_read_text(const char *path, size_t *len);
bool cli_ends_with(const char *s, const char *suffix);
/* Prints the module's IR (or any text) to -o (atomically) or to standard output. */
int cli_write_ir(const cli_args *a, const struct fab_module *m, unsigned flags);
int cli_write_text(const cli_args *a, const char *text);
/* -D NAME=INTEGER options into names[]/values[] (name storage in buf);
 * false after a usage error. */
bool cli_defines(const cli_args *a, const char **names, int64_t *values, char (*buf)[128], int *n);

/* The shared option blocks. */
#define CLI_MODEL_OPTS                                                                   \
  {"D", OPT_LIST, "NAME=VALUE", "set a named dimension (repeatable)"},                   \
  {"I", OPT_LIST, "DIR", "add a folder to the import search path (repeatable)"}
/* How --weights maps onto the model's parameters (docs/language.md,
 * "Weights from PyTorch"). */
#define CLI_WMAP_OPTS                                                                    \
  {"rename", OPT_LIST, "FROM=TO", "weights: names starting with FROM start with TO instead (longest FROM wins; repeatable)"}, \
  {"reshape", OPT_LIST, "NAME", "weights: parameter NAME may be stored with extra leading axes of size 1 (repeatable)"},     \
  {"weight-map", OPT_VALUE, "FILE", "weights: a JSON map {\"rename\": {..}, \"reshape\": [..], \"allow_unused\": true}"},  \
  {"allow-unused", OPT_FLAG, NULL, "weights: ignore entries the model does not use (buffers, extra heads)"}
#define CLI_DATA_OPTS                                                                    \
  {"weights", OPT_VALUE, "FILE", "weights (.safetensors or .npy); default: seeded init"}, \
  CLI_WMAP_OPTS,                                                                         \
  {"input", OPT_VALUE, "FILE", "inputs (.safetensors or .npy); default: seeded random"},  \
  {"seed", OPT_VALUE, "N", "seed for initialised weights and inputs (default 0)"}

#define CLI_PASS_OPTS                                                                    \
  {"passes", OPT_VALUE, "PIPELINE", "pass pipeline, e.g. lower-bfly,fuse-stages(k=3)"},       \
  {"print-before", OPT_VALUE, "PASS|all", "print the IR before these passes (to stderr)"},     \
  {"print-after", OPT_VALUE, "PASS|all", "print the IR after these passes (to stderr)"},       \
  {"stop-after", OPT_VALUE, "PASS", "stop the pipeline after this pass"},                      \
  {"verify-each", OPT_FLAG, NULL, "verify the IR and pass contracts after every pass"},        \
  {"time-passes", OPT_FLAG, NULL, "print the time each pass took"},                            \
  {"reproducer-dir", OPT_VALUE, "DIR", "where a failing pipeline writes its reproducer (.)"}

#define CLI_CPU_OPTS                                                                     \
  {"cpu", OPT_VALUE, "NAME", "cpu: target CPU (default: this machine's), e.g. znver4, x86-64-v3"}, \
  {"features", OPT_VALUE, "LIST", "cpu: target features, e.g. +avx2,+fma (default: the CPU's)"},   \
  {"opt-level", OPT_VALUE, "N", "cpu: LLVM optimisation level 0-3 (default 3)"},                  \
  {"threads", OPT_VALUE, "N", "cpu: worker threads (default: all cores)"},                        \
  {"codegen", OPT_VALUE, "LIST", "cpu: kernel choices, e.g. scalar-dft,attention-rows=2 (docs/cpu.md); fpga: op-map (docs/fpga.md)"}

/* Compiling through libfabc (pipeline.c).  The commands that compile,
 * run and build a model (check, emit, opt, run, build, stats) go through
 * api/fabc.h like any other client; the exploration commands work on the
 * IR with the libraries directly (cli_load_model). */
struct fabc_model;
/* `path` for `target` (NULL: none, with FABC_STAGE_IR) as far as `stage`,
 * with the command's -D, -I, pass, CPU and --accel options; NULL after
 * printing why, with the exit code in *rc. */
struct fabc_model *cli_compile(const cli_args *a, const char *path, const char *target, int stage, int *rc);
/* Prints an API error (and frees it); returns the exit code: 2 for a
 * FABC_E_ARG (the command line's fault), else 1. */
int cli_api_error(const cli_args *a, int status, char *err);
/* Whether `name` is a target of the table; else a usage error naming them. */
bool cli_target_known(const cli_args *a, const char *name, const char *what);
/* --weights (through the weight map) or seeded init into the model; exit code. */
int cli_bind_weights(const cli_args *a, struct fabc_model *m);
/* --input or seeded random inputs (--seed, --batch); NULL after printing,
 * with the exit code in *rc. */
struct fab_tensor_set *cli_model_inputs(const cli_args *a, struct fabc_model *m, int *rc);
/* --accel for the commands that only read a configuration (resources). */
struct fab_fpga_config;
int cli_fpga_config(const cli_args *a, struct fab_fpga_config *cfg);

extern const cli_cmd *const cli_commands[];
extern const int cli_ncommands;

#endif
