/* codegen_fft_mixed.c — what fft.stages needs beyond radix 2: the load
 * permutation of a digit-reversed axis (bitrev {radices}) and the radix-q
 * stages of its `radix` list, on the same lines the radix-2 code works on
 * (SIMD lanes of rows or columns, or scalar elements).
 *
 * A radix-q stage of size m (h = m / q) takes, for each group g of m and
 * j < h, a_p = y[g + j + p h] w_m^(j p) (twiddles from a per-stage table
 * computed in double) and writes y[g + j + k h] = sum_p a_p w_q^(p k).
 * For odd q <= MAX_UNROLLED the q-point DFT is unrolled with its real
 * constants and the symmetric pairs a_p +- a_(q-p): (q-1)^2 real
 * multiplies per butterfly instead of 4 q^2 (radix 3: 4, radix 5: 16,
 * radix 7: 36).  Larger (prime) radices run the q-point DFT as a loop
 * over a table of q roots. */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

enum { MAX_UNROLLED = 13 };

bool cg_fft_perm_init(cpu_cg *c, cg_fft_perm *p, int64_t len, const int64_t *radices, int nr) {
  p->bits = 0;
  p->src = p->dst = NULL;
  if (!radices) {
    while (((int64_t)1 << p->bits) < len) p->bits++;
    return true;
  }
  int32_t *src = malloc(sizeof(int32_t) * (size_t)len), *dst = malloc(sizeof(int32_t) * (size_t)len);
  bool ok = src && dst && len <= INT32_MAX;
  for (int64_t q = 0; ok && q < len; q++) {
    src[q] = (int32_t)fab_fft_digitrev(q, radices, nr);
    dst[src[q]] = (int32_t)q;
  }
  if (ok) {
    p->src = cg_const_i32_array(c, src, len, "digitrev_src");
    p->dst = cg_const_i32_array(c, dst, len, "digitrev_dst");
  }
  free(src);
  free(dst);
  if (!ok || !p->src || !p->dst) CG_ERR(c, "cpu backend: out of memory");
  return ok && p->src && p->dst;
}

static LLVMValueRef table_at(cpu_cg *c, LLVMValueRef tab, LLVMValueRef i) {
  LLVMValueRef v = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, tab, i), "");
  return LLVMBuildZExt(c->b, v, c->t_i64, "");
}

LLVMValueRef cg_fft_perm_src(cpu_cg *c, const cg_fft_perm *p, LLVMValueRef q) {
  return p->src ? table_at(c, p->src, q) : cg_bitrev(c, q, p->bits);
}

LLVMValueRef cg_fft_perm_dst(cpu_cg *c, const cg_fft_perm *p, LLVMValueRef i) {
  return p->dst ? table_at(c, p->dst, i) : cg_bitrev(c, i, p->bits);
}

/* ---- radix-q stages ------------------------------------------------------ */

typedef struct cplx {
  LLVMValueRef re, im;
} cplx;

static LLVMValueRef splat(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef s) {
  return l->lanes > 1 ? cg_vsplat(c, s, l->lanes) : s;
}

static LLVMValueRef konst(cpu_cg *c, const cg_fft_lines *l, double v) { return splat(c, l, cg_f32(c, v)); }

static cplx load_at(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef pos) {
  LLVMValueRef i = cg_add(c, l->base, cg_mulc(c, pos, l->pstride));
  if (l->lanes > 1)
    return (cplx){cg_vload(c, l->buf, i, l->align), cg_vload(c, l->buf, cg_addc(c, i, l->imoff), l->align)};
  return (cplx){cg_loadf(c, l->buf, i), cg_loadf(c, l->buf, cg_addc(c, i, l->imoff))};
}

static void store_at(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef pos, cplx v) {
  LLVMValueRef i = cg_add(c, l->base, cg_mulc(c, pos, l->pstride));
  if (l->lanes > 1) {
    cg_vstore(c, v.re, l->buf, i, l->align);
    cg_vstore(c, v.im, l->buf, cg_addc(c, i, l->imoff), l->align);
  } else {
    cg_storef(c, v.re, l->buf, i);
    cg_storef(c, v.im, l->buf, cg_addc(c, i, l->imoff));
  }
}

