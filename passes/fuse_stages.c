/* fuse_stages.c — pass `fuse-stages(k=K)`: radix-2^K butterfly kernels.
 *
 * Requires: no-bfly-linear (it works on the bfly.stages lower-bfly makes).
 * Establishes: nothing new; every bfly.stages op carries at most K triples.
 *
 * A chain is a run of bfly.stages ops where each one's only user is the
 * next, all with the same twiddle operand and all triples in the same
 * butterfly block b.  Its triples are concatenated, in order, and cut into
 * ceil(T/K) groups of nearly equal size (4,3,3 rather than 4,4,2: the same
 * number of passes over memory, less register pressure in the widest
 * kernel), one bfly.stages each.  Semantics are unchanged because the op
 * applies its triples in order, exactly as the chain did.
 *
 * Why stay inside one block: within a block the log strides of
 * consecutive stages are distinct and contiguous, so a group touches
 * 2^group elements spaced by those strides, the shape of a radix-2^k
 * kernel.  Across a block boundary the stride repeats.
 *
 * K defaults to the target's: on a CPU 2^K data vectors must stay in
 * registers with room for twiddles (32 AVX-512 registers: K = 4); on the
 * FPGA one engine pass runs every stage of a row (K = 12).
 *
 * Option merge-matrices=1 (default 0) also merges dense(dense(x, W1, b1),
 * W2, b2) into dense(x, matmul(W2, W1), dense(b1, W2, b2)) when the first
 * result has no other user and the multiply-adds per run fall (rows x
 * (mid*in + out*mid) against rows*out*in + out*mid*in: the weight product
 * is computed in the IR, there being no tensor constants).  Only dense
 * layers: merging butterflies would make them dense. */
#include "pass_internal.h"

#include <string.h>

/* The block of every triple of op, or -1 if they differ or op is not
 * a well-formed bfly.stages. */
static int64_t op_block(const fab_op *op) {
  if (op->code != FAB_OP_BFLY_STAGES || op->noperands != 2) return -1;
  const fab_attr *a = fab_op_attr(op, "stages");
  if (!a || a->kind != FAB_ATTR_INTS || a->nints < 3 || a->nints % 3) return -1;
  for (int t = 3; t < a->nints; t += 3)
    if (a->ints[t] != a->ints[0]) return -1;
  return a->ints[0];
}

/* Would merging dense j into its dense operand p save multiply-adds? */
static bool merge_pays(const fab_func *f, int p, int j) {
  const fab_type *x = &f->ops[f->ops[p].operands[0]].type;
  int64_t in = x->dims[x->rank - 1], rows = fab_type_numel(x) / in;
  int64_t mid = f->ops[p].type.dims[f->ops[p].type.rank - 1];
  int64_t out = f->ops[j].type.dims[f->ops[j].type.rank - 1];
  double before = (double)rows * (double)(mid * in + out * mid);
  double after = (double)rows * (double)(out * in) + (double)out * (double)mid * (double)in;
  return after < before;
}

static bool merge_matrices(fab_pass_ctx *cx, fab_func *f) {
  int n = f->nops;
  size_t nn = (size_t)(n ? n : 1);
  int *uses = pass_use_counts(cx->m, f);
  unsigned char *merge = fab_arena_alloc(cx->m->arena, nn), *absorbed = fab_arena_alloc(cx->m->arena, nn);
  int *mx = fab_arena_alloc(cx->m->arena, sizeof(int) * nn), *mw = fab_arena_alloc(cx->m->arena, sizeof(int) * nn);
  int *mb = fab_arena_alloc(cx->m->arena, sizeof(int) * nn);
  if (!merge || !absorbed || !mx || !mw || !mb) fab_out_of_memory(__FILE__, __LINE__);
  for (int j = 0; j < n; j++) {
    const fab_op *op = &f->ops[j];
    if (op->code != FAB_OP_DENSE) continue;
    int p = op->operands[0];
    if (f->ops[p].code == FAB_OP_DENSE && uses[p] == 1 && merge_pays(f, p, j)) merge[j] = absorbed[p] = 1;
  }
  rw w;
  rw_init(&w, cx, f);
  for (int j = 0; j < n && w.ok; j++) {
    const fab_op *op = &f->ops[j];
    if (op->code != FAB_OP_DENSE) {
      rw_copy(&w, j);
      continue;
    }
    int W = w.map[op->operands[1]], b = op->noperands > 2 ? w.map[op->operands[2]] : -1;
    if (merge[j]) { /* compose with the producer's effective (x, W, b) */
      int p = op->operands[0];
      fab_type wt = rw_at(&w, W)->type, pt = rw_at(&w, mw[p])->type;
      int ops[3] = {W, mw[p], 0};
      int nw = rw_new(&w, FAB_OP_MATMUL, ops, 2, op->loc);
      int64_t dims[2] = {wt.dims[0], pt.dims[1]};
      rw_type(&w, nw, fab_type_make(FAB_F32, 2, dims));
      if (mb[p] >= 0) { /* W2 b1 + b2 */
        ops[0] = mb[p], ops[1] = W, ops[2] = b;
        int nb = rw_new(&w, FAB_OP_DENSE, ops, b >= 0 ? 3 : 2, op->loc);
        rw_type(&w, nb, fab_type_make(FAB_F32, 1, dims));
        b = nb;
      }
      mx[j] = mx[p], mw[j] = nw, mb[j] = b;
    } else {
      mx[j] = w.map[op->operands[0]], mw[j] = W, mb[j] = b;
    }
    if (absorbed[j]) continue; /* its only user folds it in */
    int ops[3] = {mx[j], mw[j], mb[j]};
    int v = fab_func_copy_op(cx->m, &w.nf, op, NULL);
    fab_op *nop = rw_at(&w, v);
    nop->noperands = mb[j] >= 0 ? 3 : 2;
    if (nop->noperands > op->noperands) nop->operands = fab_arena_alloc(cx->m->arena, sizeof(int) * 3);
    if (!nop->operands) fab_out_of_memory(__FILE__, __LINE__);
    for (int k = 0; k < nop->noperands; k++) nop->operands[k] = ops[k];
    rw_type(&w, v, op->type);
    w.map[j] = v;
  }
  return rw_commit(&w);
}

