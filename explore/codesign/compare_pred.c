/* compare_pred.c — latency predictors: a predictor as the search's latency
 * (fab_cd_predict_point), predictor-driven against measurement-driven
 * search (`fabc codesign --compare predictor`), and the predictors and
 * the analytical model compared on a data set (`fabc predictor compare`;
 * docs/codesign.md, "Predictors"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cd_compare.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void print_metrics(FILE *out, const char *name, const fab_pred_metrics *m) {
  fprintf(out, "%-22s n=%-4d  +-1%% %5.1f%%  +-5%% %5.1f%%  +-10%% %5.1f%%  MAPE %6.2f%%  tau %.3f  rho %.3f\n",
         name, m->n, 100 * m->within1, 100 * m->within5, 100 * m->within10, 100 * m->mape,
         m->kendall, m->spearman);
}

/* The same with 95% bootstrap intervals (ranking only: no errors). */
static void print_metrics_ci(FILE *out, const char *name, const fab_pred_metrics_ci *c, bool ranking_only) {
  const fab_pred_metrics *m = &c->m;
  fprintf(out, "%-22s n=%-4d  tau %.3f [%.3f, %.3f]  rho %.3f [%.3f, %.3f]", name, m->n, m->kendall, c->kendall_lo,
          c->kendall_hi, m->spearman, c->spearman_lo, c->spearman_hi);
  if (!ranking_only)
    fprintf(out, "  +-10%% %5.1f%% [%.1f, %.1f]  +-1%% %5.1f%%  +-5%% %5.1f%%  MAPE %6.2f%%", 100 * m->within10,
            100 * c->within10_lo, 100 * c->within10_hi, 100 * m->within1, 100 * m->within5, 100 * m->mape);
  fprintf(out, "\n");
}

/* A predictor's predictions (or BRP's ranking scores) of t scored
 * against their labels, with bootstrap intervals. */
static void eval_pred(FILE *out, const char *name, const fab_predictor *p, const fab_pred_sample *const *t, int n) {
  fab_pred_metrics_ci m;
  if (fab_pred_evaluate(p, t, n, &m)) print_metrics_ci(out, name, &m, fab_pred_get_kind(p) == FAB_PRED_BRP);
}

/* The analytical model as a predictor of the target: as it is, and
 * calibrated by a least-squares fit log t = a + b log analytical on the
 * training models (what the residual GCN must beat). */
static void eval_analytical(FILE *out, const fab_pred_sample *const *tr, int ntr, const fab_pred_sample *const *t,
                            int n) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
  for (int i = 0; i < ntr; i++) {
    if (!(tr[i]->analytical_ms > 0)) continue;
    double x = log(tr[i]->analytical_ms), y = log(tr[i]->latency);
    sx += x, sy += y, sxx += x * x, sxy += x * y, m++;
  }
  double *raw = malloc(sizeof(double) * (size_t)(n ? n : 1)), *cal = malloc(sizeof(double) * (size_t)(n ? n : 1));
  double *tv = malloc(sizeof(double) * (size_t)(n ? n : 1));
  int k = 0;
  double det = m * sxx - sx * sx;
  double b = det != 0 ? (m * sxy - sx * sy) / det : 1, a = m > 0 ? (sy - b * sx) / m : 0;
  for (int i = 0; raw && cal && tv && i < n; i++)
    if (t[i]->analytical_ms > 0) {
      raw[k] = t[i]->analytical_ms;
      cal[k] = exp(a + b * log(t[i]->analytical_ms));
      tv[k++] = t[i]->latency;
    }
  if (k > 1) {
    fab_pred_metrics_ci mm;
    fab_pred_metrics_ci_compute(raw, tv, k, 1, &mm);
    print_metrics_ci(out, "analytical model", &mm, false);
    fab_pred_metrics_ci_compute(cal, tv, k, 1, &mm);
    print_metrics_ci(out, "analytical, calibrated", &mm, false);
  }
  free(raw);
  free(cal);
  free(tv);
}

