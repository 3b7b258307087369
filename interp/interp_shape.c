/* interp_shape.c — data movement: pad, slice, reshape, transpose, stack.
 * These work on every dtype (c64 elements are two doubles). */
#include "interp_internal.h"

#include <string.h>

static int per_elem(const ival *x) { return x->type.dtype == FAB_C64 ? 2 : 1; }

/* Copies x into out where out differs from x only along `axis`: element
 * j of x's axis goes to position j + shift of out's axis (j + shift
 * outside out's range is dropped).  Positions not covered stay zero. */
static void copy_axis(const ival *x, ival *out, int axis, int64_t shift) {
  int p = per_elem(x);
  int64_t outer = interp_dims_prod(x->type.dims, 0, axis), inner = interp_dims_prod(x->type.dims, axis + 1, x->type.rank);
  int64_t nx = x->type.dims[axis], no = out->type.dims[axis];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < nx; j++) {
      int64_t k = j + shift;
      if (k < 0 || k >= no) continue;
      memcpy(out->d + ((o * no + k) * inner) * p, x->d + ((o * nx + j) * inner) * p,
             sizeof(double) * (size_t)(inner * p));
    }
}

bool interp_run_PAD(ictx *c, const fab_op *op, ival *out) {
  int64_t a, size;
  int axis;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_req_int(c, op, "axis", &a) || !interp_req_int(c, op, "size", &size) || !interp_norm_axis(c, op, a, x->type.rank, &axis))
    return false;
  if (size < x->type.dims[axis])
    return interp_err(c, op, "size %lld is smaller than the axis (%lld)", (long long)size, (long long)x->type.dims[axis]);
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[axis] = size;
  if (!interp_alloc(c, op, out, x->type.dtype, x->type.rank, dims)) return false;
  copy_axis(x, out, axis, 0);
  return true;
}

bool interp_run_SLICE(ictx *c, const fab_op *op, ival *out) {
  int64_t a, start, size;
  int axis;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_req_int(c, op, "axis", &a) || !interp_req_int(c, op, "start", &start) || !interp_req_int(c, op, "size", &size) ||
      !interp_norm_axis(c, op, a, x->type.rank, &axis))
    return false;
  if (start < 0 || size < 1 || start > x->type.dims[axis] - size)
    return interp_err(c, op, "slice [%lld, %lld + %lld) outside the axis of %lld", (long long)start,
                (long long)start, (long long)size, (long long)x->type.dims[axis]);
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[axis] = size;
  if (!interp_alloc(c, op, out, x->type.dtype, x->type.rank, dims)) return false;
  copy_axis(x, out, axis, -start);
  return true;
}

bool interp_run_RESHAPE(ictx *c, const fab_op *op, ival *out) {
  const fab_attr *sh = fab_op_attr(op, "shape");
  if (!sh || sh->kind != FAB_ATTR_INTS) return interp_err(c, op, "missing integer list attribute 'shape'");
  if (sh->nints > FAB_MAX_RANK) return interp_err(c, op, "shape rank %d too large", sh->nints);
  const ival *x = interp_arg(c, op, 0);
  int64_t dims[FAB_MAX_RANK] = {0}, known = 1;
  int infer = -1;
  for (int i = 0; i < sh->nints; i++) {
    dims[i] = sh->ints[i];
    if (dims[i] == -1 && infer < 0) {
      infer = i;
    } else if (dims[i] < 1) {
      return interp_err(c, op, "bad dimension %lld in shape", (long long)dims[i]);
    } else {
      if (known > FAB_MAX_ELEMENTS / dims[i]) return interp_err(c, op, "shape too large");
      known *= dims[i];
    }
  }
  if (infer >= 0) {
    if (x->n % known != 0) return interp_err(c, op, "cannot infer a dimension for %lld elements", (long long)x->n);
    dims[infer] = x->n / known;
    known = x->n;
  }
  if (known != x->n)
    return interp_err(c, op, "shape has %lld elements, the operand %lld", (long long)known, (long long)x->n);
  if (!interp_alloc(c, op, out, x->type.dtype, sh->nints, dims)) return false;
  memcpy(out->d, x->d, sizeof(double) * (size_t)(x->n * per_elem(x)));
  return true;
}

bool interp_run_TRANSPOSE(ictx *c, const fab_op *op, ival *out) {
  const fab_attr *pa = fab_op_attr(op, "perm");
  const ival *x = interp_arg(c, op, 0);
  int r = x->type.rank;
  if (!pa || pa->kind != FAB_ATTR_INTS || pa->nints != r)
    return interp_err(c, op, "'perm' must list the %d axes", r);
  bool seen[FAB_MAX_RANK] = {false};
  int64_t dims[FAB_MAX_RANK], istr[FAB_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int64_t p = pa->ints[i];
    if (p < 0 || p >= r || seen[p]) return interp_err(c, op, "'perm' is not a permutation");
    seen[p] = true;
    dims[i] = x->type.dims[p];
  }
  if (!interp_alloc(c, op, out, x->type.dtype, r, dims)) return false;
  int64_t stride = 1;
  for (int i = r - 1; i >= 0; i--) {
    istr[i] = stride;
    stride *= x->type.dims[i];
  }
  int p = per_elem(x);
  int64_t idx[FAB_MAX_RANK] = {0};
  for (int64_t e = 0; e < out->n; e++) {
    int64_t src = 0;
    for (int i = 0; i < r; i++) src += idx[i] * istr[pa->ints[i]];
    memcpy(out->d + e * p, x->d + src * p, sizeof(double) * (size_t)p);
    for (int i = r - 1; i >= 0; i--) {
      if (++idx[i] < dims[i]) break;
      idx[i] = 0;
    }
  }
  return true;
}

bool interp_run_STACK(ictx *c, const fab_op *op, ival *out) {
  int64_t count;
  if (!interp_req_int(c, op, "count", &count) || !interp_want_rank(c, op, 0, 1)) return false;
  const ival *x = interp_arg(c, op, 0);
  int r = x->type.rank;
  if (count < 1) return interp_err(c, op, "count must be >= 1");
  if (r + 1 > FAB_MAX_RANK) return interp_err(c, op, "rank too large");
  int64_t n = x->type.dims[r - 1], dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[r - 1] = count;
  dims[r] = n;
  if (!interp_alloc(c, op, out, x->type.dtype, r + 1, dims)) return false;
  int p = per_elem(x);
  for (int64_t row = 0; row < x->n / n; row++)
    for (int64_t k = 0; k < count; k++)
      memcpy(out->d + (row * count + k) * n * p, x->d + row * n * p, sizeof(double) * (size_t)(n * p));
  return true;
}
