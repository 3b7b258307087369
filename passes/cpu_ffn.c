/* cpu_ffn.c — cpu-fuse-ffn: a whole feed-forward block as one CPU kernel.
 *
 * Requires planned IR (after memplan and cpu-chain-bfly); keeps the plan
 * valid and the meaning (it only adds cpu.ffn = 1 or 2, declared in
 * ir/ops.def).
 *
 * cpu-fuse-ffn(ffn=1)
 *   Marks with cpu.ffn = 1 an add.layernorm that ends a butterfly
 *   feed-forward block as the lowering emits it,
 *
 *     x -> [pad] -> stack | reshape -> bfly.stages (fc1) -> reshape
 *       -> bias.gelu -> [pad] -> reshape -> bfly.stages (fc2) -> reshape
 *       -> [slice 0..d] -> add bias -> add.layernorm(x, .) (or (., x))
 *
 *   every intermediate used only by the next op of the chain, x the
 *   residual.  The backend (backends/cpu/fold_ffn.c, kernel_ffn.c) then
 *   runs the chain on tiles of V rows kept in SIMD lanes: one transpose in
 *   and one out, bias + GELU in fc1's last register group, and the 4x
 *   wide intermediate never leaves the tile's stack buffer.
 *
 *   The kernel reads x while it writes the layer norm's slot: allowed
 *   when the two are the same bytes (a tile reads its rows before it
 *   writes them) or disjoint.  Blocks wider than FFN_MAX_WIDTH (the lane
 *   buffer lives on the kernel's stack) are left alone.
 *
 * cpu-fuse-ffn(norm-in=1)
 *   Marks cpu.ffn = 2 instead when x is itself a layernorm or
 *   add.layernorm of x's shape (the Fourier mix's LN1 of a post-norm
 *   layer) read only by the block: the kernel then computes x from that
 *   norm's operands in the tile's lanes, and x never goes to memory.  It
 *   reads those operands when the block's norm runs, so every op between
 *   the two norms must be a weight, an input or of the block, and each
 *   operand's bytes the norm's or disjoint from them. */
#include "pass_internal.h"

#include <stdbool.h>

enum { FFN_MAX_WIDTH = 8192 };

enum { MAX_CHAIN = 24 };

typedef struct ffn_walk {
  const fab_func *f;
  const int *uses;
  int chain[MAX_CHAIN]; /* the ops the block's links matched */
  int nchain;
} ffn_walk;

static const fab_op *op_at(const ffn_walk *w, int i) { return &w->f->ops[i]; }

static int64_t last_dim(const fab_type *t) { return t->rank ? t->dims[t->rank - 1] : 1; }

/* Value i is op `code`, f32, read only by the chain (recorded). */
static bool link(ffn_walk *w, int i, fab_opcode code) {
  const fab_op *op = op_at(w, i);
  bool ok = op->code == code && w->uses[i] == 1 && op->type.dtype == FAB_F32 && w->nchain < MAX_CHAIN;
  if (ok) w->chain[w->nchain++] = i;
  return ok;
}

static bool is_weight_of(const ffn_walk *w, int i, int64_t n) {
  const fab_op *op = op_at(w, i);
  return op->code == FAB_OP_WEIGHT && op->type.dtype == FAB_F32 && fab_type_numel(&op->type) == n;
}

/* A reshape that keeps rows: last axis n_in in, n_out out.  Returns its
 * operand, -1 if it is not one. */
static int row_reshape(ffn_walk *w, int i, int64_t n_in, int64_t n_out) {
  if (!link(w, i, FAB_OP_RESHAPE) || last_dim(&op_at(w, i)->type) != n_out) return -1;
  int x = op_at(w, i)->operands[0];
  return last_dim(&op_at(w, x)->type) == n_in ? x : -1;
}

/* A pad along the last axis (the chain's only kind), else i itself. */
static int skip_pad(ffn_walk *w, int i) {
  const fab_op *op = op_at(w, i);
  if (!link(w, i, FAB_OP_PAD)) return i;
  int64_t axis = fab_op_int(op, "axis", -1);
  if (axis != -1 && axis != op->type.rank - 1) return -1;
  return op->operands[0];
}

