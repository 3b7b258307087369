/* codegen.c — the code generator's driver: the checks of its input (lowered,
 * and the folds and memory plan of fpga-absorb / fpga-alloc, which it
 * follows), the instruction buffer and dependency-token derivation.
 *
 * Tokens: every emitted instruction lists the address ranges it reads and
 * writes (off-chip, CB, VM, engine banks).  A new instruction in queue C
 * that conflicts (RAW, WAR, WAW) with an earlier one in queue P must wait
 * for it: the producer gets sig bit C, the consumer wait bit P.  Only the
 * latest conflicting producer per queue matters (queues complete in
 * order), and a producer at or before the last one C already waited for
 * is implied.  Because producers chosen per channel strictly increase,
 * the k-th pop of a channel always matches the k-th push, and every wait
 * refers to an earlier instruction, so the stream cannot deadlock. */
#include "codegen_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void fpga_cg_error(fpga_cg *g, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const fab_op *op = g->cur >= 0 && g->cur < g->f->nops ? &g->f->ops[g->cur] : NULL;
  if (op)
    fab_error(g->d, op->loc, "fpga: %s %%%d: %s", fab_opinfos[op->code].name, g->cur, msg);
  else
    fab_error(g->d, (fab_loc){0}, "fpga: %s", msg);
  g->failed = true;
}

bool fpga_cg_planned(fpga_cg *g, int v, uint64_t *addr) {
  const fab_op *op = &g->f->ops[v];
  if (!fab_op_attr(op, "plan.offset")) {
    fpga_cg_error(g, "%%%d has no plan.offset (run fpga-alloc last)", v);
    return false;
  }
  *addr = (uint64_t)fab_op_int(op, "plan.offset", 0) / 4;
  return true;
}

void fpga_cg_emit(fpga_cg *g, fab_fpga_insn in, int nacc, const cg_acc *acc) {
  if (g->failed) return;
  if (g->n >= g->max_insns) {
    /* before the arrays grow past what a .fbin holds (the code generator
     * keeps about 0.8 KB per instruction: 2^24 of them are 13 GiB) */
    fpga_cg_error(g, "the program needs more than %zu instructions (the limit of a .fbin program): the model "
                     "is too large for one accelerator program (fewer layers, a shorter sequence)",
                  g->max_insns);
    return;
  }
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 256;
    if (cap > g->max_insns) cap = g->max_insns;
    cg_insn *q = realloc(g->ins, cap * sizeof *q);
    if (!q) {
      fpga_cg_error(g, "out of memory");
      return;
    }
    g->ins = q;
    g->cap = cap;
  }
  cg_insn *ni = &g->ins[g->n++];
  memset(ni, 0, sizeof *ni);
  ni->in = in;
  ni->in.wait = ni->in.sig = 0; /* derived after scheduling */
  ni->op = g->cur;
  ni->nacc = nacc;
  memcpy(ni->acc, acc, (size_t)nacc * sizeof *acc);
}

void fpga_cg_cols(fpga_cg *g, int k, uint64_t step, uint64_t cols) {
  if (g->failed || !g->n) return;
  g->ins[g->n - 1].step[k] = step;
  g->ins[g->n - 1].cols[k] = cols;
}

/* Tokens of instruction `at` against the instructions before it (the
 * final order: called for 0, 1, ... after fpga_cg_schedule). */
