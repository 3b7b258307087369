/* cpu.h — the CPU backend: lowered butterfly IR to native code through the
 * LLVM C API, ahead of time (.ll / .s / .o / .so + model header) or just in
 * time (ORC LLJIT).
 *
 * Input: a module in lowered form (every op FAB_OPF_LOW; see passes/).
 * Each op becomes one internal kernel function `void k(void **args,
 * int64_t begin, int64_t end)` over its parallel rows (ops of equal
 * signature share one), plus an entry function that walks a constant
 * table of steps, running runs of row-local kernels as one parallel region
 * each (through fab_parallel for threads), and a descriptor (fab_model_desc, runtime/fab_runtime.h) that
 * the runtime loads.  Intermediates live in one scratch arena at the
 * memplan offsets (`plan.offset` / `plan.size` attributes) when every op
 * carries them, else at offsets assigned here.
 *
 * Errors are reported through fab_diag; nothing here exits.
 *
 * Code generation depends only on the IR (including the cpu.* attributes
 * of the cpu-* passes, passes/cpu_fold.c) and fab_cpu_options; no
 * environment variable changes it.  One variable dumps, for debugging:
 *   FAB_CPU_DUMP_IR         print the LLVM IR before optimisation to stderr
 * docs/cpu.md describes the backend.
 */
#ifndef FAB_CPU_H
#define FAB_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include "fab_runtime.h"
#include "fab_tensor.h"
#include "ir.h"

typedef struct fab_cpu_options {
  const char *cpu;      /* NULL, "" or "native": the host CPU */
  const char *features; /* NULL: the host's features (or the CPU's defaults
                           when cross-targeting), e.g. "+avx2,+fma" */
  int opt_level;        /* 0..3 (LLVM "default<Ox>") */
  bool embed_weights;   /* AOT: put the weights into the .so (needs `weights`) */
  const fab_tensor_set *weights; /* for embed_weights */
  int threads;          /* JIT runs: threads per run (<= 1: caller only) */
  int vector_lanes;     /* 0: the CPU's widest vector (its name or the host's
                           features), adjusted by `features`: 16 with
                           AVX-512, 8 with AVX/AVX2, else 4 */
  /* Code-generation choices: which kernel an op gets (all off / 0 by
   * default; fab_cpu_codegen_options_parse, `fabc --codegen`).  Decisions
   * about the IR are pass options instead (cpu-chain-bfly, ...). */
  bool no_share;         /* no-share: one kernel per op, none shared between
                            ops of equal signature (e.g. a deep model's layers) */
  bool scalar_dft;       /* scalar-dft: the scalar dft kernel, not the tiled one */
  bool no_real_dft;      /* no-real-dft: the tiled dft does not use that a
                            `complex` operand has zero imaginary parts */
  bool scalar_attention; /* scalar-attention: the scalar attention kernel */
  int attention_rows;    /* attention-rows=1|2|4: query rows per register
                            tile (0: 4, or 2 for heads over 4 vectors) */
  const char *llvm_pipeline; /* llvm-pipeline=TEXT: LLVM pass pipeline instead
                                of "default<O<opt_level>>" (NULL: that) */
  char linker[256];          /* linker=PROGRAM: the C compiler driver that links
                                a shared library ("": cc, found on PATH) */
} fab_cpu_options;

/* Host CPU, all features, O3, 1 thread, no codegen choices. */
void fab_cpu_options_default(fab_cpu_options *o);

/* Sets the code-generation fields of o from a comma list such as
 * "scalar-dft,attention-rows=2": no-share, scalar-dft, no-real-dft,
 * scalar-attention, attention-rows=1|2|4, linker=PROGRAM, llvm-pipeline=TEXT (last: TEXT
 * is the rest of the list, commas included; o->llvm_pipeline then points
 * into `text`, which must outlive o's use).  NULL or "" sets nothing.
 * False with a message in err (naming the valid options) on anything
 * else; o may then be partly set. */
bool fab_cpu_codegen_options_parse(fab_cpu_options *o, const char *text, char *err, size_t errlen);

/* What the target offers (fabc-bench and the tests read it; the cpu
 * target's cost model, backends/target_cpu.c, is filled from it).
 * fast_memory_bytes means what it means in fab_target_info: L2 per core. */
typedef struct fab_cpu_target {
  char name[64];             /* CPU name, e.g. "znver4" */
  int vector_lanes;          /* f32 lanes of the widest vector */
  int vector_registers;
  int64_t fast_memory_bytes; /* L2 per core */
  int64_t l1d_bytes;         /* L1d per core */
  int64_t max_vector_length; /* longest row the butterfly kernel keeps in L2 */
} fab_cpu_target;
bool fab_cpu_target_info(const fab_cpu_options *o, fab_cpu_target *out, fab_diag *d);

typedef enum {
  FAB_CPU_EMIT_LLVM_IR, /* textual LLVM IR after optimisation */
  FAB_CPU_EMIT_ASM,
  FAB_CPU_EMIT_OBJ,     /* + <out>.h */
  FAB_CPU_EMIT_SHARED,  /* linked with `cc -shared`; + <out>.h */
} fab_cpu_emit_kind;

/* Compiles `lowered` and writes out_path.  For OBJ and SHARED also writes
 * the C header next to it: out_path with its extension replaced by ".h"
 * (model.so -> model.h).  Returns false after reporting. */
bool fab_cpu_emit(const fab_module *lowered, const fab_cpu_options *o, fab_cpu_emit_kind kind,
                  const char *out_path, fab_diag *d);

/* The C header text for a model (malloc'd), as written by fab_cpu_emit. */
char *fab_cpu_header_text(const fab_module *lowered, fab_diag *d);

/* ---- JIT ----------------------------------------------------------------- */

typedef struct fab_cpu_jit fab_cpu_jit;

fab_cpu_jit *fab_cpu_jit_compile(const fab_module *lowered, const fab_cpu_options *o,
                                 fab_diag *d);
/* Binds `weights` (by parameter name, by reference: F32 tensors are not
 * copied and must stay alive and unchanged until the next binding), runs on `inputs` with
 * o->threads threads and fills `outputs` with one tensor per output op.
 * Run-time errors (token ids out of range, missing inputs) are reported
 * and return false.  Inputs of shape [n, declared...] run a batch of n
 * samples (fab_context_run).  weights NULL: the weights bound by an
 * earlier call stay (no re-binding, so the model's prepare step does not
 * run again: for repeated timed runs); a model with weights never bound
 * is an error.  Not reentrant for one JIT: for concurrent runs make
 * contexts on fab_cpu_jit_model(). */
bool fab_cpu_jit_run(fab_cpu_jit *j, const fab_tensor_set *weights, const fab_tensor_set *inputs,
                     fab_tensor_set *outputs, fab_diag *d);
/* The compiled model as a runtime model (for contexts, threads); owned by
 * the JIT: do not free it, free the JIT after every context. */
fab_model *fab_cpu_jit_model(fab_cpu_jit *j);
void fab_cpu_jit_free(fab_cpu_jit *j);

#endif /* FAB_CPU_H */
