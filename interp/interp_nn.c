/* interp_nn.c — network ops: elementwise arithmetic and activations,
 * layernorm, softmax, attention, mha, embed, meanpool, take, and the fused
 * bias.gelu and add.layernorm. */
#include "interp_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double interp_gelu_erf(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

double interp_gelu_tanh(double x) {
  const double k = sqrt(2.0 / 3.14159265358979323846264338327950288);
  return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
}

void interp_layernorm_row(const double *x, const double *g, const double *b, int64_t d, double eps,
                   double *y) {
  double mean = 0, var = 0;
  for (int64_t i = 0; i < d; i++) mean += x[i];
  mean /= (double)d;
  for (int64_t i = 0; i < d; i++) var += (x[i] - mean) * (x[i] - mean);
  var /= (double)d;
  double inv = 1.0 / sqrt(var + eps);
  for (int64_t i = 0; i < d; i++) y[i] = (x[i] - mean) * inv * g[i] + b[i];
}

/* ---- elementwise ------------------------------------------------------- */

/* b's shape must equal a's or be a suffix of it; returns b's element count
 * (the broadcast period). */
static bool suffix_of(ictx *c, const fab_op *op, const ival *a, const ival *b) {
  bool ok = b->type.rank <= a->type.rank && b->type.dtype == a->type.dtype;
  for (int i = 0; ok && i < b->type.rank; i++)
    ok = b->type.dims[b->type.rank - 1 - i] == a->type.dims[a->type.rank - 1 - i];
  if (ok) return true;
  char b1[128], b2[128];
  return interp_err(c, op, "%s does not broadcast onto %s", interp_shape_str(&b->type, b1, sizeof b1),
              interp_shape_str(&a->type, b2, sizeof b2));
}

static bool binary(ictx *c, const fab_op *op, ival *out, bool mul) {
  const ival *a = interp_arg(c, op, 0), *b = interp_arg(c, op, 1);
  if (a->type.dtype == FAB_C64 || b->type.dtype == FAB_C64)
    return interp_err(c, op, "complex operands are not supported");
  if (b->type.rank > a->type.rank) {
    const ival *t = a;
    a = b;
    b = t;
  }
  if (!suffix_of(c, op, a, b) || !interp_alloc_like(c, op, out, a)) return false;
  for (int64_t i = 0; i < a->n; i++) {
    double u = a->d[i], v = b->d[i % b->n];
    out->d[i] = mul ? u * v : u + v;
  }
  if (a->type.dtype == FAB_I32)
    for (int64_t i = 0; i < out->n; i++) out->d[i] = (double)(int32_t)(int64_t)out->d[i];
  return true;
}

bool interp_run_ADD(ictx *c, const fab_op *op, ival *out) { return binary(c, op, out, false); }
bool interp_run_MUL(ictx *c, const fab_op *op, ival *out) { return binary(c, op, out, true); }

bool interp_run_SCALE(ictx *c, const fab_op *op, ival *out) {
  double f;
  if (!interp_req_float(c, op, "factor", &f) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_alloc_like(c, op, out, x)) return false;
  for (int64_t i = 0; i < x->n; i++) out->d[i] = f * x->d[i];
  return true;
}

bool interp_run_RELU(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_alloc_like(c, op, out, x)) return false;
  for (int64_t i = 0; i < x->n; i++) out->d[i] = x->d[i] > 0 ? x->d[i] : 0;
  return true;
}

static bool gelu_kind(ictx *c, const fab_op *op, bool *tanh_form) {
  const char *a = fab_op_str(op, "approx", NULL);
  if (!a) return interp_err(c, op, "missing string attribute 'approx'");
  if (strcmp(a, "erf") == 0) *tanh_form = false;
  else if (strcmp(a, "tanh") == 0) *tanh_form = true;
  else return interp_err(c, op, "approx must be \"erf\" or \"tanh\", not \"%s\"", a);
  return true;
}

