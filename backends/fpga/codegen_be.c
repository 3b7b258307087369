/* codegen_be.c — ops on the butterfly engines (bfly.stages, fft.stages,
 * bitrev, complex, real) and the op dispatch (the attention processor's
 * ops, gathers and pooling: codegen_att.c).
 *
 * Engine work is organised in tiles of rows: row r of a tile goes to
 * engine r mod ne, slot r / ne of the bank half in use; one instruction
 * runs all engines on their slots (rows are data-parallel, the
 * coefficients are broadcast). */
#include "codegen_internal.h"

/* ---- engine DMA and passes ------------------------------------------------------------ */

static void be_dma(fpga_cg *g, fab_fpga_opcode opc, uint64_t ext, uint64_t stride, bool trans, uint64_t rows,
                   uint64_t len, uint64_t ne, uint64_t baddr, bool cplx, bool brev, int bank) {
  if (g->failed || !fpga_cg_dma_fits(g, ext, stride, rows, len)) return;
  fab_fpga_insn in = fpga_cg_dma_insn(opc, FAB_BUF_BE, ext, stride, trans, rows, len, baddr);
  FAB_SET(&in, DMA_NE, ne);
  FAB_SET(&in, DMA_CPLX, cplx);
  FAB_SET(&in, DMA_BREV, brev);
  FAB_SET(&in, DMA_BANK, cplx ? 0 : bank);
  bool ld = opc == FAB_I_LD;
  uint64_t last = trans ? (len - 1) * stride + rows - 1 : (rows - 1) * stride + len - 1;
  uint64_t hi = baddr + ((rows + ne - 1) / ne) * len;
  cg_acc a[3] = {{SP_EXT, !ld, ext, ext + (last + 1) * (cplx ? 2 : 1)},
                 {cplx ? SP_BEA : SP_BEA + bank, ld, baddr, hi}, {SP_BEB, ld, baddr, hi}};
  fpga_cg_emit(g, in, cplx ? 3 : 2, a);
  if (!trans && rows > 1) fpga_cg_cols(g, 0, stride * (cplx ? 2 : 1), len * (cplx ? 2 : 1));
}

/* src >= 0 (bfly only): the first stage reads the rows at src of bank
 * sbank, out of place (os), and leaves them there. */
static void be_pass(fpga_cg *g, fab_fpga_opcode opc, uint64_t ne, int logn, uint64_t nrows, uint64_t baddr, int ls,
                    int nst, bool inc, bool rin, uint64_t cb, int bank, int64_t src, int sbank) {
  if (g->failed) return;
  fab_fpga_insn in = fab_fpga_insn_make(opc);
  FAB_SET(&in, BE_NE, ne);
  FAB_SET(&in, BE_LOGN, logn);
  FAB_SET(&in, BE_NROWS, nrows);
  FAB_SET(&in, BE_ADDR, baddr);
  uint64_t n = 1ull << logn, hi = baddr + nrows * n;
  cg_acc a[4];
  int na = 0;
  if (src >= 0) {
    FAB_SET(&in, BE_OS, 1);
    FAB_SET(&in, BE_SB, sbank);
    FAB_SET(&in, BE_SRC, (uint64_t)src / 8);
    a[na++] = (cg_acc){SP_BEA + sbank, false, (uint64_t)src, (uint64_t)src + nrows * n};
  }
  if (opc == FAB_I_ZERO) {
    FAB_SET(&in, BE_BANK, 1);
    a[na++] = (cg_acc){SP_BEB, true, baddr, hi};
  } else {
    FAB_SET(&in, BE_LSTRIDE, ls);
    FAB_SET(&in, BE_NST, nst);
    FAB_SET(&in, BE_DIR, inc);
    if (opc == FAB_I_BFLY) FAB_SET(&in, BE_BANK, bank);
    a[na++] = (cg_acc){opc == FAB_I_BFLY ? SP_BEA + bank : SP_BEA, true, baddr, hi};
    if (opc == FAB_I_FFT) {
      FAB_SET(&in, BE_RIN, rin);
      a[na++] = (cg_acc){SP_BEB, true, baddr, hi};
    } else {
      FAB_SET(&in, BE_CB, cb);
      a[na++] = (cg_acc){SP_CB, false, cb, cb + (uint64_t)nst * 2 * n};
    }
  }
  fpga_cg_emit(g, in, na, a);
}

/* The engine-buffer region of the next tile.  Tiles cycle through at
 * least three regions where rows allow, so the load of tile i+1, the
 * compute of tile i and the store of tile i-1 overlap (a two-region
 * ping-pong would make each load wait for the store two tiles back).
 * Real rows use both banks as separate regions (the authors' A/B
 * ping-pong); complex rows need both banks, so regions are slices of the
 * bank.  Returns the word address; *k rows fit per engine, *bank is the
 * bank of real data. */
/* Region r's address range and banks (bank < 0: both). */
static uint64_t region_at(uint64_t r, uint64_t nreg, uint64_t size, bool cplx, int *bank) {
  *bank = cplx ? -1 : (int)(r & 1);
  return cplx ? r * size : nreg == 4 ? (r >> 1) * size : 0;
}

/* The region an op's first tile takes: the one the instructions before it
 * touched least recently (the latest toucher within CG_WINDOW
 * instructions), so the first load need not wait for the previous op's
 * last tiles to leave a region that overlaps it (a mixed-radix FFT's
 * three complex regions against a butterfly's four real ones: on
 * zynq7045-be20 every other FABNet-Large layer lost ~9K cycles in fc1's
 * first load).  Ties keep the running order. */
