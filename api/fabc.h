/* fabc.h — the compiler as a library (libfabc.so): compile a .fab model for
 * a target into an in-memory model, bind weights, run it (reference
 * interpreter or CPU JIT), simulate it on the accelerator (cycle report),
 * count its parameters and MACs, or write it to a file (`fabc build`).
 *
 * The Python package (python/fabc) is a ctypes binding of exactly this
 * header; a C program uses it the same way.  Tensors cross the boundary as
 * fabc_tensors: a named, ordered set of dense row-major host tensors
 * (the runtime's fab_tensor_set; see runtime/fab_tensor.h).
 *
 * Errors: every call that can fail returns a fabc_status and, when `err` is
 * not NULL, stores a malloc'd message in *err (free it with fabc_free):
 * fabc's diagnostics as the CLI prints them (file:line:col, the source
 * line and a caret where a source location exists).  Nothing here exits or
 * aborts on bad input.
 *
 * Threads: a fabc_model may be run (fabc_model_run, fabc_model_simulate)
 * from any number of threads at once: each CPU run takes a context (scratch
 * memory) of its own from the model's pool, the interpreter and the
 * simulator keep their state per call.  fabc_model_bind_weights and
 * fabc_model_init_weights take the model's write lock: they wait for
 * running calls and runs wait for them.  fabc_model_free must not race with
 * anything on the same model.  Different models are independent, and
 * fabc_compile / fabc_stats may run in several threads at once.
 */
#ifndef FABC_H
#define FABC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FABC_API_VERSION 2

typedef enum {
  FABC_OK = 0,
  FABC_E_ARG,     /* bad argument (unknown target, missing option) */
  FABC_E_SOURCE,  /* the model does not compile (diagnostics in err) */
  FABC_E_IO,      /* a file cannot be read or written */
  FABC_E_TENSOR,  /* weights or inputs do not fit the model */
  FABC_E_RUN,     /* error while running (e.g. token id out of range) */
  FABC_E_NOMEM,
} fabc_status;

/* Element types (same numbering as the runtime's fab_tensor_dtype). */
typedef enum {
  FABC_F32 = 0,
  FABC_F16 = 1,
  FABC_BF16 = 2,
  FABC_I32 = 3,
  FABC_I64 = 4,
  FABC_F64 = 5,
} fabc_dtype;

typedef struct fabc_model fabc_model;
typedef struct fab_tensor_set fabc_tensors;

void fabc_free(void *p); /* messages and strings returned by this API */
int fabc_api_version(void);
const char *fabc_version(void); /* "0.1.0" (static) */

/* ---- tensor sets ---------------------------------------------------------- */

fabc_tensors *fabc_tensors_new(void);
void fabc_tensors_free(fabc_tensors *s);
/* Adds (or replaces) a tensor, copying `nbytes` of row-major data; nbytes
 * must equal the shape's size. */
fabc_status fabc_tensors_add(fabc_tensors *s, const char *name, int dtype, int rank,
                             const int64_t *dims, const void *data, size_t nbytes, char **err);
int fabc_tensors_count(const fabc_tensors *s);
/* The i-th tensor: pointers stay valid until the set changes or is freed. */
fabc_status fabc_tensors_get(const fabc_tensors *s, int i, const char **name, int *dtype, int *rank,
                             const int64_t **dims, const void **data, size_t *nbytes);
/* .safetensors or .npy, by extension (writes atomically). */
fabc_status fabc_tensors_load(const char *path, fabc_tensors **out, char **err);
fabc_status fabc_tensors_save(const char *path, const fabc_tensors *s, char **err);

/* ---- compiling -------------------------------------------------------------- */

typedef struct fabc_options {
  const char *source_path; /* a .fab (or .fir) file; or: */
  const char *source_text; /* .fab source text (source_path, if set, names it in messages) */
  const char *const *define_names; /* -D NAME=VALUE */
  const int64_t *define_values;
  int ndefines;
  const char *const *include_dirs; /* -I DIR */
  int ninclude_dirs;
  const char *target;     /* a name from fabc_target_name(): "interp" (default), "cpu", "fpga";
                             with FABC_STAGE_IR, NULL means no target (a generic cost model,
                             no default pipeline) */
  const char *accel_path; /* fpga: accelerator configuration, a shipped NAME or a JSON file; required */
  const char *passes;     /* NULL: the target's default pipeline */
  int threads;            /* cpu: worker threads per run (<= 0: 1) */
  int opt_level;          /* cpu: LLVM 0..3 (< 0 or > 3: 3) */
  const char *cpu;        /* cpu: target CPU name (NULL: this machine's) */
  const char *features;   /* cpu: target features (NULL: the CPU's) */
  /* ---- since API version 2 ---- */
  const char *codegen;    /* cpu: code-generation options (docs/cpu.md) */
  int stage;              /* how far to go: FABC_STAGE_RUN (0), _BUILD, _IR */
  /* Pass-manager debugging, as `fabc --print-after` etc. (docs/passes.md):
   * pass names, comma lists or "all"; output to print_stream (a FILE *;
   * NULL: stderr). */
  const char *print_before, *print_after, *stop_after;
  int verify_each, time_passes;
  const char *reproducer_dir; /* where a failing pipeline writes its reproducer (NULL: none) */
  void *print_stream;
} fabc_options;

enum {
  FABC_STAGE_RUN = 0, /* ready to run (cpu: JIT compiled) and to build */
  FABC_STAGE_BUILD,   /* ready to build only (cpu: no JIT; fabc_model_run fails) */
  FABC_STAGE_IR,      /* front end and pipeline only: fabc_model_ir, fabc_model_memplan */
};

