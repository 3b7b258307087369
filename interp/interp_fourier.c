/* interp_fourier.c — Fourier ops: fourier.mix, fft.stages, bitrev, dft, fft.chirp,
 * complex, real.
 *
 * Complex values are (re, im) pairs of doubles.  The DFT convention is
 * X[k] = sum_j x[j] exp(-2 pi i j k / n), unnormalised (torch.fft.fft).
 */
#include "interp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double TWO_PI = 6.283185307179586476925286766559;

static bool is_pow2(int64_t n) { return n >= 1 && (n & (n - 1)) == 0; }

static int64_t bitrev_index(int64_t i, int bits) {
  int64_t r = 0;
  for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
  return r;
}

static int log2_exact(int64_t n) {
  int l = 0;
  while (((int64_t)1 << l) < n) l++;
  return l;
}

/* exp(-2 pi i k / n) for k reduced mod n (exact angles). */
static void root(int64_t k, int64_t n, double *re, double *im) {
  double a = -TWO_PI * (double)(k % n) / (double)n;
  *re = cos(a);
  *im = sin(a);
}

/* One decimation-in-time radix-2 stage of size m on the contiguous complex
 * line y[0..N). */
static void fft_stage(double *y, int64_t N, int64_t m) {
  int64_t h = m / 2;
  for (int64_t base = 0; base < N; base += m)
    for (int64_t j = 0; j < h; j++) {
      double wr, wi;
      root(j, m, &wr, &wi);
      double *a = y + 2 * (base + j), *b = y + 2 * (base + j + h);
      double tr = wr * b[0] - wi * b[1], ti = wr * b[1] + wi * b[0];
      double ar = a[0], ai = a[1];
      a[0] = ar + tr;
      a[1] = ai + ti;
      b[0] = ar - tr;
      b[1] = ai - ti;
    }
}

/* One radix-q decimation-in-time stage of size m on y[0..N): on each
 * group of m, for j < h = m / q, a_p = y[g + j + p h] w_m^(j p) and
 * y[g + j + k h] = sum_p a_p w_q^(p k).  t holds 4 q doubles of scratch. */
static void radix_stage(double *y, int64_t N, int64_t m, int64_t q, double *t) {
  int64_t h = m / q;
  double *a = t, *o = t + 2 * q;
  for (int64_t g = 0; g < N; g += m)
    for (int64_t j = 0; j < h; j++) {
      for (int64_t p = 0; p < q; p++) {
        double wr, wi, *x = y + 2 * (g + j + p * h);
        root(j * p, m, &wr, &wi);
        a[2 * p] = wr * x[0] - wi * x[1];
        a[2 * p + 1] = wr * x[1] + wi * x[0];
      }
      for (int64_t k = 0; k < q; k++) {
        double sr = 0, si = 0;
        for (int64_t p = 0; p < q; p++) {
          double wr, wi;
          root(p * k, q, &wr, &wi);
          sr += a[2 * p] * wr - a[2 * p + 1] * wi;
          si += a[2 * p] * wi + a[2 * p + 1] * wr;
        }
        o[2 * k] = sr;
        o[2 * k + 1] = si;
      }
      for (int64_t k = 0; k < q; k++) {
        y[2 * (g + j + k * h)] = o[2 * k];
        y[2 * (g + j + k * h) + 1] = o[2 * k + 1];
      }
    }
}

bool interp_dft_strided(double *x, int64_t n, int64_t stride) {
  double *t = malloc(sizeof(double) * 2 * (size_t)n);
  double *u = malloc(sizeof(double) * 2 * (size_t)n);
  if (!t || !u) {
    free(t);
    free(u);
    return false;
  }
  for (int64_t j = 0; j < n; j++) {
    t[2 * j] = x[2 * j * stride];
    t[2 * j + 1] = x[2 * j * stride + 1];
  }
  if (is_pow2(n)) {
    int bits = log2_exact(n);
    for (int64_t j = 0; j < n; j++) {
      int64_t r = bitrev_index(j, bits);
      u[2 * j] = t[2 * r];
      u[2 * j + 1] = t[2 * r + 1];
    }
    for (int64_t m = 2; m <= n; m *= 2) fft_stage(u, n, m);
  } else {
    double *w = malloc(sizeof(double) * 2 * (size_t)n);
    if (!w) {
      free(t);
      free(u);
      return false;
    }
    for (int64_t k = 0; k < n; k++) root(k, n, &w[2 * k], &w[2 * k + 1]);
    for (int64_t k = 0; k < n; k++) {
      double sr = 0, si = 0;
      for (int64_t j = 0, jk = 0; j < n; j++, jk = (jk + k) % n) {
        double wr = w[2 * jk], wi = w[2 * jk + 1];
        sr += t[2 * j] * wr - t[2 * j + 1] * wi;
        si += t[2 * j] * wi + t[2 * j + 1] * wr;
      }
      u[2 * k] = sr;
      u[2 * k + 1] = si;
    }
    free(w);
  }
  for (int64_t j = 0; j < n; j++) {
    x[2 * j * stride] = u[2 * j];
    x[2 * j * stride + 1] = u[2 * j + 1];
  }
  free(t);
  free(u);
  return true;
}

