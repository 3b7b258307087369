/* ast.c — arena helpers for the syntax tree. */
#include "ast.h"

#include <stdlib.h>

/* The arena only fails when the system is out of memory; the front end
 * treats that as fatal like every other part of fabc. */
void *ast_new(fab_arena *a, size_t size) {
  void *p = fab_arena_alloc(a, size);
  if (!p) fab_out_of_memory(__FILE__, __LINE__);
  return p;
}

void ast_push(fab_arena *a, ast_list **l, void *item) {
  if (!*l) *l = ast_new(a, sizeof **l);
  ast_list *list = *l;
  if (list->n == list->cap) {
    int cap = list->cap ? list->cap * 2 : 4;
    list->items = fab_arena_grow(a, list->items, sizeof(void *), (size_t)list->n, (size_t)cap);
    if (!list->items) fab_out_of_memory(__FILE__, __LINE__);
    list->cap = cap;
  }
  list->items[list->n++] = item;
}
