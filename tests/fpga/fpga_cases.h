/* fpga_cases.h — golden cases for the fpga tests that compile models
 * (test_plan.c, test_writeback.c): parsing one, and comparing outputs. */
#ifndef FPGA_CASES_H
#define FPGA_CASES_H

#include "fpga_test.h"
#include "ir.h"

/* tests/golden/cases/<name>.fir, parsed (NULL after a diagnostic). */
static inline fab_module *parse_case(const char *name, fab_diag *d) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/golden/cases/%s.fir", FAB_ROOT, name);
  size_t n;
  char *text = fpga_test_slurp(path, &n);
  fab_module *m = text ? fab_parse_module(path, text, n, d) : NULL;
  free(text);
  return m;
}

/* The same tensors, byte for byte (and at least one). */
static inline bool same_tensors(const fab_tensor_set *a, const fab_tensor_set *b) {
  if (a->count != b->count || !a->count) return false;
  for (int i = 0; i < a->count; i++) {
    const fab_tensor *x = &a->items[i], *y = fab_tset_find(b, x->name);
    if (!y || y->nbytes != x->nbytes || memcmp(x->data, y->data, x->nbytes)) return false;
  }
  return true;
}

#endif
