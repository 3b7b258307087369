/* ad_nn.c — forward and backward of the elementwise, normalisation,
 * embedding, pooling and data-movement ops, and the per-op dispatch.
 *
 * Broadcasting (add, mul): b's shape is a suffix of a's, so element j of
 * the result uses b[j mod numel(b)] and b's gradient sums over rows.
 */
#include "ad_internal.h"

#include <math.h>
#include <string.h>

static int64_t last_dim(const fab_type *t) { return t->rank ? t->dims[t->rank - 1] : 1; }

static bool bad(fab_diag *d, const fab_ad *ad, int i, const char *what) {
  fab_error(d, ad->f->ops[i].loc, "differentiation: op %%%d '%s': %s", i,
            fab_opinfos[ad->ops[i].code].name, what);
  return false;
}

static const fab_op *irop(const fab_ad_tape *t, int i) { return &t->ad->f->ops[i]; }

/* ---- layernorm ------------------------------------------------------------ */

static void ln_fw_row(const double *x, const double *g, const double *b, int64_t d, double eps,
                      double *y) {
  double mean = 0, var = 0;
  for (int64_t j = 0; j < d; j++) mean += x[j];
  mean /= (double)d;
  for (int64_t j = 0; j < d; j++) var += (x[j] - mean) * (x[j] - mean);
  var /= (double)d;
  double inv = 1.0 / sqrt(var + eps);
  for (int64_t j = 0; j < d; j++) y[j] = (x[j] - mean) * inv * g[j] + b[j];
}

/* Adds d/dx into gx (and d/dgamma, d/dbeta) from gy, with x the input. */
static void ln_bw_row(const double *x, const double *g, int64_t d, double eps, const double *gy,
                      double *gx, double *gg, double *gb) {
  double mean = 0, var = 0;
  for (int64_t j = 0; j < d; j++) mean += x[j];
  mean /= (double)d;
  for (int64_t j = 0; j < d; j++) var += (x[j] - mean) * (x[j] - mean);
  var /= (double)d;
  double inv = 1.0 / sqrt(var + eps), m1 = 0, m2 = 0;
  for (int64_t j = 0; j < d; j++) {
    double xh = (x[j] - mean) * inv, dxh = gy[j] * g[j];
    gg[j] += gy[j] * xh;
    gb[j] += gy[j];
    m1 += dxh;
    m2 += dxh * xh;
  }
  m1 /= (double)d;
  m2 /= (double)d;
  for (int64_t j = 0; j < d; j++) {
    double xh = (x[j] - mean) * inv;
    gx[j] += inv * (gy[j] * g[j] - m1 - xh * m2);
  }
}

/* ---- GELU ------------------------------------------------------------------ */

static double gelu(double x, bool tanh_form) {
  if (tanh_form) {
    double k = sqrt(2.0 / AD_PI);
    return 0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x)));
  }
  return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
}

static double gelu_grad(double x, bool tanh_form) {
  if (tanh_form) {
    double k = sqrt(2.0 / AD_PI), u = k * (x + 0.044715 * x * x * x), th = tanh(u);
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * k * (1.0 + 3.0 * 0.044715 * x * x);
  }
  return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * AD_PI);
}

static bool is_tanh(const fab_op *op) { return strcmp(fab_op_str(op, "approx", "erf"), "tanh") == 0; }

/* ---- axis helpers for slice / pad / take / meanpool / stack ------------- */

static void axis_split(const fab_type *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int k = 0; k < axis; k++) *outer *= t->dims[k];
  for (int k = axis + 1; k < t->rank; k++) *inner *= t->dims[k];
}

/* Copies (or, backward, accumulates) between x[outer, A, inner] and
 * y[outer, B, inner] for the window x[:, start+j, :] <-> y[:, j, :],
 * j < len. */
static void window(double *x, int64_t A, double *y, int64_t B, int64_t outer, int64_t inner,
                   int64_t start, int64_t len, bool to_y, bool acc) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < len; j++) {
      double *xs = x + (o * A + start + j) * inner, *ys = y + (o * B + j) * inner;
      for (int64_t k = 0; k < inner; k++) {
        if (to_y) ys[k] = acc ? ys[k] + xs[k] : xs[k];
        else xs[k] = acc ? xs[k] + ys[k] : ys[k];
      }
    }
}

/* ---- transpose ----------------------------------------------------------- */

