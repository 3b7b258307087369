/* codegen_wb.c — the engines' write-back (fpga-absorb's fpga.wb chains):
 * a butterfly's zero-filling loads (a folded pad), and its results stored
 * through the write-back lanes (bias, GELU, truncation, residual + layer
 * norm): the chain's form, the parameter-buffer loads, ldp, wbp and stp
 * (docs/fpga.md §1, docs/isa.md). */
#include "codegen_internal.h"

#include <string.h>


/* The folded operand of op v through which a write-back chain arrives. */
static int wb_pred(fpga_cg *g, int v) {
  const fab_op *op = &g->f->ops[v];
  for (int k = 0; k < op->noperands && k < 2; k++)
    if (fab_fpga_folded(&g->f->ops[op->operands[k]])) return op->operands[k];
  return -1;
}

/* Loads `words` words at ext into the parameter buffer at pb. */
static void pb_load(fpga_cg *g, uint64_t ext, uint64_t words, uint64_t pb) {
  for (uint64_t o = 0; o < words && !g->failed; o += 4096) {
    uint64_t len = umin(4096, words - o);
    if (!fpga_cg_dma_fits(g, ext + o, len, 1, len)) return;
    cg_acc a[2] = {{SP_EXT, false, ext + o, ext + o + len}, {SP_PB, true, pb + o, pb + o + len}};
    fpga_cg_emit(g, fpga_cg_dma_insn(FAB_I_LD, FAB_BUF_PB, ext + o, len, false, 1, len, pb + o), 2, a);
  }
}

/* The write-back chain from bfly `b` to `end` (fpga-absorb checked its
 * form): the stored width, function and operands; loads the parameters. */
static bool wb_chain_io(fpga_cg *g, int b, int end, uint64_t S, bfly_io *io) {
  int chain[16], k = 0;
  for (int v = end; v != b; v = wb_pred(g, v)) {
    if (v < 0 || k == 16) {
      fpga_cg_error(g, "malformed write-back chain");
      return false;
    }
    chain[k++] = v;
  }
  bool gelu = false, tanh_ = false;
  for (int i = k - 1; i >= 0; i--) {
    const fab_op *u = &g->f->ops[chain[i]];
    int prev = i + 1 < k ? chain[i + 1] : b;
    switch (u->code) {
    case FAB_OP_SLICE: io->w = (uint64_t)fab_op_int(u, "size", 0); break;
    case FAB_OP_BIAS_GELU:
      gelu = true;
      tanh_ = !strcmp(fab_op_str(u, "approx", "erf"), "tanh");
      /* fall through */
    case FAB_OP_ADD: io->bias = (int64_t)addr(g, u->operands[1]); break;
    case FAB_OP_ADD_LAYERNORM:
      io->res = (int64_t)addr(g, u->operands[u->operands[0] == prev ? 1 : 0]);
      io->gamma = (int64_t)addr(g, u->operands[2]);
      io->beta = (int64_t)addr(g, u->operands[3]);
      io->eps = (float)fab_op_float(u, "eps", 1e-5);
      break;
    default: break; /* reshapes keep the rows */
    }
  }
  io->fn = io->res >= 0 ? (io->bias >= 0 ? FAB_WB_BRLN : FAB_WB_RLN)
           : gelu       ? (tanh_ ? FAB_WB_BGELUT : FAB_WB_BGELU)
                        : FAB_WB_BIAS;
  io->out = addr(g, end);
  io->ostride = S * io->w;
  io->ostack = io->w;
  uint64_t half = (uint64_t)fab_fpga_pb_words(g->c) / 2, row = S * io->w;
  if ((io->res >= 0 ? 3 : 1) * row > half || io->w > 8191) {
    fpga_cg_error(g, "rows of %llu elements exceed the write-back parameter buffer", (unsigned long long)row);
    return false;
  }
  io->pb = g->pb_half++ % 2 ? half : 0;
  if (io->bias >= 0) pb_load(g, (uint64_t)io->bias, row, io->pb);
  if (io->res >= 0) {
    pb_load(g, (uint64_t)io->gamma, row, io->pb + row);
    pb_load(g, (uint64_t)io->beta, row, io->pb + 2 * row);
  }
  return !g->failed;
}

/* An ldp or stp: t rows of m elements between off-chip (ext, stride) and
 * engine rows of pitch 2^L from baddr of `bank`, on ne engines. */
