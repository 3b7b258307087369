/* tensor.c — dtypes, shapes and ordered tensor sets.
 *
 * Contract: a fab_tensor_set owns its tensors (names and data); names are
 * unique and keep their insertion order (re-adding a name replaces the
 * tensor in place).  Data buffers are 64-byte aligned (for vector loads in
 * compiled kernels), zero-filled, and at least 64 bytes long even for empty
 * tensors, so `data` is never NULL.  Sizes are computed with overflow
 * checks and capped at FAB_TENSOR_MAX_BYTES. */
#include "fab_tensor_internal.h"
#include "fab_alloc.h"
#include "fab_util.h"

#include <stdlib.h>
#include <string.h>

#define FAB_TENSOR_ALIGN 64

const char *fab_status_name(fab_status s) {
  switch (s) {
  case FAB_OK: return "ok";
  case FAB_E_IO: return "io";
  case FAB_E_FORMAT: return "format";
  case FAB_E_DTYPE: return "dtype";
  case FAB_E_SHAPE: return "shape";
  case FAB_E_MISSING: return "missing";
  case FAB_E_EXTRA: return "extra";
  case FAB_E_LIMIT: return "limit";
  case FAB_E_NOMEM: return "nomem";
  case FAB_E_ARG: return "arg";
  case FAB_E_RUNTIME: return "runtime";
  case FAB_E_VERSION: return "version";
  }
  return "unknown";
}

fab_status fab_fail(char *err, size_t errlen, fab_status st, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* an allocation failed: name its size */
    if (fab_alloc_failed_bytes()) {
      size_t len = strlen(err);
      snprintf(err + len, errlen - len, "%s", fab_alloc_failure_note());
    }
  }
  return st;
}

size_t fab_dtype_size(fab_tensor_dtype dt) {
  switch (dt) {
  case FAB_DT_F32: return 4;
  case FAB_DT_F16: return 2;
  case FAB_DT_BF16: return 2;
  case FAB_DT_I32: return 4;
  case FAB_DT_I64: return 8;
  case FAB_DT_F64: return 8;
  default: return 0;
  }
}

const char *fab_dtype_safetensors_name(fab_tensor_dtype dt) {
  switch (dt) {
  case FAB_DT_F32: return "F32";
  case FAB_DT_F16: return "F16";
  case FAB_DT_BF16: return "BF16";
  case FAB_DT_I32: return "I32";
  case FAB_DT_I64: return "I64";
  case FAB_DT_F64: return "F64";
  default: return "?";
  }
}

int64_t fab_tensor_numel(const fab_tensor *t) {
  if (!t || t->rank < 0 || t->rank > FAB_TENSOR_MAX_RANK) return 0;
  /* Tensors in a set have passed fab_shape_bytes, so this cannot overflow. */
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

fab_status fab_shape_bytes(fab_tensor_dtype dt, int rank, const int64_t *dims, uint64_t *out) {
  size_t es = fab_dtype_size(dt);
  if (es == 0 || rank < 0 || rank > FAB_TENSOR_MAX_RANK || (rank > 0 && !dims)) return FAB_E_ARG;
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0) return FAB_E_SHAPE;
  /* A zero dim makes the tensor empty whatever the other dims are, but
   * those must still be sane: check every factor against the limit. */
  uint64_t n = es;
  bool empty = false;
  for (int i = 0; i < rank; i++) {
    uint64_t d = (uint64_t)dims[i];
    if (d == 0) {
      empty = true;
      continue;
    }
    if (d > FAB_TENSOR_MAX_BYTES || n > FAB_TENSOR_MAX_BYTES / d) return FAB_E_LIMIT;
    n *= d;
  }
  *out = empty ? 0 : n;
  return FAB_OK;
}

const char *fab_shape_str(int rank, const int64_t *dims, char *buf, size_t len) {
  size_t at = 0;
  if (len == 0) return buf;
  buf[0] = '\0';
  int w = snprintf(buf, len, "[");
  at = w > 0 ? (size_t)w : 0;
  for (int i = 0; i < rank && at < len; i++) {
    w = snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (w < 0) break;
    at += (size_t)w;
  }
  if (at < len) snprintf(buf + at, len - at, "]");
  return buf;
}

fab_tensor_set *fab_tset_new(void) { return fab_calloc(1, sizeof(fab_tensor_set)); }

static void drop_index(fab_tensor_set *s) {
  if (!s->by_name) return;
  fab_index_free(s->by_name);
  free(s->by_name);
  s->by_name = NULL;
}

