/* fpga_alloc.c — pass `fpga-alloc(reuse=<0|1>)`: the accelerator's off-chip
 * memory plan, and the check the code generator runs on it.
 *
 * Requires: lowered.   Establishes: nothing new (run it last: any later
 * pass drops the plan, as for memplan, and the code generator then stops
 * with an error).  The fpga pipeline's only allocator (memplan is the CPU's).
 *
 * One word-addressed memory holds everything a program touches; a plan is
 * written in bytes (4 per word) like memplan's:
 *   plan.offset, plan.size  every value the accelerator materialises: inputs
 *     and weights (in op order, never reused, one region per name), then
 *     intermediates; sizes round up to 16 words (64 bytes)
 *   plan.inplace = 0        a reshape: its operand's region
 *   plan.table = [offset, size]  a dft: its constant table ("dft.r.N",
 *     "dft.c.N", "dft.x.N": one region per name, never reused)
 *   plan.scratch = [offset, size, offset, size]  a dft split into FFTs and a
 *     small product (n = q 2^k): its transposed input and its FFTs, live
 *     only during the op; the code generator takes this split iff present
 * Ops folded by fpga-absorb (fpga.fold) get nothing.
 *
 * Liveness follows the folds: an op's operands are read where its code
 * runs, at the op it folds into (transitively); a value an output op reads
 * lives to the end.  Regions are first fit from the freed ones (sorted,
 * coalesced), else the top grows; a region is freed before the op after
 * its last reader.  Padding wider than a PPU row (4096 words) is never
 * written by the code generator, so a pad that wide gets a fresh (zeroed)
 * region.  reuse=0 never frees (every intermediate stays readable after a
 * run: per-layer debugging). */
#include "fab_util.h"
#include "pass_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t words_of(const fab_type *t) { return (uint64_t)fab_type_numel(t) * (t->dtype == FAB_C64 ? 2 : 1); }
static uint64_t round16(uint64_t w) { return (w + 15) & ~(uint64_t)15; }

static int axis_of(const fab_type *t, const fab_op *op) {
  int64_t a = fab_op_int(op, "axis", -1);
  return (int)(a < 0 ? a + t->rank : a);
}

void fpga_dft_shape(const fab_func *f, const fab_op *op, fpga_dft *s) {
  int src = op->operands[0];
  const fab_type *xt = &f->ops[src].type;
  int a = axis_of(xt, op);
  s->outer = s->inner = 1;
  for (int i = 0; i < a; i++) s->outer *= (uint64_t)xt->dims[i];
  for (int i = a + 1; i < xt->rank; i++) s->inner *= (uint64_t)xt->dims[i];
  s->A = (uint64_t)xt->dims[a];
  s->real_in = f->ops[src].code == FAB_OP_COMPLEX && fab_fpga_folded(&f->ops[src]);
  uint64_t mq = 1;
  while (s->A && s->A % (mq * 2) == 0) mq *= 2;
  s->m = mq;
  s->q = s->A / mq;
  s->can_split = mq >= 32 && s->q >= 3 && s->q <= 15 && s->A <= 4096; /* any axis (codegen_dft.c) */
  uint64_t xs = s->real_in ? 1 : 2, kb = 1; /* fab_fpga_const_fill's dft.x layout */
  s->scratch_words[0] = s->outer * s->inner * s->A * xs;
  s->scratch_words[1] = s->outer * s->inner * s->A * 2;
  if (s->can_split) {
    snprintf(s->table, sizeof s->table, "dft.x.%llu", (unsigned long long)s->A);
    s->table_words = 2 * s->q * s->q * mq * 2 * kb;
  } else {
    snprintf(s->table, sizeof s->table, "dft.%c.%llu", s->real_in ? 'r' : 'c', (unsigned long long)s->A);
    s->table_words = (s->real_in ? s->A : 2 * s->A) * 2 * s->A;
  }
}

/* ---- liveness --------------------------------------------------------------------------------- */

/* die[i]: the last op at which the region of value i is read (n: the end);
 * root[i]: the op owning the region i lives in (a reshape's operand's). */
