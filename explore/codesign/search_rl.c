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
 * -1 when it is infeasible, 0 otherwise; a moving-average baseline. */
typedef struct policy {
  double th[FAB_CD_MAX_KNOBS][FAB_CD_MAX_VALS];
} policy;

static int sample_knob(const policy *pl, int k, int nv, uint64_t *rng) {
  double m = -INFINITY, z = 0;
  for (int v = 0; v < nv; v++) m = fmax(m, pl->th[k][v]);
  for (int v = 0; v < nv; v++) z += exp(pl->th[k][v] - m);
  double u = cd_urand(rng) * z;
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
static void rl_run(cd_search *st, policy *pl, int k0, int k1, const fab_cd_point *fixed, int64_t until,
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
    cd_search_eval(st, ok_keys, nok, NULL);
    for (int b = 0; b < B; b++) idx[b] = keys[b] >= 0 ? cd_search_find(st, keys[b]) : -1;
    for (int b = 0; b < B; b++) {
      double r;
      if (idx[b] < 0) r = keys[b] < 0 ? -1 : 0; /* invalid, or past the budget */
      else if (!cd_feasible(st->s, &st->res[idx[b]])) r = -1;
      else if (idx[b] >= before) r = cd_archive_add(&st->arch, st->res, idx[b]) ? 1 : 0;
      else r = 0; /* a revisit teaches nothing new */
      double adv = r - *baseline;
      *baseline = 0.9 * *baseline + 0.1 * r;
      for (int k = k0; k < k1; k++) update_knob(pl, k, st->s->knobs[k].nvals, pts[b].v[k], adv, 0.2);
    }
    ep += B;
    stale = st->n == before ? stale + 1 : 0;
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

void cd_run_rl(cd_search *st, fab_cd_strategy form) {
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