/* For every result element (row-major), the index of its source element. */
static void transpose_walk(const fab_type *in, const fab_op *op, double *x, double *y, bool fw) {
  const fab_attr *pa = fab_op_attr(op, "perm");
  int r = in->rank;
  int64_t istride[FAB_MAX_RANK], odims[FAB_MAX_RANK], idx[FAB_MAX_RANK] = {0};
  istride[r - 1] = 1;
  for (int k = r - 2; k >= 0; k--) istride[k] = istride[k + 1] * in->dims[k + 1];
  for (int k = 0; k < r; k++) odims[k] = in->dims[pa->ints[k]];
  int64_t n = fab_type_numel(in);
  for (int64_t e = 0; e < n; e++) {
    int64_t src = 0;
    for (int k = 0; k < r; k++) src += idx[k] * istride[pa->ints[k]];
    if (fw) y[e] = x[src];
    else x[src] += y[e];
    for (int k = r - 1; k >= 0; k--) {
      if (++idx[k] < odims[k]) break;
      idx[k] = 0;
    }
  }
}

/* ---- compile-time checks ---------------------------------------------------- */

bool ad_prepare_op(fab_ad *ad, int i, fab_diag *d) {
  const ad_op *o = &ad->ops[i];
  const fab_op *op = &ad->f->ops[i];
  const fab_type *x = o->nin ? &ad->ops[o->in[0]].type : NULL;
  int64_t nx = x ? fab_type_numel(x) : 0;
  switch (o->code) {
  case FAB_OP_BFLY_LINEAR: case FAB_OP_DENSE: case FAB_OP_MATMUL: case FAB_OP_FOURIER_MIX:
  case FAB_OP_MHA:
    return ad_prepare_linear(ad, i, d);
  case FAB_OP_LAYERNORM: case FAB_OP_ADD_LAYERNORM: {
    int gi = o->code == FAB_OP_LAYERNORM ? 1 : 2;
    if (o->code == FAB_OP_ADD_LAYERNORM && !fab_type_equal(x, &ad->ops[o->in[1]].type))
      return bad(d, ad, i, "operands differ in shape");
    for (int k = gi; k < gi + 2; k++)
      if (fab_type_numel(&ad->ops[o->in[k]].type) != last_dim(x))
        return bad(d, ad, i, "gamma / beta must match the last axis");
    return nx == o->n || bad(d, ad, i, "result shape differs from the input");
  }
  case FAB_OP_ADD: case FAB_OP_MUL: case FAB_OP_BIAS_GELU: {
    const fab_type *b = &ad->ops[o->in[1]].type;
    bool ok = b->rank <= x->rank && nx == o->n;
    for (int k = 0; ok && k < b->rank; k++) ok = b->dims[b->rank - 1 - k] == x->dims[x->rank - 1 - k];
    return ok || bad(d, ad, i, "second operand does not broadcast onto the first");
  }
  case FAB_OP_GELU: case FAB_OP_RELU: case FAB_OP_SOFTMAX: case FAB_OP_SCALE: case FAB_OP_RESHAPE:
    return nx == o->n || bad(d, ad, i, "result size differs from the input");
  case FAB_OP_EMBED: {
    const fab_type *tab = &ad->ops[o->in[1]].type;
    if (tab->rank != 2 || o->n != nx * tab->dims[1]) return bad(d, ad, i, "table must be [V, d]");
    return true;
  }
  case FAB_OP_MEANPOOL: case FAB_OP_TAKE: {
    if (x->rank < 2 || o->n * x->dims[x->rank - 2] != nx) return bad(d, ad, i, "input must be [.., s, d]");
    int64_t idx = fab_op_int(op, "index", 0);
    if (o->code == FAB_OP_TAKE && (idx < 0 || idx >= x->dims[x->rank - 2]))
      return bad(d, ad, i, "index out of range");
    return true;
  }
  case FAB_OP_SLICE: case FAB_OP_PAD: {
    int64_t axis = fab_op_int(op, "axis", -1), size = fab_op_int(op, "size", -1);
    int64_t start = o->code == FAB_OP_SLICE ? fab_op_int(op, "start", -1) : 0;
    if (axis < 0 || axis >= x->rank || o->type.rank != x->rank || o->type.dims[axis] != size)
      return bad(d, ad, i, "bad axis or size");
    if (o->code == FAB_OP_SLICE ? (start < 0 || start + size > x->dims[axis]) : size < x->dims[axis])
      return bad(d, ad, i, "window out of range");
    return true;
  }
  case FAB_OP_TRANSPOSE: {
    const fab_attr *pa = fab_op_attr(op, "perm");
    if (!pa || pa->kind != FAB_ATTR_INTS || pa->nints != x->rank || nx != o->n)
      return bad(d, ad, i, "perm must list every axis");
    unsigned seen = 0;
    for (int k = 0; k < pa->nints; k++) {
      if (pa->ints[k] < 0 || pa->ints[k] >= x->rank || (seen >> pa->ints[k]) & 1u)
        return bad(d, ad, i, "perm is not a permutation");
      seen |= 1u << pa->ints[k];
    }
    return true;
  }
  case FAB_OP_STACK:
    return o->n == nx * fab_op_int(op, "count", 0) || bad(d, ad, i, "bad count");
  default:
    return true;
  }
}

