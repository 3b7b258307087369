/* fab_util.h — helpers shared by the libraries and the driver.
 *
 * A hash index over a table the caller owns (names of parameters,
 * tensors, ports): O(1) expected lookups, geometric growth.  Strict
 * decimal integers (-D, integer options).  Typed JSON fields whose errors
 * name the field's path ("model.seq[2]"). */
#ifndef FAB_UTIL_H
#define FAB_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- hash index (index.c) ------------------------------------------------ */

/* Maps hashes to entry numbers of a table kept elsewhere; the caller's
 * `match` compares an entry with the key it looks up. */
typedef struct fab_index {
  struct fab_index_slot *slots;
  size_t cap; /* power of two, or 0 */
  size_t n;
} fab_index;
typedef bool (*fab_index_match)(const void *table, int entry, const void *key);

uint64_t fab_hash_str(const char *s);
/* The first entry added with `hash` for which match(table, entry, key)
 * holds; -1 if none. */
int fab_index_find(const fab_index *x, uint64_t hash, fab_index_match match, const void *table,
                   const void *key);
/* Adds `entry` under `hash` (no duplicate check); false if out of memory. */
bool fab_index_add(fab_index *x, uint64_t hash, int entry);
/* Room for n entries without growing (a reader that knows its count). */
bool fab_index_reserve(fab_index *x, size_t n);
void fab_index_free(fab_index *x);

/* A sparse map from int64 keys to pointers (per-model tables of a search
 * space far larger than the part a search visits). */
typedef struct fab_ptrmap {
  int64_t *keys;
  void **vals; /* NULL: empty slot */
  size_t cap, n;
} fab_ptrmap;
void *fab_ptrmap_get(const fab_ptrmap *m, int64_t key);
/* Sets `key` to `val` (not NULL); false if out of memory. */
bool fab_ptrmap_put(fab_ptrmap *m, int64_t key, void *val);
/* Frees the map, calling free_val (if given) on every value. */
void fab_ptrmap_free(fab_ptrmap *m, void (*free_val)(void *));

/* ---- decimal integers (num.c) -------------------------------------------- */

typedef enum { FAB_INT_OK, FAB_INT_SYNTAX, FAB_INT_OVERFLOW } fab_int_status;
/* An optional sign then decimal digits and nothing else (no spaces, no
 * 0x, a leading 0 is still decimal).  FAB_INT_OVERFLOW if the value does
 * not fit in 64 bits. */
fab_int_status fab_parse_int64(const char *s, int64_t *out);
/* "" for FAB_INT_OK, "is not a decimal integer", "does not fit in 64 bits". */
const char *fab_int_status_text(fab_int_status st);

/* ---- typed JSON fields (json_field.c) -------------------------------------- */

/* An integer in [lo, hi]: a JSON integer, or a real with an integral
 * value (1024.0).  Otherwise false with "PATH must be an integer in
 * [lo, hi], got VALUE" in err; `path` names the field. */
bool fab_json_int(const json_t *v, const char *path, int64_t lo, int64_t hi, int64_t *out,
                  char *err, size_t errlen);
/* A finite number in [lo, hi]. */
bool fab_json_number(const json_t *v, const char *path, double lo, double hi, double *out,
                     char *err, size_t errlen);
/* Object member `key` of `obj` (path "PREFIX.key", or "key" when prefix is
 * empty) through fab_json_int; `dflt` when absent. */
bool fab_json_member_int(const json_t *obj, const char *prefix, const char *key, int64_t lo,
                         int64_t hi, int64_t dflt, int64_t *out, char *err, size_t errlen);
bool fab_json_member_number(const json_t *obj, const char *prefix, const char *key, double lo,
                            double hi, double dflt, double *out, char *err, size_t errlen);

#endif /* FAB_UTIL_H */
