/* safetensors.c — read and write the safetensors format.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON (an object
 * mapping tensor names to {dtype, shape, data_offsets}, plus an optional
 * "__metadata__" string map), then the data section.  Offsets are relative
 * to the data section.
 *
 * Contract (reading): the file is untrusted.  Before any tensor memory is
 * allocated the whole header is validated against the data section's real
 * size: known dtype, non-negative dims, shape x dtype size == end - begin,
 * offsets in range, and the tensors tile the data section exactly (no
 * overlap, no hole, nothing left over), as the format requires.  So the
 * memory we allocate is bounded by the file's size.  Tensors come back in
 * file (offset) order, with their stored dtype; callers convert.
 *
 * Contract (writing): JSON keys sorted; the header padded with spaces so
 * the data section starts 8-byte aligned; data ordered by element size
 * (widest first) then name, so each tensor is aligned to its element size;
 * written atomically. */
#include "fab_tensor_internal.h"
#include "fab_alloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A header larger than this is not a weights file (safetensors itself uses
 * 100 MB). */
#define ST_MAX_HEADER ((uint64_t)100 << 20)
/* Tensors per file (as many as a compiled model may have): the tensor set
 * is searched linearly by name, so a header of millions of empty tensors
 * would otherwise take hours to load. */
#define ST_MAX_TENSORS 65536

typedef struct entry {
  const char *name; /* points into the parsed JSON */
  fab_tensor_dtype dt;
  int rank;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  uint64_t begin, end;
  int index; /* position in the header, to keep sorting deterministic */
} entry;

/* Where the data section lives: in memory, or in an open file. */
typedef struct source {
  const unsigned char *mem;
  const fab_rfile *file;
  uint64_t data_off; /* file offset of the data section */
} source;

static const struct {
  const char *name;
  fab_tensor_dtype dt;
} dtype_names[] = {
    {"F32", FAB_DT_F32}, {"F16", FAB_DT_F16}, {"BF16", FAB_DT_BF16},
    {"I32", FAB_DT_I32}, {"I64", FAB_DT_I64}, {"F64", FAB_DT_F64},
};

static bool dtype_from_name(const char *s, fab_tensor_dtype *out) {
  for (size_t i = 0; i < sizeof dtype_names / sizeof dtype_names[0]; i++)
    if (strcmp(s, dtype_names[i].name) == 0) {
      *out = dtype_names[i].dt;
      return true;
    }
  return false;
}

static fab_status check_metadata(json_t *meta, const char *what, char *err, size_t errlen) {
  if (!json_is_object(meta))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: __metadata__ is not an object", what);
  const char *k;
  json_t *v;
  json_object_foreach(meta, k, v) {
    if (!json_is_string(v))
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: __metadata__ value '%s' is not a string",
                      what, k);
  }
  return FAB_OK;
}

/* Reads a non-negative JSON integer. */
static bool get_u64(json_t *j, uint64_t *out) {
  if (!json_is_integer(j)) return false;
  json_int_t v = json_integer_value(j);
  if (v < 0) return false;
  *out = (uint64_t)v;
  return true;
}

