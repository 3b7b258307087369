/* keymap.c — open addressing from keys (>= 0) to indices, linear probing
 * over a power-of-two table kept at most half full (search_internal.h). */
#include <stdlib.h>

#include "search_internal.h"

static uint64_t slot(int64_t key, int64_t cap) {
  return ((uint64_t)key * 0x9E3779B97F4A7C15ull) & (uint64_t)(cap - 1);
}

int64_t cd_keymap_find(const cd_keymap *m, int64_t key) {
  if (!m->cap) return -1;
  uint64_t h = slot(key, m->cap);
  while (m->key[h] >= 0) {
    if (m->key[h] == key) return m->val[h];
    h = (h + 1) & (uint64_t)(m->cap - 1);
  }
  return -1;
}

static bool grow(cd_keymap *m) {
  int64_t nc = m->cap ? 2 * m->cap : 1024;
  int64_t *nk = malloc(sizeof(int64_t) * (size_t)nc), *nv = malloc(sizeof(int64_t) * (size_t)nc);
  if (!nk || !nv) {
    free(nk);
    free(nv);
    return false;
  }
  for (int64_t i = 0; i < nc; i++) nk[i] = -1;
  for (int64_t i = 0; i < m->cap; i++)
    if (m->key[i] >= 0) {
      uint64_t h = slot(m->key[i], nc);
      while (nk[h] >= 0) h = (h + 1) & (uint64_t)(nc - 1);
      nk[h] = m->key[i], nv[h] = m->val[i];
    }
  free(m->key);
  free(m->val);
  m->key = nk, m->val = nv, m->cap = nc;
  return true;
}

bool cd_keymap_put(cd_keymap *m, int64_t key, int64_t val) {
  if (2 * (m->n + 1) > m->cap && !grow(m)) return false;
  uint64_t h = slot(key, m->cap);
  while (m->key[h] >= 0) h = (h + 1) & (uint64_t)(m->cap - 1);
  m->key[h] = key, m->val[h] = val;
  m->n++;
  return true;
}

void cd_keymap_free(cd_keymap *m) {
  free(m->key);
  free(m->val);
  m->key = m->val = NULL;
  m->cap = m->n = 0;
}