static unsigned first_region(fpga_cg *g, uint64_t nreg, uint64_t size, bool cplx) {
  unsigned best = g->be_half % (unsigned)nreg;
  int64_t best_last = INT64_MAX;
  for (unsigned j = 0; j < nreg; j++) {
    unsigned r = (g->be_half + j) % (unsigned)nreg;
    int bank;
    uint64_t lo = region_at(r, nreg, size, cplx, &bank), hi = lo + size;
    int64_t last = -1;
    for (size_t k = g->n, seen = 0; k-- > 0 && seen < CG_WINDOW && last < 0; seen++)
      for (int a = 0; a < g->ins[k].nacc; a++) {
        const cg_acc *x = &g->ins[k].acc[a];
        bool space = bank < 0 ? (x->space == SP_BEA || x->space == SP_BEB) : x->space == SP_BEA + bank;
        if (space && x->lo < hi && lo < x->hi) last = (int64_t)k;
      }
    if (last < best_last) best = r, best_last = last;
  }
  return best;
}

static uint64_t be_region(fpga_cg *g, uint64_t A, bool cplx, uint64_t *k, int *bank) {
  uint64_t W = (uint64_t)fab_fpga_bank_words(g->c), nreg, size;
  if (cplx) {
    nreg = 3 * A <= W ? 3 : 2 * A <= W ? 2 : 1;
    size = (W / nreg) & ~(uint64_t)1; /* even: zero clears pairs of words */
  } else {
    nreg = 2 * A <= W ? 4 : 2;
    size = nreg == 4 ? W / 2 : W;
  }
  if (g->be_op != g->cur + 1) { /* the op's first tile */
    g->be_op = g->cur + 1;
    g->be_half = first_region(g, nreg, size, cplx);
  }
  unsigned r = g->be_half++ % (unsigned)nreg;
  *k = umin(size / A, 4095);
  if (cplx) {
    *bank = 0;
    return r * size;
  }
  *bank = (int)(r & 1);
  return nreg == 4 ? (r >> 1) * size : 0;
}

/* A tile's rows in or out of a bank-filling region (one row per engine,
 * only two regions: bank A and bank B) move in FPGA_STREAM_CHUNKS column chunks,
 * a streaming store: the next load into the bank follows the store chunk
 * by chunk (each chunk's load waits only for that chunk's store) instead of
 * waiting for the whole tile to leave.  The engine's serial ports read and
 * write the bank at once, as they do for two regions of one bank. */
static void be_dma_tile(fpga_cg *g, fab_fpga_opcode opc, uint64_t ext, uint64_t stride, uint64_t rows, uint64_t len,
                        uint64_t ne, uint64_t baddr, int bank, bool stream, uint64_t first) {
  uint64_t chunks = fpga_stream_chunks(g, stream, rows, ne, len, len);
  for (uint64_t r = 0, m = len / chunks; r < chunks; r++) {
    uint64_t c = (r + first) % chunks;
    be_dma(g, opc, ext + c * m, stride, false, rows, m, ne, baddr + c * m, false, false, bank);
  }
}

/* Rows per engine per tile: at most what the region holds, and small enough
 * that a pass has >= 16 tiles when the rows allow, so the pipeline's fill
 * (first load) and drain (last store) are a small part of the pass (each
 * tile stage costs about the same: serial load, compute, store). */
static uint64_t tile_rows(uint64_t k, uint64_t rows, uint64_t ne) {
  uint64_t cap = (rows + 16 * ne - 1) / (16 * ne);
  return umin(k, cap ? cap : 1);
}

enum { BJ_BITREV, BJ_FFT, BJ_COMPLEX, BJ_REAL };

/* Runs a line job along `axis` of x: every line (all other indices fixed)
 * is loaded into an engine, processed, and stored into out.  rq: the odd
 * radices of a mixed-radix FFT (codegen_fft.c), NULL for radix 2. */
static void be_lines(fpga_cg *g, int job, const fab_type *xt, int axis, uint64_t x, uint64_t out, bool out_cplx,
                     const int64_t *stages, int nstages, const fab_attr *rq, bool brev, const bfly_io *wb) {
  uint64_t outer, A, inner;
  around(xt, axis, &outer, &A, &inner);
  bool xc = xt->dtype == FAB_C64;
  uint64_t W = (uint64_t)fab_fpga_bank_words(g->c);
  if (A > W) {
    fpga_cg_error(g, "lines of %llu elements exceed the %llu-word engine buffer", (unsigned long long)A,
             (unsigned long long)W);
    return;
  }
  uint64_t Q = fpga_cg_radix_product(rq), P = 1ull << ilog2(A); /* P: a write-back store's row pitch */
  if ((job == BJ_FFT || job == BJ_BITREV) && (A & (A - 1)) && !fab_fpga_digitrev_ok(A)) {
    fpga_cg_error(g, "axis of length %llu is not 2^k times odd primes up to %d", (unsigned long long)A,
                  FAB_FPGA_MAX_RADIX);
    return;
  }
  uint64_t groups = inner == 1 ? 1 : outer, L = inner == 1 ? outer : inner;
  uint64_t stride = inner == 1 ? A : inner;
  bool trans = inner != 1;
  bool cplx = xc || out_cplx || job == BJ_FFT || job == BJ_COMPLEX;
  for (uint64_t o = 0; o < groups && !g->failed; o++)
    for (uint64_t r0 = 0; r0 < L && !g->failed;) {
      uint64_t k;
      int bank;
      /* a write-back store of rows that are not a power of two: one row per
       * engine, in a region of the store's pitch */
      bool pitched = wb && P != A;
      uint64_t baddr = be_region(g, pitched ? P : A, cplx, &k, &bank);
      uint64_t ne = umin((uint64_t)g->c->p_be, L - r0);
      /* a write-back store's first tile on one engine per lane: its load
       * and store (the same lane time per row) start the store queue
       * sooner after the pass's barrier; where the lanes, not the output
       * stream, bound the store (P_be w <= wb_share bw_out: not the Zynq), and
       * not with two waves or fewer (the next op's first wave would wait
       * for a second tile) */
      uint64_t lanes = (uint64_t)fab_fpga_wb_lanes(g->c);
      bool lane_bound = ne * (uint64_t)fab_fpga_elem_bits(g->c) <= (uint64_t)g->c->wb_share * g->c->bw_out;
      k = pitched ? 1 : tile_rows(k, L, ne);
      if (wb && r0 == 0 && k == 1 && L > 2 * ne && lanes < ne && lane_bound) ne = lanes;
      uint64_t t = umin(ne * k, L - r0), nrows = (t + ne - 1) / ne;
      uint64_t eoff = trans ? o * A * inner + r0 : r0 * A;
      be_dma(g, FAB_I_LD, x + eoff * (xc ? 2 : 1), stride, trans, t, A, ne, baddr, xc, brev || job == BJ_BITREV, bank);
      if (job == BJ_COMPLEX) {
        /* clear the imaginary parts: pairs of words (regions are even) */
        uint64_t span = nrows * A;
        be_pass(g, FAB_I_ZERO, ne, 1, (span + 1) / 2, baddr, 0, 0, false, false, 0, 1, -1, 0);
      }
      if (job == BJ_FFT) {
        /* runs of consecutive stages (log2 m = l + 1) */
        for (int i = 0; i < nstages && !g->failed;) {
          int l0 = (int)stages[i] - 1, cnt = 1;
          while (i + cnt < nstages && stages[i + cnt] == stages[i + cnt - 1] + 1 && cnt < 15) cnt++;
          if (l0 < 0 || l0 + cnt - 1 >= ilog2(A / Q) || (A / Q) & (A / Q - 1)) {
            fpga_cg_error(g, "fft stage of size 2^%lld outside the axis length %llu", (long long)stages[i],
                     (unsigned long long)A);
            return;
          }
          /* the Q groups of 2^k of each line, one after the other */
          be_pass(g, FAB_I_FFT, ne, ilog2(A / Q), nrows * Q, baddr, l0, cnt, true, i == 0 && !xc, 0, 0, -1, 0);
          i += cnt;
        }
        fpga_cg_fftq(g, ne, nrows, baddr, A, rq, nstages == 0 && !xc);
      }
      /* through the write-back units: bank A holds the real parts */
      if (wb) fpga_cg_stp(g, wb, r0, 0, t, ilog2(P), ne, baddr, 0, false);
      else be_dma(g, FAB_I_ST, out + eoff * (out_cplx ? 2 : 1), stride, trans, t, A, ne, baddr, out_cplx, false, bank);
      r0 += t;
    }
}