/* Validates one tensor entry of the header against the data length. */
static fab_status parse_entry(const char *name, json_t *obj, uint64_t data_len, const char *what,
                              entry *e, char *err, size_t errlen) {
  e->name = name;
  if (!*name) return fab_fail(err, errlen, FAB_E_FORMAT, "%s: a tensor has an empty name", what);
  if (!json_is_object(obj))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': entry is not an object", what, name);
  json_t *jdt = json_object_get(obj, "dtype"), *jshape = json_object_get(obj, "shape"),
         *joff = json_object_get(obj, "data_offsets");
  if (!json_is_string(jdt))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': missing or non-string dtype", what, name);
  if (!dtype_from_name(json_string_value(jdt), &e->dt))
    return fab_fail(err, errlen, FAB_E_DTYPE, "%s: tensor '%s': unsupported dtype '%s'", what, name,
                    json_string_value(jdt));
  if (!json_is_array(jshape))
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': missing or non-array shape", what, name);
  size_t rank = json_array_size(jshape);
  if (rank > FAB_TENSOR_MAX_RANK)
    return fab_fail(err, errlen, FAB_E_LIMIT, "%s: tensor '%s': rank %zu exceeds %d", what, name,
                    rank, FAB_TENSOR_MAX_RANK);
  e->rank = (int)rank;
  for (size_t i = 0; i < rank; i++) {
    json_t *d = json_array_get(jshape, i);
    if (!json_is_integer(d))
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': dim %zu is not an integer", what,
                      name, i);
    if (json_integer_value(d) < 0)
      return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': dim %zu is negative (%lld)",
                      what, name, i, (long long)json_integer_value(d));
    e->dims[i] = (int64_t)json_integer_value(d);
  }
  char sh[128];
  uint64_t nbytes = 0;
  if (fab_shape_bytes(e->dt, e->rank, e->dims, &nbytes) != FAB_OK)
    return fab_fail(err, errlen, FAB_E_LIMIT, "%s: tensor '%s': shape %s of %s exceeds %llu bytes",
                    what, name, fab_shape_str(e->rank, e->dims, sh, sizeof sh),
                    json_string_value(jdt), (unsigned long long)FAB_TENSOR_MAX_BYTES);
  if (!json_is_array(joff) || json_array_size(joff) != 2 ||
      !get_u64(json_array_get(joff, 0), &e->begin) || !get_u64(json_array_get(joff, 1), &e->end))
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: tensor '%s': data_offsets is not a pair of non-negative integers", what, name);
  if (e->begin > e->end)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: tensor '%s': data offsets [%llu, %llu) are reversed",
                    what, name, (unsigned long long)e->begin, (unsigned long long)e->end);
  if (e->end > data_len)
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: tensor '%s': data offsets [%llu, %llu) exceed the data section (%llu bytes)",
                    what, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)data_len);
  if (e->end - e->begin != nbytes)
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: tensor '%s': shape %s of %s needs %llu bytes but data offsets [%llu, %llu) hold %llu",
                    what, name, fab_shape_str(e->rank, e->dims, sh, sizeof sh),
                    json_string_value(jdt), (unsigned long long)nbytes,
                    (unsigned long long)e->begin, (unsigned long long)e->end,
                    (unsigned long long)(e->end - e->begin));
  return FAB_OK;
}

static int cmp_entry(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* Sorted entries must tile [0, data_len) exactly. */
static fab_status check_tiling(const entry *es, int n, uint64_t data_len, const char *what,
                               char *err, size_t errlen) {
  uint64_t pos = 0;
  for (int i = 0; i < n; i++) {
    if (es[i].begin < pos)
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", what,
                      es[i - 1].name, (unsigned long long)es[i - 1].begin,
                      (unsigned long long)es[i - 1].end, es[i].name,
                      (unsigned long long)es[i].begin, (unsigned long long)es[i].end);
    if (es[i].begin > pos)
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: hole in the data section at [%llu, %llu) before tensor '%s'", what,
                      (unsigned long long)pos, (unsigned long long)es[i].begin, es[i].name);
    pos = es[i].end;
  }
  if (pos != data_len)
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: data section has %llu bytes after the last tensor not covered by any tensor",
                    what, (unsigned long long)(data_len - pos));
  return FAB_OK;
}

