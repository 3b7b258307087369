/* sim_func.c — the functional datapath: what every instruction computes.
 *
 * fp32 mode computes in float with no fused multiply-add (ISO C mode:
 * contraction off).  fp16 mode models the authors' fp16 datapath: every
 * value entering an on-chip buffer is rounded to fp16, every product is
 * rounded, and element-wise sums are rounded (a butterfly output is two
 * rounded products and one rounded add).  Long reductions accumulate in
 * fp32 and round once (docs/fpga.md §3): matrix-unit dot products, softmax
 * sums, `mean`, and the layer-norm statistics.  Nonlinear units (exp, erf,
 * tanh, reciprocal square root) evaluate in float and round the result. */
#include "sim_internal.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

float fab_fpga_round_f16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  uint32_t sign = u & 0x80000000u, a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return x;            /* inf, nan */
  if (a >= 0x477ff000u) {                     /* >= 65520 rounds to inf */
    u = sign | 0x7f800000u;
  } else if (a < 0x38800000u) {               /* below 2^-14: fp16 subnormal, quantum 2^-24 */
    float q = nearbyintf(fabsf(x) * 16777216.0f) / 16777216.0f;
    memcpy(&u, &q, 4);
    u |= sign;
  } else {                                    /* keep 10 mantissa bits, ties to even */
    a += 0xfffu + ((a >> 13) & 1u);
    u = sign | (a & ~0x1fffu);
  }
  float y;
  memcpy(&y, &u, 4);
  return y;
}

static inline float R(const simst *s, float x) { return s->f16 ? fab_fpga_round_f16(x) : x; }
static inline float MUL(const simst *s, float a, float b) { return R(s, a * b); }
static inline float ADD(const simst *s, float a, float b) { return R(s, a + b); }

static unsigned rev_bits(uint64_t j, unsigned bits) {
  unsigned r = 0;
  for (unsigned b = 0; b < bits; b++) r |= (unsigned)((j >> b) & 1u) << (bits - 1 - b);
  return r;
}

static void dma(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  bool ld = in->op == FAB_I_LD;
  uint64_t rows = f[FAB_F_DMA_ROWS], len = f[FAB_F_DMA_LEN], st = f[FAB_F_DMA_STRIDE];
  uint64_t ext = f[FAB_F_DMA_EXT], addr = f[FAB_F_DMA_ADDR], buf = f[FAB_F_DMA_BUF];
  bool cplx = f[FAB_F_DMA_CPLX], tr = f[FAB_F_DMA_TRANS], brev = f[FAB_F_DMA_BREV];
  uint64_t ne = f[FAB_F_DMA_NE], bk = f[FAB_F_DMA_BANK];
  unsigned lbits = 0;
  while ((1ull << lbits) < len) lbits++;
  static _Thread_local uint32_t perm[1u << 13]; /* len < 2^13: the field's width */
  bool digits = brev && (len & (len - 1));
  if (digits) fab_fpga_digitrev_table(len, perm);
  for (uint64_t r = 0; r < rows; r++)
    for (uint64_t j = 0; j < len; j++) {
      uint64_t o = tr ? j * st + r : r * st + j;
      uint64_t w = ext + o * (cplx ? 2 : 1);
      float *re, *im = NULL;
      if (buf == FAB_BUF_BE) {
        uint64_t pos = addr + (r / ne) * len + (digits ? perm[j] : brev ? rev_bits(j, lbits) : j);
        re = be_bank(s, r % ne, cplx ? 0 : bk) + pos;
        if (cplx) im = be_bank(s, r % ne, 1) + pos;
      } else if (cplx) { /* VM: interleaved 2-word elements */
        re = s->vm + addr + 2 * (r * len + j);
        im = re + 1;
      } else {
        re = (buf == FAB_BUF_CB ? s->cb : buf == FAB_BUF_PB ? s->pb : s->vm) + addr + r * len + j;
      }
      if (ld) {
        *re = R(s, s->mem[w]);
        if (im) *im = R(s, s->mem[w + 1]);
      } else {
        s->mem[w] = *re;
        if (im) s->mem[w + 1] = *im;
      }
    }
}

