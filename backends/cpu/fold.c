/* fold.c — the ops as the kernels see them, from the cpu.* attributes the
 * pass cpu-fold-fft-loads wrote (passes/cpu_fold.c).
 *
 * The IR keeps every op and its meaning; an add with cpu.embed_in
 * (cpu-fold-embed) gathers its embed's table rows; fft.stages with cpu.bitrev_in
 * (and cpu.real_in) reads through its operand bitrev (and the complex
 * before it) in its own loads: those ops get no buffer and no kernel
 * (`absorbed`), and `eff`, a copy of the ops, has the fft read the earlier
 * value directly.
 *
 * Nothing is decided here; an attribute whose ops do not have that shape
 * (adjacent: nothing runs between, so the memory plan holds) is an error.
 * cpu.hermitian is taken as the pass wrote it.  Everything a kernel's code depends on is in its eff op
 * (operands and attributes), so the kernel signatures that share code stay
 * exact. */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fold {
  const fab_func *f;
  fab_op *eff;
  bool *absorbed;
  int *uses;
  void **owned;
  int nowned;
  fab_diag *d;
} fold;

static void *own(fold *s, void *p) {
  if (p) s->owned[s->nowned++] = p;
  return p;
}

static bool bad(fold *s, int j, const char *attr, const char *why) {
  const fab_op *op = &s->f->ops[j];
  fab_error(s->d, op->loc, "cpu backend: %%%d = %s has %s but %s", j, fab_opinfos[op->code].name, attr, why);
  return false;
}

static bool oom(fold *s) {
  fab_error(s->d, (fab_loc){0}, "cpu backend: out of memory");
  return false;
}

/* Is value p read only by op j, not yet taken by another kernel? */
static bool only_here(fold *s, int p) { return s->uses[p] == 1 && !s->absorbed[p]; }

/* fft.stages j with cpu.bitrev_in / cpu.real_in: eff[j] reads past them. */
static bool follow_fft_loads(fold *s, int j) {
  const fab_op *op = &s->f->ops[j];
  bool rev = fab_op_int(op, "cpu.bitrev_in", 0) != 0, real = fab_op_int(op, "cpu.real_in", 0) != 0;
  if (!rev && !real) return true;
  if (!rev) return bad(s, j, "cpu.real_in", "not cpu.bitrev_in");
  int src = op->operands[0];
  const fab_op *b = &s->f->ops[src];
  if (src != j - 1 || b->code != FAB_OP_BITREV || !only_here(s, src) || 
      cg_norm_axis(&b->type, fab_op_int(b, "axis", -1)) != cg_norm_axis(&b->type, fab_op_int(op, "axis", -1)))
    return bad(s, j, "cpu.bitrev_in", "its operand is not the bitrev just before it, on its axis, used only here");
  int took[2] = {src, -1};
  src = b->operands[0];
  if (real) {
    const fab_op *cx = &s->f->ops[src];
    if (src != j - 2 || cx->code != FAB_OP_COMPLEX || !only_here(s, src) || s->f->ops[cx->operands[0]].type.dtype != FAB_F32)
      return bad(s, j, "cpu.real_in", "the bitrev's operand is not the complex of f32 rows just before it, used only there");
    took[1] = src;
    src = cx->operands[0];
  }
  int *ops = own(s, malloc(sizeof(int)));
  if (!ops) return oom(s);
  ops[0] = src;
  s->eff[j].operands = ops;
  for (int k = 0; k < 2; k++)
    if (took[k] >= 0) s->absorbed[took[k]] = true;
  return true;
}

/* fft.stages j with cpu.half_cols: read only by the bitrev just after it,
 * which the cpu.hermitian fft after that reads through (cpu.bitrev_in). */
static bool check_half_cols(fold *s, int j) {
  const fab_func *f = s->f;
  if (!fab_op_int(&f->ops[j], "cpu.half_cols", 0)) return true;
  bool ok = j + 2 < f->nops && s->uses[j] == 1 && f->ops[j + 1].code == FAB_OP_BITREV &&
            f->ops[j + 1].operands[0] == j && s->uses[j + 1] == 1;
  const fab_op *r = ok ? &f->ops[j + 2] : NULL;
  ok = ok && r->code == FAB_OP_FFT_STAGES && r->operands[0] == j + 1 && fab_op_int(r, "cpu.bitrev_in", 0) &&
       fab_op_int(r, "cpu.hermitian", 0) && fab_op_int(r, "real_out", 0) && f->ops[j].type.rank >= 2;
  return ok || bad(s, j, "cpu.half_cols",
                   "it is not read by a bitrev alone that a cpu.hermitian fft just after reads through");
}

