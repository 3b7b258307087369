/* lower_masked_mean.c — pass `lower-masked-mean`: a masked mean as a
 * weighted sum the attention processor computes.
 *
 * Requires: nothing.   Establishes: nothing (the ops it makes are HIGH|LOW).
 * Option: min-elems=<int> (default 0): rewrite only means over at least
 * this many elements (s * d) per sample.
 *
 *   %y = meanpool %x[.., s, d], %mask[.., s]
 * becomes
 *   %z = const {value = 0} : f32[.., 1, s]
 *   %w = softmax %z, %mask            (1/kept on kept tokens, 0 elsewhere)
 *   %p = matmul %w, %x                : f32[.., 1, d]
 *   %y = reshape %p                   : f32[.., d]
 *
 * Why: the accelerator's post-processing unit averages one vector-memory
 * half of rows at a time, and the mean of chunk means is only exact when
 * every chunk keeps the same number of tokens; a softmax over zeros under
 * the mask gives the exact weights, and the matmul streams the sequence
 * through the attention processor's `mm` at any length it supports.  A
 * row whose every token is padding gets weights 0 and a mean 0, as the
 * meanpool op defines.  Means whose mask has fewer leading axes than x
 * (a mask shared by several rows) are left as they are. */
#include "pass_internal.h"

static bool rewritable(rw *w, const fab_op *op, int64_t min_elems) {
  if (op->code != FAB_OP_MEANPOOL || op->noperands != 2) return false;
  const fab_type *xt = &w->f->ops[op->operands[0]].type, *mt = &w->f->ops[op->operands[1]].type;
  if (mt->rank + 1 != xt->rank) return false;
  return xt->dims[xt->rank - 1] * xt->dims[xt->rank - 2] >= min_elems;
}

static void lower_one(rw *w, int i) {
  const fab_op *op = &w->f->ops[i];
  fab_loc loc = op->loc;
  int x = w->map[op->operands[0]], mask = w->map[op->operands[1]];
  fab_type xt = rw_at(w, x)->type, wt = xt;
  int r = xt.rank;
  int64_t s = xt.dims[r - 2];
  wt.dims[r - 2] = 1; /* [.., 1, s] */
  wt.dims[r - 1] = s;
  int z = rw_new(w, FAB_OP_CONST, NULL, 0, loc);
  fab_op_set_float(w->m, rw_at(w, z), "value", 0.0);
  if (!rw_type(w, z, wt)) return;
  int ops[2] = {z, mask};
  int wts = rw_new(w, FAB_OP_SOFTMAX, ops, 2, loc);
  if (!rw_type(w, wts, wt)) return;
  fab_type pt = xt;
  pt.dims[r - 2] = 1; /* [.., 1, d] */
  int mm[2] = {wts, x};
  int p = rw_new(w, FAB_OP_MATMUL, mm, 2, loc);
  if (!rw_type(w, p, pt)) return;
  w->map[i] = rw_reshape(w, p, op->type.rank, op->type.dims, loc);
}

bool pass_lower_masked_mean(fab_pass_ctx *cx, fab_func *f) {
  int64_t min_elems = pass_opt(cx, "min-elems", 0);
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    if (rewritable(&w, &f->ops[i], min_elems)) lower_one(&w, i);
    else rw_copy(&w, i);
  }
  return rw_commit(&w);
}