bool pass_fuse_stages(fab_pass_ctx *cx, fab_func *f) {
  if (pass_opt(cx, "merge-matrices", 0) && !merge_matrices(cx, f)) return false;
  int64_t K = pass_opt(cx, "k", pass_default_fuse_k(cx->target));
  if (K < 1 || K > 62) {
    pass_error(cx, NULL, "k=%lld out of range (1..62)", (long long)K);
    return false;
  }
  int n = f->nops;
  int *uses = pass_use_counts(cx->m, f);
  int *next = fab_arena_alloc(cx->m->arena, sizeof(int) * (size_t)(n ? n : 1));
  int *prev = fab_arena_alloc(cx->m->arena, sizeof(int) * (size_t)(n ? n : 1));
  int64_t *buf = NULL;
  int bufcap = 0;
  if (!next || !prev) fab_out_of_memory(__FILE__, __LINE__);
  for (int i = 0; i < n; i++) next[i] = prev[i] = -1;
  for (int j = 0; j < n; j++) {
    const fab_op *op = &f->ops[j];
    int64_t b = op_block(op);
    if (b < 0) continue;
    int i = op->operands[0];
    const fab_op *src = &f->ops[i];
    if (uses[i] == 1 && op_block(src) == b && src->operands[1] == op->operands[1]) {
      next[i] = j;
      prev[j] = i;
    }
  }

  rw w;
  rw_init(&w, cx, f);
  for (int j = 0; j < n && w.ok; j++) {
    if (op_block(&f->ops[j]) < 0 || next[j] >= 0) {
      if (next[j] < 0) rw_copy(&w, j); /* chain members wait for the chain's end */
      continue;
    }
    /* j ends a chain: gather its triples from the head onward. */
    int head = j, total = 0;
    while (prev[head] >= 0) head = prev[head];
    for (int i = head; i >= 0; i = next[i]) total += fab_op_attr(&f->ops[i], "stages")->nints;
    if (total > bufcap) {
      bufcap = total * 2;
      buf = fab_arena_alloc(cx->m->arena, sizeof(int64_t) * (size_t)bufcap);
      if (!buf) fab_out_of_memory(__FILE__, __LINE__);
    }
    int pos = 0;
    for (int i = head; i >= 0; i = next[i]) {
      const fab_attr *a = fab_op_attr(&f->ops[i], "stages");
      memcpy(buf + pos, a->ints, sizeof(int64_t) * (size_t)a->nints);
      pos += a->nints;
    }
    int T = total / 3;
    int groups = (int)((T + K - 1) / K);
    int v = w.map[f->ops[head].operands[0]];
    int tw = w.map[f->ops[head].operands[1]];
    fab_type t = f->ops[j].type;
    int at = 0;
    for (int g = 0; g < groups; g++) {
      int size = T / groups + (g < T % groups ? 1 : 0);
      int ops[2] = {v, tw};
      /* The last group keeps the annotations of the chain's last op. */
      v = g == groups - 1 ? fab_func_copy_op(cx->m, &w.nf, &f->ops[j], NULL)
                          : rw_new(&w, FAB_OP_BFLY_STAGES, ops, 2, f->ops[j].loc);
      fab_op *nop = rw_at(&w, v);
      nop->operands[0] = ops[0];
      nop->operands[1] = ops[1];
      fab_op_set_ints(cx->m, nop, "stages", buf + 3 * at, 3 * size);
      rw_type(&w, v, t);
      at += size;
    }
    w.map[j] = v;
  }
  return rw_commit(&w);
}
