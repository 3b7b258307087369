/* schedule.c — which kernel steps share one parallel region.
 *
 * A region is one parallel_for over units of leading-axis rows: a thread
 * takes a unit and runs every step of the region on that unit's rows, so
 * rows stay on the core that produced them and the region costs one
 * fork/join instead of one per op.  That is only correct when
 *  - every step of the region is *row-local*: its parallel row r covers
 *    rows [r q, (r + 1) q) of its result in order (q = 1 or V, the
 *    "fine" rows of a kernel; row_map below knows which kernels are), and
 *    reads the operands it shares with the region only at the same
 *    leading-axis rows;
 *  - no two steps touch the same bytes at different units: a buffer that
 *    memplan reused with another row size (or that a step reads whole)
 *    must not overlap anything another step of the region writes.
 * Anything else (an FFT along the sequence axis, a transpose, attention's
 * keys) is a region of its own, as every op used to be.
 *
 * A new kernel kind joins regions by getting a case in row_map; until
 * then it runs alone, which is always correct. */
#include "cpu_internal.h"

#include <stdlib.h>

#define MAX_REGION_STEPS 64
#define MIN_UNITS 8 /* a region keeps at least this many units (or what its steps had) */

typedef struct rowmap {
  int64_t S;      /* leading-axis length of the result */
  int64_t fine;   /* fine rows of the result, a multiple of S */
  int64_t q;      /* fine rows per parallel row */
  uint32_t local; /* bit k: operand k is read only at the step's own rows */
} rowmap;

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static const fab_type *operand_type(const cpu_cg *c, const fab_op *op, int k) {
  return &c->f->ops[op->operands[k]].type;
}

/* True if t has S rows on its leading axis (numel a multiple of S). */
static bool leads(const fab_type *t, int64_t S, int min_rank) {
  return t->rank >= min_rank && t->dims[0] == S && cg_numel(t) % S == 0;
}

static int op_axis(const fab_type *t, const fab_op *op) {
  return cg_norm_axis(t, fab_op_int(op, "axis", -1));
}

/* The kernels whose parallel rows are rows of their result in order, and
 * which operands they read row by row (the others they read whole). */