static void liveness(const fab_func *f, const int *user, int *eff, int *root, int *die) {
  int n = f->nops;
  for (int i = n - 1; i >= 0; i--) eff[i] = fab_fpga_folded(&f->ops[i]) && user[i] > i ? eff[user[i]] : i;
  for (int i = 0; i < n; i++) {
    const fab_op *op = &f->ops[i];
    root[i] = op->code == FAB_OP_RESHAPE ? root[op->operands[0]] : i;
    die[i] = eff[i];
    for (int k = 0; k < op->noperands; k++) {
      int r = root[op->operands[k]], e = op->code == FAB_OP_OUTPUT ? n : eff[i];
      if (e > die[r]) die[r] = e;
    }
  }
}

/* A pad whose padding the code generator does not write (wider than
 * FAB_FPGA_FILL_MAX words per row): it needs a region never used before. */
static bool needs_fresh(const fab_func *f, const fab_op *op) {
  if (op->code != FAB_OP_PAD) return false;
  const fab_type *xt = &f->ops[op->operands[0]].type;
  int a = axis_of(xt, op);
  uint64_t inner = 1, A = (uint64_t)xt->dims[a], size = (uint64_t)fab_op_int(op, "size", 0);
  for (int k = a + 1; k < xt->rank; k++) inner *= (uint64_t)xt->dims[k];
  return size > A && (size - A) * inner * (xt->dtype == FAB_C64 ? 2 : 1) > FAB_FPGA_FILL_MAX;
}

static bool is_source(const fab_op *op) { return op->code == FAB_OP_INPUT || op->code == FAB_OP_WEIGHT; }

/* ---- the allocator ---------------------------------------------------------------------------- */

typedef struct blk {
  uint64_t a, n;
} blk;

struct names;

typedef struct arena {
  fab_module *m;
  struct names *nm; /* regions placed by name */
  blk *fl; /* free regions, sorted, coalesced */
  int nfl;
  uint64_t top;
  bool reuse;
} arena;

static uint64_t alloc_fresh(arena *ar, uint64_t words) {
  uint64_t a = ar->top;
  ar->top += round16(words);
  return a;
}

static uint64_t alloc_first_fit(arena *ar, uint64_t words) {
  uint64_t n = round16(words);
  for (int i = 0; i < ar->nfl; i++)
    if (ar->fl[i].n >= n) {
      uint64_t a = ar->fl[i].a;
      ar->fl[i].a += n;
      ar->fl[i].n -= n;
      if (!ar->fl[i].n) memmove(&ar->fl[i], &ar->fl[i + 1], (size_t)(--ar->nfl - i) * sizeof *ar->fl);
      return a;
    }
  return alloc_fresh(ar, words);
}

static void release(arena *ar, uint64_t a, uint64_t words) {
  uint64_t n = round16(words);
  if (!ar->reuse || !n) return;
  int i = 0;
  while (i < ar->nfl && ar->fl[i].a < a) i++;
  memmove(&ar->fl[i + 1], &ar->fl[i], (size_t)(ar->nfl - i) * sizeof *ar->fl);
  ar->fl[i] = (blk){a, n};
  ar->nfl++;
  if (i + 1 < ar->nfl && ar->fl[i].a + ar->fl[i].n == ar->fl[i + 1].a) {
    ar->fl[i].n += ar->fl[i + 1].n;
    memmove(&ar->fl[i + 1], &ar->fl[i + 2], (size_t)(ar->nfl - i - 2) * sizeof *ar->fl);
    ar->nfl--;
  }
  if (i > 0 && ar->fl[i - 1].a + ar->fl[i - 1].n == ar->fl[i].a) {
    ar->fl[i - 1].n += ar->fl[i].n;
    memmove(&ar->fl[i], &ar->fl[i + 1], (size_t)(ar->nfl - i - 1) * sizeof *ar->fl);
    ar->nfl--;
  }
}

/* Regions placed under a name, for the ops after them: sources by (op
 * code, name), dft tables by table name.  First placed wins. */