void fab_tset_free(fab_tensor_set *s) {
  if (!s) return;
  for (int i = 0; i < s->count; i++) {
    free(s->items[i].name);
    free(s->items[i].data);
  }
  free(s->items);
  drop_index(s);
  free(s);
}

/* ---- the name index ------------------------------------------------------ */

/* The index covers items[0 .. by_name->n - 1].  Entries appended directly
 * are indexed by the next fab_tset_add; while it covers fewer (or more)
 * entries than the set holds, lookups scan, so they are never wrong. */
static bool index_current(const fab_tensor_set *s) {
  return s->by_name && s->by_name->n == (size_t)s->count;
}

static bool name_is(const void *table, int entry, const void *key) {
  return strcmp(((const fab_tensor *)table)[entry].name, key) == 0;
}

/* Indexes the entries the index does not cover yet, with room for one
 * more; false if out of memory (the index is then dropped). */
static bool index_sync(fab_tensor_set *s) {
  if (s->by_name && s->by_name->n > (size_t)s->count) drop_index(s);
  if (!s->by_name && !(s->by_name = fab_calloc(1, sizeof *s->by_name))) return false;
  if (!fab_index_reserve(s->by_name, (size_t)s->count + 1)) {
    drop_index(s);
    return false;
  }
  for (size_t i = s->by_name->n; i < (size_t)s->count; i++)
    if (!fab_index_add(s->by_name, fab_hash_str(s->items[i].name), (int)i)) {
      drop_index(s);
      return false;
    }
  return true;
}

bool fab_tset_reindex(fab_tensor_set *s) {
  if (!s) return false;
  drop_index(s);
  return index_sync(s);
}

static fab_tensor *find_hashed(const fab_tensor_set *s, const char *name, uint64_t hash) {
  if (index_current(s)) {
    int i = fab_index_find(s->by_name, hash, name_is, s->items, name);
    return i < 0 ? NULL : &s->items[i];
  }
  for (int i = 0; i < s->count; i++)
    if (strcmp(s->items[i].name, name) == 0) return &s->items[i];
  return NULL;
}

fab_tensor *fab_tset_find(const fab_tensor_set *s, const char *name) {
  if (!s || !name) return NULL;
  return find_hashed(s, name, index_current(s) ? fab_hash_str(name) : 0);
}

/* aligned_alloc wants a size that is a multiple of the alignment. */
static void *alloc_data(uint64_t nbytes) {
  uint64_t sz = nbytes == 0 ? FAB_TENSOR_ALIGN
                            : (nbytes + FAB_TENSOR_ALIGN - 1) / FAB_TENSOR_ALIGN * FAB_TENSOR_ALIGN;
  if (sz > SIZE_MAX) return NULL;
  void *p = aligned_alloc(FAB_TENSOR_ALIGN, (size_t)sz);
  if (p) memset(p, 0, (size_t)sz);
  return p;
}

