/* resources.c — FPGA resource model: LUT, FF, DSP and BRAM36 per
 * component from per-unit costs (docs/fpga.md states and justifies them),
 * compared with the device limits. */
#include "codegen.h"

#include <string.h>

/* Per-unit costs.  fp16 operators (fp32 in brackets, roughly 2-3x):
 *   multiplier  1 DSP + 100 LUT + 120 FF      (fp32: 2 DSP + 250 LUT + 300 FF)
 *   adder       200 LUT + 220 FF               (fp32: 450 LUT + 500 FF)
 *   memories in RAMB18 halves of a BRAM36 (1K x 18 or 512 x 36): an
 *   engine RAM of 512 x 16 bits is one RAMB18 = 0.5 BRAM36. */
typedef struct unit {
  double lut, ff, dsp;
} unit;

static unit mul_cost(int fp16) { return fp16 ? (unit){100, 120, 1} : (unit){250, 300, 2}; }
static unit add_cost(int fp16) { return fp16 ? (unit){200, 220, 0} : (unit){450, 500, 0}; }
/* fp32 accumulator of the fp16 datapath's long reductions (matrix unit,
 * PPU mean/softmax sum, layer-norm statistics), mapped to DSPs as the
 * Xilinx floating-point adder with full DSP usage: 2 DSP48E2 + 220 LUT +
 * 300 FF (the design is LUT-bound, DSPs are spare). */
static unit acc_cost(int fp16) { return fp16 ? (unit){220, 300, 2} : (unit){450, 500, 0}; }

/* BRAM36 blocks (in halves: a RAMB18 is 1K x 18 or 512 x 36) for a RAM
 * of depth x width bits. */
static double brams(double depth, double width) {
  long n18;
  if (depth <= 512) n18 = (long)((width + 35) / 36);
  else n18 = (long)((depth + 1023) / 1024) * (long)((width + 17) / 18);
  return n18 / 2.0;
}

static void add(fab_fpga_res *r, unit u, double count) {
  r->lut += u.lut * count;
  r->ff += u.ff * count;
  r->dsp += u.dsp * count;
}

