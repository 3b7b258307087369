/* tool_acc.c — fab-codesign's accuracy options (shared by search and
 * study) and the `accuracy` command: every model of a space scored by
 * training, by the synflow proxy and by the stand-in, with the rank
 * correlations between them (docs/codesign.md, "Evaluators").
 *
 *   fab-codesign accuracy SPACE [--max-models N] [--threads T] [--acc-cache F]
 *                         [--every K] [--train-steps N] [--train-seq S] [--train-task T]
 *                         [--train-depth D] [--train-lr LR] [--train-batch B]
 *                         [--train-samples N] [--csv F]
 */
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codesign.h"
#include "predict.h"
#include "tool.h"

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return argv[i + 1];
  return dflt;
}

bool tool_eval_options(int argc, char **argv, fab_cd_eval_options *eo, fab_cd_progress_fn progress,
                       fab_diag *d) {
  fab_cd_eval_options_default(eo);
  const char *acc = arg(argc, argv, "--accuracy", "auto");
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "--proxy")) acc = "proxy"; /* the older spelling */
  int k = fab_cd_acc_lookup(acc);
  if (k < 0) {
    fab_error(d, (fab_loc){0}, "--accuracy is auto, trained, proxy or standin, not '%s'", acc);
    return false;
  }
  eo->accuracy = (fab_cd_acc_kind)k;
  eo->acc_cache = arg(argc, argv, "--acc-cache", NULL);
  eo->auto_max_models = (int)tool_int(argc, argv, "--auto-max-models", "0", INT_MIN, INT_MAX);
  eo->train.steps = tool_int(argc, argv, "--train-steps", "0", INT64_MIN, INT64_MAX);
  eo->train.seq = (int)tool_int(argc, argv, "--train-seq", "0", INT_MIN, INT_MAX);
  eo->train.width_div = (int)tool_int(argc, argv, "--train-width-div", "0", INT_MIN, INT_MAX);
  eo->train.max_depth = (int)tool_int(argc, argv, "--train-depth", "0", INT_MIN, INT_MAX);
  eo->train.lr = atof(arg(argc, argv, "--train-lr", "0"));
  eo->train.batch = (int)tool_int(argc, argv, "--train-batch", "0", INT_MIN, INT_MAX);
  eo->train.train_n = tool_int(argc, argv, "--train-samples", "0", INT64_MIN, INT64_MAX); /* a quarter held out */
  eo->train.test_n = eo->train.train_n / 4;
  /* the generated tasks of explore/train, in fab_task_kind order */
  static const char *tasks[] = {"listops", "parity", "majority"};
  const char *task = arg(argc, argv, "--train-task", "listops");
  eo->train.task = -1;
  for (int i = 0; i < 3; i++)
    if (!strcmp(task, tasks[i])) eo->train.task = i;
  if (eo->train.task < 0) {
    fab_error(d, (fab_loc){0}, "--train-task is listops, parity or majority, not '%s'", task);
    return false;
  }
  eo->progress = progress;
  return true;
}

/* Which accuracy the run used and what it cost (trained models). */
void tool_print_acc_stats(const fab_cd_evaluator *e) {
  int64_t computed, cached;
  double secs;
  fab_cd_evaluator_acc_stats(e, &computed, &cached, &secs);
  printf("accuracy %s: %lld models scored (%.2f s each, summed over threads), %lld from the cache\n",
         fab_cd_evaluator_name(e), (long long)computed, computed ? secs / (double)computed : 0.0,
         (long long)cached);
}

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

int tool_cmd_accuracy(int argc, char **argv, fab_cd_progress_fn progress, fab_diag *d) {
  fab_cd_space s;
  if (argc < 1 || !fab_cd_space_load(argv[0], &s, d)) return 1;
  int max_models = (int)tool_int(argc, argv, "--max-models", "100", INT_MIN, INT_MAX);
  int every = (int)tool_int(argc, argv, "--every", "1", INT_MIN, INT_MAX); /* every k-th model index */
  if (every < 1) every = 1;
  int threads = (int)tool_int(argc, argv, "--threads", "0", INT_MIN, INT_MAX);
  if (threads <= 0) threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  if (threads > 64) threads = 64;
  fab_cd_eval_options eo[3];
  static const fab_cd_acc_kind kinds[3] = {FAB_CD_ACC_TRAINED, FAB_CD_ACC_PROXY, FAB_CD_ACC_STANDIN};
  job j = {.lock = PTHREAD_MUTEX_INITIALIZER};
  int rc = 1;
  for (int k = 0; k < 3; k++) {
    if (!tool_eval_options(argc, argv, &eo[k], k == 0 ? progress : NULL, d)) goto out;
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

  const char *csv = arg(argc, argv, "--csv", NULL);
  FILE *f = csv ? fopen(csv, "w") : NULL;
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
    printf("%-60s trained %.4f  proxy %9.3f  standin %.4f\n", buf, j.acc[3 * i], j.acc[3 * i + 1],
           j.acc[3 * i + 2]);
    if (f) fprintf(f, "\"%s\",%.6f,%.6f,%.6f\n", buf, j.acc[3 * i], j.acc[3 * i + 1], j.acc[3 * i + 2]);
    for (int k = 0; k < 3 && col[k]; k++) col[k][m] = j.acc[3 * i + k];
    m++;
  }
  if (f) fclose(f);
  int64_t computed, cached;
  double secs;
  fab_cd_evaluator_acc_stats(j.e[0], &computed, &cached, &secs);
  printf("%d models (%lld trained, %lld from the cache), %.2f s per trained model (one thread each)\n",
         m, (long long)computed, (long long)cached, computed ? secs / (double)computed : 0.0);
  if (col[0] && col[1] && col[2] && m > 2)
    printf("rank correlation of trained accuracy with the proxy: Spearman %.3f, Kendall %.3f; "
           "with the stand-in: Spearman %.3f, Kendall %.3f\n",
           fab_pred_spearman(col[0], col[1], m), fab_pred_kendall(col[0], col[1], m),
           fab_pred_spearman(col[0], col[2], m), fab_pred_kendall(col[0], col[2], m));
  for (int k = 0; k < 3; k++) free(col[k]);
  rc = m == n ? 0 : 1;
out2:
  free(keys);
  free(j.acc);
  free(j.ok);
out:
  for (int k = 0; k < 3; k++) fab_cd_evaluator_free(j.e[k]);
  return rc;
}
