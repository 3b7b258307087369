/* tile.c — pass `tile(buffer=N, rows=R)`: fit the work to fast memory.
 *
 * Requires: lowered.   Establishes: nothing new (hints only; attention's
 * `block` is changed, which an online softmax computes to the same value).
 *
 * 1. Four-step butterflies.  A bfly.stages row of length n longer than the
 *    buffer B (elements; default the target's max_vector_length, else what
 *    `vector_lanes` rows of it fit in fast memory) is split: a stage of
 *    stride 2^l < B pairs elements inside one aligned block of B (inner),
 *    a larger stride pairs elements of different blocks (outer).  Each op
 *    is split into maximal runs of one kind, annotated
 *      hint.tile_block = B, hint.tile_outer = 0 | 1
 *    so a backend runs inner groups block by block in fast memory and outer
 *    groups as strided passes.  fft.stages is split the same way (a stage
 *    of size m is inner iff m <= B; real_out stays on the last piece).
 * 2. Row tiles.  bfly.stages, fft.stages and dense get hint.rows: how many
 *    rows of their (tiled) row length fit fast memory, a multiple of the
 *    vector lanes when possible (option rows=R forces R).
 * 3. Attention.  `block` becomes the largest power of two (<= the key
 *    count) whose K, V block and scores fit fast memory. */
#include "pass_internal.h"

static int64_t floor_pow2(int64_t v) {
  int64_t p = 1;
  while (p * 2 <= v) p *= 2;
  return p;
}

static int64_t row_count(const fab_type *t, int trailing) {
  int64_t r = 1;
  for (int i = 0; i < t->rank - trailing; i++) r *= t->dims[i];
  return r;
}

static int64_t rows_hint(fab_pass_ctx *cx, int64_t row_bytes, int64_t total_rows) {
  if (pass_has_opt(cx, "rows")) return pass_opt(cx, "rows", 1);
  int64_t lanes = cx->target->vector_lanes > 0 ? cx->target->vector_lanes : 1;
  int64_t r = row_bytes > 0 ? cx->target->fast_memory_bytes / row_bytes : 1;
  if (r >= lanes) r -= r % lanes;
  if (r > total_rows) r = total_rows;
  return r < 1 ? 1 : r;
}

/* Is a triple / an fft stage inner (within one block of B elements)? */
static bool bfly_inner(const int64_t *trip, int lb) { return trip[2] < lb; }

/* Emits bfly.stages old op i split at inner/outer boundaries. */
static void split_bfly(rw *w, int i, int64_t B) {
  const fab_op *op = &w->f->ops[i];
  const fab_attr *a = fab_op_attr(op, "stages");
  int lb = pass_log2(B);
  int T = a->nints / 3;
  int v = w->map[op->operands[0]], tw = w->map[op->operands[1]];
  for (int s = 0; s < T;) {
    int e = s + 1;
    bool inner = bfly_inner(a->ints + 3 * s, lb);
    while (e < T && bfly_inner(a->ints + 3 * e, lb) == inner) e++;
    int idx = fab_func_copy_op(w->m, &w->nf, op, NULL);
    fab_op *nop = rw_at(w, idx);
    nop->operands[0] = v;
    nop->operands[1] = tw;
    fab_op_set_ints(w->m, nop, "stages", a->ints + 3 * s, 3 * (e - s));
    fab_op_set_int(w->m, nop, "hint.tile_block", B);
    fab_op_set_int(w->m, nop, "hint.tile_outer", inner ? 0 : 1);
    rw_type(w, idx, op->type);
    v = idx;
    s = e;
  }
  w->map[i] = v;
}

