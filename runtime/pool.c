/* pool.c — a fixed pool of worker threads for fab_parallel.parallel_for.
 *
 * Jobs are rare and coarse (one per op of a model run), so a mutex and two
 * condition variables are enough: the caller publishes a job under a new
 * generation number, runs the first range itself, and waits until every
 * worker has finished its range. */
#include "fab_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct fab_pool {
  int nthreads; /* including the caller */
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  uint64_t gen;
  int pending;
  bool stop;
  fab_kernel_fn fn;
  void **args;
  int64_t n;
};

typedef struct worker_arg {
  fab_pool *pool;
  int index;
} worker_arg;

static void run_range(fab_pool *p, fab_kernel_fn fn, void **args, int64_t n, int t) {
  int64_t b = n * t / p->nthreads, e = n * (t + 1) / p->nthreads;
  if (b < e) fn(args, b, e);
}

static void *worker(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  fab_pool *p = wa.pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen) pthread_cond_wait(&p->work, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    fab_kernel_fn fn = p->fn;
    void **args = p->args;
    int64_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    run_range(p, fn, args, n, wa.index);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

fab_pool *fab_pool_new(int threads) {
  fab_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->nthreads = threads < 1 ? 1 : threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  if (p->nthreads > 1) {
    p->threads = calloc((size_t)p->nthreads, sizeof(pthread_t));
    if (!p->threads) {
      p->nthreads = 1;
      fab_pool_free(p);
      return NULL;
    }
    for (int i = 1; i < p->nthreads; i++) {
      worker_arg *wa = malloc(sizeof *wa);
      if (wa) *wa = (worker_arg){p, i};
      if (!wa || pthread_create(&p->threads[i], NULL, worker, wa) != 0) {
        free(wa);
        p->nthreads = i; /* join only the ones that started */
        fab_pool_free(p);
        return NULL;
      }
    }
  }
  return p;
}

void fab_pool_free(fab_pool *p) {
  if (!p) return;
  if (p->threads) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->done);
  free(p);
}

int fab_pool_threads(const fab_pool *p) { return p ? p->nthreads : 1; }

void fab_pool_parallel_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  fab_pool *p = pool;
  if (!p || p->nthreads <= 1 || n <= 1) {
    if (n > 0) fn(args, 0, n);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->args = args;
  p->n = n;
  p->pending = p->nthreads - 1;
  p->gen++;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  run_range(p, fn, args, n, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