static fab_status gather(simst *s, const fab_fpga_insn *in, size_t idx, char *err, size_t errlen) {
  const uint64_t *f = in->f;
  uint64_t d = f[FAB_F_GATH_D], tab = f[FAB_F_GATH_TABLE];
  /* the same table the static check accepted */
  const fab_fpga_tensor *t = fab_fpga_program_gather_table(s->p, tab, d);
  int64_t V = t ? t->dims[0] : 0;
  for (uint64_t c = 0; c < f[FAB_F_GATH_COUNT]; c++) {
    int32_t id;
    memcpy(&id, &s->mem[f[FAB_F_GATH_IDS] + c], 4);
    if (id < 0 || id >= V) {
      if (err && errlen)
        snprintf(err, errlen, "instruction %zu (gather): token id %d outside [0, %lld) of table '%s'",
                 idx, id, (long long)V, t ? t->name : "?");
      return FAB_E_RUNTIME;
    }
    for (uint64_t j = 0; j < d; j++)
      s->vm[f[FAB_F_GATH_ADDR] + c * d + j] = R(s, s->mem[tab + (uint64_t)id * d + j]);
  }
  return FAB_OK;
}

static void be_pass(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t n = 1ull << f[FAB_F_BE_LOGN], nrows = f[FAB_F_BE_NROWS], addr = f[FAB_F_BE_ADDR];
  for (uint64_t e = 0; e < f[FAB_F_BE_NE]; e++)
    for (uint64_t r = 0; r < nrows; r++) {
      uint64_t base = addr + r * n;
      if (in->op == FAB_I_ZERO) {
        memset(be_bank(s, e, f[FAB_F_BE_BANK]) + base, 0, n * sizeof(float));
        continue;
      }
      /* out of place: the first stage reads the source row (values already
       * in the datapath format, so the copy rounds nothing) */
      if (in->op == FAB_I_BFLY && f[FAB_F_BE_OS])
        memmove(be_bank(s, e, f[FAB_F_BE_BANK]) + base, be_bank(s, e, f[FAB_F_BE_SB]) + 8 * f[FAB_F_BE_SRC] + r * n,
                n * sizeof(float));
      for (uint64_t st = 0; st < f[FAB_F_BE_NST]; st++) {
        uint64_t ls = f[FAB_F_BE_DIR] ? f[FAB_F_BE_LSTRIDE] + st : f[FAB_F_BE_LSTRIDE] - st;
        uint64_t stride = 1ull << ls;
        if (in->op == FAB_I_BFLY) {
          float *y = be_bank(s, e, f[FAB_F_BE_BANK]) + base;
          const float *t = s->cb + f[FAB_F_BE_CB] + st * 2 * n;
          for (uint64_t i = 0; i < n / 2; i++) {
            uint64_t low = i % stride, p = 2 * (i - low) + low, q = p + stride;
            float a = y[p], c = y[q];
            y[p] = ADD(s, MUL(s, t[4 * i], a), MUL(s, t[4 * i + 1], c));
            y[q] = ADD(s, MUL(s, t[4 * i + 2], a), MUL(s, t[4 * i + 3], c));
          }
        } else {
          float *xr = be_bank(s, e, 0) + base, *xi = be_bank(s, e, 1) + base;
          if (st == 0 && f[FAB_F_BE_RIN]) memset(xi, 0, n * sizeof(float));
          double m = (double)(2 * stride);
          for (uint64_t i = 0; i < n / 2; i++) {
            uint64_t low = i % stride, p = 2 * (i - low) + low, q = p + stride;
            /* the twiddle ROM holds w^j rounded to the datapath format */
            float wr = R(s, (float)cos(2 * M_PI * (double)low / m));
            float wi = R(s, (float)-sin(2 * M_PI * (double)low / m));
            float tr = ADD(s, MUL(s, wr, xr[q]), -MUL(s, wi, xi[q]));
            float ti = ADD(s, MUL(s, wr, xi[q]), MUL(s, wi, xr[q]));
            float ur = xr[p], ui = xi[p];
            xr[p] = ADD(s, ur, tr);
            xi[p] = ADD(s, ui, ti);
            xr[q] = ADD(s, ur, -tr);
            xi[q] = ADD(s, ui, -ti);
          }
        }
      }
    }
}

