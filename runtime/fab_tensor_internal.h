/* fab_tensor_internal.h — helpers shared by the tensor sources of the
 * runtime (not installed, not for callers).  Everything here follows the
 * conventions of fab_tensor.h: a status, and a message in err. */
#ifndef FAB_TENSOR_INTERNAL_H
#define FAB_TENSOR_INTERNAL_H

#include "fab_tensor.h"

#include <stdarg.h>
#include <stdio.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tensor file readers assume a little-endian host"
#endif

/* Formats into err (if any) and returns st, so callers can write
 * `return fab_fail(err, errlen, FAB_E_FORMAT, "...", ...)`. */
fab_status fab_fail(char *err, size_t errlen, fab_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Size in bytes of a tensor of this dtype and shape: FAB_E_ARG for a bad
 * rank or dtype, FAB_E_SHAPE for a negative dim, FAB_E_LIMIT when the
 * product overflows or exceeds FAB_TENSOR_MAX_BYTES.  No message. */
fab_status fab_shape_bytes(fab_tensor_dtype dt, int rank, const int64_t *dims, uint64_t *out);

/* Formats "[2, 3, 4]" into buf (truncated if needed). */
const char *fab_shape_str(int rank, const int64_t *dims, char *buf, size_t len);

/* One piece of a file being written. */
typedef struct fab_chunk {
  const void *data;
  size_t len;
} fab_chunk;

/* Writes the concatenation of chunks atomically (see fab_write_file_atomic). */
fab_status fab_write_chunks_atomic(const char *path, const fab_chunk *chunks, int n, char *err,
                                   size_t errlen);

/* An open file being read: size known, reads are exact or an error. */
typedef struct fab_rfile {
  int fd;
  uint64_t size;
  const char *path;
} fab_rfile;

fab_status fab_rfile_open(fab_rfile *f, const char *path, char *err, size_t errlen);
void fab_rfile_close(fab_rfile *f);
/* Reads exactly len bytes at offset off (checked against the size). */
fab_status fab_rfile_read(const fab_rfile *f, uint64_t off, void *dst, size_t len, char *err,
                          size_t errlen);

/* Half / bfloat16 <-> float, exact widening, round-to-nearest-even narrowing. */
float fab_f16_to_f32(uint16_t h);
float fab_bf16_to_f32(uint16_t h);
uint16_t fab_f32_to_f16(float f);

#endif /* FAB_TENSOR_INTERNAL_H */
