/* codegen_ops.c — one handler per lowered op.  Every op reads its operands
 * from off-chip memory and writes its result there (intermediates in the
 * arena); within an op, tiles alternate between the two halves of the
 * buffer they use (ping-pong), so with the derived tokens the load of
 * tile i+1 overlaps the compute of tile i and the store of tile i-1. */
#include "codegen_internal.h"

#include <math.h>
#include <string.h>

bool fpga_cg_define(fpga_cg *g, const fab_op *op) {
  (void)op;
  g->vals[g->cur].ok = fpga_cg_planned(g, g->cur, &g->vals[g->cur].addr);
  return g->vals[g->cur].ok;
}

static fab_fpga_tdtype tdt(fab_dtype d) { return d == FAB_I32 ? FAB_FD_I32 : d == FAB_C64 ? FAB_FD_C64 : FAB_FD_F32; }

bool fpga_cg_gen_source(fpga_cg *g, const fab_op *op, fab_fpga_tkind kind) {
  const char *name = fab_op_str(op, "name", NULL);
  if (!name) {
    fpga_cg_error(g, "no name");
    return false;
  }
  if (!fpga_cg_define(g, op)) return false;
  /* a second op of the same name shares the region (fab_fpga_plan_check) */
  if (fab_fpga_program_find_tensor(g->p, name, kind) >= 0) return true;
  if (fab_fpga_program_add_tensor(g->p, name, kind, tdt(op->type.dtype), op->type.rank, op->type.dims,
                                  addr(g, g->cur))) {
    fpga_cg_error(g, "bad tensor '%s'", name);
    return false;
  }
  return true;
}

/* ---- rows through the post-processing unit ------------------------------------------- */


/* Where a post-processing pass reads value v: its region, or for a slice
 * fpga-absorb folded into the pass (one contiguous block of its operand,
 * e.g. a position table's first rows), that block in place. */
static uint64_t read_addr(fpga_cg *g, int v) {
  if (!fpga_cg_folded_in(g, v, FAB_OP_SLICE)) return addr(g, v);
  const fab_op *op = &g->f->ops[v];
  const fab_type *xt = ty(g, op->operands[0]);
  uint64_t outer, A, inner;
  around(xt, norm_axis(xt, fab_op_int(op, "axis", -1)), &outer, &A, &inner);
  return addr(g, op->operands[0]) + (uint64_t)fab_op_int(op, "start", 0) * inner;
}

static extra operand_extra(fpga_cg *g, int v, uint64_t R, uint64_t d) {
  uint64_t nb = (uint64_t)cg_numel(ty(g, v)), a = read_addr(g, v);
  int w = fpga_cg_folded_in(g, v, FAB_OP_SLICE) ? g->f->ops[v].operands[0] : v;
  bool weight = g->f->ops[w].code == FAB_OP_WEIGHT;
  if (nb == R * d) return (extra){a, EX_FULL, R, weight};
  if (nb == d) return (extra){a, EX_BCAST, 1, weight};
  return (extra){a, EX_SUFFIX, nb / d, weight};
}

bool fpga_cg_gather(fpga_cg *g, int ids_v, int table_v, uint64_t i0, uint64_t t, uint64_t base) {
  const fab_op *tab = &g->f->ops[table_v];
  if (tab->code != FAB_OP_WEIGHT || tab->type.rank != 2) {
    fpga_cg_error(g, "the embedding table must be a [V, d] weight");
    return false;
  }
  uint64_t d = (uint64_t)tab->type.dims[1], N = (uint64_t)cg_numel(ty(g, ids_v));
  uint64_t ids = addr(g, ids_v), table = addr(g, table_v);
  if (d > 4096 || ids + N > (1ull << 32) || table >= (1ull << 32)) {
    fpga_cg_error(g, "embedding of width %llu or its tables are outside the gather unit's reach", (unsigned long long)d);
    return false;
  }
  fab_fpga_insn in = fab_fpga_insn_make(FAB_I_GATHER);
  FAB_SET(&in, GATH_D, d);
  FAB_SET(&in, GATH_COUNT, t);
  FAB_SET(&in, GATH_IDS, ids + i0);
  FAB_SET(&in, GATH_TABLE, table);
  FAB_SET(&in, GATH_ADDR, base);
  cg_acc acc[3] = {{SP_EXT, false, ids + i0, ids + i0 + t},
                   {SP_EXT, false, table, table + words_of(&tab->type)},
                   {SP_VM, true, base, base + t * d}};
  fpga_cg_emit(g, in, 3, acc);
  return !g->failed;
}

#define EMBED_TILES 8