bool interp_run_GELU(ictx *c, const fab_op *op, ival *out) {
  bool th = false;
  if (!gelu_kind(c, op, &th) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  if (!interp_alloc_like(c, op, out, x)) return false;
  for (int64_t i = 0; i < x->n; i++) out->d[i] = th ? interp_gelu_tanh(x->d[i]) : interp_gelu_erf(x->d[i]);
  return true;
}

/* Checks that operand i is f32[d] (a per-feature vector). */
static bool want_vec(ictx *c, const fab_op *op, int i, int64_t d) {
  const ival *v = interp_arg(c, op, i);
  if (v->type.rank == 1 && v->type.dims[0] == d && v->type.dtype == FAB_F32) return true;
  return interp_err(c, op, "operand %d must be f32[%lld]", i, (long long)d);
}

bool interp_run_BIAS_GELU(ictx *c, const fab_op *op, ival *out) {
  bool th = false;
  if (!gelu_kind(c, op, &th) || !interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0), *b = interp_arg(c, op, 1);
  int64_t d = x->type.dims[x->type.rank - 1];
  if (!want_vec(c, op, 1, d) || !interp_alloc_like(c, op, out, x)) return false;
  for (int64_t i = 0; i < x->n; i++) {
    double v = x->d[i] + b->d[i % d];
    out->d[i] = th ? interp_gelu_tanh(v) : interp_gelu_erf(v);
  }
  return true;
}

bool interp_run_LAYERNORM(ictx *c, const fab_op *op, ival *out) {
  double eps;
  if (!interp_req_float(c, op, "eps", &eps) || !interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32))
    return false;
  const ival *x = interp_arg(c, op, 0);
  int64_t d = x->type.dims[x->type.rank - 1];
  if (!want_vec(c, op, 1, d) || !want_vec(c, op, 2, d) || !interp_alloc_like(c, op, out, x)) return false;
  const double *g = interp_arg(c, op, 1)->d, *b = interp_arg(c, op, 2)->d;
  for (int64_t r = 0; r < x->n / d; r++) interp_layernorm_row(x->d + r * d, g, b, d, eps, out->d + r * d);
  return true;
}

bool interp_run_ADD_LAYERNORM(ictx *c, const fab_op *op, ival *out) {
  double eps;
  if (!interp_req_float(c, op, "eps", &eps) || !interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32))
    return false;
  const ival *x = interp_arg(c, op, 0), *r = interp_arg(c, op, 1);
  int64_t d = x->type.dims[x->type.rank - 1];
  if (!suffix_of(c, op, x, r) || !want_vec(c, op, 2, d) || !want_vec(c, op, 3, d) ||
      !interp_alloc_like(c, op, out, x))
    return false;
  const double *g = interp_arg(c, op, 2)->d, *b = interp_arg(c, op, 3)->d;
  double *row = malloc(sizeof(double) * (size_t)d);
  if (!row) return interp_err(c, op, "out of memory");
  for (int64_t k = 0; k < x->n / d; k++) {
    for (int64_t i = 0; i < d; i++) row[i] = x->d[k * d + i] + r->d[(k * d + i) % r->n];
    interp_layernorm_row(row, g, b, d, eps, out->d + k * d);
  }
  free(row);
  return true;
}

/* The optional mask operand `mi` of op: *flags = rows of `t` flags, one
 * row per `per` consecutive rows of the op's (rows x t) work, or NULL
 * when there is no mask.  False (reported) for a mask that does not fit. */
static bool mask_rows(ictx *c, const fab_op *op, int mi, int64_t rows, int64_t t,
                      const double **flags, int64_t *per) {
  *flags = NULL;
  *per = 1;
  if (op->noperands <= mi) return true;
  if (!interp_want_dtype(c, op, mi, FAB_I32)) return false;
  const ival *m = interp_arg(c, op, mi);
  int64_t mrows = t > 0 && m->type.rank >= 1 && m->type.dims[m->type.rank - 1] == t ? m->n / t : 0;
  if (mrows < 1 || rows % mrows != 0)
    return interp_err(c, op, "mask of %lld flags does not fit %lld rows of %lld", (long long)m->n,
                (long long)rows, (long long)t);
  *per = rows / mrows;
  *flags = m->d;
  return true;
}

