/* rng.c — the runtime's deterministic RNG: xoshiro256** (Blackman & Vigna)
 * seeded by splitmix64, so any 64-bit seed (even 0) gives a good state and
 * the same seed gives the same stream on every platform. */
#include "fab_tensor.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

void fab_rng_seed(fab_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fab_rng_next(fab_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits fill a double's mantissa exactly: uniform on a grid of
 * 2^-53 in [0, 1). */
double fab_rng_uniform(fab_rng *r) { return (double)(fab_rng_next(r) >> 11) * 0x1p-53; }

/* Box–Muller, one value per call (the state has no room to cache the
 * second; determinism only needs the same calls in the same order).
 * 1 - u keeps the log argument in (0, 1]. */
double fab_rng_normal(fab_rng *r) {
  double u1 = 1.0 - fab_rng_uniform(r);
  double u2 = fab_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

/* Rejection of the low (2^64 mod n) values makes every residue equally
 * likely.  n <= 0 has no valid result: returns 0. */
int64_t fab_rng_below(fab_rng *r, int64_t n) {
  if (n <= 0) return 0;
  uint64_t un = (uint64_t)n;
  uint64_t threshold = (0 - un) % un;
  for (;;) {
    uint64_t x = fab_rng_next(r);
    if (x >= threshold) return (int64_t)(x % un);
  }
}
