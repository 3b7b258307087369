/* fold_ffn.c — an add.layernorm with cpu.ffn (pass cpu-fuse-ffn) takes
 * over the feed-forward block before it.
 *
 * The chain, from the norm back to its residual x (either operand):
 *   add(b2) <- [slice] <- reshape <- bfly.stages fc2 <- reshape <- [pad]
 *   <- bias.gelu(b1) <- reshape <- bfly.stages fc1 <- stack | reshape
 *   <- [pad] <- x
 * Every op of it is absorbed (no buffer, no kernel); the norm's eff op
 * reads x, fc1's twiddle, b1, fc2's twiddle, b2, gamma, beta and carries
 * the butterflies' stages and groups and the GELU form as cpu.ffn.*
 * attributes, so the kernel signature (sharing) sees all it depends on.
 * A chain of another shape is an error: the pass promised this one. */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct walk {
  const fab_func *f;
  const int *uses;
  const bool *absorbed;
  int took[16];
  int ntook;
} walk;

static const fab_op *at(const walk *w, int i) { return &w->f->ops[i]; }

static int64_t last(const fab_op *op) { return op->type.rank ? op->type.dims[op->type.rank - 1] : 1; }

static bool last_axis(const fab_op *op) {
  int64_t a = fab_op_int(op, "axis", -1);
  return a == -1 || a == op->type.rank - 1;
}

/* Takes value i if it is a `code` op read only here; its operand k. */
static int take(walk *w, int i, fab_opcode code, int k) {
  if (i < 0 || at(w, i)->code != code || w->uses[i] != 1 || w->absorbed[i] || w->ntook >= 16) return -1;
  w->took[w->ntook++] = i;
  return at(w, i)->operands[k];
}

/* An optional pad along the last axis. */
static int skip_pad(walk *w, int i) {
  if (i < 0 || at(w, i)->code != FAB_OP_PAD) return i;
  return last_axis(at(w, i)) ? take(w, i, FAB_OP_PAD, 0) : -1;
}

/* The ops of the block ending at norm j; ops[] = x, tw1, b1, tw2, b2, gamma, beta. */
static bool walk_block(walk *w, int j, int xi, int *ops, int *fc1, int *fc2, int *gelu) {
  const fab_op *ln = at(w, j);
  int y = ln->operands[1 - xi];
  if (at(w, y)->code != FAB_OP_ADD || at(w, y)->noperands != 2) return false;
  int wi = at(w, at(w, y)->operands[0])->code == FAB_OP_WEIGHT ? 0 : 1;
  ops[4] = at(w, y)->operands[wi];
  int s = take(w, y, FAB_OP_ADD, 1 - wi);
  if (s >= 0 && at(w, s)->code == FAB_OP_SLICE)
    s = last_axis(at(w, s)) && fab_op_int(at(w, s), "start", -1) == 0 ? take(w, s, FAB_OP_SLICE, 0) : -1;
  *fc2 = take(w, s, FAB_OP_RESHAPE, 0);
  int p = take(w, *fc2, FAB_OP_BFLY_STAGES, 0);
  *gelu = skip_pad(w, take(w, p, FAB_OP_RESHAPE, 0));
  int r = take(w, *gelu, FAB_OP_BIAS_GELU, 0);
  *fc1 = take(w, r, FAB_OP_RESHAPE, 0);
  int k = take(w, *fc1, FAB_OP_BFLY_STAGES, 0);
  int x = k >= 0 && at(w, k)->code == FAB_OP_STACK ? take(w, k, FAB_OP_STACK, 0) : take(w, k, FAB_OP_RESHAPE, 0);
  x = skip_pad(w, x);
  if (x < 0 || x != ln->operands[xi] || at(w, *fc1)->noperands != 2 || at(w, *fc2)->noperands != 2 ||
      at(w, *gelu)->noperands != 2)
    return false;
  /* the reshapes keep rows; the stack's count is fc1's blocks */
  const fab_op *f1 = at(w, *fc1), *f2 = at(w, *fc2);
  if (last(at(w, r)) != last(at(w, *gelu)) || last(at(w, s)) != last(f2) || last(at(w, p)) != last(f2) ||
      (at(w, k)->code == FAB_OP_STACK && fab_op_int(at(w, k), "count", -1) != f1->type.dims[f1->type.rank - 2]))
    return false;
  ops[0] = x;
  ops[1] = f1->operands[1];
  ops[2] = at(w, *gelu)->operands[1];
  ops[3] = f2->operands[1];
  ops[5] = ln->operands[2];
  ops[6] = ln->operands[3];
  return true;
}

/* A copy of int list a under key; absent (no cpu.groups): the int 0. */
static fab_attr ints_attr(const char *key, const fab_attr *a) {
  fab_attr r = {.key = key, .kind = FAB_ATTR_INT};
  if (a && a->kind == FAB_ATTR_INTS) r.kind = FAB_ATTR_INTS, r.ints = a->ints, r.nints = a->nints;
  return r;
}

