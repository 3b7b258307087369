/* lower_bluestein.c — pass `lower-bluestein`: DFTs of lengths with a
 * large prime factor through power-of-two FFTs (Bluestein's algorithm).
 *
 * Requires: nothing.   Establishes: nothing.
 *
 * lower-fourier writes the DFT of length n along an axis as
 *   bitrev {radices = factors of n} -> fft.stages {stages, radix = odd primes}
 * whose radix-p stage costs O(p) per element: a prime p is a dense DFT.
 * Where that costs more than Bluestein (the rule below), the pair becomes,
 * with M the smallest power of two >= 2n - 1 and c_j = exp(i pi j^2 / n),
 *   fft.chirp {n}                   x_j c_j
 *   pad {size = M}                  zeros up to M
 *   bitrev, fft.stages [1 .. log M] A = DFT_M(a)
 *   fft.chirp {n, spectrum = 1}     A . B
 *   bitrev, fft.stages [1 .. log M] Z = DFT_M(A . B)
 *   slice {start = 0, size = n}
 *   fft.chirp {n}                   X_k = c_k Z_k
 * Since jk = ((j + k)^2 - j^2 - k^2) / 2, X_k = c_k sum_j x_j c_j g_(j+k),
 * g_t = conj(c_t): a correlation, which two forward transforms give when B
 * is the spectrum of g reversed (ir/fft.c; docs/ir.md `fft.chirp`).  No
 * inverse transform, no conjugation: only ops the backends already run
 * plus the constant multiplies.
 *
 * The rule: p = the largest prime factor of n.  Bluestein when p >=
 * min-prime (default 17: radices up to 13 have vectorised CPU kernels) and
 * n p > cost/100 * M log2 M (default cost=400, measured on the CPU
 * backend: docs/cpu.md §4).  min-prime=3,cost=0 turns every length that is
 * not a power of two (the tests' setting). */
#include "pass_internal.h"

enum { DEFAULT_MIN_PRIME = 17, DEFAULT_COST = 400 };

/* The largest prime factor of n (1 for n = 1). */
static int64_t largest_prime(int64_t n) {
  int64_t f[64];
  int k = fab_fft_factor(n, f, 64);
  return k > 0 ? f[k - 1] : 1;
}

/* Is fft.stages op (operand: bitrev b) lower-fourier's complete transform
 * of its axis, of length n: b reverses n's factors (the 2s first, none
 * for a power of two) and op runs stages 1..k and then the odd ones? */
static bool complete_pair(const fab_op *b, const fab_op *op, int64_t n) {
  if (fab_op_int(op, "real_out", 0) || b->code != FAB_OP_BITREV) return false;
  int64_t f[64];
  int nf = fab_fft_factor(n, f, 64), k = 0;
  while (k < nf && f[k] == 2) k++;
  const fab_attr *ra = fab_op_attr(b, "radices"), *st = fab_op_attr(op, "stages"), *rq = fab_op_attr(op, "radix");
  if (nf < 0 || !st || st->kind != FAB_ATTR_INTS || st->nints != k) return false;
  if (k == nf ? ra || rq : !ra || !rq || ra->kind != FAB_ATTR_INTS || ra->nints != nf ||
                               rq->kind != FAB_ATTR_INTS || rq->nints != nf - k)
    return false;
  for (int i = 0; i < k; i++)
    if (st->ints[i] != i + 1) return false;
  for (int i = 0; ra && i < nf; i++)
    if (ra->ints[i] != f[i] || (i >= k && rq->ints[i - k] != f[i])) return false;
  return true;
}

static int axis_norm(const fab_op *op) {
  int64_t a = fab_op_int(op, "axis", -1);
  return (int)(a < 0 ? a + op->type.rank : a);
}

/* The rule of the header comment. */
static bool wanted(const fab_pass_ctx *cx, int64_t n) {
  int64_t p = largest_prime(n), M = fab_fft_bluestein_len(n);
  int64_t min_prime = pass_opt(cx, "min-prime", DEFAULT_MIN_PRIME), cost = pass_opt(cx, "cost", DEFAULT_COST);
  if (p < 3 || p < min_prime) return false;
  return (double)n * (double)p * 100.0 > (double)cost * (double)M * (double)pass_log2(M);
}

