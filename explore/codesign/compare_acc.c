/* compare_acc.c — the accuracy objectives compared on one space (`fabc
 * codesign --compare accuracy`): every model scored by training, by the
 * synflow proxy and by the stand-in, with the rank correlations between
 * them (docs/codesign.md, "Evaluators"). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_compare.h"
#include "fab_out.h"
#include "predict.h"

typedef struct job {
  fab_cd_evaluator *e[3];
  const int64_t *keys;
  double *acc; /* [n][3] */
  bool *ok;
  int n, next;
  pthread_mutex_t lock;
} job;

static void *work(void *arg_) {
  job *j = arg_;
  fab_diag *d = fab_diag_new();
  for (;;) {
    pthread_mutex_lock(&j->lock);
    int i = j->next++;
    pthread_mutex_unlock(&j->lock);
    if (i >= j->n) break;
    j->ok[i] = true;
    for (int k = 0; k < 3; k++) {
      fab_cd_result r;
      /* the accuracy is set even when the pair itself is infeasible */
      j->ok[i] &= fab_cd_evaluate(j->e[k], j->keys[i], &r, d);
      j->acc[3 * i + k] = r.accuracy;
    }
    fab_diag_clear(d);
  }
  fab_diag_free(d);
  return NULL;
}

bool fab_cd_compare_accuracy(const fab_cd_space *sp, const fab_cd_eval_options *base,
                             const fab_cd_acc_compare_options *o, fab_diag *d) {
  const fab_cd_space s = *sp;
  FILE *out = o->out ? o->out : stdout;
  int max_models = o->max_models;
  int every = o->every; /* every k-th model index */
  if (every < 1) every = 1;
  int threads = o->threads;
  if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  fab_cd_eval_options eo[3];
  static const fab_cd_acc_kind kinds[3] = {FAB_CD_ACC_TRAINED, FAB_CD_ACC_PROXY, FAB_CD_ACC_STANDIN};
  job j = {.lock = PTHREAD_MUTEX_INITIALIZER};
  bool rc = false;
  for (int k = 0; k < 3; k++) {
    eo[k] = *base;
    if (k > 0) eo[k].progress = NULL; /* the training phase is the one worth showing */
    eo[k].accuracy = kinds[k];
    if (!(j.e[k] = fab_cd_evaluator_new(&s, &eo[k], d))) goto out;
  }
  /* the models: the first canonical pair of each model index, in order */
  int64_t *keys = malloc(sizeof(int64_t) * (size_t)(max_models > 0 ? max_models : 1));
  int n = 0;
  for (int64_t m = 0; keys && m < s.nmodels && n < max_models; m += every)
    for (int64_t a = 0; a < s.naccels; a++) {
      fab_cd_point p;
      fab_cd_point_decode(&s, m * s.naccels + a, &p);
      if (fab_cd_point_canonical(&s, &p)) {
        keys[n++] = p.key;
        break;
      }
    }
  j.keys = keys;
  j.n = n;
  j.acc = calloc((size_t)n * 3 + 1, sizeof(double));
  j.ok = calloc((size_t)n + 1, sizeof(bool));
  if (!keys || !j.acc || !j.ok) goto out2;
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < threads && t < n; t++)
    if (pthread_create(&th[started], NULL, work, &j) == 0) started++;
  work(&j);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);

  if (o->line) fab_cd_progress_end(o->line);
  const char *csv = o->csv;
  char err[512];
  fab_out *fo = csv ? fab_out_open(csv, err, sizeof err) : NULL;
  if (csv && !fo) {
    fab_error(d, (fab_loc){0}, "%s", err);
    goto out2;
  }
  FILE *f = fo ? fab_out_file(fo) : NULL;
  if (f) fprintf(f, "model,trained,proxy,standin\n");
  double *col[3];
  for (int k = 0; k < 3; k++) col[k] = malloc(sizeof(double) * (size_t)(n + 1));
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!j.ok[i]) continue;
    fab_cd_point p;
    char buf[512];
    fab_cd_point_decode(&s, keys[i], &p);
    fab_cd_point_str(&s, &p, buf, sizeof buf);
    char *semi = strchr(buf, ';');
    if (semi) *semi = 0; /* the model knobs */
    fprintf(out, "%-60s trained %.4f  proxy %9.3f  standin %.4f\n", buf, j.acc[3 * i], j.acc[3 * i + 1],
           j.acc[3 * i + 2]);
    if (f) fprintf(f, "\"%s\",%.6f,%.6f,%.6f\n", buf, j.acc[3 * i], j.acc[3 * i + 1], j.acc[3 * i + 2]);
    for (int k = 0; k < 3 && col[k]; k++) col[k][m] = j.acc[3 * i + k];
    m++;
  }
  bool wrote = !fo || fab_out_commit(fo, err, sizeof err) == FAB_OK;
  if (!wrote) fab_error(d, (fab_loc){0}, "%s", err);
  int64_t computed, cached;
  double secs;
  fab_cd_evaluator_acc_stats(j.e[0], &computed, &cached, &secs);
  fprintf(out, "%d models (%lld trained, %lld from the cache), %.2f s per trained model (one thread each)\n",
         m, (long long)computed, (long long)cached, computed ? secs / (double)computed : 0.0);
  if (col[0] && col[1] && col[2] && m > 2) {
    /* 95% bootstrap intervals over the models (2000 resamples) */
    fab_pred_metrics_ci px, sd;
    fab_pred_metrics_ci_compute(col[1], col[0], m, 1, &px);
    fab_pred_metrics_ci_compute(col[2], col[0], m, 1, &sd);
    fprintf(out, "rank correlation of trained accuracy with the proxy: Spearman %.3f [95%% CI %.3f, %.3f], "
            "Kendall %.3f [%.3f, %.3f]; with the stand-in: Spearman %.3f [%.3f, %.3f], Kendall %.3f [%.3f, %.3f]\n",
            px.m.spearman, px.spearman_lo, px.spearman_hi, px.m.kendall, px.kendall_lo, px.kendall_hi,
            sd.m.spearman, sd.spearman_lo, sd.spearman_hi, sd.m.kendall, sd.kendall_lo, sd.kendall_hi);
  }
  for (int k = 0; k < 3; k++) free(col[k]);
  rc = m == n && wrote;
out2:
  free(keys);
  free(j.acc);
  free(j.ok);
out:
  for (int k = 0; k < 3; k++) fab_cd_evaluator_free(j.e[k]);
  return rc;
}
