/* npy.c — read and write NumPy .npy files (one tensor each).
 *
 * Layout: "\x93NUMPY", major, minor, a little-endian header length (u16 in
 * version 1.0, u32 in 2.0 and 3.0), the header (a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and '\n'), then the raw data.
 *
 * Contract (reading): the file is untrusted.  The dict is parsed by a small
 * tokenizer that accepts exactly the three keys (any order, either quote
 * style, trailing commas, Python 2 'L' integer suffixes) and nothing else;
 * only little-endian f2/f4/f8/i4/i8 in C order are supported; the data must
 * be exactly shape x dtype size bytes.  Allocation happens only after the
 * sizes agree with the real file size.
 * Contract (writing): version 1.0 (2.0 if the header would not fit), header
 * padded so the data starts 64-byte aligned, as NumPy does; atomic. */
#include "fab_tensor_internal.h"
#include "fab_alloc.h"

#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER ((uint64_t)1 << 20)
#define NPY_MAGIC "\x93NUMPY"

typedef struct npy_info {
  fab_tensor_dtype dt;
  int rank;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  uint64_t data_off, nbytes;
} npy_info;

typedef struct lexer {
  const char *p, *end;
} lexer;

static void skip_ws(lexer *lx) {
  while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
    lx->p++;
}

static bool eat(lexer *lx, char c) {
  skip_ws(lx);
  if (lx->p < lx->end && *lx->p == c) {
    lx->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes (NumPy never writes any in these keys). */
static bool lex_string(lexer *lx, char *buf, size_t cap) {
  skip_ws(lx);
  if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) return false;
  char q = *lx->p++;
  size_t n = 0;
  while (lx->p < lx->end && *lx->p != q) {
    if (*lx->p == '\\' || n + 1 >= cap) return false;
    buf[n++] = *lx->p++;
  }
  if (lx->p >= lx->end) return false;
  lx->p++;
  buf[n] = '\0';
  return true;
}

static bool lex_word(lexer *lx, const char *w) {
  skip_ws(lx);
  size_t n = strlen(w);
  if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, w, n) != 0) return false;
  lx->p += n;
  return true;
}

/* A non-negative decimal integer (with an optional Python 2 'L'). */
static bool lex_int(lexer *lx, int64_t *out) {
  skip_ws(lx);
  if (lx->p >= lx->end || *lx->p < '0' || *lx->p > '9') return false;
  int64_t v = 0;
  while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
    int d = *lx->p++ - '0';
    if (v > (INT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (lx->p < lx->end && *lx->p == 'L') lx->p++;
  *out = v;
  return true;
}

/* '(' [int (',' int)* [',']] ')' */
static fab_status lex_shape(lexer *lx, npy_info *info, const char *what, char *err, size_t errlen) {
  if (!eat(lx, '('))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header 'shape' is not a tuple", what);
  info->rank = 0;
  if (eat(lx, ')')) return FAB_OK;
  for (;;) {
    int64_t d;
    if (!lex_int(lx, &d))
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: header 'shape' holds something other than non-negative integers", what);
    if (info->rank == FAB_TENSOR_MAX_RANK)
      return fab_fail(err, errlen, FAB_E_LIMIT, "%s: rank exceeds %d", what, FAB_TENSOR_MAX_RANK);
    info->dims[info->rank++] = d;
    bool comma = eat(lx, ',');
    if (eat(lx, ')')) break;
    if (!comma) return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header 'shape' tuple is malformed", what);
  }
  /* Python writes a 1-tuple as (3,); (3) would be an int, not a tuple, but
   * accepting it is harmless. */
  return FAB_OK;
}

static fab_status descr_dtype(const char *d, const char *what, fab_tensor_dtype *dt, char *err,
                              size_t errlen) {
  static const struct {
    const char *descr;
    fab_tensor_dtype dt;
  } tab[] = {{"<f4", FAB_DT_F32}, {"<f2", FAB_DT_F16}, {"<f8", FAB_DT_F64},
             {"<i4", FAB_DT_I32}, {"<i8", FAB_DT_I64}};
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strcmp(d, tab[i].descr) == 0) {
      *dt = tab[i].dt;
      return FAB_OK;
    }
  if (d[0] == '>')
    return fab_fail(err, errlen, FAB_E_DTYPE, "%s: big-endian dtype '%s' is not supported", what, d);
  return fab_fail(err, errlen, FAB_E_DTYPE,
                  "%s: dtype '%s' is not supported (want <f4, <f2, <f8, <i4 or <i8)", what, d);
}

/* Parses the header dict text into info->dt / rank / dims. */
static fab_status parse_dict(const char *h, size_t n, const char *what, npy_info *info, char *err,
                             size_t errlen) {
  lexer lx = {h, h + n};
  bool have_descr = false, have_fortran = false, have_shape = false;
  fab_status st;
  if (!eat(&lx, '{'))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header is not a dict literal", what);
  while (!eat(&lx, '}')) {
    char key[32], val[32];
    if (!lex_string(&lx, key, sizeof key) || !eat(&lx, ':'))
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header dict is malformed", what);
    if (strcmp(key, "descr") == 0 && !have_descr) {
      have_descr = true;
      skip_ws(&lx);
      if (lx.p < lx.end && (*lx.p == '[' || *lx.p == '{'))
        return fab_fail(err, errlen, FAB_E_DTYPE, "%s: structured dtypes are not supported", what);
      if (!lex_string(&lx, val, sizeof val))
        return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header 'descr' is not a short string", what);
      if ((st = descr_dtype(val, what, &info->dt, err, errlen)) != FAB_OK) return st;
    } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
      have_fortran = true;
      if (lex_word(&lx, "True"))
        return fab_fail(err, errlen, FAB_E_FORMAT,
                        "%s: Fortran-order arrays are not supported (save a C-contiguous array)", what);
      if (!lex_word(&lx, "False"))
        return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header 'fortran_order' is not a bool", what);
    } else if (strcmp(key, "shape") == 0 && !have_shape) {
      have_shape = true;
      if ((st = lex_shape(&lx, info, what, err, errlen)) != FAB_OK) return st;
    } else {
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: unexpected or repeated header key '%s'", what, key);
    }
    if (eat(&lx, '}')) break;
    if (!eat(&lx, ','))
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header dict is malformed (missing ',')", what);
  }
  skip_ws(&lx);
  if (lx.p != lx.end)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: junk after the header dict", what);
  if (!have_descr || !have_fortran || !have_shape)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header lacks '%s'", what,
                    !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
  return FAB_OK;
}

