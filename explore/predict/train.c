/* train.c — training and using the predictors: the GCN regressor, the
 * binary relation predictor (BRP) and the two baselines. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"

void fab_pred_train_options_default(fab_pred_train_options *o) {
  memset(o, 0, sizeof *o);
  o->kind = FAB_PRED_GCN;
  o->width = 32;
  o->layers = 4;
  o->lr = 4e-4;
  o->weight_decay = 5e-4;
  o->dropout = 0.05;
  o->epochs = 400;
  o->patience = 40;
  o->batch = 16;
  o->seed = 1;
}

static uint64_t xs(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

/* ---- GCN regressor ------------------------------------------------------------ */

/* The normalised log-latency prediction.  With the sum readout, `sm`
 * (if not NULL, n entries) receives each node's share of the sum. */
static double gcn_out_sm(const fab_predictor *p, const fab_pred_sample *s, gcn_ws *w, uint64_t *rng,
                         double *sm) {
  const gcn *g = &p->net;
  if (!gcn_forward(g, &s->g, w, rng)) return NAN;
  const double *v = g->theta + g->ohead;
  if (!p->sum_readout) {
    const double *e = gcn_embedding(g, w);
    double y = v[g->W];
    for (int k = 0; k < g->W; k++) y += v[k] * e[k];
    return y;
  }
  int n = w->n - 1; /* op nodes */
  double mx = -INFINITY, z = 0;
  double *yi = sm ? sm : malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!yi) return NAN;
  for (int i = 0; i < n; i++) {
    const double *h = w->H[g->L] + (size_t)i * g->W;
    double y = v[g->W];
    for (int k = 0; k < g->W; k++) y += v[k] * h[k];
    yi[i] = y;
    mx = fmax(mx, y);
  }
  for (int i = 0; i < n; i++) z += exp(yi[i] - mx);
  if (sm)
    for (int i = 0; i < n; i++) sm[i] = exp(yi[i] - mx) / z;
  else free(yi);
  return n ? ((mx + log(z)) - p->y_mean) / p->y_std : 0;
}

/* The GCN's regression target: log latency, or with `residual` the log of
 * the analytical model's error (NAN without an analytical latency). */
static double log_base(const fab_predictor *p, const fab_pred_sample *s) {
  if (!p->residual) return 0;
  return s->analytical_ms > 0 ? log(s->analytical_ms) : NAN;
}
static double gcn_target(const fab_predictor *p, const fab_pred_sample *s) {
  return log(s->latency) - log_base(p, s);
}

static double gcn_out(const fab_predictor *p, const fab_pred_sample *s, gcn_ws *w, uint64_t *rng) {
  return gcn_out_sm(p, s, w, rng, NULL);
}

static double gcn_valid_loss(const fab_predictor *p, const fab_pred_sample *const *v, int n,
                             gcn_ws *w) {
  double l = 0;
  for (int i = 0; i < n; i++)
    l += fabs(gcn_out(p, v[i], w, NULL) - (gcn_target(p, v[i]) - p->y_mean) / p->y_std);
  return n ? l / n : 0;
}

/* A new encoder, or (p->net.theta set) the current one trained further. */
static bool init_net(fab_predictor *p, const fab_pred_train_options *o, int head_mult, int head_out) {
  if (p->net.theta) return true;
  if (!gcn_init(&p->net, o->layers, o->width, head_mult, head_out, o->dropout, o->seed)) return false;
  p->net.paper_graph = o->paper_graph;
  return true;
}