static void mm(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t M = f[FAB_F_MM_M], K = f[FAB_F_MM_K], N = f[FAB_F_MM_N];
  const float *A = s->vm + f[FAB_F_MM_A], *B = s->vm + f[FAB_F_MM_B];
  float *C = s->vm + f[FAB_F_MM_C];
  bool tb = f[FAB_F_MM_TB];
  for (uint64_t i = 0; i < M; i++)
    for (uint64_t j = 0; j < N; j++) {
      float acc = 0;
      for (uint64_t k = 0; k < K; k++) acc += MUL(s, A[i * K + k], tb ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = R(s, acc);
    }
}

/* amask / pmask: the unit's mask registers from n i32 flags in off-chip
 * memory (stored as their bit patterns). */
static void set_mask(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  simmask *mk = in->op == FAB_I_AMASK ? s->amask : s->pmask;
  mk->n = f[FAB_F_MSK_N];
  for (uint64_t j = 0; j < mk->n; j++) {
    uint32_t bits;
    memcpy(&bits, &s->mem[f[FAB_F_MSK_EXT] + j], 4);
    mk->flag[j] = bits != 0;
  }
  mk->cz = f[FAB_F_MSK_CZ] != 0;
  mk->r0 = f[FAB_F_MSK_R0];
  mk->c0 = f[FAB_F_MSK_C0];
}

/* Flag j (1 beyond the n loaded), and: is column j of row i kept? */
static bool flag_of(const simmask *mk, uint64_t j) { return j >= mk->n || mk->flag[j]; }
static bool kept(const simmask *mk, uint64_t i, uint64_t j) {
  return flag_of(mk, j) && !(mk->cz && mk->c0 + j > mk->r0 + i);
}

/* attn: O = softmax(scale Q K^T) V over all t keys at once.  attns and
 * attnm stream the keys in blocks with an online softmax: the 2s words after
 * O hold each query row's running maximum m and sum l (stored at the
 * format's precision; any consistently used m is exact, so rounding m is
 * harmless).  attnm rescales the block's partial result and the previous O:
 *   m' = max(m, block max), a = e^(m - m'), l' = l a + sum_j e^(x_j - m'),
 *   O  = (O l a + sum_j e^(x_j - m') V_j) / l'.
 * With mk, masked keys count as -inf (weight 0); while a row has no key
 * left, its O stays 0, m = -inf and l = 0 (and the output is 0). */
static void attn(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t S = f[FAB_F_ATTN_S], T = f[FAB_F_ATTN_T], D = f[FAB_F_ATTN_DH];
  const float *Q = s->vm + f[FAB_F_ATTN_Q], *K = Q + S * D, *V = K + T * D;
  float *O = s->vm + f[FAB_F_ATTN_O], *sc = s->tmp;
  float *Mrow = O + S * D, *Lrow = Mrow + S;
  bool keep = in->op != FAB_I_ATTN, merge = in->op == FAB_I_ATTNM, mk = f[FAB_F_ATTN_MK] != 0;
  float scale = R(s, fab_fpga_bits_f32(f[FAB_F_ATTN_SCALE]));
  for (uint64_t i = 0; i < S; i++) {
    float mold = merge ? Mrow[i] : -INFINITY, mx = mold, sum = 0;
    for (uint64_t j = 0; j < T; j++) {
      float acc = 0;
      for (uint64_t k = 0; k < D; k++) acc += MUL(s, Q[i * D + k], K[j * D + k]);
      sc[j] = MUL(s, R(s, acc), scale);
      if (mk && !kept(s->amask, i, j)) sc[j] = -INFINITY;
      if (sc[j] > mx) mx = sc[j];
    }
    if (mk && mx == -INFINITY) { /* no key left so far */
      if (!merge)
        for (uint64_t k = 0; k < D; k++) O[i * D + k] = 0;
      if (keep) Mrow[i] = -INFINITY, Lrow[i] = 0;
      continue;
    }
    for (uint64_t j = 0; j < T; j++) {
      sc[j] = R(s, expf(ADD(s, sc[j], -mx)));
      sum += sc[j];
    }
    /* a = e^(m - m') scales the previous rows; 0 when there are none */
    float lold = merge ? Lrow[i] : 0, a = merge ? R(s, expf(ADD(s, mold, -mx))) : 0;
    float l = merge ? lold * a + sum : sum;
    float inv = R(s, 1.0f / l);
    if (mk && !(l > 0)) inv = 0;
    for (uint64_t k = 0; k < D; k++) {
      float acc = 0;
      for (uint64_t j = 0; j < T; j++) acc += MUL(s, sc[j], V[j * D + k]);
      float total = R(s, acc);
      if (merge) total = ADD(s, total, MUL(s, MUL(s, O[i * D + k], R(s, lold)), a));
      O[i * D + k] = MUL(s, total, inv);
    }
    if (keep) {
      Mrow[i] = mx;
      Lrow[i] = R(s, l);
    }
  }
}

static float gelu(const simst *s, float x, bool tanh_approx) {
  if (tanh_approx) {
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return R(s, 0.5f * x * (1.0f + tanhf(u)));
  }
  return R(s, 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)));
}

