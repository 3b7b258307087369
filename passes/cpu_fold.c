/* cpu_fold.c — the CPU backend's decisions about the IR, as passes.
 *
 * Both passes run after memplan on planned IR and keep the plan valid;
 * the IR keeps its meaning (it still runs on the interpreter).  The
 * `cpu.*` attributes they add are declared in ir/ops.def; the CPU backend
 * (backends/cpu/fold.c, kernel_bfly.c) follows them and decides nothing
 * of this itself.
 *
 * cpu-chain-bfly(chain=1, group=3)
 *   A run of bfly.stages ops, each the only user of the one just before it,
 *   on the same twiddles and of one type, becomes one bfly.stages with all
 *   their stages in order (one transpose into lanes and back for the whole
 *   chain; the same meaning: the op applies its stages in order).  Every
 *   bfly.stages gets cpu.groups: how many of its stages each pass over the
 *   lane tile keeps in registers — runs of up to `group` stages with
 *   distinct strides.  This is the one place the CPU decides stage
 *   grouping (the cpu pipeline has no fuse-stages).
 *
 * cpu-fold-fft-loads(fold=1, hermitian=1)
 *   fft.stages reads its operand's `bitrev` (cpu.bitrev_in) and, along the
 *   last axis, the `complex` of real rows before that (cpu.real_in) in its
 *   own loads: lower-fourier's complex -> bitrev -> fft.stages then makes
 *   one pass over memory instead of three.  cpu.hermitian: the operand's
 *   rows are spectra of real rows, so Re of the transform needs only half
 *   the columns (see hermitian_rows); cpu.half_cols on the last-axis fft
 *   that such a folded read reads alone: its columns past the half are
 *   never read, and the kernel need not store them.
 *
 * cpu-fold-embed(fold=1)
 *   An `add` whose first operand is an `embed` used only there (the
 *   positional embedding's add, with only inputs and weights between them)
 *   gathers the table rows itself (cpu.embed_in): one pass over the rows
 *   instead of a copy and an add.  When its second operand is a slice of
 *   a weight's leading rows used only there (positions of a sequence
 *   shorter than the table), it also reads those rows in place
 *   (cpu.slice_in) instead of a copy.
 *
 * A fold moves a read later than the IR has it; the memory plan let the
 * reader's slot share bytes with values that died before it, so a fold is
 * made only when the slots allow it (slots_allow). */
#include "pass_internal.h"

#include <string.h>

static int norm_axis(const fab_type *t, int64_t axis) {
  return (int)(axis < 0 ? axis + t->rank : axis);
}

/* The byte range a planned value occupies; false if it has no plan slot
 * (inputs, weights: never in the arena) */
static bool plan_range(const fab_op *op, int64_t *lo, int64_t *hi) {
  if (!fab_op_attr(op, "plan.offset")) return false;
  *lo = fab_op_int(op, "plan.offset", 0);
  int64_t bytes = fab_type_numel(&op->type) * (op->type.dtype == FAB_C64 ? 8 : 4);
  *hi = *lo + fab_op_int(op, "plan.size", bytes);
  return true;
}

/* May `reader` read value `src` while it writes its own slot?  Their slots
 * must be the same (in place, for elementwise-ordered kernels only:
 * same_ok) or disjoint.  An unplanned reshape is its operand's bytes. */
static int slot_owner(const fab_func *f, int v) {
  while (f->ops[v].code == FAB_OP_RESHAPE && !fab_op_attr(&f->ops[v], "plan.offset")) v = f->ops[v].operands[0];
  return v;
}

static bool slots_allow(const fab_func *f, int src, const fab_op *reader, bool same_ok) {
  const fab_op *s = &f->ops[slot_owner(f, src)];
  if (s->code == FAB_OP_INPUT || s->code == FAB_OP_WEIGHT) return true;
  int64_t a0, a1, b0, b1;
  if (!plan_range(s, &a0, &a1) || !plan_range(reader, &b0, &b1)) return true; /* backend's first fit */
  if (same_ok && a0 == b0) return true;
  return a1 <= b0 || b1 <= a0;
}

static bool option_01(fab_pass_ctx *cx, const char *key, bool *out) {
  int64_t v = pass_opt(cx, key, 1);
  if (v != 0 && v != 1) {
    pass_error(cx, NULL, "%s=%lld: expected 0 or 1", key, (long long)v);
    return false;
  }
  *out = v == 1;
  return true;
}

/* ---- cpu-chain-bfly -------------------------------------------------------- */