static bool train_gcn(fab_predictor *p, const fab_pred_sample *const *tr, int ntr,
                      const fab_pred_sample *const *va, int nva, const fab_pred_train_options *o) {
  bool fresh = !p->net.theta;
  if (fresh) { /* a continued run keeps the first run's normalisation */
    p->residual = o->residual; /* fab_pred_train checked every sample has analytical_ms */
    double mu = 0, sd = 0;
    for (int i = 0; i < ntr; i++) mu += gcn_target(p, tr[i]) / ntr;
    for (int i = 0; i < ntr; i++) sd += (gcn_target(p, tr[i]) - mu) * (gcn_target(p, tr[i]) - mu) / ntr;
    p->y_mean = mu;
    p->y_std = sd > 1e-12 ? sqrt(sd) : 1;
    p->sum_readout = o->sum_readout;
  }
  double mu = p->y_mean;
  if (!init_net(p, o, 1, 1)) return false;
  if (fresh && p->sum_readout) /* start each op near the mean cost per op */
    p->net.theta[p->net.ohead + p->net.W] = mu - log(tr[0]->g.n > 1 ? tr[0]->g.n - 1 : 1);
  gcn *g = &p->net;
  int np = g->nparams;
  double *grad = calloc((size_t)np, sizeof(double)), *best = malloc(sizeof(double) * (size_t)np);
  int *perm = malloc(sizeof(int) * (size_t)(ntr ? ntr : 1));
  adamw opt;
  bool ok = grad && best && perm && adamw_init(&opt, np);
  gcn_ws w = {0};
  uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 1;
  double best_loss = INFINITY;
  int since = 0;
  if (ok) memcpy(best, g->theta, sizeof(double) * (size_t)np);
  for (int i = 0; i < ntr && ok; i++) perm[i] = i;
  for (int ep = 0; ok && ep < o->epochs; ep++) {
    for (int i = ntr - 1; i > 0; i--) {
      int j = (int)(xs(&rng) % (uint64_t)(i + 1)), t = perm[i];
      perm[i] = perm[j], perm[j] = t;
    }
    double tl = 0;
    for (int b0 = 0; b0 < ntr; b0 += o->batch) {
      int b1 = b0 + o->batch < ntr ? b0 + o->batch : ntr;
      memset(grad, 0, sizeof(double) * (size_t)np);
      for (int i = b0; i < b1; i++) {
        const fab_pred_sample *s = tr[perm[i]];
        double *sm = p->sum_readout ? malloc(sizeof(double) * (size_t)s->g.n) : NULL;
        double y = gcn_out_sm(p, s, &w, &rng, sm), t = (gcn_target(p, s) - mu) / p->y_std;
        tl += fabs(y - t);
        double dy = (y > t ? 1.0 : (y < t ? -1.0 : 0.0)) / (b1 - b0);
        double *gv = grad + g->ohead;
        const double *v = g->theta + g->ohead;
        if (!p->sum_readout) {
          double demb[256];
          const double *e = gcn_embedding(g, &w);
          for (int k = 0; k < g->W; k++) gv[k] += dy * e[k], demb[k] = dy * v[k];
          gv[g->W] += dy;
          gcn_backward(g, &s->g, &w, demb, grad);
        } else if (sm) {
          /* d pred / d y_i = share_i / y_std */
          int n = s->g.n;
          double *dl = calloc((size_t)n * g->W, sizeof(double));
          for (int q = 0; dl && q < n - 1; q++) {
            double gq = dy * sm[q] / p->y_std;
            const double *h = w.H[g->L] + (size_t)q * g->W;
            for (int k = 0; k < g->W; k++) gv[k] += gq * h[k], dl[(size_t)q * g->W + k] = gq * v[k];
            gv[g->W] += gq;
          }
          if (dl) gcn_backward_all(g, &s->g, &w, dl, grad);
          free(dl);
        }
        free(sm);
      }
      adamw_step(&opt, g->theta, grad, np, o->lr, o->weight_decay);
    }
    double vl = nva ? gcn_valid_loss(p, va, nva, &w) : tl / (ntr ? ntr : 1);
    if (o->progress)
      o->progress(&(fab_pred_progress){ep + 1, o->epochs, tl / (ntr ? ntr : 1), vl}, o->user);
    if (vl < best_loss) {
      best_loss = vl, since = 0;
      memcpy(best, g->theta, sizeof(double) * (size_t)np);
    } else if (++since >= o->patience && nva) {
      break;
    }
  }
  if (ok) memcpy(g->theta, best, sizeof(double) * (size_t)np);
  if (grad && best && perm) adamw_free(&opt);
  gcn_ws_free(&w);
  free(grad);
  free(best);
  free(perm);
  return ok;
}

/* ---- binary relation predictor --------------------------------------------------- */

/* logits = U [e_a, e_b] + u; p(a's label smaller) = softmax(logits)[0]. */
static void brp_logits(const gcn *g, const double *ea, const double *eb, double *lg) {
  const double *U = g->theta + g->ohead;
  for (int c = 0; c < 2; c++) {
    double s = U[2 * g->W * 2 + c];
    for (int k = 0; k < g->W; k++) s += U[c * 2 * g->W + k] * ea[k] + U[c * 2 * g->W + g->W + k] * eb[k];
    lg[c] = s;
  }
}