void fpga_cg_fft_rows(fpga_cg *g, uint64_t rows, uint64_t m, bool cplx_in, uint64_t x, uint64_t out) {
  fab_type t = {.dtype = cplx_in ? FAB_C64 : FAB_F32, .rank = 2, .dims = {(int64_t)rows, (int64_t)m}};
  int64_t stages[16];
  int n = ilog2(m);
  for (int i = 0; i < n && i < 16; i++) stages[i] = i + 1;
  be_lines(g, BJ_FFT, &t, 1, x, out, true, stages, n, NULL, true, NULL);
}

/* The twiddles of a bfly.stages op: tw[S, B, TL, n/2, 2, 2] at word `tw`,
 * its stage triples `st`. */
typedef struct coefs {
  uint64_t tw, B, TL, n;
  const int64_t *st;
} coefs;

/* Loads the coefficients of stages [i0, i0 + cnt) of stack s into the
 * coefficient buffer at cb: per stage 2 rows of n words. */
static void load_coefs(fpga_cg *g, const coefs *cf, uint64_t s, int i0, int cnt, uint64_t cb) {
  uint64_t n = cf->n;
  for (int k = 0; k < cnt && !g->failed; k++) {
    const int64_t *t = &cf->st[3 * (i0 + k)];
    uint64_t src = cf->tw + ((s * cf->B + (uint64_t)t[0]) * cf->TL + (uint64_t)t[1]) * 2 * n;
    uint64_t dst = cb + (uint64_t)k * 2 * n;
    if (!fpga_cg_dma_fits(g, src, n, 2, n)) return;
    cg_acc a[2] = {{SP_EXT, false, src, src + 2 * n}, {SP_CB, true, dst, dst + 2 * n}};
    fpga_cg_emit(g, fpga_cg_dma_insn(FAB_I_LD, FAB_BUF_CB, src, n, false, 2, n, dst), 2, a);
  }
}

/* A bfly and its post-processing, compiled at op `end`, the end of its
 * write-back chain (fpga.wb; codegen_wb.c); -1: a plain bfly. */
static bool gen_bfly_io(fpga_cg *g, const fab_op *op, int end);
static bool gen_lines_io(fpga_cg *g, const fab_op *op, int end);

static int pair_end(fpga_cg *g, int b1, int e1);
static bool gen_ffn_pair(fpga_cg *g, int b1, int e1, int b2, int e2);

static bool gen_bfly_wb(fpga_cg *g, const fab_op *e) {
  fpga_cg_define(g, e);
  int b = fpga_cg_wb_bfly(g, g->cur);
  if (b < 0) {
    fpga_cg_error(g, "fpga.wb without a butterfly (rerun fpga-absorb)");
    return false;
  }
  /* fc1 of an FFN pair: emitted with its fc2 (gen_ffn_pair) */
  int e2 = pair_end(g, b, g->cur);
  if (e2 >= 0) {
    g->pair_b1 = b + 1, g->pair_e1 = g->cur + 1, g->pair_e2 = e2 + 1;
    return true;
  }
  if (g->pair_e2 == g->cur + 1) {
    int b1 = g->pair_b1 - 1, e1 = g->pair_e1 - 1;
    g->pair_b1 = g->pair_e1 = g->pair_e2 = 0;
    return gen_ffn_pair(g, b1, e1, b, g->cur);
  }
  /* the instructions belong to the butterfly (per-layer reports) */
  int at = g->cur;
  g->cur = b;
  bool ok = g->f->ops[b].code == FAB_OP_FFT_STAGES ? gen_lines_io(g, &g->f->ops[b], at)
                                                    : gen_bfly_io(g, &g->f->ops[b], at);
  g->cur = at;
  return ok;
}

static bool gen_bfly(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  return gen_bfly_io(g, op, -1);
}

