/* ad_linear.c — forward and backward of the layers with weights or
 * mixing: bfly.linear, dense, matmul, fourier.mix and mha.
 *
 * Backward kernels recompute what they need (butterfly stage inputs,
 * attention probabilities) instead of keeping it on the tape: the models
 * trained here are small and the recomputation costs one forward of the
 * op, while storing it would multiply the tape's size by log2(n).
 */
#include "ad_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ilog2_ceil(int64_t v) {
  int l = 0;
  while (((int64_t)1 << l) < v) l++;
  return l;
}

static int64_t last_dim(const fab_type *t) { return t->rank ? t->dims[t->rank - 1] : 1; }

static bool bad(fab_diag *d, const fab_ad *ad, int i, const char *what) {
  fab_error(d, ad->f->ops[i].loc, "differentiation: op %%%d '%s': %s", i,
            fab_opinfos[ad->ops[i].code].name, what);
  return false;
}

/* ---- bfly.linear --------------------------------------------------------
 * For one row and stack the op is a product of nblocks*L sparse stages;
 * y_out[p] = t0 a + t1 c, y_out[q] = t2 a + t3 c.  Backward walks the
 * stages in reverse with the stage inputs recomputed into `hist`. */

typedef struct bfly_geom {
  int64_t in, out, n, S, B;
  int L;
  bool inc;
} bfly_geom;

static bfly_geom bfly_of(const fab_op *op) {
  bfly_geom g;
  g.in = fab_op_int(op, "in", 0);
  g.out = fab_op_int(op, "out", 0);
  g.B = fab_op_int(op, "nblocks", 1);
  g.inc = fab_op_int(op, "increasing", 0) != 0;
  g.L = ilog2_ceil(g.in);
  g.n = (int64_t)1 << g.L;
  g.S = (g.out + g.n - 1) / g.n;
  return g;
}

static int stage_log_stride(const bfly_geom *g, int64_t b, int k) {
  bool incr = g->inc ^ (b % 2 == 1);
  return incr ? k : g->L - 1 - k;
}

static void stage_fw(double *y, int64_t n, int ls, const double *tw) {
  int64_t stride = (int64_t)1 << ls;
  for (int64_t i = 0; i < n / 2; i++) {
    int64_t low = i & (stride - 1), p = 2 * (i - low) + low, q = p + stride;
    const double *t = tw + 4 * i;
    double a = y[p], c = y[q];
    y[p] = t[0] * a + t[1] * c;
    y[q] = t[2] * a + t[3] * c;
  }
}

/* g holds d/d(stage output); on return d/d(stage input).  x is the stage
 * input; twiddle gradients are added into gtw. */
static void stage_bw(double *g, const double *x, int64_t n, int ls, const double *tw,
                     double *gtw) {
  int64_t stride = (int64_t)1 << ls;
  for (int64_t i = 0; i < n / 2; i++) {
    int64_t low = i & (stride - 1), p = 2 * (i - low) + low, q = p + stride;
    const double *t = tw + 4 * i;
    double *gt = gtw + 4 * i;
    double a = x[p], c = x[q], gp = g[p], gq = g[q];
    gt[0] += gp * a;
    gt[1] += gp * c;
    gt[2] += gq * a;
    gt[3] += gq * c;
    g[p] = t[0] * gp + t[2] * gq;
    g[q] = t[1] * gp + t[3] * gq;
  }
}

static bool prepare_bfly(fab_ad *ad, int i, fab_diag *d) {
  const fab_op *op = &ad->f->ops[i];
  bfly_geom g = bfly_of(op);
  const ad_op *o = &ad->ops[i];
  const fab_type *x = &ad->ops[o->in[0]].type, *tw = &ad->ops[o->in[1]].type;
  if (g.in < 2 || g.out < 1 || g.B < 1 || x->rank < 1 || last_dim(x) != g.in ||
      last_dim(&o->type) != g.out)
    return bad(d, ad, i, "input / output sizes do not match in/out");
  int64_t want[6] = {g.S, g.B, g.L, g.n / 2, 2, 2};
  bool ok = tw->rank == 6;
  for (int k = 0; ok && k < 6; k++) ok = tw->dims[k] == want[k];
  if (!ok) return bad(d, ad, i, "twiddle shape does not match in/out/nblocks");
  if (o->nin > 2) {
    const fab_type *b = &ad->ops[o->in[2]].type;
    if (b->rank != 1 || b->dims[0] != g.out) return bad(d, ad, i, "bias must be [out]");
  }
  return true;
}