/* softmax(p * a) of each row over the columns the PPU's mask registers
 * keep (row r is sequence index r0 + r); a row with none left gives 0. */
static void masked_softmax(simst *s, float *A, uint64_t rows, uint64_t len, float p) {
  for (uint64_t r = 0; r < rows; r++) {
    float *a = A + r * len, mx = -INFINITY, sum = 0;
    for (uint64_t j = 0; j < len; j++) {
      a[j] = kept(s->pmask, r, j) ? MUL(s, a[j], p) : -INFINITY;
      if (a[j] > mx) mx = a[j];
    }
    for (uint64_t j = 0; j < len; j++) {
      a[j] = mx == -INFINITY || a[j] == -INFINITY ? 0 : R(s, expf(ADD(s, a[j], -mx)));
      sum += a[j];
    }
    float inv = sum > 0 ? R(s, 1.0f / sum) : 0;
    for (uint64_t j = 0; j < len; j++) a[j] = MUL(s, a[j], inv);
  }
}

/* Layer norm of one row, shared by the PPU's ln and the engines'
 * write-back.  The statistics unit accumulates in fp32 (sum, sum of squared
 * deviations, 1/len, rsqrt): after a Fourier mix a row's variance is
 * ~|x|^2 ~ 2.6e5, beyond fp16's 65504, so an fp16 statistics unit
 * normalises such rows to beta (measured: relative error 1.0 at the first
 * layer norm of fabnet_text).  mean and 1/sqrt(var + eps) enter the fp16
 * element datapath rounded to fp16. */
static void ln_row(const simst *s, float *a, uint64_t len, const float *gamma, const float *beta, float eps) {
  float sum = 0, sq = 0;
  for (uint64_t j = 0; j < len; j++) sum += a[j];
  float mean32 = sum / (float)len;
  for (uint64_t j = 0; j < len; j++) {
    float d = a[j] - mean32;
    sq += d * d;
  }
  float mean = R(s, mean32), rs = R(s, 1.0f / sqrtf(sq / (float)len + eps));
  for (uint64_t j = 0; j < len; j++) a[j] = ADD(s, MUL(s, MUL(s, ADD(s, a[j], -mean), rs), gamma[j]), beta[j]);
}

static void ppu(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t rows = f[FAB_F_PPU_ROWS], len = f[FAB_F_PPU_LEN];
  float *A = s->vm + f[FAB_F_PPU_A], *B = s->vm + f[FAB_F_PPU_B];
  float p = R(s, fab_fpga_bits_f32(f[FAB_F_PPU_PARAM]));
  bool bc = f[FAB_F_PPU_BC], mk = f[FAB_F_PPU_MK] != 0;
  unsigned fn = (unsigned)f[FAB_F_PPU_FN];
  if (fn == FAB_PPU_MEAN) {
    uint64_t count = 0;
    for (uint64_t r = 0; r < rows; r++) count += !mk || flag_of(s->pmask, r);
    for (uint64_t j = 0; j < len; j++) {
      float acc = 0;
      for (uint64_t r = 0; r < rows; r++)
        if (!mk || flag_of(s->pmask, r)) acc += A[r * len + j];
      B[j] = count ? R(s, acc / (float)count) : 0;
    }
    return;
  }
  if (fn == FAB_PPU_SOFTMAX && mk) {
    masked_softmax(s, A, rows, len, p);
    return;
  }
  for (uint64_t r = 0; r < rows; r++) {
    float *a = A + r * len;
    const float *b = B + (bc ? 0 : r * len);
    switch (fn) {
    case FAB_PPU_ADD: for (uint64_t j = 0; j < len; j++) a[j] = ADD(s, a[j], b[j]); break;
    case FAB_PPU_MUL: for (uint64_t j = 0; j < len; j++) a[j] = MUL(s, a[j], b[j]); break;
    case FAB_PPU_RELU: for (uint64_t j = 0; j < len; j++) a[j] = a[j] > 0 ? a[j] : 0; break;
    case FAB_PPU_GELUE: for (uint64_t j = 0; j < len; j++) a[j] = gelu(s, a[j], false); break;
    case FAB_PPU_GELUT: for (uint64_t j = 0; j < len; j++) a[j] = gelu(s, a[j], true); break;
    case FAB_PPU_SCALE: for (uint64_t j = 0; j < len; j++) a[j] = MUL(s, a[j], p); break;
    case FAB_PPU_FILL: for (uint64_t j = 0; j < len; j++) a[j] = p; break;
    case FAB_PPU_SOFTMAX: {
      float mx = -INFINITY, sum = 0;
      for (uint64_t j = 0; j < len; j++) {
        a[j] = MUL(s, a[j], p);
        if (a[j] > mx) mx = a[j];
      }
      for (uint64_t j = 0; j < len; j++) {
        a[j] = R(s, expf(ADD(s, a[j], -mx)));
        sum += a[j];
      }
      float inv = R(s, 1.0f / sum);
      for (uint64_t j = 0; j < len; j++) a[j] = MUL(s, a[j], inv);
      break;
    }
    case FAB_PPU_LN: ln_row(s, a, len, B, B + len, p); break;
    default: break;
    }
  }
}

