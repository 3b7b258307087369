/* search_pool.c — a batch of evaluations on a pool of threads, sharded
 * over processes (MPI): each process evaluates its shard's keys, then the
 * exchange hook gives every process all results, so every process makes
 * the same decisions.  Results land at their key's index whatever the
 * thread count, order or shard layout. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"

/* The shard that evaluates `key`.  With a per-model accuracy that costs
 * seconds (training) or more than the latency (the proxy), all pairs of a
 * model go to one shard, so that no two processes train the same model;
 * otherwise keys are dealt round-robin (an accelerator-only space would
 * leave all but one shard idle if sharded by model). */
static int shard_of(const cd_pool *p, int64_t key) {
  fab_cd_acc_kind k = fab_cd_evaluator_accuracy(p->e);
  int64_t unit = k == FAB_CD_ACC_TRAINED || k == FAB_CD_ACC_PROXY ? fab_cd_model_index(p->s, key) : key;
  return (int)(unit % p->nshards);
}

typedef struct work {
  const cd_pool *p;
  const int64_t *keys;
  const int *order; /* processing order (results still land at their index) */
  fab_cd_result *out;
  int n;
  int next;
  pthread_mutex_t lock;
} work;

static void *worker(void *arg) {
  work *w = arg;
  fab_diag *d = fab_diag_new();
  for (;;) {
    pthread_mutex_lock(&w->lock);
    int i = w->next < w->n ? w->order[w->next] : w->n;
    w->next++;
    pthread_mutex_unlock(&w->lock);
    if (i >= w->n) break;
    if (shard_of(w->p, w->keys[i]) != w->p->shard) continue;
    fab_cd_evaluate(w->p->e, w->keys[i], &w->out[i], d);
    w->out[i].key = w->keys[i];
    fab_diag_clear(d);
  }
  fab_diag_free(d);
  return NULL;
}

/* The order in which the threads take a batch's keys: first one key of
 * every distinct model, then the second ones, and so on.  A thread that
 * needs a model another thread is training waits for it, so in request
 * order (an exhaustive batch is model-major) the threads would mostly
 * train one model at a time; this way they train different models at
 * once.  Results do not depend on the order. */
static bool model_order(const fab_cd_space *s, const int64_t *keys, int n, int *order) {
  cd_keymap seen = {0};
  int *rank = malloc(sizeof(int) * (size_t)n), *count = malloc(sizeof(int) * (size_t)n);
  bool ok = rank && count;
  int nm = 0, maxr = 0;
  for (int i = 0; i < n && ok; i++) {
    int64_t m = fab_cd_model_index(s, keys[i]), j = cd_keymap_find(&seen, m);
    if (j < 0) {
      ok = cd_keymap_put(&seen, m, nm);
      j = nm;
      count[nm++] = 0;
    }
    if (!ok) break;
    rank[i] = count[j]++;
    if (rank[i] > maxr) maxr = rank[i];
  }
  /* counting sort by rank, stable */
  int *start = ok ? calloc((size_t)maxr + 2, sizeof(int)) : NULL;
  ok = ok && start;
  for (int i = 0; ok && i < n; i++) start[rank[i] + 1]++;
  for (int r = 0; ok && r <= maxr; r++) start[r + 1] += start[r];
  for (int i = 0; ok && i < n; i++) order[start[rank[i]]++] = i;
  free(start);
  free(rank);
  free(count);
  cd_keymap_free(&seen);
  return ok;
}

bool cd_pool_run(const cd_pool *p, const int64_t *keys, int n, fab_cd_result *out, fab_diag *d) {
  if (n <= 0) return true;
  int *order = malloc(sizeof(int) * (size_t)n);
  if (!order || !model_order(p->s, keys, n, order)) {
    free(order);
    fab_error(d, (fab_loc){0}, "out of memory ordering %d evaluations", n);
    return false;
  }
  work w = {p, keys, order, out, n, 0, PTHREAD_MUTEX_INITIALIZER};
  int nt = p->threads < n ? p->threads : n;
  pthread_t th[64];
  int started = 0;
  for (int t = 1; t < nt && t < 64; t++)
    if (pthread_create(&th[started], NULL, worker, &w) == 0) started++;
  worker(&w);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  free(order);
  if (p->nshards <= 1 || !p->exchange) return true;
  for (int i = 0; i < n; i++)
    if (shard_of(p, keys[i]) != p->shard) memset(&out[i], 0, sizeof out[i]);
  bool ok = p->exchange(out, n, p->exchange_user);
  if (!ok) fab_error(d, (fab_loc){0}, "exchanging results between shards failed");
  for (int i = 0; i < n; i++) out[i].key = keys[i];
  return ok;
}
