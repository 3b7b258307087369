/* search_rl.c — REINFORCE controllers in the three forms of
 * Codesign-NAS: combined (all knobs at once), phase (model and
 * accelerator phases alternate) and separate (the model first, then its
 * accelerator: the conventional flow). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search_internal.h"

/* The controller: one categorical distribution per knob (independent
 * softmaxes; Codesign-NAS used an LSTM, documented in docs/codesign.md).
 * Reward: +1 when the pair enters the Pareto archive of everything seen,
 * -1 when it is infeasible, 0 otherwise; a moving-average baseline; an
 * entropy bonus, and sampling from the policy mixed with a uniform share
 * `eps` so that it never stops proposing new points (a policy that
 * collapsed onto the archive it found proposes only revisits). */
typedef struct policy {
  double th[FAB_CD_MAX_KNOBS][FAB_CD_MAX_VALS];
  double lr, entropy, eps_floor, eps;
} policy;

#define RL_LR 0.05
#define RL_ENTROPY 0.02
#define RL_EXPLORE 0.05
/* batches at pure random sampling without a new point before a run
 * gives up (the space, or the frozen half's slice of it, is exhausted) */
#define RL_GIVE_UP 50

static double option_or(double v, double dflt) { return v == 0 ? dflt : (v < 0 ? 0 : v); }

static void policy_init(policy *pl, const fab_cd_search_options *o) {
  memset(pl, 0, sizeof *pl);
  pl->lr = option_or(o->rl_lr, RL_LR);
  pl->entropy = option_or(o->rl_entropy, RL_ENTROPY);
  pl->eps_floor = fmin(1, option_or(o->rl_explore, RL_EXPLORE));
  pl->eps = pl->eps_floor;
}

/* The knob's softmax probabilities. */
static void knob_probs(const policy *pl, int k, int nv, double *pr) {
  double m = -INFINITY, z = 0;
  for (int v = 0; v < nv; v++) m = fmax(m, pl->th[k][v]);
  for (int v = 0; v < nv; v++) z += (pr[v] = exp(pl->th[k][v] - m));
  for (int v = 0; v < nv; v++) pr[v] /= z;
}

static int sample_knob(const policy *pl, int k, int nv, uint64_t *rng) {
  double pr[FAB_CD_MAX_VALS];
  knob_probs(pl, k, nv, pr);
  double u = cd_urand(rng);
  for (int v = 0; v < nv; v++) {
    u -= (1 - pl->eps) * pr[v] + pl->eps / nv;
    if (u <= 0) return v;
  }
  return nv - 1;
}