static LLVMValueRef vadd(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(c->b, a, b, ""); }
static LLVMValueRef vsub(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(c->b, a, b, ""); }

/* v * (wr + i wi) */
static cplx cmul(cpu_cg *c, cplx v, LLVMValueRef wr, LLVMValueRef wi) {
  LLVMValueRef re = cg_fma(c, wr, v.re, LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, wi, v.im, ""), ""));
  LLVMValueRef im = cg_fma(c, wr, v.im, LLVMBuildFMul(c->b, wi, v.re, ""));
  return (cplx){re, im};
}

/* acc + k * v (k a real constant; acc NULL: k * v) */
static LLVMValueRef madd(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef acc, double k, LLVMValueRef v) {
  if (!acc) return LLVMBuildFMul(c->b, konst(c, l, k), v, "");
  return cg_fma(c, konst(c, l, k), v, acc);
}

/* The q-point DFT of a[0..q) into x[0..q), q odd: with s_p = a_p + a_(q-p)
 * and d_p = a_p - a_(q-p) (p = 1..(q-1)/2), X_k = A_k - i B_k and
 * X_(q-k) = A_k + i B_k, A_k = a_0 + sum_p cos(2 pi p k / q) s_p,
 * B_k = sum_p sin(2 pi p k / q) d_p. */
static void dft_odd(cpu_cg *c, const cg_fft_lines *l, int q, const cplx *a, cplx *x) {
  int H = (q - 1) / 2;
  cplx s[MAX_UNROLLED / 2 + 1], d[MAX_UNROLLED / 2 + 1];
  LLVMValueRef sr = a[0].re, si = a[0].im;
  for (int p = 1; p <= H; p++) {
    s[p] = (cplx){vadd(c, a[p].re, a[q - p].re), vadd(c, a[p].im, a[q - p].im)};
    d[p] = (cplx){vsub(c, a[p].re, a[q - p].re), vsub(c, a[p].im, a[q - p].im)};
    sr = vadd(c, sr, s[p].re);
    si = vadd(c, si, s[p].im);
  }
  x[0] = (cplx){sr, si};
  for (int k = 1; k <= H; k++) {
    LLVMValueRef ar = a[0].re, ai = a[0].im, br = NULL, bi = NULL;
    for (int p = 1; p <= H; p++) {
      double th = 2.0 * M_PI * (double)((p * k) % q) / (double)q;
      ar = madd(c, l, ar, cos(th), s[p].re);
      ai = madd(c, l, ai, cos(th), s[p].im);
      br = madd(c, l, br, sin(th), d[p].re);
      bi = madd(c, l, bi, sin(th), d[p].im);
    }
    x[k] = (cplx){vadd(c, ar, bi), vsub(c, ai, br)};
    x[q - k] = (cplx){vsub(c, ar, bi), vadd(c, ai, br)};
  }
}

/* The q-point DFT for even q <= MAX_UNROLLED: every term, constants
 * folded (radix 2 and 4 need no multiply). */
static void dft_even(cpu_cg *c, const cg_fft_lines *l, int q, const cplx *a, cplx *x) {
  for (int k = 0; k < q; k++) {
    LLVMValueRef re = a[0].re, im = a[0].im;
    for (int p = 1; p < q; p++) {
      int e = (p * k) % q;
      double th = 2.0 * M_PI * (double)e / (double)q, cs = cos(th), sn = sin(th);
      if (4 * e == q || 4 * e == 3 * q) cs = 0;
      if (2 * e == q) sn = 0;
      /* a (cs - i sn) = a.re cs + a.im sn + i (a.im cs - a.re sn) */
      if (cs != 0) {
        re = madd(c, l, re, cs, a[p].re);
        im = madd(c, l, im, cs, a[p].im);
      }
      if (sn != 0) {
        re = madd(c, l, re, sn, a[p].im);
        im = madd(c, l, im, -sn, a[p].re);
      }
    }
    x[k] = (cplx){re, im};
  }
}