static bool row_map(const cpu_cg *c, const fab_op *op, int64_t nrows, rowmap *rm) {
  const fab_type *t = &op->type;
  if (t->rank < 2 || t->dims[0] < 2 || op->noperands < 1 || op->noperands > 31) return false;
  int64_t S = t->dims[0], V = c->lanes;
  const fab_type *x = operand_type(c, op, 0);
  *rm = (rowmap){S, nrows, 1, 1};
  if (op->code == FAB_OP_ADD_LAYERNORM && fab_op_int(op, "cpu.ffn", 0)) {
    /* a fused feed-forward block (kernel_ffn.c): tiles of V rows of x, the
     * block's other operands (weights, biases, gamma, beta) read whole */
    int64_t R = cg_numel(t) / t->dims[t->rank - 1];
    if (!leads(x, S, 2) || cg_numel(x) != cg_numel(t) || nrows != (R + V - 1) / V) return false;
    *rm = (rowmap){S, R, V, 1};
    return R % S == 0;
  }
  switch (op->code) {
  case FAB_OP_RELU: case FAB_OP_GELU: case FAB_OP_SCALE: case FAB_OP_ADD: case FAB_OP_MUL:
  case FAB_OP_BIAS_GELU: case FAB_OP_SOFTMAX: case FAB_OP_LAYERNORM: case FAB_OP_ADD_LAYERNORM:
  case FAB_OP_COMPLEX: case FAB_OP_REAL:
    /* rows of the last axis (or of a broadcast operand's size) */
    rm->local = 0;
    for (int k = 0; k < op->noperands; k++) {
      const fab_type *ot = operand_type(c, op, k);
      if (cg_numel(ot) == cg_numel(t) && leads(ot, S, 2)) rm->local |= 1u << k;
    }
    /* an add gathering its embed's rows (cpu.embed_in) reads the ids at its
     * rows, whether its other operand is rows of its own or a weight read
     * in place (cpu.slice_in) */
    if (op->code == FAB_OP_ADD && fab_op_int(op, "cpu.embed_in", 0) && leads(x, S, 1) && cg_numel(x) == S)
      rm->local |= 1u;
    if (!rm->local) return false;
    break;
  case FAB_OP_PAD: case FAB_OP_SLICE: case FAB_OP_BITREV:
    if (op_axis(x, op) == 0 && nrows == S) { /* a run per result row: the operand read whole */
      rm->local = 0;
      break;
    }
    if (op_axis(x, op) < 1 || !leads(x, S, 2)) return false; /* rows: indices before the axis */
    break;
  case FAB_OP_STACK: case FAB_OP_DENSE:
    if (!leads(x, S, 2)) return false;
    break;
  case FAB_OP_EMBED:
    if (!leads(x, S, 1) || nrows != cg_numel(x)) return false;
    break;
  case FAB_OP_FFT_STAGES: case FAB_OP_DFT: {
    int axis = op_axis(x, op);
    if (axis != x->rank - 1 || axis < 1 || !leads(x, S, 2)) return false;
    int64_t R = cg_numel(x) / x->dims[axis];
    if (nrows == R) break; /* a row each */
    if (fab_op_int(op, "cpu.real_in", 0) && nrows == (R + 2 * V - 1) / (2 * V)) {
      *rm = (rowmap){S, R, 2 * V, 1}; /* real rows two tiles at a time (gen_fft_tiled_pairs) */
      break;
    }
    if (nrows != (R + V - 1) / V) return false;
    *rm = (rowmap){S, R, V, 1}; /* tiles of V rows as lanes */
    break;
  }
  case FAB_OP_BFLY_STAGES: {
    if (x->rank < 3 || !leads(x, S, 3)) return false;
    int64_t R = cg_numel(x) / (x->dims[x->rank - 1] * x->dims[x->rank - 2]);
    int64_t q = nrows == (R + V - 1) / V ? V : CG_BFLY_BLOCK_ROWS; /* lanes, or rows in place */
    if (nrows != (R + q - 1) / q) return false;
    *rm = (rowmap){S, R, q, 1};
    break;
  }
  default: return false;
  }
  return rm->fine > 0 && rm->fine % S == 0;
}

/* ---- memory conflicts ------------------------------------------------------- */

typedef struct access {
  cg_loc loc;
  bool write, local;
} access;

static bool conflict(const access *a, const access *b) {
  if (!a->write && !b->write) return false;
  if (a->loc.space != b->loc.space || a->loc.index != b->loc.index) return false;
  if (a->loc.off + a->loc.bytes <= b->loc.off || b->loc.off + b->loc.bytes <= a->loc.off) return false;
  /* the same bytes with the same leading axis: unit u is the same range in both */
  return !(a->local && b->local && a->loc.off == b->loc.off && a->loc.bytes == b->loc.bytes);
}

static bool writable(const cg_loc *l) { return l->space == CG_LOC_SCRATCH || l->space == CG_LOC_OUTPUT; }

/* The accesses of step s (result written, operands read); false if one
 * of them conflicts with the region's.  Appends them on success. */
static bool add_accesses(const cg_step *s, const cg_loc *args, const rowmap *rm, access *acc, int *nacc) {
  int start = *nacc, n = start;
  for (int k = 0; k < s->nargs; k++) {
    const cg_loc *l = &args[s->arg0 + k];
    if (!writable(l)) continue;
    bool local = k == 0 || (k <= 31 && (rm->local >> (k - 1) & 1));
    acc[n++] = (access){*l, k == 0, local};
  }
  for (int i = start; i < n; i++)
    for (int j = 0; j < start; j++)
      if (conflict(&acc[i], &acc[j])) return false;
  *nacc = n;
  return true;
}

/* ---- moving results out of the way ------------------------------------------ */

