/* fab_tensor.h — named host tensors and their files (safetensors, .npy).
 *
 * Part of the runtime: depends on the C library and jansson only, never on
 * the compiler.  Everything here treats files as untrusted: sizes are
 * checked for overflow, offsets against the file, dtypes against shapes;
 * a bad file is an error with a message naming the tensor, never an
 * out-of-bounds read.
 *
 * Errors: functions return a fab_status and, when `err` is not NULL, write
 * a one-line message into it (at most `errlen` bytes, NUL-terminated).
 */
#ifndef FAB_TENSOR_H
#define FAB_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  FAB_OK = 0,
  FAB_E_IO,       /* cannot open / read / write a file */
  FAB_E_FORMAT,   /* malformed or lying file */
  FAB_E_DTYPE,    /* unsupported or mismatched element type */
  FAB_E_SHAPE,    /* shape mismatch */
  FAB_E_MISSING,  /* a required tensor is absent */
  FAB_E_EXTRA,    /* an unexpected tensor is present */
  FAB_E_LIMIT,    /* a size limit was exceeded */
  FAB_E_NOMEM,
  FAB_E_ARG,      /* bad argument */
  FAB_E_RUNTIME,  /* error while running a model (e.g. token id out of range) */
  FAB_E_VERSION,  /* compiled model of another version / model */
} fab_status;

const char *fab_status_name(fab_status s);

typedef enum {
  FAB_DT_F32,
  FAB_DT_F16,
  FAB_DT_BF16,
  FAB_DT_I32,
  FAB_DT_I64,
  FAB_DT_F64,
  FAB_DT_COUNT
} fab_tensor_dtype;

#define FAB_TENSOR_MAX_RANK 8
/* Refuse single tensors larger than this (bytes) when reading files. */
#define FAB_TENSOR_MAX_BYTES ((uint64_t)1 << 36)

typedef struct fab_tensor {
  char *name;                      /* owned */
  fab_tensor_dtype dtype;
  int rank;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  void *data;                      /* owned, 64-byte aligned, row-major */
  size_t nbytes;
} fab_tensor;

/* An ordered set of uniquely named tensors (a state_dict, a file).
 * items[] may be read and edited in place, and entries appended up to
 * cap; code that renames entries or drops some directly calls
 * fab_tset_reindex afterwards (the name index would be stale). */
struct fab_index;
typedef struct fab_tensor_set {
  fab_tensor *items;
  int count, cap;
  struct fab_index *by_name; /* private (tensor.c): items[] by name */
} fab_tensor_set;

size_t fab_dtype_size(fab_tensor_dtype dt);
const char *fab_dtype_safetensors_name(fab_tensor_dtype dt); /* "F32", ... */
int64_t fab_tensor_numel(const fab_tensor *t);

fab_tensor_set *fab_tset_new(void);
void fab_tset_free(fab_tensor_set *s);
/* Adds a zero-filled tensor (replacing one of the same name); returns it,
 * or NULL if out of memory or the shape is invalid / too large. */
fab_tensor *fab_tset_add(fab_tensor_set *s, const char *name, fab_tensor_dtype dt,
                         int rank, const int64_t *dims);
/* O(1) expected through the name index (linear while it is stale). */
fab_tensor *fab_tset_find(const fab_tensor_set *s, const char *name);
bool fab_tset_remove(fab_tensor_set *s, const char *name);
/* Rebuilds the name index after direct edits of items[] (renames,
 * removals); false if out of memory (lookups then stay correct, linear). */
bool fab_tset_reindex(fab_tensor_set *s);

/* Converts a tensor of F16 / BF16 / F64 to F32 (I64 to I32 with a range
 * check) in place. */
fab_status fab_tensor_convert(fab_tensor *t, fab_tensor_dtype to, char *err, size_t errlen);