bool fpga_cg_derive_tokens(fpga_cg *g, size_t at) {
  cg_insn *ni = &g->ins[at];
  fab_fpga_insn in = ni->in;
  int nacc = ni->nacc;
  const cg_acc *acc = ni->acc;
  int C = fab_fpga_ops[in.op].queue;
  size_t found[FAB_Q_COUNT] = {0}; /* 1 + index */
  /* need[q]: 1 + the latest instruction of queue q touching a space this
   * one touches (nothing older or newer of q can conflict) */
  size_t need[FAB_Q_COUNT] = {0};
  unsigned spaces = 0;
  for (int k = 0; k < nacc; k++) spaces |= 1u << acc[k].space;
  for (int q = 0; q < FAB_Q_COUNT; q++)
    for (int sp = 0; sp < CG_NSPACES; sp++)
      if ((spaces >> sp & 1u) && g->touch[q][sp] > need[q]) need[q] = g->touch[q][sp];
  /* The scan looks back at most CG_WINDOW instructions; a queue still
   * unresolved there waits for its latest instruction before the window
   * (conservative and safe: tokens retire in order, so that implies every
   * older one; in practice long complete). Keeps compilation linear. */
  size_t floor_ = at > CG_WINDOW ? at - CG_WINDOW : 0, j = 0;
  for (int q = 0; q < FAB_Q_COUNT; q++)
    if (q != C && need[q] > j) j = need[q]; /* nothing above the latest relevant instruction */
  for (; j-- > floor_;) {
    bool open = false; /* some queue still needs scanning at index j */
    for (int q = 0; q < FAB_Q_COUNT; q++)
      if (q != C && !found[q] && j + 1 > g->waited[q][C] && need[q] > g->waited[q][C]) open = true;
    if (!open) break;
    int Q = fab_fpga_ops[g->ins[j].in.op].queue;
    if (Q == C || found[Q] || j + 1 <= g->waited[Q][C] || j >= need[Q]) continue;
    if (fpga_cg_conflicts(ni, &g->ins[j])) found[Q] = j + 1;
  }
  if (j == (size_t)-1 || j < floor_) /* the window ended with queues unresolved */
    for (int q = 0; q < FAB_Q_COUNT; q++) {
      if (q == C || found[q] || need[q] <= g->waited[q][C] || floor_ == 0) continue;
      size_t lim = need[q] < floor_ ? need[q] : floor_; /* candidates: indices < lim */
      /* latest instruction of q below lim */
      size_t lo = 0, hi = g->nqidx[q];
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g->qidx[q][mid] < lim) lo = mid + 1;
        else hi = mid;
      }
      if (lo > 0 && g->qidx[q][lo - 1] + 1 > g->waited[q][C]) found[q] = g->qidx[q][lo - 1] + 1;
    }
  for (int q = 0; q < FAB_Q_COUNT; q++)
    if (found[q]) {
      g->ins[found[q] - 1].in.sig |= 1u << C;
      ni->in.wait |= 1u << q;
      g->waited[q][C] = found[q];
    }
  for (int k = 0; k < nacc; k++) g->touch[C][acc[k].space] = at + 1;
  if (g->nqidx[C] == g->capqidx[C]) {
    size_t cap = g->capqidx[C] ? 2 * g->capqidx[C] : 256;
    size_t *q = realloc(g->qidx[C], cap * sizeof *q);
    if (!q) {
      fpga_cg_error(g, "out of memory");
      return false;
    }
    g->qidx[C] = q;
    g->capqidx[C] = cap;
  }
  g->qidx[C][g->nqidx[C]++] = at;
  return true;
}

uint64_t fpga_cg_vm_half(fpga_cg *g, uint64_t *size) {
  uint64_t h = (uint64_t)g->c->vm_words / 2;
  *size = h;
  g->vm_half ^= 1;
  return g->vm_half ? h : 0;
}

fab_fpga_insn fpga_cg_dma_insn(fab_fpga_opcode op, int buf, uint64_t ext, uint64_t stride, bool trans, uint64_t rows,
                         uint64_t len, uint64_t addr) {
  fab_fpga_insn in = fab_fpga_insn_make(op);
  FAB_SET(&in, DMA_BUF, buf);
  FAB_SET(&in, DMA_EXT, ext);
  FAB_SET(&in, DMA_STRIDE, stride);
  FAB_SET(&in, DMA_TRANS, trans);
  FAB_SET(&in, DMA_ROWS, rows);
  FAB_SET(&in, DMA_LEN, len);
  FAB_SET(&in, DMA_ADDR, addr);
  return in;
}

static void ext_range(uint64_t ext, uint64_t stride, bool trans, uint64_t rows, uint64_t len, uint64_t scale,
                      cg_acc *a, bool write) {
  uint64_t last = trans ? (len - 1) * stride + rows - 1 : (rows - 1) * stride + len - 1;
  *a = (cg_acc){SP_EXT, write, ext, ext + (last + 1) * scale};
}

/* The one rule for every transfer's fields (isa.def: DMA_EXT 32 bits,
 * DMA_STRIDE 20, DMA_ROWS and DMA_LEN 13, neither 0). */
bool fpga_cg_dma_fits(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t rows, uint64_t len) {
  if (ext >> 32 || stride >> 20 || rows >> 13 || len >> 13 || !rows || !len) {
    fpga_cg_error(g, "transfer outside the DMA's reach (address %llu, stride %llu, %llu x %llu)",
             (unsigned long long)ext, (unsigned long long)stride, (unsigned long long)rows, (unsigned long long)len);
    return false;
  }
  return true;
}