/* ldp: rows into engine rows of pitch 2^lp, zeros after len. */
static void ldp(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t rows = f[FAB_F_EWB_ROWS], len = f[FAB_F_EWB_LEN], ne = f[FAB_F_EWB_NE], pitch = 1ull << f[FAB_F_EWB_LP];
  for (uint64_t r = 0; r < rows; r++) {
    float *y = be_bank(s, r % ne, f[FAB_F_EWB_BANK]) + f[FAB_F_EWB_ADDR] + (r / ne) * pitch;
    const float *x = s->mem + f[FAB_F_EWB_EXT] + r * f[FAB_F_EWB_STRIDE];
    for (uint64_t j = 0; j < len; j++) y[j] = R(s, x[j]);
    memset(y + len, 0, (pitch - len) * sizeof(float));
  }
}

/* stp: each row's first len elements through the write-back unit (the
 * registers of the last wbp), then off-chip.  The same operations, in the
 * same order and rounding, as the PPU's add, gelu and ln on the row. */
static fab_status stp(simst *s, const fab_fpga_insn *in, size_t idx, char *err, size_t errlen) {
  const uint64_t *f = in->f, *w = s->wbp.f;
  uint64_t rows = f[FAB_F_EWB_ROWS], len = f[FAB_F_EWB_LEN], ne = f[FAB_F_EWB_NE], pitch = 1ull << f[FAB_F_EWB_LP];
  unsigned fn = (unsigned)f[FAB_F_EWB_FN];
  bool bias = fn == FAB_WB_BIAS || fn == FAB_WB_BGELU || fn == FAB_WB_BGELUT || fn == FAB_WB_BRLN;
  bool res = fab_fpga_wbfn_residual[fn], ln = fn == FAB_WB_BRLN || fn == FAB_WB_RLN;
  uint64_t pbw = (uint64_t)fab_fpga_pb_words(s->c), rext = w[FAB_F_WBP_RES], rst = w[FAB_F_WBP_RSTR];
  if ((bias && w[FAB_F_WBP_PB] + len > pbw) || (ln && w[FAB_F_WBP_GB] + 2 * len > pbw))
    return fab_fpga_fail(err, errlen, FAB_E_RUNTIME, "instruction %zu (stp): parameters outside the parameter buffer", idx);
  if (res && rext + (rows - 1) * rst + len > s->mem_words)
    return fab_fpga_fail(err, errlen, FAB_E_RUNTIME, "instruction %zu (stp): residual outside the off-chip memory", idx);
  const float *b = s->pb + w[FAB_F_WBP_PB], *gamma = s->pb + w[FAB_F_WBP_GB];
  float eps = R(s, fab_fpga_bits_f32(w[FAB_F_WBP_EPS]));
  float *row = s->tmp; /* len <= 4096 words: the check bounds len by the bank */
  for (uint64_t r = 0; r < rows; r++) {
    float *y = be_bank(s, r % ne, f[FAB_F_EWB_BANK]) + f[FAB_F_EWB_ADDR] + (r / ne) * pitch;
    for (uint64_t j = 0; j < len; j++) {
      float v = y[j];
      if (bias) v = ADD(s, v, b[j]);
      if (fn == FAB_WB_BGELU || fn == FAB_WB_BGELUT) v = gelu(s, v, fn == FAB_WB_BGELUT);
      if (res) v = ADD(s, v, R(s, s->mem[rext + r * rst + j]));
      row[j] = v;
    }
    if (ln) ln_row(s, row, len, gamma, gamma + len, eps);
    memcpy(s->mem + f[FAB_F_EWB_EXT] + r * f[FAB_F_EWB_STRIDE], row, len * sizeof(float));
    /* keep: the value a load of the stored row would bring back */
    if (f[FAB_F_EWB_KEEP])
      for (uint64_t j = 0; j < len; j++) y[j] = R(s, row[j]);
  }
  return FAB_OK;
}