/* Twiddles w_m^(j p), j < h, p = 1..q-1, at ((j (q - 1) + p - 1) * 2. */
static LLVMValueRef stage_twiddles(cpu_cg *c, int64_t m, int64_t q) {
  int64_t h = m / q, n = 2 * h * (q - 1);
  float *tw = malloc(sizeof(float) * (size_t)(n ? n : 1));
  if (!tw) return NULL;
  for (int64_t j = 0; j < h; j++)
    for (int64_t p = 1; p < q; p++) {
      double a = -2.0 * M_PI * (double)((j * p) % m) / (double)m;
      tw[2 * (j * (q - 1) + p - 1)] = (float)cos(a);
      tw[2 * (j * (q - 1) + p - 1) + 1] = (float)sin(a);
    }
  LLVMValueRef t = cg_const_f32_array(c, tw, n, "radix_twiddles");
  free(tw);
  return t;
}

/* a_p = y[pos0 + p h] times its twiddle (p >= 1). */
static cplx twiddled(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef tab, LLVMValueRef pos0, LLVMValueRef j,
                     int64_t h, int64_t q, int64_t p) {
  cplx v = load_at(c, l, cg_addc(c, pos0, p * h));
  if (p == 0) return v;
  LLVMValueRef ti = cg_mulc(c, cg_addc(c, cg_mulc(c, j, q - 1), p - 1), 2);
  return cmul(c, v, splat(c, l, cg_loadf(c, tab, ti)), splat(c, l, cg_loadf(c, tab, cg_addc(c, ti, 1))));
}

/* A large radix: the twiddled inputs into a stack array, then per output
 * k a loop over p with the root index p k mod q kept incrementally. */
static void butterfly_loop(cpu_cg *c, const cg_fft_lines *l, LLVMValueRef tab, LLVMValueRef roots,
                           LLVMValueRef arr, LLVMValueRef pos0, LLVMValueRef j, int64_t h, int64_t q) {
  LLVMTypeRef et = l->lanes > 1 ? c->t_vf : c->t_f32;
  LLVMValueRef widx = cg_alloca(c, c->t_i64, "ridx");
  cg_loop p = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, q), "p");
  cplx v = load_at(c, l, cg_add(c, pos0, cg_mulc(c, p.iv, h)));
  LLVMValueRef pz = LLVMBuildICmp(c->b, LLVMIntEQ, p.iv, cg_i64(c, 0), "");
  LLVMValueRef ti = cg_mulc(c, cg_add(c, cg_mulc(c, j, q - 1), LLVMBuildSelect(c->b, pz, cg_i64(c, 0),
                                                                                 cg_addc(c, p.iv, -1), "")), 2);
  LLVMValueRef wr = LLVMBuildSelect(c->b, pz, cg_f32(c, 1), cg_loadf(c, tab, ti), "");
  LLVMValueRef wi = LLVMBuildSelect(c->b, pz, cg_f32(c, 0), cg_loadf(c, tab, cg_addc(c, ti, 1)), "");
  v = cmul(c, v, splat(c, l, wr), splat(c, l, wi));
  LLVMBuildStore(c->b, v.re, cg_gep(c, et, arr, cg_mulc(c, p.iv, 2)));
  LLVMBuildStore(c->b, v.im, cg_gep(c, et, arr, cg_addc(c, cg_mulc(c, p.iv, 2), 1)));
  cg_loop_end_nounroll(c, &p);
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, q), "k");
  LLVMBuildStore(c->b, cg_i64(c, 0), widx);
  LLVMValueRef accr = cg_alloca(c, et, "accr"), acci = cg_alloca(c, et, "acci");
  LLVMBuildStore(c->b, konst(c, l, 0), accr);
  LLVMBuildStore(c->b, konst(c, l, 0), acci);
  cg_loop pp = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, q), "pp");
  LLVMValueRef wix = LLVMBuildLoad2(c->b, c->t_i64, widx, "");
  LLVMValueRef w2 = cg_mulc(c, wix, 2);
  LLVMValueRef rr = splat(c, l, cg_loadf(c, roots, w2)), ri = splat(c, l, cg_loadf(c, roots, cg_addc(c, w2, 1)));
  cplx a = {LLVMBuildLoad2(c->b, et, cg_gep(c, et, arr, cg_mulc(c, pp.iv, 2)), ""),
            LLVMBuildLoad2(c->b, et, cg_gep(c, et, arr, cg_addc(c, cg_mulc(c, pp.iv, 2), 1)), "")};
  cplx t = cmul(c, a, rr, ri);
  LLVMBuildStore(c->b, vadd(c, LLVMBuildLoad2(c->b, et, accr, ""), t.re), accr);
  LLVMBuildStore(c->b, vadd(c, LLVMBuildLoad2(c->b, et, acci, ""), t.im), acci);
  LLVMValueRef nx = cg_add(c, wix, k.iv);
  LLVMValueRef wrap = LLVMBuildICmp(c->b, LLVMIntSGE, nx, cg_i64(c, q), "");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, wrap, cg_addc(c, nx, -q), nx, ""), widx);
  cg_loop_end_nounroll(c, &pp);
  store_at(c, l, cg_add(c, pos0, cg_mulc(c, k.iv, h)),
           (cplx){LLVMBuildLoad2(c->b, et, accr, ""), LLVMBuildLoad2(c->b, et, acci, "")});
  cg_loop_end_nounroll(c, &k);
}