/* xorshift64: the data set's reshuffle and the random baseline's draw. */
static uint64_t xorshift(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

/* A data set split: held-out family, train, validation, test. */
typedef struct pred_split {
  const fab_pred_sample **tr, **va, **te, **fam;
  int ntr, nva, nte, nfam;
} pred_split;

/* --shuffle S redraws the order (the lines are in draw order, so the
 * default split is already random); the held-out family (hidden >= H)
 * first, then of the rest 80% train (or --train N), 10% valid, 10% test. */
static void split_dataset(fab_pred_dataset *ds, const fab_cd_pred_compare_options *po, pred_split *sp) {
  uint64_t sh = po->shuffle;
  for (int i = ds->n - 1; sh && i > 0; i--) {
    int j = (int)(xorshift(&sh) % (uint64_t)(i + 1));
    fab_pred_sample t = ds->s[i];
    ds->s[i] = ds->s[j], ds->s[j] = t;
  }
  int holdout = po->holdout_hidden, ntrain = po->ntrain, rest = 0;
  for (int i = 0; i < ds->n; i++) rest += !(holdout && ds->s[i].hidden >= holdout);
  int ntest = po->ntest > 0 && po->ntest < rest ? po->ntest : 0;
  int cap = ntest ? rest - ntest : rest * 8 / 10; /* --test N: training takes the rest by default */
  if (ntrain <= 0 || ntrain > cap) ntrain = cap;
  int nvalid = ntest ? rest - ntrain - ntest : (rest - ntrain) / 2;
  for (int i = 0; i < ds->n; i++) {
    const fab_pred_sample *s = &ds->s[i];
    if (holdout && s->hidden >= holdout) sp->fam[sp->nfam++] = s;
    else if (sp->ntr < ntrain) sp->tr[sp->ntr++] = s;
    else if (sp->nva < nvalid) sp->va[sp->nva++] = s;
    else sp->te[sp->nte++] = s;
  }
}

/* The repeat-measurement noise of the target itself (CPU: cpu_ms_2). */
static bool print_repeat_noise(FILE *out, const pred_split *sp) {
  double *a = malloc(sizeof(double) * (size_t)(sp->nte + 1)), *b = malloc(sizeof(double) * (size_t)(sp->nte + 1));
  int nrep = 0;
  for (int i = 0; a && b && i < sp->nte; i++)
    if (sp->te[i]->latency2 > 0) a[nrep] = sp->te[i]->latency, b[nrep++] = sp->te[i]->latency2;
  if (nrep > 1) {
    fab_pred_metrics m;
    fab_pred_metrics_compute(b, a, nrep, &m);
    print_metrics(out, "repeat measurement", &m);
  }
  bool ok = a && b;
  free(a);
  free(b);
  return ok;
}

/* Every predictor kind trained and scored (o: the options, left as the
 * last kind used them). */
static bool compare_trainers(FILE *out, const pred_split *sp, const fab_cd_pred_compare_options *po,
                             fab_pred_train_options *o, fab_diag *d) {
  const char *names[] = {"GCN", "MACs linear fit", "per-op lookup table", "BRP (binary relation)"};
  fab_pred_kind kinds[] = {FAB_PRED_GCN, FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_BRP};
  int nk = po->select_only ? 0 : (po->no_brp ? 3 : 4);
  bool ok = true;
  for (int k = 0; k < nk; k++) {
    o->kind = kinds[k];
    if (o->kind == FAB_PRED_BRP && po->brp_epochs > 0) o->epochs = po->brp_epochs;
    double t0 = now_s();
    fab_predictor *p = fab_pred_train(sp->tr, sp->ntr, sp->va, sp->nva, o, d);
    if (!p) {
      ok = false;
      continue;
    }
    double tt = now_s() - t0;
    char nm[64];
    snprintf(nm, sizeof nm, "%s (test)", names[k]);
    eval_pred(out, nm, p, sp->te, sp->nte);
    if (sp->nfam) {
      snprintf(nm, sizeof nm, "%s (family)", names[k]);
      eval_pred(out, nm, p, sp->fam, sp->nfam);
    }
    fprintf(out, "  trained in %.1f s\n", tt);
    if (po->save && k == 0 && !fab_pred_save(p, po->save, d)) ok = false;
    fab_pred_free(p);
  }
  return ok;
}

/* The best label among n samples (the largest with maximize) and its
 * rank (1 = best) among the pool's labels. */
static double best_label(const fab_pred_sample *const *s, int n, bool maximize) {
  double b = maximize ? -INFINITY : INFINITY;
  for (int i = 0; i < n; i++) b = maximize ? fmax(b, s[i]->latency) : fmin(b, s[i]->latency);
  return b;
}
static int rank_in(const fab_pred_sample *const *pool, int npool, double v, bool maximize) {
  int better = 0;
  for (int i = 0; i < npool; i++) better += maximize ? pool[i]->latency > v : pool[i]->latency < v;
  return better + 1;
}

/* The random baseline: moves k of the pool's n models, drawn without
 * replacement with the run's seed (a partial Fisher-Yates shuffle), to
 * its front, so that each seed compares the selection with other random
 * models (before, the pool's first k in every run). */
static void draw_random_front(const fab_pred_sample **pool, int n, int k, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < k && i < n - 1; i++) {
    int j = i + (int)(xorshift(&s) % (uint64_t)(n - i));
    const fab_pred_sample *t = pool[i];
    pool[i] = pool[j], pool[j] = t;
  }
}