static bool fw_bfly(fab_ad_tape *t, int i, fab_diag *d) {
  const fab_ad *ad = t->ad;
  const ad_op *o = &ad->ops[i];
  bfly_geom g = bfly_of(&ad->f->ops[i]);
  const double *x = t->val[o->in[0]], *tw = t->val[o->in[1]];
  const double *bias = o->nin > 2 ? t->val[o->in[2]] : NULL;
  double *out = t->val[i];
  double *y = ad_scratch(t, (size_t)g.n);
  if (!y) return bad(d, ad, i, "out of memory");
  int64_t rows = o->n / g.out, ssz = (g.n / 2) * 4;
  for (int64_t r = 0; r < rows; r++) {
    const double *xr = x + r * g.in;
    double *orow = out + r * g.out;
    for (int64_t s = 0; s < g.S; s++) {
      memset(y, 0, sizeof(double) * (size_t)g.n);
      memcpy(y, xr, sizeof(double) * (size_t)g.in);
      for (int64_t b = 0; b < g.B; b++)
        for (int k = 0; k < g.L; k++)
          stage_fw(y, g.n, stage_log_stride(&g, b, k), tw + ((s * g.B + b) * g.L + k) * ssz);
      for (int64_t j = 0; j < g.n && s * g.n + j < g.out; j++) orow[s * g.n + j] = y[j];
    }
    if (bias)
      for (int64_t j = 0; j < g.out; j++) orow[j] += bias[j];
  }
  return true;
}

static void bw_bfly(fab_ad_tape *t, int i) {
  const fab_ad *ad = t->ad;
  const ad_op *o = &ad->ops[i];
  bfly_geom g = bfly_of(&ad->f->ops[i]);
  const double *x = t->val[o->in[0]], *tw = t->val[o->in[1]];
  double *gx = t->grad[o->in[0]], *gtw = t->grad[o->in[1]];
  double *gb = o->nin > 2 ? t->grad[o->in[2]] : NULL;
  const double *gout = t->grad[i];
  int64_t nst = g.B * g.L;
  /* hist: the nst stage inputs, then one gradient line */
  double *hist = ad_scratch(t, (size_t)((nst + 1) * g.n));
  if (!hist) return; /* out of memory: gradients stay partial; reported by forward */
  double *gy = hist + nst * g.n;
  int64_t rows = o->n / g.out, ssz = (g.n / 2) * 4;
  for (int64_t r = 0; r < rows; r++) {
    const double *xr = x + r * g.in, *grow = gout + r * g.out;
    if (gb)
      for (int64_t j = 0; j < g.out; j++) gb[j] += grow[j];
    for (int64_t s = 0; s < g.S; s++) {
      double *y = hist;
      memset(y, 0, sizeof(double) * (size_t)g.n);
      memcpy(y, xr, sizeof(double) * (size_t)g.in);
      for (int64_t st = 0; st + 1 < nst; st++) { /* hist[st] = input of stage st */
        memcpy(hist + (st + 1) * g.n, hist + st * g.n, sizeof(double) * (size_t)g.n);
        stage_fw(hist + (st + 1) * g.n, g.n, stage_log_stride(&g, st / g.L, (int)(st % g.L)),
                 tw + (s * nst + st) * ssz);
      }
      memset(gy, 0, sizeof(double) * (size_t)g.n);
      for (int64_t j = 0; j < g.n && s * g.n + j < g.out; j++) gy[j] = grow[s * g.n + j];
      for (int64_t st = nst - 1; st >= 0; st--)
        stage_bw(gy, hist + st * g.n, g.n, stage_log_stride(&g, st / g.L, (int)(st % g.L)),
                 tw + (s * nst + st) * ssz, gtw + (s * nst + st) * ssz);
      if (gx)
        for (int64_t j = 0; j < g.in; j++) gx[r * g.in + j] += gy[j];
    }
  }
}

/* ---- dense: y = x W^T + b ---------------------------------------------- */