/* fftq: one radix-q decimation-in-time stage of size m on each row of n
 * (the interpreter's radix_stage): twiddles w_m^(j p) and the q-point
 * DFT's w_q^(p k) come from the twiddle unit rounded to the datapath
 * format; every product and sum rounds as in the radix-2 butterfly. */
static float tw_cos(const simst *s, uint64_t k, uint64_t m) { return R(s, (float)cos(2 * M_PI * (double)(k % m) / (double)m)); }
static float tw_sin(const simst *s, uint64_t k, uint64_t m) { return R(s, (float)-sin(2 * M_PI * (double)(k % m) / (double)m)); }

static void fftq(simst *s, const fab_fpga_insn *in) {
  const uint64_t *f = in->f;
  uint64_t q = f[FAB_F_BE_RQ], m = f[FAB_F_BE_RM], n = f[FAB_F_BE_RN], h = m / q;
  float ar[FAB_FPGA_MAX_RADIX], ai[FAB_FPGA_MAX_RADIX];
  for (uint64_t e = 0; e < f[FAB_F_BE_NE]; e++)
    for (uint64_t r = 0; r < f[FAB_F_BE_NROWS]; r++) {
      float *xr = be_bank(s, e, 0) + f[FAB_F_BE_ADDR] + r * n, *xi = be_bank(s, e, 1) + f[FAB_F_BE_ADDR] + r * n;
      if (f[FAB_F_BE_RIN]) memset(xi, 0, n * sizeof(float));
      for (uint64_t g = 0; g < n; g += m)
        for (uint64_t j = 0; j < h; j++) {
          for (uint64_t p = 0; p < q; p++) {
            uint64_t at = g + j + p * h;
            float wr = tw_cos(s, j * p, m), wi = tw_sin(s, j * p, m);
            ar[p] = ADD(s, MUL(s, wr, xr[at]), -MUL(s, wi, xi[at]));
            ai[p] = ADD(s, MUL(s, wr, xi[at]), MUL(s, wi, xr[at]));
          }
          for (uint64_t k = 0; k < q; k++) {
            float sr = ar[0], si = ai[0];
            for (uint64_t p = 1; p < q; p++) {
              float wr = tw_cos(s, p * k, q), wi = tw_sin(s, p * k, q);
              sr = ADD(s, sr, ADD(s, MUL(s, wr, ar[p]), -MUL(s, wi, ai[p])));
              si = ADD(s, si, ADD(s, MUL(s, wr, ai[p]), MUL(s, wi, ar[p])));
            }
            xr[g + j + k * h] = sr; /* in place: the inputs of (g, j) are all read */
            xi[g + j + k * h] = si;
          }
        }
    }
}

fab_status fab_fpga_sim_exec(simst *s, const fab_fpga_insn *in, size_t idx, char *err, size_t errlen) {
  switch (in->op) {
  case FAB_I_LD:
  case FAB_I_ST: dma(s, in); return FAB_OK;
  case FAB_I_GATHER: return gather(s, in, idx, err, errlen);
  case FAB_I_BFLY:
  case FAB_I_FFT:
  case FAB_I_ZERO: be_pass(s, in); return FAB_OK;
  case FAB_I_FFTQ: fftq(s, in); return FAB_OK;
  case FAB_I_MM: mm(s, in); return FAB_OK;
  case FAB_I_ATTN:
  case FAB_I_ATTNS:
  case FAB_I_ATTNM: attn(s, in); return FAB_OK;
  case FAB_I_PPU: ppu(s, in); return FAB_OK;
  case FAB_I_AMASK:
  case FAB_I_PMASK: set_mask(s, in); return FAB_OK;
  case FAB_I_LDP: ldp(s, in); return FAB_OK;
  case FAB_I_STP: return stp(s, in, idx, err, errlen);
  case FAB_I_WBP: s->wbp = *in; return FAB_OK;
  default: return FAB_E_FORMAT;
  }
}
