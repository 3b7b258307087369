/* gcn.c — the graph convolutional encoder of BRP-NAS, with hand-written
 * backpropagation: L layers of  H' = dropout(relu(LN(Â H W + b))),  read
 * out at the global node.  Used by the latency regressor (a linear head on
 * the embedding, L1 loss on normalised log latency) and by the binary
 * relation predictor (a 2-way softmax over two embeddings). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict_internal.h"

int gcn_layout(gcn *g) {
  int off = 0, fin = g->F;
  for (int l = 0; l < g->L; l++) {
    g->oW[l] = off, off += fin * g->W;
    g->ob[l] = off, off += g->W;
    g->og[l] = off, off += g->W;
    g->obeta[l] = off, off += g->W;
    fin = g->W;
  }
  g->ohead = off;
  off += g->head_in * g->head_out + g->head_out;
  g->nparams = off;
  return off;
}

static double urand(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return (double)(*s >> 11) / 9007199254740992.0;
}

bool gcn_init(gcn *g, int L, int W, int head_in_mult, int head_out, double dropout, uint64_t seed) {
  g->L = L > GCN_MAX_LAYERS ? GCN_MAX_LAYERS : (L < 1 ? 1 : L);
  g->W = W;
  g->F = FAB_PRED_NFEAT;
  g->head_in = head_in_mult * W;
  g->head_out = head_out;
  g->dropout = dropout;
  gcn_layout(g);
  g->theta = calloc((size_t)g->nparams, sizeof(double));
  if (!g->theta) return false;
  uint64_t s = seed * 2654435761u + 88172645463325252ull;
  /* Glorot over the features before wb_share; its first-layer row (the
   * last) starts at 0: it learns from data that vary wb_share, and a data
   * set that does not trains exactly as before it (predict.h) */
  int fin = FAB_PRED_NFEAT_V2;
  for (int l = 0; l < g->L; l++) {
    double a = sqrt(6.0 / (fin + W));
    for (int i = 0; i < fin * W; i++) g->theta[g->oW[l] + i] = (2 * urand(&s) - 1) * a;
    for (int i = 0; i < W; i++) g->theta[g->og[l] + i] = 1;
    fin = W;
  }
  double a = sqrt(6.0 / (g->head_in + g->head_out));
  for (int i = 0; i < g->head_in * g->head_out; i++) g->theta[g->ohead + i] = (2 * urand(&s) - 1) * a;
  return true;
}

void gcn_free(gcn *g) {
  free(g->theta);
  g->theta = NULL;
}

void gcn_ws_free(gcn_ws *w) {
  free(w->buf);
  memset(w, 0, sizeof *w);
}

/* The adjacency the encoder aggregates over: ours (normalised,
 * undirected) or BRP-NAS's (A + I, directed, weights 1). */
typedef struct adjacency {
  const int *start, *col;
  const float *w; /* NULL: every weight 1 */
} adjacency;

static adjacency adjacency_of(const gcn *g, const fab_pred_graph *gr) {
  if (g->paper_graph) return (adjacency){gr->padj_start, gr->padj_col, NULL};
  return (adjacency){gr->adj_start, gr->adj_col, gr->adj_w};
}

/* Forward pass over one graph; the embedding is w->H[L] row n-1.  With a
 * non-NULL rng the dropout masks are drawn (training). */
bool gcn_forward(const gcn *g, const fab_pred_graph *gr, gcn_ws *w, uint64_t *rng) {
  int n = gr->n, W = g->W, F = g->F;
  adjacency A = adjacency_of(g, gr);
  size_t need = (size_t)n * F + (size_t)g->L * ((size_t)n * (F > W ? F : W) + 4 * (size_t)n * W + n) +
                (size_t)g->L * n * W;
  if (w->cap < need) {
    free(w->buf);
    w->buf = malloc(need * sizeof(double));
    w->cap = w->buf ? need : 0;
    if (!w->buf) return false;
  }
  w->n = n;
  double *p = w->buf;
  w->H[0] = p, p += (size_t)n * F;
  for (size_t i = 0; i < (size_t)n * F; i++) w->H[0][i] = gr->x[i];
  int fin = F;
  for (int l = 0; l < g->L; l++) {
    const double *Wl = g->theta + g->oW[l], *b = g->theta + g->ob[l];
    const double *gam = g->theta + g->og[l], *bet = g->theta + g->obeta[l];
    w->AH[l] = p, p += (size_t)n * fin;
    w->Zh[l] = p, p += (size_t)n * W;
    w->R[l] = p, p += (size_t)n * W;
    w->M[l] = p, p += (size_t)n * W;
    w->H[l + 1] = p, p += (size_t)n * W;
    w->rstd[l] = p, p += n;
    const double *Hin = w->H[l];
    memset(w->AH[l], 0, sizeof(double) * (size_t)n * fin);
    for (int i = 0; i < n; i++)
      for (int e = A.start[i]; e < A.start[i + 1]; e++) {
        double a = A.w ? A.w[e] : 1;
        const double *src = Hin + (size_t)A.col[e] * fin;
        double *dst = w->AH[l] + (size_t)i * fin;
        for (int k = 0; k < fin; k++) dst[k] += a * src[k];
      }
    for (int i = 0; i < n; i++) {
      double *z = w->Zh[l] + (size_t)i * W;
      const double *ah = w->AH[l] + (size_t)i * fin;
      for (int o = 0; o < W; o++) z[o] = b[o];
      for (int k = 0; k < fin; k++) {
        double v = ah[k];
        if (v == 0) continue;
        const double *wr = Wl + (size_t)k * W;
        for (int o = 0; o < W; o++) z[o] += v * wr[o];
      }
      double mu = 0, var = 0;
      for (int o = 0; o < W; o++) mu += z[o];
      mu /= W;
      for (int o = 0; o < W; o++) var += (z[o] - mu) * (z[o] - mu);
      double rs = 1 / sqrt(var / W + 1e-5);
      w->rstd[l][i] = rs;
      double *r = w->R[l] + (size_t)i * W, *m = w->M[l] + (size_t)i * W, *h = w->H[l + 1] + (size_t)i * W;
      for (int o = 0; o < W; o++) {
        z[o] = (z[o] - mu) * rs;
        double y = gam[o] * z[o] + bet[o];
        r[o] = y > 0 ? y : 0;
        m[o] = rng && g->dropout > 0 ? (urand(rng) < g->dropout ? 0 : 1 / (1 - g->dropout)) : 1;
        h[o] = r[o] * m[o];
      }
    }
    fin = W;
  }
  return true;
}

