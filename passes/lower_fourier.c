/* lower_fourier.c — pass `lower-fourier`: FNet mixing into FFT stages.
 *
 * Requires: nothing.   Establishes: no-fourier-mix.
 *
 *   %y = fourier.mix %x f32[.., s, d]
 * becomes
 *   complex                                      f32 -> c64
 *   along d (axis r-1): bitrev + fft.stages, mixed radix: d = 2^k q1 q2 ..
 *                       (q ascending odd primes; ir/fft.c) gives
 *                         bitrev {radices = [2 x k, q1, ..]}   (no radices
 *                                                    when d = 2^k)
 *                         fft.stages {stages = [1 .. k], radix = [q1, ..]}
 *                       so 768 = 3 * 256 is the radix-2 stages on groups of
 *                       256 and one radix-3 stage; nothing when d = 1
 *   along s (axis r-2): the same
 *   real                                         c64 -> f32
 *
 * Option dense-max=<n> (default 0): a non-power-of-two axis of length <= n
 * becomes one dense `dft` instead (the old lowering; worth it only for
 * tiny lengths on a backend without radix stages).  Option max-radix=<q>
 * (default 0: any): an axis with an odd prime factor above q becomes one
 * dense `dft` (the fpga target's engines run radices up to 15).
 *
 * The order (hidden axis first, then sequence) is the definition's: a
 * real->complex pass along one axis, then a complex pass along the other.
 * Option seq-first=1 (default 0) swaps them: the DFT is separable, so the
 * result is the same up to rounding, and the last pass then runs along d
 * over whole rows, whose store can apply the residual and layer norm
 * (fpga-absorb's write-back).  seq-first=2 (the fpga target's) swaps them
 * only where that last pass is stages (d within max-radix): a d left as
 * dft runs on the matrix unit, whose complex-input DFT costs more than the
 * real-input one of the d-first order and has no such store.  The final `real` stays a separate op here: folding it
 * into the last fft.stages (real_out = 1) is fuse-elementwise's job, so
 * that this pass stays a pure expansion.  Axes are written non-negative. */
#include "pass_internal.h"

/* Does an axis of len become one dense dft (options dense-max, max-radix)? */
static bool dense_axis(int64_t len, int64_t dense_max, int64_t max_radix) {
  int64_t radices[64];
  int nr = fab_fft_factor(len, radices, 64);
  bool pow2 = pass_log2(len) >= 0;
  if (nr < 0 || (!pow2 && len <= dense_max)) return true;
  return max_radix > 0 && nr > 0 && radices[nr - 1] > max_radix;
}

/* Appends the DFT of v along `axis` (type t, c64); returns the new value. */
static int dft_axis(rw *w, int v, int axis, fab_type t, int64_t dense_max, int64_t max_radix, fab_loc loc) {
  int64_t len = t.dims[axis];
  if (len == 1) return v;
  int64_t radices[64], stages[64], odd[64];
  int nr = fab_fft_factor(len, radices, 64), k = 0, nodd = 0;
  bool pow2 = pass_log2(len) >= 0;
  if (dense_axis(len, dense_max, max_radix)) {
    v = rw_new(w, FAB_OP_DFT, &v, 1, loc);
    fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
    rw_type(w, v, t);
    return v;
  }
  for (int i = 0; i < nr; i++) {
    if (radices[i] == 2) stages[k] = k + 1, k++;
    else odd[nodd++] = radices[i];
  }
  v = rw_new(w, FAB_OP_BITREV, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  if (!pow2) fab_op_set_ints(w->m, rw_at(w, v), "radices", radices, nr);
  rw_type(w, v, t);
  v = rw_new(w, FAB_OP_FFT_STAGES, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_ints(w->m, rw_at(w, v), "stages", stages, k);
  if (nodd) fab_op_set_ints(w->m, rw_at(w, v), "radix", odd, nodd);
  rw_type(w, v, t);
  return v;
}

bool pass_lower_fourier(fab_pass_ctx *cx, fab_func *f) {
  int64_t dense_max = pass_opt(cx, "dense-max", 0);
  int64_t seq_first = pass_opt(cx, "seq-first", 0), max_radix = pass_opt(cx, "max-radix", 0);
  if (seq_first < 0 || seq_first > 2) {
    pass_error(cx, NULL, "seq-first=%lld: 0 (hidden axis first), 1 (sequence axis first) or 2 (sequence "
                         "axis first where the hidden axis is a power of two)", (long long)seq_first);
    return false;
  }
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_FOURIER_MIX) {
      rw_copy(&w, i);
      continue;
    }
    int v = w.map[op->operands[0]];
    fab_type t = rw_at(&w, v)->type;
    if (t.rank < 2 || t.dtype != FAB_F32) {
      pass_error(cx, op, "fourier.mix needs f32[.., s, d], got rank %d", t.rank);
      w.ok = false;
      break;
    }
    int r = t.rank;
    fab_type ct = t;
    ct.dtype = FAB_C64;
    v = rw_new(&w, FAB_OP_COMPLEX, &v, 1, op->loc);
    rw_type(&w, v, ct);
    bool swap = seq_first == 1 || (seq_first == 2 && !dense_axis(t.dims[r - 1], dense_max, max_radix));
    v = dft_axis(&w, v, swap ? r - 2 : r - 1, ct, dense_max, max_radix, op->loc);
    v = dft_axis(&w, v, swap ? r - 1 : r - 2, ct, dense_max, max_radix, op->loc);
    v = rw_new(&w, FAB_OP_REAL, &v, 1, op->loc);
    rw_type(&w, v, t);
    w.map[i] = v;
  }
  return rw_commit(&w);
}