/* The embedding's pass loads its weight operands (the position rows)
 * through the coefficient port where that beats one input stream for
 * everything: the coefficient port is idle before the first layer, and on
 * zynq7045-be20 (64 bits in, 64 for coefficients) the position rows then
 * arrive beside the gather (FABNet-Large seq 128: 68,673 -> 35,905
 * cycles); on the HBM boards (2048 in, 256) the input stream stays faster. */
static bool weights_beside(fpga_cg *g, uint64_t R, uint64_t d, int nex, const extra *ex) {
  uint64_t in = R * d, w = 0;
  for (int k = 0; k < nex; k++) *(ex[k].weight ? &w : &in) += ex[k].kind == EX_BCAST ? d : R * d;
  uint64_t bin = (uint64_t)g->c->bw_in, bco = (uint64_t)g->c->bw_coef;
  uint64_t split = in * bco > w * bin ? in * bco : w * bin; /* max(in / bin, w / bco), times bin * bco */
  return w && split < (in + w) * bco;
}

/* gen_rows with x's rows gathered (embed >= 0: the folded embed whose
 * lookup the pass's load is) or loaded from x. */
static void gen_rows_from(fpga_cg *g, int embed, uint64_t R, uint64_t d, uint64_t x, uint64_t out, int nex,
                          const extra *ex, int nsteps, const step *st);

void fpga_cg_gen_rows(fpga_cg *g, uint64_t R, uint64_t d, uint64_t x, uint64_t out, int nex, const extra *ex,
                     int nsteps, const step *st) {
  gen_rows_from(g, -1, R, d, x, out, nex, ex, nsteps, st);
}

static void gen_rows_from(fpga_cg *g, int embed, uint64_t R, uint64_t d, uint64_t x, uint64_t out, int nex,
                          const extra *ex, int nsteps, const step *st) {
  if (d > 4096) {
    fpga_cg_error(g, "rows of %llu elements exceed the post-processing unit's 4096", (unsigned long long)d);
    return;
  }
  uint64_t suffix = 0;
  for (int k = 0; k < nex; k++)
    if (ex[k].kind == EX_SUFFIX) suffix = ex[k].brows;
  bool weights_on_coef = embed >= 0 && weights_beside(g, R, d, nex, ex);
  for (uint64_t r0 = 0; r0 < R && !g->failed;) {
    uint64_t hs, base = fpga_cg_vm_half(g, &hs);
    uint64_t per_row = d, fixed = 0;
    for (int k = 0; k < nex; k++) {
      if (ex[k].kind == EX_BCAST) fixed += d;
      else per_row += d;
    }
    if (fixed + per_row > hs) {
      fpga_cg_error(g, "a row does not fit the vector memory");
      return;
    }
    uint64_t t = umin(umin((hs - fixed) / per_row, 4096), R - r0);
    /* the embedding's pass feeds the first layer, which waits for all of
     * it: at least EMBED_TILES tiles, so its last add and store (the
     * part nothing overlaps) are short */
    if (embed >= 0) t = umin(t, (R + EMBED_TILES - 1) / EMBED_TILES);
    if (suffix) t = umin(t, suffix - r0 % suffix);
    if (embed >= 0) fpga_cg_gather(g, g->f->ops[embed].operands[0], g->f->ops[embed].operands[1], r0, t, base);
    else fpga_cg_ld_vm(g, x + r0 * d, d, false, t, d, base);
    uint64_t eaddr[12], at = base + t * d;
    for (int k = 0; k < nex; k++) {
      eaddr[k] = at;
      uint64_t rr = ex[k].kind == EX_FULL ? r0 : ex[k].kind == EX_SUFFIX ? r0 % ex[k].brows : 0;
      uint64_t n = ex[k].kind == EX_BCAST ? 1 : t;
      if (ex[k].weight && weights_on_coef) fpga_cg_ld_vm_weight(g, ex[k].addr + rr * d, n, d, at);
      else fpga_cg_ld_vm(g, ex[k].addr + rr * d, d, false, n, d, at);
      at += n * d;
    }
    for (int s = 0; s < nsteps; s++) {
      int e = st[s].ex;
      fpga_cg_ppu(g, st[s].fn, t, d, base, e >= 0 ? eaddr[e] : 0, e >= 0 && ex[e].kind == EX_BCAST, st[s].param);
    }
    fpga_cg_st_vm(g, out + r0 * d, d, false, t, d, base);
    r0 += t;
  }
}