/* Parses and validates the header, then copies every tensor from src. */
static fab_status read_common(const char *hdr, size_t hlen, uint64_t data_len, const source *src,
                              const char *what, fab_tensor_set **out, char *err, size_t errlen) {
  json_error_t jerr;
  json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header is not valid JSON: %s (at byte %d)",
                    what, jerr.text, jerr.position);
  fab_status st = FAB_OK;
  entry *es = NULL;
  fab_tensor_set *set = NULL;
  if (!json_is_object(root)) {
    st = fab_fail(err, errlen, FAB_E_FORMAT, "%s: header is not a JSON object", what);
    goto done;
  }
  size_t cap = json_object_size(root);
  if (cap > ST_MAX_TENSORS + 1) { /* + 1: __metadata__ */
    st = fab_fail(err, errlen, FAB_E_LIMIT, "%s: %zu tensors exceed the limit of %d", what, cap,
                  ST_MAX_TENSORS);
    goto done;
  }
  es = fab_calloc(cap ? cap : 1, sizeof *es);
  if (!es) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", what);
    goto done;
  }
  int n = 0;
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      if ((st = check_metadata(val, what, err, errlen)) != FAB_OK) goto done;
      continue;
    }
    es[n].index = n;
    if ((st = parse_entry(key, val, data_len, what, &es[n], err, errlen)) != FAB_OK) goto done;
    n++;
  }
  qsort(es, (size_t)n, sizeof *es, cmp_entry);
  if ((st = check_tiling(es, n, data_len, what, err, errlen)) != FAB_OK) goto done;

  set = fab_tset_new();
  if (!set) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", what);
    goto done;
  }
  for (int i = 0; i < n; i++) {
    fab_tensor *t = fab_tset_add(set, es[i].name, es[i].dt, es[i].rank, es[i].dims);
    if (!t) {
      st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: tensor '%s': out of memory (%llu bytes)", what,
                    es[i].name, (unsigned long long)(es[i].end - es[i].begin));
      goto done;
    }
    if (t->nbytes == 0) continue;
    if (src->mem) {
      memcpy(t->data, src->mem + src->data_off + es[i].begin, t->nbytes);
    } else if ((st = fab_rfile_read(src->file, src->data_off + es[i].begin, t->data, t->nbytes,
                                    err, errlen)) != FAB_OK) {
      goto done;
    }
  }
  *out = set;
  set = NULL;
done:
  fab_tset_free(set);
  free(es);
  json_decref(root);
  return st;
}

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

/* Checks the header length N against the total size; returns the data length. */
static fab_status check_header_len(uint64_t n, uint64_t total, const char *what, char *err,
                                   size_t errlen) {
  if (n > total - 8)
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: header length %llu exceeds the file (%llu bytes after the length)", what,
                    (unsigned long long)n, (unsigned long long)(total - 8));
  if (n > ST_MAX_HEADER)
    return fab_fail(err, errlen, FAB_E_LIMIT, "%s: header length %llu exceeds the limit of %llu",
                    what, (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
  if (n < 2)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: header length %llu is too short for a JSON object",
                    what, (unsigned long long)n);
  return FAB_OK;
}

fab_status fab_safetensors_read_mem(const void *buf, size_t len, const char *what,
                                    fab_tensor_set **out, char *err, size_t errlen) {
  if (!what) what = "<memory>";
  if (!out || (!buf && len)) return fab_fail(err, errlen, FAB_E_ARG, "%s: no buffer or output", what);
  *out = NULL;
  if (len < 8)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: %zu bytes is too short for a safetensors file",
                    what, len);
  const unsigned char *p = buf;
  uint64_t n = le64(p);
  fab_status st = check_header_len(n, len, what, err, errlen);
  if (st != FAB_OK) return st;
  source src = {.mem = p, .data_off = 8 + n};
  return read_common((const char *)p + 8, (size_t)n, len - 8 - n, &src, what, out, err, errlen);
}

fab_status fab_safetensors_read(const char *path, fab_tensor_set **out, char *err, size_t errlen) {
  if (!out) return fab_fail(err, errlen, FAB_E_ARG, "fab_safetensors_read: no output");
  *out = NULL;
  fab_rfile f;
  fab_status st = fab_rfile_open(&f, path, err, errlen);
  if (st != FAB_OK) return st;
  char *hdr = NULL;
  unsigned char lenbuf[8];
  if (f.size < 8) {
    st = fab_fail(err, errlen, FAB_E_FORMAT, "%s: %llu bytes is too short for a safetensors file",
                  path, (unsigned long long)f.size);
    goto done;
  }
  if ((st = fab_rfile_read(&f, 0, lenbuf, 8, err, errlen)) != FAB_OK) goto done;
  uint64_t n = le64(lenbuf);
  if ((st = check_header_len(n, f.size, path, err, errlen)) != FAB_OK) goto done;
  hdr = fab_malloc((size_t)n);
  if (!hdr) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory for the header", path);
    goto done;
  }
  if ((st = fab_rfile_read(&f, 8, hdr, (size_t)n, err, errlen)) != FAB_OK) goto done;
  source src = {.file = &f, .data_off = 8 + n};
  st = read_common(hdr, (size_t)n, f.size - 8 - n, &src, path, out, err, errlen);
