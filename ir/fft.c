/* fft.c — mixed-radix FFT plans: the digit reversal, the factorisation
 * lower-fourier uses, and the sizes of an fft.stages op's radix stages.
 * Shared by the passes, the interpreter and both backends so that they
 * agree on one definition (docs/ir.md §3, `bitrev` and `fft.stages`). */
#include "ir.h"

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