bool interp_run_FOURIER_MIX(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 2) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  int r = x->type.rank;
  int64_t s = x->type.dims[r - 2], d = x->type.dims[r - 1], plane = s * d;
  if (!interp_alloc_like(c, op, out, x)) return false;
  double *z = malloc(sizeof(double) * 2 * (size_t)plane);
  if (!z) return interp_err(c, op, "out of memory");
  bool ok = true;
  for (int64_t b = 0; ok && b < x->n / plane; b++) {
    for (int64_t i = 0; i < plane; i++) {
      z[2 * i] = x->d[b * plane + i];
      z[2 * i + 1] = 0;
    }
    for (int64_t i = 0; ok && i < s; i++) ok = interp_dft_strided(z + 2 * i * d, d, 1);
    for (int64_t j = 0; ok && j < d; j++) ok = interp_dft_strided(z + 2 * j, s, d);
    for (int64_t i = 0; i < plane; i++) out->d[b * plane + i] = z[2 * i];
  }
  free(z);
  return ok ? true : interp_err(c, op, "out of memory");
}

/* Splits a value into outer x N x inner around `axis`. */
static void lines(const ival *x, int axis, int64_t *outer, int64_t *N, int64_t *inner) {
  *outer = interp_dims_prod(x->type.dims, 0, axis);
  *N = x->type.dims[axis];
  *inner = interp_dims_prod(x->type.dims, axis + 1, x->type.rank);
}

static bool get_axis(ictx *c, const fab_op *op, const ival *x, int *axis) {
  int64_t a;
  if (!interp_req_int(c, op, "axis", &a)) return false;
  return interp_norm_axis(c, op, a, x->type.rank, axis);
}

bool interp_run_FFT_STAGES(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_C64)) return false;
  const ival *x = interp_arg(c, op, 0);
  int axis;
  if (!get_axis(c, op, x, &axis)) return false;
  const fab_attr *st = fab_op_attr(op, "stages"), *rq = fab_op_attr(op, "radix");
  if (!st || st->kind != FAB_ATTR_INTS) return interp_err(c, op, "missing integer list attribute 'stages'");
  if (rq && rq->kind != FAB_ATTR_INTS) return interp_err(c, op, "attribute 'radix' must be an integer list");
  int nq = rq ? rq->nints : 0;
  int64_t outer, N, inner, Q = 1, qmax = 1;
  lines(x, axis, &outer, &N, &inner);
  for (int i = 0; i < nq; i++) {
    if (rq->ints[i] < 2 || rq->ints[i] > FAB_FFT_MAX_RADIX || N % (Q * rq->ints[i]))
      return interp_err(c, op, "radix %lld does not fit an axis of length %lld", (long long)rq->ints[i], (long long)N);
    Q *= rq->ints[i];
    if (rq->ints[i] > qmax) qmax = rq->ints[i];
  }
  for (int i = 0; i < st->nints; i++)
    if (st->ints[i] < 1 || st->ints[i] > 62 || (N / Q) % ((int64_t)1 << st->ints[i]))
      return interp_err(c, op, "stage log2 size %lld out of range for length %lld", (long long)st->ints[i],
                  (long long)N);
  bool real_out = fab_op_int(op, "real_out", 0) != 0;
  if (!interp_alloc(c, op, out, real_out ? FAB_F32 : FAB_C64, x->type.rank, x->type.dims)) return false;
  double *y = malloc(sizeof(double) * 2 * (size_t)N), *t = malloc(sizeof(double) * 4 * (size_t)qmax);
  if (!y || !t) {
    free(y);
    free(t);
    return interp_err(c, op, "out of memory");
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      for (int64_t j = 0; j < N; j++) {
        int64_t e = (o * N + j) * inner + in;
        y[2 * j] = x->d[2 * e];
        y[2 * j + 1] = x->d[2 * e + 1];
      }
      for (int i = 0; i < st->nints; i++) fft_stage(y, N, (int64_t)1 << st->ints[i]);
      for (int i = 0; i < nq; i++) radix_stage(y, N, fab_fft_radix_size(N, rq->ints, nq, i), rq->ints[i], t);
      for (int64_t j = 0; j < N; j++) {
        int64_t e = (o * N + j) * inner + in;
        if (real_out) {
          out->d[e] = y[2 * j];
        } else {
          out->d[2 * e] = y[2 * j];
          out->d[2 * e + 1] = y[2 * j + 1];
        }
      }
    }
  free(y);
  free(t);
  return true;
}