/* Validates the preamble and header (in `pre`, the first `prelen` bytes of
 * a file of `total` bytes) and the data size. */
static fab_status parse_npy(const unsigned char *pre, size_t prelen, uint64_t total,
                            const char *what, npy_info *info, char *err, size_t errlen) {
  if (total < 10 || prelen < 10)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: %llu bytes is too short for a .npy file", what,
                    (unsigned long long)total);
  if (memcmp(pre, NPY_MAGIC, 6) != 0)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: not a .npy file (bad magic)", what);
  unsigned major = pre[6], minor = pre[7];
  uint64_t hlen, start;
  if (major == 1 && minor == 0) {
    hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
    start = 10;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (prelen < 12)
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: truncated .npy preamble", what);
    hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    start = 12;
  } else {
    return fab_fail(err, errlen, FAB_E_VERSION, "%s: .npy format version %u.%u is not supported",
                    what, major, minor);
  }
  if (hlen > NPY_MAX_HEADER)
    return fab_fail(err, errlen, FAB_E_LIMIT, "%s: header length %llu exceeds the limit", what,
                    (unsigned long long)hlen);
  if (start + hlen > total || start + hlen > prelen)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header length %llu exceeds the file (%llu bytes)",
                    what, (unsigned long long)hlen, (unsigned long long)total);
  fab_status st = parse_dict((const char *)pre + start, (size_t)hlen, what, info, err, errlen);
  if (st != FAB_OK) return st;
  char sh[128];
  if (fab_shape_bytes(info->dt, info->rank, info->dims, &info->nbytes) != FAB_OK)
    return fab_fail(err, errlen, FAB_E_LIMIT, "%s: shape %s exceeds %llu bytes", what,
                    fab_shape_str(info->rank, info->dims, sh, sizeof sh),
                    (unsigned long long)FAB_TENSOR_MAX_BYTES);
  info->data_off = start + hlen;
  uint64_t have = total - info->data_off;
  if (have != info->nbytes)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: shape %s of %s needs %llu data bytes, file has %llu",
                    what, fab_shape_str(info->rank, info->dims, sh, sizeof sh),
                    fab_dtype_safetensors_name(info->dt), (unsigned long long)info->nbytes,
                    (unsigned long long)have);
  return FAB_OK;
}

static fab_status make_set(const npy_info *info, const char *name, const char *what,
                           fab_tensor_set **set, fab_tensor **t, char *err, size_t errlen) {
  *set = fab_tset_new();
  *t = *set ? fab_tset_add(*set, name, info->dt, info->rank, info->dims) : NULL;
  if (!*t) {
    fab_tset_free(*set);
    *set = NULL;
    return fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory (%llu bytes)", what,
                    (unsigned long long)info->nbytes);
  }
  return FAB_OK;
}

