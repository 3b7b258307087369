/* attention_block.c — pass `attention-block`: key blocks that fit fast
 * memory.
 *
 * Requires: lowered.   Establishes: nothing new.
 *
 * lower-mha gives every attention op block = t (all keys at once).  This
 * pass makes `block` the largest power of two (<= t) whose K and V blocks
 * and the scores of one query tile fit the target's fast memory (L2 per
 * core on the CPU), or t when everything fits.  An online softmax over
 * blocks computes the same value for any block size.  The CPU backend
 * reads `block`; the `tile` pass does the same as part of its hints. */
#include "pass_internal.h"

#include <string.h>

static int64_t floor_pow2(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

int64_t pass_attention_block(const fab_target_info *tg, const fab_func *f, const fab_op *op) {
  const fab_type *kt = &f->ops[op->operands[1]].type, *t = &op->type;
  int64_t tl = kt->dims[kt->rank - 2], dh = kt->dims[kt->rank - 1];
  int64_t s = t->dims[t->rank - 2];
  int64_t fit = tg->fast_memory_bytes / (4 * (2 * dh + s));
  return fit >= tl ? tl : floor_pow2(fit < 1 ? 1 : fit);
}

bool pass_attention_block_run(fab_pass_ctx *cx, fab_func *f) {
  for (int i = 0; i < f->nops; i++) {
    fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_ATTENTION) continue;
    /* attribute arrays are immutable once built (ir/module.c): set on a copy */
    fab_attr *attrs = fab_arena_alloc(cx->m->arena, sizeof(fab_attr) * (size_t)(op->nattrs + 1));
    if (!attrs) fab_out_of_memory(__FILE__, __LINE__);
    memcpy(attrs, op->attrs, sizeof(fab_attr) * (size_t)op->nattrs);
    op->attrs = attrs;
    fab_op_set_int(cx->m, op, "block", pass_attention_block(cx->target, f, op));
  }
  return true;
}
