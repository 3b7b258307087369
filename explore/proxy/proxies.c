/* proxies.c — the zero-cost proxies over a differentiable program.
 *
 * Every proxy follows the definitions of Abdelfattah et al. (ICLR 2021)
 * and Mellor et al. (NASWOT), restated in docs/explore.md.  They read the
 * program through the public fab_ad API, so masks (supernets) apply: dead
 * ops contribute neither weights nor units.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "stats.h"

static const char *const proxy_names[FAB_PROXY_COUNT] = {
    "synflow", "snip", "grad_norm", "fisher", "jacob_cov", "nwot", "params", "macs"};

const char *fab_proxy_name(fab_proxy_kind k) {
  return k >= 0 && k < FAB_PROXY_COUNT ? proxy_names[k] : "?";
}

/* fab_error appends the failed allocation's size. */
static bool oom(fab_diag *d) {
  fab_error(d, (fab_loc){0}, "proxy: out of memory");
  return false;
}

int fab_proxy_lookup(const char *name) {
  for (int k = 0; k < FAB_PROXY_COUNT; k++)
    if (name && !strcmp(name, proxy_names[k])) return k;
  return -1;
}

bool fab_proxy_batch_from_dataset(const fab_dataset *ds, int64_t start, int n, fab_proxy_batch *b,
                                  fab_diag *d) {
  memset(b, 0, sizeof *b);
  if (n < 1 || ds->n < 1) {
    fab_error(d, (fab_loc){0}, "proxy: empty minibatch");
    return false;
  }
  b->n = n;
  b->width = ds->seq;
  b->x = malloc(sizeof(double) * (size_t)(n * ds->seq));
  b->y = malloc(sizeof(int32_t) * (size_t)n);
  if (!b->x || !b->y) {
    fab_proxy_batch_free(b);
    fab_error(d, (fab_loc){0}, "proxy: out of memory");
    return false;
  }
  for (int i = 0; i < n; i++) {
    int64_t r = ((start + i) % ds->n + ds->n) % ds->n;
    for (int64_t j = 0; j < ds->seq; j++) b->x[i * ds->seq + j] = ds->x[r * ds->seq + j];
    b->y[i] = ds->y[r];
  }
  return true;
}

void fab_proxy_batch_free(fab_proxy_batch *b) {
  free(b->x);
  free(b->y);
  memset(b, 0, sizeof *b);
}

/* ---- small dense linear algebra (n = batch size, tens) -------------------- */

/* Eigenvalues of a symmetric matrix (cyclic Jacobi; a is destroyed). */
static void sym_eigvals(double *a, int n, double *eig) {
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off < 1e-22) break;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        double apq = a[p * n + q];
        if (fabs(apq) < 1e-300) continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; k++) { /* rotate columns p, q */
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; k++) { /* rotate rows p, q */
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  for (int i = 0; i < n; i++) eig[i] = a[i * n + i];
}

/* ln|det a| by LU with partial pivoting (a is destroyed); -inf if
 * singular. */
static double log_abs_det(double *a, int n) {
  double s = 0;
  for (int c = 0; c < n; c++) {
    int piv = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(a[r * n + c]) > fabs(a[piv * n + c])) piv = r;
    if (a[piv * n + c] == 0) return -INFINITY;
    if (piv != c)
      for (int k = 0; k < n; k++) {
        double t = a[c * n + k];
        a[c * n + k] = a[piv * n + k];
        a[piv * n + k] = t;
      }
    s += log(fabs(a[c * n + c]));
    for (int r = c + 1; r < n; r++) {
      double f = a[r * n + c] / a[c * n + c];
      for (int k = c; k < n; k++) a[r * n + k] -= f * a[c * n + k];
    }
  }
  return s;
}

/* ---- helpers over the program ---------------------------------------------- */

static bool is_linear(fab_opcode c) { return c == FAB_OP_BFLY_LINEAR || c == FAB_OP_DENSE; }

static bool is_act(fab_opcode c) {
  return c == FAB_OP_GELU || c == FAB_OP_RELU || c == FAB_OP_BIAS_GELU;
}

/* The parameter index of op `op`'s operand 1 if it is a weight, else -1. */
static int weight_param(const fab_ad *ad, int op) {
  const fab_func *f = fab_ad_func(ad);
  const fab_op *w = &f->ops[f->ops[op].operands[1]];
  if (w->code != FAB_OP_WEIGHT) return -1;
  return fab_module_find_param(fab_ad_module(ad), fab_op_str(w, "name", ""));
}

