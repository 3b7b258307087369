/* arena.c — bump allocator for IR memory: one arena per module, freed in
 * one call, so passes never free individual nodes. */
#include "ir.h"
#include "fab_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  _Alignas(16) unsigned char data[];
} chunk;

struct fab_arena {
  chunk *head;
  size_t total;
};

enum { CHUNK_MIN = 64 * 1024 };

fab_arena *fab_arena_new(void) { return fab_calloc(1, sizeof(fab_arena)); }

void fab_arena_free(fab_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

static _Thread_local long fail_at; /* fab_arena_test_fail_at */

long fab_arena_test_fail_at(long n) {
  long left = fail_at;
  fail_at = n > 0 ? n : 0;
  return left;
}

static void *out_of_memory(void) {
  if (fab_oom_guarded()) fab_out_of_memory(__FILE__, __LINE__);
  return NULL;
}

void *fab_arena_alloc(fab_arena *a, size_t size) {
  if (fail_at > 0 && --fail_at == 0) return out_of_memory();
  if (size > SIZE_MAX / 2) return out_of_memory();
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  chunk *c = a->head;
  if (!c || c->size - c->used < size) {
    size_t cap = size > CHUNK_MIN ? size : CHUNK_MIN;
    c = fab_malloc(sizeof(chunk) + cap);
    if (!c) return out_of_memory();
    c->size = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += size;
  a->total += size;
  memset(p, 0, size);
  return p;
}

void *fab_arena_grow(fab_arena *a, void *old, size_t elem, size_t old_count,
                     size_t new_count) {
  if (elem && new_count > SIZE_MAX / elem) return NULL;
  void *p = fab_arena_alloc(a, elem * new_count);
  if (p && old && old_count) memcpy(p, old, elem * (old_count < new_count ? old_count : new_count));
  return p;
}

char *fab_arena_strndup(fab_arena *a, const char *s, size_t n) {
  char *p = fab_arena_alloc(a, n + 1);
  if (p) memcpy(p, s, n);
  return p;
}

char *fab_arena_strdup(fab_arena *a, const char *s) {
  return s ? fab_arena_strndup(a, s, strlen(s)) : NULL;
}

char *fab_arena_printf(fab_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n >= 0 ? fab_arena_alloc(a, (size_t)n + 1) : NULL;
  if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

size_t fab_arena_bytes(const fab_arena *a) { return a->total; }
