/* cycles.c — how long one instruction occupies its queue: the timing
 * model of docs/fpga.md §8, shared by the simulator (sim/sim_timing.c) and
 * the code generator's instruction scheduler (codegen_sched.c).
 *
 *   ld/st   ceil(bits / bandwidth of its stream), and for engine buffers at
 *           least one element per cycle per engine (the serial write port)
 *   gather  ceil(bits / input bandwidth)
 *   bfly/fft nrows * n / (2 P_bu) * stages (conflict-free banks: one
 *           butterfly per BU per cycle); zero: nrows * n / (2 P_bu)
 *   fftq    nrows * n (q^2 - 1) / (2 q P_bu): the real products of a
 *           radix-q step on the BUs' 4 multipliers, per group of q points
 *           4 (q - 1) for the twiddles and 2 (q - 1)^2 for the q-point DFT
 *           (symmetric pairs: a_p +- a_q-p times cos, sin), i.e. q - 1/q
 *           radix-2 passes (8/3 for q = 3)
 *   mm      ceil(m k n / att_mults); attn, attns ceil(2 s t dh / att_mults)
 *           + ceil(s t / exp_units); attnm adds the rescale of O and the
 *           state, ceil(s dh / att_mults) + ceil(s / exp_units)
 *   ppu     ceil(rows len / lanes) per pass (softmax, ln: 3 passes)
 *   ldp     as ld into the engines, the serial port writing the whole row
 *           pitch (the zero fill included)
 *   stp     the slowest of: the store stream, the residual stream (fn brln,
 *           rln: as many bits on the input bandwidth), and the write-back
 *           lanes (one per wb_share engines, one element per
 *           cycle; lane l serves engines l, l + lanes, ..., so an
 *           instruction on at most `lanes` engines, e.g. the last wave
 *           of rows, has a lane per engine), twice for the layer-norm functions (statistics pass,
 *           then the normalising pass)
 *   wbp     1 (register writes)
 *   amask, pmask  ceil(32 n / input bandwidth): the n i32 flags read from
 *           off-chip memory (at least 1 cycle); masking itself adds no
 *           cycles (a compare and select beside the exp / sum datapath) */
#include "fbin.h"

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Engines per write-back lane for an instruction on engines 0..ne-1: lane
 * l serves engines l, l + lanes, ... (lanes = ceil(P_be / wb_share)). */
static uint64_t wb_share(const fab_fpga_config *c, uint64_t ne) {
  uint64_t lanes = (uint64_t)fab_fpga_wb_lanes(c), share = (uint64_t)c->wb_share;
  uint64_t s = cdiv(ne ? ne : 1, lanes);
  return s < share ? s : share;
}

uint64_t fab_fpga_insn_bits(const fab_fpga_config *c, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t wb = (uint64_t)fab_fpga_elem_bits(c);
  switch (in->op) {
  case FAB_I_LD:
  case FAB_I_ST: return f[FAB_F_DMA_ROWS] * f[FAB_F_DMA_LEN] * wb * (f[FAB_F_DMA_CPLX] ? 2 : 1);
  case FAB_I_GATHER: return f[FAB_F_GATH_D] * f[FAB_F_GATH_COUNT] * wb + f[FAB_F_GATH_COUNT] * 32;
  case FAB_I_AMASK:
  case FAB_I_PMASK: return f[FAB_F_MSK_N] * 32;
  case FAB_I_LDP:
  case FAB_I_STP: return f[FAB_F_EWB_ROWS] * f[FAB_F_EWB_LEN] * wb;
  default: return 0;
  }
}