/* Is column j of row i (axis -2 index) of a masked row kept? */
static bool kept(const double *flags, bool causal, int64_t i, int64_t j) {
  return (!flags || flags[j] != 0) && (!causal || j <= i);
}

bool interp_run_SOFTMAX(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  double scale = fab_op_float(op, "scale", 1.0);
  bool causal = fab_op_int(op, "causal", 0) != 0;
  const ival *x = interp_arg(c, op, 0);
  int rk = x->type.rank;
  int64_t d = x->type.dims[rk - 1], s = rk >= 2 ? x->type.dims[rk - 2] : 1, per;
  if (!interp_alloc_like(c, op, out, x)) return false;
  const double *mask;
  if (!mask_rows(c, op, 1, x->n / d, d, &mask, &per)) return false;
  for (int64_t r = 0; r < x->n / d; r++) {
    const double *xr = x->d + r * d, *fl = mask ? mask + (r / per) * d : NULL;
    double *y = out->d + r * d, mx = -INFINITY, sum = 0;
    int64_t i = r % s;
    for (int64_t j = 0; j < d; j++)
      if (kept(fl, causal, i, j)) mx = fmax(mx, scale * xr[j]);
    if (mx == -INFINITY) continue; /* nothing kept: zeros (PyTorch: NaN) */
    for (int64_t j = 0; j < d; j++) sum += (y[j] = kept(fl, causal, i, j) ? exp(scale * xr[j] - mx) : 0);
    for (int64_t j = 0; j < d; j++) y[j] /= sum;
  }
  return true;
}

/* ---- attention ----------------------------------------------------------- */

/* softmax(scale q k^T) v for one (s x dh) q, (t x dh) k, (t x dv) v, with
 * the online softmax over key blocks of `block` rows.  q/k/v rows are
 * `qs`, `ks`, `vs` doubles apart (so heads can be strided views). */
static void attend(const double *q, int64_t qs, const double *k, int64_t ks, const double *v,
                   int64_t vs, int64_t s, int64_t t, int64_t dh, int64_t dv, double scale,
                   int64_t block, const double *flags, bool causal, double *o, int64_t os, double *sc) {
  for (int64_t i = 0; i < s; i++) {
    double m = -INFINITY, l = 0;
    double *acc = o + i * os;
    for (int64_t e = 0; e < dv; e++) acc[e] = 0;
    for (int64_t j0 = 0; j0 < t; j0 += block) {
      int64_t j1 = j0 + block < t ? j0 + block : t;
      double mb = -INFINITY;
      for (int64_t j = j0; j < j1; j++) {
        double dot = 0;
        for (int64_t e = 0; e < dh; e++) dot += q[i * qs + e] * k[j * ks + e];
        sc[j - j0] = kept(flags, causal, i, j) ? scale * dot : -INFINITY;
        mb = fmax(mb, sc[j - j0]);
      }
      if (fmax(m, mb) == -INFINITY) continue; /* every key so far masked */
      double mn = fmax(m, mb), corr = exp(m - mn);
      l *= corr;
      for (int64_t e = 0; e < dv; e++) acc[e] *= corr;
      for (int64_t j = j0; j < j1; j++) {
        double p = exp(sc[j - j0] - mn);
        l += p;
        for (int64_t e = 0; e < dv; e++) acc[e] += p * v[j * vs + e];
      }
      m = mn;
    }
    for (int64_t e = 0; e < dv; e++) acc[e] = l > 0 ? acc[e] / l : 0; /* all masked: zeros */
  }
}