done:
  free(hdr);
  fab_rfile_close(&f);
  return st;
}

/* Data order: wider elements first, then by name (as Python's safetensors
 * does), so every tensor starts at a multiple of its element size in the
 * 8-aligned data section and can be used in place by mmap-ing readers. */
static int cmp_layout(const void *a, const void *b) {
  const fab_tensor *x = *(const fab_tensor *const *)a, *y = *(const fab_tensor *const *)b;
  size_t sx = fab_dtype_size(x->dtype), sy = fab_dtype_size(y->dtype);
  if (sx != sy) return sx > sy ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Builds the JSON entry for one tensor at [off, off + nbytes). */
static json_t *entry_json(const fab_tensor *t, uint64_t off) {
  json_t *shape = json_array();
  for (int i = 0; shape && i < t->rank; i++)
    if (json_array_append_new(shape, json_integer((json_int_t)t->dims[i])) != 0) {
      json_decref(shape);
      return NULL;
    }
  return json_pack("{s:s, s:o, s:[I, I]}", "dtype", fab_dtype_safetensors_name(t->dtype), "shape",
                   shape, "data_offsets", (json_int_t)off, (json_int_t)(off + t->nbytes));
}

fab_status fab_safetensors_write(const char *path, const fab_tensor_set *s, char *err,
                                 size_t errlen) {
  if (!path || !s) return fab_fail(err, errlen, FAB_E_ARG, "fab_safetensors_write: no path or tensors");
  int n = s->count;
  fab_status st = FAB_OK;
  const fab_tensor **order = fab_calloc((size_t)n + 1, sizeof *order);
  fab_chunk *chunks = fab_calloc((size_t)n + 1, sizeof *chunks);
  json_t *root = json_object();
  char *text = NULL, *head = NULL;
  if (!order || !chunks || !root) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (int i = 0; i < n; i++) order[i] = &s->items[i];
  qsort(order, (size_t)n, sizeof *order, cmp_layout);

  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    const fab_tensor *t = order[i];
    uint64_t nb;
    if (!t->name || !*t->name || strcmp(t->name, "__metadata__") == 0) {
      st = fab_fail(err, errlen, FAB_E_ARG, "%s: tensor name '%s' cannot be written", path,
                    t->name ? t->name : "");
      goto done;
    }
    if (fab_shape_bytes(t->dtype, t->rank, t->dims, &nb) != FAB_OK || nb != t->nbytes ||
        (nb && !t->data)) {
      st = fab_fail(err, errlen, FAB_E_ARG, "%s: tensor '%s': inconsistent dtype, shape or size",
                    path, t->name);
      goto done;
    }
    json_t *ej = entry_json(t, off);
    if (!ej || json_object_set_new(root, t->name, ej) != 0) {
      st = fab_fail(err, errlen, FAB_E_ARG, "%s: tensor '%s': cannot encode (name not UTF-8?)",
                    path, t->name);
      goto done;
    }
    chunks[1 + i].data = t->data;
    chunks[1 + i].len = t->nbytes;
    off += nb;
  }
  text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: cannot encode the header", path);
    goto done;
  }
  /* Pad with spaces so that 8 + N is a multiple of 8. */
  size_t tl = strlen(text), hl = (tl + 7) / 8 * 8;
  head = fab_malloc(8 + hl);
  if (!head) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  for (int i = 0; i < 8; i++) head[i] = (char)(((uint64_t)hl >> (8 * i)) & 0xff);
  memcpy(head + 8, text, tl);
  memset(head + 8 + tl, ' ', hl - tl);
  chunks[0].data = head;
  chunks[0].len = 8 + hl;
  st = fab_write_chunks_atomic(path, chunks, n + 1, err, errlen);
done:
  free(head);
  free(text);
  json_decref(root);
  free(chunks);
  free(order);
  return st;
}
