/* fpga_absorb.c — pass `fpga-absorb(loads=<0|1>, chain=<int>)`: which ops
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
 *       real rows into bank A (bank B cleared; the "dft.r" table).
 *   chains (option chain=N, default 4 ops, 1 = none): consecutive row-wise
 *     f32 ops (add, mul, relu, gelu, bias.gelu, scale, softmax, layernorm,
 *     add.layernorm; no masked softmax) of one type, each the only user of
 *     the previous one's value (as x, or either side of add / mul /
 *     add.layernorm), run as one post-processing pass per row tile: one
 *     load, a PPU step per op, one store.  Of a longer run the first N-1
 *     ops fold into the N-th, the rest stay as they are.
 * The IR keeps its meaning (the interpreter ignores the marks); fpga-alloc
 * gives folded ops no memory and the code generator checks every mark with
 * fpga_fold_legal (a mark it cannot honour is an error, never wrong code). */
#include "pass_internal.h"

#include <string.h>

bool fab_fpga_folded(const fab_op *op) { return fab_op_int(op, "fpga.fold", 0) != 0; }

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

/* v may run inside its user's post-processing pass. */
static bool chain_link(const fab_func *f, const int *uses, const int *user, int v) {
  const fab_op *op = &f->ops[v];
  if (!is_rowwise(op->code) || uses[v] != 1 || op->type.rank < 1 || op->type.dtype != FAB_F32) return false;
  const fab_op *u = &f->ops[user[v]];
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

/* Can op i fold into its user as a load (stack, bitrev, complex)? */
static bool load_fold_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (uses[i] != 1) return false;
  const fab_op *u = &f->ops[user[i]];
  switch (op->code) {
  case FAB_OP_STACK: return u->code == FAB_OP_BFLY_STAGES && u->operands[0] == i;
  case FAB_OP_BITREV: /* the load's address generator reverses bits, not digits */
    return u->code == FAB_OP_FFT_STAGES && axis_of(op) == axis_of(u) && !fab_op_attr(op, "radices");
  case FAB_OP_COMPLEX:
    return u->code == FAB_OP_FFT_STAGES || (u->code == FAB_OP_BITREV && fab_fpga_folded(u) &&
                                            load_fold_legal(f, uses, user, user[i])) ||
           (u->code == FAB_OP_DFT && axis_of(u) == u->type.rank - 1);
  default: return false;
  }
}

bool fpga_fold_legal(const fab_func *f, const int *uses, const int *user, int i) {
  const fab_op *op = &f->ops[i];
  if (op->code == FAB_OP_STACK || op->code == FAB_OP_BITREV || op->code == FAB_OP_COMPLEX)
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
  bool loads = pass_opt(cx, "loads", 1) != 0;
  int64_t chain = pass_opt(cx, "chain", FAB_FPGA_MAX_CHAIN);
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
  for (int i = 0; i < n; i++) pass_strip_attrs(cx->m, &f->ops[i], "fpga.fold");
  /* users first: a complex folds into a bitrev only if that one folds */
  for (int i = n - 1; i >= 0; i--) {
    fab_op *op = &f->ops[i];
    bool fold;
    if (op->code == FAB_OP_STACK || op->code == FAB_OP_BITREV || op->code == FAB_OP_COMPLEX)
      fold = loads && load_fold_legal(f, uses, user, i);
    else /* the first chain-1 ops of a run of linkable ops */
      fold = chain_link(f, uses, user, i) && chain_pred(f, uses, user, user[i]) == i &&
             chain_depth(f, uses, user, i, false, 3) <= chain - 2;
    if (fold) fab_op_set_int(cx->m, op, "fpga.fold", 1);
  }
  return true;
}