/* Linear layers that count: live and not masked out. */
static bool scored_linear(const fab_ad *ad, int i) {
  return is_linear(fab_ad_func(ad)->ops[i].code) && fab_ad_live(ad, i) && !fab_ad_masked(ad, i);
}

/* scored[p] = 1 for the weight parameters of live linear layers. */
static unsigned char *scored_params(const fab_ad *ad) {
  unsigned char *s = calloc((size_t)fab_ad_nparams(ad) + 1, 1);
  if (!s) return NULL;
  for (int i = 0; i < fab_ad_func(ad)->nops; i++)
    if (scored_linear(ad, i)) {
      int p = weight_param(ad, i);
      if (p >= 0) s[p] = 1;
    }
  return s;
}

/* The op whose value stands for "the input" in jacob_cov and synflow:
 * input 0 itself when it is f32, else the embedding op reading it. */
static int input_value_op(const fab_ad *ad) {
  const fab_func *f = fab_ad_func(ad);
  int in = fab_ad_input_op(ad, 0);
  if (f->ops[in].type.dtype != FAB_I32) return in;
  for (int i = in + 1; i < f->nops; i++)
    if (f->ops[i].code == FAB_OP_EMBED && f->ops[i].operands[0] == in && fab_ad_live(ad, i)) return i;
  return -1;
}

static bool check_batch(const fab_ad *ad, const fab_proxy_batch *b, bool labels, fab_diag *d) {
  if (fab_ad_ninputs(ad) != 1 || fab_ad_noutputs(ad) < 1 || !b || b->n < 1 ||
      b->width != fab_ad_numel(ad, fab_ad_input_op(ad, 0))) {
    fab_error(d, (fab_loc){0}, "proxy: the model must have one input of the batch's width and an output");
    return false;
  }
  if (labels && !b->y) {
    fab_error(d, (fab_loc){0}, "proxy: this proxy needs labels");
    return false;
  }
  return true;
}

/* Forward (and, with labels, backward of the mean cross-entropy) of one
 * sample; the output gradient is seeded with gscale * dCE/dlogits. */
static bool sample_pass(fab_ad_tape *t, fab_ad *ad, const fab_proxy_batch *b, int i, bool backward,
                        double gscale, fab_diag *d) {
  const double *in[1] = {b->x + (int64_t)i * b->width};
  if (!fab_ad_forward(t, in, d)) return false;
  if (!backward) return true;
  int o = fab_ad_output_op(ad, 0);
  fab_cross_entropy(fab_ad_value(t, o), (int)fab_ad_numel(ad, o), b->y[i], gscale, fab_ad_grad(t, o));
  fab_ad_backward(t);
  return true;
}

/* ---- gradient proxies: snip, grad_norm, fisher ----------------------------- */

/* fisher's channels of linear op i.  fabc: the output units (last dim),
 * summed over the rows.  Reference (zero-cost-nas's hook, written for
 * NCHW convolutions): dim 1 of the batched activation, i.e. dim 0 of one
 * sample, summed over the rest; on a [seq, d] output the channels are the
 * sequence positions.  *inner: the values summed per channel. */
static int64_t fisher_channels(const fab_ad *ad, int i, bool reference, int64_t *inner) {
  const fab_type *ty = &fab_ad_func(ad)->ops[i].type;
  int64_t ch = reference ? ty->dims[0] : ty->dims[ty->rank - 1];
  *inner = fab_ad_numel(ad, i) / ch;
  return ch;
}

/* zero-cost-nas broadcasts each channel's value to the channel's weights
 * (prod(weight.shape[1:]) of them, the fan-in of a dense layer) before
 * summing; a butterfly layer has numel(twiddles) / out weights per output
 * unit.  fabc's definition counts each channel once. */
static double fisher_factor(fab_ad *ad, int i, bool reference) {
  if (!reference) return 1;
  const fab_type *ty = &fab_ad_func(ad)->ops[i].type;
  int p = weight_param(ad, i);
  return p < 0 ? 1 : (double)fab_ad_param_numel(ad, p) / (double)ty->dims[ty->rank - 1];
}

/* fisher: sum over channels of 1/2 mean_n (sum z dL/dz)^2; the running
 * sums live in fsum at foff[op]. */