/* Iterative data selection (BRP-NAS) from the training and validation
 * models, against as many random ones (drawn with the run's seed) trained
 * once with the full epochs; both scored on the test models. */
static bool select_data(FILE *out, const pred_split *sp, const fab_cd_pred_compare_options *po,
                        const fab_pred_train_options *o, fab_diag *d) {
  int rounds = po->select_rounds > 0 ? po->select_rounds : 5, per = po->select_per_round > 0 ? po->select_per_round : 20;
  int npool = sp->ntr + sp->nva, total = rounds * per;
  const fab_pred_sample **pool = malloc(sizeof *pool * (size_t)(npool + 1));
  int *chosen = malloc(sizeof(int) * (size_t)(total + 1));
  const fab_pred_sample **pick = malloc(sizeof *pick * (size_t)(total + 1));
  bool ok = pool && chosen && pick;
  if (!ok) fab_error(d, (fab_loc){0}, "out of memory for the selection");
  for (int i = 0; ok && i < npool; i++) pool[i] = i < sp->ntr ? sp->tr[i] : sp->va[i - sp->ntr];
  fab_pred_select_options so = {rounds, per, po->maximize, *o, out};
  so.train.kind = po->select_kind == FAB_PRED_BRP ? FAB_PRED_BRP : FAB_PRED_GCN;
  const char *kn = so.train.kind == FAB_PRED_BRP ? "BRP" : "GCN";
  if (ok)
    fprintf(out, "iterative selection (%s, %d rounds of %d from a pool of %d; %s is best):\n", kn, rounds, per, npool,
            po->maximize ? "the largest label" : "the smallest label");
  fab_predictor *p = ok ? fab_pred_select(pool, npool, &so, chosen, d) : NULL;
  if (p) {
    for (int i = 0; i < total; i++) pick[i] = pool[chosen[i]];
    double bs = best_label(pick, total, po->maximize), bp = best_label(pool, npool, po->maximize);
    draw_random_front(pool, npool, total, po->train.seed); /* chosen[] is not read after this */
    double br = best_label(pool, total, po->maximize);
    fprintf(out, "best of %d selected %.4g (rank %d of %d); best of %d random %.4g (rank %d); pool best %.4g\n",
            total, bs, rank_in(pool, npool, bs, po->maximize), npool, total, br,
            rank_in(pool, npool, br, po->maximize), bp);
    /* k random draws without replacement from N: the best's expected
     * rank is (N + 1) / (k + 1), the pool's best among them with
     * probability k / N */
    fprintf(out, "random selection of %d, expected: best's rank %.2f, the pool's best found with probability %.2f\n",
            total, (npool + 1.0) / (total + 1.0), (double)total / npool);
    char nm[64];
    snprintf(nm, sizeof nm, "%s, %d selected", kn, total);
    eval_pred(out, nm, p, sp->te, sp->nte);
    fab_pred_free(p);
    fab_pred_train_options to = so.train;
    p = fab_pred_train(pool, total, NULL, 0, &to, d);
    snprintf(nm, sizeof nm, "%s, %d random", kn, total);
    if (p) eval_pred(out, nm, p, sp->te, sp->nte);
  }
  ok = ok && p;
  fab_pred_free(p);
  free(pool);
  free(chosen);
  free(pick);
  return ok;
}