static bool prepare_dense(fab_ad *ad, int i, fab_diag *d) {
  const ad_op *o = &ad->ops[i];
  const fab_type *x = &ad->ops[o->in[0]].type, *w = &ad->ops[o->in[1]].type;
  if (x->rank < 1 || w->rank != 2 || w->dims[1] != last_dim(x) || last_dim(&o->type) != w->dims[0])
    return bad(d, ad, i, "weight must be [out, in]");
  if (o->nin > 2) {
    const fab_type *b = &ad->ops[o->in[2]].type;
    if (b->rank != 1 || b->dims[0] != w->dims[0]) return bad(d, ad, i, "bias must be [out]");
  }
  return true;
}

static void fw_dense(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  const fab_type *wt = &t->ad->ops[o->in[1]].type;
  int64_t on = wt->dims[0], in = wt->dims[1], rows = o->n / on;
  const double *x = t->val[o->in[0]], *w = t->val[o->in[1]];
  const double *b = o->nin > 2 ? t->val[o->in[2]] : NULL;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < on; k++) {
      double acc = b ? b[k] : 0;
      const double *xr = x + r * in, *wr = w + k * in;
      for (int64_t j = 0; j < in; j++) acc += xr[j] * wr[j];
      t->val[i][r * on + k] = acc;
    }
}

static void bw_dense(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  const fab_type *wt = &t->ad->ops[o->in[1]].type;
  int64_t on = wt->dims[0], in = wt->dims[1], rows = o->n / on;
  const double *x = t->val[o->in[0]], *w = t->val[o->in[1]], *g = t->grad[i];
  double *gx = t->grad[o->in[0]], *gw = t->grad[o->in[1]];
  double *gb = o->nin > 2 ? t->grad[o->in[2]] : NULL;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t k = 0; k < on; k++) {
      double gk = g[r * on + k];
      if (gk == 0) continue;
      if (gb) gb[k] += gk;
      const double *xr = x + r * in, *wr = w + k * in;
      double *gwr = gw + k * in, *gxr = gx ? gx + r * in : NULL;
      for (int64_t j = 0; j < in; j++) {
        gwr[j] += gk * xr[j];
        if (gxr) gxr[j] += gk * wr[j];
      }
    }
}

/* ---- matmul a[.., m, k] b[.., k, n] (or b[.., n, k] with transpose_b) --- */

typedef struct mm_geom {
  int64_t M, K, N, batch;
  bool tb;
} mm_geom;

static mm_geom mm_of(const fab_ad *ad, int i) {
  const ad_op *o = &ad->ops[i];
  const fab_type *a = &ad->ops[o->in[0]].type, *b = &ad->ops[o->in[1]].type;
  mm_geom g;
  g.tb = fab_op_int(&ad->f->ops[i], "transpose_b", 0) != 0;
  g.M = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
  g.K = last_dim(a);
  g.N = b->rank >= 2 ? (g.tb ? b->dims[b->rank - 2] : b->dims[b->rank - 1]) : 1;
  g.batch = (g.M * g.K != 0) ? fab_type_numel(a) / (g.M * g.K) : 0;
  return g;
}

static bool prepare_matmul(fab_ad *ad, int i, fab_diag *d) {
  const ad_op *o = &ad->ops[i];
  const fab_type *a = &ad->ops[o->in[0]].type, *b = &ad->ops[o->in[1]].type;
  if (a->rank < 2 || b->rank != a->rank) return bad(d, ad, i, "operands must have equal rank >= 2");
  mm_geom g = mm_of(ad, i);
  int64_t bk = g.tb ? last_dim(b) : b->dims[b->rank - 2];
  if (bk != g.K || fab_type_numel(b) != g.batch * g.K * g.N || o->n != g.batch * g.M * g.N)
    return bad(d, ad, i, "operand shapes do not match");
  return true;
}

static double mm_b(const double *B, const mm_geom *g, int64_t k, int64_t j) {
  return g->tb ? B[j * g->K + k] : B[k * g->N + j];
}

