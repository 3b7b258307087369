/* pool.c — a fixed pool of worker threads for fab_parallel.parallel_for.
 *
 * One job per parallel region of a model run (backends/cpu/schedule.c),
 * so jobs are short (tens of microseconds for small regions) and come back
 * to back.  The choices follow from that:
 *  - The join waits for the units, not for the workers: the caller
 *    returns once every unit is done, whoever ran it.  A worker that was
 *    asleep, or preempted on a shared machine, and took nothing does not
 *    hold the job up (it used to: each worker had to check in, 0.1 ms per
 *    job on a loaded host).  Ranges carry no generation: a late worker
 *    that takes a range of the next job reads that job's fields after
 *    the taking compare-and-swap (acquire, against the publishing release
 *    store), and a job cannot end while one of its ranges is running.
 *  - Workers spin on the job generation before sleeping on the condition
 *    variable, and the caller spins before sleeping on the units: a
 *    futex wake-up costs about as much as a small op.  Publishing a job
 *    and finishing one take the mutex only when someone sleeps (a
 *    Dekker-style handshake through the sleeper counts), so back-to-back
 *    jobs cost a few cache-line transfers and no system call.
 *  - Ranges are handed out from an atomic counter, not one fixed range
 *    per thread, and they shrink as the job runs out ("guided"): each
 *    take is 1 / (POOL_GUIDE * threads) of what is left, at least one
 *    unit.  Few atomic operations per job, and the last takes are small: a
 *    thread that runs slower (its rows in the other core's cache, a
 *    preemption) does not leave the other waiting for a large chunk.  No
 *    take is below 1 / (POOL_FLOOR * threads) of the job, though.  The
 *    floor was set when the butterfly kernels built their twiddle tables
 *    and factors on every call (single-unit takes then made them 5-15 %
 *    slower on 2 threads).  Those are prepared once per binding now
 *    (fab_model_desc.prepare); measured again without the set-up (2
 *    threads, fabnet_text and fabnet_base, runs interleaved, a loaded
 *    host): floor 1/(2 threads), 1/(4 threads) and none (down to single
 *    units) within 1 % of each other in best, quartile and median run
 *    times and in per-job bests, so the floor stays (fewer takes).
 *  - The caller takes ranges from the front, the workers from the back:
 *    with two threads the first rows of every region run on the caller
 *    and the last on the worker, so rows mostly stay in the cache of the
 *    core that wrote them from one region to the next.
 * Kernels compute disjoint rows (the fab_parallel contract), so the
 * outputs do not depend on who ran which range. */
#include "fab_pool.h"
#include "fab_alloc.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SPIN 4000 /* polls (with a pause) before sleeping: 0.1-0.5 ms */
#define POOL_GUIDE 2
#define POOL_FLOOR 2 /* no take below 1 / (POOL_FLOOR * threads) of the job */

