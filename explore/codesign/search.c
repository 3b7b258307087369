/* search.c — the search driver and its state: batches of keys evaluated
 * once each (the pool, search_pool.c), logged (search_log.c) and traced;
 * the exhaustive and random strategies (evolution and REINFORCE in
 * search_evolution.c, search_rl.c; the parts in search_internal.h).
 *
 * Every strategy is deterministic for a seed: it asks for batches of keys,
 * and a batch's results are appended in key-request order whatever the
 * thread count or shard layout, so a resumed or sharded run makes the same
 * decisions as a fresh single-process one.  Keys already evaluated (this
 * run or from the log) cost nothing and do not count against the budget. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "search_internal.h"

static const char *strategy_names[] = {"exhaustive", "random", "evolution", "rl-combined",
                                       "rl-phase", "rl-separate"};
const char *fab_cd_strategy_name(fab_cd_strategy s) {
  return s >= 0 && s < FAB_CD_STRATEGY_COUNT ? strategy_names[s] : "?";
}
int fab_cd_strategy_lookup(const char *name) {
  for (int i = 0; i < FAB_CD_STRATEGY_COUNT; i++)
    if (!strcmp(name, strategy_names[i]) ||
        (!strncmp(strategy_names[i], "rl-", 3) && !strcmp(name, strategy_names[i] + 3)))
      return i; /* combined, phase, separate: the Codesign-NAS names of the rl-* forms */
  return -1;
}

void fab_cd_search_options_default(fab_cd_search_options *o) {
  memset(o, 0, sizeof *o);
  o->strategy = FAB_CD_RANDOM;
  o->budget = 1000;
  o->seed = 1;
  o->population = 64;
  o->batch = 16;
  o->nshards = 1;
}

uint64_t cd_rand(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}
double cd_urand(uint64_t *s) { return (double)(cd_rand(s) >> 11) / 9007199254740992.0; }

int64_t cd_search_find(const cd_search *st, int64_t key) { return cd_keymap_find(&st->map, key); }

static bool append(cd_search *st, const fab_cd_result *r) {
  if (st->n == st->cap) {
    int64_t nc = st->cap ? 2 * st->cap : 1024;
    fab_cd_result *nr = realloc(st->res, sizeof *nr * (size_t)nc);
    if (!nr) return false;
    st->res = nr, st->cap = nc;
  }
  st->res[st->n] = *r;
  if (!cd_keymap_put(&st->map, r->key, st->n)) return false;
  st->n++;
  return true;
}

static void record_trace(cd_search *st) {
  fab_cd_search_result *o = st->out;
  while (st->o->trace_every > 0 && st->n >= st->next_trace) {
    fab_cd_hv_ref ref;
    if (st->o->hv_ref) ref = *st->o->hv_ref;
    else fab_cd_hv_ref_from(st->res, st->n, &ref);
    int64_t *nn = realloc(o->trace_n, sizeof(int64_t) * (size_t)(o->ntrace + 1));
    double *nh = realloc(o->trace_hv, sizeof(double) * (size_t)(o->ntrace + 1));
    if (nn) o->trace_n = nn;
    if (nh) o->trace_hv = nh;
    if (!nn || !nh) return;
    o->trace_n[o->ntrace] = st->n;
    o->trace_hv[o->ntrace++] = fab_cd_hypervolume(st->res, st->n, st->front, &ref);
    st->next_trace += st->o->trace_every;
  }
}

/* The distinct keys of a batch not evaluated yet, up to the budget. */
static int pending_keys(const cd_search *st, const int64_t *keys, int k, int64_t *pending) {
  int m = 0;
  for (int i = 0; i < k; i++) {
    if (cd_search_find(st, keys[i]) >= 0) continue;
    bool dup = false;
    for (int j = 0; j < m && !dup; j++) dup = pending[j] == keys[i];
    if (!dup && st->n + m < st->budget) pending[m++] = keys[i];
  }
  return m;
}

/* Evaluates pending[0..m): results already in the log are reused, the
 * rest run on the pool; all are appended in request order. */
static void eval_pending(cd_search *st, const int64_t *pending, int m) {
  fab_cd_result *tmp = calloc((size_t)m, sizeof *tmp), *rtmp = calloc((size_t)m, sizeof *rtmp);
  bool *cached = calloc((size_t)m, sizeof(bool));
  int64_t *run = malloc(sizeof(int64_t) * (size_t)m);
  int nrun = 0;
  if (!tmp || !cached || !run || !rtmp) st->failed = true;
  for (int i = 0; i < m && !st->failed; i++) {
    const fab_cd_result *c = cd_evlog_find(&st->log, pending[i]);
    if (c) tmp[i] = *c, cached[i] = true, st->out->resumed++;
    else run[nrun++] = pending[i];
  }
  if (!st->failed && !cd_pool_run(&st->pool, run, nrun, rtmp, st->d)) st->failed = true;
  for (int i = 0, j = 0; i < m && !st->failed; i++) {
    if (!cached[i]) tmp[i] = rtmp[j++];
    if (!append(st, &tmp[i])) st->failed = true;
    if (!cached[i]) cd_evlog_append(&st->log, &tmp[i]);
  }
  free(tmp);
  free(cached);
  free(run);
  free(rtmp);
  if (!st->failed && !cd_evlog_flush(&st->log, st->d)) st->failed = true;
  record_trace(st);
  if (st->o->progress) st->o->progress(&(fab_cd_progress){"search", st->n, st->budget, 0}, st->o->user);
}

