/* fpga_absorb.c — pass `fpga-absorb(loads=<0|1>, chain=<int>, wb=<0|1>,
 * fft-ln=<0|1>)`: which ops
 * the accelerator never materialises.
 *
 * Requires: lowered.   Establishes: nothing new; marks ops `fpga.fold = 1`.
 *
 * A marked op is folded into its single user, which reads the marked op's
 * operand instead and does its work on the way (backends/fpga, docs/fpga.md):
 *   loads (option loads=1, the default): the engines' load does it
 *     stack x -> bfly.stages (operand 0): every stack reads the same rows;
 *     bitrev -> fft.stages along the same axis: the load's bit-reversed
 *       address generator;
 *     complex -> fft.stages, a folded bitrev, or a dft along the last axis:
 *       real rows into bank A (bank B cleared; the "dft.r" table);
 *     transpose [.., L, H, D] -> [.., H, L, D] -> q, k or v of an attention:
 *       the head split, read in place by the attention's strided loads;
 *     attention -> transpose [.., H, S, D] -> [.., S, H, D] (the head merge):
 *       the attention, compiled at the transpose, stores the merged rows;
 *     slice of one contiguous block (a position table's first rows) -> a
 *       post-processing pass: its load reads the block in place;
 *     embed -> x of the first op of a post-processing pass (embed + pos):
 *       the pass's load is the gather.
 *   chains (option chain=N, default 4 ops, 1 = none): consecutive row-wise
 *     f32 ops (add, mul, relu, gelu, bias.gelu, scale, softmax, layernorm,
 *     add.layernorm; no masked softmax) of one type, each the only user of
 *     the previous one's value (as x, or either side of add / mul /
 *     add.layernorm), run as one post-processing pass per row tile: one
 *     load, a PPU step per op, one store.  Of a longer run the first N-1
 *     ops fold into the N-th, the rest stay as they are.
 *   write-back (option wb=1; by default where fft_ln_wanted says the
 *   write-back is cheaper than the PPU; .fbin version 3): the ops after
 *     a bfly.stages that its engines' write-back units apply as results
 *     leave (docs/fpga.md): reshapes that keep rows, a slice of a prefix of
 *     each row (a truncated store), a bias (add of a row vector) or
 *     bias.gelu, then add.layernorm with a residual.  The bfly and every
 *     op before the last fold (fpga.fold = 1); the last one carries
 *     fpga.wb = 1: the code generator compiles the whole chain there.
 *     And the loads' zero fill: a pad of the last axis feeding a bfly
 *     (through its folded stack, or a reshape that keeps the row and feeds
 *     only butterflies, each of them loading it) folds.
 *     The Fourier mix's last pass too: fft.stages along the last axis with
 *     real_out = 1 (lower-fourier(seq-first=1), fuse-elementwise) into an
 *     add.layernorm with the residual: the engines store the real parts
 *     through `rln` (fft.stages fpga.fold, add.layernorm fpga.wb), where
 *     that is cheaper than the PPU (fft_ln_wanted; option fft-ln).
 * The IR keeps its meaning (the interpreter ignores the marks); fpga-alloc
 * gives folded ops no memory and the code generator checks every mark with
 * fpga_fold_legal (a mark it cannot honour is an error, never wrong code). */
#include "pass_internal.h"

#include <string.h>

bool fab_fpga_folded(const fab_op *op) { return fab_op_int(op, "fpga.fold", 0) != 0; }
bool fab_fpga_wb_end(const fab_op *op) { return fab_op_int(op, "fpga.wb", 0) != 0; }

static int axis_of(const fab_op *op) {
  int64_t a = fab_op_int(op, "axis", -1);
  return (int)(a < 0 ? a + op->type.rank : a);
}

static bool is_rowwise(fab_opcode c) {
  switch (c) {
  case FAB_OP_ADD: case FAB_OP_MUL: case FAB_OP_RELU: case FAB_OP_GELU: case FAB_OP_BIAS_GELU:
  case FAB_OP_SCALE: case FAB_OP_SOFTMAX: case FAB_OP_LAYERNORM: case FAB_OP_ADD_LAYERNORM: return true;
  default: return false;
  }
}

bool fab_fpga_masked_softmax(const fab_op *op) {
  return op->code == FAB_OP_SOFTMAX && (op->noperands > 1 || fab_op_int(op, "causal", 0) != 0);
}

