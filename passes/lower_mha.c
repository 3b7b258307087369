/* lower_mha.c — pass `lower-mha`: multi-head attention into per-head ops.
 *
 * Requires: nothing.   Establishes: no-mha.
 * Option: blocked=<0|1> (default 1).
 *
 *   %o = mha %q[.., s, d], %k[.., t, d], %v[.., t, d] {heads = H}
 * becomes, with dh = d / H,
 *   reshape [.., s, H, dh] ; transpose -> [.., H, s, dh]      (q, k, v)
 *   blocked=1: attention {scale = 1/sqrt(dh), block = t}
 *   blocked=0: matmul {transpose_b = 1} ; softmax {scale} ; matmul
 *   transpose -> [.., s, H, dh] ; reshape [.., s, d]
 *
 * A mask operand (i32 [.., t]) and the causal attribute go to the
 * attention or the softmax unchanged: the mask's axes are the leading
 * axes of q, a prefix of the per-head ops' leading axes [.., H, s].
 *
 * With one head the reshapes and transposes are identities and are not
 * emitted.  `block = t` (all keys in one block) is the safe starting
 * point; the tile pass shrinks it to what fits the target's fast memory. */
#include "pass_internal.h"

#include <math.h>

/* [.., s, d] -> [.., H, s, dh] */
static int split_heads(rw *w, int x, int64_t H, fab_loc loc) {
  fab_type t = rw_at(w, x)->type;
  int r = t.rank;
  int64_t dims[FAB_MAX_RANK], perm[FAB_MAX_RANK];
  for (int i = 0; i < r - 1; i++) dims[i] = t.dims[i];
  dims[r - 1] = H;
  dims[r] = t.dims[r - 1] / H;
  x = rw_reshape(w, x, r + 1, dims, loc);
  for (int i = 0; i < r + 1; i++) perm[i] = i;
  perm[r - 2] = r - 1; /* heads before sequence */
  perm[r - 1] = r - 2;
  return rw_transpose(w, x, perm, loc);
}

/* [.., H, s, dh] -> [.., s, d] */
static int merge_heads(rw *w, int x, fab_loc loc) {
  fab_type t = rw_at(w, x)->type;
  int r = t.rank; /* = original rank + 1 */
  int64_t dims[FAB_MAX_RANK], perm[FAB_MAX_RANK];
  for (int i = 0; i < r; i++) perm[i] = i;
  perm[r - 3] = r - 2;
  perm[r - 2] = r - 3;
  x = rw_transpose(w, x, perm, loc);
  t = rw_at(w, x)->type;
  for (int i = 0; i < r - 2; i++) dims[i] = t.dims[i];
  dims[r - 2] = t.dims[r - 2] * t.dims[r - 1];
  return rw_reshape(w, x, r - 1, dims, loc);
}

static bool lower_one(rw *w, int i, bool blocked) {
  const fab_op *op = &w->f->ops[i];
  fab_loc loc = op->loc;
  int q = w->map[op->operands[0]], k = w->map[op->operands[1]], v = w->map[op->operands[2]];
  fab_type qt = rw_at(w, q)->type, kt = rw_at(w, k)->type;
  int64_t H = fab_op_int(op, "heads", 1);
  int r = qt.rank;
  if (r < 2 || kt.rank != r || H < 1 || qt.dims[r - 1] % H != 0) {
    pass_error(w->cx, op, "mha operands or heads=%lld unsupported", (long long)H);
    return false;
  }
  if (H > 1 && r + 1 > FAB_MAX_RANK) {
    pass_error(w->cx, op, "mha input of rank %d leaves no room for the head axis", r);
    return false;
  }
  int64_t dh = qt.dims[r - 1] / H, s = qt.dims[r - 2], tlen = kt.dims[r - 2];
  double scale = 1.0 / sqrt((double)dh);
  if (H > 1) {
    /* Self-attention passes one value three times: split it once. */
    int q0 = q, k0 = k;
    q = split_heads(w, q, H, loc);
    k = k0 == q0 ? q : split_heads(w, k, H, loc);
    v = v == q0 ? q : v == k0 ? k : split_heads(w, v, H, loc);
  }
  fab_type ht = rw_at(w, q)->type; /* [.., H, s, dh] (or [.., s, d]) */
  int hr = ht.rank;
  int o, mask = op->noperands > 3 ? w->map[op->operands[3]] : -1;
  int64_t causal = fab_op_int(op, "causal", 0);
  if (blocked) {
    int ops[4] = {q, k, v, mask};
    o = rw_new(w, FAB_OP_ATTENTION, ops, mask >= 0 ? 4 : 3, loc);
    fab_op_set_float(w->m, rw_at(w, o), "scale", scale);
    fab_op_set_int(w->m, rw_at(w, o), "block", tlen);
    if (causal) fab_op_set_int(w->m, rw_at(w, o), "causal", causal);
    rw_type(w, o, ht);
  } else {
    fab_type st = ht;
    st.dims[hr - 1] = tlen;
    (void)s;
    int ops[2] = {q, k};
    o = rw_new(w, FAB_OP_MATMUL, ops, 2, loc);
    fab_op_set_int(w->m, rw_at(w, o), "transpose_b", 1);
    rw_type(w, o, st);
    int sops[2] = {o, mask};
    o = rw_new(w, FAB_OP_SOFTMAX, sops, mask >= 0 ? 2 : 1, loc);
    fab_op_set_float(w->m, rw_at(w, o), "scale", scale);
    if (causal) fab_op_set_int(w->m, rw_at(w, o), "causal", causal);
    rw_type(w, o, st);
    int ops2[2] = {o, v};
    o = rw_new(w, FAB_OP_MATMUL, ops2, 2, loc);
    rw_type(w, o, ht);
  }
  if (H > 1) o = merge_heads(w, o, loc);
  w->map[i] = o;
  return w->ok;
}

bool pass_lower_mha(fab_pass_ctx *cx, fab_func *f) {
  bool blocked = pass_opt(cx, "blocked", 1) != 0;
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    if (f->ops[i].code == FAB_OP_MHA) {
      if (!lower_one(&w, i, blocked)) w.ok = false;
    } else {
      rw_copy(&w, i);
    }
  }
  return rw_commit(&w);
}
