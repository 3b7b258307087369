/* model.c — the authors' analytical performance model (fabnet.md §5), kept
 * as a function so the simulator's numbers can be compared with it. */
#include "fbin.h"

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t ilog2(uint64_t n) {
  uint64_t l = 0;
  while ((1ull << l) < n) l++;
  return l;
}

uint64_t fab_fpga_model_bfly_layer(const fab_fpga_config *c, uint64_t rows, uint64_t n,
                                   uint64_t nstacks) {
  uint64_t bits = c->fp16 ? 16 : 32, L = ilog2(n);
  uint64_t compute = n / (2 * (uint64_t)c->p_bu) * L;
  uint64_t batches = cdiv(rows, (uint64_t)c->p_be) * (nstacks ? nstacks : 1);
  /* per batch of P_be rows: load = max(input, coefficients), compute, store;
   * three-stage pipeline, so the steady state is the slowest stage. */
  uint64_t in = max2(cdiv((uint64_t)c->p_be * n * bits, (uint64_t)c->bw_in), n);
  uint64_t coef = cdiv(2 * n * L * bits, (uint64_t)c->bw_coef);
  uint64_t load = max2(in, coef);
  uint64_t store = max2(cdiv((uint64_t)c->p_be * n * bits, (uint64_t)c->bw_out), n);
  uint64_t stage = max2(load, max2(compute, store));
  return load + compute + store + (batches - 1) * stage;
}

uint64_t fab_fpga_model_fft_pass(const fab_fpga_config *c, uint64_t rows, uint64_t n) {
  uint64_t bits = (c->fp16 ? 16 : 32) * 2; /* complex */
  uint64_t compute = n / (2 * (uint64_t)c->p_bu) * ilog2(n);
  uint64_t in = max2(cdiv((uint64_t)c->p_be * n * bits, (uint64_t)c->bw_in), n);
  uint64_t tw = cdiv(n * bits, (uint64_t)c->bw_coef);
  uint64_t wb = max2(cdiv((uint64_t)c->p_be * n * bits, (uint64_t)c->bw_out), n);
  /* two-stage pipeline over batches of P_be rows, then the last write-back */
  return cdiv(rows, (uint64_t)c->p_be) * (max2(compute, n) + max2(in, tw)) + wb;
}

uint64_t fab_fpga_model_fft_layer(const fab_fpga_config *c, uint64_t s, uint64_t d) {
  /* pass 1 along d over s rows, pass 2 along s over d rows */
  return fab_fpga_model_fft_pass(c, s, d) + fab_fpga_model_fft_pass(c, d, s);
}