int fab_fpga_chain_pos(const fab_op *u, int v) {
  int n = 0, pos = -1;
  for (int k = 0; k < u->noperands; k++)
    if (u->operands[k] == v) n++, pos = k;
  if (n != 1) return -1;
  bool two = u->code == FAB_OP_ADD || u->code == FAB_OP_MUL || u->code == FAB_OP_ADD_LAYERNORM;
  return pos == 0 || (two && pos == 1) ? pos : -1;
}

/* v may run inside its user's post-processing pass (not an op of the
 * engines' write-back, which runs no such pass). */
static bool chain_link(const fab_func *f, const int *uses, const int *user, int v) {
  const fab_op *op = &f->ops[v];
  if (!is_rowwise(op->code) || uses[v] != 1 || op->type.rank < 1 || op->type.dtype != FAB_F32) return false;
  const fab_op *u = &f->ops[user[v]];
  if (fab_fpga_wb_end(op) || fab_fpga_wb_end(u)) return false;
  if (fab_fpga_masked_softmax(op) || fab_fpga_masked_softmax(u)) return false; /* their own tiles */
  return is_rowwise(u->code) && fab_type_equal(&u->type, &op->type) && fab_fpga_chain_pos(u, v) >= 0;
}

/* The operand of j (x, or the other side of a binary op) a chain arrives
 * through: the first linkable one, -1 if none. */
static int chain_pred(const fab_func *f, const int *uses, const int *user, int j) {
  const fab_op *op = &f->ops[j];
  for (int k = 0; k < op->noperands && k < 2; k++)
    if (chain_link(f, uses, user, op->operands[k]) && user[op->operands[k]] == j) return op->operands[k];
  return -1;
}

/* Ops of the chain behind v (linkable, or marked if `marked`), at most cap. */
static int chain_depth(const fab_func *f, const int *uses, const int *user, int v, bool marked, int cap) {
  int d = 0;
  for (int p = chain_pred(f, uses, user, v); p >= 0 && d <= cap; p = chain_pred(f, uses, user, p)) {
    if (marked && !fab_fpga_folded(&f->ops[p])) break;
    d++;
  }
  return d;
}

/* A transpose swapping the two axes before the last (heads and rows). */
static bool swaps_heads(const fab_op *op) {
  const fab_attr *p = fab_op_attr(op, "perm");
  int r = op->type.rank;
  if (op->code != FAB_OP_TRANSPOSE || r < 3 || op->type.dtype != FAB_F32 || !p || p->nints != r) return false;
  for (int a = 0; a < r; a++)
    if (p->ints[a] != (a == r - 3 ? r - 2 : a == r - 2 ? r - 3 : a)) return false;
  return true;
}

/* A head split the attention reads in place: feeding q, k or v of its
 * single user. */
static bool head_split_legal(const fab_func *f, const int *uses, const int *user, int i) {
  if (uses[i] != 1 || !swaps_heads(&f->ops[i])) return false;
  const fab_op *u = &f->ops[user[i]];
  return u->code == FAB_OP_ATTENTION && (u->operands[0] == i || u->operands[1] == i || u->operands[2] == i);
}

/* An attention whose single user is the head merge: it stores each head's
 * rows into the merged layout (the attention folds into the transpose). */
static bool head_merge_legal(const fab_func *f, const int *uses, const int *user, int i) {
  return f->ops[i].code == FAB_OP_ATTENTION && uses[i] == 1 && swaps_heads(&f->ops[user[i]]) &&
         f->ops[i].type.dtype == FAB_F32;
}

/* Does the engines' digit-reversing load do bitrev op's permutation: its
 * radices (if any) are 2s, then odd primes ascending up to the engines'
 * largest radix (backends/fpga/fbin.h), as lower-fourier orders them? */
static bool load_digits(const fab_op *op) {
  const fab_attr *ra = fab_op_attr(op, "radices");
  if (!ra) return true;
  int64_t want[64];
  int n = fab_fft_factor(op->type.dims[axis_of(op)], want, 64);
  bool ok = ra->kind == FAB_ATTR_INTS && n == ra->nints;
  for (int i = 0; ok && i < n; i++) ok = ra->ints[i] == want[i] && (want[i] == 2 || want[i] <= FAB_FPGA_ENGINE_RADIX);
  return ok;
}

/* Can op i fold into its user as a load (stack, bitrev, complex, a head
 * split)? */