fab_status fab_npy_read_mem(const void *buf, size_t len, const char *name,
                            fab_tensor_set **out, char *err, size_t errlen) {
  const char *what = name ? name : "<npy>";
  if (!out || (!buf && len)) return fab_fail(err, errlen, FAB_E_ARG, "%s: no buffer or output", what);
  *out = NULL;
  npy_info info;
  fab_status st = parse_npy(buf, len, len, what, &info, err, errlen);
  if (st != FAB_OK) return st;
  fab_tensor_set *set;
  fab_tensor *t;
  if ((st = make_set(&info, name ? name : "array", what, &set, &t, err, errlen)) != FAB_OK) return st;
  if (t->nbytes) memcpy(t->data, (const unsigned char *)buf + info.data_off, t->nbytes);
  *out = set;
  return FAB_OK;
}

/* "dir/w.fc1.npy" -> "w.fc1" */
static char *file_stem(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 4 && strcmp(b + n - 4, ".npy") == 0) n -= 4;
  return fab_strndup(b, n);
}

fab_status fab_npy_read(const char *path, const char *name, fab_tensor_set **out, char *err,
                        size_t errlen) {
  if (!out) return fab_fail(err, errlen, FAB_E_ARG, "fab_npy_read: no output");
  *out = NULL;
  fab_rfile f;
  fab_status st = fab_rfile_open(&f, path, err, errlen);
  if (st != FAB_OK) return st;
  unsigned char *pre = NULL;
  char *stem = NULL;
  fab_tensor_set *set = NULL;
  /* The header is bounded, so read at most the preamble + the largest header. */
  uint64_t prelen = f.size < 12 + NPY_MAX_HEADER ? f.size : 12 + NPY_MAX_HEADER;
  pre = fab_malloc(prelen ? (size_t)prelen : 1);
  if (!pre) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  if ((st = fab_rfile_read(&f, 0, pre, (size_t)prelen, err, errlen)) != FAB_OK) goto done;
  npy_info info;
  if ((st = parse_npy(pre, (size_t)prelen, f.size, path, &info, err, errlen)) != FAB_OK) goto done;
  if (!name && !(name = stem = file_stem(path))) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  fab_tensor *t;
  if ((st = make_set(&info, name, path, &set, &t, err, errlen)) != FAB_OK) goto done;
  if (t->nbytes && (st = fab_rfile_read(&f, info.data_off, t->data, t->nbytes, err, errlen)) != FAB_OK)
    goto done;
  *out = set;
  set = NULL;
done:
  fab_tset_free(set);
  free(stem);
  free(pre);
  fab_rfile_close(&f);
  return st;
}

fab_status fab_npy_write(const char *path, const fab_tensor *t, char *err, size_t errlen) {
  if (!path || !t) return fab_fail(err, errlen, FAB_E_ARG, "fab_npy_write: no path or tensor");
  static const char *const descr[FAB_DT_COUNT] = {
      [FAB_DT_F32] = "<f4", [FAB_DT_F16] = "<f2", [FAB_DT_I32] = "<i4",
      [FAB_DT_I64] = "<i8", [FAB_DT_F64] = "<f8",
  };
  if ((unsigned)t->dtype >= FAB_DT_COUNT || !descr[t->dtype])
    return fab_fail(err, errlen, FAB_E_DTYPE, "%s: tensor '%s': dtype %s has no .npy equivalent",
                    path, t->name ? t->name : "", fab_dtype_safetensors_name(t->dtype));
  uint64_t nb;
  if (fab_shape_bytes(t->dtype, t->rank, t->dims, &nb) != FAB_OK || nb != t->nbytes ||
      (nb && !t->data))
    return fab_fail(err, errlen, FAB_E_ARG, "%s: tensor '%s': inconsistent dtype, shape or size",
                    path, t->name ? t->name : "");
  /* Room for the magic, dict, 8 dims of 20 digits, and 64 bytes of padding. */
  char head[512];
  size_t at = 10;
  at += (size_t)snprintf(head + at, sizeof head - at, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                         descr[t->dtype]);
  for (int i = 0; i < t->rank; i++)
    at += (size_t)snprintf(head + at, sizeof head - at, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  at += (size_t)snprintf(head + at, sizeof head - at, "%s), }", t->rank == 1 ? "," : "");
  size_t total = (at + 1 + 63) / 64 * 64; /* + '\n', data 64-byte aligned */
  memset(head + at, ' ', total - 1 - at);
  head[total - 1] = '\n';
  size_t hlen = total - 10;
  memcpy(head, NPY_MAGIC, 6);
  head[6] = 1;
  head[7] = 0;
  head[8] = (char)(hlen & 0xff);
  head[9] = (char)(hlen >> 8);
  fab_chunk chunks[2] = {{head, total}, {t->data, t->nbytes}};
  return fab_write_chunks_atomic(path, chunks, 2, err, errlen);
}