typedef struct names {
  fab_index x;
  const fab_func *f;
  const char **name;  /* [op]: the name op was entered under */
  int64_t *word;      /* [op]: its region's first word */
  char (*table)[32];  /* [op]: a dft's table name (fpga_dft.table) */
} names;

typedef struct name_key {
  int code;
  const char *name;
} name_key;

static bool names_init(names *nm, const fab_func *f) {
  size_t n = (size_t)f->nops + 1;
  *nm = (names){.f = f, .name = calloc(n, sizeof(char *)), .word = calloc(n, sizeof(int64_t)),
                .table = calloc(n, sizeof(char[32]))};
  return nm->name && nm->word && nm->table;
}

static void names_free(names *nm) {
  fab_index_free(&nm->x);
  free(nm->name);
  free(nm->word);
  free(nm->table);
}

static uint64_t name_hash(int code, const char *name) {
  return fab_hash_str(name) ^ ((uint64_t)code * 0x9E3779B97F4A7C15ull);
}

static bool name_match(const void *table, int j, const void *key) {
  const names *nm = table;
  const name_key *k = key;
  return (int)nm->f->ops[j].code == k->code && !strcmp(nm->name[j], k->name);
}

/* The region of a source or table already placed under the same name
 * (and op code), or -1. */
static int64_t named(const names *nm, const fab_op *op, const char *name) {
  name_key k = {(int)op->code, name};
  int j = fab_index_find(&nm->x, name_hash(k.code, name), name_match, nm, &k);
  return j >= 0 ? nm->word[j] : -1;
}

/* Enters op j's region under `name` (an op's name lives in the module's
 * arena; a dft's table name is copied into nm). */
static bool name_add(names *nm, int j, const char *name, int64_t word) {
  if (nm->f->ops[j].code == FAB_OP_DFT) {
    snprintf(nm->table[j], sizeof nm->table[j], "%s", name);
    name = nm->table[j];
  }
  nm->name[j] = name;
  nm->word[j] = word;
  return fab_index_add(&nm->x, name_hash((int)nm->f->ops[j].code, name), j);
}

static void set_region(arena *ar, fab_op *op, uint64_t a, uint64_t words) {
  fab_op_set_int(ar->m, op, "plan.offset", (int64_t)(a * 4));
  fab_op_set_int(ar->m, op, "plan.size", (int64_t)(round16(words) * 4));
}

/* Places op i's value (and a dft's table and scratch). */
static void place(arena *ar, fab_func *f, int i) {
  fab_op *op = &f->ops[i];
  uint64_t w = words_of(&op->type);
  switch (op->code) {
  case FAB_OP_OUTPUT: return;
  case FAB_OP_INPUT:
  case FAB_OP_WEIGHT: {
    const char *name = fab_op_str(op, "name", NULL);
    int64_t a = name ? named(ar->nm, op, name) : -1;
    uint64_t at = a >= 0 ? (uint64_t)a : alloc_fresh(ar, w);
    set_region(ar, op, at, w);
    if (name && a < 0 && !name_add(ar->nm, i, name, (int64_t)at)) fab_out_of_memory(__FILE__, __LINE__);
    return;
  }
  case FAB_OP_RESHAPE:
    if (fab_op_attr(&f->ops[op->operands[0]], "plan.offset")) {
      set_region(ar, op, (uint64_t)fab_op_int(&f->ops[op->operands[0]], "plan.offset", 0) / 4, w);
      fab_op_set_int(ar->m, op, "plan.inplace", 0);
    }
    return;
  case FAB_OP_PAD: set_region(ar, op, needs_fresh(f, op) ? alloc_fresh(ar, w) : alloc_first_fit(ar, w), w); return;
  case FAB_OP_DFT: {
    set_region(ar, op, alloc_first_fit(ar, w), w);
    fpga_dft s;
    fpga_dft_shape(f, op, &s);
    uint64_t sc[2] = {0, 0};
    if (s.can_split)
      for (int k = 0; k < 2; k++) sc[k] = alloc_first_fit(ar, s.scratch_words[k]);
    int64_t t = named(ar->nm, op, s.table);
    int64_t tv[2] = {(int64_t)(t >= 0 ? (uint64_t)t : alloc_fresh(ar, s.table_words)) * 4,
                     (int64_t)round16(s.table_words) * 4};
    if (t < 0 && !name_add(ar->nm, i, s.table, tv[0] / 4)) fab_out_of_memory(__FILE__, __LINE__);
    fab_op_set_ints(ar->m, op, "plan.table", tv, 2);
    if (s.can_split) {
      int64_t v[4] = {(int64_t)sc[0] * 4, (int64_t)round16(s.scratch_words[0]) * 4, (int64_t)sc[1] * 4,
                      (int64_t)round16(s.scratch_words[1]) * 4};
      fab_op_set_ints(ar->m, op, "plan.scratch", v, 4);
      for (int k = 0; k < 2; k++) release(ar, sc[k], s.scratch_words[k]);
    }
    return;
  }
  default:
    if (!(fab_opinfos[op->code].flags & FAB_OPF_NORESULT)) set_region(ar, op, alloc_first_fit(ar, w), w);
    return;
  }
}

