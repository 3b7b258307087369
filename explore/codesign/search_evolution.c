/* search_evolution.c — NSGA-II: non-dominated sorting with crowding
 * distance over the selected objectives (infeasible pairs rank last),
 * binary tournaments, uniform crossover and per-knob mutation. */
#include <math.h>
#include <stdlib.h>

#include "search_internal.h"

typedef struct ind {
  int64_t r; /* index into res */
  int rank;
  double crowd;
} ind;

static bool cdom(const cd_search *st, const fab_cd_result *a, const fab_cd_result *b) {
  bool fa = cd_feasible(st->s, a), fb = cd_feasible(st->s, b);
  if (fa != fb) return fa;
  if (!fa) return false;
  return cd_dominates(st->front, a, b);
}

/* Non-dominated sorting (O(n^2) per front, n <= 2 * population) and
 * crowding distance. */
static void nds(const cd_search *st, ind *pop, int n) {
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

static const ind *tournament(cd_search *st, const ind *pop, int n) {
  const ind *a = &pop[cd_rand(&st->rng) % (uint64_t)n], *b = &pop[cd_rand(&st->rng) % (uint64_t)n];
  return cmp_ind(a, b) <= 0 ? a : b;
}

void cd_run_evolution(cd_search *st) {
  int P = st->o->population > 4 ? st->o->population : 4;
  ind *pop = calloc((size_t)(2 * P), sizeof *pop);
  int64_t *keys = malloc(sizeof(int64_t) * (size_t)P), *idx = malloc(sizeof(int64_t) * (size_t)P);
  if (!pop || !keys || !idx) goto out;
  fab_cd_point p;
  for (int i = 0; i < P; i++) keys[i] = cd_search_random_point(st, &p) ? p.key : 0;
  cd_search_eval(st, keys, P, idx);
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
          if (cd_rand(&st->rng) & 1) child.v[k] = b.v[k];
        bool changed = false;
        for (int k = 0; k < nk; k++)
          if (cd_urand(&st->rng) < 1.0 / nk || (k == nk - 1 && !changed && t > 0)) {
            child.v[k] = (uint8_t)(cd_rand(&st->rng) % (uint64_t)st->s->knobs[k].nvals);
            changed = true;
          }
        child.key = fab_cd_point_encode(st->s, &child);
        got = fab_cd_point_canonical(st->s, &child) && cd_search_find(st, child.key) < 0;
      }
      if (!got && !cd_search_random_point(st, &child)) child.key = 0;
      keys[c] = child.key;
    }
    int64_t before = st->n;
    cd_search_eval(st, keys, P, idx);
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
