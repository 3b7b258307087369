/* codegen_dft.c — `dft` (a DFT along a non-power-of-two axis, e.g. the
 * hidden axis of FABNet-Base, d = 768) as a dense matrix product on the
 * attention processor's matrix unit.
 *
 * The exact DFT, not the authors' zero-padding to 1024 (which changes the
 * result): each line x (all other indices fixed) is multiplied by a real
 * table of W[j, k] = exp(-2 pi i j k / n), a constant tensor the compiler
 * names and the loader generates (fab_fpga_const_fill):
 *   last axis, real input (a `complex` folded in): rows [L, n] x "dft.r.n" [n, 2n]
 *   last axis, complex rows (interleaved):          rows [L, 2n] x "dft.c.n" [2n, 2n]
 *   other axes: the lines are gathered by a transposed complex DMA walk
 *   (cplx on the vector memory: 2-word elements), multiplied by "dft.c.n",
 *   and scattered back by a transposed complex store.
 * Where the table lives, and whether the split below runs (plan.scratch),
 * the pass fpga-alloc decided.
 * Tiles: columns of the table (even, so complex pairs stay whole) times
 * line tiles, both in one VM half, alternating halves as gen_mm does.
 * docs/fpga.md §1 explains the choice against Bluestein on the engines. */
#include "codegen_internal.h"

#include <stdio.h>
#include <string.h>

/* The constant table `name` [K, N] of the dft being compiled, where
 * fpga-alloc placed it (plan.table; listed once per program). */
static uint64_t const_table(fpga_cg *g, const char *name, uint64_t K, uint64_t N) {
  const fab_attr *t = fab_op_attr(&g->f->ops[g->cur], "plan.table");
  /* fab_fpga_plan_check rules this out */
  if (!t || t->kind != FAB_ATTR_INTS || t->nints != 2 || (uint64_t)t->ints[1] < K * N * 4) {
    fpga_cg_error(g, "internal: no plan.table for the constant table '%s'", name);
    return 0;
  }
  int known = fab_fpga_program_find_tensor(g->p, name, FAB_FT_CONST);
  if (known >= 0) return g->p->tensors[known].addr;
  uint64_t a = (uint64_t)t->ints[0] / 4;
  int64_t dims[2] = {(int64_t)K, (int64_t)N};
  if (fab_fpga_program_add_tensor(g->p, name, FAB_FT_CONST, FAB_FD_F32, 2, dims, a))
    fpga_cg_error(g, "cannot add the constant table '%s'", name);
  return a;
}

/* Mixed radix along any axis, n = q m (q odd >= 3, m = 2^k >= 32),
 * decimation in time: x_r[j] = x[q j + r], Y_r = FFT_m(x_r) on the engines,
 * X[k1 + m k2] = sum_r Y_r[k1] w(r, k1, k2) on the matrix unit.  Lines l
 * (all other indices fixed) are (o, i), o < L / inner, i < inner.
 *   1. transposing copy x[l][j][r] -> xt[l][r][j], so the q sub-sequences
 *      are contiguous rows and the FFT tiles span all L q rows: along the
 *      last axis per line a transposed VM walk; along another axis, per
 *      (o, r), the lines of a tile as a transposed walk with stride q inner
 *      (complex elements by cplx transfers);
 *   2. FFT of the L q rows of m points (fft.stages on the engines);
 *   3. per frequency k1 and line tile: for each (r, k2) a [tm, 2] x [2, 2]
 *      product with the 2 x 2 real block of w = exp(-2 pi i r (k1 + m k2)
 *      / n) from the "dft.x.n" table, summed over r by the PPU, stored to
 *      X[k1 + m k2]: the 4 q^2 multiply-adds per output point of a radix-q
 *      step with its twiddles folded in (16x fewer than the dense 2 n^2 for
 *      768; the earlier block-diagonal [2 kb, 2 kb] products did 8x that). */