/* Places every op in order, releasing each value after its last use. */
typedef struct place_job {
  arena *ar;
  fab_func *f;
  const int *head, *next;
} place_job;

static void place_all(void *arg) {
  place_job *j = arg;
  fab_func *f = j->f;
  for (int i = 0; i < f->nops; i++) {
    for (int r = i > 0 ? j->head[i - 1] : -1; r >= 0; r = j->next[r])
      if (fab_op_attr(&f->ops[r], "plan.offset"))
        release(j->ar, (uint64_t)fab_op_int(&f->ops[r], "plan.offset", 0) / 4, words_of(&f->ops[r].type));
    if (!fab_fpga_folded(&f->ops[i])) place(j->ar, f, i);
  }
}

bool pass_fpga_alloc(fab_pass_ctx *cx, fab_func *f) {
  fab_module *m = cx->m;
  int n = f->nops;
  size_t nn = (size_t)n + 1;
  int *uses = fab_arena_alloc(m->arena, sizeof(int) * nn), *user = fab_arena_alloc(m->arena, sizeof(int) * nn);
  int *eff = fab_arena_alloc(m->arena, sizeof(int) * nn), *root = fab_arena_alloc(m->arena, sizeof(int) * nn);
  int *die = fab_arena_alloc(m->arena, sizeof(int) * nn), *head = fab_arena_alloc(m->arena, sizeof(int) * nn);
  int *next = fab_arena_alloc(m->arena, sizeof(int) * nn);
  /* free blocks: at most one per value and two per dft scratch */
  arena ar = {.m = m, .fl = fab_arena_alloc(m->arena, sizeof(blk) * (3 * nn + 4)),
              .reuse = pass_opt(cx, "reuse", 1) != 0};
  if (!uses || !user || !eff || !root || !die || !head || !next || !ar.fl)
    fab_out_of_memory(__FILE__, __LINE__);
  fpga_use_info(f, uses, user);
  for (int i = 0; i < n; i++) {
    if (fab_fpga_folded(&f->ops[i]) && !fpga_fold_legal(f, uses, user, i)) {
      pass_error(cx, &f->ops[i], "%%%d is marked fpga.fold but its user cannot absorb it (rerun fpga-absorb)", i);
      return false;
    }
    pass_strip_attrs(m, &f->ops[i], "plan.");
  }
  liveness(f, user, eff, root, die);
  for (int i = 0; i <= n; i++) head[i] = -1;
  for (int i = 0; i < n; i++) {
    fab_opcode c = f->ops[i].code;
    if (root[i] == i && !is_source(&f->ops[i]) && c != FAB_OP_OUTPUT && die[i] < n) {
      next[i] = head[die[i]];
      head[die[i]] = i;
    }
  }
  names nm;
  ar.nm = &nm;
  place_job job = {&ar, f, head, next};
  bool done = names_init(&nm, f) && fab_oom_protect(place_all, &job);
  names_free(&nm);
  if (!done) fab_out_of_memory(__FILE__, __LINE__); /* the pass manager's guard reports it */
  return true;
}