void fab_fpga_resources_estimate(const fab_fpga_config *c, fab_fpga_resources *r) {
  memset(r, 0, sizeof *r);
  int f16 = c->fp16;
  double w = f16 ? 16 : 32;
  unit mul = mul_cost(f16), add_ = add_cost(f16), acc = acc_cost(f16);
  fab_fpga_res *p;
  /* butterfly engines: per BU 4 multipliers + 2 adders (the FFT mode adds
   * 2 adders for the complex product), crossbars 2 x (2 P_bu)^2 w-bit
   * muxes, 2 banks of 2 P_bu RAMs, address generation per 4 engines */
  p = &r->part[r->n++];
  p->name = "butterfly engines";
  double bus = (double)c->p_be * c->p_bu;
  add(p, mul, 4 * bus);
  add(p, add_, 4 * bus);
  double xbar = 2.0 * (2 * c->p_bu) * (2 * c->p_bu) * w / 4; /* LUT6 as 4:1 mux per bit */
  p->lut += c->p_be * (xbar + 600) + (c->p_be + 3) / 4 * 1500;
  p->ff += c->p_be * (4 * c->p_bu * w + 800);
  p->bram36 += (double)c->p_be * 2 * c->be_rams * brams(c->be_depth, w);
  /* coefficient buffer: broadcast 256-bit words */
  p = &r->part[r->n++];
  p->name = "coefficient buffer";
  p->bram36 = brams(c->cb_depth / (256 / w), 256);
  p->lut = 2000 + 50.0 * c->p_be; /* broadcast fan-out registers */
  p->ff = 256.0 * (c->p_be / 8 + 1);
  /* attention processor: multiplier array + fp32 adder tree / accumulators,
   * exponent units */
  p = &r->part[r->n++];
  p->name = "attention processor";
  add(p, mul, c->att_mults);
  add(p, acc, c->att_mults);
  add(p, (unit){400, 400, 2}, c->exp_units); /* exp: range reduction + polynomial */
  p->lut += 3000;
  /* post-processing: per lane 1 mul + 1 element-wise add + 1 fp32
   * reduction accumulator, + GELU/rsqrt/recip units */
  p = &r->part[r->n++];
  p->name = "post-processing";
  add(p, mul, c->ppu_lanes);
  add(p, add_, c->ppu_lanes);
  add(p, acc, c->ppu_lanes);
  add(p, (unit){1500, 1500, 4}, 3);
  /* write-back units (stp): one lane per wb_share engines in
   * their output stage: bias and residual adders, the layer norm's
   * subtract, scale, gamma and beta (2 multipliers, 3 adders) and its two
   * fp32 statistics accumulators; GELU and rsqrt units shared like the
   * PPU's; the parameter buffer (bias, gamma, beta; two sets) broadcast
   * like the coefficient buffer */
  p = &r->part[r->n++];
  p->name = "write-back units";
  double wbl = (double)fab_fpga_wb_lanes(c);
  add(p, mul, 2 * wbl);
  add(p, add_, 3 * wbl);
  add(p, acc, 2 * wbl);
  add(p, (unit){1500, 1500, 4}, 2);
  p->bram36 = brams(fab_fpga_pb_words(c) / (256 / w), 256);
  p->lut += 50.0 * wbl; /* parameter fan-out registers */
  /* keeping stores (stp keep): the lane's result is a third input of the
   * multiplexer before each bank's serial write port (the DMA's word or
   * ldp's zero fill): per bit still one LUT6 (three data inputs, two
   * selects), no LUT added per engine; out-of-place first stages (bfly
   * os): a second base address (13-bit register and 2:1 multiplexer) in
   * the engines' shared address sequencer, with the keep's control */
  p->lut += 50;
  p->ff += 13;
  /* mixed-radix FFTs (fftq): the q-point DFT runs on the BUs' own
   * multipliers and adders in q - 1/q passes (cycles.c), its operands and
   * partial sums moving through the crossbars and banks as a radix-2
   * pass's do; added: one radix-q address sequencer for all engines (they
   * run in lockstep) and one twiddle table of a bank's worth of complex
   * roots (w_m^j of the stage sizes used), broadcast beside the ROM's */
  p = &r->part[r->n++];
  p->name = "radix-q FFT";
  p->lut = 1500;
  p->ff = 2000;
  p->bram36 = brams(fab_fpga_bank_words(c), 2 * w);
  /* vector memory (ATT + PPU operands) */
  p = &r->part[r->n++];
  p->name = "vector memory";
  double ports = c->ppu_lanes > c->att_mults / 16 ? c->ppu_lanes : c->att_mults / 16;
  p->bram36 = brams(c->vm_words / ports, w) * ports;
  p->lut = 50 * ports;
  /* DMA engines, queues, token counters, instruction fetch */
  p = &r->part[r->n++];
  p->name = "DMA + control";
  double axi = (c->bw_in + c->bw_coef + c->bw_out) / 256.0;
  /* + the coefficient port's path into the vector memory (ld cp=1): a
   * bw_coef-bit 2:1 multiplexer before the VM's write port */
  p->lut = 4000 + 2500 * axi + c->bw_coef;
  p->ff = 6000 + 3000 * axi;
  p->bram36 = 8 + 2 * axi;
  for (int i = 0; i < r->n; i++) {
    r->total.lut += r->part[i].lut;
    r->total.ff += r->part[i].ff;
    r->total.dsp += r->part[i].dsp;
    r->total.bram36 += r->part[i].bram36;
  }
  r->total.name = "total";
  r->limit.name = c->device;
  if (!strcmp(c->device, "xcvu37p")) r->limit = (fab_fpga_res){"xcvu37p", 1304000, 2607000, 9024, 2016};
  else if (!strcmp(c->device, "xc7z045")) r->limit = (fab_fpga_res){"xc7z045", 218600, 437200, 900, 545};
  r->fits = r->limit.lut > 0 && r->total.lut <= r->limit.lut && r->total.ff <= r->limit.ff &&
            r->total.dsp <= r->limit.dsp && r->total.bram36 <= r->limit.bram36;
}

void fab_fpga_resources_print(const fab_fpga_resources *r, const fab_fpga_config *c, FILE *out) {
  fprintf(out, "resources of %s (%d x %d BUs, %d write-back lanes, %s) on %s\n", c->name, c->p_be, c->p_bu,
          fab_fpga_wb_lanes(c), c->fp16 ? "fp16" : "fp32", c->device);
  fprintf(out, "%-22s %10s %10s %8s %8s\n", "component", "LUT", "FF", "DSP", "BRAM36");
  for (int i = 0; i < r->n; i++)
    fprintf(out, "%-22s %10.0f %10.0f %8.0f %8.0f\n", r->part[i].name, r->part[i].lut, r->part[i].ff,
            r->part[i].dsp, r->part[i].bram36);
  fprintf(out, "%-22s %10.0f %10.0f %8.0f %8.0f\n", "total", r->total.lut, r->total.ff, r->total.dsp,
          r->total.bram36);
  if (r->limit.lut > 0) {
    fprintf(out, "%-22s %10.0f %10.0f %8.0f %8.0f\n", "device", r->limit.lut, r->limit.ff, r->limit.dsp,
            r->limit.bram36);
    fprintf(out, "%-22s %9.1f%% %9.1f%% %7.1f%% %7.1f%%\n", "utilisation", 100 * r->total.lut / r->limit.lut,
            100 * r->total.ff / r->limit.ff, 100 * r->total.dsp / r->limit.dsp,
            100 * r->total.bram36 / r->limit.bram36);
    fprintf(out, "%s\n", r->fits ? "fits the device" : "DOES NOT FIT the device");
  } else {
    fprintf(out, "device limits unknown (generic)\n");
  }
}