/* ---- chains of row-wise ops ------------------------------------------------------------
 * Row-wise ops fpga-absorb folded (fpga.fold) into the next one run as one
 * pass over each row tile in the vector memory: one load, several PPU
 * functions, one store (at most FAB_FPGA_MAX_CHAIN ops per chain). */

/* The operand of op j folded into it as a chain member, or -1. */
static int chain_pred(fpga_cg *g, int j) {
  const fab_op *op = &g->f->ops[j];
  for (int k = 0; k < op->noperands && k < 2; k++) {
    const fab_op *p = &g->f->ops[op->operands[k]];
    /* a folded slice or embed is read by the pass, not a step of it */
    if (fab_fpga_folded(p) && p->code != FAB_OP_SLICE && p->code != FAB_OP_EMBED) return op->operands[k];
  }
  return -1;
}

/* Appends op's PPU steps and extra operands; cp is the operand position the
 * chain value arrives at (-1: op heads the chain, its x is loaded). */
static bool append_op(fpga_cg *g, const fab_op *op, int cp, uint64_t R, uint64_t d, extra *ex, int *nex, step *st,
                      int *ns) {
  int o = cp == 1 ? 0 : 1; /* the other side of a binary op */
  switch (op->code) {
  case FAB_OP_ADD:
  case FAB_OP_MUL:
    ex[*nex] = operand_extra(g, op->operands[o], R, d);
    st[(*ns)++] = (step){op->code == FAB_OP_ADD ? FAB_PPU_ADD : FAB_PPU_MUL, 0, (*nex)++};
    return true;
  case FAB_OP_RELU: st[(*ns)++] = (step){FAB_PPU_RELU, 0, -1}; return true;
  case FAB_OP_GELU:
  case FAB_OP_BIAS_GELU: {
    const char *ap = fab_op_str(op, "approx", "erf");
    if (op->code == FAB_OP_BIAS_GELU) {
      ex[*nex] = operand_extra(g, op->operands[1], R, d);
      st[(*ns)++] = (step){FAB_PPU_ADD, 0, (*nex)++};
    }
    st[(*ns)++] = (step){strcmp(ap, "tanh") ? FAB_PPU_GELUE : FAB_PPU_GELUT, 0, -1};
    return true;
  }
  case FAB_OP_SCALE: st[(*ns)++] = (step){FAB_PPU_SCALE, (float)fab_op_float(op, "factor", 1), -1}; return true;
  case FAB_OP_SOFTMAX: st[(*ns)++] = (step){FAB_PPU_SOFTMAX, (float)fab_op_float(op, "scale", 1), -1}; return true;
  case FAB_OP_LAYERNORM:
  case FAB_OP_ADD_LAYERNORM: {
    int gi = 1;
    if (op->code == FAB_OP_ADD_LAYERNORM) {
      ex[*nex] = operand_extra(g, op->operands[o], R, d);
      st[(*ns)++] = (step){FAB_PPU_ADD, 0, (*nex)++};
      gi = 2;
    }
    ex[*nex] = operand_extra(g, op->operands[gi], R, d);
    ex[*nex + 1] = operand_extra(g, op->operands[gi + 1], R, d);
    if (ex[*nex].kind != EX_BCAST || ex[*nex + 1].kind != EX_BCAST) {
      fpga_cg_error(g, "layernorm gamma/beta must be vectors of the row length");
      return false;
    }
    st[(*ns)++] = (step){FAB_PPU_LN, (float)fab_op_float(op, "eps", 1e-5), *nex};
    *nex += 2;
    return true;
  }
  default: fpga_cg_error(g, "unexpected op"); return false;
  }
}

/* softmax x[.., s, t] with mask rows m[p.., t] (`per` rows of x each)
 * and/or causal: row tiles that share one mask row and, causal, one
 * [s, t] matrix; per tile a pmask (its flags, causal origin r0 = the
 * tile's first row index) and a masked PPU softmax. */