uint64_t fab_fpga_insn_cycles(const fab_fpga_config *c, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  switch (in->op) {
  case FAB_I_LD:
  case FAB_I_ST: {
    uint64_t bw = in->op == FAB_I_ST ? (uint64_t)c->bw_out
                  : fab_fpga_insn_coef_port(in) ? (uint64_t)c->bw_coef : (uint64_t)c->bw_in;
    uint64_t cyc = cdiv(fab_fpga_insn_bits(c, in), bw);
    if (f[FAB_F_DMA_BUF] == FAB_BUF_BE) cyc = max2(cyc, cdiv(f[FAB_F_DMA_ROWS], f[FAB_F_DMA_NE]) * f[FAB_F_DMA_LEN]);
    return cyc;
  }
  case FAB_I_GATHER: return cdiv(fab_fpga_insn_bits(c, in), (uint64_t)c->bw_in);
  case FAB_I_LDP:
  case FAB_I_STP: {
    bool ld = in->op == FAB_I_LDP, res = !ld && f[FAB_F_EWB_FN] < FAB_WB_COUNT && fab_fpga_wbfn_residual[f[FAB_F_EWB_FN]];
    uint64_t bits = fab_fpga_insn_bits(c, in), slots = cdiv(f[FAB_F_EWB_ROWS], f[FAB_F_EWB_NE]);
    uint64_t cyc = cdiv(bits, ld ? (uint64_t)c->bw_in : (uint64_t)c->bw_out);
    if (res) cyc = max2(cyc, cdiv(bits, (uint64_t)c->bw_in));
    uint64_t serial = ld ? slots << f[FAB_F_EWB_LP] : slots * f[FAB_F_EWB_LEN] * (res ? 2 : 1) * wb_share(c, f[FAB_F_EWB_NE]);
    return max2(cyc, serial);
  }
  case FAB_I_AMASK:
  case FAB_I_PMASK: return max2(1, cdiv(fab_fpga_insn_bits(c, in), (uint64_t)c->bw_in));
  case FAB_I_BFLY:
  case FAB_I_FFT:
  case FAB_I_ZERO: {
    uint64_t n = 1ull << f[FAB_F_BE_LOGN];
    uint64_t per = cdiv(n, 2 * (uint64_t)c->p_bu) * f[FAB_F_BE_NROWS];
    return in->op == FAB_I_ZERO ? per : per * f[FAB_F_BE_NST];
  }
  case FAB_I_FFTQ:
    return f[FAB_F_BE_NROWS] * cdiv(f[FAB_F_BE_RN] * (f[FAB_F_BE_RQ] * f[FAB_F_BE_RQ] - 1),
                                    2 * f[FAB_F_BE_RQ] * (uint64_t)c->p_bu + !f[FAB_F_BE_RQ]);
  case FAB_I_MM: return cdiv(f[FAB_F_MM_M] * f[FAB_F_MM_K] * f[FAB_F_MM_N], (uint64_t)c->att_mults);
  case FAB_I_ATTN:
  case FAB_I_ATTNS:
  case FAB_I_ATTNM: {
    uint64_t st = f[FAB_F_ATTN_S] * f[FAB_F_ATTN_T];
    uint64_t cyc = cdiv(2 * st * f[FAB_F_ATTN_DH], (uint64_t)c->att_mults) + cdiv(st, (uint64_t)c->exp_units);
    if (in->op == FAB_I_ATTNM)
      cyc += cdiv(f[FAB_F_ATTN_S] * f[FAB_F_ATTN_DH], (uint64_t)c->att_mults) +
             cdiv(f[FAB_F_ATTN_S], (uint64_t)c->exp_units);
    return cyc;
  }
  case FAB_I_PPU: {
    uint64_t fn = f[FAB_F_PPU_FN], passes = (fn == FAB_PPU_SOFTMAX || fn == FAB_PPU_LN) ? 3 : 1;
    return passes * cdiv(f[FAB_F_PPU_ROWS] * f[FAB_F_PPU_LEN], (uint64_t)c->ppu_lanes);
  }
  default: return 1;
  }
}

uint64_t fab_fpga_insn_butterflies(const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t rows = f[FAB_F_BE_NE] * f[FAB_F_BE_NROWS];
  if (in->op == FAB_I_FFTQ) /* in radix-2 butterflies' products: q - 1/q passes of n / 2 */
    return f[FAB_F_BE_RQ] ? rows * f[FAB_F_BE_RN] * (f[FAB_F_BE_RQ] * f[FAB_F_BE_RQ] - 1) / (2 * f[FAB_F_BE_RQ]) : 0;
  return rows * ((1ull << f[FAB_F_BE_LOGN]) / 2) * f[FAB_F_BE_NST];
}
