/* interp_linear.c — linear layers: bfly.linear, bfly.stages, dense, matmul.
 *
 * Butterfly semantics are those of torch_butterfly's Butterfly
 * (docs/fabnet.md §2): pad the row to n = 2^ceil(log2 in), run each of the
 * nstacks stacks on a copy, concatenate, keep `out` values, add the bias.
 */
#include "interp_internal.h"

#include <stdlib.h>
#include <string.h>

/* One radix-2 butterfly stage on y[0..n): butterfly i pairs p (i with a 0
 * bit inserted at log_stride) and q = p + stride, with the 2x2 twiddle
 * tw[i] = {t00, t01, t10, t11}. */
static void bfly_stage(double *y, int64_t n, int log_stride, const double *tw) {
  int64_t stride = (int64_t)1 << log_stride;
  for (int64_t i = 0; i < n / 2; i++) {
    int64_t low = i % stride, p = 2 * (i - low) + low, q = p + stride;
    const double *t = tw + 4 * i;
    double a = y[p], c = y[q];
    y[p] = t[0] * a + t[1] * c;
    y[q] = t[2] * a + t[3] * c;
  }
}

static int ilog2_ceil(int64_t v) {
  int l = 0;
  while (((int64_t)1 << l) < v) l++;
  return l;
}

/* Checks that tw is [S, B, L, n/2, 2, 2] with the given S, B, L. */
static bool check_twiddle(ictx *c, const fab_op *op, const ival *tw, int64_t S, int64_t B, int L) {
  int64_t n = (int64_t)1 << L;
  int64_t want[6] = {S, B, L, n / 2, 2, 2};
  bool ok = tw->type.rank == 6 && tw->type.dtype == FAB_F32;
  for (int i = 0; ok && i < 6; i++) ok = tw->type.dims[i] == want[i];
  if (ok) return true;
  char b1[128], b2[128];
  fab_type wt = fab_type_make(FAB_F32, 6, want);
  return interp_err(c, op, "twiddle is %s, expected %s", interp_shape_str(&tw->type, b1, sizeof b1),
              interp_shape_str(&wt, b2, sizeof b2));
}

bool interp_run_BFLY_LINEAR(ictx *c, const fab_op *op, ival *out) {
  int64_t in, outn, inc, nblocks;
  if (!interp_req_int(c, op, "in", &in) || !interp_req_int(c, op, "out", &outn) ||
      !interp_req_int(c, op, "increasing", &inc) || !interp_req_int(c, op, "nblocks", &nblocks))
    return false;
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0), *tw = interp_arg(c, op, 1);
  const ival *bias = op->noperands > 2 ? interp_arg(c, op, 2) : NULL;
  int r = x->type.rank;
  if (in < 2 || outn < 1 || nblocks < 1 || in > ((int64_t)1 << 30))
    return interp_err(c, op, "bad sizes in = %lld, out = %lld, nblocks = %lld", (long long)in,
                (long long)outn, (long long)nblocks);
  if (x->type.dims[r - 1] != in)
    return interp_err(c, op, "input's last axis is %lld, expected in = %lld",
                (long long)x->type.dims[r - 1], (long long)in);
  int L = ilog2_ceil(in);
  int64_t n = (int64_t)1 << L, S = (outn + n - 1) / n;
  if (!check_twiddle(c, op, tw, S, nblocks, L)) return false;
  if (bias && !(bias->type.rank == 1 && bias->type.dims[0] == outn))
    return interp_err(c, op, "bias must be f32[%lld]", (long long)outn);
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[r - 1] = outn;
  if (!interp_alloc(c, op, out, FAB_F32, r, dims)) return false;
  double *y = malloc(sizeof(double) * (size_t)n);
  if (!y) return interp_err(c, op, "out of memory");
  int64_t rows = x->n / in, stage_sz = (n / 2) * 4;
  for (int64_t row = 0; row < rows; row++) {
    const double *xr = x->d + row * in;
    double *orow = out->d + row * outn;
    for (int64_t s = 0; s < S; s++) {
      memset(y, 0, sizeof(double) * (size_t)n);
      memcpy(y, xr, sizeof(double) * (size_t)in);
      for (int64_t b = 0; b < nblocks; b++) {
        bool incr = (inc != 0) ^ (b % 2 == 1);
        for (int k = 0; k < L; k++) {
          int ls = incr ? k : L - 1 - k;
          bfly_stage(y, n, ls, tw->d + ((s * nblocks + b) * L + k) * stage_sz);
        }
      }
      for (int64_t j = 0; j < n && s * n + j < outn; j++) orow[s * n + j] = y[j];
    }
    if (bias)
      for (int64_t j = 0; j < outn; j++) orow[j] += bias->d[j];
  }
  free(y);
  return true;
}

