/* target.h — what fabc compiles for.  One struct per target, in the style
 * of QBE's Target: its name, its default pass pipeline, its cost model
 * (filled from the real machine or the accelerator configuration), and
 * the entry points that compile, bind weights, run and build.  interp, cpu
 * and fpga are instances (target_interp.c, target_cpu.c, target_fpga.c);
 * the table in target.c lists them.  Nothing outside that table compares
 * target names: the driver looks a target up and calls it.
 *
 * Adding a target: one file defining a `const fab_target`, one row in
 * target.c's table (and its passes, if it has its own, in passes/).
 *
 * The flow (api/model.c drives it for `fabc` and libfabc):
 *
 *   written module --(t->cost_model, fab_run_pipeline(t->pipeline))--> lowered
 *   lowered --t->compile--> fab_compiled --t->bind_weights, t->run, t->build
 *
 * Errors go through fab_diag; nothing here exits or aborts.
 */
#ifndef FAB_TARGET_H
#define FAB_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "fab_tensor.h"
#include "ir.h"
#include "passes.h"

/* What the user chose (command-line options, fabc_options); each target
 * reads its own fields and ignores the others. */
typedef struct fab_target_config {
  const char *cpu;      /* cpu: --cpu NAME (NULL: this machine's) */
  const char *features; /* cpu: --features LIST (NULL: the CPU's) */
  const char *codegen;  /* cpu: --codegen LIST (code-generation options) */
  int opt_level;        /* cpu: LLVM 0..3 (out of range: 3) */
  int threads;          /* cpu: worker threads per run (<= 0: 1) */
  const char *accel;    /* fpga: configuration NAME or FILE.json (required unless: */
  const struct fab_fpga_config *accel_config; /* fpga: one already loaded, used instead) */
  bool build_only;      /* the model will be built, not run (cpu: no JIT) */
} fab_target_config;

/* Per-run requests and results. */
typedef struct fab_target_run {
  bool timing_only;       /* simulators: the cycle model alone; inputs/outputs may be NULL */
  const char *trace_path; /* simulators: write a Chrome/Perfetto trace */
  bool want_report;       /* simulators: fill report_text and report_json */
  char *report_text;      /* out (malloc'd): the report `fabc run --report` prints */
  char *report_json;      /* out (malloc'd): the same as JSON (api/fabc.h documents the keys) */
} fab_target_run;

typedef struct fab_compiled fab_compiled; /* a target's compiled model; its own type */

typedef struct fab_target {
  const char *name;        /* "cpu" */
  const char *summary;     /* one line for --help */
  const char *pipeline;    /* the default pass pipeline ("": none) */
  const char *build_kinds; /* what `fabc build --emit` can write, first = default; NULL: nothing */
  bool simulates;          /* run gives a cycle report (fabc_model_simulate) */
  /* Checks the options (may be NULL): a bad one is the caller's error,
   * reported before any work. */
  bool (*check_config)(const fab_target_config *cfg, fab_diag *d);
  /* The cost model the passes use, for this configuration. */
  bool (*cost_model)(const fab_target_config *cfg, fab_target_info *out, fab_diag *d);
  /* `lowered` is the pipeline's result; it outlives the compiled model. */
  fab_compiled *(*compile)(const fab_module *lowered, const fab_target_config *cfg, fab_diag *d);
  void (*release)(fab_compiled *c);
  /* Weights already checked against the model; kept by reference until
   * the next bind or release (the caller keeps them alive). */
  bool (*bind_weights)(fab_compiled *c, const fab_tensor_set *weights, fab_diag *d);
  /* Safe to call from several threads at once on one compiled model. */
  bool (*run)(fab_compiled *c, const fab_tensor_set *inputs, fab_tensor_set *outputs, fab_target_run *r,
              fab_diag *d);
  /* Writes `kind` (one of build_kinds) to path; `embed` (may be NULL):
   * weights to put into the artifact. */
  bool (*build)(fab_compiled *c, const char *kind, const char *path, const fab_tensor_set *embed, fab_diag *d);
} fab_target;

/* The table: by name (NULL if unknown), by index. */
const fab_target *fab_target_find(const char *name);
int fab_target_count(void);
const fab_target *fab_target_get(int i);
/* "interp, cpu, fpga" into buf. */
void fab_target_names(char *buf, size_t len);
/* Whether `kind` is one of t's build_kinds. */
bool fab_target_builds(const fab_target *t, const char *kind);

/* calloc for a target's compiled model; reports "out of memory" into d. */
void *fab_target_calloc(size_t size, fab_diag *d);

/* Runs `pipeline` (NULL: t's default) on m with t's cost model for cfg;
 * opts (may be NULL) supplies printing and verification settings (its
 * `target` field is ignored).  Then verifies m. */
bool fab_target_lower(const fab_target *t, const fab_target_config *cfg, fab_module *m, const char *pipeline,
                      const fab_pass_options *opts, fab_diag *d);

#endif /* FAB_TARGET_H */