/* The targets, in table order (NULL past the end), and one line on each. */
const char *fabc_target_name(int i);
const char *fabc_target_summary(int i);
/* Whether target i runs on a simulator (cycle reports: fabc_model_simulate). */
int fabc_target_simulates(int i);

/* Front end, the target's pass pipeline and its backend (CPU: JIT; FPGA:
 * the accelerator program), as far as o->stage says.  The model starts
 * without weights. */
fabc_status fabc_compile(const fabc_options *o, fabc_model **out, char **err);
void fabc_model_free(fabc_model *m);

/* What the model takes and gives, as written (weights by state_dict name).
 * kind: 0 inputs, 1 outputs, 2 weights.  Strings live as long as the model. */
enum { FABC_INPUTS = 0, FABC_OUTPUTS = 1, FABC_WEIGHTS = 2 };
int fabc_model_count(const fabc_model *m, int kind);
fabc_status fabc_model_tensor_info(const fabc_model *m, int kind, int i, const char **name, int *dtype,
                                   int *rank, const int64_t **dims);
const char *fabc_model_target(const fabc_model *m);
const char *fabc_model_name(const fabc_model *m);
/* Ops of the main function as written. */
int fabc_model_op_count(const fabc_model *m);
/* The IR as text (malloc'd): as written (lowered = 0) or as the backend
 * receives it (lowered = 1); locs: annotate ops with source locations. */
fabc_status fabc_model_ir(const fabc_model *m, int lowered, int locs, char **text, char **err);
/* The pipeline's memory plan (memplan): peak bytes of the planned arena and
 * the sum of every planned value's bytes; FABC_E_ARG if nothing is planned. */
fabc_status fabc_model_memplan(const fabc_model *m, int64_t *planned, int64_t *unplanned, char **err);

/* Binds weights by state_dict name (copied; F16/BF16/F64 converted): every
 * parameter must be present with its shape; extra tensors are an error
 * unless allow_extra. */
fabc_status fabc_model_bind_weights(fabc_model *m, const fabc_tensors *w, int allow_extra, char **err);
/* The same through a weight map (runtime/fab_weight_map.h: renames,
 * reshapes, unused entries), as `fabc run --weights --rename ...`.  map
 * may be NULL (exact names, no extras). */
struct fab_weight_map;
fabc_status fabc_model_bind_weights_map(fabc_model *m, const fabc_tensors *w, const struct fab_weight_map *map,
                                        char **err);
/* The same with the map given as JSON text, the format of
 * `--weight-map FILE`: {"rename": {"FROM": "TO"}, "reshape": ["NAME"],
 * "allow_unused": true} (docs/language.md, "Weights from PyTorch"). */
fabc_status fabc_model_bind_weights_json(fabc_model *m, const fabc_tensors *w, const char *map_json, char **err);
/* PyTorch's default initialisation, seeded (what `fabc run` does without
 * --weights, with the same seed the same values). */
fabc_status fabc_model_init_weights(fabc_model *m, uint64_t seed, char **err);

/* Seeded random inputs (token ids in range) for `batch` samples (0: the
 * declared shapes, no sample axis), added to `inputs`: what `fabc run`
 * uses without --input. */
fabc_status fabc_model_init_inputs(fabc_model *m, uint64_t seed, int64_t batch, fabc_tensors *inputs, char **err);

/* Runs on `inputs` (by name, declared shapes) and adds one tensor per
 * output to `outputs`.  On the fpga target this is the simulator. */
fabc_status fabc_model_run(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, char **err);
/* fpga: runs the simulator and returns its cycle report as JSON text in
 * *report_json (malloc'd; may be NULL): total_cycles, latency_ms, queue and
 * engine busy/stall, utilisations, off-chip bytes, model_cycles, and
 * "text" (the report `fabc run --report` prints).  `outputs` may be NULL
 * and `inputs` too with timing_only (the cycle model alone). */
fabc_status fabc_model_simulate(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs,
                                int timing_only, char **report_json, char **err);
/* Runs with options: simulators (fpga) write a trace and return their
 * report (report_text and report_json are malloc'd when want_report). */
typedef struct fabc_run_options {
  int timing_only;        /* simulators: the cycle model alone (inputs and outputs may be NULL) */
  const char *trace_path; /* simulators: a Chrome/Perfetto trace */
  int want_report;
  char *report_text;      /* out */
  char *report_json;      /* out */
} fabc_run_options;
fabc_status fabc_model_run_ex(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs,
                              fabc_run_options *ro, char **err);
/* Writes the compiled model as `kind` (cpu: "so", "obj", "llvm", "asm";
 * fpga: "fbin"; NULL: the first); embed_weights (cpu) puts the bound
 * weights into it. */
fabc_status fabc_model_emit(fabc_model *m, const char *kind, const char *out_path, int embed_weights, char **err);
/* Writes the compiled model: cpu: a shared library (+ its .h) loadable by
 * the runtime, with the bound weights embedded when embed_weights; fpga:
 * the .fbin program. */
fabc_status fabc_model_build(fabc_model *m, const char *out_path, int embed_weights, char **err);

/* ---- statistics ------------------------------------------------------------- */

/* `fabc stats --json`: parameters and MACs per layer and in total, as JSON
 * text (malloc'd).  Only source, defines and include dirs of `o` are used. */
fabc_status fabc_stats(const fabc_options *o, char **json, char **err);
/* The same as the table `fabc stats` prints (malloc'd). */
fabc_status fabc_stats_table(const fabc_options *o, char **text, char **err);

#ifdef __cplusplus
}
#endif

#endif /* FABC_H */
