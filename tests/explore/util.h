/* util.h — shared helpers of the explore.* tests: checks, a terse IR
 * builder that infers every type, and seeded random fills. */
#ifndef FAB_TESTS_EXPLORE_UTIL_H
#define FAB_TESTS_EXPLORE_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_tensor.h"
#include "ir.h"

static int check_failures;

#define CHECK(c)                                                                 \
  do {                                                                           \
    if (!(c)) {                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
      check_failures++;                                                          \
    }                                                                            \
  } while (0)

static inline fab_type ty(fab_dtype dt, int rank, ...) {
  fab_type t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}

static inline int b_input(fab_module *m, fab_func *f, const char *name, int index, fab_type t) {
  int i = fab_func_append(m, f, FAB_OP_INPUT, NULL, 0, (fab_loc){0});
  fab_op_set_str(m, &f->ops[i], "name", name);
  fab_op_set_int(m, &f->ops[i], "index", index);
  f->ops[i].type = t;
  return i;
}

static inline int b_weight(fab_module *m, fab_func *f, const char *name, fab_type t) {
  fab_module_add_param(m, name, t, (fab_init){FAB_INIT_NORMAL, 0, 0.5}, (fab_loc){0}, NULL);
  int i = fab_func_append(m, f, FAB_OP_WEIGHT, NULL, 0, (fab_loc){0});
  fab_op_set_str(m, &f->ops[i], "name", name);
  f->ops[i].type = t;
  return i;
}

/* Appends an op (attributes set afterwards, then b_infer). */
static inline int b_op(fab_module *m, fab_func *f, fab_opcode code, int n, ...) {
  int ops[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n && i < 8; i++) ops[i] = va_arg(ap, int);
  va_end(ap);
  return fab_func_append(m, f, code, ops, n, (fab_loc){0});
}

static inline int b_infer(fab_module *m, fab_func *f, int i) {
  char err[256];
  if (!fab_infer_op(m, f, &f->ops[i], err, sizeof err)) {
    fprintf(stderr, "infer %%%d (%s): %s\n", i, fab_opinfos[f->ops[i].code].name, err);
    check_failures++;
  }
  return i;
}

static inline void b_output(fab_module *m, fab_func *f, int v, const char *name, int index) {
  int i = b_op(m, f, FAB_OP_OUTPUT, 1, v);
  fab_op_set_str(m, &f->ops[i], "name", name);
  fab_op_set_int(m, &f->ops[i], "index", index);
  f->ops[i].type = f->ops[v].type;
}

static inline void fill_normal(fab_rng *r, double *x, int64_t n, double sd) {
  for (int64_t i = 0; i < n; i++) x[i] = sd * fab_rng_normal(r);
}

#endif
