/* golden_case.h — loading one golden case (tests/golden/cases/<case>): the
 * IR text <case>.fir, parsed and verified, and <case>.safetensors split into
 * the weights (state_dict names), the inputs ("input.<name>") and the
 * expected outputs ("expected.<name>").  Shared by the interpreter's
 * golden runner and the backends' golden tests. */
#ifndef FAB_GOLDEN_CASE_H
#define FAB_GOLDEN_CASE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_tensor.h"
#include "ir.h"

typedef struct golden_case {
  char *text; /* the .fir source (kept: diagnostics point into it) */
  fab_module *module;
  fab_tensor_set *weights, *inputs, *expected;
} golden_case;

static inline char *golden_read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, k;
  do {
    if (n + 4096 > cap) {
      cap = cap ? cap * 2 : 65536;
      char *nb = realloc(buf, cap + 1);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    k = fread(buf + n, 1, cap - n, f);
    n += k;
  } while (k > 0);
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

static inline bool golden_copy(fab_tensor_set *dst, const char *name, const fab_tensor *t) {
  fab_tensor *c = fab_tset_add(dst, name, t->dtype, t->rank, t->dims);
  if (c) memcpy(c->data, t->data, t->nbytes);
  return c != NULL;
}

static inline void golden_case_free(golden_case *c) {
  free(c->text);
  fab_module_free(c->module);
  fab_tset_free(c->weights);
  fab_tset_free(c->inputs);
  fab_tset_free(c->expected);
  memset(c, 0, sizeof *c);
}

/* False after reporting (parse/verify errors into d, file errors to
 * stderr); c is then freed. */
static inline bool golden_case_load(const char *base, golden_case *c, fab_diag *d) {
  char path[4096], err[512];
  size_t len = 0;
  fab_tensor_set *all = NULL;
  memset(c, 0, sizeof *c);
  c->weights = fab_tset_new();
  c->inputs = fab_tset_new();
  c->expected = fab_tset_new();
  snprintf(path, sizeof path, "%s.fir", base);
  c->text = golden_read_text(path, &len);
  if (!c->text) {
    fprintf(stderr, "%s: cannot read\n", path);
    goto fail;
  }
  fab_diag_add_source(d, path, c->text, len);
  c->module = fab_parse_module(path, c->text, len, d);
  if (!c->module || !fab_verify(c->module, d)) goto fail;
  snprintf(path, sizeof path, "%s.safetensors", base);
  if (fab_safetensors_read(path, &all, err, sizeof err) != FAB_OK) {
    fprintf(stderr, "%s: %s\n", path, err);
    goto fail;
  }
  for (int i = 0; i < all->count; i++) {
    const fab_tensor *t = &all->items[i];
    bool ok = !strncmp(t->name, "input.", 6)      ? golden_copy(c->inputs, t->name + 6, t)
              : !strncmp(t->name, "expected.", 9) ? golden_copy(c->expected, t->name + 9, t)
                                                  : golden_copy(c->weights, t->name, t);
    if (!ok) {
      fprintf(stderr, "out of memory\n");
      goto fail;
    }
  }
  fab_tset_free(all);
  return true;
fail:
  fab_tset_free(all);
  golden_case_free(c);
  return false;
}

#endif