/* theta += lr * (adv * d log pi(chosen) + entropy * dH), per knob. */
static void update_knob(policy *pl, int k, int nv, int chosen, double adv) {
  double pr[FAB_CD_MAX_VALS], h = 0;
  knob_probs(pl, k, nv, pr);
  for (int v = 0; v < nv; v++) h -= pr[v] > 0 ? pr[v] * log(pr[v]) : 0;
  for (int v = 0; v < nv; v++) {
    double dh = pr[v] > 0 ? -pr[v] * (log(pr[v]) + h) : 0;
    pl->th[k][v] += pl->lr * (adv * ((v == chosen) - pr[v]) + pl->entropy * dh);
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

/* The reward of result index i (-1: invalid or past the budget) for a
 * batch that started at `before` evaluations. */
static double reward(cd_search *st, int64_t key, int64_t i, int64_t before) {
  if (i < 0) return key < 0 ? -1 : 0;
  if (!cd_feasible(st->s, &st->res[i])) return -1;
  if (i >= before) return cd_archive_add(&st->arch, st->res, i) ? 1 : 0;
  return 0; /* a revisit teaches nothing new */
}

/* One controller run over the knobs in [k0, k1); the others are fixed to
 * `fixed`.  Runs until the budget reaches `until` or `episodes` pass. */
static void rl_run(cd_search *st, policy *pl, int k0, int k1, const fab_cd_point *fixed, int64_t until,
                   int64_t episodes, double *baseline) {
  int B = st->o->batch > 0 ? st->o->batch : 16;
  fab_cd_point pts[256];
  int64_t keys[256], idx[256], ok_keys[256];
  if (B > 256) B = 256;
  int64_t ep = 0;
  int stale = 0;
  pl->eps = pl->eps_floor;
  while (st->n < until && ep < episodes && !st->failed && stale < RL_GIVE_UP) {
    int64_t before = st->n;
    int nok = 0;
    for (int b = 0; b < B; b++) {
      fab_cd_point p = *fixed;
      for (int k = k0; k < k1; k++) p.v[k] = (uint8_t)sample_knob(pl, k, st->s->knobs[k].nvals, &st->rng);
      pts[b] = p;
      canon_point(st->s, &p);
      keys[b] = fab_cd_point_canonical(st->s, &p) ? p.key : -1;
      if (keys[b] >= 0) ok_keys[nok++] = keys[b];
    }
    cd_search_eval(st, ok_keys, nok, NULL);
    for (int b = 0; b < B; b++) idx[b] = keys[b] >= 0 ? cd_search_find(st, keys[b]) : -1;
    for (int b = 0; b < B; b++) {
      double r = reward(st, keys[b], idx[b], before);
      double adv = r - *baseline;
      *baseline = 0.9 * *baseline + 0.1 * r;
      for (int k = k0; k < k1; k++) update_knob(pl, k, st->s->knobs[k].nvals, pts[b].v[k], adv);
    }
    ep += B;
    /* only revisits: explore more (up to uniform sampling) */
    if (st->n == before) {
      pl->eps = fmin(1, 2 * fmax(pl->eps, 1.0 / 64));
      stale = pl->eps >= 1 ? stale + 1 : 0;
    } else {
      pl->eps = pl->eps_floor, stale = 0;
    }
  }
}

static void mode_point(const cd_search *st, const policy *pl, fab_cd_point *p) {
  for (int k = 0; k < st->s->nknobs; k++) {
    int best = 0;
    for (int v = 1; v < st->s->knobs[k].nvals; v++)
      if (pl->th[k][v] > pl->th[k][best]) best = v;
    p->v[k] = (uint8_t)best;
  }
}

/* Accelerators (indices) the separate flow already searched models on. */
typedef struct used_accels {
  int64_t a[100];
  int n;
} used_accels;

static bool accel_used(const used_accels *u, int64_t a) {
  for (int i = 0; u && i < u->n; i++)
    if (u->a[i] == a) return true;
  return false;
}

/* The accelerator knobs of the fastest feasible evaluated pair of
 * `model` under the space's latency limit (if none meets it, the fastest;
 * ties: less area), among accelerators not in `used`, into `fixed` (and
 * added to `used`); the mid-range accelerator if there is none. */
static void fastest_accelerator(const cd_search *st, int64_t model, fab_cd_point *fixed, used_accels *used) {
  const fab_cd_space *s = st->s;
  double lim = s->max_latency_ms > 0 ? s->max_latency_ms : INFINITY;
  int64_t best = -1;
  bool best_meets = false;
  for (int64_t j = 0; j < st->n; j++) {
    const fab_cd_result *r = &st->res[j], *b = best >= 0 ? &st->res[best] : NULL;
    if (fab_cd_model_index(s, r->key) != model || !cd_feasible(s, r) || accel_used(used, r->key % s->naccels))
      continue;
    bool meets = r->latency_ms <= lim;
    if (!b || (meets && !best_meets) ||
        (meets == best_meets && (r->latency_ms < b->latency_ms ||
                                 (r->latency_ms == b->latency_ms && r->area < b->area))))
      best = j, best_meets = meets;
  }
  int nm = s->nmodel_knobs, nk = s->nknobs;
  fab_cd_point p;
  if (best >= 0) fab_cd_point_decode(s, st->res[best].key, &p);
  for (int k = nm; k < nk; k++) fixed->v[k] = best >= 0 ? p.v[k] : (uint8_t)(s->knobs[k].nvals / 2);
  if (best >= 0 && used && used->n < 100) used->a[used->n++] = st->res[best].key % s->naccels;
}

/* The separate flow's accelerator, chosen as a designer would before any
 * model search: the reference model is the space's mid-range model (each
 * model knob at its middle value, index nvals/2, made canonical); it is
 * evaluated on every accelerator (on a random budget/4 of them when there
 * are more), and the flow keeps the feasible one (valid, fitting the
 * device) with the lowest latency under the space's latency limit (if no
 * accelerator meets the limit, the lowest latency; ties: less area).
 * These evaluations count against the budget.  `fixed` receives it. */
static void reference_accelerator(cd_search *st, fab_cd_point *fixed, used_accels *used) {
  const fab_cd_space *s = st->s;
  int nm = s->nmodel_knobs;
  fab_cd_point ref;
  memset(&ref, 0, sizeof ref);
  for (int k = 0; k < nm; k++) ref.v[k] = (uint8_t)(s->knobs[k].nvals / 2);
  canon_point(s, &ref);
  int64_t model = fab_cd_model_index(s, ref.key), cap = st->budget / 4 > 1 ? st->budget / 4 : 1;
  int64_t n = s->naccels <= cap ? s->naccels : cap;
  int64_t *keys = malloc(sizeof(int64_t) * (size_t)n);
  if (!keys) {
    st->failed = true;
    return;
  }
  int m = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t a = s->naccels <= cap ? i : (int64_t)(cd_rand(&st->rng) % (uint64_t)s->naccels);
    fab_cd_point p;
    fab_cd_point_decode(s, model * s->naccels + a, &p);
    if (fab_cd_point_canonical(s, &p)) keys[m++] = p.key;
  }
  cd_search_eval(st, keys, m, NULL);
  free(keys);
  fastest_accelerator(st, model, fixed, used);
}

void cd_run_rl(cd_search *st, fab_cd_strategy form) {
  policy pl;
  policy_init(&pl, st->o);
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
    /* separate: the conventional flow — the accelerator chosen for a
     * reference model, the model searched on it, then the accelerator
     * searched for the chosen model (half the budget, or the accelerators
     * of one model if they are fewer); when both slices are exhausted
     * before the budget, the designer repeats the two steps on the chosen
     * model's fastest accelerator not searched on yet */
    used_accels used = {.n = 0};
    reference_accelerator(st, &fixed, &used);
    for (int round = 0; st->n < st->budget && !st->failed && round < 100; round++) {
      int64_t start = st->n, left = st->budget - st->n;
      int64_t accel_part = left / 2 < st->s->naccels ? left / 2 : st->s->naccels;
      rl_run(st, &pl, 0, nm, &fixed, st->budget - accel_part, max_ep, &base);
      int64_t best = fab_cd_best_constrained(st->res, st->n, st->s->max_latency_ms, st->front);
      if (best < 0) best = fab_cd_best_constrained(st->res, st->n, 0, false);
      if (best >= 0) fab_cd_point_decode(st->s, st->res[best].key, &fixed);
      base = 0;
      rl_run(st, &pl, nm, nk, &fixed, st->budget, max_ep, &base);
      /* the next model search runs on the chosen model's fastest accelerator */
      if (best >= 0) fastest_accelerator(st, fab_cd_model_index(st->s, st->res[best].key), &fixed, &used);
      if (st->n == start) break;
    }
  }
}