static void fisher_accumulate(fab_ad_tape *t, fab_ad *ad, bool reference, int n, const int64_t *foff,
                              double *fsum) {
  const fab_func *f = fab_ad_func(ad);
  for (int i = 0; i < f->nops; i++) {
    if (!scored_linear(ad, i)) continue;
    int64_t inner, ch = fisher_channels(ad, i, reference, &inner);
    const double *z = fab_ad_value(t, i), *g = fab_ad_grad(t, i);
    for (int64_t c = 0; c < ch; c++) {
      double acc = 0;
      for (int64_t r = 0; r < inner; r++) {
        int64_t j = reference ? c * inner + r : r * ch + c;
        acc += z[j] * g[j];
      }
      fsum[foff[i] + c] += 0.5 * acc * acc / n;
    }
  }
}

static bool grad_proxy(fab_ad *ad, fab_proxy_kind k, bool reference, const fab_proxy_batch *b,
                       double *score, fab_diag *d) {
  if (!check_batch(ad, b, true, d)) return false;
  fab_ad_tape *t = fab_ad_tape_new(ad);
  unsigned char *sc = scored_params(ad);
  const fab_func *f = fab_ad_func(ad);
  double *fsum = NULL; /* fisher: per (linear op, channel) running sum over n */
  int64_t *foff = NULL, ftot = 0;
  bool ok = t && sc;
  if (ok && k == FAB_PROXY_FISHER) {
    foff = calloc((size_t)f->nops + 1, sizeof(int64_t));
    ok = foff != NULL;
    for (int i = 0; ok && i < f->nops; i++) {
      int64_t inner;
      foff[i] = ftot;
      if (scored_linear(ad, i)) ftot += fisher_channels(ad, i, reference, &inner);
    }
    fsum = calloc((size_t)ftot + 1, sizeof(double));
    ok = ok && fsum;
  }
  double total = 0;
  if (ok) fab_ad_zero_param_grads(t);
  for (int n = 0; ok && n < b->n; n++) {
    ok = sample_pass(t, ad, b, n, true, 1.0 / b->n, d);
    if (ok && k == FAB_PROXY_FISHER) fisher_accumulate(t, ad, reference, b->n, foff, fsum);
  }
  for (int i = 0; ok && k == FAB_PROXY_FISHER && i < f->nops; i++) {
    if (!scored_linear(ad, i)) continue;
    int64_t inner, ch = fisher_channels(ad, i, reference, &inner);
    double layer = 0;
    for (int64_t c = 0; c < ch; c++) layer += fsum[foff[i] + c];
    total += fisher_factor(ad, i, reference) * layer;
  }
  for (int p = 0; ok && k != FAB_PROXY_FISHER && p < fab_ad_nparams(ad); p++) {
    if (!sc[p]) continue;
    const double *w = fab_ad_param(ad, p), *g = fab_ad_param_grad(t, p);
    double acc = 0;
    for (int64_t j = 0; j < fab_ad_param_numel(ad, p); j++)
      acc += k == FAB_PROXY_SNIP ? fabs(w[j] * g[j]) : g[j] * g[j];
    total += k == FAB_PROXY_SNIP ? acc : sqrt(acc);
  }
  if (!t || !sc || (k == FAB_PROXY_FISHER && (!foff || !fsum)))
    fab_error(d, (fab_loc){0}, "proxy: out of memory");
  fab_ad_tape_free(t);
  free(sc);
  free(fsum);
  free(foff);
  *score = total;
  return ok;
}

/* ---- synflow ------------------------------------------------------------- */

/* reference: zero-cost-nas feeds torch.ones as the input, so a token
 * model reads token 1 everywhere; fabc sets the embedding's output to
 * ones instead (token ids are not values synflow may scale). */