/* Coefficient-buffer slots of an FFN pair: a pass's coefficients load
 * while the two passes before it compute, so fc2's longer loads (more
 * words per stage) catch up behind fc1's shorter passes. */
#define CB_SLOTS 3

/* One butterfly op's compilation state (gen_bfly_io). */
typedef struct bfly_job {
  const int64_t *st; /* stage triples */
  coefs cf;
  bfly_io io;
  int runs[64][3], nruns; /* first triple, count, inc */
  uint64_t n, S, R, half;
  int L, nst;
  bool resident, all, stream;
  int pin;       /* >= 0: every tile in this bank, one row per engine, in slots of n words (ffn_pair) */
  unsigned slot; /* the pinned bank's next slot, round robin */
  unsigned *cbring; /* non-NULL: coefficients in CB_SLOTS slots of `half` words, round robin (ffn_pair) */
} bfly_job;

/* The coefficient-buffer address of the next pass (or resident stack). */
static uint64_t cb_next(fpga_cg *g, bfly_job *j) {
  if (j->cbring) return (*j->cbring)++ % CB_SLOTS * j->half;
  g->cb_half ^= 1;
  return g->cb_half ? j->half : 0;
}

/* Where stack s's passes find their coefficients when all of them fit at
 * once (j->resident): loaded here, once for the stack; else 0 (each pass
 * loads its own, bfly_passes). */
static uint64_t resident_coefs(fpga_cg *g, bfly_job *j, uint64_t s) {
  if (!j->resident) return 0;
  uint64_t cb = cb_next(g, j);
  load_coefs(g, &j->cf, s, 0, j->nst, cb);
  return cb;
}

/* A tile's rows of stack s into the engines at baddr (first: the column
 * chunk to load first). */
static void bfly_load(fpga_cg *g, const bfly_job *j, uint64_t s, uint64_t r0, uint64_t t, uint64_t ne, uint64_t baddr,
                      int bank, uint64_t first) {
  const bfly_io *io = &j->io;
  uint64_t ext = io->x + r0 * io->xstride + s * io->xstack;
  if (io->m < j->n) fpga_cg_ldp_tile(g, ext, io->xstride, t, io->m, j->L, ne, baddr, bank, first);
  else be_dma_tile(g, FAB_I_LD, ext, io->xstride, t, j->n, ne, baddr, bank, j->stream, first);
}

/* The stage runs of stack s on a tile at baddr; src >= 0: the first run
 * reads the rows at src out of place. */
static void bfly_passes(fpga_cg *g, bfly_job *j, uint64_t s, uint64_t ne, uint64_t nrows, uint64_t baddr, int bank,
                        uint64_t cbbase, int64_t src, int sbank) {
  uint64_t n = j->n;
  for (int ri = 0; ri < j->nruns; ri++) {
    int i0 = j->runs[ri][0], cnt = j->runs[ri][1];
    uint64_t cb = j->resident ? cbbase + (uint64_t)i0 * 2 * n : 0;
    if (!j->resident) {
      cb = cb_next(g, j);
      load_coefs(g, &j->cf, s, i0, cnt, cb);
    }
    be_pass(g, FAB_I_BFLY, ne, j->L, nrows, baddr, (int)j->st[3 * i0 + 2], cnt, j->runs[ri][2], false, cb, bank,
            ri == 0 ? src : -1, sbank);
  }
}

/* A tile's results of stack s leave: through the write-back chain or a plain store. */
static void bfly_store(fpga_cg *g, const bfly_job *j, uint64_t s, uint64_t r0, uint64_t t, uint64_t ne,
                       uint64_t baddr, int bank) {
  const bfly_io *io = &j->io;
  uint64_t n = j->n;
  if (io->fn >= 0) fpga_cg_stp(g, io, r0, s, t, j->L, ne, baddr, bank, j->stream);
  else be_dma_tile(g, FAB_I_ST, io->out + (r0 * j->S + s) * n, j->S * n, t, n, ne, baddr, bank, j->stream, 0);
}

/* Tiles of stack s from row r0 until row r1 (at least one tile): load,
 * the stage runs, store.  Returns the rows of the last tile. */
static uint64_t bfly_tiles(fpga_cg *g, bfly_job *j, uint64_t s, uint64_t r0, uint64_t r1) {
  uint64_t n = j->n, R = j->R, t = 0;
  const bfly_io *io = &j->io;
  uint64_t cbbase = resident_coefs(g, j, s);
  for (; r0 < r1 && !g->failed; r0 += t) {
    uint64_t k;
    int bank;
    uint64_t ne = umin((uint64_t)g->c->p_be, R - r0), baddr;
    if (j->pin >= 0) {
      bank = j->pin, k = 1;
      baddr = j->slot++ % ((uint64_t)fab_fpga_bank_words(g->c) / n) * n;
    } else {
      baddr = be_region(g, n, false, &k, &bank);
      if (j->resident) k = tile_rows(k, R, ne);
    }
    t = umin(ne * k, R - r0);
    uint64_t nrows = (t + ne - 1) / ne;
    /* pinned: the bank's previous tile is still being stored (its first
     * io->w columns, a truncated store): load the other chunks first */
    uint64_t first = j->pin == 0 && io->w < n ? (io->w + n / FPGA_STREAM_CHUNKS - 1) / (n / FPGA_STREAM_CHUNKS) : 0;
    bfly_load(g, j, s, r0, t, ne, baddr, bank, first);
    bfly_passes(g, j, s, ne, nrows, baddr, bank, cbbase, -1, 0);
    bfly_store(g, j, s, r0, t, ne, baddr, bank);
  }
  return t;
}