/* Every VM transfer: cplx, 2-word (re, im) elements on both sides; cp, a
 * load through the coefficient port. */
static void vm_dma(fpga_cg *g, fab_fpga_opcode opc, uint64_t ext, uint64_t stride, bool trans, bool cplx, bool cp,
                   uint64_t rows, uint64_t len, uint64_t vm) {
  if (g->failed || !fpga_cg_dma_fits(g, ext, stride, rows, len)) return;
  bool ld = opc == FAB_I_LD;
  uint64_t sc = cplx ? 2 : 1;
  cg_acc a[2];
  ext_range(ext, stride, trans, rows, len, sc, &a[0], !ld);
  a[1] = (cg_acc){SP_VM, ld, vm, vm + rows * len * sc};
  fab_fpga_insn in = fpga_cg_dma_insn(opc, FAB_BUF_VM, ext, stride, trans, rows, len, vm);
  FAB_SET(&in, DMA_CPLX, cplx);
  FAB_SET(&in, DMA_CP, cp);
  fpga_cg_emit(g, in, 2, a);
}

void fpga_cg_ld_vm(fpga_cg *g, uint64_t ext, uint64_t stride, bool trans, uint64_t rows, uint64_t len, uint64_t vm) {
  vm_dma(g, FAB_I_LD, ext, stride, trans, false, false, rows, len, vm);
}

void fpga_cg_st_vm(fpga_cg *g, uint64_t ext, uint64_t stride, bool trans, uint64_t rows, uint64_t len, uint64_t vm) {
  vm_dma(g, FAB_I_ST, ext, stride, trans, false, false, rows, len, vm);
}

void fpga_cg_dma_vm(fpga_cg *g, fab_fpga_opcode opc, uint64_t ext, uint64_t stride, bool trans, bool cplx, uint64_t rows,
                    uint64_t len, uint64_t vm) {
  vm_dma(g, opc, ext, stride, trans, cplx, false, rows, len, vm);
}

void fpga_cg_ld_vm_weight(fpga_cg *g, uint64_t ext, uint64_t rows, uint64_t len, uint64_t vm) {
  vm_dma(g, FAB_I_LD, ext, len, false, false, true, rows, len, vm);
}

void fpga_cg_mm(fpga_cg *g, uint64_t a, uint64_t b, uint64_t c, uint64_t M, uint64_t K, uint64_t N, bool tb) {
  fab_fpga_insn in = fab_fpga_insn_make(FAB_I_MM);
  FAB_SET(&in, MM_A, a);
  FAB_SET(&in, MM_B, b);
  FAB_SET(&in, MM_C, c);
  FAB_SET(&in, MM_M, M);
  FAB_SET(&in, MM_K, K);
  FAB_SET(&in, MM_N, N);
  FAB_SET(&in, MM_TB, tb);
  cg_acc acc[3] = {{SP_VM, false, a, a + M * K}, {SP_VM, false, b, b + K * N}, {SP_VM, true, c, c + M * N}};
  fpga_cg_emit(g, in, 3, acc);
}

static void ppu_insn(fpga_cg *g, int fn, uint64_t rows, uint64_t len, uint64_t a, uint64_t b, bool bc, float param,
                     bool mk) {
  if (g->failed) return;
  fab_fpga_insn in = fab_fpga_insn_make(FAB_I_PPU);
  FAB_SET(&in, PPU_FN, fn);
  FAB_SET(&in, PPU_ROWS, rows);
  FAB_SET(&in, PPU_LEN, len);
  FAB_SET(&in, PPU_A, a);
  bool useb = fn == FAB_PPU_ADD || fn == FAB_PPU_MUL || fn == FAB_PPU_LN || fn == FAB_PPU_MEAN;
  FAB_SET(&in, PPU_B, useb ? b : 0);
  FAB_SET(&in, PPU_BC, useb && bc);
  FAB_SET(&in, PPU_PARAM, fab_fpga_f32_bits(param));
  FAB_SET(&in, PPU_MK, mk);
  cg_acc acc[3];
  int n = 0;
  acc[n++] = (cg_acc){SP_VM, fn != FAB_PPU_MEAN, a, a + rows * len};
  if (useb) {
    uint64_t bw = fn == FAB_PPU_LN ? 2 * len : fn == FAB_PPU_MEAN ? len : bc ? len : rows * len;
    acc[n++] = (cg_acc){SP_VM, fn == FAB_PPU_MEAN, b, b + bw};
  }
  if (mk) acc[n++] = (cg_acc){SP_PMASK, false, 0, 1};
  fpga_cg_emit(g, in, n, acc);
}