const double *gcn_embedding(const gcn *g, const gcn_ws *w) {
  return w->H[g->L] + (size_t)(w->n - 1) * g->W;
}

/* Backward from dL/d(embedding) into grad (accumulated). */
void gcn_backward(const gcn *g, const fab_pred_graph *gr, const gcn_ws *w, const double *demb,
                  double *grad) {
  int n = w->n, W = g->W;
  double *dlast = calloc((size_t)n * W, sizeof(double));
  if (!dlast) return;
  memcpy(dlast + (size_t)(n - 1) * W, demb, sizeof(double) * W);
  gcn_backward_all(g, gr, w, dlast, grad);
  free(dlast);
}

/* Backward from dL/d(last layer output), every node (n x W). */
void gcn_backward_all(const gcn *g, const fab_pred_graph *gr, const gcn_ws *w, const double *dlast,
                      double *grad) {
  int n = w->n, W = g->W;
  adjacency A = adjacency_of(g, gr);
  double *dH = calloc((size_t)n * (g->F > W ? g->F : W), sizeof(double));
  double *dZ = malloc(sizeof(double) * (size_t)n * W);
  double *dAH = malloc(sizeof(double) * (size_t)n * (g->F > W ? g->F : W));
  if (!dH || !dZ || !dAH) goto out;
  memcpy(dH, dlast, sizeof(double) * (size_t)n * W);
  for (int l = g->L - 1; l >= 0; l--) {
    int fin = l == 0 ? g->F : W;
    const double *Wl = g->theta + g->oW[l], *gam = g->theta + g->og[l];
    double *gW = grad + g->oW[l], *gb = grad + g->ob[l], *gg = grad + g->og[l], *gbeta = grad + g->obeta[l];
    for (int i = 0; i < n; i++) {
      const double *zh = w->Zh[l] + (size_t)i * W, *r = w->R[l] + (size_t)i * W, *m = w->M[l] + (size_t)i * W;
      double *dh = dH + (size_t)i * W, *dz = dZ + (size_t)i * W;
      double s1 = 0, s2 = 0;
      for (int o = 0; o < W; o++) {
        double dy = r[o] > 0 ? dh[o] * m[o] : 0;
        gg[o] += dy * zh[o];
        gbeta[o] += dy;
        dz[o] = dy * gam[o];
        s1 += dz[o];
        s2 += dz[o] * zh[o];
      }
      s1 /= W, s2 /= W;
      for (int o = 0; o < W; o++) dz[o] = w->rstd[l][i] * (dz[o] - s1 - zh[o] * s2);
    }
    for (int i = 0; i < n; i++) {
      const double *ah = w->AH[l] + (size_t)i * fin, *dz = dZ + (size_t)i * W;
      for (int o = 0; o < W; o++) gb[o] += dz[o];
      for (int k = 0; k < fin; k++) {
        double v = ah[k];
        if (v == 0) continue;
        double *gr_ = gW + (size_t)k * W;
        for (int o = 0; o < W; o++) gr_[o] += v * dz[o];
      }
    }
    if (l == 0) break;
    for (int i = 0; i < n; i++) {
      double *da = dAH + (size_t)i * fin;
      const double *dz = dZ + (size_t)i * W;
      for (int k = 0; k < fin; k++) {
        const double *wr = Wl + (size_t)k * W;
        double s = 0;
        for (int o = 0; o < W; o++) s += wr[o] * dz[o];
        da[k] = s;
      }
    }
    memset(dH, 0, sizeof(double) * (size_t)n * fin);
    for (int i = 0; i < n; i++)
      for (int e = A.start[i]; e < A.start[i + 1]; e++) {
        double a = A.w ? A.w[e] : 1;
        double *dst = dH + (size_t)A.col[e] * fin;
        const double *src = dAH + (size_t)i * fin;
        for (int k = 0; k < fin; k++) dst[k] += a * src[k];
      }
  }
out:
  free(dH);
  free(dZ);
  free(dAH);
}

/* AdamW (decoupled weight decay, Loshchilov & Hutter). */
bool adamw_init(adamw *o, int n) {
  o->m = calloc((size_t)n, sizeof(double));
  o->v = calloc((size_t)n, sizeof(double));
  o->t = 0;
  return o->m && o->v;
}
void adamw_step(adamw *o, double *theta, const double *grad, int n, double lr, double wd) {
  o->t++;
  double b1 = 0.9, b2 = 0.999, c1 = 1 - pow(b1, o->t), c2 = 1 - pow(b2, o->t);
  for (int i = 0; i < n; i++) {
    o->m[i] = b1 * o->m[i] + (1 - b1) * grad[i];
    o->v[i] = b2 * o->v[i] + (1 - b2) * grad[i] * grad[i];
    theta[i] -= lr * ((o->m[i] / c1) / (sqrt(o->v[i] / c2) + 1e-8) + wd * theta[i]);
  }
}
void adamw_free(adamw *o) {
  free(o->m);
  free(o->v);
}
