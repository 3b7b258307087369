/* search.c — search strategies over a space, with parallel evaluation,
 * an append-only evaluation log (stop and resume without losing finished
 * evaluations) and sharding hooks for MPI.
 *
 * Every strategy is deterministic for a seed: it asks for batches of keys,
 * and a batch's results are appended in key-request order whatever the
 * thread count or shard layout, so a resumed or sharded run makes the same
 * decisions as a fresh single-process one.  Keys already evaluated (this
 * run or from the log) cost nothing and do not count against the budget. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codesign.h"

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

/* Open addressing hash map from keys to indices. */
typedef struct kmap {
  int64_t *key, *val, cap, n;
} kmap;

typedef struct state {
  const fab_cd_space *s;
  unsigned front;      /* fab_cd_front_of(s): fit and the objectives that count */
  fab_cd_evaluator *e;
  const fab_cd_search_options *o;
  fab_diag *d;
  fab_cd_result *res;
  int64_t n, cap, budget;
  kmap map;            /* key -> index in res (this run) */
  fab_cd_result *cache; /* results read back from the log */
  int64_t ncache, cache_cap;
  kmap cmap;           /* key -> index in cache */
  FILE *log;
  uint64_t rng;
  int64_t next_trace;
  fab_cd_search_result *out;
  int threads;
  int64_t *arch; /* Pareto archive (indices into res), for RL rewards */
  int narch, arch_cap;
  bool failed;
} state;

static uint64_t xs(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}
static double urand(uint64_t *s) { return (double)(xs(s) >> 11) / 9007199254740992.0; }

static int64_t kfind(const kmap *m, int64_t key) {
  if (!m->cap) return -1;
  uint64_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ull) & (uint64_t)(m->cap - 1);
  while (m->key[h] >= 0) {
    if (m->key[h] == key) return m->val[h];
    h = (h + 1) & (uint64_t)(m->cap - 1);
  }
  return -1;
}

static bool kput(kmap *m, int64_t key, int64_t val) {
  if (2 * (m->n + 1) > m->cap) {
    int64_t nc = m->cap ? 2 * m->cap : 1024;
    int64_t *nk = malloc(sizeof(int64_t) * (size_t)nc), *nv = malloc(sizeof(int64_t) * (size_t)nc);
    if (!nk || !nv) {
      free(nk);
      free(nv);
      return false;
    }
    for (int64_t i = 0; i < nc; i++) nk[i] = -1;
    for (int64_t i = 0; i < m->cap; i++)
      if (m->key[i] >= 0) {
        uint64_t h = ((uint64_t)m->key[i] * 0x9E3779B97F4A7C15ull) & (uint64_t)(nc - 1);
        while (nk[h] >= 0) h = (h + 1) & (uint64_t)(nc - 1);
        nk[h] = m->key[i], nv[h] = m->val[i];
      }
    free(m->key);
    free(m->val);
    m->key = nk, m->val = nv, m->cap = nc;
  }
  uint64_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ull) & (uint64_t)(m->cap - 1);
  while (m->key[h] >= 0) h = (h + 1) & (uint64_t)(m->cap - 1);
  m->key[h] = key, m->val[h] = val;
  m->n++;
  return true;
}

static void kfree(kmap *m) {
  free(m->key);
  free(m->val);
}

static int64_t hfind(const state *st, int64_t key) { return kfind(&st->map, key); }