static bool synflow(fab_ad *ad, bool reference, double *log_score, double *log_r, fab_diag *d) {
  if (fab_ad_ninputs(ad) != 1 || fab_ad_noutputs(ad) < 1) {
    fab_error(d, (fab_loc){0}, "proxy: synflow needs one input and an output");
    return false;
  }
  int np = fab_ad_nparams(ad), xop = input_value_op(ad);
  if (xop < 0) {
    fab_error(d, (fab_loc){0}, "proxy: synflow: no embedding reads the token input");
    return false;
  }
  double **keep = calloc((size_t)np + 1, sizeof(double *));
  int64_t nx = fab_ad_numel(ad, xop), nin = fab_ad_numel(ad, fab_ad_input_op(ad, 0));
  double *ones = malloc(sizeof(double) * (size_t)(nx > nin ? nx : nin));
  fab_ad_tape *t = fab_ad_tape_new(ad);
  unsigned char *sc = scored_params(ad);
  bool ok = keep && ones && t && sc;
  for (int p = 0; ok && p < np; p++) { /* theta -> |theta| */
    int64_t n = fab_ad_param_numel(ad, p);
    double *w = fab_ad_param(ad, p);
    ok = (keep[p] = malloc(sizeof(double) * (size_t)n + 1)) != NULL;
    if (!ok) break;
    memcpy(keep[p], w, sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < n; j++) w[j] = fabs(w[j]);
  }
  if (!ok) fab_error(d, (fab_loc){0}, "proxy: out of memory");
  double R = 0, total = 0;
  if (ok) {
    /* token models: the embedding's output is all ones (ids are not data
     * synflow may use); the ids fed below are never read */
    for (int64_t j = 0; j < (nx > nin ? nx : nin); j++) ones[j] = 1;
    bool tokens = xop != fab_ad_input_op(ad, 0) && !reference;
    if (tokens) fab_ad_set_override(ad, xop, ones);
    double *zeros = tokens ? calloc((size_t)nin + 1, sizeof(double)) : NULL;
    const double *in[1] = {tokens ? zeros : ones};
    ok = (!tokens || zeros) && fab_ad_forward(t, in, d);
    if (ok) {
      int o = fab_ad_output_op(ad, 0);
      const double *y = fab_ad_value(t, o);
      double *g = fab_ad_grad(t, o);
      for (int64_t j = 0; j < fab_ad_numel(ad, o); j++) {
        R += y[j];
        g[j] = 1;
      }
      fab_ad_zero_param_grads(t);
      fab_ad_backward(t);
      for (int p = 0; p < np; p++) {
        if (!sc[p]) continue;
        const double *w = fab_ad_param(ad, p), *gp = fab_ad_param_grad(t, p);
        for (int64_t j = 0; j < fab_ad_param_numel(ad, p); j++) total += fabs(w[j] * gp[j]);
      }
    }
    if (tokens) fab_ad_set_override(ad, xop, NULL);
    free(zeros);
  }
  for (int p = 0; keep && p < np; p++)
    if (keep[p]) {
      memcpy(fab_ad_param(ad, p), keep[p], sizeof(double) * (size_t)fab_ad_param_numel(ad, p));
      free(keep[p]);
    }
  free(keep);
  free(ones);
  free(sc);
  fab_ad_tape_free(t);
  if (log_score) *log_score = log(total);
  if (log_r) *log_r = log(fabs(R));
  return ok;
}

bool fab_proxy_synflow(fab_ad *ad, double *log_score, double *log_r, fab_diag *d) {
  return synflow(ad, false, log_score, log_r, d);
}

/* ---- jacob_cov -------------------------------------------------------------- */

bool fab_proxy_jacob_cov_eigs(fab_ad *ad, const fab_proxy_batch *b, double *eig, fab_diag *d) {
  if (!check_batch(ad, b, false, d)) return false;
  int xop = input_value_op(ad);
  if (xop < 0) {
    fab_error(d, (fab_loc){0}, "proxy: jacob_cov: no embedding reads the token input");
    return false;
  }
  int64_t nx = fab_ad_numel(ad, xop);
  int N = b->n;
  double *J = malloc(sizeof(double) * (size_t)(N * nx)), *C = malloc(sizeof(double) * (size_t)(N * N));
  fab_ad_tape *t = fab_ad_tape_new(ad);
  bool ok = J && C && t;
  if (!ok) fab_error(d, (fab_loc){0}, "proxy: out of memory");
  for (int n = 0; ok && n < N; n++) { /* J_n = d(sum_c f_c(x_n)) / d x_n */
    const double *in[1] = {b->x + (int64_t)n * b->width};
    if (!(ok = fab_ad_forward(t, in, d))) break;
    int o = fab_ad_output_op(ad, 0);
    double *g = fab_ad_grad(t, o);
    for (int64_t j = 0; j < fab_ad_numel(ad, o); j++) g[j] = 1;
    fab_ad_backward(t);
    double *row = J + (int64_t)n * nx, mean = 0, ss = 0;
    memcpy(row, fab_ad_grad(t, xop), sizeof(double) * (size_t)nx);
    for (int64_t j = 0; j < nx; j++) mean += row[j];
    mean /= (double)nx;
    for (int64_t j = 0; j < nx; j++) {
      row[j] -= mean;
      ss += row[j] * row[j];
    }
    double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
    for (int64_t j = 0; j < nx; j++) row[j] *= inv;
  }
  /* np.corrcoef of the rows: normalised rows' Gram matrix */
  for (int n = 0; ok && n < N; n++)
    for (int m = 0; m < N; m++) {
      double acc = 0;
      for (int64_t j = 0; j < nx; j++) acc += J[(int64_t)n * nx + j] * J[(int64_t)m * nx + j];
      C[n * N + m] = acc;
    }
  if (ok) sym_eigvals(C, N, eig);
  free(J);
  free(C);
  fab_ad_tape_free(t);
  return ok;
}