static bool load_fold_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (uses[i] != 1) return false;
  const fab_op *u = &f->ops[user[i]];
  switch (op->code) {
  case FAB_OP_STACK: return u->code == FAB_OP_BFLY_STAGES && u->operands[0] == i;
  case FAB_OP_TRANSPOSE: return head_split_legal(f, uses, user, i);
  case FAB_OP_ATTENTION: return head_merge_legal(f, uses, user, i);
  case FAB_OP_BITREV: /* the load's address generator reverses bits, or lower-fourier's digits */
    return u->code == FAB_OP_FFT_STAGES && axis_of(op) == axis_of(u) && load_digits(op);
  case FAB_OP_COMPLEX:
    return u->code == FAB_OP_FFT_STAGES || (u->code == FAB_OP_BITREV && fab_fpga_folded(u) &&
                                            load_fold_legal(f, uses, user, user[i])) ||
           (u->code == FAB_OP_DFT && axis_of(u) == u->type.rank - 1);
  default: return false;
  }
}

/* ---- the engines' write-back ------------------------------------------------------ */

static int64_t last_dim(const fab_type *t) { return t->rank ? t->dims[t->rank - 1] : 1; }

static bool is_row_vector(const fab_func *f, int v, int64_t width) {
  const fab_type *t = &f->ops[v].type;
  return t->rank == 1 && t->dims[0] == width && t->dtype == FAB_F32;
}

/* Can u (the single user of v) be the next write-back step after `stage`
 * (0 rows as they leave, 1 truncated, 2 bias added, 3 gelu, 4 layer norm)?
 * Returns the new stage, -1 if not.  S x n: the bfly's stacks and row. */
static int wb_step(const fab_func *f, int v, const fab_op *u, int stage, int64_t S, int64_t n, int64_t *w) {
  int64_t ul = last_dim(&u->type), row = S * *w;
  bool rows = S == 1 || ul == row; /* the stacks already merged into one row */
  if (u->type.dtype != FAB_F32) return -1;
  switch (u->code) {
  case FAB_OP_RESHAPE: return stage == 0 && (ul == S * n || (S == 1 && ul == n)) ? 0 : -1;
  case FAB_OP_SLICE: {
    int64_t size = fab_op_int(u, "size", 0);
    if (stage != 0 || S != 1 || axis_of(u) != u->type.rank - 1 || fab_op_int(u, "start", -1) != 0 || size > n) return -1;
    *w = size;
    return 1;
  }
  case FAB_OP_ADD:
  case FAB_OP_BIAS_GELU:
    if (stage > 1 || !rows || u->operands[0] != v || u->operands[1] == v || !is_row_vector(f, u->operands[1], ul))
      return -1;
    return u->code == FAB_OP_ADD ? 2 : 3;
  case FAB_OP_ADD_LAYERNORM: {
    int pos = fab_fpga_chain_pos(u, v);
    if (stage > 2 || S != 1 || pos < 0 || u->noperands != 4) return -1;
    const fab_op *r = &f->ops[u->operands[1 - pos]];
    if (!fab_type_equal(&r->type, &u->type) || !is_row_vector(f, u->operands[2], ul) ||
        !is_row_vector(f, u->operands[3], ul))
      return -1;
    return 4;
  }
  default: return -1;
  }
}

/* The Fourier mix's last pass (lower-fourier(seq-first=1)): fft.stages
 * (radix 2, or mixed radix: the store's row pitch is then the next power
 * of two, one row per engine) along whole rows with the real part folded in (real_out = 1)
 * whose single user is add.layernorm with the residual: the engines store
 * bank A (the real parts) through `rln`.  Returns the add.layernorm, -1. */
static int fft_wb_chain(const fab_func *f, const int *uses, const int *user, int b) {
  const fab_op *B = &f->ops[b];
  int64_t n = last_dim(&B->type);
  if (B->type.dtype != FAB_F32 || B->type.rank < 2 || axis_of(B) != B->type.rank - 1 ||
      fab_op_int(B, "real_out", 0) != 1 || n < 2 || uses[b] != 1 || user[b] <= b)
    return -1;
  int64_t w = n;
  return wb_step(f, b, &f->ops[user[b]], 0, 1, n, &w) == 4 ? user[b] : -1;
}

/* Engines per write-back lane of the target (2 where no board is known). */
static int wb_share_of(const fab_target_info *t) { return t && t->wb_share > 0 ? t->wb_share : 2; }