static bool feasible(const state *st, const fab_cd_result *r) {
  return r->ok && (!st->s->require_fit || r->fits);
}
/* Over the objectives the space selects (an unselected one never decides). */
static bool dominates(const state *st, const fab_cd_result *a, const fab_cd_result *b) {
  unsigned o = st->front;
  bool acc = o & FAB_CD_OBJ_ACCURACY, lat = o & FAB_CD_OBJ_LATENCY, area = o & FAB_CD_OBJ_AREA;
  bool no_worse = (!acc || a->accuracy >= b->accuracy) && (!lat || a->latency_ms <= b->latency_ms) &&
                  (!area || a->area <= b->area);
  bool better = (acc && a->accuracy > b->accuracy) || (lat && a->latency_ms < b->latency_ms) ||
                (area && a->area < b->area);
  return no_worse && better;
}
static bool same_objectives(const state *st, const fab_cd_result *a, const fab_cd_result *b) {
  unsigned o = st->front;
  return (!(o & FAB_CD_OBJ_ACCURACY) || a->accuracy == b->accuracy) &&
         (!(o & FAB_CD_OBJ_LATENCY) || a->latency_ms == b->latency_ms) && (!(o & FAB_CD_OBJ_AREA) || a->area == b->area);
}

/* Adds res[i] to the archive; true if it entered (not dominated). */
static bool archive_add(state *st, int64_t i) {
  const fab_cd_result *r = &st->res[i];
  if (!feasible(st, r)) return false;
  for (int k = 0; k < st->narch; k++) {
    const fab_cd_result *a = &st->res[st->arch[k]];
    if (dominates(st, a, r) || same_objectives(st, a, r))
      return false;
  }
  int m = 0;
  for (int k = 0; k < st->narch; k++)
    if (!dominates(st, r, &st->res[st->arch[k]])) st->arch[m++] = st->arch[k];
  st->narch = m;
  if (st->narch == st->arch_cap) {
    int nc = st->arch_cap ? 2 * st->arch_cap : 256;
    int64_t *na = realloc(st->arch, sizeof(int64_t) * (size_t)nc);
    if (!na) return false;
    st->arch = na, st->arch_cap = nc;
  }
  st->arch[st->narch++] = i;
  return true;
}

static bool append(state *st, const fab_cd_result *r) {
  if (st->n == st->cap) {
    int64_t nc = st->cap ? 2 * st->cap : 1024;
    fab_cd_result *nr = realloc(st->res, sizeof *nr * (size_t)nc);
    if (!nr) return false;
    st->res = nr, st->cap = nc;
  }
  st->res[st->n] = *r;
  if (!kput(&st->map, r->key, st->n)) return false;
  st->n++;
  return true;
}

static void log_line(FILE *f, const fab_cd_result *r) {
  fprintf(f, "%lld %d %.17g %.17g %.17g %.17g %.17g %.17g %d %.17g %.17g %.17g\n",
          (long long)r->key, r->ok, r->accuracy, r->latency_ms, r->area, r->dsp, r->lut, r->bram,
          r->fits, r->perf_per_area, r->params, r->macs);
}

/* Reads back a previous run's log (a torn last line is ignored) and opens
 * it for appending. */
static bool open_log(state *st, const char *path) {
  char header[256];
  snprintf(header, sizeof header, "# fab-codesign-log v1 space=%s size=%lld evaluator=%s\n",
           st->s->name, (long long)fab_cd_space_size(st->s), fab_cd_evaluator_name(st->e));
  FILE *f = fopen(path, "r");
  if (f) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    if (len > 0 && strcmp(line, header)) {
      fab_error(st->d, (fab_loc){0}, "evaluation log '%s' belongs to another run (%.*s); use a new "
                "file", path, (int)(len - 1), line);
      free(line);
      fclose(f);
      return false;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
      if (line[len - 1] != '\n') break; /* torn write */
      fab_cd_result r = {0};
      long long key;
      int ok, fits;
      if (sscanf(line, "%lld %d %lf %lf %lf %lf %lf %lf %d %lf %lf %lf", &key, &ok, &r.accuracy,
                 &r.latency_ms, &r.area, &r.dsp, &r.lut, &r.bram, &fits, &r.perf_per_area,
                 &r.params, &r.macs) != 12)
        break;
      r.key = key, r.ok = ok, r.fits = fits;
      if (key < 0 || key >= fab_cd_space_size(st->s) || kfind(&st->cmap, key) >= 0) continue;
      if (st->ncache == st->cache_cap) {
        int64_t nc = st->cache_cap ? 2 * st->cache_cap : 1024;
        fab_cd_result *nr = realloc(st->cache, sizeof *nr * (size_t)nc);
        if (!nr) break;
        st->cache = nr, st->cache_cap = nc;
      }
      st->cache[st->ncache] = r;
      if (!kput(&st->cmap, key, st->ncache)) break;
      st->ncache++;
    }
    free(line);
    fclose(f);
  }
  if (st->o->shard != 0) return true; /* one writer */
  st->log = fopen(path, "a");
  if (!st->log) {
    fab_error(st->d, (fab_loc){0}, "cannot append to evaluation log '%s'", path);
    return false;
  }
  if (!f) fputs(header, st->log);
  return true;
}