static bool stages_ok(const fab_op *op) {
  const fab_attr *a = fab_op_attr(op, "stages");
  return a && a->kind == FAB_ATTR_INTS && a->nints % 3 == 0;
}

/* Greedy register groups over triples st (3 per stage): the longest run
 * (<= F) of stages whose log strides are distinct.  Returns the count. */
static int plan_groups(const int64_t *st, int ns, int F, int64_t *groups) {
  int n = 0;
  for (int i = 0; i < ns;) {
    int g = 1;
    while (g < F && i + g < ns) {
      bool distinct = true;
      for (int t = 0; t < g; t++) distinct = distinct && st[3 * (i + t) + 2] != st[3 * (i + g) + 2];
      if (!distinct) break;
      g++;
    }
    groups[n++] = g;
    i += g;
  }
  return n;
}

/* Which bfly.stages merge into the next op: absorbed[i] when op i+1 runs
 * op i's stages first; in[j] is the input of the chain ending at j and
 * len[j] its triple count. */
static void find_chains(const fab_func *f, const int *uses, int *in, int *len, bool *absorbed) {
  for (int j = 0; j < f->nops; j++) {
    const fab_op *b = &f->ops[j];
    absorbed[j] = false;
    if (b->code != FAB_OP_BFLY_STAGES || b->noperands != 2 || !stages_ok(b)) continue;
    in[j] = b->operands[0];
    len[j] = fab_op_attr(b, "stages")->nints;
    int i = j - 1;
    const fab_op *a = i >= 0 ? &f->ops[i] : NULL;
    if (!a || a->code != FAB_OP_BFLY_STAGES || a->noperands != 2 || !stages_ok(a) ||
        b->operands[0] != i || b->operands[1] != a->operands[1] || uses[i] != 1 ||
        !fab_type_equal(&a->type, &b->type))
      continue;
    /* the merged op reads the chain's input while writing b's slot */
    if (!slots_allow(f, in[i], b, true)) continue;
    absorbed[i] = true;
    in[j] = in[i];
    len[j] += len[i];
  }
}

/* The op ending a chain at j: all the chain's stages, read from its input,
 * with b's attributes (its plan slot) and the register groups. */
static void emit_chain(rw *w, int j, const int *in, const int *len, int F) {
  const fab_func *f = w->f;
  int64_t *st = fab_arena_alloc(w->m->arena, sizeof(int64_t) * (size_t)(len[j] + 1));
  int64_t *groups = fab_arena_alloc(w->m->arena, sizeof(int64_t) * (size_t)(len[j] / 3 + 1));
  if (!st || !groups) fab_out_of_memory(__FILE__, __LINE__);
  int end = len[j];
  for (int i = j; end > 0; i--) { /* the chain is ops j-k..j, in order */
    const fab_attr *a = fab_op_attr(&f->ops[i], "stages");
    end -= a->nints;
    memcpy(st + end, a->ints, sizeof(int64_t) * (size_t)a->nints);
  }
  int v = fab_func_copy_op(w->m, &w->nf, &f->ops[j], NULL);
  fab_op *nop = rw_at(w, v);
  nop->operands[0] = w->map[in[j]];
  nop->operands[1] = w->map[f->ops[j].operands[1]];
  fab_op_set_ints(w->m, nop, "stages", st, len[j]);
  fab_op_set_ints(w->m, nop, "cpu.groups", groups, plan_groups(st, len[j] / 3, F, groups));
  /* in place over its old operand; over the chain's input only if that
   * has the same slot (slots_allow: else they are disjoint) */
  const fab_op *src = &f->ops[in[j]];
  if (in[j] != f->ops[j].operands[0] &&
      fab_op_int(src, "plan.offset", -1) != fab_op_int(&f->ops[j], "plan.offset", -2))
    fab_op_remove_attr(nop, "plan.inplace");
  rw_type(w, v, f->ops[j].type);
  w->map[j] = v;
}