/* q [.., s, dq], k [.., t, dq], v [.., t, dv] with equal leading axes. */
static bool qkv_shapes(ictx *c, const fab_op *op, int64_t *s, int64_t *t, int64_t *dq, int64_t *dv) {
  for (int i = 0; i < 3; i++)
    if (!interp_want_rank(c, op, i, 2) || !interp_want_dtype(c, op, i, FAB_F32)) return false;
  const ival *q = interp_arg(c, op, 0), *k = interp_arg(c, op, 1), *v = interp_arg(c, op, 2);
  int r = q->type.rank;
  bool ok = k->type.rank == r && v->type.rank == r;
  for (int i = 0; ok && i < r - 2; i++) ok = k->type.dims[i] == q->type.dims[i] && v->type.dims[i] == q->type.dims[i];
  if (!ok) return interp_err(c, op, "q, k and v must have the same leading axes");
  *s = q->type.dims[r - 2];
  *dq = q->type.dims[r - 1];
  *t = k->type.dims[r - 2];
  *dv = v->type.dims[r - 1];
  if (k->type.dims[r - 1] != *dq || v->type.dims[r - 2] != *t)
    return interp_err(c, op, "k must be [.., t, %lld] and v [.., t, dv]", (long long)*dq);
  return true;
}

bool interp_run_ATTENTION(ictx *c, const fab_op *op, ival *out) {
  double scale;
  int64_t block, s, t, dh, dv;
  if (!interp_req_float(c, op, "scale", &scale) || !interp_req_int(c, op, "block", &block)) return false;
  if (block < 1) return interp_err(c, op, "block must be >= 1");
  if (!qkv_shapes(c, op, &s, &t, &dh, &dv)) return false;
  const ival *q = interp_arg(c, op, 0), *k = interp_arg(c, op, 1), *v = interp_arg(c, op, 2);
  int r = q->type.rank;
  int64_t dims[FAB_MAX_RANK];
  memcpy(dims, q->type.dims, sizeof dims);
  dims[r - 1] = dv;
  if (!interp_alloc(c, op, out, FAB_F32, r, dims)) return false;
  int64_t bl = block < t ? block : t, nz = q->n / (s * dh), per;
  bool causal = fab_op_int(op, "causal", 0) != 0;
  const double *mask;
  if (!mask_rows(c, op, 3, nz, t, &mask, &per)) return false;
  double *sc = malloc(sizeof(double) * (size_t)bl);
  if (!sc) return interp_err(c, op, "out of memory");
  for (int64_t z = 0; z < nz; z++)
    attend(q->d + z * s * dh, dh, k->d + z * t * dh, dh, v->d + z * t * dv, dv, s, t, dh, dv, scale, bl,
           mask ? mask + (z / per) * t : NULL, causal, out->d + z * s * dv, dv, sc);
  free(sc);
  return true;
}

bool interp_run_MHA(ictx *c, const fab_op *op, ival *out) {
  int64_t H, s, t, d, dv;
  if (!interp_req_int(c, op, "heads", &H) || !qkv_shapes(c, op, &s, &t, &d, &dv)) return false;
  if (H < 1 || d % H != 0 || dv != d)
    return interp_err(c, op, "%lld heads do not divide the width %lld (v width %lld)", (long long)H,
                (long long)d, (long long)dv);
  const ival *q = interp_arg(c, op, 0), *k = interp_arg(c, op, 1), *v = interp_arg(c, op, 2);
  if (!interp_alloc_like(c, op, out, q)) return false;
  int64_t dh = d / H, nz = q->n / (s * d), per;
  bool causal = fab_op_int(op, "causal", 0) != 0;
  const double *mask;
  if (!mask_rows(c, op, 3, nz, t, &mask, &per)) return false;
  double *sc = malloc(sizeof(double) * (size_t)t);
  if (!sc) return interp_err(c, op, "out of memory");
  for (int64_t z = 0; z < nz; z++)
    for (int64_t h = 0; h < H; h++)
      attend(q->d + z * s * d + h * dh, d, k->d + z * t * d + h * dh, d, v->d + z * t * d + h * dh, d, s,
             t, dh, dh, 1.0 / sqrt((double)dh), t, mask ? mask + (z / per) * t : NULL, causal,
             out->d + z * s * d + h * dh, d, sc);
  free(sc);
  return true;
}