bool fab_cd_compare_predictors(const char *data, const fab_cd_pred_compare_options *po, fab_diag *d) {
  FILE *out = po->out ? po->out : stdout;
  fab_pred_dataset ds;
  if (!fab_pred_dataset_load(data, po->target, &ds, d)) return false;
  size_t cap = (size_t)(ds.n > 0 ? ds.n : 1);
  pred_split sp = {malloc(sizeof *sp.tr * cap), malloc(sizeof *sp.va * cap), malloc(sizeof *sp.te * cap),
                   malloc(sizeof *sp.fam * cap), 0, 0, 0, 0};
  bool ok = sp.tr && sp.va && sp.te && sp.fam;
  if (!ok) fab_error(d, (fab_loc){0}, "%s: out of memory for %d samples", data, ds.n);
  if (ok) {
    split_dataset(&ds, po, &sp);
    fprintf(out, "data %s target %s: %d train, %d valid, %d test, %d held-out family (hidden >= %d)\n", data,
            po->target, sp.ntr, sp.nva, sp.nte, sp.nfam, po->holdout_hidden);
    ok = print_repeat_noise(out, &sp);
  }
  fab_pred_train_options o = po->train;
  if (ok) {
    bool latency = strcmp(po->target, "accuracy") != 0;
    if (latency) eval_analytical(out, sp.tr, sp.ntr, sp.te, sp.nte);
    if (latency && sp.nfam) eval_analytical(out, sp.tr, sp.ntr, sp.fam, sp.nfam);
    ok = compare_trainers(out, &sp, po, &o, d);
    if ((po->select || po->select_only) && !select_data(out, &sp, po, &po->train, d)) ok = false;
  }
  free(sp.tr);
  free(sp.va);
  free(sp.te);
  free(sp.fam);
  fab_pred_dataset_free(&ds);
  return ok;
}

/* ---- predictor-driven against measurement-driven search ----------------------- */

double fab_cd_predict_point(const fab_cd_space *s, const fab_cd_point *p, void *user) {
  const fab_predictor *pr = user;
  fab_cd_model m;
  fab_fpga_config c = {0};
  fab_cd_point_model(s, p, &m);
  fab_diag *d = fab_diag_new();
  double ms = -1;
  fab_module *mod = fab_cd_point_config(s, p, &c, d) ? fab_cd_model_build(&m, d) : NULL;
  char *g = mod ? fab_pred_graph_json(mod, d) : NULL;
  char *a = mod ? fab_cd_accel_json(&c) : NULL; /* as `sample` records it */
  fab_pred_sample smp;
  uint64_t cyc;
  double an = 0;
  /* the analytical latency feature, as `sample` recorded it */
  if (mod && !fab_cd_model_latency(mod, &c, &cyc, &an, d)) an = 0;
  if (g && a && fab_pred_sample_make(g, a, &smp, d)) {
    fab_pred_sample_set_analytical(&smp, an);
    ms = fab_pred_predict(pr, &smp);
    if (!(ms > 0)) ms = -1;
    fab_pred_sample_free(&smp);
  }
  free(g);
  free(a);
  fab_module_free(mod);
  fab_diag_free(d);
  return ms;
}

/* The predicted front simulated, then both measured sets in a common
 * hypervolume box.  tm, tp: the two searches' seconds. */