static int chirp(rw *w, int v, int axis, int64_t n, bool spectrum, fab_type t, fab_loc loc) {
  v = rw_new(w, FAB_OP_FFT_CHIRP, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_int(w->m, rw_at(w, v), "n", n);
  if (spectrum) fab_op_set_int(w->m, rw_at(w, v), "spectrum", 1);
  rw_type(w, v, t);
  return v;
}

static int fft_pow2(rw *w, int v, int axis, fab_type t, fab_loc loc) {
  int64_t stages[64];
  int k = pass_log2(t.dims[axis]);
  for (int i = 0; i < k; i++) stages[i] = i + 1;
  v = rw_new(w, FAB_OP_BITREV, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  rw_type(w, v, t);
  v = rw_new(w, FAB_OP_FFT_STAGES, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_ints(w->m, rw_at(w, v), "stages", stages, k);
  rw_type(w, v, t);
  return v;
}

/* The chain of the header comment on new value v (type t, length n along
 * axis); returns the transformed value. */
static int bluestein(rw *w, int v, int axis, fab_type t, fab_loc loc) {
  int64_t n = t.dims[axis], M = fab_fft_bluestein_len(n);
  fab_type pt = t;
  pt.dims[axis] = M;
  v = chirp(w, v, axis, n, false, t, loc);
  v = rw_new(w, FAB_OP_PAD, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_int(w->m, rw_at(w, v), "size", M);
  rw_type(w, v, pt);
  v = fft_pow2(w, v, axis, pt, loc);
  v = chirp(w, v, axis, n, true, pt, loc);
  v = fft_pow2(w, v, axis, pt, loc);
  v = rw_new(w, FAB_OP_SLICE, &v, 1, loc);
  fab_op_set_int(w->m, rw_at(w, v), "axis", axis);
  fab_op_set_int(w->m, rw_at(w, v), "start", 0);
  fab_op_set_int(w->m, rw_at(w, v), "size", n);
  rw_type(w, v, t);
  return chirp(w, v, axis, n, false, t, loc);
}

bool pass_lower_bluestein(fab_pass_ctx *cx, fab_func *f) {
  if (pass_opt(cx, "min-prime", DEFAULT_MIN_PRIME) < 0 || pass_opt(cx, "cost", DEFAULT_COST) < 0) {
    pass_error(cx, NULL, "min-prime=%lld, cost=%lld: both must be >= 0", (long long)pass_opt(cx, "min-prime", DEFAULT_MIN_PRIME),
               (long long)pass_opt(cx, "cost", DEFAULT_COST));
    return false;
  }
  enum { COPY, DROP, REPLACE };
  int *uses = pass_use_counts(cx->m, f);
  unsigned char *role = fab_arena_alloc(cx->m->arena, (size_t)(f->nops ? f->nops : 1));
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    role[i] = COPY;
    if (op->code != FAB_OP_FFT_STAGES || op->noperands != 1) continue;
    const fab_op *b = &f->ops[op->operands[0]];
    int axis = axis_norm(op);
    if (uses[op->operands[0]] != 1 || axis < 0 || axis >= op->type.rank || axis_norm(b) != axis) continue;
    int64_t n = op->type.dims[axis];
    if (n <= FAB_FFT_MAX_CHIRP && complete_pair(b, op, n) && wanted(cx, n))
      role[i] = REPLACE, role[op->operands[0]] = DROP; /* the bitrev's one user is op */
  }
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops && w.ok; i++) {
    const fab_op *op = &f->ops[i];
    if (role[i] == COPY) rw_copy(&w, i);
    else if (role[i] == REPLACE)
      w.map[i] = bluestein(&w, w.map[f->ops[op->operands[0]].operands[0]], axis_norm(op), op->type, op->loc);
  }
  return rw_commit(&w);
}