/* ---- the code generator's check --------------------------------------------------------------- */

typedef struct live {
  uint64_t lo, hi;
  int op, until; /* the op that owns it; live through op `until` */
} live;

/* Adds [lo, lo + bytes) owned by op i, live through op `until`, after
 * checking it against every region still live at op i. */
/* Regions that stay to the end (weights, inputs, tables) kept apart from
 * the transient ones: fpga-alloc places them at increasing addresses, so
 * with the running maximum of their ends, whether a region overlaps one
 * is a binary search (a plan that places them out of order falls back to a
 * scan). */
typedef struct perm {
  live *r;
  uint64_t *max_hi; /* max hi of r[0..k] */
  int *max_at;      /* which one has it */
  int n;
  bool sorted;
} perm;

static int perm_overlap(const perm *p, uint64_t a, uint64_t b) {
  if (!p->sorted) {
    for (int k = 0; k < p->n; k++)
      if (a < p->r[k].hi && p->r[k].lo < b) return p->r[k].op;
    return -1;
  }
  int lo = 0, hi = p->n; /* lo = the number of regions starting before b */
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (p->r[mid].lo < b) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && p->max_hi[lo - 1] > a ? p->r[p->max_at[lo - 1]].op : -1;
}

static void perm_add(perm *p, live l) {
  int k = p->n++;
  p->r[k] = l;
  if (k > 0 && l.lo < p->r[k - 1].lo) p->sorted = false;
  bool keep = k > 0 && p->max_hi[k - 1] >= l.hi;
  p->max_hi[k] = keep ? p->max_hi[k - 1] : l.hi;
  p->max_at[k] = keep ? p->max_at[k - 1] : k;
}

static bool claim(live *lv, int *nlv, perm *pm, int i, int until, int64_t lo, int64_t bytes, const fab_op *op,
                  fab_diag *d, uint64_t *high, int n) {
  if (lo < 0 || bytes < 0 || lo % 64) {
    fab_error(d, op->loc, "fpga: %%%d: bad plan (offset %lld, size %lld)", i, (long long)lo, (long long)bytes);
    return false;
  }
  uint64_t a = (uint64_t)lo, b = a + (uint64_t)bytes;
  int other = bytes ? perm_overlap(pm, a, b) : -1;
  for (int k = 0; other < 0 && bytes && k < *nlv; k++)
    if (lv[k].until >= i && a < lv[k].hi && lv[k].lo < b) other = lv[k].op;
  if (other >= 0) {
    fab_error(d, op->loc, "fpga: %%%d: its plan overlaps the region of %%%d, still live (rerun fpga-alloc)", i,
              other);
    return false;
  }
  if (until >= n)
    perm_add(pm, (live){a, b, i, until});
  else
    lv[(*nlv)++] = (live){a, b, i, until};
  if (b > *high) *high = b;
  return true;
}

static bool plan_error(fab_diag *d, const fab_op *op, int i, const char *what) {
  fab_error(d, op->loc, "fpga: %%%d (%s): %s (run the fpga pipeline: fpga-absorb, then fpga-alloc last)", i,
            fab_opinfos[op->code].name, what);
  return false;
}

