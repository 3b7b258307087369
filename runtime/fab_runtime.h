/* fab_runtime.h — loading and running models compiled by `fabc build --target cpu`.
 *
 * A compiled model is a shared library (or an object linked statically)
 * exporting one descriptor symbol, FAB_MODEL_SYMBOL ("fab_model_v1"), of type
 * fab_model_desc.  The descriptor says what the model needs (weights, inputs,
 * outputs, scratch bytes, prepared bytes) and points at its entry function
 * and its prepare step (data derived from the weights once per binding,
 * handed to the entry after the weights).  This header is
 * the whole ABI between the compiler (backends/cpu) and the runtime: the
 * compiler emits the descriptor with exactly this layout.
 *
 * The runtime depends only on the C library, dlfcn and pthreads (and
 * fab_tensor.h for named tensors); never on the compiler or LLVM.
 *
 * Threading: a fab_model is immutable once weights are bound and may be
 * shared by any number of fab_contexts; each context owns its scratch memory
 * and its worker threads, so different contexts may run concurrently.  One
 * context must not be run from two threads at once.
 *
 * Errors: functions return a fab_status (or NULL plus a status) and write a
 * one-line message into `err` (at most errlen bytes) when err is not NULL.
 */
#ifndef FAB_RUNTIME_H
#define FAB_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "fab_tensor.h"
#include "fab_weight_map.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the ABI ---------------------------------------------------------- */

#define FAB_MODEL_SYMBOL "fab_model_v1"
#define FAB_MODEL_MAGIC 0x314C444D42414646ull /* "FFABMDL1" little-endian */
#define FAB_MODEL_ABI_VERSION 1
#define FAB_MODEL_MAX_TENSORS 65536
#define FAB_MODEL_MAX_NAME 1024

/* Work splitting handed to the entry function.  parallel_for(pool, fn,
 * args, n) must call fn(args, begin, end) over disjoint ranges covering
 * [0, n) and return when all are done.  A NULL `par` (or NULL
 * parallel_for) runs everything on the calling thread. */
typedef void (*fab_kernel_fn)(void **args, int64_t begin, int64_t end);
typedef struct fab_parallel {
  void *pool;
  void (*parallel_for)(void *pool, fab_kernel_fn fn, void **args, int64_t n);
  int64_t nthreads;
} fab_parallel;

/* Entry: returns 0 on success, FAB_RUN_E_* otherwise.  weights holds
 * nweights + 1 pointers: the weights in descriptor order, then the
 * prepared buffer (NULL when the descriptor has none; see below). */
typedef int32_t (*fab_model_run_fn)(const void *const *weights, const void *const *inputs,
                                    void *const *outputs, void *scratch, const fab_parallel *par);
/* Prepare: derived constants computed from the weights once per binding
 * instead of on every run (e.g. the feed-forward kernels' factored
 * twiddles).  Reads weights[0, nweights) and fills all prepared_bytes of
 * `prepared` (64-byte aligned, zeroed by the runtime); 0 on success.
 * The runtime calls it after every successful bind (and at load for
 * embedded weights) and hands the buffer to run as weights[nweights]. */
typedef int32_t (*fab_model_prepare_fn)(const void *const *weights, void *prepared);
enum { FAB_RUN_OK = 0, FAB_RUN_E_TOKEN = 1 /* token id out of range */ };

typedef struct fab_model_tensor_desc {
  const char *name;
  int32_t dtype; /* fab_tensor_dtype: FAB_DT_F32 or FAB_DT_I32 */
  int32_t rank;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  int64_t nbytes;
} fab_model_tensor_desc;

typedef struct fab_model_desc {
  uint64_t magic;       /* FAB_MODEL_MAGIC */
  uint32_t abi_version; /* FAB_MODEL_ABI_VERSION */
  uint32_t desc_size;   /* sizeof(fab_model_desc) */
  uint64_t hash;        /* hash of the lowered IR it was compiled from */
  const char *name;
  int32_t ninputs, noutputs, nweights;
  int32_t embedded_weights; /* 1: `weight_data` holds every weight */
  const fab_model_tensor_desc *inputs, *outputs, *weights;
  int64_t scratch_bytes;
  fab_model_run_fn run;
  const void *const *weight_data; /* NULL unless embedded */
  /* "TRIPLE CPU [+f1,+f2,...]", e.g. "x86_64-pc-linux-gnu znver3
   * +avx,+avx2,+avx512f": the features the code uses, among
   * FAB_MODEL_CPU_FEATURES; the loader refuses the model on a CPU that
   * lacks one (FAB_E_VERSION) instead of letting it fault */
  const char *target;
  /* Since the prepare step (older descriptors end at `target`, desc_size
   * FAB_MODEL_DESC_SIZE_V1, and still load: no prepared buffer).
   * prepared_bytes 0: no prepare step (prepare may be NULL). */
  int64_t prepared_bytes;
  fab_model_prepare_fn prepare;
} fab_model_desc;
/* The descriptor's size before prepared_bytes and prepare were added. */
#define FAB_MODEL_DESC_SIZE_V1 offsetof(fab_model_desc, prepared_bytes)

/* The x86-64 features a descriptor's target may name (the runtime can
 * test each on the running CPU). */
#define FAB_MODEL_CPU_FEATURES                                                                  \
  "avx,avx2,fma,f16c,bmi,bmi2,avx512f,avx512bw,avx512dq,avx512vl,avx512cd,avx512vnni,"         \
  "avx512bf16,avx512ifma,avx512vbmi,avx512vbmi2,avx512bitalg,avx512vpopcntdq,gfni,vaes,"       \
  "vpclmulqdq"