bool pass_cpu_chain_bfly(fab_pass_ctx *cx, fab_func *f) {
  bool chain;
  int64_t F = pass_opt(cx, "group", 3);
  if (!option_01(cx, "chain", &chain)) return false;
  if (F < 1 || F > 6) {
    pass_error(cx, NULL, "group=%lld out of range (1..6: 2^group vectors stay in registers)",
               (long long)F);
    return false;
  }
  size_t nn = (size_t)(f->nops ? f->nops : 1);
  int *in = fab_arena_alloc(cx->m->arena, sizeof(int) * nn), *len = fab_arena_alloc(cx->m->arena, sizeof(int) * nn);
  bool *absorbed = fab_arena_alloc(cx->m->arena, nn);
  if (!in || !len || !absorbed) fab_out_of_memory(__FILE__, __LINE__);
  find_chains(f, pass_use_counts(cx->m, f), in, len, absorbed);
  if (!chain) memset(absorbed, 0, nn);
  rw w;
  rw_init(&w, cx, f);
  for (int j = 0; j < f->nops && w.ok; j++) {
    const fab_op *b = &f->ops[j];
    bool bfly = b->code == FAB_OP_BFLY_STAGES && b->noperands == 2 && stages_ok(b);
    if (absorbed[j]) continue;
    if (!bfly) {
      rw_copy(&w, j);
      continue;
    }
    if (!chain) in[j] = b->operands[0], len[j] = fab_op_attr(b, "stages")->nints;
    emit_chain(&w, j, in, len, (int)F);
  }
  return rw_commit(&w);
}

/* ---- cpu-fold-fft-loads ---------------------------------------------------- */

static bool pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* Does bitrev b put its axis in the order fft.stages op reads (the
 * backend folds only this one): bit reversal of a power of two without
 * radix stages, or lower-fourier's digit order, the 2s then op's radix
 * list. */
static bool fft_order(const fab_op *b, const fab_op *op, int64_t n) {
  const fab_attr *ra = fab_op_attr(b, "radices"), *rq = fab_op_attr(op, "radix");
  if (!ra || !rq) return !ra && !rq && pow2(n);
  if (ra->kind != FAB_ATTR_INTS || rq->kind != FAB_ATTR_INTS || ra->nints < rq->nints) return false;
  int k = ra->nints - rq->nints;
  for (int i = 0; i < ra->nints; i++)
    if (ra->ints[i] != (i < k ? 2 : rq->ints[i - k])) return false;
  return true;
}

/* Every stage of a complete transform of length W, in order: radix-2
 * stages 1..log2(W / q) then the radix stages (product q). */
static bool complete_fft(const fab_op *fs, int64_t W) {
  const fab_attr *st = fab_op_attr(fs, "stages"), *rq = fab_op_attr(fs, "radix");
  int64_t q = 1;
  for (int i = 0; rq && rq->kind == FAB_ATTR_INTS && i < rq->nints; i++) q *= rq->ints[i];
  if (!st || st->kind != FAB_ATTR_INTS || (rq && rq->kind != FAB_ATTR_INTS) || W % q || !pow2(W / q)) return false;
  int logw = 0;
  while (((int64_t)1 << logw) < W / q) logw++;
  if (st->nints != logw) return false;
  for (int k = 0; k < st->nints; k++)
    if (st->ints[k] != k + 1) return false;
  return true;
}

/* True if every row of fft.stages op's operand (along its last axis, of
 * length W) is the spectrum of a real row, X[.., W - k] = conj X[.., k]:
 * the operand is bitrev (op's axis) of one fft.stages running every stage
 * along the last axis of bitrev (last axis) of complex (real), as
 * lower-fourier emits Re(FFT2).  Then Re of the transform along op's axis
 * obeys Re Y[s, W - k] = Re Y[(-s) mod S, k], and only half the columns
 * need transforming (backends/cpu/codegen_fft.c). */
static bool hermitian_rows(const fab_func *f, const fab_op *op) {
  /* the mirrored store pairs columns k and W - k of the axis just after
   * op's: op's axis must be the second last */
  if (norm_axis(&op->type, fab_op_int(op, "axis", -1)) != op->type.rank - 2) return false;
  const fab_op *b0 = &f->ops[op->operands[0]];
  if (b0->code != FAB_OP_BITREV || fab_op_int(b0, "axis", -9) != fab_op_int(op, "axis", -8)) return false;
  const fab_op *fs = &f->ops[b0->operands[0]];
  const fab_type *t = &fs->type;
  int last = t->rank - 1;
  if (fs->code != FAB_OP_FFT_STAGES || fab_op_int(fs, "real_out", 0) || t->dtype != FAB_C64 ||
      norm_axis(t, fab_op_int(fs, "axis", -1)) != last)
    return false;
  int64_t W = t->dims[last];
  if (!complete_fft(fs, W)) return false; /* every stage, in order: a complete DFT */
  const fab_op *b1 = &f->ops[fs->operands[0]];
  if (b1->code != FAB_OP_BITREV || norm_axis(&b1->type, fab_op_int(b1, "axis", -1)) != last ||
      !fft_order(b1, fs, W))
    return false;
  const fab_op *cx = &f->ops[b1->operands[0]];
  return cx->code == FAB_OP_COMPLEX && f->ops[cx->operands[0]].type.dtype == FAB_F32;
}