/* Values moved after the arena: [off, off + bytes) is theirs from op
 * `from` to op `to` (the last use of the value and of the values that
 * overwrite it in place later). */
typedef struct moved {
  int64_t off, bytes;
  int from, to;
} moved;

typedef struct mover {
  cg_places *pl;
  int *chain_end;
  moved *m;
  int n;
  int64_t base, top; /* moved values live in [base, base + top) */
} mover;

static bool overlaps(int64_t a, int64_t an, int64_t b, int64_t bn) { return a < b + bn && b < a + an; }

/* First offset >= base where `bytes` fit beside the moved values live at
 * op `at` and the region's accesses. */
static int64_t place(const mover *mv, int at, int64_t bytes, const access *acc, int nacc) {
  int64_t off = mv->base;
  for (bool again = true; again;) {
    again = false;
    for (int i = 0; i < mv->n && !again; i++)
      if (mv->m[i].to >= at && overlaps(off, bytes, mv->m[i].off, mv->m[i].bytes)) {
        off = (mv->m[i].off + mv->m[i].bytes + 63) / 64 * 64;
        again = true;
      }
    for (int i = 0; i < nacc && !again; i++)
      if (acc[i].loc.space == CG_LOC_SCRATCH && overlaps(off, bytes, acc[i].loc.off, acc[i].loc.bytes)) {
        off = (acc[i].loc.off + acc[i].loc.bytes + 63) / 64 * 64;
        again = true;
      }
  }
  return off;
}

/* Moves step s's result after the arena if that lets it join the region
 * (its accesses then appended); false, with nothing changed, otherwise. */
static bool try_move(mover *mv, const cg_step *s, cg_loc *args, const rowmap *rm, access *acc, int *nacc) {
  cg_loc *res = &args[s->arg0];
  if (res->space != CG_LOC_SCRATCH || res->buf < 0 || !mv->m) return false;
  int live = 0; /* forget the values whose bytes are free again */
  for (int i = 0; i < mv->n; i++)
    if (mv->m[i].to >= s->op) mv->m[live++] = mv->m[i];
  mv->n = live;
  cg_loc was = *res;
  res->off = place(mv, s->op, res->bytes, acc, *nacc);
  if (!add_accesses(s, args, rm, acc, nacc)) {
    *res = was;
    return false;
  }
  mv->m[mv->n++] = (moved){res->off, res->bytes, s->op, mv->chain_end[s->op]};
  if (res->off + res->bytes - mv->base > mv->top) mv->top = res->off + res->bytes - mv->base;
  mv->pl->loc[res->buf] = *res;
  return true;
}

/* Step s's arguments at their current places; a result written in place
 * over a value that moved moves with it. */
static void refresh(const cg_step *s, cg_loc *args, cg_places *pl) {
  if (s->kind == CG_STEP_KERNEL && pl->parent[s->op] >= 0) {
    cg_loc l = pl->loc[pl->parent[s->op]];
    l.buf = s->op;
    pl->loc[s->op] = l;
  }
  for (int k = 0; k < s->nargs; k++) {
    cg_loc *a = &args[s->arg0 + k];
    if (a->buf >= 0) *a = pl->loc[a->buf];
  }
}

/* ---- regions ---------------------------------------------------------------- */

typedef struct region {
  int first, n;
  int64_t S, unit; /* leading-axis rows per unit */
  int64_t min_units;
  int nacc;
} region;

static int64_t units_of(int64_t S, int64_t unit) { return (S + unit - 1) / unit; }

/* Leading-axis rows the step's parallel rows divide evenly. */
static int64_t step_unit(const rowmap *rm) {
  int64_t m = rm->fine / rm->S;
  return rm->q / gcd64(rm->q, m);
}