/* One wave (one row per engine, from row r0) of an FFN pair's fc1, pinned
 * to bank B whose slots hold S rows of n.  kept >= 0 (the first wave
 * only): the rows the previous op left at word `kept` of bank kbank
 * (kept_rows); every stack's first pass reads them out of place into the
 * next slots of bank B, which take the slots in turn as op after op; no
 * load.  Otherwise the wave's rows are loaded once, into slot p; stacks
 * 0..S-2 run their first pass out of place from it (bfly os) into slots
 * p+1.., and stack S-1 in place on it, last.  The next wave's rows go
 * into slot p+1, the first slot whose store is done.  Op after op, every
 * stack loaded the same rows again (FABNet-Large's fc1 at seq 128 on
 * vcu128-be120: eight 1,024-cycle loads per layer instead of two, the
 * load queue then fc2's bound). */
static void fc1_wave(fpga_cg *g, bfly_job *j, uint64_t r0, int64_t kept, int kbank) {
  uint64_t n = j->n, nslot = (uint64_t)fab_fpga_bank_words(g->c) / n, p = 0, src = (uint64_t)kept;
  uint64_t ne = umin((uint64_t)g->c->p_be, j->R - r0);
  bool load = kept < 0;
  if (load) {
    p = j->slot++ % nslot, src = p * n, kbank = j->pin;
    bfly_load(g, j, 0, r0, ne, ne, src, j->pin, 0);
  }
  for (uint64_t s = 0; s < j->S && !g->failed; s++) {
    bool in_place = load && s + 1 == j->S;
    uint64_t baddr = in_place ? src : load ? (p + 1 + s) % nslot * n : j->slot++ % nslot * n;
    uint64_t cbbase = resident_coefs(g, j, s);
    bfly_passes(g, j, s, ne, 1, baddr, j->pin, cbbase, in_place ? -1 : (int64_t)src, kbank);
    bfly_store(g, j, s, r0, ne, ne, baddr, j->pin);
  }
}

/* Does reloading a stack's coefficients per tile keep up with the
 * compute?  2 n words per stage on the coefficient stream against
 * n / (2 P_bu) cycles per row and stage: 4 P_bu w <= bw_coef (the HBM
 * boards, not the Zynq). */
static bool coefs_keep_up(fpga_cg *g) {
  return 4 * (uint64_t)g->c->p_bu * (uint64_t)fab_fpga_elem_bits(g->c) <= (uint64_t)g->c->bw_coef;
}

/* The rows of bfly b: R rows of S stacks of n. */
static uint64_t bfly_rows(const fab_op *b, uint64_t *n, uint64_t *S) {
  const fab_type *t = &b->type;
  *n = (uint64_t)t->dims[t->rank - 1];
  *S = t->rank >= 2 ? (uint64_t)t->dims[t->rank - 2] : 1;
  return (uint64_t)cg_numel(t) / (*n * *S);
}

/* Checks bfly op's form and fills its job (loading the write-back
 * parameters of the chain ending at `end`); false after fpga_cg_error. */
static bool bfly_setup(fpga_cg *g, const fab_op *op, int end, unsigned *cbring, bfly_job *jp) {
  const fab_type *tt = ty(g, op->operands[1]);
  uint64_t n, S, R = bfly_rows(op, &n, &S), W = (uint64_t)fab_fpga_bank_words(g->c);
  if ((n & (n - 1)) || n < 2) {
    fpga_cg_error(g, "butterfly length %llu is not a power of two", (unsigned long long)n);
    return false;
  }
  if (n > W) {
    fpga_cg_error(g, "butterfly length %llu does not fit the %llu-word engine buffer (a configuration with "
                     "larger engine banks runs it)",
                  (unsigned long long)n, (unsigned long long)W);
    return false;
  }
  const fab_attr *sa = fab_op_attr(op, "stages");
  if (!sa || sa->nints % 3 || tt->rank != 6) {
    fpga_cg_error(g, "malformed stages");
    return false;
  }
  int L = ilog2(n), ntr = sa->nints / 3;
  uint64_t B = (uint64_t)tt->dims[1], TL = (uint64_t)tt->dims[2];
  bfly_job j = {.st = sa->ints, .cf = {addr(g, op->operands[1]), B, TL, n, sa->ints}, .n = n, .S = S, .R = R,
                .half = cbring ? (uint64_t)g->c->cb_depth / CB_SLOTS & ~(uint64_t)255 : (uint64_t)g->c->cb_depth / 2, .L = L, .nst = ntr, .pin = -1,
                .cbring = cbring};
  /* a folded stack: every stack reads the same unstacked rows */
  if (!fpga_cg_bfly_io(g, op, end, n, S, &j.io)) return false;
  /* runs: consecutive stages whose log stride moves by +1 or -1 */
  for (int i = 0; i < ntr;) {
    int cnt = 1, inc = 1;
    if (i + 1 < ntr) inc = sa->ints[3 * (i + 1) + 2] == sa->ints[3 * i + 2] + 1;
    while (i + cnt < ntr && cnt < 15 && (uint64_t)(cnt + 1) * 2 * n <= j.half &&
           sa->ints[3 * (i + cnt) + 2] == sa->ints[3 * (i + cnt - 1) + 2] + (inc ? 1 : -1))
      cnt++;
    for (int k = 0; k < cnt; k++) {
      int64_t b = sa->ints[3 * (i + k)], kk = sa->ints[3 * (i + k) + 1], l = sa->ints[3 * (i + k) + 2];
      if (b < 0 || (uint64_t)b >= B || kk < 0 || (uint64_t)kk >= TL || l < 0 || l >= L) {
        fpga_cg_error(g, "stage (%lld, %lld, %lld) out of range", (long long)b, (long long)kk, (long long)l);
        return false;
      }
    }
    if (j.nruns == 64) {
      fpga_cg_error(g, "too many stage runs");
      return false;
    }
    j.runs[j.nruns][0] = i, j.runs[j.nruns][1] = cnt, j.runs[j.nruns][2] = inc;
    j.nruns++;
    i += cnt;
  }
  j.resident = (uint64_t)ntr * 2 * n <= j.half; /* all coefficients of a stack at once */
  /* Tile-major: the stacks of a tile one after another, so the tile's
   * rows are complete (every stack stored) as early as possible and the
   * next op's first tile follows this op's first tile, not its last
   * stack.  Where the stores go through the write-back lanes (slower than
   * the compute: fc1's bias + GELU) and reloading a stack's coefficients
   * per tile keeps up with the compute (coefs_keep_up). */
  j.all = S > 1 && j.resident && j.io.fn >= 0 && coefs_keep_up(g);
  /* the authors' model for comparison (stages counted as a fraction of a layer) */
  g->p->model_cycles += fab_fpga_model_bfly_layer(g->c, R, n, S) * (uint64_t)ntr / (uint64_t)L;
  /* a bank is loaded again within the op: stream its stores (be_dma_tile) */
  j.stream = S * ((R + (uint64_t)g->c->p_be - 1) / (uint64_t)g->c->p_be) > 2;
  *jp = j;
  return !g->failed;
}