/* A bfly.stages over rows [R, S, n] with its twiddle a weight. */
static bool bfly_ok(ffn_walk *w, int i, int64_t rows, int64_t *S, int64_t *n) {
  const fab_op *op = op_at(w, i);
  if (!link(w, i, FAB_OP_BFLY_STAGES) || op->noperands != 2 || op->type.rank < 2) return false;
  if (op_at(w, op->operands[1])->code != FAB_OP_WEIGHT) return false;
  *n = last_dim(&op->type);
  *S = op->type.dims[op->type.rank - 2];
  return *n > 0 && *S > 0 && fab_type_numel(&op->type) == rows * *S * *n && *n <= FFN_MAX_WIDTH;
}

/* The fc2 side: the add.layernorm's operand y back to the bias.gelu. */
static int fc2_side(ffn_walk *w, int y, const fab_type *rt, int64_t rows, int64_t d) {
  const fab_op *add = op_at(w, y);
  if (!link(w, y, FAB_OP_ADD) || add->noperands != 2 || !fab_type_equal(&add->type, rt)) return -1;
  int s = add->operands[is_weight_of(w, add->operands[0], d) ? 1 : 0];
  if (!is_weight_of(w, add->operands[s == add->operands[0] ? 1 : 0], d)) return -1;
  const fab_op *sl = op_at(w, s);
  if (!fab_type_equal(&sl->type, rt)) return -1;
  if (link(w, s, FAB_OP_SLICE)) {
    int64_t axis = fab_op_int(sl, "axis", -1);
    if ((axis != -1 && axis != sl->type.rank - 1) || fab_op_int(sl, "start", -1) != 0) return -1;
    s = sl->operands[0];
  }
  int64_t S = 0, n = 0;
  int fc2 = link(w, s, FAB_OP_RESHAPE) ? op_at(w, s)->operands[0] : -1;
  if (fc2 < 0 || !bfly_ok(w, fc2, rows, &S, &n) || S != 1 || n < d || row_reshape(w, s, n, n) != fc2)
    return -1;
  int r = row_reshape(w, op_at(w, fc2)->operands[0], n, n);
  int g = r < 0 ? -1 : skip_pad(w, r);
  return g >= 0 && link(w, g, FAB_OP_BIAS_GELU) && last_dim(&op_at(w, g)->type) <= n ? g : -1;
}

/* Does add.layernorm j end a feed-forward block of its operand `xi`
 * (the residual; the block is the other of its first two operands)? */
static bool is_ffn_block(ffn_walk *w, int j, int xi) {
  const fab_op *ln = op_at(w, j);
  if (ln->noperands != 4 || ln->type.dtype != FAB_F32) return false;
  int x = ln->operands[xi];
  int64_t d = last_dim(&ln->type), rows = d > 0 ? fab_type_numel(&ln->type) / d : 0;
  w->nchain = 0;
  const fab_op *xo = op_at(w, x);
  if (rows <= 0 || xo->type.dtype != FAB_F32 || !fab_type_equal(&xo->type, &ln->type)) return false;
  if (!is_weight_of(w, ln->operands[2], d) || !is_weight_of(w, ln->operands[3], d)) return false;
  int g = fc2_side(w, ln->operands[1 - xi], &ln->type, rows, d);
  if (g < 0) return false;
  const fab_op *gelu = op_at(w, g);
  int64_t h = last_dim(&gelu->type), S = 0, n = 0;
  if (gelu->noperands != 2 || !is_weight_of(w, gelu->operands[1], h)) return false;
  int r = gelu->operands[0];
  int fc1 = link(w, r, FAB_OP_RESHAPE) ? op_at(w, r)->operands[0] : -1;
  if (fc1 < 0 || !bfly_ok(w, fc1, rows, &S, &n) || S * n != h || n < d || row_reshape(w, r, n, h) != fc1)
    return false;
  int k = op_at(w, fc1)->operands[0], p;
  if (link(w, k, FAB_OP_STACK) && fab_op_int(op_at(w, k), "count", -1) == S)
    p = op_at(w, k)->operands[0];
  else
    p = S == 1 ? row_reshape(w, k, n, n) : -1;
  return p >= 0 && last_dim(&op_at(w, p)->type) == n && skip_pad(w, p) == x;
}

