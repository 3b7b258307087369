/* lower_bfly.c — pass `lower-bfly`: bfly.linear into radix-2 stages.
 *
 * Requires: nothing.   Establishes: no-bfly-linear.
 *
 *   %y = bfly.linear %x[.., in], %tw[S, B, L, n/2, 2, 2] (, %b[out])
 * becomes
 *   pad  (last axis in -> n; only if in < n)
 *   reshape [.., 1, n] (S = 1)  or  stack {count = S}  -> [.., S, n]
 *   bfly.stages {stages = [b, k, l]}      one op per radix-2 stage, B*L ops
 *   reshape [.., S*n] ; slice [0, out) (only if out < S*n) ; add %b
 *
 * The stage order is exactly torch_butterfly's (fabnet.md §2): block b
 * runs with increasing stride iff `increasing XOR (b odd)`; its stage k
 * has log stride k (increasing) or L-1-k (decreasing).  One op per stage
 * keeps the pass trivially correct; fuse-stages groups them afterwards
 * for the target.  Nothing here changes arithmetic: each stage is still
 * two products and one add per output, in the same order. */
#include "pass_internal.h"

static bool lower_one(rw *w, int i) {
  const fab_op *op = &w->f->ops[i];
  fab_loc loc = op->loc;
  int x = w->map[op->operands[0]];
  int tw = w->map[op->operands[1]];
  int bias = op->noperands > 2 ? w->map[op->operands[2]] : -1;
  fab_type xt = rw_at(w, x)->type, twt = rw_at(w, tw)->type;
  int64_t in = fab_op_int(op, "in", -1), out = fab_op_int(op, "out", -1);
  int64_t nblocks = fab_op_int(op, "nblocks", 1);
  bool increasing = fab_op_int(op, "increasing", 0) != 0;

  if (twt.rank != 6 || xt.rank < 1) {
    pass_error(w->cx, op, "bfly.linear with a twiddle of rank %d (expected 6)", twt.rank);
    return false;
  }
  int64_t S = twt.dims[0], B = twt.dims[1], L = twt.dims[2], n = twt.dims[3] * 2;
  if (pass_log2(n) != L || B != nblocks || in != xt.dims[xt.rank - 1] || in > n ||
      out < 1 || out > S * n) {
    pass_error(w->cx, op, "bfly.linear attributes disagree with its operand types");
    return false;
  }
  int r = xt.rank;
  int v = x;
  if (in < n) { /* zero-pad the features to the butterfly size */
    v = rw_new(w, FAB_OP_PAD, &v, 1, loc);
    fab_op_set_int(w->m, rw_at(w, v), "axis", r - 1);
    fab_op_set_int(w->m, rw_at(w, v), "size", n);
    fab_type t = xt;
    t.dims[r - 1] = n;
    rw_type(w, v, t);
  }
  int64_t dims[FAB_MAX_RANK];
  for (int k = 0; k < r - 1; k++) dims[k] = xt.dims[k];
  if (r + 1 > FAB_MAX_RANK) {
    pass_error(w->cx, op, "bfly.linear input of rank %d leaves no room for the stack axis", r);
    return false;
  }
  dims[r - 1] = S;
  dims[r] = n;
  if (S == 1) {
    v = rw_reshape(w, v, r + 1, dims, loc);
  } else { /* every stack multiplies its own copy of the row */
    v = rw_new(w, FAB_OP_STACK, &v, 1, loc);
    fab_op_set_int(w->m, rw_at(w, v), "count", S);
    rw_type(w, v, fab_type_make(xt.dtype, r + 1, dims));
  }
  fab_type st = rw_at(w, v)->type;
  for (int64_t b = 0; b < B; b++) {
    bool inc = increasing ^ (b & 1);
    for (int64_t k = 0; k < L; k++) {
      int64_t trip[3] = {b, k, inc ? k : L - 1 - k};
      int ops[2] = {v, tw};
      v = rw_new(w, FAB_OP_BFLY_STAGES, ops, 2, loc);
      fab_op_set_ints(w->m, rw_at(w, v), "stages", trip, 3);
      rw_type(w, v, st);
    }
  }
  dims[r - 1] = S * n;
  v = rw_reshape(w, v, r, dims, loc);
  if (out < S * n) {
    v = rw_new(w, FAB_OP_SLICE, &v, 1, loc);
    fab_op_set_int(w->m, rw_at(w, v), "axis", r - 1);
    fab_op_set_int(w->m, rw_at(w, v), "start", 0);
    fab_op_set_int(w->m, rw_at(w, v), "size", out);
    dims[r - 1] = out;
    rw_type(w, v, fab_type_make(xt.dtype, r, dims));
  }
  if (bias >= 0) {
    int ops[2] = {v, bias};
    v = rw_new(w, FAB_OP_ADD, ops, 2, loc);
    dims[r - 1] = out;
    rw_type(w, v, fab_type_make(xt.dtype, r, dims));
  }
  w->map[i] = v;
  return w->ok;
}

bool pass_lower_bfly(fab_pass_ctx *cx, fab_func *f) {
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    if (f->ops[i].code == FAB_OP_BFLY_LINEAR) {
      if (!lower_one(&w, i)) w.ok = false;
    } else {
      rw_copy(&w, i);
    }
  }
  return rw_commit(&w);
}