/* cpu.ffn = 2: x is a layernorm (1 row operand) or add.layernorm (2) of
 * the block's shape read only by it; returns its row operand count, 0 if
 * it is not one. */
static int norm_in_rows(const walk *w, int x, const fab_op *ln) {
  const fab_op *xo = at(w, x);
  int rows_in = xo->code == FAB_OP_LAYERNORM ? 1 : xo->code == FAB_OP_ADD_LAYERNORM ? 2 : 0;
  if (!rows_in || xo->noperands != rows_in + 2 || w->uses[x] != 2 || w->absorbed[x] ||
      fab_op_int(xo, "cpu.ffn", 0))
    return 0;
  for (int k = 0; k < rows_in; k++)
    if (!fab_type_equal(&at(w, xo->operands[k])->type, &ln->type)) return 0;
  return rows_in;
}

/* The eff operands with cpu.ffn = 2: x's operands (rows, gamma, beta) in
 * place of x, then the block's six. */
static int *norm_in_operands(const fab_op *xo, const int *ops) {
  int *r = malloc((size_t)(xo->noperands + 6) * sizeof *r);
  if (!r) return NULL;
  for (int k = 0; k < xo->noperands; k++) r[k] = xo->operands[k];
  for (int k = 1; k < 7; k++) r[xo->noperands + k - 1] = ops[k];
  return r;
}

bool cg_fold_ffn(const fab_func *f, int j, const int *uses, fab_op *eff, bool *absorbed, void **owned,
                 int *nowned, fab_diag *d) {
  walk w = {.f = f, .uses = uses, .absorbed = absorbed};
  int fc1 = -1, fc2 = -1, gelu = -1;
  int *ops = malloc(7 * sizeof *ops);
  fab_attr *attrs = malloc(sizeof *attrs * (size_t)(f->ops[j].nattrs + 7));
  if (ops) owned[(*nowned)++] = ops;
  if (attrs) owned[(*nowned)++] = attrs;
  if (!ops || !attrs) {
    fab_error(d, (fab_loc){0}, "cpu backend: out of memory");
    return false;
  }
  bool found = false; /* the residual is either of the first two operands */
  for (int xi = 0; xi < 2 && !found && f->ops[j].noperands == 4; xi++) {
    w.ntook = 0;
    found = walk_block(&w, j, xi, ops, &fc1, &fc2, &gelu);
  }
  if (!found) {
    fab_error(d, f->ops[j].loc,
              "cpu backend: %%%d = add.layernorm has cpu.ffn but its operands are not a butterfly "
              "feed-forward block and its input, each op of the block used only there",
              j);
    return false;
  }
  int rows_in = 0;
  if (fab_op_int(&f->ops[j], "cpu.ffn", 0) == 2 && !(rows_in = norm_in_rows(&w, ops[0], &f->ops[j]))) {
    fab_error(d, f->ops[j].loc,
              "cpu backend: %%%d = add.layernorm has cpu.ffn = 2 but its block's input %%%d is not a "
              "layernorm or add.layernorm of the same shape read only by the block",
              j, ops[0]);
    return false;
  }
  const fab_op *ln = &f->ops[j];
  memcpy(attrs, ln->attrs, sizeof *attrs * (size_t)ln->nattrs);
  int na = ln->nattrs;
  attrs[na++] = ints_attr("cpu.ffn.fc1.stages", fab_op_attr(&f->ops[fc1], "stages"));
  attrs[na++] = ints_attr("cpu.ffn.fc1.groups", fab_op_attr(&f->ops[fc1], "cpu.groups"));
  attrs[na++] = ints_attr("cpu.ffn.fc2.stages", fab_op_attr(&f->ops[fc2], "stages"));
  attrs[na++] = ints_attr("cpu.ffn.fc2.groups", fab_op_attr(&f->ops[fc2], "cpu.groups"));
  attrs[na++] = (fab_attr){.key = "cpu.ffn.approx", .kind = FAB_ATTR_STR,
                           .s = fab_op_str(&f->ops[gelu], "approx", "erf")};
  if (rows_in) {
    const fab_op *xo = &f->ops[ops[0]];
    int *nops = norm_in_operands(xo, ops);
    if (!nops) {
      fab_error(d, (fab_loc){0}, "cpu backend: out of memory");
      return false;
    }
    owned[(*nowned)++] = nops;
    attrs[na++] = (fab_attr){.key = "cpu.ffn.norm_in", .kind = FAB_ATTR_INT, .i = rows_in};
    attrs[na++] = (fab_attr){.key = "cpu.ffn.norm_in.eps", .kind = FAB_ATTR_FLOAT, .f = fab_op_float(xo, "eps", 1e-5)};
    absorbed[ops[0]] = true;
    ops = nops;
  }
  eff[j].operands = ops;
  eff[j].noperands = 7 + (rows_in ? rows_in + 1 : 0);
  eff[j].attrs = attrs;
  eff[j].nattrs = na;
  for (int k = 0; k < w.ntook; k++) absorbed[w.took[k]] = true;
  return true;
}