/* The bytes the kernel reads (x) against those it writes (the norm's):
 * the same or disjoint. */
static bool slots_ok(const fab_func *f, int x, const fab_op *ln) {
  const fab_op *s = &f->ops[x];
  while (s->code == FAB_OP_RESHAPE && !fab_op_attr(s, "plan.offset")) s = &f->ops[s->operands[0]];
  if (s->code == FAB_OP_INPUT || s->code == FAB_OP_WEIGHT) return true;
  if (!fab_op_attr(s, "plan.offset") || !fab_op_attr(ln, "plan.offset")) return true;
  int64_t a0 = fab_op_int(s, "plan.offset", 0), b0 = fab_op_int(ln, "plan.offset", 0);
  int64_t a1 = a0 + fab_type_numel(&s->type) * 4, b1 = b0 + fab_type_numel(&ln->type) * 4;
  return a0 == b0 || a1 <= b0 || b1 <= a0;
}

/* Can the block's kernel (norm j, residual x) also compute x, a layer
 * norm (or add.layernorm) of the same shape read only by the block?  It
 * then reads x's operands when the norm runs instead of when x did: so
 * nothing may run in between (every op there is a weight or of the
 * block), and the bytes of x's row operands must be the norm's or apart. */
static bool norm_in_ok(const ffn_walk *w, int j, int x) {
  const fab_op *xo = op_at(w, x), *ln = op_at(w, j);
  int rows_in = xo->code == FAB_OP_LAYERNORM ? 1 : xo->code == FAB_OP_ADD_LAYERNORM ? 2 : 0;
  if (!rows_in || xo->noperands != rows_in + 2 || w->uses[x] != 2 || fab_op_int(xo, "cpu.ffn", 0)) return false;
  int64_t d = last_dim(&ln->type);
  if (!is_weight_of(w, xo->operands[rows_in], d) || !is_weight_of(w, xo->operands[rows_in + 1], d)) return false;
  for (int k = 0; k < rows_in; k++) {
    const fab_op *r = op_at(w, xo->operands[k]);
    if (r->type.dtype != FAB_F32 || !fab_type_equal(&r->type, &ln->type) || !slots_ok(w->f, xo->operands[k], ln))
      return false;
  }
  for (int k = x + 1; k < j; k++) {
    bool quiet = op_at(w, k)->code == FAB_OP_WEIGHT || op_at(w, k)->code == FAB_OP_INPUT;
    for (int c = 0; c < w->nchain && !quiet; c++) quiet = w->chain[c] == k;
    if (!quiet) return false;
  }
  return true;
}

static bool option_01(fab_pass_ctx *cx, const char *key, int64_t *v) {
  *v = pass_opt(cx, key, 1);
  if (*v == 0 || *v == 1) return true;
  pass_error(cx, NULL, "%s=%lld: expected 0 or 1", key, (long long)*v);
  return false;
}

bool pass_cpu_fuse_ffn(fab_pass_ctx *cx, fab_func *f) {
  int64_t on, norm_in;
  if (!option_01(cx, "ffn", &on) || !option_01(cx, "norm-in", &norm_in)) return false;
  ffn_walk w = {f, pass_use_counts(cx->m, f), {0}, 0};
  for (int j = 0; on && j < f->nops; j++) {
    fab_op *op = &f->ops[j];
    if (op->code != FAB_OP_ADD_LAYERNORM) continue;
    for (int xi = 0; xi < 2; xi++)
      if (is_ffn_block(&w, j, xi) && slots_ok(f, op->operands[xi], op)) {
        fab_op_set_int(cx->m, op, "cpu.ffn", norm_in && norm_in_ok(&w, j, op->operands[xi]) ? 2 : 1);
        break;
      }
  }
  return true;
}
