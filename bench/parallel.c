/* parallel.c — fabc-bench's 1-thread against N-thread comparison.
 *
 * The bench runs on virtual machines whose host takes the vCPUs away for
 * seconds at a time; a 1-thread median and an N-thread median taken in
 * two different windows then compare two different hosts.  Here both
 * contexts run in one window, alternately, so every stretch of host noise
 * falls on both; and a probe with a known answer (the FMA loop, which
 * scales perfectly on free cores) says how parallel the host was just
 * before and just after. */
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "bench_util.h"

enum { MAX_ROUNDS = 1000 };

static double thread_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One timed run of the 1-thread context after an untimed one.  Its CPU
 * time is the calling thread's: the N-thread context's worker spins for
 * up to 0.5 ms after each of its jobs, and the process's CPU time would
 * count that. */
static void time_one(void (*fn)(void *), void *ctx, double *cpu, double *wall) {
  fn(ctx);
  double c0 = thread_cpu_now(), w0 = bench_now();
  fn(ctx);
  *wall = bench_now() - w0;
  *cpu = thread_cpu_now() - c0;
}

/* The same for the N-thread context (wall-clock time only). */
static double time_many(void (*fn)(void *), void *ctx) {
  fn(ctx);
  double w0 = bench_now();
  fn(ctx);
  return bench_now() - w0;
}

void bench_interleave(void (*fn)(void *), void *one, void *many, double min_time, int max_rounds, bench_pair *p) {
  static double cpu[MAX_ROUNDS], wall[MAX_ROUNDS], par[MAX_ROUNDS];
  if (max_rounds > MAX_ROUNDS) max_rounds = MAX_ROUNDS;
  if (max_rounds < 5) max_rounds = 5;
  int n = 0;
  double start = bench_now();
  while (n < 5 || (n < max_rounds && bench_now() - start < min_time)) {
    if (n % 2 == 0) {
      time_one(fn, one, &cpu[n], &wall[n]);
      par[n] = time_many(fn, many);
    } else {
      par[n] = time_many(fn, many);
      time_one(fn, one, &cpu[n], &wall[n]);
    }
    n++;
  }
  bench_stats_of(cpu, n, &p->one);
  bench_stats_of(wall, n, &p->one_wall);
  bench_stats_of(par, n, &p->many);
  p->speedup = p->one_wall.median / p->many.median;
  p->rounds = n;
}

/* ---- the host probe ---------------------------------------------------------- */

/* 20 ms a run: a 4 ms loop read 1.02x beside a model that measured 2.06x;
 * at 20 ms it read a steady 1.98x on the same machine. */
#define PROBE_SECONDS 0.020

/* One cache line bounced between two threads: the time a fork/join
 * barrier pays.  On a VM it shows where the host put the vCPUs (two cores
 * sharing an L3, or two dies), which the FMA loop cannot see. */
enum { BOUNCES = 4000, WARM_BOUNCES = 500, SPINS_BEFORE_YIELD = 1000 };
static alignas(64) _Atomic int g_line;
static alignas(64) _Atomic int g_ready;

/* Waits for the line to read v; yields now and then, so that two threads
 * the host runs on one vCPU take turns instead of spinning out a tick per
 * bounce (the round trip is then large, which is the right answer). */
static void wait_line(int v) {
  for (int n = 1; atomic_load_explicit(&g_line, memory_order_acquire) != v; n++) {
    __builtin_ia32_pause();
    if (n % SPINS_BEFORE_YIELD == 0) sched_yield();
  }
}

static void *bounce_back(void *arg) {
  (void)arg;
  atomic_store(&g_ready, 1);
  for (int i = 0; i < BOUNCES + WARM_BOUNCES; i++) {
    wait_line(2 * i + 1);
    atomic_store_explicit(&g_line, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

/* Nanoseconds per round trip (median of 5 batches of BOUNCES, each after
 * the partner has started and WARM_BOUNCES untimed ones: a new thread can
 * wait a scheduler tick for its own CPU); -1 if no thread could start. */
static double round_trip_ns(void) {
  double t[5];
  for (int b = 0; b < 5; b++) {
    pthread_t th;
    atomic_store(&g_line, 0);
    atomic_store(&g_ready, 0);
    if (pthread_create(&th, NULL, bounce_back, NULL)) return -1;
    while (!atomic_load(&g_ready)) __builtin_ia32_pause();
    double t0 = 0;
    for (int i = 0; i < BOUNCES + WARM_BOUNCES; i++) {
      if (i == WARM_BOUNCES) t0 = bench_now();
      atomic_store_explicit(&g_line, 2 * i + 1, memory_order_release);
      wait_line(2 * i + 2);
    }
    t[b] = (bench_now() - t0) / BOUNCES * 1e9;
    pthread_join(th, NULL);
  }
  bench_stats st;
  bench_stats_of(t, 5, &st);
  return st.median;
}

void bench_host_probe(const bench_cfg *cfg, int rounds, bench_host *h) {
  int cap = (int)(sizeof h->ratio / sizeof *h->ratio);
  for (int r = 0; r < rounds && h->n < cap; r++) {
    double t1 = bench_fma_wall(1, cfg->lanes1, PROBE_SECONDS, cfg->peak1);
    double tn = bench_fma_wall(cfg->threads, cfg->lanes1, PROBE_SECONDS, cfg->peak1);
    h->rtt[h->n] = cfg->threads > 1 ? round_trip_ns() : -1;
    h->ratio[h->n++] = cfg->threads * t1 / tn;
  }
}

void bench_host_stats(const bench_host *h, bench_stats *st, bench_stats *rtt) {
  double t[sizeof h->ratio / sizeof *h->ratio];
  *st = *rtt = (bench_stats){0};
  if (h->n == 0) return;
  for (int i = 0; i < h->n; i++) t[i] = h->ratio[i];
  bench_stats_of(t, h->n, st);
  for (int i = 0; i < h->n; i++) t[i] = h->rtt[i];
  bench_stats_of(t, h->n, rtt);
}

/* ---- steal time ----------------------------------------------------------------- */

void bench_cpu_ticks(bench_ticks *t) {
  *t = (bench_ticks){0, 0};
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  unsigned long long v[8] = {0};
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
             &v[7]) == 8) {
    for (int i = 0; i < 8; i++) t->total += (double)v[i];
    t->steal = (double)v[7];
  }
  fclose(f);
}

double bench_steal_share(const bench_ticks *a, const bench_ticks *b) {
  double total = b->total - a->total;
  return total > 0 ? (b->steal - a->steal) / total : -1;
}