static double brp_prob(const fab_predictor *p, const fab_pred_sample *a, const fab_pred_sample *b) {
  const gcn *g = &p->net;
  gcn_ws wa = {0}, wb = {0};
  double lg[2] = {0, 0};
  if (gcn_forward(g, &a->g, &wa, NULL) && gcn_forward(g, &b->g, &wb, NULL))
    brp_logits(g, gcn_embedding(g, &wa), gcn_embedding(g, &wb), lg);
  gcn_ws_free(&wa);
  gcn_ws_free(&wb);
  return 1 / (1 + exp(lg[1] - lg[0]));
}

/* BRP-NAS's soft targets: the softmax of a pair's labels, the labels
 * (their logs) min-max normalised over the training set as the
 * reference's data sets are ("..._norm"). */
typedef struct brp_labels {
  double lo, span;
  bool hard;
} brp_labels;

static brp_labels brp_labels_of(const fab_pred_sample *const *tr, int ntr, bool hard) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < ntr; i++) lo = fmin(lo, log(tr[i]->latency)), hi = fmax(hi, log(tr[i]->latency));
  return (brp_labels){lo, hi > lo ? hi - lo : 1, hard};
}

/* The target p(a's label is the smaller): softmax([-u_a, -u_b])[0] of the
 * normalised labels u, or 1/0 (1/2 for a tie) with hard targets. */
static double brp_target(const brp_labels *L, const fab_pred_sample *a, const fab_pred_sample *b) {
  if (L->hard) return a->latency < b->latency ? 1 : (a->latency > b->latency ? 0 : 0.5);
  double ua = (log(a->latency) - L->lo) / L->span, ub = (log(b->latency) - L->lo) / L->span;
  return 1 / (1 + exp(ua - ub));
}

/* One pair's cross-entropy against target t (the gradient of BRP-NAS's KL
 * divergence); gradients, times `scale`, into the head (grad) and the two
 * embeddings' adjoints. */
static double brp_pair(const gcn *g, const double *ea, const double *eb, double t, double scale, double *grad,
                       double *dea, double *deb) {
  int W = g->W;
  double lg[2];
  brp_logits(g, ea, eb, lg);
  double m = fmax(lg[0], lg[1]), z = exp(lg[0] - m) + exp(lg[1] - m);
  double pr[2] = {exp(lg[0] - m) / z, exp(lg[1] - m) / z};
  double loss = -(t * log(pr[0] + 1e-12) + (1 - t) * log(pr[1] + 1e-12));
  double dl[2] = {(pr[0] - t) * scale, (pr[1] - (1 - t)) * scale};
  double *gU = grad + g->ohead;
  const double *U = g->theta + g->ohead;
  for (int c = 0; c < 2; c++) {
    gU[4 * W + c] += dl[c];
    for (int q = 0; q < W; q++) {
      gU[c * 2 * W + q] += dl[c] * ea[q];
      gU[c * 2 * W + W + q] += dl[c] * eb[q];
      dea[q] += dl[c] * U[c * 2 * W + q];
      deb[q] += dl[c] * U[c * 2 * W + W + q];
    }
  }
  return loss;
}

/* The workspaces of one BRP training run. */
typedef struct brp_run {
  fab_predictor *p;
  const fab_pred_train_options *o;
  brp_labels L;
  double *grad, *emb, *demb;
  gcn_ws *ws;
  int *perm, B;
  adamw opt;
  uint64_t rng;
} brp_run;

/* Every ordered pair within each minibatch of B models: each model's
 * embedding once per step, its adjoint summed over its pairs. */