/* ---- moving an fft's result off the bytes its fold would read ----------- */

typedef struct span {
  int64_t lo, hi;
} span;

/* Ops reading value v: the last one (nops when an output op reads it). */
static int *last_uses(fab_module *m, const fab_func *f) {
  int *last = fab_arena_alloc(m->arena, sizeof(int) * (size_t)(f->nops ? f->nops : 1));
  if (!last) fab_out_of_memory(__FILE__, __LINE__);
  for (int i = 0; i < f->nops; i++) last[i] = i;
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i].noperands; k++) {
      int o = f->ops[i].operands[k], end = f->ops[i].code == FAB_OP_OUTPUT ? f->nops : i;
      if (end > last[o]) last[o] = end;
    }
  return last;
}

/* Does op u work in place over value j, or alias it (an unplanned
 * reshape)?  Moving j would then move u's bytes too. */
static bool shares_bytes(const fab_op *u, int j) {
  for (int k = 0; k < u->noperands; k++)
    if (u->operands[k] == j && ((u->code == FAB_OP_RESHAPE && !fab_op_attr(u, "plan.offset")) ||
                                fab_op_int(u, "plan.inplace", -1) == k))
      return true;
  return false;
}

/* The lowest 64-byte aligned offset where `size` bytes overlap no span. */
static int64_t lowest_gap(const span *s, int n, int64_t size) {
  int64_t best = -1;
  for (int c = -1; c < n; c++) {
    int64_t at = c < 0 ? 0 : (s[c].hi + 63) / 64 * 64;
    bool fits = best < 0 || at < best;
    for (int k = 0; k < n && fits; k++) fits = s[k].hi <= at || at + size <= s[k].lo;
    if (fits) best = at;
  }
  return best;
}

/* The fold of bitrev j - 1 into fft.stages j is refused when j's slot
 * shares bytes with `src`, the value the folded loads read.  Give j bytes
 * that no other value holds while j is live, src and the bitrev included
 * (so the plan stays valid for the IR as written, and for the kernels that
 * skip the bitrev), the arena growing when no gap fits: the sequence-axis
 * bitrev of Re(FFT2) is then one copy of the whole mix fewer.  False when
 * a user of j works in place over it or aliases it. */
static bool move_result(fab_pass_ctx *cx, fab_func *f, int j, int src) {
  fab_op *op = &f->ops[j];
  int64_t lo, hi, slo, shi;
  if (!plan_range(op, &lo, &hi) || !plan_range(&f->ops[src], &slo, &shi)) return false;
  const int *last = last_uses(cx->m, f);
  int n = 0;
  span *live = fab_arena_alloc(cx->m->arena, sizeof(span) * (size_t)(f->nops + 1));
  if (!live) fab_out_of_memory(__FILE__, __LINE__);
  for (int v = 0; v < f->nops; v++) {
    if (v != j && shares_bytes(&f->ops[v], j)) return false;
    bool overlaps_life = v == src || (v <= last[j] && last[v] >= j);
    if (v != j && overlaps_life && plan_range(&f->ops[v], &live[n].lo, &live[n].hi)) n++;
  }
  int64_t at = lowest_gap(live, n, hi - lo);
  fab_op_set_int(cx->m, op, "plan.offset", at);
  fab_op_remove_attr(op, "plan.inplace");
  return true;
}

/* Which of fft.stages j's loads fold: *bitrev (its operand, the op just
 * before: nothing runs between the value it read and the fft) and *real
 * (the complex before that, real rows along the last axis).  With `move`,
 * a fold the slots refuse moves j's result (move_result). */