void fpga_cg_ppu(fpga_cg *g, int fn, uint64_t rows, uint64_t len, uint64_t a, uint64_t b, bool bc, float param) {
  ppu_insn(g, fn, rows, len, a, b, bc, param, false);
}

void fpga_cg_ppu_masked(fpga_cg *g, int fn, uint64_t rows, uint64_t len, uint64_t a, uint64_t b, float param) {
  ppu_insn(g, fn, rows, len, a, b, false, param, true);
}

void fpga_cg_mask(fpga_cg *g, bool att, uint64_t ext, uint64_t n, bool cz, uint64_t r0, uint64_t c0) {
  if (g->failed) return;
  if (n > 8191 || r0 >= (1u << 20) || c0 >= (1u << 20) || ext + n > (1ull << 32)) {
    fpga_cg_error(g, "mask of %llu flags at sequence position %llu is outside the mask registers' reach",
                  (unsigned long long)n, (unsigned long long)(r0 > c0 ? r0 : c0));
    return;
  }
  fab_fpga_insn in = fab_fpga_insn_make(att ? FAB_I_AMASK : FAB_I_PMASK);
  FAB_SET(&in, MSK_EXT, ext);
  FAB_SET(&in, MSK_N, n);
  FAB_SET(&in, MSK_CZ, cz);
  FAB_SET(&in, MSK_R0, r0);
  FAB_SET(&in, MSK_C0, c0);
  cg_acc acc[2] = {{att ? SP_AMASK : SP_PMASK, true, 0, 1}, {SP_EXT, false, ext, ext + n}};
  fpga_cg_emit(g, in, n ? 2 : 1, acc);
}

void fpga_cg_copy2d(fpga_cg *g, uint64_t src, uint64_t sstride, bool strans, uint64_t dst, uint64_t dstride, uint64_t rows,
               uint64_t len) {
  uint64_t hs;
  if (len > 4096) {
    /* split long rows into column chunks */
    for (uint64_t j = 0; j < len; j += 4096) {
      uint64_t l = len - j < 4096 ? len - j : 4096;
      fpga_cg_copy2d(g, strans ? src + j * sstride : src + j, sstride, strans, dst + j, dstride, rows, l);
    }
    return;
  }
  if (rows == 1) { /* the stride of a single row is irrelevant: keep it in the field's range */
    if (!strans) sstride = len;
    dstride = len;
  }
  for (uint64_t r0 = 0; r0 < rows && !g->failed;) {
    uint64_t base = fpga_cg_vm_half(g, &hs);
    uint64_t t = hs / len;
    if (t > 4096) t = 4096;
    if (t > rows - r0) t = rows - r0;
    uint64_t s = strans ? src + r0 : src + r0 * sstride;
    fpga_cg_ld_vm(g, s, sstride, strans, t, len, base);
    fpga_cg_st_vm(g, dst + r0 * dstride, dstride, false, t, len, base);
    r0 += t;
  }
}

void fpga_cg_copy_contig(fpga_cg *g, uint64_t src, uint64_t dst, uint64_t words) {
  uint64_t rows = words / 4096, rest = words % 4096;
  if (rows) fpga_cg_copy2d(g, src, 4096, false, dst, 4096, rows, 4096);
  if (rest) fpga_cg_copy2d(g, src + rows * 4096, rest, false, dst + rows * 4096, rest, 1, rest);
}

/* The words the plan spans: the end of its highest region (every region
 * is an [offset, size] pair in bytes). */
static uint64_t memory_top(const fab_func *f) {
  uint64_t top = 0;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    int64_t v = fab_op_int(op, "plan.offset", 0) + fab_op_int(op, "plan.size", 0);
    if ((uint64_t)v / 4 > top) top = (uint64_t)v / 4;
    for (int k = 0; k < 2; k++) {
      const fab_attr *a = fab_op_attr(op, k ? "plan.scratch" : "plan.table");
      for (int j = 0; a && a->kind == FAB_ATTR_INTS && j + 1 < a->nints; j += 2)
        if ((uint64_t)(a->ints[j] + a->ints[j + 1]) / 4 > top) top = (uint64_t)(a->ints[j] + a->ints[j + 1]) / 4;
    }
  }
  return top;
}