/* ---- forward ------------------------------------------------------------------ */

bool ad_forward_op(fab_ad_tape *t, int i, fab_diag *d) {
  const fab_ad *ad = t->ad;
  const ad_op *o = &ad->ops[i];
  const fab_op *op = irop(t, i);
  double *y = t->val[i];
  const double *x = o->nin ? t->val[o->in[0]] : NULL;
  const fab_type *xt = o->nin ? &ad->ops[o->in[0]].type : NULL;
  switch (o->code) {
  case FAB_OP_CONST: {
    double v = fab_op_float(op, "value", 0);
    for (int64_t j = 0; j < o->n; j++) y[j] = v;
    return true;
  }
  case FAB_OP_BFLY_LINEAR: case FAB_OP_DENSE: case FAB_OP_MATMUL: case FAB_OP_FOURIER_MIX:
  case FAB_OP_MHA:
    return ad_fw_linear(t, i, d);
  case FAB_OP_LAYERNORM: case FAB_OP_ADD_LAYERNORM: {
    bool fused = o->code == FAB_OP_ADD_LAYERNORM;
    int64_t dd = last_dim(xt);
    const double *g = t->val[o->in[fused ? 2 : 1]], *b = t->val[o->in[fused ? 3 : 2]];
    double *tmp = fused ? ad_scratch(t, (size_t)dd) : NULL;
    if (fused && !tmp) return bad(d, ad, i, "out of memory");
    for (int64_t r = 0; r < o->n / dd; r++) {
      const double *row = x + r * dd;
      if (fused) {
        for (int64_t j = 0; j < dd; j++) tmp[j] = row[j] + t->val[o->in[1]][r * dd + j];
        row = tmp;
      }
      ln_fw_row(row, g, b, dd, fab_op_float(op, "eps", 1e-5), y + r * dd);
    }
    return true;
  }
  case FAB_OP_GELU: case FAB_OP_BIAS_GELU: {
    bool th = is_tanh(op);
    int64_t nb = o->code == FAB_OP_BIAS_GELU ? ad->ops[o->in[1]].n : 0;
    for (int64_t j = 0; j < o->n; j++) y[j] = gelu(x[j] + (nb ? t->val[o->in[1]][j % nb] : 0), th);
    return true;
  }
  case FAB_OP_RELU:
    for (int64_t j = 0; j < o->n; j++) y[j] = x[j] > 0 ? x[j] : 0;
    return true;
  case FAB_OP_SCALE: {
    double f = fab_op_float(op, "factor", 1);
    for (int64_t j = 0; j < o->n; j++) y[j] = f * x[j];
    return true;
  }
  case FAB_OP_SOFTMAX: {
    double sc = fab_op_float(op, "scale", 1);
    int64_t dd = last_dim(xt);
    for (int64_t r = 0; r < o->n / dd; r++) {
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < dd; j++) mx = fmax(mx, sc * x[r * dd + j]);
      for (int64_t j = 0; j < dd; j++) sum += y[r * dd + j] = exp(sc * x[r * dd + j] - mx);
      for (int64_t j = 0; j < dd; j++) y[r * dd + j] /= sum;
    }
    return true;
  }
  case FAB_OP_ADD: case FAB_OP_MUL: {
    const double *b = t->val[o->in[1]];
    int64_t nb = ad->ops[o->in[1]].n;
    for (int64_t j = 0; j < o->n; j++) y[j] = o->code == FAB_OP_ADD ? x[j] + b[j % nb] : x[j] * b[j % nb];
    return true;
  }
  case FAB_OP_EMBED: {
    const fab_type *tab = &ad->ops[o->in[1]].type;
    int64_t V = tab->dims[0], dd = tab->dims[1], nid = ad->ops[o->in[0]].n;
    for (int64_t j = 0; j < nid; j++) {
      double id = x[j];
      if (!(id >= 0 && id < (double)V)) {
        fab_error(d, op->loc, "token id %lld at position %lld is out of range [0, %lld)",
                  (long long)id, (long long)j, (long long)V);
        return false;
      }
      memcpy(y + j * dd, t->val[o->in[1]] + (int64_t)id * dd, sizeof(double) * (size_t)dd);
    }
    return true;
  }
  case FAB_OP_MEANPOOL: case FAB_OP_TAKE: {
    int64_t s = xt->dims[xt->rank - 2], dd = last_dim(xt), idx = fab_op_int(op, "index", 0);
    for (int64_t z = 0; z < o->n / dd; z++)
      for (int64_t j = 0; j < dd; j++) {
        if (o->code == FAB_OP_TAKE) {
          y[z * dd + j] = x[(z * s + idx) * dd + j];
          continue;
        }
        double acc = 0;
        for (int64_t r = 0; r < s; r++) acc += x[(z * s + r) * dd + j];
        y[z * dd + j] = acc / (double)s;
      }
    return true;
  }
  case FAB_OP_SLICE: case FAB_OP_PAD: {
    int axis = (int)fab_op_int(op, "axis", 0);
    int64_t outer, inner, A = xt->dims[axis], B = o->type.dims[axis];
    axis_split(xt, axis, &outer, &inner);
    if (o->code == FAB_OP_SLICE)
      window((double *)x, A, y, B, outer, inner, fab_op_int(op, "start", 0), B, true, false);
    else {
      memset(y, 0, sizeof(double) * (size_t)o->n);
      window(y, B, (double *)x, A, outer, inner, 0, A, false, false);
    }
    return true;
  }
  case FAB_OP_RESHAPE:
    memcpy(y, x, sizeof(double) * (size_t)o->n);
    return true;
  case FAB_OP_TRANSPOSE:
    transpose_walk(xt, op, (double *)x, y, true);
    return true;
  case FAB_OP_STACK: {
    int64_t nn = last_dim(xt), cnt = fab_op_int(op, "count", 1);
    for (int64_t r = 0; r < ad->ops[o->in[0]].n / nn; r++)
      for (int64_t c = 0; c < cnt; c++) memcpy(y + (r * cnt + c) * nn, x + r * nn, sizeof(double) * (size_t)nn);
    return true;
  }
  default:
    return bad(d, ad, i, "no forward kernel");
  }
}