static bool radix_stage(cpu_cg *c, const cg_fft_lines *l, int64_t len, int64_t m, int64_t q) {
  int64_t h = m / q;
  LLVMValueRef tab = stage_twiddles(c, m, q), roots = NULL, arr = NULL;
  if (!tab) return false;
  if (q > MAX_UNROLLED) {
    float *w = malloc(sizeof(float) * 2 * (size_t)q);
    if (!w) return false;
    for (int64_t k = 0; k < q; k++) {
      double a = -2.0 * M_PI * (double)k / (double)q;
      w[2 * k] = (float)cos(a);
      w[2 * k + 1] = (float)sin(a);
    }
    roots = cg_const_f32_array(c, w, 2 * q, "radix_roots");
    free(w);
    LLVMTypeRef et = l->lanes > 1 ? c->t_vf : c->t_f32;
    arr = cg_alloca(c, LLVMArrayType(et, (unsigned)(2 * q)), "radix_in");
    arr = LLVMBuildBitCast(c->b, arr, LLVMPointerType(et, 0), "");
  }
  cg_loop t = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len / q), "bfly");
  LLVMValueRef g = LLVMBuildUDiv(c->b, t.iv, cg_i64(c, h), ""), j = LLVMBuildURem(c->b, t.iv, cg_i64(c, h), "");
  LLVMValueRef pos0 = cg_add(c, cg_mulc(c, g, m), j);
  if (q > MAX_UNROLLED) {
    butterfly_loop(c, l, tab, roots, arr, pos0, j, h, q);
  } else {
    cplx a[MAX_UNROLLED], x[MAX_UNROLLED];
    for (int64_t p = 0; p < q; p++) a[p] = twiddled(c, l, tab, pos0, j, h, q, p);
    if (q % 2) dft_odd(c, l, (int)q, a, x);
    else dft_even(c, l, (int)q, a, x);
    for (int64_t k = 0; k < q; k++) store_at(c, l, cg_addc(c, pos0, k * h), x[k]);
  }
  cg_loop_end_nounroll(c, &t);
  return true;
}

bool cg_fft_radix_stages(cpu_cg *c, const cg_fft_lines *l, int64_t len, const fab_attr *radix) {
  if (!radix) return true;
  for (int t = 0; t < radix->nints; t++)
    if (!radix_stage(c, l, len, fab_fft_radix_size(len, radix->ints, radix->nints, t), radix->ints[t])) {
      CG_ERR(c, "cpu backend: out of memory");
      return false;
    }
  return true;
}
