/* test_brp.c — codesign.brp_* tests: BRP-NAS's binary relation predictor
 * on accuracy-like labels (soft targets over all pairs, the paper's graph
 * form), its iterative data selection, and the bootstrap intervals.
 * Usage: test_brp SPACES_DIR TEST */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cd_test.h"
#include "predict.h"

#define NS 40

/* A chain input -> k dense layers (width w) -> output, label 0.2 + k/100
 * + w/10000: deeper and wider is better, as accuracy labels go. */
static bool chain_sample(int k, int w, fab_pred_sample *s) {
  char g[8192];
  int o = snprintf(g, sizeof g, "{\"nodes\":[[\"input\",[16,%d],[16,%d],0]", w, w);
  for (int i = 0; i < k; i++) o += snprintf(g + o, sizeof g - (size_t)o, ",[\"dense\",[16,%d],[16,%d],%d]", w, w, 16 * w * w);
  o += snprintf(g + o, sizeof g - (size_t)o, ",[\"output\",[16,%d],[16,%d],0]],\"edges\":[", w, w);
  for (int i = 0; i <= k; i++) o += snprintf(g + o, sizeof g - (size_t)o, "%s[%d,%d]", i ? "," : "", i, i + 1);
  snprintf(g + o, sizeof g - (size_t)o, "]}");
  if (!fab_pred_sample_make(g, "{}", s, d)) return false;
  s->latency = 0.2 + k / 100.0 + w / 10000.0;
  return true;
}

static bool make_set(fab_pred_sample *s, const fab_pred_sample **p) {
  for (int i = 0; i < NS; i++) {
    if (!chain_sample(1 + (i * 7) % 20, 8 << (i % 3), &s[i])) return false;
    p[i] = &s[i];
  }
  return true;
}

static void free_set(fab_pred_sample *s) {
  for (int i = 0; i < NS; i++) fab_pred_sample_free(&s[i]);
}

static double train_tau(const fab_pred_train_options *o, const fab_pred_sample *const *p) {
  fab_predictor *pr = fab_pred_train(p, NS, NULL, 0, o, d);
  CHECK(pr != NULL);
  if (!pr) return 0;
  double sc[NS], y[NS];
  fab_pred_rank_scores(pr, p, NS, sc);
  for (int i = 0; i < NS; i++) y[i] = p[i]->latency;
  fab_pred_free(pr);
  return fab_pred_kendall(sc, y, NS);
}

static void brp_options(fab_pred_train_options *o) {
  fab_pred_train_options_default(o);
  o->kind = FAB_PRED_BRP;
  o->epochs = 60;
  o->patience = 60;
  o->lr = 5e-3;
  o->width = 16;
  o->batch = 8;
}

/* Soft targets on all pairs, and each variant, rank the labels. */
static void t_brp_accuracy(void) {
  fab_pred_sample s[NS];
  const fab_pred_sample *p[NS];
  if (!make_set(s, p)) {
    CHECK(!"samples");
    return;
  }
  fab_pred_train_options o;
  brp_options(&o);
  const char *what[] = {"all pairs, soft", "paper graph", "hard targets", "random pairs"};
  for (int v = 0; v < 4; v++) {
    brp_options(&o);
    o.paper_graph = v == 1;
    o.brp_hard = v == 2;
    o.brp_pairs = v == 3 ? 200 : 0;
    double tau = train_tau(&o, p);
    if (!(tau > 0.7)) fprintf(stderr, "%s: tau %.3f\n", what[v], tau);
    CHECK(tau > 0.7);
  }
  free_set(s);
}

/* BRP-NAS's adjacency: row i = i and the consumers of i; the global row
 * = every node; nobody reads the global node. */
static void t_brp_paper_graph(void) {
  fab_pred_sample s;
  if (!chain_sample(1, 8, &s)) {
    CHECK(!"sample");
    return;
  }
  const fab_pred_graph *g = &s.g; /* input 0 -> dense 1 -> output 2, global 3 */
  CHECK(g->n == 4 && g->padj_start[4] == g->npadj);
  int want[4][4] = {{0, 1, -1}, {1, 2, -1}, {2, -1}, {3, 0, 1, 2}};
  for (int i = 0; i < 4; i++) {
    int k = 0;
    for (int e = g->padj_start[i]; e < g->padj_start[i + 1]; e++, k++) CHECK(k < 4 && g->padj_col[e] == want[i][k]);
    CHECK(k == 4 || want[i][k] == -1);
  }
  fab_pred_sample_free(&s);
}

/* Iterative selection: distinct picks, the top model found, a predictor
 * that ranks; refused without enough pool. */
static void t_brp_select(void) {
  fab_pred_sample s[NS];
  const fab_pred_sample *p[NS];
  if (!make_set(s, p)) {
    CHECK(!"samples");
    return;
  }
  fab_pred_select_options so = {3, 6, true, {0}, NULL};
  brp_options(&so.train);
  int chosen[18];
  fab_predictor *pr = fab_pred_select(p, NS, &so, chosen, d);
  CHECK(pr != NULL);
  double best = 0, top = 0;
  for (int i = 0; i < 18; i++) {
    for (int j = 0; j < i; j++) CHECK(chosen[i] != chosen[j]);
    best = fmax(best, p[chosen[i]]->latency);
  }
  for (int i = 0; i < NS; i++) top = fmax(top, p[i]->latency);
  if (best != top) fprintf(stderr, "selection's best %.4f, pool's %.4f\n", best, top);
  CHECK(best == top);
  fab_pred_free(pr);
  so.rounds = 10; /* 60 > 40 models */
  CHECK(fab_pred_select(p, NS, &so, chosen, d) == NULL);
  CHECK(fab_diag_error_count(d) == 1);
  fab_diag_clear(d);
  free_set(s);
}

static void t_brp_bootstrap(void) {
  double c[5] = {0.5, 0.5, 0.5, 0.5, 0.5}, lo, hi;
  CHECK(fab_pred_mean_ci(c, 5, 1, &lo, &hi) == 0.5 && lo == 0.5 && hi == 0.5);
  double v[100], w[100];
  for (int i = 0; i < 100; i++) v[i] = i % 2, w[i] = i + 1;
  double m = fab_pred_mean_ci(v, 100, 1, &lo, &hi);
  CHECK(m == 0.5 && lo < 0.5 && hi > 0.5 && lo > 0.3 && hi < 0.7);
  fab_pred_metrics_ci mc;
  fab_pred_metrics_ci_compute(w, w, 100, 1, &mc);
  CHECK(mc.m.kendall == 1 && mc.kendall_lo == 1 && mc.spearman_hi == 1 && mc.within10_lo == 1);
  for (int i = 0; i < 100; i++) v[i] = (i * 37) % 100; /* a scrambled order */
  fab_pred_metrics_ci_compute(v, w, 100, 1, &mc);
  CHECK(mc.kendall_lo < mc.m.kendall && mc.m.kendall < mc.kendall_hi);
}

static const struct {
  const char *name;
  void (*run)(void);
} tests[] = {{"brp_accuracy", t_brp_accuracy},
             {"brp_paper_graph", t_brp_paper_graph},
             {"brp_select", t_brp_select},
             {"brp_bootstrap", t_brp_bootstrap}};

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  d = fab_diag_new();
  int found = 0;
  for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
    if (!strcmp(argv[2], tests[i].name)) tests[i].run(), found = 1;
  if (!found) fprintf(stderr, "unknown test %s\n", argv[2]);
  fab_diag_free(d);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  return !found ? 2 : fails ? 1 : 0;
}