struct fab_pool {
  void *block; /* what fab_malloc returned: the pool is aligned inside it */
  int nthreads; /* including the caller */
  pthread_t *threads;
  pthread_mutex_t mu;
  pthread_cond_t work, done_cv;
  /* what the idle workers poll, alone in its cache line so that writing
   * the next job does not pull it away from them */
  alignas(64) _Atomic uint64_t gen; /* job generation; bumping it publishes a job */
  _Atomic bool stop;
  /* the job: written before gen is bumped */
  alignas(64) fab_kernel_fn fn;
  void **args;
  int64_t n, quantum; /* units, and units per counted quantum (1 below 2^31 units) */
  uint64_t guide;     /* a take is 1 / guide of the quanta left (set once) */
  uint64_t floor;     /* but at least this many quanta (per job) */
  /* quanta not yet handed out: [front, back), front in the low 32 bits */
  alignas(64) _Atomic uint64_t ends;
  alignas(64) _Atomic int64_t done; /* units of the current job finished */
  /* threads asleep (or about to sleep) on `work` / the caller on `done` */
  alignas(64) _Atomic int sleepers;
  _Atomic bool caller_sleeps;
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

/* The next range [*lo, *hi) of the job's *n units from the front (or
 * back); false when none is left.  What is read after the compare-and-
 * swap (here n and quantum, in run_ranges fn and args) belongs to the
 * range's job, which cannot end (and be replaced) before the range is
 * done. */
static bool take_range(fab_pool *p, bool back, int64_t *lo, int64_t *hi, int64_t *n) {
  uint64_t v = atomic_load_explicit(&p->ends, memory_order_acquire);
  for (;;) {
    uint64_t f = v & 0xffffffffu, b = v >> 32;
    if (f >= b) return false;
    uint64_t k = (b - f) / p->guide;
    if (k < p->floor) k = p->floor;
    if (k > b - f) k = b - f;
    uint64_t next = back ? f | (b - k) << 32 : (f + k) | b << 32;
    if (atomic_compare_exchange_weak_explicit(&p->ends, &v, next, memory_order_acquire,
                                              memory_order_acquire)) {
      uint64_t q0 = back ? b - k : f;
      *n = p->n;
      *lo = (int64_t)q0 * p->quantum;
      *hi = (int64_t)(q0 + k) * p->quantum;
      if (*hi > *n) *hi = *n;
      return true;
    }
  }
}

/* Runs ranges until none is left; the one that finishes the job wakes
 * the caller if it sleeps. */
static void run_ranges(fab_pool *p, bool back) {
  for (int64_t lo, hi, n; take_range(p, back, &lo, &hi, &n);) {
    p->fn(p->args, lo, hi);
    if (atomic_fetch_add(&p->done, hi - lo) + (hi - lo) == n && atomic_load(&p->caller_sleeps)) {
      pthread_mutex_lock(&p->mu); /* the caller checks done under mu before sleeping */
      pthread_cond_signal(&p->done_cv);
      pthread_mutex_unlock(&p->mu);
    }
  }
}

static bool new_job(fab_pool *p, uint64_t seen) {
  return atomic_load_explicit(&p->gen, memory_order_acquire) != seen ||
         atomic_load_explicit(&p->stop, memory_order_relaxed);
}

/* Spins, then sleeps, until a job after `seen` (or stop) is published.
 * The sleeper count is raised before gen is read again (both seq_cst),
 * and the publisher bumps gen before it reads the count: one of the two
 * sees the other, so no wake-up is lost. */
static void wait_for_job(fab_pool *p, uint64_t seen) {
  for (int s = 0; s < POOL_SPIN; s++) {
    if (new_job(p, seen)) return;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->work, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg) {
  worker_arg wa = *(worker_arg *)arg;
  free(arg);
  fab_pool *p = wa.pool;
  uint64_t seen = 0;
  for (;;) {
    wait_for_job(p, seen);
    if (atomic_load(&p->stop)) break;
    seen = atomic_load_explicit(&p->gen, memory_order_acquire);
    run_ranges(p, true);
  }
  return NULL;
}

fab_pool *fab_pool_new(int threads) {
  void *block = fab_malloc(sizeof(fab_pool) + 63);
  if (!block) return NULL;
  fab_pool *p = (fab_pool *)(((uintptr_t)block + 63) & ~(uintptr_t)63); /* its own cache lines */
  memset(p, 0, sizeof *p);
  p->block = block;
  p->nthreads = threads < 1 ? 1 : threads;
  p->guide = (uint64_t)p->nthreads * POOL_GUIDE;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done_cv, NULL);
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
  pthread_cond_destroy(&p->done_cv);
  free(p->block);
}

int fab_pool_threads(const fab_pool *p) { return p ? p->nthreads : 1; }

/* Spins, then sleeps, until all n units are done (the same handshake as
 * wait_for_job, through caller_sleeps and done). */
static void wait_for_units(fab_pool *p, int64_t n) {
  for (int s = 0; s < POOL_SPIN; s++) {
    if (atomic_load_explicit(&p->done, memory_order_acquire) == n) return;
    cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  atomic_store(&p->caller_sleeps, true);
  while (atomic_load(&p->done) != n) pthread_cond_wait(&p->done_cv, &p->mu);
  atomic_store(&p->caller_sleeps, false);
  pthread_mutex_unlock(&p->mu);
}

void fab_pool_parallel_for(void *pool, fab_kernel_fn fn, void **args, int64_t n) {
  fab_pool *p = pool;
  if (!p || p->nthreads <= 1 || n <= 1) {
    if (n > 0) fn(args, 0, n);
    return;
  }
  p->fn = fn;
  p->args = args;
  p->n = n;
  p->quantum = n >> 31 ? (n >> 31) + 1 : 1; /* at most 2^31 quanta: they fit the counter's halves */
  uint64_t nq = (uint64_t)((n + p->quantum - 1) / p->quantum);
  p->floor = nq / ((uint64_t)p->nthreads * POOL_FLOOR);
  if (p->floor < 1) p->floor = 1;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  atomic_store_explicit(&p->ends, nq << 32, memory_order_release); /* the job's fields before it */
  atomic_fetch_add(&p->gen, 1); /* wakes the pollers (seq_cst: before the sleeper count is read) */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
  }
  run_ranges(p, false);
  wait_for_units(p, n);
}
