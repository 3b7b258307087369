/* index.c — open addressing with linear probing over (hash, entry) slots.
 * The hash is stored, so growing never looks at the caller's table. */
#include <stdlib.h>

#include "fab_util.h"
#include "fab_alloc.h"

/* 8 bytes a slot: half the cache misses of a 64-bit hash at a million names */
struct fab_index_slot {
  uint32_t hash; /* the high half of the 64-bit hash */
  int32_t entry; /* -1: empty */
};

uint64_t fab_hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a, then a splitmix64 finish */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

int fab_index_find(const fab_index *x, uint64_t hash, fab_index_match match, const void *table,
                   const void *key) {
  if (!x->cap) return -1;
  uint32_t h = (uint32_t)(hash >> 32);
  for (size_t at = h & (x->cap - 1);; at = (at + 1) & (x->cap - 1)) {
    const struct fab_index_slot *s = &x->slots[at];
    if (s->entry < 0) return -1;
    if (s->hash == h && match(table, s->entry, key)) return s->entry;
  }
}

/* The stored 32 bits pick the slot too (tables stay under 2^32 slots:
 * entries are int), so growing needs nothing but the slots. */
static void put(struct fab_index_slot *slots, size_t cap, uint32_t h, int entry) {
  size_t at = h & (cap - 1);
  while (slots[at].entry >= 0) at = (at + 1) & (cap - 1);
  slots[at] = (struct fab_index_slot){h, entry};
}

static bool grow_to(fab_index *x, size_t cap) {
  if (cap > ((size_t)1 << 32) || cap > SIZE_MAX / sizeof *x->slots) return false;
  struct fab_index_slot *slots = fab_malloc(cap * sizeof *slots);
  if (!slots) return false;
  for (size_t i = 0; i < cap; i++) slots[i].entry = -1;
  /* walk the old slots from an empty one, so that no cluster is cut at the
   * table's end: entries of one hash keep their order (find returns the
   * first added) */
  size_t start = 0;
  while (start < x->cap && x->slots[start].entry >= 0) start++;
  for (size_t k = 0; k < x->cap; k++) {
    const struct fab_index_slot *s = &x->slots[(start + k) & (x->cap - 1)];
    if (s->entry >= 0) put(slots, cap, s->hash, s->entry);
  }
  free(x->slots);
  x->slots = slots;
  x->cap = cap;
  return true;
}

/* Keeps the load at most 1/2. */
static bool grow(fab_index *x) { return grow_to(x, x->cap ? 2 * x->cap : 64); }

bool fab_index_reserve(fab_index *x, size_t n) {
  size_t cap = x->cap ? x->cap : 64;
  while (cap < 2 * n && cap <= ((size_t)1 << 32)) cap *= 2;
  return cap == x->cap || grow_to(x, cap);
}

bool fab_index_add(fab_index *x, uint64_t hash, int entry) {
  if (2 * (x->n + 1) > x->cap && !grow(x)) return false;
  put(x->slots, x->cap, (uint32_t)(hash >> 32), entry);
  x->n++;
  return true;
}

void fab_index_free(fab_index *x) {
  free(x->slots);
  *x = (fab_index){0};
}

static size_t key_slot(int64_t key, size_t cap) {
  uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;
  return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

void *fab_ptrmap_get(const fab_ptrmap *m, int64_t key) {
  if (!m->cap) return NULL;
  for (size_t at = key_slot(key, m->cap);; at = (at + 1) & (m->cap - 1)) {
    if (!m->vals[at]) return NULL;
    if (m->keys[at] == key) return m->vals[at];
  }
}

static void ptr_put(int64_t *keys, void **vals, size_t cap, int64_t key, void *val) {
  size_t at = key_slot(key, cap);
  while (vals[at] && keys[at] != key) at = (at + 1) & (cap - 1);
  keys[at] = key;
  vals[at] = val;
}

bool fab_ptrmap_put(fab_ptrmap *m, int64_t key, void *val) {
  if (2 * (m->n + 1) > m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    int64_t *keys = fab_malloc(cap * sizeof *keys);
    void **vals = fab_calloc(cap, sizeof *vals);
    if (!keys || !vals) {
      free(keys);
      free(vals);
      return false;
    }
    for (size_t i = 0; i < m->cap; i++)
      if (m->vals[i]) ptr_put(keys, vals, cap, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    m->keys = keys, m->vals = vals, m->cap = cap;
  }
  if (!fab_ptrmap_get(m, key)) m->n++;
  ptr_put(m->keys, m->vals, m->cap, key, val);
  return true;
}

void fab_ptrmap_free(fab_ptrmap *m, void (*free_val)(void *)) {
  for (size_t i = 0; free_val && i < m->cap; i++)
    if (m->vals[i]) free_val(m->vals[i]);
  free(m->keys);
  free(m->vals);
  *m = (fab_ptrmap){0};
}