static void fw_matmul(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  mm_geom g = mm_of(t->ad, i);
  for (int64_t z = 0; z < g.batch; z++) {
    const double *A = t->val[o->in[0]] + z * g.M * g.K, *B = t->val[o->in[1]] + z * g.K * g.N;
    double *C = t->val[i] + z * g.M * g.N;
    for (int64_t r = 0; r < g.M; r++)
      for (int64_t j = 0; j < g.N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < g.K; k++) acc += A[r * g.K + k] * mm_b(B, &g, k, j);
        C[r * g.N + j] = acc;
      }
  }
}

static void bw_matmul(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  mm_geom g = mm_of(t->ad, i);
  for (int64_t z = 0; z < g.batch; z++) {
    const double *A = t->val[o->in[0]] + z * g.M * g.K, *B = t->val[o->in[1]] + z * g.K * g.N;
    const double *G = t->grad[i] + z * g.M * g.N;
    double *gA = t->grad[o->in[0]] ? t->grad[o->in[0]] + z * g.M * g.K : NULL;
    double *gB = t->grad[o->in[1]] ? t->grad[o->in[1]] + z * g.K * g.N : NULL;
    for (int64_t r = 0; r < g.M; r++)
      for (int64_t j = 0; j < g.N; j++) {
        double gv = G[r * g.N + j];
        for (int64_t k = 0; k < g.K; k++) {
          if (gA) gA[r * g.K + k] += gv * mm_b(B, &g, k, j);
          if (gB) *(g.tb ? &gB[j * g.K + k] : &gB[k * g.N + j]) += gv * A[r * g.K + k];
        }
      }
  }
}

/* ---- fourier.mix --------------------------------------------------------
 * Y = Re(F_s X F_d) = C_s X C_d - S_s X S_d with C = cos, S = sin of the
 * DFT angles.  C and S are symmetric, so the adjoint is the same map:
 * dX = C_s dY C_d - S_s dY S_d. */

static double *trig_table(int64_t n, bool sine) {
  double *m = malloc(sizeof(double) * (size_t)(n * n));
  if (!m) return NULL;
  for (int64_t j = 0; j < n; j++)
    for (int64_t k = 0; k < n; k++) {
      double a = 2.0 * AD_PI * (double)((j * k) % n) / (double)n;
      m[j * n + k] = sine ? sin(a) : cos(a);
    }
  return m;
}

static bool prepare_fourier(fab_ad *ad, int i, fab_diag *d) {
  ad_op *o = &ad->ops[i];
  if (o->type.rank < 2) return bad(d, ad, i, "input must be [.., s, d]");
  int64_t s = o->type.dims[o->type.rank - 2], dd = o->type.dims[o->type.rank - 1];
  if (s > 4096 || dd > 4096) return bad(d, ad, i, "sizes above 4096 are not supported");
  o->cos_s = trig_table(s, false);
  o->sin_s = trig_table(s, true);
  o->cos_d = trig_table(dd, false);
  o->sin_d = trig_table(dd, true);
  if (!o->cos_s || !o->sin_s || !o->cos_d || !o->sin_d) return bad(d, ad, i, "out of memory");
  return true;
}

/* out (+)= C_s X C_d - S_s X S_d over every [s, d] matrix of x. */
static bool fourier_apply(fab_ad_tape *t, const ad_op *o, const double *x, double *out,
                          bool accumulate) {
  int64_t s = o->type.dims[o->type.rank - 2], dd = o->type.dims[o->type.rank - 1];
  double *tc = ad_scratch(t, (size_t)(2 * s * dd));
  if (!tc) return false;
  double *ts = tc + s * dd;
  for (int64_t z = 0; z < o->n / (s * dd); z++) {
    const double *X = x + z * s * dd;
    double *Y = out + z * s * dd;
    /* loops ordered so that the innermost runs along contiguous rows */
    memset(tc, 0, sizeof(double) * (size_t)(2 * s * dd));
    for (int64_t r = 0; r < s; r++)
      for (int64_t j = 0; j < dd; j++) {
        double xv = X[r * dd + j];
        const double *cr = o->cos_d + j * dd, *sr = o->sin_d + j * dd;
        double *tcr = tc + r * dd, *tsr = ts + r * dd;
        for (int64_t k = 0; k < dd; k++) {
          tcr[k] += xv * cr[k];
          tsr[k] += xv * sr[k];
        }
      }
    if (!accumulate) memset(Y, 0, sizeof(double) * (size_t)(s * dd));
    for (int64_t r = 0; r < s; r++)
      for (int64_t j = 0; j < s; j++) {
        double c = o->cos_s[r * s + j], sn = o->sin_s[r * s + j];
        const double *tcj = tc + j * dd, *tsj = ts + j * dd;
        double *yr = Y + r * dd;
        for (int64_t k = 0; k < dd; k++) yr[k] += c * tcj[k] - sn * tsj[k];
      }
  }
  return true;
}