static fab_fpga_insn ewb_insn(fab_fpga_opcode opc, uint64_t ext, uint64_t stride, uint64_t t, uint64_t m, int L,
                              uint64_t ne, uint64_t baddr, int bank) {
  fab_fpga_insn in = fab_fpga_insn_make(opc);
  FAB_SET(&in, EWB_NE, ne);
  FAB_SET(&in, EWB_LP, L);
  FAB_SET(&in, EWB_LEN, m);
  FAB_SET(&in, EWB_ROWS, t);
  FAB_SET(&in, EWB_ADDR, baddr);
  FAB_SET(&in, EWB_BANK, bank);
  FAB_SET(&in, EWB_EXT, ext);
  FAB_SET(&in, EWB_STRIDE, stride);
  return in;
}

/* ldp: t rows of m elements into engine rows of pitch n, zeros after m. */
void fpga_cg_ldp(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t t, uint64_t m, int L, uint64_t ne,
                   uint64_t baddr, int bank) {
  if (g->failed || !fpga_cg_dma_fits(g, ext, stride, t, m)) return;
  fab_fpga_insn in = ewb_insn(FAB_I_LDP, ext, stride, t, m, L, ne, baddr, bank);
  uint64_t hi = baddr + ((t + ne - 1) / ne << L);
  cg_acc a[2] = {{SP_EXT, false, ext, ext + (t - 1) * stride + m}, {SP_BEA + bank, true, baddr, hi}};
  fpga_cg_emit(g, in, 2, a);
  if (t > 1) fpga_cg_cols(g, 0, stride, m);
}

/* A tile's zero-filling load of bank-filling rows (one row per engine)
 * in FPGA_STREAM_CHUNKS column chunks, the last one with the zero fill:
 * each chunk waits only for the stores of its own columns (the producer's
 * stacks, or its column chunks), so the load follows them instead of
 * waiting for the last.  Other tiles: one ldp. */
void fpga_cg_ldp_tile(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t t, uint64_t m, int L, uint64_t ne,
                      uint64_t baddr, int bank, uint64_t first) {
  uint64_t n = 1ull << L, c = n / FPGA_STREAM_CHUNKS, k = c ? (m + c - 1) / c : 0;
  uint64_t last = k ? (k - 1) * c : 0, pitch = n - last;
  if (fpga_stream_chunks(g, true, t, ne, n, n) == 1 || k < 2 || (pitch & (pitch - 1))) {
    fpga_cg_ldp(g, ext, stride, t, m, L, ne, baddr, bank);
    return;
  }
  for (uint64_t r = 0; r < k; r++) {
    uint64_t i = (r + first) % k;
    if (i + 1 < k) fpga_cg_ldp(g, ext + i * c, stride, t, c, ilog2(c), ne, baddr + i * c, bank);
    else fpga_cg_ldp(g, ext + last, stride, t, m - last, ilog2(pitch), ne, baddr + last, bank);
  }
}

/* wbp + stp of columns [c0, c0 + m) of the tile's t rows (from row r0,
 * stack s) through the write-back units into off-chip memory. */
static void stp_cols(fpga_cg *g, const bfly_io *io, uint64_t r0, uint64_t s, uint64_t t, int L, uint64_t ne,
                     uint64_t baddr, int bank, uint64_t c0, uint64_t m) {
  uint64_t ext = io->out + r0 * io->ostride + s * io->ostack + c0, w = io->w, row = io->ostride;
  if (g->failed || !fpga_cg_dma_fits(g, ext, io->ostride, t, m)) return;
  uint64_t res = io->res >= 0 ? (uint64_t)io->res + r0 * w : 0;
  fab_fpga_insn p = fab_fpga_insn_make(FAB_I_WBP);
  FAB_SET(&p, WBP_PB, io->pb + s * w + c0);
  FAB_SET(&p, WBP_GB, io->res >= 0 ? io->pb + row : 0);
  FAB_SET(&p, WBP_RES, res);
  FAB_SET(&p, WBP_RSTR, io->res >= 0 ? w : 0);
  FAB_SET(&p, WBP_EPS, fab_fpga_f32_bits(io->eps));
  cg_acc pa[1] = {{SP_WB, true, 0, 1}};
  fpga_cg_emit(g, p, 1, pa);
  fab_fpga_insn in = ewb_insn(FAB_I_STP, ext, io->ostride, t, m, L, ne, baddr + c0, bank);
  FAB_SET(&in, EWB_FN, io->fn);
  /* one row per engine: the chunk's columns are all it reads of the bank */
  uint64_t lo = baddr + c0, hi = t <= ne ? lo + m : baddr + ((t + ne - 1) / ne << L);
  uint64_t pbw = io->res >= 0 ? 3 * row : row;
  cg_acc a[5] = {{SP_BEA + bank, false, lo, hi},
                 {SP_EXT, true, ext, ext + (t - 1) * io->ostride + m},
                 {SP_WB, false, 0, 1},
                 {SP_PB, false, io->pb, io->pb + pbw},
                 {SP_EXT, false, res, res + t * w}};
  fpga_cg_emit(g, in, io->res >= 0 ? 5 : 4, a);
  if (t > 1) fpga_cg_cols(g, 1, io->ostride, m);
}