static void close_region(region *r, cg_step *steps, const rowmap *maps, cg_block *blocks, int *nb) {
  if (r->n == 0) return;
  int64_t nunits = units_of(r->S, r->unit);
  for (int i = r->first; i < r->first + r->n; i++) {
    const rowmap *rm = &maps[i];
    steps[i].rpu = r->unit * (rm->fine / rm->S) / rm->q;
  }
  blocks[(*nb)++] = (cg_block){r->first, r->n, nunits};
  r->n = 0;
  r->nacc = 0;
}

static void alone(cg_step *s, int i, cg_block *blocks, int *nb) {
  s->rpu = 1;
  blocks[(*nb)++] = (cg_block){i, 1, s->kind == CG_STEP_KERNEL ? s->nrows : 1};
}

/* Can step i (row map rm) join region r? */
static bool fits(const region *r, const rowmap *rm, int64_t *unit) {
  if (r->n == 0 || r->n >= MAX_REGION_STEPS || rm->S != r->S) return false;
  int64_t su = step_unit(rm), u = r->unit / gcd64(r->unit, su) * su;
  if (u > r->S) return false;
  int64_t need = r->min_units;
  if (units_of(rm->S, su) < need) need = units_of(rm->S, su);
  if (units_of(r->S, u) < need) return false;
  *unit = u;
  return true;
}

static bool mover_init(mover *mv, cg_places *pl, int nops, int nsteps) {
  *mv = (mover){pl, calloc((size_t)nops, sizeof(int)), calloc((size_t)nsteps + 1, sizeof(moved)), 0, 0, 0};
  mv->base = (pl->arena + 63) / 64 * 64;
  if (!mv->chain_end || !mv->m) return false;
  for (int i = nops - 1; i >= 0; i--) {
    if (pl->last_use[i] > mv->chain_end[i]) mv->chain_end[i] = pl->last_use[i];
    int p = pl->parent[i];
    if (p >= 0 && mv->chain_end[i] > mv->chain_end[p]) mv->chain_end[p] = mv->chain_end[i];
  }
  return true;
}

int cg_schedule(const cpu_cg *c, cg_step *steps, int nsteps, cg_loc *args, cg_places *pl, cg_block *blocks) {
  int nb = 0, cap = 0;
  for (int i = 0; i < nsteps; i++)
    if (steps[i].kind == CG_STEP_KERNEL) cap += steps[i].nargs;
  rowmap *maps = calloc((size_t)(nsteps > 0 ? nsteps : 1), sizeof *maps);
  access *acc = calloc((size_t)(cap > 0 ? cap : 1), sizeof *acc);
  mover mv;
  bool ok = mover_init(&mv, pl, c->f->nops, nsteps) && maps && acc;
  region r = {0};
  for (int i = 0; ok && i < nsteps; i++) {
    cg_step *s = &steps[i];
    rowmap *rm = &maps[i];
    refresh(s, args, pl);
    bool local = s->kind == CG_STEP_KERNEL && !s->workspace && row_map(c, &c->eff[s->op], s->nrows, rm);
    if (!local) {
      close_region(&r, steps, maps, blocks, &nb);
      alone(s, i, blocks, &nb);
      continue;
    }
    int64_t unit;
    int nacc = r.nacc;
    if (fits(&r, rm, &unit) &&
        (add_accesses(s, args, rm, acc, &nacc) || try_move(&mv, s, args, rm, acc, &nacc))) {
      r.unit = unit;
      r.n++;
      r.nacc = nacc;
      continue;
    }
    close_region(&r, steps, maps, blocks, &nb);
    int64_t su = step_unit(rm);
    r = (region){i, 1, rm->S, su, 0, 0};
    r.min_units = units_of(rm->S, su) < MIN_UNITS ? units_of(rm->S, su) : MIN_UNITS;
    add_accesses(s, args, rm, acc, &r.nacc); /* the first step conflicts with nothing */
  }
  close_region(&r, steps, maps, blocks, &nb);
  if (mv.top) pl->arena = mv.base + mv.top;
  free(mv.chain_end);
  free(mv.m);
  free(maps);
  free(acc);
  return ok ? nb : -1;
}