static double brp_epoch_all_pairs(brp_run *r, const fab_pred_sample *const *tr, int ntr) {
  gcn *g = &r->p->net;
  int W = g->W, np = g->nparams;
  double tl = 0;
  for (int i = ntr - 1; i > 0; i--) {
    int j = (int)(xs(&r->rng) % (uint64_t)(i + 1)), t = r->perm[i];
    r->perm[i] = r->perm[j], r->perm[j] = t;
  }
  for (int b0 = 0; b0 + 1 < ntr; b0 += r->B) {
    int nb = ntr - b0 < r->B ? ntr - b0 : r->B;
    memset(r->grad, 0, sizeof(double) * (size_t)np);
    memset(r->demb, 0, sizeof(double) * (size_t)nb * W);
    for (int i = 0; i < nb; i++) {
      gcn_forward(g, &tr[r->perm[b0 + i]]->g, &r->ws[i], &r->rng);
      memcpy(r->emb + (size_t)i * W, gcn_embedding(g, &r->ws[i]), sizeof(double) * W);
    }
    double scale = 1.0 / (nb * (nb - 1));
    for (int i = 0; i < nb; i++)
      for (int j = 0; j < nb; j++)
        if (i != j)
          tl += brp_pair(g, r->emb + (size_t)i * W, r->emb + (size_t)j * W,
                         brp_target(&r->L, tr[r->perm[b0 + i]], tr[r->perm[b0 + j]]), scale, r->grad,
                         r->demb + (size_t)i * W, r->demb + (size_t)j * W) * scale;
    for (int i = 0; i < nb; i++) gcn_backward(g, &tr[r->perm[b0 + i]]->g, &r->ws[i], r->demb + (size_t)i * W, r->grad);
    adamw_step(&r->opt, g->theta, r->grad, np, r->o->lr, r->o->weight_decay);
  }
  return tl;
}

/* o->brp_pairs random pairs per epoch, in steps of o->batch pairs. */
static double brp_epoch_random_pairs(brp_run *r, const fab_pred_sample *const *tr, int ntr) {
  gcn *g = &r->p->net;
  int W = g->W, np = g->nparams, B = r->o->batch;
  double tl = 0, *dea = r->demb, *deb = r->demb + W;
  for (int k0 = 0; k0 < r->o->brp_pairs; k0 += B) {
    int nb = r->o->brp_pairs - k0 < B ? r->o->brp_pairs - k0 : B;
    memset(r->grad, 0, sizeof(double) * (size_t)np);
    for (int k = 0; k < nb; k++) {
      const fab_pred_sample *a = tr[xs(&r->rng) % (uint64_t)ntr], *b = tr[xs(&r->rng) % (uint64_t)ntr];
      if (a == b) continue;
      gcn_forward(g, &a->g, &r->ws[0], &r->rng);
      gcn_forward(g, &b->g, &r->ws[1], &r->rng);
      memset(dea, 0, sizeof(double) * 2 * W);
      tl += brp_pair(g, gcn_embedding(g, &r->ws[0]), gcn_embedding(g, &r->ws[1]), brp_target(&r->L, a, b),
                     1.0 / nb, r->grad, dea, deb) / r->o->brp_pairs;
      gcn_backward(g, &a->g, &r->ws[0], dea, r->grad);
      gcn_backward(g, &b->g, &r->ws[1], deb, r->grad);
    }
    adamw_step(&r->opt, g->theta, r->grad, np, r->o->lr, r->o->weight_decay);
  }
  return tl;
}

/* Kendall tau of the BRP's ranking of `va` against their labels. */
static double brp_valid_tau(const fab_predictor *p, const fab_pred_sample *const *va, int nva) {
  double *sc = malloc(sizeof(double) * (size_t)nva), *y = malloc(sizeof(double) * (size_t)nva), tau = 0;
  if (sc && y) {
    fab_pred_rank_scores(p, va, nva, sc);
    for (int i = 0; i < nva; i++) y[i] = va[i]->latency;
    tau = fab_pred_kendall(sc, y, nva);
  }
  free(sc);
  free(y);
  return tau;
}