/* ---- mha ------------------------------------------------------------------
 * Per head h (columns h*dh..): P = softmax(q_h k_h^T / sqrt(dh)), O = P v_h.
 * Backward: dP = dO v^T, dv += P^T dO, dS = P (dP - rowsum(dP P)),
 * dq += scale dS k, dk += scale dS^T q. */

typedef struct mha_geom {
  int64_t H, s, tl, dm, dh, batch;
} mha_geom;

static mha_geom mha_of(const fab_ad *ad, int i) {
  const ad_op *o = &ad->ops[i];
  const fab_type *q = &ad->ops[o->in[0]].type, *k = &ad->ops[o->in[1]].type;
  mha_geom g;
  g.H = fab_op_int(&ad->f->ops[i], "heads", 1);
  g.s = q->rank >= 2 ? q->dims[q->rank - 2] : 1;
  g.tl = k->rank >= 2 ? k->dims[k->rank - 2] : 1;
  g.dm = last_dim(q);
  g.dh = g.H > 0 ? g.dm / g.H : 0;
  g.batch = fab_type_numel(q) / (g.s * g.dm);
  return g;
}

static bool prepare_mha(fab_ad *ad, int i, fab_diag *d) {
  const ad_op *o = &ad->ops[i];
  const fab_type *q = &ad->ops[o->in[0]].type, *k = &ad->ops[o->in[1]].type,
                 *v = &ad->ops[o->in[2]].type;
  if (q->rank < 2 || !fab_type_equal(k, v) || k->rank != q->rank || last_dim(k) != last_dim(q))
    return bad(d, ad, i, "q, k, v must be [.., s, d] with equal widths");
  mha_geom g = mha_of(ad, i);
  if (g.H < 1 || g.dm % g.H != 0) return bad(d, ad, i, "heads must divide the width");
  if (fab_type_numel(k) != g.batch * g.tl * g.dm) return bad(d, ad, i, "leading axes differ");
  return true;
}

/* Probabilities of head h of batch z into P[s, tl]. */
static void mha_probs(const mha_geom *g, const double *q, const double *k, double *P) {
  double scale = 1.0 / sqrt((double)g->dh);
  for (int64_t r = 0; r < g->s; r++) {
    double mx = -INFINITY;
    for (int64_t c = 0; c < g->tl; c++) {
      double acc = 0;
      for (int64_t j = 0; j < g->dh; j++) acc += q[r * g->dm + j] * k[c * g->dm + j];
      P[r * g->tl + c] = acc * scale;
      if (P[r * g->tl + c] > mx) mx = P[r * g->tl + c];
    }
    double sum = 0;
    for (int64_t c = 0; c < g->tl; c++) sum += P[r * g->tl + c] = exp(P[r * g->tl + c] - mx);
    for (int64_t c = 0; c < g->tl; c++) P[r * g->tl + c] /= sum;
  }
}

static bool fw_mha(fab_ad_tape *t, int i, fab_diag *d) {
  const ad_op *o = &t->ad->ops[i];
  mha_geom g = mha_of(t->ad, i);
  double *P = ad_scratch(t, (size_t)(g.s * g.tl));
  if (!P) return bad(d, t->ad, i, "out of memory");
  for (int64_t z = 0; z < g.batch; z++)
    for (int64_t h = 0; h < g.H; h++) {
      const double *q = t->val[o->in[0]] + z * g.s * g.dm + h * g.dh;
      const double *k = t->val[o->in[1]] + z * g.tl * g.dm + h * g.dh;
      const double *v = t->val[o->in[2]] + z * g.tl * g.dm + h * g.dh;
      double *out = t->val[i] + z * g.s * g.dm + h * g.dh;
      mha_probs(&g, q, k, P);
      for (int64_t r = 0; r < g.s; r++)
        for (int64_t j = 0; j < g.dh; j++) {
          double acc = 0;
          for (int64_t c = 0; c < g.tl; c++) acc += P[r * g.tl + c] * v[c * g.dm + j];
          out[r * g.dm + j] = acc;
        }
    }
  return true;
}

