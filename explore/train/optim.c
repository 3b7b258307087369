/* optim.c — the softmax cross-entropy loss and Adam/AdamW.
 *
 * Both follow PyTorch exactly (F.cross_entropy with mean reduction when
 * gscale = 1/batch; torch.optim.AdamW), so that a run here and the
 * comparison script in scripts/explore/ make the same updates. */
#include <math.h>
#include <stdlib.h>

#include "ad_internal.h"

double fab_cross_entropy(const double *logits, int classes, int label, double gscale,
                         double *grad) {
  double mx = -INFINITY;
  for (int c = 0; c < classes; c++) mx = fmax(mx, logits[c]);
  double sum = 0;
  for (int c = 0; c < classes; c++) sum += exp(logits[c] - mx);
  double lse = mx + log(sum);
  if (grad)
    for (int c = 0; c < classes; c++)
      grad[c] += gscale * (exp(logits[c] - lse) - (c == label ? 1.0 : 0.0));
  return lse - logits[label];
}

bool fab_adamw_init(fab_adamw *o, const fab_ad *ad, fab_diag *d) {
  o->lr = 1e-3;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->weight_decay = 0.01;
  o->step = 0;
  o->nparams = ad->nparams;
  o->m = calloc((size_t)ad->nparams + 1, sizeof(double *));
  o->v = calloc((size_t)ad->nparams + 1, sizeof(double *));
  bool ok = o->m && o->v;
  for (int p = 0; ok && p < ad->nparams; p++) {
    o->m[p] = calloc((size_t)ad->pnumel[p] + 1, sizeof(double));
    o->v[p] = calloc((size_t)ad->pnumel[p] + 1, sizeof(double));
    ok = o->m[p] && o->v[p];
  }
  if (!ok) {
    fab_adamw_free(o);
    fab_error(d, (fab_loc){0}, "optimiser: out of memory");
  }
  return ok;
}

void fab_adamw_step(fab_adamw *o, fab_ad *ad, double *const *grads, double lr) {
  o->step++;
  double bc1 = 1.0 - pow(o->beta1, (double)o->step), bc2 = 1.0 - pow(o->beta2, (double)o->step);
  for (int p = 0; p < o->nparams; p++) {
    double *w = ad->params[p], *m = o->m[p], *v = o->v[p];
    const double *g = grads[p];
    for (int64_t j = 0; j < ad->pnumel[p]; j++) {
      w[j] -= lr * o->weight_decay * w[j];
      m[j] = o->beta1 * m[j] + (1.0 - o->beta1) * g[j];
      v[j] = o->beta2 * v[j] + (1.0 - o->beta2) * g[j] * g[j];
      w[j] -= lr * (m[j] / bc1) / (sqrt(v[j] / bc2) + o->eps);
    }
  }
}

void fab_adamw_free(fab_adamw *o) {
  if (o->m)
    for (int p = 0; p < o->nparams; p++) free(o->m[p]);
  if (o->v)
    for (int p = 0; p < o->nparams; p++) free(o->v[p]);
  free(o->m);
  free(o->v);
  o->m = o->v = NULL;
}