static bool train_brp(fab_predictor *p, const fab_pred_sample *const *tr, int ntr,
                      const fab_pred_sample *const *va, int nva, const fab_pred_train_options *o) {
  if (ntr < 2 || !init_net(p, o, 2, 2)) return false;
  gcn *g = &p->net;
  int np = g->nparams, W = g->W;
  brp_run r = {.p = p, .o = o, .L = brp_labels_of(tr, ntr, o->brp_hard), .B = o->batch > 2 ? o->batch : 2};
  if (o->brp_pairs > 0) r.B = 2;
  r.grad = calloc((size_t)np, sizeof(double));
  r.emb = malloc(sizeof(double) * (size_t)r.B * W);
  r.demb = malloc(sizeof(double) * (size_t)r.B * W);
  r.ws = calloc((size_t)r.B, sizeof(gcn_ws));
  r.perm = malloc(sizeof(int) * (size_t)ntr);
  r.rng = o->seed * 0x9E3779B97F4A7C15ull + 7;
  double *best = malloc(sizeof(double) * (size_t)np);
  bool ok = r.grad && r.emb && r.demb && r.ws && r.perm && best && adamw_init(&r.opt, np);
  double best_score = -INFINITY;
  int since = 0;
  for (int i = 0; ok && i < ntr; i++) r.perm[i] = i;
  if (ok) memcpy(best, g->theta, sizeof(double) * (size_t)np);
  for (int ep = 0; ok && ep < o->epochs; ep++) {
    double tl = o->brp_pairs > 0 ? brp_epoch_random_pairs(&r, tr, ntr) : brp_epoch_all_pairs(&r, tr, ntr);
    /* early stopping: validation tau, or (no validation set) the
     * training loss as BRP-NAS's code does for binary predictors */
    double score = nva > 1 ? brp_valid_tau(p, va, nva) : -tl;
    if (o->progress) o->progress(&(fab_pred_progress){ep + 1, o->epochs, tl, nva > 1 ? 1 - score : tl}, o->user);
    if (score > best_score) {
      best_score = score, since = 0;
      memcpy(best, g->theta, sizeof(double) * (size_t)np);
    } else if (++since >= o->patience) {
      break;
    }
  }
  if (ok) memcpy(g->theta, best, sizeof(double) * (size_t)np);
  if (r.grad && r.emb && r.demb && r.ws && r.perm && best) adamw_free(&r.opt);
  for (int i = 0; r.ws && i < r.B; i++) gcn_ws_free(&r.ws[i]);
  free(r.ws);
  free(r.grad);
  free(r.emb);
  free(r.demb);
  free(r.perm);
  free(best);
  return ok;
}

/* ---- baselines ------------------------------------------------------------------ */

static void train_macs(fab_predictor *p, const fab_pred_sample *const *tr, int n) {
  double mx = 0, my = 0, sxy = 0, sxx = 0;
  for (int i = 0; i < n; i++) mx += tr[i]->macs / n, my += tr[i]->latency / n;
  for (int i = 0; i < n; i++) {
    sxy += (tr[i]->macs - mx) * (tr[i]->latency - my);
    sxx += (tr[i]->macs - mx) * (tr[i]->macs - mx);
  }
  p->b = sxx > 0 ? sxy / sxx : 0;
  p->a = my - p->b * mx;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}
