/* lower_fourier.c — pass `lower-fourier`: FNet mixing into FFT stages.
 *
 * Requires: nothing.   Establishes: no-fourier-mix.
 *
 *   %y = fourier.mix %x f32[.., s, d]
 * becomes
 *   complex                                      f32 -> c64
 *   along d (axis r-1): bitrev + fft.stages {stages = [1 .. log2 d]}
 *                       (dft instead when d is not a power of two;
 *                        nothing when d = 1, the DFT of length 1 is 1)
 *   along s (axis r-2): the same
 *   real                                         c64 -> f32
 *
 * The order (hidden axis first, then sequence) is the definition's and the
 * hardware's: a real->complex pass along one axis, then a complex pass
 * along the other.  The final `real` stays a separate op here: folding it
 * into the last fft.stages (real_out = 1) is fuse-elementwise's job, so
 * that this pass stays a pure expansion.  Axes are written non-negative. */
#include "pass_internal.h"

/* Appends the DFT of v along `axis` (type t, c64); returns the new value. */
static int dft_axis(rw *w, int v, int axis, fab_type t, fab_loc loc) {
  int64_t len = t.dims[axis];
  if (len == 1) return v;
  int l = pass_log2(len);
  if (l < 0) {
    v = rw_new(w, FAB_OP_DFT, &v, 1, loc);
    fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
    rw_type(w, v, t);
    return v;
  }
  v = rw_new(w, FAB_OP_BITREV, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  rw_type(w, v, t);
  int64_t stages[64];
  for (int k = 0; k < l; k++) stages[k] = k + 1;
  v = rw_new(w, FAB_OP_FFT_STAGES, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_ints(w->m, rw_at(w, v), "stages", stages, l);
  rw_type(w, v, t);
  return v;
}

bool pass_lower_fourier(fab_pass_ctx *cx, fab_func *f) {
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
    v = dft_axis(&w, v, r - 1, ct, op->loc);
    v = dft_axis(&w, v, r - 2, ct, op->loc);
    v = rw_new(&w, FAB_OP_REAL, &v, 1, op->loc);
    rw_type(&w, v, t);
    w.map[i] = v;
  }
  return rw_commit(&w);
}