bool interp_run_BITREV(ictx *c, const fab_op *op, ival *out) {
  const ival *x = interp_arg(c, op, 0);
  if (!interp_want_rank(c, op, 0, 1)) return false;
  int axis;
  if (!get_axis(c, op, x, &axis)) return false;
  int64_t outer, N, inner;
  lines(x, axis, &outer, &N, &inner);
  const fab_attr *ra = fab_op_attr(op, "radices");
  if (ra) {
    int64_t prod = 1;
    for (int i = 0; ra->kind == FAB_ATTR_INTS && i < ra->nints && prod <= N; i++)
      prod = ra->ints[i] >= 2 ? prod * ra->ints[i] : N + 1;
    if (ra->kind != FAB_ATTR_INTS || prod != N)
      return interp_err(c, op, "radices do not multiply to the axis length %lld", (long long)N);
  } else if (!is_pow2(N)) {
    return interp_err(c, op, "axis length %lld is not a power of two", (long long)N);
  }
  if (!interp_alloc_like(c, op, out, x)) return false;
  int bits = log2_exact(N), per = x->type.dtype == FAB_C64 ? 2 : 1;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < N; j++) {
      int64_t r = ra ? fab_fft_digitrev(j, ra->ints, ra->nints) : bitrev_index(j, bits);
      int64_t src = (o * N + r) * inner, dst = (o * N + j) * inner;
      memcpy(out->d + dst * per, x->d + src * per, sizeof(double) * (size_t)(inner * per));
    }
  return true;
}

bool interp_run_DFT(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_C64)) return false;
  const ival *x = interp_arg(c, op, 0);
  int axis;
  if (!get_axis(c, op, x, &axis)) return false;
  int64_t outer, N, inner;
  lines(x, axis, &outer, &N, &inner);
  if (!interp_alloc_like(c, op, out, x)) return false;
  memcpy(out->d, x->d, sizeof(double) * 2 * (size_t)x->n);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++)
      if (!interp_dft_strided(out->d + 2 * (o * N * inner + in), N, inner)) return interp_err(c, op, "out of memory");
  return true;
}

bool interp_run_COMPLEX(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_alloc(c, op, out, FAB_C64, x->type.rank, x->type.dims)) return false;
  for (int64_t i = 0; i < x->n; i++) out->d[2 * i] = x->d[i];
  return true;
}

bool interp_run_REAL(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_dtype(c, op, 0, FAB_C64)) return false;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_alloc(c, op, out, FAB_F32, x->type.rank, x->type.dims)) return false;
  for (int64_t i = 0; i < x->n; i++) out->d[i] = x->d[2 * i];
  return true;
}

bool interp_run_FFT_CHIRP(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_C64)) return false;
  const ival *x = interp_arg(c, op, 0);
  int axis;
  int64_t n;
  if (!get_axis(c, op, x, &axis) || !interp_req_int(c, op, "n", &n)) return false;
  int64_t outer, N, inner;
  lines(x, axis, &outer, &N, &inner);
  bool spectrum = fab_op_int(op, "spectrum", 0) != 0;
  if (n < 1 || n > FAB_FFT_MAX_CHIRP || (spectrum && (!is_pow2(N) || N < 2 * n - 1)))
    return interp_err(c, op, "n = %lld does not fit an axis of length %lld", (long long)n, (long long)N);
  if (!interp_alloc_like(c, op, out, x)) return false;
  double *f = malloc(sizeof(double) * 2 * (size_t)N);
  if (!f) return interp_err(c, op, "out of memory");
  if (spectrum) fab_fft_chirp_spectrum(n, N, f);
  else
    for (int64_t j = 0; j < N; j++) fab_fft_chirp(n, j, &f[2 * j], &f[2 * j + 1]);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < N; j++)
      for (int64_t in = 0; in < inner; in++) {
        int64_t e = 2 * ((o * N + j) * inner + in);
        double xr = x->d[e], xi = x->d[e + 1];
        out->d[e] = xr * f[2 * j] - xi * f[2 * j + 1];
        out->d[e + 1] = xr * f[2 * j + 1] + xi * f[2 * j];
      }
  free(f);
  return true;
}