static bool gen_masked_softmax(fpga_cg *g, const fab_op *op, uint64_t R, uint64_t d) {
  const fab_type *t = &op->type;
  bool causal = fab_op_int(op, "causal", 0) != 0;
  uint64_t s = t->rank >= 2 ? (uint64_t)t->dims[t->rank - 2] : 1, per = R, flags = 0;
  if (op->noperands > 1) {
    uint64_t mrows = (uint64_t)cg_numel(ty(g, op->operands[1])) / d;
    per = mrows && R % mrows == 0 ? R / mrows : 0;
    flags = addr(g, op->operands[1]);
  }
  if (d > 4096) {
    fpga_cg_error(g, "masked softmax: rows of %llu elements exceed the post-processing unit's 4096",
                  (unsigned long long)d);
    return false;
  }
  if (!per) { /* the IR verifier rules this out: an internal error */
    fpga_cg_error(g, "internal: the softmax mask does not match its rows");
    return false;
  }
  uint64_t x = addr(g, op->operands[0]), out = addr(g, g->cur);
  float scale = (float)fab_op_float(op, "scale", 1);
  for (uint64_t r0 = 0; r0 < R && !g->failed;) {
    uint64_t hs, base = fpga_cg_vm_half(g, &hs);
    uint64_t n = umin(umin(hs / d, 4096), umin(R - r0, per - r0 % per));
    if (causal) n = umin(n, s - r0 % s);
    fpga_cg_ld_vm(g, x + r0 * d, d, false, n, d, base);
    fpga_cg_mask(g, false, op->noperands > 1 ? flags + (r0 / per) * d : 0, op->noperands > 1 ? d : 0, causal,
                 r0 % s, 0);
    fpga_cg_ppu_masked(g, FAB_PPU_SOFTMAX, n, d, base, 0, scale);
    fpga_cg_st_vm(g, out + r0 * d, d, false, n, d, base);
    r0 += n;
  }
  return !g->failed;
}

bool fpga_cg_gen_elementwise(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  if (fab_fpga_masked_softmax(op) && op->type.rank >= 1 && op->type.dtype == FAB_F32) {
    uint64_t d = (uint64_t)op->type.dims[op->type.rank - 1];
    return gen_masked_softmax(g, op, (uint64_t)cg_numel(&op->type) / d, d);
  }
  const fab_type *t = &op->type;
  if (t->rank == 0) {
    fpga_cg_error(g, "scalar values are not supported on the accelerator");
    return false;
  }
  if (t->dtype != FAB_F32) {
    fpga_cg_error(g, "only f32 values are supported here");
    return false;
  }
  uint64_t d = (uint64_t)t->dims[t->rank - 1], R = (uint64_t)cg_numel(t) / d;
  /* the chain ending here, first op first */
  int chain[FAB_FPGA_MAX_CHAIN], n = 0;
  chain[n++] = g->cur;
  for (int p = chain_pred(g, g->cur); p >= 0 && n < FAB_FPGA_MAX_CHAIN; p = chain_pred(g, p)) chain[n++] = p;
  extra ex[12];
  step st[8];
  int nex = 0, ns = 0;
  for (int k = n - 1; k >= 0; k--) {
    const fab_op *c = &g->f->ops[chain[k]];
    int cp = k == n - 1 ? -1 : fab_fpga_chain_pos(c, chain[k + 1]);
    if (!append_op(g, c, cp, R, d, ex, &nex, st, &ns)) return false;
  }
  int xv = g->f->ops[chain[n - 1]].operands[0];
  bool gather = fpga_cg_folded_in(g, xv, FAB_OP_EMBED);
  gen_rows_from(g, gather ? xv : -1, R, d, gather ? 0 : read_addr(g, xv), addr(g, g->cur), nex, ex, ns, st);
  return !g->failed;
}

bool fpga_cg_gen_const(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  uint64_t n = words_of(&op->type), d = umin(n, 4096), R = n / d, rest = n % d;
  float v = (float)fab_op_float(op, "value", 0);
  step st = {FAB_PPU_FILL, v, -1};
  /* fill the tile in VM, then store it over the region */
  if (R) fpga_cg_gen_rows(g, R, d, addr(g, g->cur), addr(g, g->cur), 0, NULL, 1, &st);
  if (rest) fpga_cg_gen_rows(g, 1, rest, addr(g, g->cur) + R * d, addr(g, g->cur) + R * d, 0, NULL, 1, &st);
  return !g->failed;
}

/* ---- data movement --------------------------------------------------------------------- */