static int key_index(const fab_predictor *p, uint64_t k) {
  int lo = 0, hi = p->nkeys - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (p->keys[mid] == k) return mid;
    if (p->keys[mid] < k) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/* The per-op table: latency = sum over ops of t[key(op)], t fitted by
 * ridge least squares on the training set (the entries LatBench would
 * measure op by op; here they are solved for from whole-model timings).
 * Unseen keys cost MACs times their op's mean ms-per-MAC. */
static bool train_lut(fab_predictor *p, const fab_pred_sample *const *tr, int n) {
  int tot = 0;
  for (int i = 0; i < n; i++) tot += tr[i]->g.n - 1;
  uint64_t *all = malloc(sizeof(uint64_t) * (size_t)(tot + 1));
  if (!all) return false;
  int m = 0;
  for (int i = 0; i < n; i++)
    for (int v = 0; v < tr[i]->g.n - 1; v++) all[m++] = tr[i]->g.key[v];
  qsort(all, (size_t)m, sizeof *all, cmp_u64);
  int K = 0;
  for (int i = 0; i < m; i++)
    if (!K || all[K - 1] != all[i]) all[K++] = all[i];
  p->keys = all;
  p->nkeys = K;
  int K1 = K + 1; /* + a constant term */
  double *A = calloc((size_t)K1 * K1, sizeof(double)), *rhs = calloc((size_t)K1, sizeof(double));
  double *c = calloc((size_t)K1, sizeof(double));
  p->tval = calloc((size_t)K1, sizeof(double));
  bool ok = A && rhs && c && p->tval;
  for (int i = 0; ok && i < n; i++) {
    memset(c, 0, sizeof(double) * (size_t)K1);
    for (int v = 0; v < tr[i]->g.n - 1; v++) c[key_index(p, tr[i]->g.key[v])] += 1;
    c[K] = 1;
    for (int a = 0; a < K1; a++) {
      if (c[a] == 0) continue;
      rhs[a] += c[a] * tr[i]->latency;
      for (int b = 0; b < K1; b++) A[(size_t)a * K1 + b] += c[a] * c[b];
    }
  }
  double tr_ = 0;
  for (int a = 0; ok && a < K1; a++) tr_ += A[(size_t)a * K1 + a];
  for (int a = 0; ok && a < K1; a++) A[(size_t)a * K1 + a] += 1e-6 * tr_ / K1 + 1e-12;
  /* Cholesky solve */
  for (int j = 0; ok && j < K1; j++) {
    double s = A[(size_t)j * K1 + j];
    for (int k = 0; k < j; k++) s -= A[(size_t)j * K1 + k] * A[(size_t)j * K1 + k];
    if (!(s > 0)) {
      ok = false;
      break;
    }
    A[(size_t)j * K1 + j] = sqrt(s);
    for (int i = j + 1; i < K1; i++) {
      double t = A[(size_t)i * K1 + j];
      for (int k = 0; k < j; k++) t -= A[(size_t)i * K1 + k] * A[(size_t)j * K1 + k];
      A[(size_t)i * K1 + j] = t / A[(size_t)j * K1 + j];
    }
  }
  for (int i = 0; ok && i < K1; i++) {
    double t = rhs[i];
    for (int k = 0; k < i; k++) t -= A[(size_t)i * K1 + k] * c[k];
    c[i] = t / A[(size_t)i * K1 + i];
  }
  for (int i = K1 - 1; ok && i >= 0; i--) {
    double t = c[i];
    for (int k = i + 1; k < K1; k++) t -= A[(size_t)k * K1 + i] * p->tval[k];
    p->tval[i] = t / A[(size_t)i * K1 + i];
  }
  if (ok) {
    p->lut_bias = p->tval[K];
    double num[FAB_PRED_NOPS] = {0}, den[FAB_PRED_NOPS] = {0};
    for (int i = 0; i < n; i++)
      for (int v = 0; v < tr[i]->g.n - 1; v++) {
        int slot = fab_pred_op_slot(tr[i]->g.op[v]);
        if (slot < 0) continue;
        num[slot] += p->tval[key_index(p, tr[i]->g.key[v])];
        den[slot] += tr[i]->g.macs[v];
      }
    for (int k = 0; k < FAB_PRED_NOPS; k++) p->rate[k] = den[k] > 0 ? num[k] / den[k] : 0;
  }
  free(A);
  free(rhs);
  free(c);
  return ok;
}

static double lut_predict(const fab_predictor *p, const fab_pred_sample *s) {
  double t = p->lut_bias;
  for (int v = 0; v < s->g.n - 1; v++) {
    int k = key_index(p, s->g.key[v]);
    int slot = fab_pred_op_slot(s->g.op[v]);
    t += k >= 0 ? p->tval[k] : slot >= 0 ? p->rate[slot] * s->g.macs[v] : 0;
  }
  return t;
}

/* ---- public ------------------------------------------------------------------------ */

fab_predictor *fab_pred_train(const fab_pred_sample *const *train, int ntrain,
                              const fab_pred_sample *const *valid, int nvalid,
                              const fab_pred_train_options *o, fab_diag *d) {
  fab_pred_train_options def;
  if (!o) fab_pred_train_options_default(&def), o = &def;
  if (ntrain < 2) {
    fab_error(d, (fab_loc){0}, "a predictor needs at least 2 training samples (got %d)", ntrain);
    return NULL;
  }
  if (o->width < 1 || o->width > 256 || o->layers < 1 || o->layers > GCN_MAX_LAYERS ||
      o->batch < 1 || o->epochs < 0 || !(o->dropout >= 0 && o->dropout < 1)) {
    fab_error(d, (fab_loc){0}, "bad predictor options (width 1..256, layers 1..%d, batch >= 1, "
              "dropout in [0, 1))", GCN_MAX_LAYERS);
    return NULL;
  }
  for (int i = 0; o->kind == FAB_PRED_GCN && o->residual && i < ntrain + nvalid; i++)
    if (!((i < ntrain ? train[i] : valid[i - ntrain])->analytical_ms > 0)) {
      fab_error(d, (fab_loc){0}, "the residual GCN needs every sample's analytical latency "
                "(\"fpga_model_ms\"); %s sample %d has none", i < ntrain ? "training" : "validation",
                i < ntrain ? i : i - ntrain);
      return NULL;
    }
  fab_predictor *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->kind = o->kind;
  bool ok = true;
  switch (o->kind) {
  case FAB_PRED_GCN: ok = train_gcn(p, train, ntrain, valid, nvalid, o); break;
  case FAB_PRED_BRP: ok = train_brp(p, train, ntrain, valid, nvalid, o); break;
  case FAB_PRED_MACS: train_macs(p, train, ntrain); break;
  case FAB_PRED_LUT: ok = train_lut(p, train, ntrain); break;
  }
  if (!ok) {
    fab_error(d, (fab_loc){0}, "predictor training failed (out of memory or a singular fit)");
    fab_pred_free(p);
    return NULL;
  }
  return p;
}

bool fab_pred_train_more(fab_predictor *p, const fab_pred_sample *const *train, int ntrain,
                         const fab_pred_sample *const *valid, int nvalid, const fab_pred_train_options *o,
                         fab_diag *d) {
  if ((p->kind != FAB_PRED_GCN && p->kind != FAB_PRED_BRP) || ntrain < 2) {
    fab_error(d, (fab_loc){0}, "only a GCN or BRP with at least 2 training samples trains further");
    return false;
  }
  for (int i = 0; p->residual && i < ntrain; i++)
    if (!(train[i]->analytical_ms > 0)) {
      fab_error(d, (fab_loc){0}, "the residual GCN needs every sample's analytical latency");
      return false;
    }
  bool ok = p->kind == FAB_PRED_GCN ? train_gcn(p, train, ntrain, valid, nvalid, o)
                                    : train_brp(p, train, ntrain, valid, nvalid, o);
  if (!ok) fab_error(d, (fab_loc){0}, "predictor training failed (out of memory)");
  return ok;
}

void fab_pred_free(fab_predictor *p) {
  if (!p) return;
  gcn_free(&p->net);
  free(p->keys);
  free(p->tval);
  free(p);
}

fab_pred_kind fab_pred_get_kind(const fab_predictor *p) { return p->kind; }
bool fab_pred_needs_analytical(const fab_predictor *p) { return p->kind == FAB_PRED_GCN && p->residual; }

double fab_pred_predict(const fab_predictor *p, const fab_pred_sample *s) {
  switch (p->kind) {
  case FAB_PRED_GCN: {
    gcn_ws w = {0};
    double base = log_base(p, s);
    if (isnan(base)) return NAN;
    double y = gcn_out(p, s, &w, NULL);
    gcn_ws_free(&w);
    return exp(y * p->y_std + p->y_mean + base);
  }
  case FAB_PRED_MACS: return p->a + p->b * s->macs;
  case FAB_PRED_LUT: return lut_predict(p, s);
  case FAB_PRED_BRP: return 0;
  }
  return 0;
}

double fab_pred_compare(const fab_predictor *p, const fab_pred_sample *a, const fab_pred_sample *b) {
  if (p->kind == FAB_PRED_BRP) return 0.5 * (brp_prob(p, a, b) + 1 - brp_prob(p, b, a));
  double x = fab_pred_predict(p, a), y = fab_pred_predict(p, b);
  return x < y ? 1 : (x > y ? 0 : 0.5);
}

void fab_pred_rank_scores(const fab_predictor *p, const fab_pred_sample *const *s, int n,
                          double *score) {
  if (p->kind != FAB_PRED_BRP) {
    for (int i = 0; i < n; i++) score[i] = fab_pred_predict(p, s[i]);
    return;
  }
  /* embeddings once, then every pair through the head */
  const gcn *g = &p->net;
  double *emb = malloc(sizeof(double) * (size_t)n * g->W);
  if (!emb) return;
  gcn_ws w = {0};
  for (int i = 0; i < n; i++) {
    gcn_forward(g, &s[i]->g, &w, NULL);
    memcpy(emb + (size_t)i * g->W, gcn_embedding(g, &w), sizeof(double) * g->W);
  }
  gcn_ws_free(&w);
  for (int i = 0; i < n; i++) {
    double lose = 0;
    for (int j = 0; j < n; j++) {
      if (i == j) continue;
      double lg[2];
      brp_logits(g, emb + (size_t)i * g->W, emb + (size_t)j * g->W, lg);
      lose += 1 / (1 + exp(lg[0] - lg[1])); /* p(j faster) */
    }
    score[i] = n > 1 ? lose / (n - 1) : 0;
  }
  free(emb);
}