/* The tiles of a set-up job, op after op. */
static bool bfly_emit(fpga_cg *g, bfly_job *jp) {
  bfly_job j = *jp;
  if (!j.all)
    for (uint64_t s = 0; s < j.S && !g->failed; s++) bfly_tiles(g, &j, s, 0, j.R);
  for (uint64_t r0 = 0, t = 0; j.all && r0 < j.R && !g->failed; r0 += t)
    for (uint64_t s = 0; s < j.S && !g->failed; s++) t = bfly_tiles(g, &j, s, r0, r0 + 1);
  return !g->failed;
}

static bool gen_bfly_io(fpga_cg *g, const fab_op *op, int end) {
  bfly_job j;
  return bfly_setup(g, op, end, NULL, &j) && bfly_emit(g, &j);
}

/* ---- an FFN's two butterflies, wave by wave ----------------------------------------------
 * fc1's stores go through the write-back lanes (bias + GELU), slower than
 * its compute (one lane per two engines), while fc2's leave the store
 * queue idle a third of its compute.  Emitted op after op, fc2 waits for
 * fc1's last store.  Wave by wave (a wave: one row per engine), fc1 of
 * wave w+1 runs in bank B (its slots in turn) while fc2 of wave w holds
 * bank A, so fc1's lane time hides under fc2's compute; the coefficient
 * buffer's ping-pong halves serve both (each pass's stages fit a half).
 * The pair is found at fc1's chain end and emitted at fc2's: every op in
 * between is a weight, a reshape or folded (none emits instructions). */

/* The value bfly b reads: its rows' source (fpga_cg_bfly_src), through
 * reshapes (a reshape of fc1's result, planned in place). */
static int pair_source(fpga_cg *g, int b) {
  int v = fpga_cg_bfly_src(g, &g->f->ops[b], NULL, NULL);
  while (g->f->ops[v].code == FAB_OP_RESHAPE) v = g->f->ops[v].operands[0];
  return v;
}

/* The chain end of the fc2 that pairs with fc1 = bfly b1 ending at e1, or
 * -1: the next op that emits anything ends a write-back chain from a
 * butterfly of one stack reading e1, with as many rows, more than one
 * wave of them, fc1's stacks (two or more) fit one bank and fc2's rows
 * more than half of one. */
static int pair_end(fpga_cg *g, int b1, int e1) {
  const fab_func *f = g->f;
  int e2 = e1 + 1;
  while (e2 < f->nops && (f->ops[e2].code == FAB_OP_WEIGHT || f->ops[e2].code == FAB_OP_RESHAPE ||
                          fab_fpga_folded(&f->ops[e2])))
    e2++;
  if (e2 >= f->nops || !fab_fpga_wb_end(&f->ops[e2])) return -1;
  int b2 = fpga_cg_wb_bfly(g, e2);
  if (b2 < 0 || f->ops[b1].code != FAB_OP_BFLY_STAGES || f->ops[b2].code != FAB_OP_BFLY_STAGES ||
      pair_source(g, b2) != e1)
    return -1;
  uint64_t n1, S1, n2, S2, R = bfly_rows(&f->ops[b1], &n1, &S1), W = (uint64_t)fab_fpga_bank_words(g->c);
  uint64_t pbe = (uint64_t)g->c->p_be;
  if (bfly_rows(&f->ops[b2], &n2, &S2) != R || S1 < 2 || S2 != 1 || R <= pbe || S1 * n1 > W || n2 > W) return -1;
  /* fc2's rows fill more than half a bank: op after op its tiles have
   * only banks A and B (shorter rows cycle through four regions) */
  if (2 * n2 <= W) return -1;
  /* fc1 runs tile-major (bfly_setup's j.all): stores through the lanes, coefficients reloaded per tile */
  if (!coefs_keep_up(g)) return -1;
  return e2;
}

/* The rows of fc1's wave from r0 (ne rows, one per engine) as the
 * instructions before it left them in the banks: the latest stp that
 * stored exactly them (whole rows, one per engine: the Fourier mix's last
 * pass with LN1), with no later write to its bank region or to the rows
 * off chip.  That stp is made to keep its results (stp keep) and their
 * word address returned, the bank in *bank; -1 if there is none. */