/* The tile's rows through the write-back units.  With `stream` (a bank
 * loaded again within the op), an elementwise function stores in column
 * chunks as be_dma_tile does; a function with the residual and layer norm
 * needs whole rows.  A chunk has one row per engine (its only slot is 0,
 * so the pitch moves nothing) and takes the pitch of its own columns, as
 * fpga_cg_ldp_tile's chunks do: at the rows' pitch 2^L, which fills the
 * bank, a chunk after the first would reach past the bank's end. */
void fpga_cg_stp(fpga_cg *g, const bfly_io *io, uint64_t r0, uint64_t s, uint64_t t, int L, uint64_t ne,
                 uint64_t baddr, int bank, bool stream) {
  uint64_t chunks = fpga_stream_chunks(g, stream && !fab_fpga_wbfn_residual[io->fn], t, ne, 1ull << L, io->w);
  uint64_t m = io->w / chunks;
  int lp = chunks > 1 ? ilog2(m) : L;
  for (uint64_t c = 0; c < chunks; c++) stp_cols(g, io, r0, s, t, lp, ne, baddr, bank, c * m, m);
}

int fpga_cg_bfly_src(fpga_cg *g, const fab_op *op, bool *stacked, bool *padded) {
  int src = op->operands[0];
  bool st = fpga_cg_folded_in(g, src, FAB_OP_STACK), pd;
  if (st || fpga_cg_folded_in(g, src, FAB_OP_RESHAPE)) src = g->f->ops[src].operands[0];
  if ((pd = fpga_cg_folded_in(g, src, FAB_OP_PAD))) src = g->f->ops[src].operands[0];
  if (stacked) *stacked = st;
  if (padded) *padded = pd;
  return src;
}

/* The rows a bfly reads (through a folded stack and pad) and where it
 * stores them: plainly, or through the write-back chain ending at `end`. */
bool fpga_cg_bfly_io(fpga_cg *g, const fab_op *op, int end, uint64_t n, uint64_t S, bfly_io *io) {
  bool stacked, padded;
  int src = fpga_cg_bfly_src(g, op, &stacked, &padded);
  *io = (bfly_io){.m = n, .w = n, .fn = -1, .bias = -1, .gamma = -1, .beta = -1, .res = -1};
  if (padded) io->m = (uint64_t)ty(g, src)->dims[ty(g, src)->rank - 1];
  io->x = addr(g, src);
  io->xstride = stacked ? io->m : S * io->m;
  io->xstack = stacked ? 0 : io->m;
  io->out = end >= 0 ? 0 : addr(g, g->cur);
  io->ostride = S * n;
  io->ostack = n;
  return end < 0 || wb_chain_io(g, (int)(op - g->f->ops), end, S, io);
}

/* The rows of fft.stages b (real_out, along the last axis, n points)
 * stored through the write-back chain ending at `end` (fpga-absorb's
 * fft_wb_chain: the residual and layer norm). */
bool fpga_cg_fft_wb_io(fpga_cg *g, int b, int end, uint64_t n, bfly_io *io) {
  *io = (bfly_io){.m = n, .w = n, .fn = -1, .bias = -1, .gamma = -1, .beta = -1, .res = -1};
  return wb_chain_io(g, b, end, 1, io);
}

/* The butterfly (or the Fourier mix's last fft.stages) a write-back chain
 * ending at v starts from. */
int fpga_cg_wb_bfly(fpga_cg *g, int v) {
  while (v >= 0 && g->f->ops[v].code != FAB_OP_BFLY_STAGES && g->f->ops[v].code != FAB_OP_FFT_STAGES)
    v = wb_pred(g, v);
  return v;
}