static void bw_mha(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  mha_geom g = mha_of(t->ad, i);
  double *P = ad_scratch(t, (size_t)(2 * g.s * g.tl));
  if (!P) return;
  double *dS = P + g.s * g.tl, scale = 1.0 / sqrt((double)g.dh);
  for (int64_t z = 0; z < g.batch; z++)
    for (int64_t h = 0; h < g.H; h++) {
      int64_t qo = z * g.s * g.dm + h * g.dh, ko = z * g.tl * g.dm + h * g.dh;
      const double *q = t->val[o->in[0]] + qo, *k = t->val[o->in[1]] + ko,
                   *v = t->val[o->in[2]] + ko, *gO = t->grad[i] + qo;
      double *gq = t->grad[o->in[0]] + qo, *gk = t->grad[o->in[1]] + ko,
             *gv = t->grad[o->in[2]] + ko;
      mha_probs(&g, q, k, P);
      for (int64_t r = 0; r < g.s; r++) {
        double dot = 0;
        for (int64_t c = 0; c < g.tl; c++) {
          double dp = 0;
          for (int64_t j = 0; j < g.dh; j++) {
            dp += gO[r * g.dm + j] * v[c * g.dm + j];
            gv[c * g.dm + j] += P[r * g.tl + c] * gO[r * g.dm + j];
          }
          dS[r * g.tl + c] = dp;
          dot += dp * P[r * g.tl + c];
        }
        for (int64_t c = 0; c < g.tl; c++) dS[r * g.tl + c] = P[r * g.tl + c] * (dS[r * g.tl + c] - dot);
      }
      for (int64_t r = 0; r < g.s; r++)
        for (int64_t c = 0; c < g.tl; c++) {
          double ds = dS[r * g.tl + c] * scale;
          if (ds == 0) continue;
          for (int64_t j = 0; j < g.dh; j++) {
            gq[r * g.dm + j] += ds * k[c * g.dm + j];
            gk[c * g.dm + j] += ds * q[r * g.dm + j];
          }
        }
    }
}

/* ---- dispatch for this file ------------------------------------------- */

bool ad_prepare_linear(fab_ad *ad, int i, fab_diag *d) {
  switch (ad->ops[i].code) {
  case FAB_OP_BFLY_LINEAR: return prepare_bfly(ad, i, d);
  case FAB_OP_DENSE: return prepare_dense(ad, i, d);
  case FAB_OP_MATMUL: return prepare_matmul(ad, i, d);
  case FAB_OP_FOURIER_MIX: return prepare_fourier(ad, i, d);
  case FAB_OP_MHA: return prepare_mha(ad, i, d);
  default: return true;
  }
}

bool ad_fw_linear(fab_ad_tape *t, int i, fab_diag *d) {
  const ad_op *o = &t->ad->ops[i];
  switch (o->code) {
  case FAB_OP_BFLY_LINEAR: return fw_bfly(t, i, d);
  case FAB_OP_DENSE: fw_dense(t, i); return true;
  case FAB_OP_MATMUL: fw_matmul(t, i); return true;
  case FAB_OP_FOURIER_MIX:
    return fourier_apply(t, o, t->val[o->in[0]], t->val[i], false) ||
           bad(d, t->ad, i, "out of memory");
  case FAB_OP_MHA: return fw_mha(t, i, d);
  default: return true;
  }
}

void ad_bw_linear(fab_ad_tape *t, int i) {
  const ad_op *o = &t->ad->ops[i];
  switch (o->code) {
  case FAB_OP_BFLY_LINEAR: bw_bfly(t, i); break;
  case FAB_OP_DENSE: bw_dense(t, i); break;
  case FAB_OP_MATMUL: bw_matmul(t, i); break;
  case FAB_OP_FOURIER_MIX:
    if (t->grad[o->in[0]]) fourier_apply(t, o, t->grad[i], t->grad[o->in[0]], true);
    break;
  case FAB_OP_MHA: bw_mha(t, i); break;
  default: break;
  }
}