static void split_fft(rw *w, int i, int64_t B) {
  const fab_op *op = &w->f->ops[i];
  const fab_attr *a = fab_op_attr(op, "stages");
  int lb = pass_log2(B);
  bool real_out = fab_op_int(op, "real_out", 0) != 0;
  int v = w->map[op->operands[0]];
  for (int s = 0; s < a->nints;) {
    int e = s + 1;
    bool inner = a->ints[s] <= lb;
    while (e < a->nints && (a->ints[e] <= lb) == inner) e++;
    int idx = fab_func_copy_op(w->m, &w->nf, op, NULL);
    fab_op *nop = rw_at(w, idx);
    nop->operands[0] = v;
    fab_op_set_ints(w->m, nop, "stages", a->ints + s, e - s);
    fab_op_set_int(w->m, nop, "hint.tile_block", B);
    fab_op_set_int(w->m, nop, "hint.tile_outer", inner ? 0 : 1);
    fab_type t = op->type;
    if (real_out && e < a->nints) { /* only the last piece drops the imaginary part */
      pass_strip_attrs(w->m, nop, "real_out");
      t.dtype = FAB_C64;
    }
    if (e < a->nints) pass_strip_attrs(w->m, nop, "radix"); /* the radix stages run last, once */
    rw_type(w, idx, t);
    v = idx;
    s = e;
  }
  w->map[i] = v;
}

bool pass_tile(fab_pass_ctx *cx, fab_func *f) {
  const fab_target_info *tg = cx->target;
  int64_t lanes = tg->vector_lanes > 0 ? tg->vector_lanes : 1;
  int64_t B = tg->max_vector_length > 0 ? tg->max_vector_length
                                        : tg->fast_memory_bytes / (4 * lanes);
  B = pass_opt(cx, "buffer", B);
  if (B < 2) {
    pass_error(cx, NULL, "buffer=%lld is too small (at least 2 elements)", (long long)B);
    return false;
  }
  if (pass_has_opt(cx, "rows") && pass_opt(cx, "rows", 1) < 1) {
    pass_error(cx, NULL, "rows must be at least 1");
    return false;
  }
  B = floor_pow2(B);
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    const fab_op *op = &f->ops[i];
    const fab_type *t = &op->type;
    int64_t esz = pass_dtype_bytes(t->dtype);
    switch (op->code) {
    case FAB_OP_BFLY_STAGES: {
      int64_t n = t->dims[t->rank - 1];
      int first = w.nf.nops;
      if (n > B) split_bfly(&w, i, B);
      else rw_copy(&w, i);
      int64_t seg = n > B ? B : n;
      for (int k = first; k < w.nf.nops; k++) /* every piece just emitted */
        fab_op_set_int(cx->m, rw_at(&w, k), "hint.rows", rows_hint(cx, seg * esz, row_count(t, 1)));
      break;
    }
    case FAB_OP_FFT_STAGES: {
      const fab_type *it = &f->ops[op->operands[0]].type;
      int64_t axis = fab_op_int(op, "axis", it->rank - 1);
      if (axis < 0) axis += it->rank; /* negative axes count from the end */
      int64_t n = axis >= 0 && axis < it->rank ? it->dims[axis] : 1;
      int first = w.nf.nops;
      const fab_attr *sa = fab_op_attr(op, "stages");
      if (n > B && sa && sa->nints > 0) split_fft(&w, i, B); /* only radix-q stages: one op */
      else rw_copy(&w, i);
      int64_t seg = n > B ? B : n;
      for (int k = first; k < w.nf.nops; k++)
        fab_op_set_int(cx->m, rw_at(&w, k), "hint.rows",
                       rows_hint(cx, seg * 8, fab_type_numel(it) / n));
      break;
    }
    case FAB_OP_DENSE: {
      int idx = rw_copy(&w, i);
      const fab_type *xt = &f->ops[op->operands[0]].type;
      int64_t in = xt->dims[xt->rank - 1], out = t->dims[t->rank - 1];
      fab_op_set_int(cx->m, rw_at(&w, idx), "hint.rows",
                     rows_hint(cx, (in + out) * esz, row_count(t, 1)));
      break;
    }
    case FAB_OP_ATTENTION: {
      int idx = rw_copy(&w, i);
      fab_op_set_int(cx->m, rw_at(&w, idx), "block", pass_attention_block(tg, f, op));
      break;
    }
    default: rw_copy(&w, i); break;
    }
  }
  return rw_commit(&w);
}
