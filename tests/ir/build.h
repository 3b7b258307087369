/* build.h — terse builders for hand-made IR in the ir.* tests. */
#ifndef FAB_TESTS_IR_BUILD_H
#define FAB_TESTS_IR_BUILD_H

#include <stdarg.h>

#include "ir.h"

/* ty(FAB_F32, 2, 128, 64) -> f32[128,64] */
static inline fab_type ty(fab_dtype dt, int rank, ...) {
  fab_type t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}

static inline fab_loc no_loc(void) { return (fab_loc){0}; }

static inline int b_input(fab_module *m, fab_func *f, const char *name, int index, fab_type t) {
  int i = fab_func_append(m, f, FAB_OP_INPUT, NULL, 0, no_loc());
  fab_op_set_str(m, &f->ops[i], "name", name);
  fab_op_set_int(m, &f->ops[i], "index", index);
  f->ops[i].type = t;
  return i;
}

/* Declares the parameter too (zeros). */
static inline int b_weight(fab_module *m, fab_func *f, const char *name, fab_type t) {
  fab_module_add_param(m, name, t, (fab_init){FAB_INIT_ZEROS, 0, 0}, no_loc(), NULL);
  int i = fab_func_append(m, f, FAB_OP_WEIGHT, NULL, 0, no_loc());
  fab_op_set_str(m, &f->ops[i], "name", name);
  f->ops[i].type = t;
  return i;
}

/* b_op(m, f, FAB_OP_ADD, 2, a, b): appends an op, no attributes, no type. */
static inline int b_op(fab_module *m, fab_func *f, fab_opcode code, int n, ...) {
  int ops[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n && i < 8; i++) ops[i] = va_arg(ap, int);
  va_end(ap);
  return fab_func_append(m, f, code, ops, n, no_loc());
}

static inline void b_output(fab_module *m, fab_func *f, int v, const char *name, int index) {
  int i = b_op(m, f, FAB_OP_OUTPUT, 1, v);
  fab_op_set_str(m, &f->ops[i], "name", name);
  fab_op_set_int(m, &f->ops[i], "index", index);
}

#endif