/* FAB_OK if this machine has every feature `target` names (or the target
 * is not x86-64); else FAB_E_VERSION naming the missing ones. */
fab_status fab_cpu_check_target(const char *target, char *err, size_t errlen);
/* The i-th feature the runtime tests, NULL past the end (for tests). */
const char *fab_cpu_feature_name(int i);

/* ---- loading ------------------------------------------------------------ */

typedef struct fab_model fab_model;
typedef struct fab_context fab_context;

/* dlopens a compiled model and checks every field of its descriptor: a
 * file that is not a shared library, lacks the symbol, comes from another
 * ABI version or carries absurd fields is an error, never a crash. */
fab_model *fab_model_load(const char *so_path, fab_status *status, char *err, size_t errlen);
/* The same checks for a descriptor already in this process (a statically
 * linked model.o, or a JIT).  The descriptor must outlive the model. */
fab_model *fab_model_from_desc(const fab_model_desc *desc, fab_status *status, char *err,
                               size_t errlen);
void fab_model_free(fab_model *m); /* after every context is freed */

/* Copies the named weights in (F16/BF16/F64 are converted to F32 first;
 * the set is not modified).  Missing or misshaped tensors are errors
 * naming the tensor; extra tensors are ignored.  Models compiled with
 * embedded weights need no binding (binding replaces them).  Every bind
 * variant then runs the model's prepare step (a failure is an error and
 * leaves the model unbound). */
fab_status fab_model_bind_weights(fab_model *m, const fab_tensor_set *weights, char *err,
                                  size_t errlen);

/* The same checks, but F32 tensors are used in place (others are
 * converted into private copies): `weights` must stay alive and unchanged
 * while the model runs, until the next bind or fab_model_free. */
fab_status fab_model_bind_weights_ref(fab_model *m, const fab_tensor_set *weights, char *err,
                                      size_t errlen);

/* The same with a weight map (fab_weight_map.h; NULL: none) for files
 * saved elsewhere, e.g. by PyTorch: entries are renamed, stated reshapes
 * (leading axes of size 1) are applied, and, unlike the plain binding,
 * entries no weight uses are errors (FAB_E_EXTRA) unless the map allows
 * them, as in `fabc run`.  A missing weight's message names the closest
 * entries of the set.  The set is not modified. */
fab_status fab_model_bind_weights_map(fab_model *m, const fab_tensor_set *weights,
                                      const fab_weight_map *map, char *err, size_t errlen);
fab_status fab_model_bind_weights_map_ref(fab_model *m, const fab_tensor_set *weights,
                                          const fab_weight_map *map, char *err, size_t errlen);

int fab_model_num_inputs(const fab_model *m);
int fab_model_num_outputs(const fab_model *m);
int fab_model_num_weights(const fab_model *m);
const fab_model_tensor_desc *fab_model_input(const fab_model *m, int i);
const fab_model_tensor_desc *fab_model_output(const fab_model *m, int i);
const fab_model_tensor_desc *fab_model_weight(const fab_model *m, int i);
const fab_model_desc *fab_model_descriptor(const fab_model *m);
/* The pointer array the entry function takes as `weights`: the bound
 * weights and, at [nweights], the prepared buffer (NULL without one).
 * For programs that call the descriptor's run themselves; valid until the
 * next bind or fab_model_free.  NULL before the weights are bound. */
const void *const *fab_model_entry_weights(const fab_model *m);

/* ---- running ---------------------------------------------------------- */

/* A context: scratch memory plus `threads` - 1 worker threads (threads <= 1:
 * run on the caller only).  Needs bound (or embedded) weights. */
fab_context *fab_context_new(fab_model *m, int threads, fab_status *status, char *err,
                             size_t errlen);
/* Checks `inputs` by name, dtype and shape (I64 ids are accepted and
 * converted), runs the model and adds (or replaces) one tensor per output
 * in `outputs`.
 *
 * Batches: every input may instead carry one extra leading axis, the same
 * n >= 1 for all ([n, declared...]); the model then runs n samples and
 * each output gets the same leading axis.  n has no limit of its own (a
 * tensor is at most FAB_TENSOR_MAX_BYTES).  Sample i's results equal a
 * single run on sample i bit for bit, whatever the thread count: samples
 * share nothing but the weights.  With n >= threads every worker runs
 * whole samples with its own scratch (the context then holds `threads`
 * scratch buffers, made on the first such run); with fewer samples they
 * run one after another, each spread over the threads. */
fab_status fab_context_run(fab_context *ctx, const fab_tensor_set *inputs, fab_tensor_set *outputs,
                           char *err, size_t errlen);
/* The bare entry: pointers in descriptor order, no checks, no
 * allocation (benchmarks, applications that own their buffers).  Returns
 * FAB_E_RUNTIME for a bad token id. */
fab_status fab_context_run_raw(fab_context *ctx, const void *const *inputs, void *const *outputs);
/* n samples through bare pointers: inputs[i] / outputs[i] point at n
 * consecutive samples of the descriptor's input / output i (n * nbytes).
 * Threads as fab_context_run.  FAB_E_RUNTIME for a bad token id (err names
 * the sample). */
fab_status fab_context_run_batch_raw(fab_context *ctx, int64_t n, const void *const *inputs,
                                     void *const *outputs, char *err, size_t errlen);
void fab_context_free(fab_context *ctx);

#ifdef __cplusplus
}
#endif
#endif /* FAB_RUNTIME_H */
