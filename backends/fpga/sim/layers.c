/* layers.c — butterfly-unit utilisation over the butterfly layers, and the
 * roofline that explains it, for the simulator's report.
 *
 * A .fbin does not name its ops, so a layer is read off the instruction
 * stream: a maximal run of bfly (or of fft) instructions of one row length
 * in the engine queue's program order (any other engine instruction,
 * another length or the other kind starts the next).  Its span runs from its first instruction's
 * start to its last one's end.  It owns the engine-buffer and coefficient
 * loads placed (program order) after the previous layer's last engine
 * instruction and up to its own last, and the engine-buffer stores after
 * its first engine instruction and before the next layer's first (and the
 * write-back stores, stp, likewise).
 * Per layer:
 *   compute  butterflies / (P_be P_bu): every unit busy all the time
 *   waves    the engines' instruction time: an instruction takes as long on
 *            ne < P_be engines, so rows that do not fill the last wave of
 *            engines leave units idle (coefficients are broadcast, so the
 *            engines run in lockstep on one set of coefficients)
 *   streams  the transfers: max over the input, coefficient and output
 *            streams of bits / bandwidth, and the engines' serial ports
 *            (one element per cycle per engine, in and out)
 *   stores   the store queue's busy time on the layer's engine-buffer stores
 *            (one instruction at a time: an st's output stream, an stp's
 *            write-back lanes, which bound fc1's and the folded LN1's tiles
 *            on vcu128-be120)
 *   bound    max(waves, streams, stores), at most the span (loads run ahead,
 *            under the previous layer)
 * Utilisation = sum compute / sum span; the roofline = sum compute / sum
 * bound, the most the bounds allow. */
#include "sim.h"

#include <string.h>

typedef struct layer {
  uint64_t lo, hi, bflies, waves, bits[3], serial_in, serial_out, stq;
  bool open;
} layer;

static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min2(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

static void close_layer(const fab_fpga_config *c, layer *L, fab_fpga_report *r) {
  if (!L->open || L->hi <= L->lo) {
    memset(L, 0, sizeof *L);
    return;
  }
  uint64_t span = L->hi - L->lo;
  uint64_t streams = max2(max2(cdiv(L->bits[0], (uint64_t)c->bw_in), cdiv(L->bits[1], (uint64_t)c->bw_coef)),
                          max2(cdiv(L->bits[2], (uint64_t)c->bw_out), max2(L->serial_in, L->serial_out)));
  uint64_t bound = min2(max2(max2(L->waves, streams), L->stq), span);
  r->bl_layers++;
  r->bl_span += span;
  r->bl_bound += bound;
  r->bl_compute += (double)L->bflies / ((double)c->p_be * (double)c->p_bu);
  if (L->waves >= max2(streams, L->stq)) r->bl_span_waves += span;
  else if (L->stq > streams) r->bl_span_stq += span;
  memset(L, 0, sizeof *L);
}

static void add_dma(const fab_fpga_config *c, const fab_fpga_insn *in, layer *L) {
  const uint64_t *f = in->f;
  bool st = in->op == FAB_I_ST;
  L->bits[st ? 2 : fab_fpga_insn_coef_port(in) ? 1 : 0] += fab_fpga_insn_bits(c, in);
  if (f[FAB_F_DMA_BUF] != FAB_BUF_BE) return;
  uint64_t serial = cdiv(f[FAB_F_DMA_ROWS], max2(f[FAB_F_DMA_NE], 1)) * f[FAB_F_DMA_LEN];
  if (st) L->serial_out += serial;
  else L->serial_in += serial;
}

/* The loads in `from` move to `to`. */
static void take_loads(layer *to, layer *from) {
  to->bits[0] += from->bits[0];
  to->bits[1] += from->bits[1];
  to->serial_in += from->serial_in;
  memset(from, 0, sizeof *from);
}

void fab_fpga_layers_measure(const fab_fpga_program *p, const uint64_t *start, const uint64_t *end,
                             fab_fpga_report *r) {
  const fab_fpga_config *c = &p->cfg;
  layer L = {0}, pend = {0}; /* pend: loads placed after L's latest engine instruction */
  uint64_t logn = 0;
  int kind = -1; /* FFT or BFLY: the Fourier mix's last pass and fc1 may share a length */
  bool ended = false; /* another engine instruction came after L's */
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0)) continue;
    const uint64_t *f = in.f;
    if (in.op == FAB_I_FFTQ && L.open && kind == FAB_I_FFT && !ended) { /* the radix-q step of the FFT's rows */
      L.hi = max2(L.hi, end[i]);
      L.waves += fab_fpga_insn_cycles(c, &in);
      L.bflies += fab_fpga_insn_butterflies(&in);
    } else if (in.op == FAB_I_BFLY || in.op == FAB_I_FFT) {
      if (L.open && (ended || f[FAB_F_BE_LOGN] != logn || (int)in.op != kind)) close_layer(c, &L, r);
      kind = (int)in.op;
      take_loads(&L, &pend);
      if (!L.open) L.lo = start[i];
      L.open = true;
      ended = false;
      logn = f[FAB_F_BE_LOGN];
      L.lo = min2(L.lo, start[i]);
      L.hi = max2(L.hi, end[i]);
      L.waves += fab_fpga_insn_cycles(c, &in);
      L.bflies += fab_fpga_insn_butterflies(&in);
    } else if (fab_fpga_ops[in.op].queue == FAB_Q_BE) {
      ended = true;
    } else if (in.op == FAB_I_LD && f[FAB_F_DMA_BUF] != FAB_BUF_VM) {
      add_dma(c, &in, &pend);
    } else if (in.op == FAB_I_ST && f[FAB_F_DMA_BUF] == FAB_BUF_BE && L.open) {
      add_dma(c, &in, &L);
      L.stq += fab_fpga_insn_cycles(c, &in);
    } else if (in.op == FAB_I_STP && L.open) { /* the write-back lanes' time */
      L.stq += fab_fpga_insn_cycles(c, &in);
    }
  }
  close_layer(c, &L, r);
  if (r->bl_span) r->bl_util = r->bl_compute / (double)r->bl_span;
  if (r->bl_bound) r->bl_roofline = r->bl_compute / (double)r->bl_bound;
}