/* Is the Fourier mix's LN1 cheaper in the engines' write-back than on
 * the PPU?  (fft-ln: 0 never, 1 always, default: by the target.)  Per row
 * of n, the write-back lanes (one per wb_share engines, two passes for
 * the statistics) add 1.5 wb_share n / engines cycles to the store over a
 * plain one; the PPU's layer norm costs 3 n / PPU lanes, plus the round
 * trip through off-chip memory: fold where 2 engines / wb_share >= PPU
 * lanes (with a lane per two engines: the engines at least the PPU
 * lanes; vcu128-be120: 120 vs 64, zynq7045-be20: 20 vs 16; not
 * vcu128-be40: 40 vs 256), or when no board is known. */
static bool wb_cheaper(const fab_pass_ctx *cx) {
  const fab_target_info *t = cx->target;
  return !t || !t->engines || !t->post_lanes || 2 * t->engines >= wb_share_of(t) * t->post_lanes;
}

/* Does the write-back chain from bfly b to e pay where the board has too
 * few write-back lanes for wb_cheaper?  Per row slot, the write-back
 * lanes (one per wb_share engines, two passes for a layer norm) take
 * wb_share w (2 wb_share w) cycles for the w stored elements of a row;
 * the butterfly computes the row's S
 * stacks in S n / (2 P_bu) cycles per stage.  Where the stores take at
 * most that, they hide behind the engines' tiles and save the PPU's round
 * trip through off-chip memory (vcu128-be40: FABNet-Base's fc2, 0.5, is
 * folded: seq 128 948K -> 806K cycles, seq 1024 5.54M -> 4.91M; its fc1,
 * 1.6, and every LRA chain, 1.6-3.2, stay on the PPU: folding them cost
 * 3-15%).  Where wb_cheaper holds every chain folds. */
#define WB_OVER_COMPUTE 1
static bool wb_chain_cheaper(const fab_pass_ctx *cx, const fab_func *f, int b, int e) {
  const fab_target_info *t = cx->target;
  const fab_op *B = &f->ops[b], *E = &f->ops[e];
  if (wb_cheaper(cx) || B->code != FAB_OP_BFLY_STAGES || t->vector_lanes < 2) return wb_cheaper(cx);
  const fab_attr *sa = fab_op_attr(B, "stages");
  int64_t n = last_dim(&B->type), S = B->type.dims[B->type.rank - 2], stages = sa ? sa->nints / 3 : 0;
  int64_t wb = last_dim(&E->type) * (E->code == FAB_OP_ADD_LAYERNORM ? 2 : 1) * wb_share_of(t);
  return wb <= WB_OVER_COMPUTE * S * (n / t->vector_lanes) * stages;
}

static bool fft_ln_wanted(const fab_pass_ctx *cx) {
  int64_t opt = pass_opt(cx, "fft-ln", -1);
  return opt >= 0 ? opt != 0 : wb_cheaper(cx);
}

/* The op where the write-back chain from bfly b ends (its last bias,
 * bias.gelu or add.layernorm), -1 if it has none; for fft.stages,
 * fft_wb_chain's. */
int fpga_wb_chain(const fab_func *f, const int *uses, const int *user, int b) {
  const fab_op *B = &f->ops[b];
  if (B->code == FAB_OP_FFT_STAGES) return fft_wb_chain(f, uses, user, b);
  if (B->code != FAB_OP_BFLY_STAGES || B->type.dtype != FAB_F32 || B->type.rank < 2) return -1;
  int64_t n = last_dim(&B->type), S = B->type.dims[B->type.rank - 2], w = n;
  int v = b, end = -1, stage = 0;
  while (stage < 4 && uses[v] == 1 && user[v] > v) {
    int next = wb_step(f, v, &f->ops[user[v]], stage, S, n, &w);
    if (next < 0) break;
    stage = next;
    v = user[v];
    if (stage >= 2) end = v;
  }
  return end;
}

/* Is op i one of the ops folded into a write-back chain's end? */
static bool wb_member(const fab_func *f, const int *uses, const int *user, int i) {
  int e = i;
  while (fab_fpga_folded(&f->ops[e]) && uses[e] == 1 && user[e] > e) e = user[e];
  if (e == i || !fab_fpga_wb_end(&f->ops[e])) return false;
  int b = e; /* back along the folded operands to the bfly */
  while (b >= 0 && f->ops[b].code != FAB_OP_BFLY_STAGES && f->ops[b].code != FAB_OP_FFT_STAGES) {
    int p = -1;
    for (int k = 0; k < f->ops[b].noperands && k < 2; k++)
      if (fab_fpga_folded(&f->ops[f->ops[b].operands[k]])) p = f->ops[b].operands[k];
    b = p;
  }
  if (b < 0 || fpga_wb_chain(f, uses, user, b) != e) return false;
  for (int v = b; v != e; v = user[v])
    if (v == i) return true;
  return false;
}