/* ---- embeddings and pooling ------------------------------------------------ */

bool interp_run_EMBED(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 1) || !interp_want_dtype(c, op, 0, FAB_I32) || !interp_want_dtype(c, op, 1, FAB_F32))
    return false;
  const ival *ids = interp_arg(c, op, 0), *tab = interp_arg(c, op, 1);
  if (tab->type.rank != 2) return interp_err(c, op, "table must be [V, d]");
  int r = ids->type.rank;
  if (r + 1 > FAB_MAX_RANK) return interp_err(c, op, "ids rank too large");
  int64_t V = tab->type.dims[0], d = tab->type.dims[1], dims[FAB_MAX_RANK];
  memcpy(dims, ids->type.dims, sizeof dims);
  dims[r] = d;
  if (!interp_alloc(c, op, out, FAB_F32, r + 1, dims)) return false;
  for (int64_t i = 0; i < ids->n; i++) {
    double id = ids->d[i];
    if (!(id >= 0 && id < (double)V))
      return interp_err(c, op, "token id %.0f at position %lld is out of range [0, %lld)", id, (long long)i,
                  (long long)V);
    memcpy(out->d + i * d, tab->d + (int64_t)id * d, sizeof(double) * (size_t)d);
  }
  return true;
}

bool interp_run_MEANPOOL(ictx *c, const fab_op *op, ival *out) {
  if (!interp_want_rank(c, op, 0, 2) || !interp_want_dtype(c, op, 0, FAB_F32)) return false;
  const ival *x = interp_arg(c, op, 0);
  int r = x->type.rank;
  int64_t s = x->type.dims[r - 2], d = x->type.dims[r - 1], dims[FAB_MAX_RANK];
  memcpy(dims, x->type.dims, sizeof dims);
  dims[r - 2] = d;
  if (!interp_alloc(c, op, out, FAB_F32, r - 1, dims)) return false;
  int64_t per;
  const double *mask;
  if (!mask_rows(c, op, 1, x->n / (s * d), s, &mask, &per)) return false;
  for (int64_t z = 0; z < x->n / (s * d); z++) {
    const double *fl = mask ? mask + (z / per) * s : NULL;
    int64_t count = 0;
    for (int64_t i = 0; i < s; i++) count += kept(fl, false, 0, i);
    for (int64_t e = 0; e < d; e++) {
      double acc = 0;
      for (int64_t i = 0; i < s; i++)
        if (kept(fl, false, 0, i)) acc += x->d[(z * s + i) * d + e];
      out->d[z * d + e] = count ? acc / (double)count : 0; /* nothing kept: zeros */
    }
  }
  return true;
}

bool interp_run_TAKE(ictx *c, const fab_op *op, ival *out) {
  int64_t index;
  if (!interp_req_int(c, op, "index", &index) || !interp_want_rank(c, op, 0, 2)) return false;
  const ival *x = interp_arg(c, op, 0);
  int r = x->type.rank;
  int64_t s = x->type.dims[r - 2], d = x->type.dims[r - 1], dims[FAB_MAX_RANK];
  if (index < 0) index += s;
  if (index < 0 || index >= s) return interp_err(c, op, "index %lld out of range [0, %lld)", (long long)index, (long long)s);
  memcpy(dims, x->type.dims, sizeof dims);
  dims[r - 2] = d;
  if (!interp_alloc(c, op, out, x->type.dtype, r - 1, dims)) return false;
  int per = x->type.dtype == FAB_C64 ? 2 : 1;
  for (int64_t z = 0; z < x->n / (s * d); z++)
    memcpy(out->d + z * d * per, x->d + (z * s + index) * d * per, sizeof(double) * (size_t)(d * per));
  return true;
}