bool fab_fpga_plan_check(const fab_func *f, fab_diag *d) {
  int n = f->nops;
  size_t nn = (size_t)n + 1;
  int *uses = calloc(nn, sizeof(int)), *user = calloc(nn, sizeof(int)), *eff = calloc(nn, sizeof(int));
  int *root = calloc(nn, sizeof(int)), *die = calloc(nn, sizeof(int));
  live *lv = calloc(4 * nn + 8, sizeof *lv);
  int nlv = 0;
  perm pm = {calloc(2 * nn + 4, sizeof(live)), calloc(2 * nn + 4, sizeof(uint64_t)), calloc(2 * nn + 4, sizeof(int)),
             0, true};
  uint64_t high = 0; /* the end of every region so far */
  names nm;
  bool ok = names_init(&nm, f) && uses && user && eff && root && die && lv && pm.r && pm.max_hi && pm.max_at;
  if (!ok) fab_error(d, (fab_loc){0}, "fpga: out of memory");
  if (ok) {
    fpga_use_info(f, uses, user);
    liveness(f, user, eff, root, die);
  }
  for (int i = 0; ok && i < n; i++) {
    const fab_op *op = &f->ops[i];
    if (fab_fpga_folded(op)) {
      if (!fpga_fold_legal(f, uses, user, i))
        ok = plan_error(d, op, i, "marked fpga.fold, but its user cannot absorb it");
      continue;
    }
    if (op->code == FAB_OP_OUTPUT) continue;
    if (!fab_op_attr(op, "plan.offset") || !fab_op_attr(op, "plan.size")) {
      ok = plan_error(d, op, i, "no plan.offset / plan.size");
      continue;
    }
    int64_t off = fab_op_int(op, "plan.offset", -1), size = fab_op_int(op, "plan.size", -1);
    if (op->code == FAB_OP_RESHAPE) {
      if (off != fab_op_int(&f->ops[root[i]], "plan.offset", -2)) ok = plan_error(d, op, i, "not its operand's region");
      continue;
    }
    if (size < (int64_t)words_of(&op->type) * 4) ok = plan_error(d, op, i, "plan.size smaller than the value");
    if (ok && needs_fresh(f, op) && (uint64_t)off < high)
      ok = plan_error(d, op, i, "padding this wide needs a region no earlier value used");
    const char *nmv = is_source(op) ? fab_op_str(op, "name", "") : NULL;
    int64_t same = nmv ? named(&nm, op, nmv) : -1;
    if (ok && same >= 0 && same != off / 4) ok = plan_error(d, op, i, "not the region of the same name");
    if (ok && same < 0) ok = claim(lv, &nlv, &pm, i, is_source(op) ? n : die[i], off, size, op, d, &high, n);
    if (ok && nmv && same < 0 && !name_add(&nm, i, nmv, off / 4)) ok = plan_error(d, op, i, "out of memory");
    if (ok && op->code == FAB_OP_DFT) {
      fpga_dft s;
      fpga_dft_shape(f, op, &s);
      const fab_attr *sc = fab_op_attr(op, "plan.scratch"), *ta = fab_op_attr(op, "plan.table");
      int64_t same = named(&nm, op, s.table);
      if (!ta || ta->kind != FAB_ATTR_INTS || ta->nints != 2 || ta->ints[1] < (int64_t)s.table_words * 4)
        ok = plan_error(d, op, i, "no plan.table = [offset, size] large enough for its table");
      else if (same < 0 && (ok = claim(lv, &nlv, &pm, i, n, ta->ints[0], ta->ints[1], op, d, &high, n)))
        ok = name_add(&nm, i, s.table, ta->ints[0] / 4) || plan_error(d, op, i, "out of memory");
      else if (same != ta->ints[0] / 4) ok = plan_error(d, op, i, "plan.table differs from its name's region");
      if (ok && sc && (!s.can_split || sc->kind != FAB_ATTR_INTS || sc->nints != 4))
        ok = plan_error(d, op, i, "plan.scratch on a dft that is not split, or malformed");
      for (int k = 0; ok && sc && k < 2; k++) {
        if (sc->ints[2 * k + 1] < (int64_t)s.scratch_words[k] * 4) ok = plan_error(d, op, i, "plan.scratch too small");
        else ok = claim(lv, &nlv, &pm, i, i, sc->ints[2 * k], sc->ints[2 * k + 1], op, d, &high, n);
      }
    }
    if (nlv >= 64) { /* drop the dead */
      int w = 0;
      for (int k = 0; k < nlv; k++)
        if (lv[k].until >= i) lv[w++] = lv[k];
      nlv = w;
    }
  }
  free(uses);
  free(user);
  free(eff);
  free(root);
  free(die);
  free(lv);
  free(pm.r);
  free(pm.max_hi);
  free(pm.max_at);
  names_free(&nm);
  return ok;
}