static bool jacob_cov(fab_ad *ad, const fab_proxy_batch *b, double *score, fab_diag *d) {
  double *eig = malloc(sizeof(double) * (size_t)(b && b->n > 0 ? b->n : 1));
  if (!eig) return oom(d);
  bool ok = fab_proxy_jacob_cov_eigs(ad, b, eig, d);
  double s = 0;
  for (int i = 0; ok && i < b->n; i++) {
    double l = eig[i] + 1e-5;
    s -= log(fabs(l)) + 1.0 / l; /* |.|: round-off can leave tiny negatives */
  }
  free(eig);
  *score = s;
  return ok;
}

/* ---- nwot ------------------------------------------------------------------- */

bool fab_proxy_nwot_kernel(fab_ad *ad, const fab_proxy_batch *b, double *K, fab_diag *d) {
  if (!check_batch(ad, b, false, d)) return false;
  const fab_func *f = fab_ad_func(ad);
  int64_t units = 0;
  for (int i = 0; i < f->nops; i++)
    if (is_act(f->ops[i].code) && fab_ad_live(ad, i) && !fab_ad_masked(ad, i)) units += fab_ad_numel(ad, i);
  int N = b->n;
  unsigned char *code = malloc((size_t)(N * units) + 1);
  fab_ad_tape *t = fab_ad_tape_new(ad);
  bool ok = code && t;
  if (!ok) fab_error(d, (fab_loc){0}, "proxy: out of memory");
  for (int n = 0; ok && n < N; n++) {
    const double *in[1] = {b->x + (int64_t)n * b->width};
    if (!(ok = fab_ad_forward(t, in, d))) break;
    unsigned char *c = code + (int64_t)n * units;
    for (int i = 0; i < f->nops; i++) {
      if (!is_act(f->ops[i].code) || !fab_ad_live(ad, i) || fab_ad_masked(ad, i)) continue;
      /* "active" = pre-activation > 0 (for GELU too) */
      const double *x = fab_ad_value(t, f->ops[i].operands[0]);
      const double *bias = f->ops[i].code == FAB_OP_BIAS_GELU ? fab_ad_value(t, f->ops[i].operands[1]) : NULL;
      int64_t nb = bias ? fab_ad_numel(ad, f->ops[i].operands[1]) : 1;
      for (int64_t j = 0; j < fab_ad_numel(ad, i); j++) *c++ = x[j] + (bias ? bias[j % nb] : 0) > 0;
    }
  }
  for (int n = 0; ok && n < N; n++)
    for (int m = n; m < N; m++) {
      int64_t agree = 0;
      const unsigned char *a = code + (int64_t)n * units, *bb = code + (int64_t)m * units;
      for (int64_t j = 0; j < units; j++) agree += a[j] == bb[j];
      K[n * N + m] = K[m * N + n] = (double)agree;
    }
  free(code);
  fab_ad_tape_free(t);
  return ok;
}

/* Samples whose codes are identical (duplicate inputs: short ListOps
 * expressions repeat in a minibatch of 32) make K singular and the score
 * -inf for every architecture alike; they are counted once.  Two samples
 * have identical codes exactly when K[n,m] = K[n,n]. */
static bool nwot(fab_ad *ad, const fab_proxy_batch *b, double *score, fab_diag *d) {
  int N = b && b->n > 0 ? b->n : 1;
  double *K = malloc(sizeof(double) * (size_t)(N * N));
  int *keep = malloc(sizeof(int) * (size_t)N);
  if (!K || !keep) {
    free(K);
    free(keep);
    return oom(d);
  }
  bool ok = fab_proxy_nwot_kernel(ad, b, K, d);
  int u = 0;
  for (int n = 0; ok && n < N; n++) {
    bool dup = false;
    for (int j = 0; j < u && !dup; j++) dup = K[n * N + keep[j]] == K[n * N + n];
    if (!dup) keep[u++] = n;
  }
  if (ok) { /* compact K to the distinct rows and columns, in place */
    for (int r = 0; r < u; r++)
      for (int c = 0; c < u; c++) K[r * u + c] = K[keep[r] * N + keep[c]];
    *score = log_abs_det(K, u);
  }
  free(K);
  free(keep);
  return ok;
}

