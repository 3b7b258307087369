/* fold.c — which ops run inside their consumer's kernel, decided once
 * before any code is generated.
 *
 * The kernels see `eff`, a copy of the function's ops in which a consumer
 * may read an earlier value than the IR says and carry `cpu.*` attributes
 * telling its kernel how; the ops it took over are `absorbed` (no buffer,
 * no kernel).  Two folds:
 *
 *  - chains of adjacent bfly.stages ops on the same twiddles merge into the
 *    last op: one transpose in and out of lanes for the whole chain;
 *  - fft.stages reads its operand's `bitrev` (cpu.bitrev_in) and, along
 *    the last axis, the `complex` of real rows before it (cpu.real_in) in
 *    its own loads: lower-fourier's complex -> bitrev -> fft.stages chain
 *    then makes one pass over memory instead of three (the scalar bitrev
 *    gather alone was 55% of a 1024 x 256 Fourier mix).
 *
 * Everything a kernel's code depends on is in its eff op (operands and
 * attributes), so the kernel signatures that share code stay exact. */
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
} fold;

static void *own(fold *s, void *p) {
  if (p) s->owned[s->nowned++] = p;
  return p;
}

/* The byte range a planned value occupies; false if it has no plan slot
 * (inputs, weights: never in the arena) */
static bool plan_range(const fab_op *op, int64_t *lo, int64_t *hi) {
  if (!fab_op_attr(op, "plan.offset")) return false;
  *lo = fab_op_int(op, "plan.offset", 0);
  int64_t bytes = cg_numel(&op->type) * (op->type.dtype == FAB_C64 ? 8 : 4);
  *hi = *lo + fab_op_int(op, "plan.size", bytes);
  return true;
}

/* May `reader` read value `src` while it writes its own slot?  The memory
 * plan let them share bytes when src died earlier in the IR; a fold moves
 * the read later, so their slots must be the same (in place, for
 * elementwise-ordered kernels only: same_ok) or disjoint.  An unplanned
 * reshape is its operand's bytes. */
static bool slots_allow(const fab_func *f, int src, const fab_op *reader, bool same_ok) {
  const fab_op *s = &f->ops[src];
  while (s->code == FAB_OP_RESHAPE && !fab_op_attr(s, "plan.offset")) s = &f->ops[s->operands[0]];
  if (s->code == FAB_OP_INPUT || s->code == FAB_OP_WEIGHT) return true;
  int64_t a0, a1, b0, b1;
  if (!plan_range(s, &a0, &a1) || !plan_range(reader, &b0, &b1)) return true; /* first fit: liveness */
  if (same_ok && a0 == b0) return true;
  return a1 <= b0 || b1 <= a0;
}

/* eff[j] with `operand0` as its first operand and extra int attributes. */
static bool rewrite(fold *s, int j, int operand0, const char *const *keys, int nkeys) {
  const fab_op *b = &s->eff[j];
  int *ops = own(s, malloc(sizeof(int) * (size_t)b->noperands));
  fab_attr *attrs = own(s, calloc((size_t)(b->nattrs + nkeys), sizeof(fab_attr)));
  if (!ops || !attrs) return false;
  memcpy(ops, b->operands, sizeof(int) * (size_t)b->noperands);
  ops[0] = operand0;
  memcpy(attrs, b->attrs, sizeof(fab_attr) * (size_t)b->nattrs);
  for (int k = 0; k < nkeys; k++) {
    attrs[b->nattrs + k].key = keys[k];
    attrs[b->nattrs + k].kind = FAB_ATTR_INT;
    attrs[b->nattrs + k].i = 1;
  }
  s->eff[j].operands = ops;
  s->eff[j].attrs = attrs;
  s->eff[j].nattrs = b->nattrs + nkeys;
  return true;
}

/* ---- bfly.stages chains -------------------------------------------------- */

static void fold_bfly_chains(fold *s) {
  const fab_func *f = s->f;
  for (int j = 1; j < f->nops; j++) {
    int i = j - 1;
    const fab_op *a = &s->eff[i], *b = &f->ops[j];
    if (a->code != FAB_OP_BFLY_STAGES || b->code != FAB_OP_BFLY_STAGES || b->operands[0] != i ||
        b->operands[1] != a->operands[1] || s->uses[i] != 1 || !fab_type_equal(&a->type, &b->type))
      continue;
    const fab_attr *sa = fab_op_attr(a, "stages"), *sb = fab_op_attr(b, "stages");
    if (!sa || !sb || sa->kind != FAB_ATTR_INTS || sb->kind != FAB_ATTR_INTS) continue;
    /* the merged op reads the chain's input while writing its own slot */
    if (!slots_allow(f, a->operands[0], b, true)) continue;
    int *ops = own(s, malloc(sizeof(int) * 2));
    fab_attr *attrs = own(s, malloc(sizeof(fab_attr) * (size_t)(b->nattrs ? b->nattrs : 1)));
    int64_t *ints = own(s, malloc(sizeof(int64_t) * (size_t)(sa->nints + sb->nints)));
    if (!ops || !attrs || !ints) continue;
    ops[0] = a->operands[0];
    ops[1] = a->operands[1];
    memcpy(ints, sa->ints, sizeof(int64_t) * (size_t)sa->nints);
    memcpy(ints + sa->nints, sb->ints, sizeof(int64_t) * (size_t)sb->nints);
    memcpy(attrs, b->attrs, sizeof(fab_attr) * (size_t)b->nattrs);
    for (int k = 0; k < b->nattrs; k++)
      if (!strcmp(attrs[k].key, "stages")) {
        attrs[k].ints = ints;
        attrs[k].nints = sa->nints + sb->nints;
      }
    s->eff[j].operands = ops;
    s->eff[j].attrs = attrs;
    s->absorbed[i] = true;
  }
}