static void fold_loads(fab_pass_ctx *cx, fab_func *f, const int *uses, int j, bool move, bool *bitrev,
                       bool *real) {
  const fab_op *op = &f->ops[j];
  int src = op->operands[0];
  const fab_op *b = &f->ops[src];
  const fab_type *t = &b->type;
  int axis = norm_axis(t, fab_op_int(op, "axis", -1));
  *bitrev = *real = false;
  if (src != j - 1 || b->code != FAB_OP_BITREV || uses[src] != 1 || axis < 0 || axis >= t->rank ||
      norm_axis(t, fab_op_int(b, "axis", -1)) != axis || !fft_order(b, op, t->dims[axis]))
    return;
  if (!slots_allow(f, b->operands[0], op, false) &&
      !(move && move_result(cx, f, j, slot_owner(f, b->operands[0]))))
    return;
  *bitrev = true;
  src = b->operands[0];
  const fab_op *cplx = &f->ops[src];
  /* the tiled (last-axis) kernel loads real rows directly */
  *real = src == j - 2 && cplx->code == FAB_OP_COMPLEX && uses[src] == 1 && axis == t->rank - 1 &&
          t->dims[axis] <= 8192 && f->ops[cplx->operands[0]].type.dtype == FAB_F32 &&
          slots_allow(f, cplx->operands[0], op, false);
}

bool pass_cpu_fold_fft_loads(fab_pass_ctx *cx, fab_func *f) {
  bool fold, herm, move;
  if (!option_01(cx, "fold", &fold) || !option_01(cx, "hermitian", &herm) || !option_01(cx, "move", &move))
    return false;
  int *uses = pass_use_counts(cx->m, f);
  for (int j = 2; j < f->nops; j++) {
    fab_op *op = &f->ops[j];
    if (op->code != FAB_OP_FFT_STAGES || op->noperands != 1) continue;
    bool bitrev = false, real = false;
    if (herm && fab_op_int(op, "real_out", 0) && hermitian_rows(f, op))
      fab_op_set_int(cx->m, op, "cpu.hermitian", 1);
    if (fold) fold_loads(cx, f, uses, j, move, &bitrev, &real);
    if (bitrev) fab_op_set_int(cx->m, op, "cpu.bitrev_in", 1);
    if (real) fab_op_set_int(cx->m, op, "cpu.real_in", 1);
    /* the row fft behind a folded hermitian read: read by it alone */
    int rows = f->ops[op->operands[0]].operands[0];
    if (bitrev && fab_op_int(op, "cpu.hermitian", 0) && uses[rows] == 1)
      fab_op_set_int(cx->m, &f->ops[rows], "cpu.half_cols", 1);
  }
  return true;
}

/* ---- cpu-fold-embed -------------------------------------------------------- */

/* Is op k a slice of a weight's rows (leading axis) used only by add j? */
static bool weight_rows_slice(const fab_func *f, const int *uses, int k, int j) {
  const fab_op *sl = &f->ops[k];
  if (sl->code != FAB_OP_SLICE || uses[k] != 1 || f->ops[j].operands[1] != k || sl->type.dtype != FAB_F32)
    return false;
  const fab_op *w = &f->ops[sl->operands[0]];
  int64_t axis = fab_op_int(sl, "axis", -1);
  return w->code == FAB_OP_WEIGHT && (axis == 0 || axis == -w->type.rank);
}

/* Does add j read the embed e = its operand 0, used only there, with only
 * inputs and weights (and the slice weight_rows_slice allows) between them
 * (nothing else runs in between)? */
static bool embed_foldable(const fab_func *f, const int *uses, int j) {
  const fab_op *add = &f->ops[j];
  if (add->code != FAB_OP_ADD || add->noperands != 2) return false;
  int e = add->operands[0];
  const fab_op *em = &f->ops[e];
  if (e >= j || em->code != FAB_OP_EMBED || em->noperands != 2 || uses[e] != 1 ||
      !fab_type_equal(&em->type, &add->type) || em->type.dtype != FAB_F32 ||
      fab_type_numel(&f->ops[add->operands[1]].type) != fab_type_numel(&add->type))
    return false;
  for (int i = e + 1; i < j; i++)
    if (f->ops[i].code != FAB_OP_INPUT && f->ops[i].code != FAB_OP_WEIGHT && !weight_rows_slice(f, uses, i, j))
      return false;
  /* the add reads the embed's ids and table while it writes its slot */
  return slots_allow(f, em->operands[0], add, false) && slots_allow(f, em->operands[1], add, false);
}

bool pass_cpu_fold_embed(fab_pass_ctx *cx, fab_func *f) {
  bool fold;
  if (!option_01(cx, "fold", &fold)) return false;
  int *uses = pass_use_counts(cx->m, f);
  for (int j = 1; fold && j < f->nops; j++)
    if (embed_foldable(f, uses, j)) {
      fab_op_set_int(cx->m, &f->ops[j], "cpu.embed_in", 1);
      if (weight_rows_slice(f, uses, f->ops[j].operands[1], j)) fab_op_set_int(cx->m, &f->ops[j], "cpu.slice_in", 1);
    }
  return true;
}