static int64_t kept_rows(fpga_cg *g, const bfly_job *j, uint64_t r0, uint64_t ne, int *bank) {
  const bfly_io *io = &j->io;
  uint64_t ext = io->x + r0 * io->xstride, ehi = ext + (ne - 1) * io->xstride + j->n;
  if (io->m != j->n || io->xstack != 0) return -1;
  size_t k = g->n, seen = 0;
  cg_insn *st = NULL;
  while (!st && k-- > 0 && seen++ < CG_WINDOW) { /* the latest writer of the rows off chip */
    cg_insn *ci = &g->ins[k];
    for (int a = 0; a < ci->nacc && !st; a++) {
      const cg_acc *x = &ci->acc[a];
      if (x->write && x->space == SP_EXT && x->lo < ehi && ext < x->hi) st = ci;
    }
  }
  if (!st) return -1;
  const uint64_t *f = st->in.f;
  uint64_t lo = f[FAB_F_EWB_ADDR], hi = lo + j->n;
  int sp = SP_BEA + (int)f[FAB_F_EWB_BANK];
  /* in fc1's own bank its stacks' output slots would take the rows in turn */
  if ((int)f[FAB_F_EWB_BANK] == j->pin) return -1;
  if (st->in.op != FAB_I_STP || f[FAB_F_EWB_EXT] != ext || f[FAB_F_EWB_STRIDE] != io->xstride ||
      f[FAB_F_EWB_ROWS] != ne || f[FAB_F_EWB_NE] != ne || f[FAB_F_EWB_LEN] != j->n || st->acc[0].space != sp)
    return -1;
  for (size_t i = k + 1; i < g->n; i++) /* nothing wrote its bank region since */
    for (int a = 0; a < g->ins[i].nacc; a++) {
      const cg_acc *x = &g->ins[i].acc[a];
      if (x->write && x->space == sp && x->lo < hi && lo < x->hi) return -1;
    }
  FAB_SET(&st->in, EWB_KEEP, 1);
  st->acc[0].write = true;
  *bank = (int)f[FAB_F_EWB_BANK];
  return (int64_t)lo;
}

/* Does fc1 load each wave once (fc1_wave)?  Its stacks read the same rows
 * (a folded stack) and fill at most bank B, and a stack's store keeps up
 * with a stack's compute: a wave then needs two free slots (its rows and
 * its first stack's results) where op after op it needed one, which costs
 * where the write-back lanes bound fc1 (vcu128-be120 with a lane per two
 * engines: FABNet-Large seq 128 36,723 -> 36,979 cycles per layer). */
static bool fc1_shares_load(fpga_cg *g, const bfly_job *j) {
  uint64_t pbe = (uint64_t)g->c->p_be;
  if (j->io.xstack != 0 || j->io.fn < 0 || j->S * j->n > (uint64_t)fab_fpga_bank_words(g->c)) return false;
  fab_fpga_insn st = fab_fpga_insn_make(FAB_I_STP), b = fab_fpga_insn_make(FAB_I_BFLY);
  FAB_SET(&st, EWB_FN, (uint64_t)j->io.fn);
  FAB_SET(&st, EWB_NE, pbe);
  FAB_SET(&st, EWB_LP, (uint64_t)j->L);
  FAB_SET(&st, EWB_LEN, j->io.w);
  FAB_SET(&st, EWB_ROWS, pbe);
  FAB_SET(&b, BE_NE, pbe);
  FAB_SET(&b, BE_LOGN, (uint64_t)j->L);
  FAB_SET(&b, BE_NROWS, 1);
  FAB_SET(&b, BE_NST, (uint64_t)j->nst);
  return fab_fpga_insn_cycles(g->c, &st) <= fab_fpga_insn_cycles(g->c, &b);
}

static bool gen_ffn_pair(fpga_cg *g, int b1, int e1, int b2, int e2) {
  bfly_job j1, j2;
  int at = g->cur;
  g->cur = b1;
  unsigned ring = 0;
  bool ok = bfly_setup(g, &g->f->ops[b1], e1, &ring, &j1);
  g->cur = b2;
  ok = ok && bfly_setup(g, &g->f->ops[b2], e2, &ring, &j2);
  if (ok && !j1.all) { /* fc1's stack coefficients do not fit a slot: op after op */
    g->cur = b1;
    ok = bfly_emit(g, &j1);
    g->cur = b2;
    ok = ok && bfly_emit(g, &j2);
    g->cur = at;
    return ok;
  }
  uint64_t pbe = (uint64_t)g->c->p_be, waves = (j1.R + pbe - 1) / pbe;
  j1.pin = 1, j2.pin = 0;
  bool share = fc1_shares_load(g, &j1);
  j2.stream = true; /* bank A is loaded again every wave */
  for (uint64_t w = 0; ok && w <= waves && !g->failed; w++) {
    g->cur = b1;
    int kbank = 0;
    int64_t kept = w == 0 ? kept_rows(g, &j1, 0, umin(pbe, j1.R), &kbank) : -1;
    if (kept >= 0 || (w < waves && share)) fc1_wave(g, &j1, w * pbe, kept, kbank);
    for (uint64_t s = 0; w < waves && kept < 0 && !share && s < j1.S && !g->failed; s++)
      bfly_tiles(g, &j1, s, w * pbe, w * pbe + 1);
    g->cur = b2;
    /* fc1 is done before fc2's last wave, which takes bank B */
    j2.pin = w == waves;
    if (w) bfly_tiles(g, &j2, 0, (w - 1) * pbe, (w - 1) * pbe + 1);
  }
  g->cur = at;
  return ok && !g->failed;
}

/* A line op; `end` >= 0: fft.stages stored through the write-back chain
 * ending there (fpga.wb; the op itself is folded and has no memory). */