fab_fpga_program *fab_fpga_codegen(const fab_module *m, const fab_fpga_config *cfg, fab_diag *d) {
  return fab_fpga_codegen_ex(m, cfg, NULL, d);
}

fab_fpga_program *fab_fpga_codegen_ex(const fab_module *m, const fab_fpga_config *cfg,
                                      const fab_fpga_codegen_opts *o, fab_diag *d) {
  if (!fab_check_target_support(m, FAB_IMPL_FPGA, "fpga", d)) return NULL;
  char err[256];
  if (fab_fpga_config_validate(cfg, err, sizeof err)) {
    fab_error(d, (fab_loc){0}, "fpga: %s", err);
    return NULL;
  }
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "fpga: module has no function");
    return NULL;
  }
  for (int i = 0; i < f->nops; i++)
    if (!(fab_opinfos[f->ops[i].code].flags & FAB_OPF_LOW)) {
      fab_error(d, f->ops[i].loc, "fpga: %s %%%d: not in lowered form (run the fpga pipeline first)",
                fab_opinfos[f->ops[i].code].name, i);
      return NULL;
    }
  if (!fab_fpga_plan_check(f, d)) return NULL;
  fpga_cg g = {.m = m, .f = f, .c = cfg, .d = d, .cur = -1,
               .max_insns = o && o->max_insns ? o->max_insns : FAB_FBIN_MAX_INSNS};
  fab_fpga_program *result = NULL;
  g.p = fab_fpga_program_new(cfg);
  g.vals = calloc((size_t)f->nops + 1, sizeof *g.vals);
  if (!g.p || !g.vals) {
    fab_error(d, (fab_loc){0}, "fpga: out of memory");
    goto fail;
  }
  for (int i = 0; i < f->nops && !g.failed; i++) {
    g.cur = i;
    if (!fab_fpga_folded(&f->ops[i])) fpga_cg_op(&g, &f->ops[i]);
  }
  g.cur = -1;
  if (g.failed) goto fail;
  if ((!o || o->schedule >= 0) && !fpga_cg_schedule(&g, o && o->schedule > 0)) goto fail;
  for (size_t i = 0; i < g.n; i++)
    if (!fpga_cg_derive_tokens(&g, i)) goto fail;
  if (o && o->op_insn_lo && o->op_insn_hi) {
    for (int i = 0; i < f->nops; i++) o->op_insn_lo[i] = o->op_insn_hi[i] = 0;
    for (size_t k = g.n; k-- > 0;) {
      int i = g.ins[k].op;
      if (i < 0 || i >= f->nops) continue;
      if (!o->op_insn_hi[i]) o->op_insn_hi[i] = k + 1;
      o->op_insn_lo[i] = k;
    }
  }
  uint64_t top = memory_top(f);
  g.p->mem_words = top ? top : 16;
  for (size_t i = 0; i < g.n; i++)
    if (fab_fpga_program_push(g.p, &g.ins[i].in)) {
      fab_error(d, (fab_loc){0}, "fpga: program too large");
      goto fail;
    }
  if (fab_fpga_program_check(g.p, err, sizeof err)) {
    fab_error(d, (fab_loc){0}, "fpga: internal error: generated program fails its check: %s", err);
    goto fail;
  }
  if (o && o->op_map && !fpga_cg_attach_op_map(&g)) goto fail;
  if (o && o->insn_op) {
    *o->insn_op = malloc((g.n ? g.n : 1) * sizeof **o->insn_op);
    if (*o->insn_op)
      for (size_t k = 0; k < g.n; k++) (*o->insn_op)[k] = g.ins[k].op;
  }
  if (o && o->value_addr)
    for (int i = 0; i < f->nops; i++) o->value_addr[i] = g.vals[i].ok ? g.vals[i].addr : UINT64_MAX;
  result = g.p;
  g.p = NULL;
fail:
  free(g.vals);
  free(g.ins);
  for (int q = 0; q < FAB_Q_COUNT; q++) free(g.qidx[q]);
  fab_fpga_program_free(g.p);
  return result;
}