/* ---- fft.stages loads ------------------------------------------------------ */

static bool pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* True if every row of fft.stages j's operand (along its last axis, of
 * length W) is the spectrum of a real row, X[.., W - k] = conj X[.., k]:
 * the operand is bitrev (j's axis) of one fft.stages running every stage
 * along the last axis of bitrev (last axis) of complex (real), as
 * lower-fourier emits Re(FFT2).  Then Re of the transform along j's axis
 * obeys Re Y[s, W - k] = Re Y[(-s) mod S, k], and only half the columns
 * need transforming (codegen_fft.c).  Decided on the IR as written. */
static bool hermitian_rows(const fab_func *f, const fab_op *op) {
  /* the mirrored store pairs columns k and W - k of the axis just after
   * op's: op's axis must be the second last */
  if (cg_norm_axis(&op->type, fab_op_int(op, "axis", -1)) != op->type.rank - 2) return false;
  const fab_op *b0 = &f->ops[op->operands[0]];
  if (b0->code != FAB_OP_BITREV || fab_op_int(b0, "axis", -9) != fab_op_int(op, "axis", -8)) return false;
  const fab_op *fs = &f->ops[b0->operands[0]];
  const fab_type *t = &fs->type;
  int last = t->rank - 1;
  if (fs->code != FAB_OP_FFT_STAGES || fab_op_int(fs, "real_out", 0) || t->dtype != FAB_C64 ||
      cg_norm_axis(t, fab_op_int(fs, "axis", -1)) != last)
    return false;
  const fab_attr *st = fab_op_attr(fs, "stages");
  int64_t W = t->dims[last], logw = 0;
  while (((int64_t)1 << logw) < W) logw++;
  if (!st || st->kind != FAB_ATTR_INTS || ((int64_t)1 << logw) != W || st->nints != logw) return false;
  for (int k = 0; k < st->nints; k++)
    if (st->ints[k] != k + 1) return false; /* every stage, in order: a complete DFT */
  const fab_op *b1 = &f->ops[fs->operands[0]];
  if (b1->code != FAB_OP_BITREV || cg_norm_axis(&b1->type, fab_op_int(b1, "axis", -1)) != last) return false;
  const fab_op *cx = &f->ops[b1->operands[0]];
  return cx->code == FAB_OP_COMPLEX && f->ops[cx->operands[0]].type.dtype == FAB_F32;
}

static void fold_fft_loads(fold *s) {
  const fab_func *f = s->f;
  bool no_herm = getenv("FAB_CPU_NO_HERMITIAN") != NULL, no_fold = getenv("FAB_CPU_NO_FOLD") != NULL;
  for (int j = 2; j < f->nops; j++) {
    const fab_op *op = &f->ops[j];
    if (op->code != FAB_OP_FFT_STAGES || op->noperands != 1) continue;
    const char *keys[3];
    int nkeys = 0, src = op->operands[0], took[2], ntook = 0;
    if (!no_herm && fab_op_int(op, "real_out", 0) && hermitian_rows(f, op)) keys[nkeys++] = "cpu.hermitian";
    const fab_op *b = &f->ops[src];
    const fab_type *t = &b->type;
    int axis = cg_norm_axis(t, fab_op_int(op, "axis", -1));
    /* the bitrev must be the op just before (nothing runs between the
     * value it read and the fft) and used only here */
    if (!no_fold && src == j - 1 && b->code == FAB_OP_BITREV && s->uses[src] == 1 && axis >= 0 &&
        axis < t->rank && cg_norm_axis(t, fab_op_int(b, "axis", -1)) == axis && pow2(t->dims[axis]) &&
        slots_allow(f, b->operands[0], op, false)) {
      keys[nkeys++] = "cpu.bitrev_in";
      took[ntook++] = src;
      src = b->operands[0];
      const fab_op *cx = &f->ops[src];
      /* real rows: the tiled (last-axis) kernel loads them directly */
      if (src == j - 2 && cx->code == FAB_OP_COMPLEX && s->uses[src] == 1 && axis == t->rank - 1 &&
          t->dims[axis] <= 8192 && f->ops[cx->operands[0]].type.dtype == FAB_F32 &&
          slots_allow(f, cx->operands[0], op, false)) {
        keys[nkeys++] = "cpu.real_in";
        took[ntook++] = src;
        src = cx->operands[0];
      }
    }
    if (nkeys && rewrite(s, j, src, keys, nkeys)) /* else (out of memory) the IR's ops */
      for (int k = 0; k < ntook; k++) s->absorbed[took[k]] = true;
  }
}

bool cg_fold_ops(const fab_func *f, fab_op *eff, bool *absorbed, void ***owned, int *nowned) {
  fold s = {.f = f, .eff = eff, .absorbed = absorbed};
  s.uses = calloc((size_t)f->nops, sizeof *s.uses);
  s.owned = calloc((size_t)f->nops * 3 + 1, sizeof(void *));
  if (!s.uses || !s.owned) {
    free(s.uses);
    free(s.owned);
    return false;
  }
  for (int i = 0; i < f->nops; i++) {
    eff[i] = f->ops[i];
    absorbed[i] = false;
    for (int k = 0; k < f->ops[i].noperands; k++) s.uses[f->ops[i].operands[k]]++;
  }
  if (!getenv("FAB_CPU_NO_CHAIN")) fold_bfly_chains(&s);
  fold_fft_loads(&s);
  free(s.uses);
  *owned = s.owned;
  *nowned = s.nowned;
  return true;
}