static void transpose_lines(fpga_cg *g, uint64_t L, uint64_t inner, uint64_t n, uint64_t q, uint64_t m,
                            uint64_t x, uint64_t xt) {
  uint64_t hs;
  for (uint64_t l0 = 0; l0 < L && !g->failed;) {
    uint64_t o = l0 / inner, i0 = l0 % inner, base = fpga_cg_vm_half(g, &hs);
    uint64_t tl = umin(umin(hs / (n * 2), inner - i0), 4096);
    if (!tl) {
      fpga_cg_error(g, "DFT line does not fit the vector memory");
      return;
    }
    for (uint64_t r = 0; r < q; r++) {
      uint64_t vm = base + r * tl * m * 2;
      fpga_cg_dma_vm(g, FAB_I_LD, x + ((o * n + r) * inner + i0) * 2, q * inner, true, true, tl, m, vm);
      fpga_cg_dma_vm(g, FAB_I_ST, xt + (l0 * q + r) * m * 2, q * m, false, true, tl, m, vm);
    }
    l0 += tl;
  }
}

static void gen_dft_mixed(fpga_cg *g, uint64_t L, uint64_t inner, uint64_t n, uint64_t q, uint64_t m, bool real_in,
                          uint64_t x, uint64_t out) {
  uint64_t kb = 1, nb = m / kb, hs, xs = real_in ? 1 : 2;
  const fab_attr *sc = fab_op_attr(&g->f->ops[g->cur], "plan.scratch"); /* [xt, size, y, size] bytes */
  uint64_t xt = (uint64_t)sc->ints[0] / 4, y = (uint64_t)sc->ints[2] / 4;
  if (inner > 1) transpose_lines(g, L, inner, n, q, m, x, xt);
  /* 1. transposing copy, tiles of whole lines */
  for (uint64_t l0 = 0; l0 < L && inner == 1 && !g->failed;) {
    uint64_t base = fpga_cg_vm_half(g, &hs), tl = umin(umin(hs / (n * xs), L - l0), 4096 / q);
    if (!tl) {
      fpga_cg_error(g, "DFT line does not fit the vector memory");
      return;
    }
    for (uint64_t l = 0; l < tl; l++)
      fpga_cg_dma_vm(g, FAB_I_LD, x + (l0 + l) * n * xs, q, true, !real_in, q, m, base + l * n * xs);
    fpga_cg_dma_vm(g, FAB_I_ST, xt + l0 * n * xs, m, false, !real_in, tl * q, m, base);
    l0 += tl;
  }
  /* 2. the q L FFTs of m points */
  fpga_cg_fft_rows(g, L * q, m, !real_in, xt, y);
  /* 3. combination */
  char name[32];
  snprintf(name, sizeof name, "dft.x.%llu", (unsigned long long)n);
  uint64_t K = 2 * kb, tab = const_table(g, name, 2 * q * q * m, K), bw = q * q * K * K;
  for (uint64_t b = 0; b < nb && !g->failed; b++)
    for (uint64_t l0 = 0; l0 < L && !g->failed;) {
      uint64_t base = fpga_cg_vm_half(g, &hs);
      if (bw + 2 * q * K >= hs) {
        fpga_cg_error(g, "DFT table block does not fit the vector memory");
        return;
      }
      uint64_t tm = umin(umin((hs - bw) / (2 * q * K), 4096), L - l0);
      if (inner > 1) tm = umin(tm, inner - l0 % inner); /* one o per tile */
      uint64_t vb = base, va = vb + bw, vc = va + q * tm * K, vt = vc + tm * K;
      fpga_cg_ld_vm(g, tab + b * bw, K, false, q * q * K, K, vb);
      for (uint64_t r = 0; r < q; r++) /* Y_r[l][k1 block] for the tile's lines */
        fpga_cg_ld_vm(g, y + ((l0 * q + r) * m + b * kb) * 2, 2 * n, false, tm, K, va + r * tm * K);
      for (uint64_t k2 = 0; k2 < q && !g->failed; k2++) {
        for (uint64_t r = 0; r < q; r++) {
          fpga_cg_mm(g, va + r * tm * K, vb + (r * q + k2) * K * K, r ? vt : vc, tm, K, K, false);
          if (r) fpga_cg_ppu(g, FAB_PPU_ADD, tm, K, vc, vt, false, 0);
        }
        uint64_t o = l0 / inner, i0 = l0 % inner; /* X[o][k2 m + k1][i0..] */
        if (inner == 1) fpga_cg_st_vm(g, out + (l0 * n + k2 * m + b * kb) * 2, 2 * n, false, tm, K, vc);
        else fpga_cg_st_vm(g, out + ((o * n + k2 * m + b * kb) * inner + i0) * 2, K, false, tm, K, vc);
      }
      l0 += tm;
    }
}

