/* bootstrap.c — percentile bootstrap intervals for the metrics that the
 * predictor and codesign experiments report (docs/codesign.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

static uint64_t xs(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void fab_pred_bootstrap_ci(int n, fab_pred_stat_fn stat, void *user, int rounds, uint64_t seed,
                           double *lo, double *hi) {
  *lo = *hi = NAN;
  if (n < 1 || rounds < 1) return;
  int *idx = malloc(sizeof(int) * (size_t)n);
  double *v = malloc(sizeof(double) * (size_t)rounds);
  uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 0x5851F42D4C957F2Dull;
  if (idx && v) {
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < n; i++) idx[i] = (int)(xs(&rng) % (uint64_t)n);
      v[r] = stat(idx, n, user);
    }
    qsort(v, (size_t)rounds, sizeof(double), cmp_dbl);
    *lo = v[(int)floor(0.025 * (rounds - 1))];
    *hi = v[(int)ceil(0.975 * (rounds - 1))];
  }
  free(idx);
  free(v);
}

static double mean_of(const int *idx, int n, void *user) {
  const double *v = user;
  double s = 0;
  for (int i = 0; i < n; i++) s += v[idx[i]];
  return s / n;
}

double fab_pred_mean_ci(const double *v, int n, uint64_t seed, double *lo, double *hi) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i];
  fab_pred_bootstrap_ci(n, mean_of, (void *)v, 2000, seed, lo, hi);
  return n ? s / n : NAN;
}

/* The resampled pairs of a metrics bootstrap. */
typedef struct pairs {
  const double *pred, *truth;
  double *a, *b;
  int which; /* 0 Kendall, 1 Spearman, 2 within 10% */
} pairs;

static double pair_stat(const int *idx, int n, void *user) {
  pairs *p = user;
  for (int i = 0; i < n; i++) p->a[i] = p->pred[idx[i]], p->b[i] = p->truth[idx[i]];
  if (p->which == 0) return fab_pred_kendall(p->a, p->b, n);
  if (p->which == 1) return fab_pred_spearman(p->a, p->b, n);
  double w = 0;
  for (int i = 0; i < n; i++) w += fabs(p->a[i] / p->b[i] - 1) <= 0.10;
  return w / n;
}

void fab_pred_metrics_ci_compute(const double *pred, const double *truth, int n, uint64_t seed,
                                 fab_pred_metrics_ci *m) {
  memset(m, 0, sizeof *m);
  fab_pred_metrics_compute(pred, truth, n, &m->m);
  pairs p = {pred, truth, malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)),
             malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), 0};
  if (p.a && p.b && n > 1) {
    double *lo[] = {&m->kendall_lo, &m->spearman_lo, &m->within10_lo};
    double *hi[] = {&m->kendall_hi, &m->spearman_hi, &m->within10_hi};
    for (p.which = 0; p.which < 3; p.which++)
      fab_pred_bootstrap_ci(n, pair_stat, &p, 1000, seed + (uint64_t)p.which, lo[p.which], hi[p.which]);
  }
  free(p.a);
  free(p.b);
}

bool fab_pred_evaluate(const fab_predictor *p, const fab_pred_sample *const *s, int n, fab_pred_metrics_ci *m) {
  double *pr = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *tr = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  bool ok = pr && tr && n > 1;
  if (ok) {
    fab_pred_rank_scores(p, s, n, pr);
    for (int i = 0; i < n; i++) tr[i] = s[i]->latency;
    fab_pred_metrics_ci_compute(pr, tr, n, 1, m);
  }
  free(pr);
  free(tr);
  return ok;
}
