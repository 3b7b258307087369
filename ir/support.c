/* support.c — who implements each op (op_targets.def) and the check a
 * target runs before code generation, so that an op a backend lacks is a
 * compile-time diagnostic at its source location, never a failure inside
 * the code generator. */
#include "ir.h"

/* One row per op, in the order of ops.def: a missing or extra row, or two
 * rows swapped, stops the build here. */
enum {
#define FAB_OP_IMPL(id, impls) FAB_OP_ROW_##id,
#include "op_targets.def"
#undef FAB_OP_IMPL
  FAB_OP_ROWS
};
_Static_assert((int)FAB_OP_ROWS == (int)FAB_OP_COUNT, "ir/op_targets.def needs exactly one row per op of ir/ops.def");
#define FAB_OP_IMPL(id, impls) \
  _Static_assert((int)FAB_OP_ROW_##id == (int)FAB_OP_##id, "ir/op_targets.def: row " #id " is out of the order of ir/ops.def");
#include "op_targets.def"
#undef FAB_OP_IMPL

const unsigned fab_op_impls[FAB_OP_COUNT] = {
#define FAB_OP_IMPL(id, impls) [FAB_OP_##id] = (impls),
#include "op_targets.def"
#undef FAB_OP_IMPL
};

bool fab_check_target_support(const fab_module *m, unsigned impl_bit, const char *target_name,
                              fab_diag *d) {
  const fab_func *f = m ? fab_module_main(m) : NULL;
  if (!f) return true; /* nothing to compile: the code generator says so */
  int uses[FAB_OP_COUNT] = {0};
  for (int i = 0; i < f->nops; i++) {
    unsigned code = (unsigned)f->ops[i].code;
    if (code < FAB_OP_COUNT && !(fab_op_impls[code] & impl_bit)) uses[code]++;
  }
  /* one message per opcode, at its first use, in program order */
  bool ok = true;
  for (int i = 0; i < f->nops; i++) {
    unsigned code = (unsigned)f->ops[i].code;
    if (code >= FAB_OP_COUNT || uses[code] == 0) continue;
    const fab_opinfo *info = &fab_opinfos[code];
    char more[48] = "";
    if (uses[code] > 1) snprintf(more, sizeof more, " (%d more use%s)", uses[code] - 1, uses[code] > 2 ? "s" : "");
    fab_error(d, f->ops[i].loc, "not supported on the %s target: %s%s%s", target_name, info->name,
              (info->flags & FAB_OPF_LOW) ? "" : ", a high-level op: run the target's pass pipeline to lower it",
              more);
    uses[code] = 0;
    ok = false;
  }
  return ok;
}