bool fpga_cg_gen_dft(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  int src = op->operands[0];
  const fab_type *xt = ty(g, src);
  int a = norm_axis(xt, fab_op_int(op, "axis", -1));
  uint64_t outer, A, inner;
  around(xt, a, &outer, &A, &inner);
  bool real_in = false;
  if (fpga_cg_folded_in(g, src, FAB_OP_COMPLEX)) {
    src = g->f->ops[src].operands[0];
    real_in = true; /* only folded along the last axis (inner == 1) */
  }
  if (A > 4096 || A < 1) {
    fpga_cg_error(g, "DFT of length %llu exceeds the matrix unit's 4096", (unsigned long long)A);
    return false;
  }
  /* the authors' model: their hardware pads to a power of two and runs an
   * FFT pass; its first pass reads real rows whichever axis fabc runs
   * first (lower-fourier(seq-first): a `complex` not folded into this dft) */
  bool model_real_in = real_in || xt->dtype != FAB_C64 || g->f->ops[src].code == FAB_OP_COMPLEX;
  g->p->model_cycles += fab_fpga_model_fft_axis(g->c, outer, A, inner, model_real_in, op->type.dtype != FAB_C64);
  uint64_t mq = 1;
  while (A % (mq * 2) == 0) mq *= 2;
  /* fpga-alloc gave the split its scratch (plan.scratch) where it applies;
   * fab_fpga_plan_check ruled out a plan.scratch where it does not */
  if (fab_op_attr(op, "plan.scratch")) {
    gen_dft_mixed(g, outer * inner, inner, A, A / mq, mq, real_in, addr(g, src), addr(g, g->cur));
    return !g->failed;
  }
  uint64_t K = real_in ? A : 2 * A, N = 2 * A, x = addr(g, src), out = addr(g, g->cur), hs;
  char name[32];
  snprintf(name, sizeof name, "dft.%c.%llu", real_in ? 'r' : 'c', (unsigned long long)A);
  uint64_t tab = const_table(g, name, K, N);
  (void)fpga_cg_vm_half(g, &hs);
  uint64_t tn = umin(N, 4096) & ~(uint64_t)1;
  while (tn > 2 && K * tn > hs / 2) tn = ((tn / 2) + 1) & ~(uint64_t)1;
  if (K * tn + K + tn > hs) {
    fpga_cg_error(g, "DFT table tile does not fit the vector memory");
    return false;
  }
  uint64_t L = outer * inner;
  for (uint64_t j0 = 0; j0 < N && !g->failed; j0 += tn) {
    uint64_t nn = umin(tn, N - j0);
    for (uint64_t l0 = 0; l0 < L && !g->failed;) {
      uint64_t base = fpga_cg_vm_half(g, &hs);
      uint64_t tm = umin(umin((hs - K * nn) / (K + nn), 4096), L - l0);
      if (inner != 1) tm = umin(tm, inner - l0 % inner); /* one outer group per tile */
      uint64_t vb = base, va = vb + K * nn, vc = va + tm * K;
      fpga_cg_ld_vm(g, tab + j0, N, false, K, nn, vb);
      if (inner == 1) {
        fpga_cg_ld_vm(g, x + l0 * K, K, false, tm, K, va);
      } else {
        uint64_t o = l0 / inner, i = l0 % inner;
        fpga_cg_dma_vm(g, FAB_I_LD, x + (o * A * inner + i) * 2, inner, true, true, tm, A, va);
      }
      fpga_cg_mm(g, va, vb, vc, tm, K, nn, false);
      if (inner == 1) {
        fpga_cg_st_vm(g, out + l0 * N + j0, N, false, tm, nn, vc);
      } else {
        uint64_t o = l0 / inner, i = l0 % inner;
        fpga_cg_dma_vm(g, FAB_I_ST, out + (o * A * inner + (j0 / 2) * inner + i) * 2, inner, true, true, tm, nn / 2,
                       vc);
      }
      l0 += tm;
    }
  }
  return !g->failed;
}
