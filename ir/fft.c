/* fft.c — mixed-radix FFT plans: the digit reversal, the factorisation
 * lower-fourier uses, and the sizes of an fft.stages op's radix stages;
 * Bluestein's chirp factors (fft.chirp, lower-bluestein).
 * Shared by the passes, the interpreter and both backends so that they
 * agree on one definition (docs/ir.md §3, `bitrev` and `fft.stages`). */
#include "ir.h"

#include <math.h>

int64_t fab_fft_digitrev(int64_t pos, const int64_t *radices, int nradices) {
  int64_t i = 0;
  for (int s = 0; s < nradices; s++) { /* digit s of pos (radix r_s, least significant first) */
    i = i * radices[s] + pos % radices[s];
    pos /= radices[s];
  }
  return i;
}

int fab_fft_factor(int64_t n, int64_t *radices, int max) {
  int k = 0;
  while (n % 2 == 0 && k < max) radices[k++] = 2, n /= 2;
  for (int64_t p = 3; n > 1 && k < max;) {
    if (p * p > n) p = n; /* n is prime */
    if (n % p == 0) {
      radices[k++] = p;
      n /= p;
    } else {
      p += 2;
    }
  }
  return n == 1 ? k : -1;
}

int64_t fab_fft_radix_size(int64_t n, const int64_t *radix, int nradix, int t) {
  for (int u = t + 1; u < nradix; u++) n /= radix[u];
  return n;
}

int64_t fab_fft_bluestein_len(int64_t n) {
  int64_t M = 1;
  while (M < 2 * n - 1) M *= 2;
  return M;
}

void fab_fft_chirp(int64_t n, int64_t j, double *re, double *im) {
  int64_t r = j % (2 * n);
  double a = 3.141592653589793238462643383279 * (double)(r * r % (2 * n)) / (double)n;
  *re = cos(a);
  *im = sin(a);
}

/* In-place forward DFT of y[0..M) (interleaved), M a power of two:
 * bit reversal, then radix-2 stages with exact-angle twiddles. */
static void fft_double(double *y, int64_t M) {
  for (int64_t i = 1, j = 0; i < M; i++) {
    int64_t bit = M >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j)
      for (int p = 0; p < 2; p++) {
        double t = y[2 * i + p];
        y[2 * i + p] = y[2 * j + p];
        y[2 * j + p] = t;
      }
  }
  for (int64_t m = 2; m <= M; m *= 2)
    for (int64_t j = 0; j < m / 2; j++) {
      double a = -6.283185307179586476925286766559 * (double)j / (double)m, wr = cos(a), wi = sin(a);
      for (int64_t g = 0; g < M; g += m) {
        double *u = y + 2 * (g + j), *v = y + 2 * (g + j + m / 2);
        double tr = wr * v[0] - wi * v[1], ti = wr * v[1] + wi * v[0];
        v[0] = u[0] - tr;
        v[1] = u[1] - ti;
        u[0] += tr;
        u[1] += ti;
      }
    }
}

bool fab_fft_chirp_spectrum(int64_t n, int64_t M, double *out) {
  if (n < 1 || n > FAB_FFT_MAX_CHIRP || M < 2 * n - 1 || (M & (M - 1))) return false;
  for (int64_t i = 0; i < 2 * M; i++) out[i] = 0;
  for (int64_t t = 0; t < 2 * n - 1; t++) { /* b[(M - t) mod M] = conj(chirp t) / M */
    double re, im;
    fab_fft_chirp(n, t, &re, &im);
    int64_t at = (M - t) % M;
    out[2 * at] = re / (double)M;
    out[2 * at + 1] = -im / (double)M;
  }
  fft_double(out, M);
  return true;
}