/* A pad of the last axis that an engine load does as zero fill: its row
 * goes to a bfly through a folded stack, or a reshape keeping the row. */
static bool pad_load_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (op->code != FAB_OP_PAD || uses[i] != 1 || axis_of(op) != op->type.rank - 1 || op->type.dtype != FAB_F32)
    return false;
  int u = user[i];
  const fab_op *U = &f->ops[u];
  if (U->code == FAB_OP_STACK) return load_fold_legal(f, uses, user, u);
  if (U->code != FAB_OP_RESHAPE || last_dim(&U->type) != last_dim(&op->type)) return false;
  /* the reshape may feed several butterflies (Q, K, V): each load zero-fills */
  for (int j = u + 1; j < f->nops; j++)
    for (int k = 0; k < f->ops[j].noperands; k++)
      if (f->ops[j].operands[k] == u && (f->ops[j].code != FAB_OP_BFLY_STAGES || k != 0)) return false;
  return uses[u] >= 1;
}

static bool reshape_load_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  return op->code == FAB_OP_RESHAPE && f->ops[op->operands[0]].code == FAB_OP_PAD &&
         pad_load_legal(f, uses, user, op->operands[0]) && user[op->operands[0]] == i;
}

/* ---- the embedding in one post-processing pass ------------------------------------ */

/* Is u a post-processing pass (a row-wise op of the PPU, not the engines'
 * write-back, not a masked softmax with its own tiles) that can read an
 * operand in place? */
static bool ppu_reader(const fab_func *f, const int *uses, const int *user, int u) {
  const fab_op *U = &f->ops[u];
  return is_rowwise(U->code) && U->type.dtype == FAB_F32 && U->type.rank >= 1 && !fab_fpga_wb_end(U) &&
         !fab_fpga_masked_softmax(U) && !wb_member(f, uses, user, u);
}

/* A slice whose result is one contiguous block of its operand (every axis
 * before the sliced one has size 1: a position table's first s rows), read
 * by a post-processing pass: the pass's load reads the block in place
 * (no copy). */
static bool slice_read_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (op->code != FAB_OP_SLICE || uses[i] != 1 || op->type.dtype != FAB_F32 || user[i] <= i) return false;
  for (int a = 0; a < axis_of(op); a++)
    if (op->type.dims[a] != 1) return false;
  return ppu_reader(f, uses, user, user[i]);
}

/* An embed whose rows are x of the first op of a post-processing pass
 * (x = embed + pos): the pass's load is the gather (the lookup, the
 * position add and one store in one pass per row tile). */
static bool embed_read_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (op->code != FAB_OP_EMBED || uses[i] != 1 || user[i] <= i || op->type.dtype != FAB_F32) return false;
  int u = user[i];
  return ppu_reader(f, uses, user, u) && f->ops[u].operands[0] == i && fab_type_equal(&f->ops[u].type, &op->type) &&
         chain_pred(f, uses, user, u) < 0;
}

bool fpga_fold_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (wb_member(f, uses, user, i)) return true;
  if (op->code == FAB_OP_SLICE) return slice_read_legal(f, uses, user, i);
  if (op->code == FAB_OP_EMBED) return embed_read_legal(f, uses, user, i);
  if (op->code == FAB_OP_PAD) return pad_load_legal(f, uses, user, i);
  if (op->code == FAB_OP_RESHAPE) return reshape_load_legal(f, uses, user, i);
  if (op->code == FAB_OP_STACK || op->code == FAB_OP_BITREV || op->code == FAB_OP_COMPLEX ||
      op->code == FAB_OP_TRANSPOSE || op->code == FAB_OP_ATTENTION)
    return load_fold_legal(f, uses, user, i);
  /* a chain member: the link its user takes, at most 4 ops in all (the
   * code generator's PPU steps and operands of one pass) */
  return chain_link(f, uses, user, i) && chain_pred(f, uses, user, user[i]) == i &&
         chain_depth(f, uses, user, i, true, 3) <= FAB_FPGA_MAX_CHAIN - 2;
}

void fpga_use_info(const fab_func *f, int *uses, int *user) {
  for (int i = 0; i < f->nops; i++) uses[i] = 0, user[i] = -1;
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i].noperands; k++) {
      int v = f->ops[i].operands[k];
      if (v >= 0 && v < f->nops) uses[v]++, user[v] = i;
    }
}