bool fpga_cg_gen_move(fpga_cg *g, const fab_op *op) {
  const fab_type *xt = ty(g, op->operands[0]);
  uint64_t x = addr(g, op->operands[0]), esz = xt->dtype == FAB_C64 ? 2 : 1;
  if (op->code == FAB_OP_RESHAPE) {
    g->vals[g->cur] = g->vals[op->operands[0]];
    return true;
  }
  uint64_t outer, A, inner;
  if (op->code == FAB_OP_PAD) {
    /* A reused region gets its padding zeroed explicitly (a PPU fill of
     * one VM tile, stored over the padding of every row); padding wider
     * than the PPU's rows relies on the fresh (zeroed) region fpga-alloc
     * gives it. */
    around(xt, norm_axis(xt, fab_op_int(op, "axis", -1)), &outer, &A, &inner);
    uint64_t size = (uint64_t)fab_op_int(op, "size", 0), padw = size > A ? (size - A) * inner * esz : 0, hs;
    if (!fpga_cg_define(g, op)) return false;
    if (padw <= FAB_FPGA_FILL_MAX) {
      uint64_t o = addr(g, g->cur), zbase = 0, zrows = 0;
      for (uint64_t r0 = 0; padw && r0 < outer && !g->failed;) {
        uint64_t t = umin(umin(outer - r0, 4096), ((uint64_t)g->c->vm_words / 2) / padw);
        if (t > zrows) { /* (re)fill a zero tile of t rows */
          zbase = fpga_cg_vm_half(g, &hs);
          fpga_cg_ppu(g, FAB_PPU_FILL, t, padw, zbase, 0, false, 0);
          zrows = t;
        }
        fpga_cg_st_vm(g, o + (r0 * size + A) * inner * esz, size * inner * esz, false, t, padw, zbase);
        r0 += t;
      }
    }
  } else {
    fpga_cg_define(g, op);
  }
  uint64_t out = addr(g, g->cur);
  switch (op->code) {
  case FAB_OP_SLICE:
  case FAB_OP_PAD: {
    int a = norm_axis(xt, fab_op_int(op, "axis", -1));
    around(xt, a, &outer, &A, &inner);
    uint64_t size = (uint64_t)fab_op_int(op, "size", 0), start = (uint64_t)fab_op_int(op, "start", 0);
    bool slice = op->code == FAB_OP_SLICE;
    uint64_t srcA = A, dstA = size, cnt = slice ? size : A;
    inner *= esz;
    if (inner == 1)
      fpga_cg_copy2d(g, x + (slice ? start : 0), srcA, false, out, dstA, outer, cnt);
    else
      for (uint64_t o = 0; o < outer && !g->failed; o++)
        fpga_cg_copy_contig(g, x + (o * srcA + (slice ? start : 0)) * inner, out + o * dstA * inner, cnt * inner);
    return !g->failed;
  }
  case FAB_OP_TAKE: {
    around(xt, xt->rank - 2, &outer, &A, &inner);
    uint64_t idx = (uint64_t)fab_op_int(op, "index", 0);
    inner *= esz;
    fpga_cg_copy2d(g, x + idx * inner, A * inner, false, out, inner, outer, inner);
    return !g->failed;
  }
  case FAB_OP_STACK: {
    uint64_t n = (uint64_t)xt->dims[xt->rank - 1] * esz, R = words_of(xt) / n;
    uint64_t count = (uint64_t)fab_op_int(op, "count", 1);
    for (uint64_t c = 0; c < count && !g->failed; c++) fpga_cg_copy2d(g, x, n, false, out + c * n, count * n, R, n);
    return !g->failed;
  }
  case FAB_OP_TRANSPOSE: {
    const fab_attr *pa = fab_op_attr(op, "perm");
    int r = xt->rank;
    if (esz != 1 || !pa || pa->nints != r) {
      fpga_cg_error(g, "transpose of this type is not supported");
      return false;
    }
    uint64_t istr[FAB_MAX_RANK];
    istr[r - 1] = 1;
    for (int i = r - 2; i >= 0; i--) istr[i] = istr[i + 1] * (uint64_t)xt->dims[i + 1];
    const fab_type *ot = &op->type;
    uint64_t rows = r >= 2 ? (uint64_t)ot->dims[r - 2] : 1, len = (uint64_t)ot->dims[r - 1];
    uint64_t sr = r >= 2 ? istr[pa->ints[r - 2]] : 0, sc = istr[pa->ints[r - 1]];
    uint64_t blocks = (uint64_t)cg_numel(ot) / (rows * len);
    for (uint64_t b = 0; b < blocks && !g->failed; b++) {
      uint64_t src = x, rem = b;
      for (int i = r - 3; i >= 0; i--) {
        src += (rem % (uint64_t)ot->dims[i]) * istr[pa->ints[i]];
        rem /= (uint64_t)ot->dims[i];
      }
      uint64_t dst = out + b * rows * len;
      if (sc == 1) fpga_cg_copy2d(g, src, sr, false, dst, len, rows, len);
      else if (sr == 1 || rows == 1) fpga_cg_copy2d(g, src, sc, true, dst, len, rows, len);
      else
        for (uint64_t i = 0; i < rows && !g->failed; i++) fpga_cg_copy2d(g, src + i * sr, sc, true, dst + i * len, len, 1, len);
    }
    return !g->failed;
  }
  default: fpga_cg_error(g, "unexpected op"); return false;
  }
}