static bool gen_lines_io(fpga_cg *g, const fab_op *op, int end) {
  const fab_type *xt = ty(g, op->operands[0]);
  uint64_t x = addr(g, op->operands[0]), out = end >= 0 ? 0 : addr(g, g->cur);
  bool oc = op->type.dtype == FAB_C64;
  switch (op->code) {
  case FAB_OP_BITREV: {
    int a = norm_axis(xt, fab_op_int(op, "axis", -1));
    if (fpga_cg_digits_ok(g, op, (uint64_t)xt->dims[a]))
      be_lines(g, BJ_BITREV, xt, a, x, out, oc, NULL, 0, NULL, false, NULL);
    break;
  }
  case FAB_OP_COMPLEX: be_lines(g, BJ_COMPLEX, xt, xt->rank - 1, x, out, true, NULL, 0, NULL, false, NULL); break;
  case FAB_OP_REAL: be_lines(g, BJ_REAL, xt, xt->rank - 1, x, out, false, NULL, 0, NULL, false, NULL); break;
  case FAB_OP_FFT_STAGES: {
    const fab_attr *sa = fab_op_attr(op, "stages");
    int a = norm_axis(xt, fab_op_int(op, "axis", -1));
    /* fold a bit reversal (done by the load's address generator) and a
     * real-to-complex conversion (bank B cleared by the first stage) */
    bool brev = false;
    int src = op->operands[0];
    if (!fpga_cg_fft_plan_ok(g, op, (uint64_t)xt->dims[a])) return false;
    if (fpga_cg_folded_in(g, src, FAB_OP_BITREV)) {
      if (!fpga_cg_digits_ok(g, &g->f->ops[src], (uint64_t)xt->dims[a])) return false;
      brev = true;
      src = g->f->ops[src].operands[0];
    }
    if (fpga_cg_folded_in(g, src, FAB_OP_COMPLEX)) src = g->f->ops[src].operands[0];
    xt = ty(g, src);
    x = addr(g, src);
    uint64_t outer, A, inner;
    around(xt, a, &outer, &A, &inner);
    /* the authors' model charges an axis once: the share of its stages this op runs */
    const fab_attr *rq = fab_op_attr(op, "radix");
    uint64_t nq = rq ? (uint64_t)rq->nints : 0, all = (uint64_t)ilog2(A / fpga_cg_radix_product(rq)) + nq;
    if (sa && sa->nints + nq)
      g->p->model_cycles += fab_fpga_model_fft_axis(g->c, outer, A, inner, xt->dtype != FAB_C64, !oc) *
                            ((uint64_t)sa->nints + nq) / (all ? all : 1);
    bfly_io io;
    if (end >= 0 && (oc || inner != 1)) {
      fpga_cg_error(g, "a write-back chain after fft.stages needs real rows along the last axis (rerun fpga-absorb)");
      return false;
    }
    if (end >= 0 && !fpga_cg_fft_wb_io(g, (int)(op - g->f->ops), end, A, &io)) return false;
    be_lines(g, BJ_FFT, xt, a, x, out, oc, sa ? sa->ints : NULL, sa ? sa->nints : 0, rq, brev, end >= 0 ? &io : NULL);
    break;
  }
  default: fpga_cg_error(g, "unexpected op");
  }
  return !g->failed;
}

static bool gen_lines(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  return gen_lines_io(g, op, -1);
}

_Static_assert(FAB_OP_LACKS(FAB_IMPL_FPGA, BFLY_LINEAR) && FAB_OP_LACKS(FAB_IMPL_FPGA, FOURIER_MIX) &&
                   FAB_OP_LACKS(FAB_IMPL_FPGA, MHA) && FAB_OP_LACKS(FAB_IMPL_FPGA, FFT_CHIRP),
               "fpga_cg_op has no mapping for an op that ir/op_targets.def marks FAB_IMPL_FPGA");

bool fpga_cg_op(fpga_cg *g, const fab_op *op) {
  switch (op->code) {
  case FAB_OP_INPUT: return fpga_cg_gen_source(g, op, FAB_FT_INPUT);
  case FAB_OP_WEIGHT: return fpga_cg_gen_source(g, op, FAB_FT_WEIGHT);
  case FAB_OP_OUTPUT: {
    const fab_op *v = &g->f->ops[op->operands[0]];
    const char *name = fab_op_str(op, "name", "output");
    if (fab_fpga_program_add_tensor(g->p, name, FAB_FT_OUTPUT, v->type.dtype == FAB_I32 ? FAB_FD_I32
                                    : v->type.dtype == FAB_C64 ? FAB_FD_C64 : FAB_FD_F32,
                                    v->type.rank, v->type.dims, addr(g, op->operands[0]))) {
      fpga_cg_error(g, "bad output");
      return false;
    }
    return true;
  }
  case FAB_OP_CONST: return fpga_cg_gen_const(g, op);
  case FAB_OP_ADD:
    if (fab_fpga_wb_end(op)) return gen_bfly_wb(g, op);
    /* fall through */
  case FAB_OP_MUL:
  case FAB_OP_RELU:
  case FAB_OP_GELU:
  case FAB_OP_BIAS_GELU:
    if (fab_fpga_wb_end(op)) return gen_bfly_wb(g, op);
    /* fall through */
  case FAB_OP_SCALE:
  case FAB_OP_SOFTMAX:
  case FAB_OP_LAYERNORM:
  case FAB_OP_ADD_LAYERNORM: return fab_fpga_wb_end(op) ? gen_bfly_wb(g, op) : fpga_cg_gen_elementwise(g, op);
  case FAB_OP_RESHAPE:
  case FAB_OP_SLICE:
  case FAB_OP_PAD:
  case FAB_OP_TAKE:
  case FAB_OP_STACK:
  case FAB_OP_TRANSPOSE:
    /* a head merge the attention before it writes directly */
    if (fpga_cg_folded_in(g, op->operands[0], FAB_OP_ATTENTION))
      return fpga_cg_gen_attention(g, &g->f->ops[op->operands[0]]);
    return fpga_cg_gen_move(g, op);
  case FAB_OP_BFLY_STAGES: return gen_bfly(g, op);
  case FAB_OP_BITREV:
  case FAB_OP_COMPLEX:
  case FAB_OP_REAL:
  case FAB_OP_FFT_STAGES: return gen_lines(g, op);
  case FAB_OP_MATMUL:
  case FAB_OP_DENSE: return fpga_cg_gen_matmul(g, op);
  case FAB_OP_ATTENTION: return fpga_cg_gen_attention(g, op);
  case FAB_OP_EMBED: return fpga_cg_gen_embed(g, op);
  case FAB_OP_MEANPOOL: return fpga_cg_gen_meanpool(g, op);
  case FAB_OP_DFT: return fpga_cg_gen_dft(g, op);
  /* no FAB_IMPL_FPGA: rejected by fab_check_target_support beforehand */
  case FAB_OP_BFLY_LINEAR: case FAB_OP_FOURIER_MIX: case FAB_OP_MHA: case FAB_OP_FFT_CHIRP:
  case FAB_OP_COUNT: break;
  } /* names every op (-Wswitch): a new op must be placed */
  fpga_cg_error(g, "no accelerator mapping for this op");
  return false;
}