fab_tensor *fab_tset_add(fab_tensor_set *s, const char *name, fab_tensor_dtype dt, int rank,
                         const int64_t *dims) {
  uint64_t nbytes;
  if (!s || !name) return NULL;
  if (fab_shape_bytes(dt, rank, dims, &nbytes) != FAB_OK) return NULL;
  void *data = alloc_data(nbytes);
  if (!data) return NULL;

  uint64_t hash = fab_hash_str(name);
  if (!index_sync(s)) {
    free(data);
    return NULL;
  }
  fab_tensor *t = find_hashed(s, name, hash);
  if (t) {
    /* Replace in place: the position in the set (file order) is kept. */
    free(t->data);
  } else {
    char *nm = fab_strdup(name);
    if (!nm) {
      free(data);
      return NULL;
    }
    if (s->count == s->cap) {
      int ncap = s->cap ? s->cap * 2 : 8;
      fab_tensor *items = fab_realloc(s->items, (size_t)ncap * sizeof *items);
      if (!items) {
        free(nm);
        free(data);
        return NULL;
      }
      s->items = items;
      s->cap = ncap;
    }
    t = &s->items[s->count++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    fab_index_add(s->by_name, hash, s->count - 1); /* cannot fail: room reserved */
  }
  t->dtype = dt;
  t->rank = rank;
  memset(t->dims, 0, sizeof t->dims);
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  t->data = data;
  t->nbytes = (size_t)nbytes;
  return t;
}

bool fab_tset_remove(fab_tensor_set *s, const char *name) {
  fab_tensor *t = fab_tset_find(s, name);
  if (!t) return false;
  int i = (int)(t - s->items);
  free(t->name);
  free(t->data);
  memmove(&s->items[i], &s->items[i + 1], (size_t)(s->count - i - 1) * sizeof *t);
  s->count--;
  fab_tset_reindex(s); /* entries moved; out of memory leaves lookups linear */
  return true;
}

/* ---- element conversions ------------------------------------------------ */

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

float fab_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {
    /* Zero or subnormal: mant * 2^-24 is exact in F32 (a normal number). */
    float v = (float)mant * 0x1p-24f;
    return sign ? -v : v;
  }
  if (exp == 31) /* inf, or NaN keeping its payload (and quiet bit) */
    return bits_f32(sign | 0x7f800000u | (mant << 13));
  return bits_f32(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float fab_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t fab_f32_to_f16(float f) {
  uint32_t x = f32_bits(f);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (exp == 255) /* NaN stays a (quiet) NaN; inf stays inf */
    return mant ? (uint16_t)(sign | 0x7e00 | (mant >> 13)) : (uint16_t)(sign | 0x7c00);
  int e = (int)exp - 127;
  if (e > 15) return (uint16_t)(sign | 0x7c00);
  if (e >= -14) {
    /* Normal half: round the 23-bit mantissa to 10 bits, nearest-even; a
     * carry out of the mantissa correctly bumps the exponent (to inf at
     * the top). */
    uint32_t h = ((uint32_t)(e + 15) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  /* Subnormal half (units of 2^-24); F32 subnormals are far below half. */
  if (exp == 0) return sign;
  uint32_t m = mant | 0x800000; /* value = m * 2^(e-23) = m * 2^-shift half units */
  int shift = -e - 1;
  if (shift > 24) return sign;
  uint32_t h = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

/* F64 -> F32 with IEEE rounding; values past the F32 range become +-inf
 * explicitly, because an out-of-range cast is undefined in C. */
static float f64_to_f32(double d) {
  if (d >= 0x1.ffffffp127) return bits_f32(0x7f800000u);
  if (d <= -0x1.ffffffp127) return bits_f32(0xff800000u);
  return (float)d;
}

fab_status fab_tensor_convert(fab_tensor *t, fab_tensor_dtype to, char *err, size_t errlen) {
  if (!t || (unsigned)to >= FAB_DT_COUNT || (unsigned)t->dtype >= FAB_DT_COUNT)
    return fab_fail(err, errlen, FAB_E_ARG, "fab_tensor_convert: bad tensor or dtype");
  fab_tensor_dtype from = t->dtype;
  if (from == to) return FAB_OK;
  bool ok = (to == FAB_DT_F32 && (from == FAB_DT_F16 || from == FAB_DT_BF16 || from == FAB_DT_F64)) ||
            (to == FAB_DT_I32 && from == FAB_DT_I64) || (to == FAB_DT_F16 && from == FAB_DT_F32);
  if (!ok)
    return fab_fail(err, errlen, FAB_E_DTYPE, "tensor '%s': cannot convert %s to %s", t->name,
                    fab_dtype_safetensors_name(from), fab_dtype_safetensors_name(to));
  int64_t n = fab_tensor_numel(t);
  uint64_t nbytes = (uint64_t)n * fab_dtype_size(to);
  void *dst = alloc_data(nbytes);
  if (!dst)
    return fab_fail(err, errlen, FAB_E_NOMEM, "tensor '%s': out of memory converting to %s",
                    t->name, fab_dtype_safetensors_name(to));
  /* Element loads go through memcpy-free typed pointers: data is ours and
   * 64-byte aligned. */
  const void *src = t->data;
  for (int64_t i = 0; i < n; i++) {
    switch (from) {
    case FAB_DT_F16: ((float *)dst)[i] = fab_f16_to_f32(((const uint16_t *)src)[i]); break;
    case FAB_DT_BF16: ((float *)dst)[i] = fab_bf16_to_f32(((const uint16_t *)src)[i]); break;
    case FAB_DT_F64: ((float *)dst)[i] = f64_to_f32(((const double *)src)[i]); break;
    case FAB_DT_F32: ((uint16_t *)dst)[i] = fab_f32_to_f16(((const float *)src)[i]); break;
    case FAB_DT_I64: {
      int64_t v = ((const int64_t *)src)[i];
      if (v < INT32_MIN || v > INT32_MAX) {
        free(dst);
        return fab_fail(err, errlen, FAB_E_DTYPE,
                        "tensor '%s': element %lld = %lld is out of the I32 range", t->name,
                        (long long)i, (long long)v);
      }
      ((int32_t *)dst)[i] = (int32_t)v;
      break;
    }
    default: break;
    }
  }
  free(t->data);
  t->data = dst;
  t->dtype = to;
  t->nbytes = (size_t)nbytes;
  return FAB_OK;
}