/* ---- backward ----------------------------------------------------------------- */

void ad_backward_op(fab_ad_tape *t, int i) {
  const fab_ad *ad = t->ad;
  const ad_op *o = &ad->ops[i];
  const fab_op *op = irop(t, i);
  const double *gy = t->grad[i], *y = t->val[i];
  const double *x = o->nin ? t->val[o->in[0]] : NULL;
  double *gx = o->nin ? t->grad[o->in[0]] : NULL;
  const fab_type *xt = o->nin ? &ad->ops[o->in[0]].type : NULL;
  switch (o->code) {
  case FAB_OP_BFLY_LINEAR: case FAB_OP_DENSE: case FAB_OP_MATMUL: case FAB_OP_FOURIER_MIX:
  case FAB_OP_MHA:
    ad_bw_linear(t, i);
    return;
  case FAB_OP_LAYERNORM: case FAB_OP_ADD_LAYERNORM: {
    bool fused = o->code == FAB_OP_ADD_LAYERNORM;
    int64_t dd = last_dim(xt);
    int gi = fused ? 2 : 1;
    const double *g = t->val[o->in[gi]];
    double *gg = t->grad[o->in[gi]], *gb = t->grad[o->in[gi + 1]];
    double *tmp = ad_scratch(t, (size_t)(2 * dd));
    if (!tmp) return;
    double *gin = tmp + dd;
    for (int64_t r = 0; r < o->n / dd; r++) {
      const double *row = x + r * dd;
      if (fused) {
        for (int64_t j = 0; j < dd; j++) tmp[j] = row[j] + t->val[o->in[1]][r * dd + j];
        row = tmp;
      }
      memset(gin, 0, sizeof(double) * (size_t)dd);
      ln_bw_row(row, g, dd, fab_op_float(op, "eps", 1e-5), gy + r * dd, gin, gg, gb);
      for (int64_t j = 0; j < dd; j++) {
        gx[r * dd + j] += gin[j];
        if (fused) t->grad[o->in[1]][r * dd + j] += gin[j];
      }
    }
    return;
  }
  case FAB_OP_GELU: case FAB_OP_BIAS_GELU: {
    bool th = is_tanh(op);
    int64_t nb = o->code == FAB_OP_BIAS_GELU ? ad->ops[o->in[1]].n : 0;
    for (int64_t j = 0; j < o->n; j++) {
      double v = gy[j] * gelu_grad(x[j] + (nb ? t->val[o->in[1]][j % nb] : 0), th);
      gx[j] += v;
      if (nb) t->grad[o->in[1]][j % nb] += v;
    }
    return;
  }
  case FAB_OP_RELU:
    for (int64_t j = 0; j < o->n; j++)
      if (x[j] > 0) gx[j] += gy[j];
    return;
  case FAB_OP_SCALE: {
    double f = fab_op_float(op, "factor", 1);
    for (int64_t j = 0; j < o->n; j++) gx[j] += f * gy[j];
    return;
  }
  case FAB_OP_SOFTMAX: {
    double sc = fab_op_float(op, "scale", 1);
    int64_t dd = last_dim(xt);
    for (int64_t r = 0; r < o->n / dd; r++) {
      double dot = 0;
      for (int64_t j = 0; j < dd; j++) dot += gy[r * dd + j] * y[r * dd + j];
      for (int64_t j = 0; j < dd; j++) gx[r * dd + j] += sc * y[r * dd + j] * (gy[r * dd + j] - dot);
    }
    return;
  }
  case FAB_OP_ADD: case FAB_OP_MUL: {
    const double *b = t->val[o->in[1]];
    double *gb = t->grad[o->in[1]];
    int64_t nb = ad->ops[o->in[1]].n;
    for (int64_t j = 0; j < o->n; j++) {
      if (o->code == FAB_OP_ADD) {
        gx[j] += gy[j];
        gb[j % nb] += gy[j];
      } else {
        gx[j] += gy[j] * b[j % nb];
        gb[j % nb] += gy[j] * x[j];
      }
    }
    return;
  }
  case FAB_OP_EMBED: {
    int64_t dd = ad->ops[o->in[1]].type.dims[1], nid = ad->ops[o->in[0]].n;
    double *gt = t->grad[o->in[1]];
    for (int64_t j = 0; j < nid; j++)
      for (int64_t k = 0; k < dd; k++) gt[(int64_t)x[j] * dd + k] += gy[j * dd + k];
    return;
  }
  case FAB_OP_MEANPOOL: case FAB_OP_TAKE: {
    int64_t s = xt->dims[xt->rank - 2], dd = last_dim(xt), idx = fab_op_int(op, "index", 0);
    for (int64_t z = 0; z < o->n / dd; z++)
      for (int64_t j = 0; j < dd; j++) {
        if (o->code == FAB_OP_TAKE) gx[(z * s + idx) * dd + j] += gy[z * dd + j];
        else
          for (int64_t r = 0; r < s; r++) gx[(z * s + r) * dd + j] += gy[z * dd + j] / (double)s;
      }
    return;
  }
  case FAB_OP_SLICE: case FAB_OP_PAD: {
    int axis = (int)fab_op_int(op, "axis", 0);
    int64_t outer, inner, A = xt->dims[axis], B = o->type.dims[axis];
    axis_split(xt, axis, &outer, &inner);
    if (o->code == FAB_OP_SLICE)
      window(gx, A, (double *)gy, B, outer, inner, fab_op_int(op, "start", 0), B, false, true);
    else
      window((double *)gy, B, gx, A, outer, inner, 0, A, true, true);
    return;
  }
  case FAB_OP_RESHAPE:
    for (int64_t j = 0; j < o->n; j++) gx[j] += gy[j];
    return;
  case FAB_OP_TRANSPOSE:
    transpose_walk(xt, op, gx, (double *)gy, false);
    return;
  case FAB_OP_STACK: {
    int64_t nn = last_dim(xt), cnt = fab_op_int(op, "count", 1);
    for (int64_t r = 0; r < ad->ops[o->in[0]].n / nn; r++)
      for (int64_t c = 0; c < cnt; c++)
        for (int64_t k = 0; k < nn; k++) gx[r * nn + k] += gy[(r * cnt + c) * nn + k];
    return;
  }
  default:
    return;
  }
}