/* ---- baselines ------------------------------------------------------------- */

static bool params_proxy(fab_ad *ad, double *score, fab_diag *d) {
  const fab_func *f = fab_ad_func(ad);
  unsigned char *seen = calloc((size_t)fab_ad_nparams(ad) + 1, 1);
  if (!seen) return oom(d);
  double s = 0;
  for (int i = 0; i < f->nops; i++) {
    if (f->ops[i].code != FAB_OP_WEIGHT || !fab_ad_live(ad, i)) continue;
    int p = fab_module_find_param(fab_ad_module(ad), fab_op_str(&f->ops[i], "name", ""));
    if (p >= 0 && !seen[p]) {
      seen[p] = 1;
      s += (double)fab_ad_param_numel(ad, p);
    }
  }
  free(seen);
  *score = s;
  return true;
}

/* MACs of the live part: the stats of the masked-out plain module. */
static bool macs_proxy(fab_ad *ad, double *score, fab_diag *d) {
  const fab_module *m = fab_ad_module(ad);
  fab_supernet s;
  if (!fab_supernet_scan(m, &s, d)) return false;
  int *choice = calloc((size_t)s.nedges + 1, sizeof(int));
  bool ok = choice != NULL;
  for (int e = 0; ok && e < s.nedges; e++) {
    choice[e] = -1;
    for (int c = 0; c < s.edges[e].ncand; c++)
      if (!fab_ad_masked(ad, s.edges[e].cand_op[c])) choice[e] = choice[e] < 0 ? c : -2;
    if (choice[e] == -2) choice[e] = -1; /* several live: keep them all */
  }
  fab_module *pm = ok && s.nedges ? fab_supernet_extract(m, &s, choice, NULL, NULL, d) : NULL;
  fab_model_stats st = {0};
  ok = ok && (s.nedges == 0 || pm) && fab_stats_compute(pm ? pm : m, &st, d);
  if (ok) *score = (double)st.total.macs;
  fab_stats_free(&st);
  fab_module_free(pm);
  free(choice);
  fab_supernet_free(&s);
  return ok;
}

bool fab_proxy_score_ad_defs(fab_ad *ad, fab_proxy_kind k, fab_proxy_defs defs,
                             const fab_proxy_batch *b, double *score, fab_diag *d) {
  *score = 0;
  bool ref = defs == FAB_PROXY_DEFS_REFERENCE;
  switch (k) {
  case FAB_PROXY_SYNFLOW: return synflow(ad, ref, score, NULL, d);
  case FAB_PROXY_SNIP: case FAB_PROXY_GRAD_NORM: case FAB_PROXY_FISHER:
    return grad_proxy(ad, k, ref, b, score, d);
  case FAB_PROXY_JACOB_COV: return jacob_cov(ad, b, score, d);
  case FAB_PROXY_NWOT: return nwot(ad, b, score, d);
  case FAB_PROXY_PARAMS: return params_proxy(ad, score, d);
  case FAB_PROXY_MACS: return macs_proxy(ad, score, d);
  default:
    fab_error(d, (fab_loc){0}, "proxy: unknown proxy %d", (int)k);
    return false;
  }
}

bool fab_proxy_score_ad(fab_ad *ad, fab_proxy_kind k, const fab_proxy_batch *b, double *score,
                        fab_diag *d) {
  return fab_proxy_score_ad_defs(ad, k, FAB_PROXY_DEFS_FABC, b, score, d);
}

bool fab_proxy_score_defs(const fab_module *m, const fab_tensor_set *weights, uint64_t seed,
                          fab_proxy_kind k, fab_proxy_defs defs, const fab_proxy_batch *b,
                          double *score, fab_diag *d) {
  fab_ad *ad = fab_ad_new(m, d);
  if (!ad) return false;
  bool ok = weights ? fab_ad_load_weights(ad, weights, d) : fab_ad_init_params(ad, seed, d);
  ok = ok && fab_proxy_score_ad_defs(ad, k, defs, b, score, d);
  fab_ad_free(ad);
  return ok;
}

bool fab_proxy_score(const fab_module *m, const fab_tensor_set *weights, uint64_t seed,
                     fab_proxy_kind k, const fab_proxy_batch *b, double *score, fab_diag *d) {
  return fab_proxy_score_defs(m, weights, seed, k, FAB_PROXY_DEFS_FABC, b, score, d);
}