/* add j with cpu.slice_in: its second operand, a slice of a weight's
 * leading rows read only here, is read in place; -1 after an error. */
static int follow_slice(fold *s, int j) {
  const fab_op *op = &s->f->ops[j];
  int k = op->operands[1];
  if (!fab_op_int(op, "cpu.slice_in", 0)) return k;
  const fab_op *sl = &s->f->ops[k];
  const fab_op *w = sl->code == FAB_OP_SLICE ? &s->f->ops[sl->operands[0]] : NULL;
  int64_t axis = sl->code == FAB_OP_SLICE ? fab_op_int(sl, "axis", -1) : -1;
  if (!w || w->code != FAB_OP_WEIGHT || !only_here(s, k) || sl->type.dtype != FAB_F32 ||
      (axis != 0 && axis != -w->type.rank)) {
    bad(s, j, "cpu.slice_in", "its second operand is not a slice of a weight's leading rows used only here");
    return -1;
  }
  s->absorbed[k] = true;
  return sl->operands[0];
}

/* add j with cpu.embed_in: eff[j] = (ids, table, other operand). */
static bool follow_embed(fold *s, int j) {
  const fab_op *op = &s->f->ops[j];
  if (!fab_op_int(op, "cpu.embed_in", 0)) return true;
  int e = op->operands[0];
  const fab_op *em = &s->f->ops[e];
  bool between = e < j;
  for (int i = e + 1; between && i < j; i++)
    between = s->f->ops[i].code == FAB_OP_INPUT || s->f->ops[i].code == FAB_OP_WEIGHT ||
              (i == op->operands[1] && fab_op_int(op, "cpu.slice_in", 0));
  if (!between || em->code != FAB_OP_EMBED || !only_here(s, e) || em->type.dtype != FAB_F32 ||
      cg_numel(&em->type) != cg_numel(&op->type) || cg_numel(&s->f->ops[op->operands[1]].type) != cg_numel(&op->type))
    return bad(s, j, "cpu.embed_in",
               "its first operand is not an f32 embed of its shape, used only here with nothing running between");
  int other = follow_slice(s, j);
  if (other < 0) return false;
  int *ops = own(s, malloc(3 * sizeof(int)));
  if (!ops) return oom(s);
  ops[0] = em->operands[0];
  ops[1] = em->operands[1];
  ops[2] = other;
  s->eff[j].operands = ops;
  s->eff[j].noperands = 3;
  s->absorbed[e] = true;
  return true;
}

bool cg_fold_ops(const fab_func *f, fab_op *eff, bool *absorbed, void ***owned, int *nowned,
                 fab_diag *d) {
  fold s = {.f = f, .eff = eff, .absorbed = absorbed, .d = d};
  s.uses = calloc((size_t)f->nops, sizeof *s.uses);
  s.owned = calloc((size_t)f->nops * 3 + 1, sizeof(void *));
  if (!s.uses || !s.owned) {
    free(s.uses);
    free(s.owned);
    return oom(&s);
  }
  for (int i = 0; i < f->nops; i++) {
    eff[i] = f->ops[i];
    absorbed[i] = false;
    for (int k = 0; k < f->ops[i].noperands; k++) s.uses[f->ops[i].operands[k]]++;
  }
  bool ok = true;
  for (int j = 0; ok && j < f->nops; j++) {
    const fab_op *op = &f->ops[j];
    if (op->code == FAB_OP_FFT_STAGES) ok = follow_fft_loads(&s, j) && check_half_cols(&s, j);
    if (op->code == FAB_OP_ADD) ok = follow_embed(&s, j);
    if (op->code == FAB_OP_ADD_LAYERNORM && fab_op_int(op, "cpu.ffn", 0))
      ok = cg_fold_ffn(f, j, s.uses, eff, absorbed, s.owned, &s.nowned, d);
  }
  free(s.uses);
  *owned = s.owned;
  *nowned = s.nowned;
  return ok;
}
