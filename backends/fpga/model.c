/* model.c — the authors' performance model: the accounting of their own
 * simulator (SamsungLabs/Butterfly_Acc, hardware/npu_design/simulator,
 * `bfly_accelerator.py` run_bfly / run_fft as driven by simulator_bfly.py),
 * re-implemented so a program's butterfly/FFT layers can be set beside it.
 * It reproduces their numbers, simplifications included (docs/fpga.md §5):
 *   - pipeline: a butterfly layer of B batches is charged B periods of its
 *     three-stage pipeline (load, compute, store), an FFT pass B-1 periods
 *     of its two stages ((load + compute), store): their loop drops the
 *     drain and one steady-state period (an undercount, not the hardware);
 *   - the Fourier mix is two hidden-length FFT passes over the s rows (the
 *     sequence axis never enters its cost), the first reading real data and
 *     writing complex, the second reading complex and writing real;
 *   - row lengths and the FFN's inner width are padded to powers of two
 *     (3072 -> 4096: four 1024-point stacks, not three);
 *   - every batch streams all log2(N) stages of coefficients: 2N real
 *     weights per butterfly stage, N complex twiddles per FFT stage.
 * A batch is P_be rows, one per engine; element widths follow the
 * configuration (their simulator is fp16 only). */
#include "fbin.h"

static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t pow2ceil(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
static uint64_t ilog2(uint64_t n) {
  uint64_t l = 0;
  while ((1ull << l) < n) l++;
  return l;
}

/* One batch's transfer of `words` elements of `bits` each over a stream of
 * `bw` bits per cycle (their Dram: words / (bw / bits) per cycle, rounded
 * up once). */
static uint64_t stream(uint64_t words, uint64_t bits, int bw) { return cdiv(words * bits, (uint64_t)bw); }

/* A batch's rows into or out of the engines: the off-chip stream, or the
 * serial-to-parallel (parallel-to-serial) port, one element per cycle. */
static uint64_t rows_io(const fab_fpga_config *c, uint64_t n, uint64_t bits, int bw) {
  return max2(stream((uint64_t)c->p_be * n, bits, bw), n);
}

/* log2(N) stages of `words_per_stage` coefficients of `bits` each: the
 * coefficient stream, or the write into the coefficient buffer
 * (4 P_bu words of 2 * 16 bits per cycle, i.e. N/(4 P_bu) cycles per stage). */
static uint64_t coefs_in(const fab_fpga_config *c, uint64_t n, uint64_t words_per_stage, uint64_t bits) {
  uint64_t L = ilog2(n);
  return max2(stream(L * words_per_stage, bits, c->bw_coef), cdiv(L * n, 4 * (uint64_t)c->p_bu));
}

/* log2(N) stages of N/2 butterflies on P_bu units (the data banks deliver
 * 2 P_bu elements per cycle, exactly what the units consume) */
static uint64_t compute(const fab_fpga_config *c, uint64_t n) { return cdiv(n, 2 * (uint64_t)c->p_bu) * ilog2(n); }

uint64_t fab_fpga_model_bfly_layer(const fab_fpga_config *c, uint64_t rows, uint64_t n, uint64_t nstacks) {
  n = pow2ceil(n);
  uint64_t w = (uint64_t)fab_fpga_elem_bits(c);
  uint64_t batches = cdiv(rows, (uint64_t)c->p_be) * pow2ceil(nstacks ? nstacks : 1);
  uint64_t load = max2(rows_io(c, n, w, c->bw_in), coefs_in(c, n, 2 * n, w));
  uint64_t comp = compute(c, n);
  uint64_t store = rows_io(c, n, w, c->bw_out);
  /* their loop: the first load and compute, then one period per batch from
   * the second to the second-to-last, the last of them without a load */
  uint64_t cyc = load + comp;
  if (batches >= 3) cyc += (batches - 3) * max2(load, max2(comp, store)) + max2(comp, store);
  return cyc;
}

uint64_t fab_fpga_model_fft_pass(const fab_fpga_config *c, uint64_t rows, uint64_t n, bool real_in,
                                 bool real_out) {
  n = pow2ceil(n);
  uint64_t w = (uint64_t)fab_fpga_elem_bits(c);
  uint64_t batches = cdiv(rows, (uint64_t)c->p_be);
  uint64_t first = compute(c, n) + max2(rows_io(c, n, real_in ? w : 2 * w, c->bw_in), coefs_in(c, n, n, 2 * w));
  uint64_t store = rows_io(c, n, real_out ? w : 2 * w, c->bw_out);
  /* their loop: the first stage of the first batch, then one period per
   * batch from the second to the second-to-last */
  return first + (batches > 2 ? batches - 2 : 0) * max2(first, store);
}

uint64_t fab_fpga_model_fft_axis(const fab_fpga_config *c, uint64_t outer, uint64_t len, uint64_t inner,
                                 bool real_in, bool real_out) {
  /* along the last axis: their first pass, len-point over `outer` rows;
   * along another: their second pass, again over the rows of the last
   * axis (length `inner`), outer * len of them */
  if (inner <= 1) return fab_fpga_model_fft_pass(c, outer, len, real_in, real_out);
  return fab_fpga_model_fft_pass(c, outer * len, inner, real_in, real_out);
}

uint64_t fab_fpga_model_fft_layer(const fab_fpga_config *c, uint64_t s, uint64_t d) {
  return fab_fpga_model_fft_pass(c, s, d, true, false) + fab_fpga_model_fft_pass(c, s, d, false, true);
}