bool interp_run_BFLY_STAGES(ictx *c, const fab_op *op, ival *out) {
  const fab_attr *st = fab_op_attr(op, "stages");
  if (!st || st->kind != FAB_ATTR_INTS || st->nints % 3 != 0)
    return interp_err(c, op, "'stages' must be a list of (block, stage, log_stride) triples");
  if (!interp_want_rank(c, op, 0, 2) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0), *tw = interp_arg(c, op, 1);
  int r = x->type.rank;
  int64_t S = x->type.dims[r - 2], n = x->type.dims[r - 1];
  int L = ilog2_ceil(n);
  if (n < 2 || ((int64_t)1 << L) != n) return interp_err(c, op, "last axis %lld is not a power of two >= 2", (long long)n);
  if (tw->type.rank != 6) return interp_err(c, op, "twiddle must have rank 6");
  int64_t B = tw->type.dims[1];
  if (!check_twiddle(c, op, tw, S, B, L)) return false;
  for (int i = 0; i < st->nints; i += 3) {
    int64_t b = st->ints[i], k = st->ints[i + 1], l = st->ints[i + 2];
    if (b < 0 || b >= B || k < 0 || k >= L || l < 0 || l >= L)
      return interp_err(c, op, "stage triple (%lld, %lld, %lld) out of range", (long long)b,
                  (long long)k, (long long)l);
  }
  if (!interp_alloc_like(c, op, out, x)) return false;
  memcpy(out->d, x->d, sizeof(double) * (size_t)x->n);
  int64_t stage_sz = (n / 2) * 4, rows = x->n / n;
  for (int64_t row = 0; row < rows; row++) {
    int64_t s = row % S;
    double *y = out->d + row * n;
    for (int i = 0; i < st->nints; i += 3) {
      int64_t b = st->ints[i], k = st->ints[i + 1];
      bfly_stage(y, n, (int)st->ints[i + 2], tw->d + ((s * B + b) * L + k) * stage_sz);
    }
  }
  return true;
}

bool interp_run_DENSE(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0), *w = interp_arg(c, op, 1);
  const ival *b = op->noperands > 2 ? interp_arg(c, op, 2) : NULL;
  int r = x->type.rank;
  int64_t in = x->type.dims[r - 1];
  if (w->type.rank != 2 || w->type.dims[1] != in)
    return interp_err(c, op, "weight must be [out, %lld]", (long long)in);
  int64_t on = w->type.dims[0];
  if (b && !(b->type.rank == 1 && b->type.dims[0] == on))
    return interp_err(c, op, "bias must be [%lld]", (long long)on);
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[r - 1] = on;
  if (!interp_alloc(c, op, out, FAB_F32, r, dims)) return false;
  int64_t rows = x->n / in;
  for (int64_t row = 0; row < rows; row++)
    for (int64_t o = 0; o < on; o++) {
      double acc = b ? b->d[o] : 0;
      const double *xr = x->d + row * in, *wr = w->d + o * in;
      for (int64_t i = 0; i < in; i++) acc += xr[i] * wr[i];
      out->d[row * on + o] = acc;
    }
  return true;
}

bool interp_run_MATMUL(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 2) || !interp_want_rank(c, op, 1, 2) || !interp_want_dtype(c, op, 0, FAB_F32) ||
      !interp_want_dtype(c, op, 1, FAB_F32))
    return false;
  const ival *a = interp_arg(c, op, 0), *b = interp_arg(c, op, 1);
  bool tb = fab_op_int(op, "transpose_b", 0) != 0;
  int ra = a->type.rank, rb = b->type.rank;
  bool lead_ok = ra == rb;
  for (int i = 0; lead_ok && i < ra - 2; i++) lead_ok = a->type.dims[i] == b->type.dims[i];
  if (!lead_ok) return interp_err(c, op, "leading axes of the operands differ");
  int64_t M = a->type.dims[ra - 2], K = a->type.dims[ra - 1];
  int64_t bk = tb ? b->type.dims[rb - 1] : b->type.dims[rb - 2];
  int64_t N = tb ? b->type.dims[rb - 2] : b->type.dims[rb - 1];
  if (bk != K) return interp_err(c, op, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)bk);
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, a->type.dims, sizeof dims);
  dims[ra - 1] = N;
  if (!interp_alloc(c, op, out, FAB_F32, ra, dims)) return false;
  int64_t batch = a->n / (M * K);
  for (int64_t z = 0; z < batch; z++) {
    const double *A = a->d + z * M * K, *B = b->d + z * K * N;
    double *C = out->d + z * M * N;
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++) acc += A[i * K + k] * (tb ? B[j * K + k] : B[k * N + j]);
        C[i * N + j] = acc;
      }
  }
  return true;
}