bool cd_search_eval(cd_search *st, const int64_t *keys, int k, int64_t *idx) {
  int64_t *pending = malloc(sizeof(int64_t) * (size_t)(k + 1));
  if (!pending) {
    st->failed = true;
    return false;
  }
  int m = pending_keys(st, keys, k, pending);
  if (m > 0) eval_pending(st, pending, m);
  if (idx)
    for (int i = 0; i < k; i++) idx[i] = cd_search_find(st, keys[i]);
  free(pending);
  return !st->failed;
}

bool cd_search_random_point(cd_search *st, fab_cd_point *p) {
  int64_t size = fab_cd_space_size(st->s);
  for (int t = 0; t < 1000; t++) {
    fab_cd_point_decode(st->s, (int64_t)(cd_rand(&st->rng) % (uint64_t)size), p);
    if (fab_cd_point_canonical(st->s, p)) return true;
  }
  return false;
}

/* ---- exhaustive and random ---------------------------------------------------------- */

static void run_exhaustive(cd_search *st) {
  int64_t size = fab_cd_space_size(st->s);
  enum { B = 4096 };
  int64_t *keys = malloc(sizeof(int64_t) * B);
  int k = 0;
  fab_cd_point p;
  for (int64_t key = 0; keys && key < size && !st->failed; key++) {
    fab_cd_point_decode(st->s, key, &p);
    if (!fab_cd_point_canonical(st->s, &p)) continue;
    keys[k++] = key;
    if (k == B) cd_search_eval(st, keys, k, NULL), k = 0;
  }
  if (keys && k) cd_search_eval(st, keys, k, NULL);
  free(keys);
}

static void run_random(cd_search *st) {
  enum { B = 64 };
  int64_t keys[B];
  int stale = 0;
  while (st->n < st->budget && !st->failed && stale < 100) {
    int64_t before = st->n;
    fab_cd_point p;
    for (int i = 0; i < B; i++) keys[i] = cd_search_random_point(st, &p) ? p.key : 0;
    cd_search_eval(st, keys, B, NULL);
    stale = st->n == before ? stale + 1 : 0;
  }
}

/* ---- driver ----------------------------------------------------------------------------- */

static bool check_options(const fab_cd_search_options *o, fab_diag *d) {
  if (o->strategy < 0 || o->strategy >= FAB_CD_STRATEGY_COUNT) {
    fab_error(d, (fab_loc){0}, "unknown search strategy %d", (int)o->strategy);
    return false;
  }
  if (o->nshards < 1 || o->shard < 0 || o->shard >= o->nshards || (o->nshards > 1 && !o->exchange)) {
    fab_error(d, (fab_loc){0}, "bad sharding: shard %d of %d (sharding needs an exchange function)", o->shard,
              o->nshards);
    return false;
  }
  if (o->strategy != FAB_CD_EXHAUSTIVE && (o->budget < 1 || o->budget > FAB_CD_MAX_BUDGET)) {
    fab_error(d, (fab_loc){0}, "budget %lld outside [1, 2^40]", (long long)o->budget);
    return false;
  }
  return true;
}

bool fab_cd_search(const fab_cd_space *s, fab_cd_evaluator *e, const fab_cd_search_options *o,
                   fab_cd_search_result *res, fab_diag *d) {
  memset(res, 0, sizeof *res);
  fab_cd_search_options def;
  if (!o) fab_cd_search_options_default(&def), o = &def;
  if (!check_options(o, d)) return false;
  /* requests past the limits fail before anything is enumerated */
  if (o->strategy == FAB_CD_EXHAUSTIVE && fab_cd_space_size(s) > FAB_CD_MAX_EXHAUSTIVE) {
    fab_error(d, (fab_loc){0}, "an exhaustive search of %lld points is past the limit of 2^32; "
              "use a random, evolution or REINFORCE search with a budget",
              (long long)fab_cd_space_size(s));
    return false;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cd_search st = {0};
  st.s = s, st.o = o, st.d = d, st.out = res;
  st.front = fab_cd_front_of(s);
  st.budget = o->strategy == FAB_CD_EXHAUSTIVE ? fab_cd_space_size(s) : o->budget;
  st.rng = o->seed * 0x9E3779B97F4A7C15ull + 12345;
  st.next_trace = o->trace_every;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = o->threads > 0 ? o->threads : (int)(nproc > 0 ? nproc : 1);
  st.pool = (cd_pool){s, e, threads > 64 ? 64 : threads, o->shard, o->nshards, o->exchange, o->exchange_user};
  st.arch = (cd_archive){.s = s, .front = st.front};
  /* one writer: shard 0 */
  bool ok = !o->log_path || cd_evlog_open(&st.log, o->log_path, s, e, o->shard == 0, d);
  if (ok) {
    switch (o->strategy) {
    case FAB_CD_EXHAUSTIVE: run_exhaustive(&st); break;
    case FAB_CD_RANDOM: run_random(&st); break;
    case FAB_CD_EVOLUTION: cd_run_evolution(&st); break;
    default: cd_run_rl(&st, o->strategy); break;
    }
    ok = !st.failed;
  }
  if (!cd_evlog_close(&st.log, d)) ok = false;
  cd_keymap_free(&st.map);
  cd_archive_free(&st.arch);
  res->evals = st.res;
  res->nevals = st.n;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  return ok;
}

void fab_cd_search_result_free(fab_cd_search_result *r) {
  free(r->evals);
  free(r->trace_n);
  free(r->trace_hv);
  memset(r, 0, sizeof *r);
}