/* The shard that evaluates `key`.  With a per-model accuracy that costs
 * seconds (training) or more than the latency (the proxy), all pairs of a
 * model go to one shard, so that no two processes train the same model;
 * otherwise keys are dealt round-robin (an accelerator-only space would
 * leave all but one shard idle if sharded by model). */
static int shard_of(const state *st, int64_t key) {
  fab_cd_acc_kind k = fab_cd_evaluator_accuracy(st->e);
  int64_t unit = k == FAB_CD_ACC_TRAINED || k == FAB_CD_ACC_PROXY ? fab_cd_model_index(st->s, key) : key;
  return (int)(unit % st->o->nshards);
}

typedef struct work {
  state *st;
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
    if (shard_of(w->st, w->keys[i]) != w->st->o->shard) continue;
    fab_cd_evaluate(w->st->e, w->keys[i], &w->out[i], d);
    w->out[i].key = w->keys[i];
    fab_diag_clear(d);
  }
  fab_diag_free(d);
  return NULL;
}

static void record_trace(state *st) {
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

/* The order in which the threads take a batch's keys: first one key of
 * every distinct model, then the second ones, and so on.  A thread that
 * needs a model another thread is training waits for it, so in request
 * order (an exhaustive batch is model-major) the threads would mostly
 * train one model at a time; this way they train different models at
 * once.  Results do not depend on the order. */
static bool model_order(const state *st, const int64_t *keys, int n, int *order) {
  kmap seen = {0};
  int *rank = malloc(sizeof(int) * (size_t)n), *count = malloc(sizeof(int) * (size_t)n);
  bool ok = rank && count;
  int nm = 0, maxr = 0;
  for (int i = 0; i < n && ok; i++) {
    int64_t m = fab_cd_model_index(st->s, keys[i]), j = kfind(&seen, m);
    if (j < 0) {
      ok = kput(&seen, m, nm);
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
  kfree(&seen);
  return ok;
}

/* Evaluates the keys not seen yet (in order, up to the budget) and returns
 * each requested key's index in res (-1 past the budget) in idx. */
static bool eval_keys(state *st, const int64_t *keys, int k, int64_t *idx) {
  int64_t *pending = malloc(sizeof(int64_t) * (size_t)(k + 1));
  fab_cd_result *tmp = calloc((size_t)k + 1, sizeof *tmp);
  if (!pending || !tmp) {
    free(pending);
    free(tmp);
    st->failed = true;
    return false;
  }
  int m = 0;
  for (int i = 0; i < k; i++) {
    if (hfind(st, keys[i]) >= 0) continue;
    bool dup = false;
    for (int j = 0; j < m && !dup; j++) dup = pending[j] == keys[i];
    if (!dup && st->n + m < st->budget) pending[m++] = keys[i];
  }
  if (m > 0) {
    /* results already in the log are reused; only the rest run */
    bool *cached = calloc((size_t)m, sizeof(bool));
    int64_t *run = malloc(sizeof(int64_t) * (size_t)m);
    fab_cd_result *rtmp = calloc((size_t)m, sizeof *rtmp);
    int nrun = 0;
    if (!cached || !run || !rtmp) st->failed = true;
    for (int i = 0; i < m && !st->failed; i++) {
      int64_t c = kfind(&st->cmap, pending[i]);
      if (c >= 0) tmp[i] = st->cache[c], cached[i] = true, st->out->resumed++;
      else run[nrun++] = pending[i];
    }
    int *order = nrun > 0 ? malloc(sizeof(int) * (size_t)nrun) : NULL;
    if (nrun > 0 && (!order || !model_order(st, run, nrun, order))) st->failed = true;
    if (nrun > 0 && !st->failed) {
      work w = {st, run, order, rtmp, nrun, 0, PTHREAD_MUTEX_INITIALIZER};
      int nt = st->threads < nrun ? st->threads : nrun;
      pthread_t th[64];
      int started = 0;
      for (int t = 1; t < nt && t < 64; t++)
        if (pthread_create(&th[started], NULL, worker, &w) == 0) started++;
      worker(&w);
      for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
      if (st->o->nshards > 1 && st->o->exchange) {
        for (int i = 0; i < nrun; i++)
          if (shard_of(st, run[i]) != st->o->shard) memset(&rtmp[i], 0, sizeof rtmp[i]);
        if (!st->o->exchange(rtmp, nrun, st->o->exchange_user)) {
          fab_error(st->d, (fab_loc){0}, "exchanging results between shards failed");
          st->failed = true;
        }
        for (int i = 0; i < nrun; i++) rtmp[i].key = run[i];
      }
    }
    for (int i = 0, j = 0; i < m && !st->failed; i++) {
      if (!cached[i]) tmp[i] = rtmp[j++];
      if (!append(st, &tmp[i])) st->failed = true;
      if (st->log && !cached[i]) log_line(st->log, &tmp[i]);
    }
    free(cached);
    free(run);
    free(rtmp);
    free(order);
    if (st->log) fflush(st->log);
    record_trace(st);
    if (st->o->progress)
      st->o->progress(&(fab_cd_progress){"search", st->n, st->budget, 0}, st->o->user);
  }
  if (idx)
    for (int i = 0; i < k; i++) idx[i] = hfind(st, keys[i]);
  free(pending);
  free(tmp);
  return !st->failed;
}

static bool random_canonical(state *st, fab_cd_point *p) {
  int64_t size = fab_cd_space_size(st->s);
  for (int t = 0; t < 1000; t++) {
    fab_cd_point_decode(st->s, (int64_t)(xs(&st->rng) % (uint64_t)size), p);
    if (fab_cd_point_canonical(st->s, p)) return true;
  }
  return false;
}

/* ---- exhaustive and random ---------------------------------------------------------- */

static void run_exhaustive(state *st) {
  int64_t size = fab_cd_space_size(st->s);
  enum { B = 4096 };
  int64_t *keys = malloc(sizeof(int64_t) * B);
  int k = 0;
  fab_cd_point p;
  for (int64_t key = 0; keys && key < size && !st->failed; key++) {
    fab_cd_point_decode(st->s, key, &p);
    if (!fab_cd_point_canonical(st->s, &p)) continue;
    keys[k++] = key;
    if (k == B) eval_keys(st, keys, k, NULL), k = 0;
  }
  if (keys && k) eval_keys(st, keys, k, NULL);
  free(keys);
}

static void run_random(state *st) {
  enum { B = 64 };
  int64_t keys[B];
  int stale = 0;
  while (st->n < st->budget && !st->failed && stale < 100) {
    int64_t before = st->n;
    fab_cd_point p;
    for (int i = 0; i < B; i++) keys[i] = random_canonical(st, &p) ? p.key : 0;
    eval_keys(st, keys, B, NULL);
    stale = st->n == before ? stale + 1 : 0;
  }
}

/* ---- NSGA-II ---------------------------------------------------------------------------- */

typedef struct ind {
  int64_t r; /* index into res */
  int rank;
  double crowd;
} ind;

static bool cdom(const state *st, const fab_cd_result *a, const fab_cd_result *b) {
  bool fa = feasible(st, a), fb = feasible(st, b);
  if (fa != fb) return fa;
  if (!fa) return false;
  return dominates(st, a, b);
}

/* Non-dominated sorting (O(n^2) per front, n <= 2 * population) and
 * crowding distance. */
static void nds(const state *st, ind *pop, int n) {
  for (int i = 0; i < n; i++) pop[i].rank = -1, pop[i].crowd = 0;
  bool *cur = calloc((size_t)n + 1, sizeof(bool));
  int done = 0, rank = 0;
  while (cur && done < n) {
    for (int i = 0; i < n; i++) {
      cur[i] = false;
      if (pop[i].rank >= 0) continue;
      bool dom = false;
      for (int j = 0; j < n && !dom; j++)
        dom = j != i && pop[j].rank < 0 && cdom(st, &st->res[pop[j].r], &st->res[pop[i].r]);
      cur[i] = !dom;
    }
    int got = 0;
    for (int i = 0; i < n; i++)
      if (cur[i]) pop[i].rank = rank, got++;
    if (!got) /* a cycle cannot happen with a strict order; never loop forever */
      for (int i = 0; i < n; i++)
        if (pop[i].rank < 0) pop[i].rank = rank, got++;
    done += got;
    rank++;
  }
  free(cur);
  /* crowding distance per front over the selected objectives */
  for (int rk = 0; rk < rank; rk++)
    for (int obj = 0; obj < 3; obj++) {
      if (!(st->front & (FAB_CD_OBJ_ACCURACY << obj))) continue;
      double lo = INFINITY, hi = -INFINITY;
      for (int i = 0; i < n; i++) {
        if (pop[i].rank != rk) continue;
        const fab_cd_result *r = &st->res[pop[i].r];
        double v = obj == 0 ? r->accuracy : (obj == 1 ? log(r->latency_ms + 1e-12) : r->area);
        lo = fmin(lo, v), hi = fmax(hi, v);
      }
      if (!(hi > lo)) continue;
      for (int i = 0; i < n; i++) {
        if (pop[i].rank != rk) continue;
        const fab_cd_result *r = &st->res[pop[i].r];
        double v = obj == 0 ? r->accuracy : (obj == 1 ? log(r->latency_ms + 1e-12) : r->area);
        double below = lo, above = hi;
        bool lo_end = true, hi_end = true;
        for (int j = 0; j < n; j++) {
          if (j == i || pop[j].rank != rk) continue;
          const fab_cd_result *q = &st->res[pop[j].r];
          double u = obj == 0 ? q->accuracy : (obj == 1 ? log(q->latency_ms + 1e-12) : q->area);
          if (u <= v && (u > below || lo_end) && !(u == v && j > i)) below = u, lo_end = false;
          if (u >= v && (u < above || hi_end) && !(u == v && j < i)) above = u, hi_end = false;
        }
        pop[i].crowd += (lo_end || hi_end) ? 1e9 : (above - below) / (hi - lo);
      }
    }
}

static int cmp_ind(const void *a, const void *b) {
  const ind *x = a, *y = b;
  if (x->rank != y->rank) return x->rank - y->rank;
  if (x->crowd != y->crowd) return x->crowd > y->crowd ? -1 : 1;
  return (x->r > y->r) - (x->r < y->r);
}

static const ind *tournament(state *st, const ind *pop, int n) {
  const ind *a = &pop[xs(&st->rng) % (uint64_t)n], *b = &pop[xs(&st->rng) % (uint64_t)n];
  return cmp_ind(a, b) <= 0 ? a : b;
}

static void run_evolution(state *st) {
  int P = st->o->population > 4 ? st->o->population : 4;
  ind *pop = calloc((size_t)(2 * P), sizeof *pop);
  int64_t *keys = malloc(sizeof(int64_t) * (size_t)P), *idx = malloc(sizeof(int64_t) * (size_t)P);
  if (!pop || !keys || !idx) goto out;
  fab_cd_point p;
  for (int i = 0; i < P; i++) keys[i] = random_canonical(st, &p) ? p.key : 0;
  eval_keys(st, keys, P, idx);
  int np = 0;
  for (int i = 0; i < P; i++)
    if (idx[i] >= 0) {
      bool dup = false;
      for (int j = 0; j < np && !dup; j++) dup = pop[j].r == idx[i];
      if (!dup) pop[np++].r = idx[i];
    }
  int stale = 0;
  while (np > 0 && st->n < st->budget && !st->failed && stale < 50) {
    nds(st, pop, np);
    int nk = st->s->nknobs;
    for (int c = 0; c < P; c++) {
      fab_cd_point a, b, child;
      bool got = false;
      for (int t = 0; t < 30 && !got; t++) {
        fab_cd_point_decode(st->s, st->res[tournament(st, pop, np)->r].key, &a);
        fab_cd_point_decode(st->s, st->res[tournament(st, pop, np)->r].key, &b);
        child = a;
        for (int k = 0; k < nk; k++)
          if (xs(&st->rng) & 1) child.v[k] = b.v[k];
        bool changed = false;
        for (int k = 0; k < nk; k++)
          if (urand(&st->rng) < 1.0 / nk || (k == nk - 1 && !changed && t > 0)) {
            child.v[k] = (uint8_t)(xs(&st->rng) % (uint64_t)st->s->knobs[k].nvals);
            changed = true;
          }
        child.key = fab_cd_point_encode(st->s, &child);
        got = fab_cd_point_canonical(st->s, &child) && hfind(st, child.key) < 0;
      }
      if (!got && !random_canonical(st, &child)) child.key = 0;
      keys[c] = child.key;
    }
    int64_t before = st->n;
    eval_keys(st, keys, P, idx);
    stale = st->n == before ? stale + 1 : 0;
    for (int c = 0; c < P; c++) {
      if (idx[c] < 0) continue;
      bool dup = false;
      for (int j = 0; j < np && !dup; j++) dup = pop[j].r == idx[c];
      if (!dup && np < 2 * P) pop[np++].r = idx[c];
    }
    nds(st, pop, np);
    qsort(pop, (size_t)np, sizeof *pop, cmp_ind);
    if (np > P) np = P;
  }
out:
  free(pop);
  free(keys);
  free(idx);
}

/* ---- REINFORCE controllers ------------------------------------------------------------ */

/* The controller: one categorical distribution per knob (independent
 * softmaxes; Codesign-NAS used an LSTM, documented in docs/codesign.md).
 * Reward: +1 when the pair enters the Pareto archive of everything seen,
 * -1 when it is infeasible, 0 otherwise; a moving-average baseline. */
typedef struct policy {
  double th[FAB_CD_MAX_KNOBS][FAB_CD_MAX_VALS];
} policy;

static int sample_knob(const policy *pl, int k, int nv, uint64_t *rng) {
  double m = -INFINITY, z = 0;
  for (int v = 0; v < nv; v++) m = fmax(m, pl->th[k][v]);
  for (int v = 0; v < nv; v++) z += exp(pl->th[k][v] - m);
  double u = urand(rng) * z;
  for (int v = 0; v < nv; v++) {
    u -= exp(pl->th[k][v] - m);
    if (u <= 0) return v;
  }
  return nv - 1;
}

static void update_knob(policy *pl, int k, int nv, int chosen, double adv, double lr) {
  double m = -INFINITY, z = 0;
  for (int v = 0; v < nv; v++) m = fmax(m, pl->th[k][v]);
  for (int v = 0; v < nv; v++) z += exp(pl->th[k][v] - m);
  for (int v = 0; v < nv; v++) {
    double pr = exp(pl->th[k][v] - m) / z;
    pl->th[k][v] += lr * adv * ((v == chosen) - pr);
  }
}

/* Zeroes knobs that have no effect (kinds past `layers`, heads without
 * attention) so a sampled point names its canonical key. */
static void canon_point(const fab_cd_space *s, fab_cd_point *p) {
  fab_cd_model m;
  fab_cd_point_model(s, p, &m);
  bool att = false;
  for (int l = 0; l < m.layers; l++) att |= m.kind[l] != 0;
  for (int k = 0; k < s->nmodel_knobs; k++) {
    const char *n = s->knobs[k].name;
    if (!strncmp(n, "kind", 4) && atoi(n + 4) >= m.layers) p->v[k] = 0;
    if (!att && (!strcmp(n, "heads") || !strcmp(n, "attn_proj"))) p->v[k] = 0;
  }
  p->key = fab_cd_point_encode(s, p);
}

/* One controller run over the knobs in [k0, k1); the others are fixed to
 * `fixed`.  Runs until the budget reaches `until` or `episodes` pass. */
static void rl_run(state *st, policy *pl, int k0, int k1, const fab_cd_point *fixed, int64_t until,
                   int64_t episodes, double *baseline) {
  int B = st->o->batch > 0 ? st->o->batch : 16;
  fab_cd_point pts[256];
  int64_t keys[256], idx[256];
  if (B > 256) B = 256;
  int64_t ep = 0;
  int stale = 0;
  /* stop when the controller only revisits (a converged phase) */
  while (st->n < until && ep < episodes && !st->failed && stale < 20) {
    int64_t before = st->n;
    for (int b = 0; b < B; b++) {
      fab_cd_point p = *fixed;
      for (int k = k0; k < k1; k++) p.v[k] = (uint8_t)sample_knob(pl, k, st->s->knobs[k].nvals, &st->rng);
      pts[b] = p;
      canon_point(st->s, &p);
      keys[b] = fab_cd_point_canonical(st->s, &p) ? p.key : -1;
    }
    int64_t ok_keys[256];
    int nok = 0;
    for (int b = 0; b < B; b++)
      if (keys[b] >= 0) ok_keys[nok++] = keys[b];
    eval_keys(st, ok_keys, nok, NULL);
    for (int b = 0; b < B; b++) idx[b] = keys[b] >= 0 ? hfind(st, keys[b]) : -1;
    for (int b = 0; b < B; b++) {
      double r;
      if (idx[b] < 0) r = keys[b] < 0 ? -1 : 0; /* invalid, or past the budget */
      else if (!feasible(st, &st->res[idx[b]])) r = -1;
      else if (idx[b] >= before) r = archive_add(st, idx[b]) ? 1 : 0;
      else r = 0; /* a revisit teaches nothing new */
      double adv = r - *baseline;
      *baseline = 0.9 * *baseline + 0.1 * r;
      for (int k = k0; k < k1; k++) update_knob(pl, k, st->s->knobs[k].nvals, pts[b].v[k], adv, 0.2);
    }
    ep += B;
    stale = st->n == before ? stale + 1 : 0;
  }
}

static void mode_point(const state *st, const policy *pl, fab_cd_point *p) {
  for (int k = 0; k < st->s->nknobs; k++) {
    int best = 0;
    for (int v = 1; v < st->s->knobs[k].nvals; v++)
      if (pl->th[k][v] > pl->th[k][best]) best = v;
    p->v[k] = (uint8_t)best;
  }
}

static void run_rl(state *st, fab_cd_strategy form) {
  policy pl;
  memset(&pl, 0, sizeof pl);
  double base = 0;
  int nm = st->s->nmodel_knobs, nk = st->s->nknobs;
  int64_t max_ep = 20 * st->budget + 1000;
  fab_cd_point fixed;
  memset(&fixed, 0, sizeof fixed);
  if (form == FAB_CD_RL_COMBINED) {
    rl_run(st, &pl, 0, nk, &fixed, st->budget, max_ep, &base);
  } else if (form == FAB_CD_RL_PHASE) {
    /* alternate model-only and accelerator-only phases; the frozen half is
     * the controller's current most likely choice */
    int64_t phase = st->budget / 10 > 8 ? st->budget / 10 : 8;
    for (int ph = 0; st->n < st->budget && !st->failed && ph < 1000; ph++) {
      mode_point(st, &pl, &fixed);
      int64_t until = st->n + phase < st->budget ? st->n + phase : st->budget;
      if (ph % 2 == 0) rl_run(st, &pl, 0, nm, &fixed, until, 20 * phase, &base);
      else rl_run(st, &pl, nm, nk, &fixed, until, 20 * phase, &base);
    }
  } else {
    /* separate: the conventional flow — the model on a fixed mid-range
     * accelerator first, then the accelerator for the chosen model */
    for (int k = nm; k < nk; k++) fixed.v[k] = (uint8_t)(st->s->knobs[k].nvals / 2);
    rl_run(st, &pl, 0, nm, &fixed, st->budget / 2, max_ep, &base);
    int64_t best = fab_cd_best_constrained(st->res, st->n, st->s->max_latency_ms, st->front);
    if (best < 0) best = fab_cd_best_constrained(st->res, st->n, 0, false);
    if (best >= 0) fab_cd_point_decode(st->s, st->res[best].key, &fixed);
    base = 0;
    rl_run(st, &pl, nm, nk, &fixed, st->budget, max_ep, &base);
  }
}

/* ---- driver ----------------------------------------------------------------------------- */

bool fab_cd_search(const fab_cd_space *s, fab_cd_evaluator *e, const fab_cd_search_options *o,
                   fab_cd_search_result *res, fab_diag *d) {
  memset(res, 0, sizeof *res);
  fab_cd_search_options def;
  if (!o) fab_cd_search_options_default(&def), o = &def;
  if (o->strategy < 0 || o->strategy >= FAB_CD_STRATEGY_COUNT) {
    fab_error(d, (fab_loc){0}, "unknown search strategy %d", (int)o->strategy);
    return false;
  }
  if (o->nshards < 1 || o->shard < 0 || o->shard >= o->nshards ||
      (o->nshards > 1 && !o->exchange)) {
    fab_error(d, (fab_loc){0}, "bad sharding: shard %d of %d (sharding needs an exchange function)",
              o->shard, o->nshards);
    return false;
  }
  /* requests past the limits fail before anything is enumerated */
  if (o->strategy == FAB_CD_EXHAUSTIVE && fab_cd_space_size(s) > FAB_CD_MAX_EXHAUSTIVE) {
    fab_error(d, (fab_loc){0}, "an exhaustive search of %lld points is past the limit of 2^32; "
              "use a random, evolution or REINFORCE search with a budget",
              (long long)fab_cd_space_size(s));
    return false;
  }
  if (o->strategy != FAB_CD_EXHAUSTIVE && (o->budget < 1 || o->budget > FAB_CD_MAX_BUDGET)) {
    fab_error(d, (fab_loc){0}, "budget %lld outside [1, 2^40]", (long long)o->budget);
    return false;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  state st = {0};
  st.s = s, st.e = e, st.o = o, st.d = d, st.out = res;
  st.front = fab_cd_front_of(s);
  st.budget = o->strategy == FAB_CD_EXHAUSTIVE ? fab_cd_space_size(s) : o->budget;
  st.rng = o->seed * 0x9E3779B97F4A7C15ull + 12345;
  st.next_trace = o->trace_every;
  long nproc = sysconf(_SC_NPROCESSORS_ONLN);
  st.threads = o->threads > 0 ? o->threads : (int)(nproc > 0 ? nproc : 1);
  if (st.threads > 64) st.threads = 64;
  bool ok = true;
  if (o->log_path && !open_log(&st, o->log_path)) ok = false;
  if (ok) {
    switch (o->strategy) {
    case FAB_CD_EXHAUSTIVE: run_exhaustive(&st); break;
    case FAB_CD_RANDOM: run_random(&st); break;
    case FAB_CD_EVOLUTION: run_evolution(&st); break;
    default: run_rl(&st, o->strategy); break;
    }
    ok = !st.failed;
  }
  if (st.log) fclose(st.log);
  kfree(&st.map);
  kfree(&st.cmap);
  free(st.cache);
  free(st.arch);
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
