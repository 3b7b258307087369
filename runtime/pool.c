/* pool.c — a fixed pool of worker threads for fab_parallel.parallel_for.
 *
 * One job per parallel region of a model run (backends/cpu/schedule.c),
 * so jobs are short (tens of microseconds for small regions) and come back
 * to back.  Three choices follow from that:
 *  - Workers spin briefly on the job generation before sleeping on the
 *    condition variable, and the caller spins briefly before sleeping on
 *    the workers: a futex wake-up costs about as much as a small op.
 *  - Ranges are handed out in chunks from an atomic counter, not one
 *    fixed range per thread: on a machine whose cores are shared, a thread
 *    that gets preempted no longer holds up the whole op.
 *  - The caller takes chunks from the front, the workers from the back:
 *    with two threads the first rows of every region run on the caller
 *    and the last on the worker, so rows mostly stay in the cache of the
 *    core that wrote them from one region to the next.
 * The mutex and condition variables carry the sleeping path; the atomics
 * the spinning one.  Kernels compute disjoint rows (the fab_parallel
 * contract), so the outputs do not depend on who ran which chunk. */
#include "fab_pool.h"
#include "fab_alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define POOL_SPIN 4000 /* polls (with a pause) before sleeping: ~20-50 us */
#define POOL_CHUNKS_PER_THREAD 4

struct fab_pool {
  int nthreads; /* including the caller */
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t work, done;
  _Atomic uint64_t gen;  /* job generation; bumped (under mu) to publish a job */
  _Atomic int pending;   /* workers still inside the current job */
  _Atomic bool stop;
  fab_kernel_fn fn;      /* the job: written before gen is bumped */
  void **args;
  int64_t n, chunk;
  /* chunks not yet handed out: [front, back), front in the low 32 bits */
  _Atomic uint64_t ends;
};

typedef struct worker_arg {
  fab_pool *pool;
  int index;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* The next chunk from the front (or back), -1 when none is left. */
static int64_t take_chunk(fab_pool *p, bool back) {
  uint64_t v = atomic_load_explicit(&p->ends, memory_order_relaxed);
  for (;;) {
    uint64_t f = v & 0xffffffffu, b = v >> 32;
    if (f >= b) return -1;
    uint64_t next = back ? f | (b - 1) << 32 : (f + 1) | b << 32;
    if (atomic_compare_exchange_weak_explicit(&p->ends, &v, next, memory_order_relaxed,
                                              memory_order_relaxed))
      return (int64_t)(back ? b - 1 : f);
  }
}

static void run_chunks(fab_pool *p, bool back) {
  for (int64_t i; (i = take_chunk(p, back)) >= 0;) {
    int64_t b = i * p->chunk;
    int64_t e = b + p->chunk < p->n ? b + p->chunk : p->n;
    p->fn(p->args, b, e);
  }
}

static void *worker(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  fab_pool *p = wa.pool;
  uint64_t seen = 0;
  for (;;) {
    for (int s = 0; s < POOL_SPIN && atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
                    !atomic_load_explicit(&p->stop, memory_order_relaxed);
         s++)
      cpu_relax();
    if (atomic_load_explicit(&p->gen, memory_order_acquire) == seen) {
      pthread_mutex_lock(&p->mu);
      while (!atomic_load(&p->stop) && atomic_load(&p->gen) == seen) pthread_cond_wait(&p->work, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop)) break;
    seen = atomic_load_explicit(&p->gen, memory_order_acquire);
    run_chunks(p, true);
    if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&p->mu); /* the caller checks pending under mu before sleeping */
      pthread_cond_signal(&p->done);
      pthread_mutex_unlock(&p->mu);
    }
  }
  return NULL;
}

fab_pool *fab_pool_new(int threads) {
  fab_pool *p = fab_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->nthreads = threads < 1 ? 1 : threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  if (p->nthreads > 1) {
    p->threads = fab_calloc((size_t)p->nthreads, sizeof(pthread_t));
    if (!p->threads) {
      p->nthreads = 1;
      fab_pool_free(p);
      return NULL;
    }
    for (int i = 1; i < p->nthreads; i++) {
      worker_arg *wa = fab_malloc(sizeof *wa);
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
    atomic_store(&p->stop, true);
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
  int64_t chunk = n / ((int64_t)p->nthreads * POOL_CHUNKS_PER_THREAD);
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->args = args;
  p->n = n;
  p->chunk = chunk < 1 ? 1 : chunk;
  uint64_t nchunks = (uint64_t)((n + p->chunk - 1) / p->chunk); /* fewer than 8 per thread */
  atomic_store_explicit(&p->ends, nchunks << 32, memory_order_relaxed);
  atomic_store_explicit(&p->pending, p->nthreads - 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&p->gen, 1, memory_order_release); /* publishes the job */
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  run_chunks(p, false);
  for (int s = 0; s < POOL_SPIN && atomic_load_explicit(&p->pending, memory_order_acquire) > 0; s++) cpu_relax();
  if (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) {
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
  }
}