bool pass_fpga_absorb(fab_pass_ctx *cx, fab_func *f) {
  /* wb: 0 never, 1 every chain, default: per chain by its cost
   * (wb_chain_cheaper; with fewer engines than PPU lanes, e.g.
   * vcu128-be40, the write-back lanes can be slower than the PPU's round
   * trip: LRA-Retrieval seq 1024 520K against 381K cycles) */
  int64_t wbo = pass_opt(cx, "wb", -1);
  bool loads = pass_opt(cx, "loads", 1) != 0, wb = wbo != 0;
  int64_t chain = pass_opt(cx, "chain", FAB_FPGA_MAX_CHAIN), fft_ln = pass_opt(cx, "fft-ln", -1);
  if (fft_ln < -1 || fft_ln > 1) {
    pass_error(cx, NULL, "fft-ln=%lld: 0 (the Fourier mix's layer norm on the PPU) or 1 (in the engines' "
                         "write-back)", (long long)fft_ln);
    return false;
  }
  if (chain < 1 || chain > FAB_FPGA_MAX_CHAIN) {
    pass_error(cx, NULL, "chain=%lld out of range (1..%d ops per post-processing pass)", (long long)chain,
               FAB_FPGA_MAX_CHAIN);
    return false;
  }
  int n = f->nops;
  size_t nn = (size_t)(n ? n : 1);
  int *uses = fab_arena_alloc(cx->m->arena, sizeof(int) * nn), *user = fab_arena_alloc(cx->m->arena, sizeof(int) * nn);
  if (!uses || !user) fab_out_of_memory(__FILE__, __LINE__);
  fpga_use_info(f, uses, user);
  for (int i = 0; i < n; i++) {
    pass_strip_attrs(cx->m, &f->ops[i], "fpga.fold");
    pass_strip_attrs(cx->m, &f->ops[i], "fpga.wb");
  }
  /* the engines' write-back first: its ops join no post-processing chain */
  bool fft_wb = fft_ln_wanted(cx);
  for (int b = 0; b < n && wb; b++) {
    if (f->ops[b].code == FAB_OP_FFT_STAGES && !fft_wb) continue;
    int e = fpga_wb_chain(f, uses, user, b);
    if (e < 0 || fab_fpga_wb_end(&f->ops[e])) continue; /* two butterflies into one add.layernorm: the first */
    if (wbo < 0 && !wb_chain_cheaper(cx, f, b, e)) continue;
    for (int v = b; v != e; v = user[v]) fab_op_set_int(cx->m, &f->ops[v], "fpga.fold", 1);
    fab_op_set_int(cx->m, &f->ops[e], "fpga.wb", 1);
  }
  /* users first: a complex folds into a bitrev only if that one folds */
  for (int i = n - 1; i >= 0; i--) {
    fab_op *op = &f->ops[i];
    if (fab_fpga_folded(op)) continue;
    if (wb && op->code == FAB_OP_RESHAPE && reshape_load_legal(f, uses, user, i)) {
      fab_op_set_int(cx->m, op, "fpga.fold", 1);
      continue;
    }
    if (wb && op->code == FAB_OP_PAD) {
      if (pad_load_legal(f, uses, user, i)) fab_op_set_int(cx->m, op, "fpga.fold", 1);
      continue;
    }
    if (op->code == FAB_OP_SLICE || op->code == FAB_OP_EMBED) {
      bool read = op->code == FAB_OP_SLICE ? slice_read_legal(f, uses, user, i) : embed_read_legal(f, uses, user, i);
      if (loads && read) fab_op_set_int(cx->m, op, "fpga.fold", 1);
      continue;
    }
    bool fold;
    if (op->code == FAB_OP_STACK || op->code == FAB_OP_BITREV || op->code == FAB_OP_COMPLEX ||
        op->code == FAB_OP_TRANSPOSE || op->code == FAB_OP_ATTENTION)
      fold = loads && load_fold_legal(f, uses, user, i);
    else /* the first chain-1 ops of a run of linkable ops */
      fold = chain_link(f, uses, user, i) && chain_pred(f, uses, user, user[i]) == i &&
             chain_depth(f, uses, user, i, false, 3) <= chain - 2;
    if (fold) fab_op_set_int(cx->m, op, "fpga.fold", 1);
  }
  return true;
}