/* safetensors: read F32, F16, BF16, F64, I32, I64; write F32/I32/F16 as
 * stored.  Reading checks the header length, JSON, dtypes, shapes,
 * offsets (in range, non-overlapping, covering the data exactly). */
fab_status fab_safetensors_read(const char *path, fab_tensor_set **out, char *err, size_t errlen);
fab_status fab_safetensors_read_mem(const void *buf, size_t len, const char *what,
                                    fab_tensor_set **out, char *err, size_t errlen);
/* Writes atomically: a temporary file in the same folder, then rename. */
fab_status fab_safetensors_write(const char *path, const fab_tensor_set *s, char *err, size_t errlen);

/* .npy (format 1.0/2.0/3.0, little-endian, C order): one tensor, named
 * after the file's stem unless `name` is given. */
fab_status fab_npy_read(const char *path, const char *name, fab_tensor_set **out, char *err,
                        size_t errlen);
fab_status fab_npy_read_mem(const void *buf, size_t len, const char *name,
                            fab_tensor_set **out, char *err, size_t errlen);
fab_status fab_npy_write(const char *path, const fab_tensor *t, char *err, size_t errlen);

/* Reads a tensor file by extension (.safetensors or .npy). */
fab_status fab_tensors_load(const char *path, fab_tensor_set **out, char *err, size_t errlen);
fab_status fab_tensors_save(const char *path, const fab_tensor_set *s, char *err, size_t errlen);

/* Writes `len` bytes to `path` atomically (temporary file + fsync + rename);
 * the old file, if any, is untouched on failure. */
fab_status fab_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                                 size_t errlen);

/* ---- samples: an optional leading batch axis -----------------------------
 * A model declares the shape of one sample; every run entry point also
 * takes [n, declared...] (the same n >= 1 for every input) and returns
 * outputs with the same leading axis.  These helpers are shared by the
 * runtime, the interpreter and the simulator. */

/* The batch of one run, folded over its inputs: n = -1 before the first
 * input, 0 when the inputs carry no batch axis, else the sample count. */
typedef struct fab_batch {
  int64_t n;
  const char *first; /* the input that fixed n */
} fab_batch;
#define FAB_BATCH_INIT ((fab_batch){-1, NULL})

/* 0 when t has exactly the declared shape, n when it is [n, dims...]
 * (n >= 1), -1 otherwise. */
int64_t fab_batch_of(const fab_tensor *t, int rank, const int64_t *dims);
/* Folds input t (declared shape rank/dims) into b.  FAB_E_SHAPE with a
 * message naming the expected shape with and without the batch axis
 * ("input 'x' has shape [4, 31], expected [128] or [n, 128]"), or naming
 * the input that disagrees on n. */
fab_status fab_batch_add(fab_batch *b, const fab_tensor *t, int rank, const int64_t *dims,
                         char *err, size_t errlen);
/* Copies sample i of every tensor of `batched` (each [n, ...]) into
 * `sample` as a tensor without the leading axis. */
fab_status fab_tset_get_sample(const fab_tensor_set *batched, int64_t i, fab_tensor_set *sample,
                               char *err, size_t errlen);
/* Stores every tensor of `sample` as sample i of an [n, ...] tensor of the
 * same name in `batched` (made when i == 0; later samples must match). */
fab_status fab_tset_put_sample(fab_tensor_set *batched, int64_t n, int64_t i,
                               const fab_tensor_set *sample, char *err, size_t errlen);

/* A small deterministic RNG (xoshiro256**), seeded by splitmix64. */
typedef struct fab_rng {
  uint64_t s[4];
} fab_rng;
void fab_rng_seed(fab_rng *r, uint64_t seed);
uint64_t fab_rng_next(fab_rng *r);
double fab_rng_uniform(fab_rng *r);             /* [0, 1) */
double fab_rng_normal(fab_rng *r);              /* N(0, 1) */
int64_t fab_rng_below(fab_rng *r, int64_t n);   /* [0, n), unbiased */

#endif /* FAB_TENSOR_H */