static bool report_predsearch(const fab_cd_space *s, fab_cd_evaluator *es, const fab_cd_search_result *rm,
                              const fab_cd_search_result *rp, double tm, double tp, FILE *out, fab_diag *d) {
  int64_t *f;
  int nf = fab_cd_pareto(rp->evals, rp->nevals, fab_cd_front_of(s), &f);
  fab_cd_result *meas = calloc((size_t)nf + 1, sizeof *meas);
  fab_cd_result *all = malloc(sizeof *all * (size_t)(rm->nevals + nf + 1));
  if (!meas || !all) {
    fab_error(d, (fab_loc){0}, "out of memory for %d front points", nf);
    free(f), free(meas), free(all);
    return false;
  }
  double t0 = now_s();
  int nmeas = 0;
  for (int i = 0; i < nf; i++) {
    fab_diag_clear(d);
    if (fab_cd_evaluate(es, rp->evals[f[i]].key, &meas[nmeas], d)) nmeas++;
  }
  double tv = now_s() - t0;
  fab_diag_clear(d);
  memcpy(all, rm->evals, sizeof *all * (size_t)rm->nevals);
  memcpy(all + rm->nevals, meas, sizeof *all * (size_t)nmeas);
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(all, rm->nevals + nmeas, &ref);
  double hm = fab_cd_hypervolume(rm->evals, rm->nevals, fab_cd_front_of(s), &ref);
  double hp = fab_cd_hypervolume(meas, nmeas, s->require_fit, &ref);
  double hb = fab_cd_hypervolume(all, rm->nevals + nmeas, s->require_fit, &ref);
  double err = 0;
  for (int i = 0, j = 0; i < nf && j < nmeas; i++)
    if (rp->evals[f[i]].key == meas[j].key) err += fabs(rp->evals[f[i]].latency_ms / meas[j].latency_ms - 1), j++;
  fprintf(out, "measurement-driven (simulator), %lld evaluations: %.1f s, hypervolume %.4f\n",
          (long long)rm->nevals, tm, hm);
  fprintf(out, "predictor-driven (GCN), %lld evaluations: %.1f s search + %.1f s to simulate its %d-point "
          "front (%d simulated): hypervolume %.4f of the measured front; mean |pred/sim - 1| on the "
          "front %.1f%%\n", (long long)rp->nevals, tp, tv, nf, nmeas, hp, nmeas ? 100 * err / nmeas : 0);
  fprintf(out, "union of both: hypervolume %.4f\n", hb);
  free(all);
  free(meas);
  free(f);
  return true;
}

bool fab_cd_compare_predictor_search(const fab_cd_space *s, const fab_predictor *pr, int64_t budget_meas,
                                     int64_t budget_pred, uint64_t seed, FILE *out, fab_diag *d) {
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = FAB_CD_EVOLUTION;
  o.population = 16;
  o.threads = 1;
  o.seed = seed;
  fab_cd_eval_options sim = {.latency = FAB_CD_LAT_SIM};
  fab_cd_eval_options pre = {.latency = FAB_CD_LAT_PRED, .predict = fab_cd_predict_point, .predict_user = (void *)pr};
  fab_cd_evaluator *es = fab_cd_evaluator_new(s, &sim, d), *ep = fab_cd_evaluator_new(s, &pre, d);
  fab_cd_search_result rm = {0}, rp = {0};
  bool ok = es && ep;
  o.budget = budget_meas;
  double t0 = now_s();
  ok = ok && fab_cd_search(s, es, &o, &rm, d);
  double tm = now_s() - t0;
  o.budget = budget_pred;
  t0 = now_s();
  ok = ok && fab_cd_search(s, ep, &o, &rp, d);
  double tp = now_s() - t0;
  ok = ok && report_predsearch(s, es, &rm, &rp, tm, tp, out, d);
  fab_cd_search_result_free(&rm);
  fab_cd_search_result_free(&rp);
  fab_cd_evaluator_free(es);
  fab_cd_evaluator_free(ep);
  return ok;
}
