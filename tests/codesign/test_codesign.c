/* test_codesign.c — codesign.* tests: spaces, evaluators, Pareto front and
 * hypervolume, search determinism / resume, the data set, predictors.
 * Usage: test_codesign SPACES_DIR TEST */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_test.h"
#include "codesign.h"
#include "predict.h"


/* A tiny space for quick searches: 2*2*2 models x 2*2*2 accelerators. */
static const char *tiny_space =
    "{\"name\":\"tiny\",\"seq\":64,\"vocab\":16,\"classes\":2,\"max_latency_ms\":0.05,"
    "\"model\":{\"layers\":[1,2],\"hidden\":[32,64],\"ffn_ratio\":[1,2],"
    "\"kind0\":[\"fbfly\",\"abfly\"],\"kind1\":[\"fbfly\",\"abfly\"]},"
    "\"accel\":{\"p_be\":[4,8,16],\"p_bu\":[2,4],\"bw\":[256,1024],\"clock_mhz\":[200,300]}}";

static void t_space_parse(void) {
  fab_cd_space s;
  CHECK(load("fabnet-text.json", &s));
  CHECK(s.nmodels == 30 && s.naccels == 4 && s.pe_total == 512);
  CHECK(load("fabnet-large.json", &s));
  CHECK(fab_cd_space_size(&s) > 1000000);
  CHECK(load("latbench.json", &s));
  CHECK(fab_cd_space_parse(tiny_space, strlen(tiny_space), "tiny", &s, d));
  CHECK(s.nmodel_knobs == 5 && s.nknobs == 9);
}

static void t_space_errors(void) {
  fab_cd_space s;
  const char *bad[] = {"{", "{\"model\":{}}", "{\"model\":{\"depth\":[1]},\"accel\":{}}",
                       "{\"model\":{\"layers\":[]},\"accel\":{}}",
                       "{\"model\":{},\"accel\":{\"p_be\":[1]},\"pe_total\":64}"};
  for (int i = 0; i < 5; i++) {
    fab_diag_clear(d);
    CHECK(!fab_cd_space_parse(bad[i], strlen(bad[i]), "bad", &s, d));
    CHECK(fab_diag_error_count(d) > 0);
  }
  fab_diag_clear(d);
  CHECK(!fab_cd_space_load("/nonexistent/space.json", &s, d));
  fab_diag_clear(d);
}

static void t_point_roundtrip(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(tiny_space, strlen(tiny_space), "tiny", &s, d));
  int canon = 0;
  for (int64_t k = 0; k < fab_cd_space_size(&s); k++) {
    fab_cd_point p;
    fab_cd_point_decode(&s, k, &p);
    CHECK(fab_cd_point_encode(&s, &p) == k);
    CHECK(fab_cd_model_index(&s, k) * s.naccels + fab_cd_accel_index(&s, k) == k);
    canon += fab_cd_point_canonical(&s, &p);
  }
  /* layers=1: kind1 must be fbfly (2 kinds of layer 0), layers=2: 4 */
  CHECK(canon == (2 + 4) * 2 * 2 * 24);
}

static void t_model_build(void) {
  fab_cd_space s;
  CHECK(load("fabnet-large.json", &s));
  fab_cd_point p;
  for (int64_t k = 0; k < fab_cd_space_size(&s); k += 99991) {
    fab_cd_point_decode(&s, k, &p);
    if (!fab_cd_point_canonical(&s, &p)) continue;
    fab_cd_model m;
    fab_cd_point_model(&s, &p, &m);
    fab_module *mod = fab_cd_model_build(&m, d);
    CHECK(mod && fab_verify(mod, d));
    fab_fpga_config c;
    CHECK(fab_cd_point_config(&s, &p, &c, d));
    uint64_t cyc;
    double ms;
    if (mod && fab_cd_model_latency(mod, &c, &cyc, &ms, d)) CHECK(cyc > 0 && ms > 0);
    fab_diag_clear(d);
    fab_module_free(mod);
  }
}

static void t_exhaustive_text(void) {
  fab_cd_space s;
  CHECK(load("fabnet-text.json", &s));
  fab_cd_evaluator *e = fab_cd_evaluator_new(&s, NULL, d);
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = FAB_CD_EXHAUSTIVE;
  o.threads = 2;
  fab_cd_search_result r;
  CHECK(e && fab_cd_search(&s, e, &o, &r, d));
  CHECK(r.nevals == 120);
  int ok = 0;
  for (int64_t i = 0; i < r.nevals; i++) ok += r.evals[i].ok;
  CHECK(ok > 60);
  int64_t *f;
  int nf = fab_cd_pareto(r.evals, r.nevals, true, &f);
  CHECK(nf > 0);
  /* no front point dominated by any evaluation */
  for (int i = 0; i < nf; i++)
    for (int64_t j = 0; j < r.nevals; j++) {
      const fab_cd_result *a = &r.evals[j], *b = &r.evals[f[i]];
      if (!a->ok || !a->fits) continue;
      CHECK(!(a->accuracy >= b->accuracy && a->latency_ms <= b->latency_ms && a->area <= b->area &&
              (a->accuracy > b->accuracy || a->latency_ms < b->latency_ms || a->area < b->area)));
    }
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(r.evals, r.nevals, &ref);
  double hv = fab_cd_hypervolume(r.evals, r.nevals, true, &ref);
  CHECK(hv > 0 && hv <= 1);
  FILE *svg = tmpfile(), *csv = tmpfile();
  CHECK(fab_cd_write_svg(r.evals, r.nevals, f, nf, "t", svg));
  CHECK(fab_cd_write_csv(&s, r.evals, r.nevals, f, nf, csv));
  CHECK(ftell(svg) > 500 && ftell(csv) > 100);
  fclose(svg);
  fclose(csv);
  free(f);
  fab_cd_search_result_free(&r);
  fab_cd_evaluator_free(e);
}

static void t_pareto_hv(void) {
  /* hand-made: three non-dominated points and one dominated */
  fab_cd_result r[4] = {0};
  double acc[4] = {1.0, 0.5, 0.0, 0.4}, lat[4] = {100, 10, 1, 20}, area[4] = {0.5, 0.5, 0.5, 0.6};
  for (int i = 0; i < 4; i++) {
    r[i].key = i, r[i].ok = r[i].fits = true;
    r[i].accuracy = acc[i], r[i].latency_ms = lat[i], r[i].area = area[i];
  }
  int64_t *f;
  int nf = fab_cd_pareto(r, 4, true, &f);
  CHECK(nf == 3);
  for (int i = 0; i < nf; i++) CHECK(f[i] != 3);
  free(f);
  fab_cd_hv_ref ref = {0, 1, 1, 100, 1};
  /* z = 0.5 for all; 2-D: x (acc) {1, .5, 0}, y = (log100 - log lat)/log100 {0, .5, 1} */
  double hv = fab_cd_hypervolume(r, 4, true, &ref);
  CHECK(fabs(hv - 0.5 * (0.5 * 0.5)) < 1e-12);
  /* a single point in the best corner fills the box */
  fab_cd_result one = {.ok = true, .fits = true, .accuracy = 1, .latency_ms = 1, .area = 0};
  CHECK(fabs(fab_cd_hypervolume(&one, 1, true, &ref) - 1) < 1e-12);
  /* constrained query */
  CHECK(fab_cd_best_constrained(r, 4, 15, true) == 1);
  CHECK(fab_cd_best_constrained(r, 4, 0.5, true) == -1);
  /* objectives: accuracy alone keeps only the most accurate point; accuracy
   * and area make point 3 (area 0.6) dominated by 0 and 1 but points 1 and 2
   * too (same area as 0, less accurate); latency and area keep 2 */
  CHECK(fab_cd_objectives_parse("accuracy,latency,area") == FAB_CD_OBJ_ALL);
  CHECK(fab_cd_objectives_parse("area,accuracy") == (FAB_CD_OBJ_ACCURACY | FAB_CD_OBJ_AREA));
  CHECK(fab_cd_objectives_parse("speed") == 0 && fab_cd_objectives_parse("") == 0);
  unsigned fit = FAB_CD_FRONT_FIT;
  nf = fab_cd_pareto(r, 4, fit | FAB_CD_OBJ_ACCURACY, &f);
  CHECK(nf == 1 && f[0] == 0);
  free(f);
  nf = fab_cd_pareto(r, 4, fit | FAB_CD_OBJ_ACCURACY | FAB_CD_OBJ_AREA, &f);
  CHECK(nf == 1 && f[0] == 0);
  free(f);
  nf = fab_cd_pareto(r, 4, fit | FAB_CD_OBJ_LATENCY | FAB_CD_OBJ_AREA, &f);
  CHECK(nf == 1 && f[0] == 2);
  free(f);
  /* two objectives: the unused one spans the box (z = 1 instead of 0.5) */
  hv = fab_cd_hypervolume(r, 4, fit | FAB_CD_OBJ_ACCURACY | FAB_CD_OBJ_LATENCY, &ref);
  CHECK(fabs(hv - 0.5 * 0.5) < 1e-12);
}

static bool run(const fab_cd_space *s, fab_cd_strategy st, int64_t budget, int threads,
                const char *log, fab_cd_search_result *r) {
  fab_cd_evaluator *e = fab_cd_evaluator_new(s, NULL, d);
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = st;
  o.budget = budget;
  o.threads = threads;
  o.seed = 5;
  o.population = 16;
  o.batch = 8;
  o.log_path = log;
  bool ok = e && fab_cd_search(s, e, &o, r, d);
  fab_cd_evaluator_free(e);
  return ok;
}

static bool same(const fab_cd_search_result *a, const fab_cd_search_result *b) {
  if (a->nevals != b->nevals) return false;
  for (int64_t i = 0; i < a->nevals; i++)
    if (a->evals[i].key != b->evals[i].key || a->evals[i].latency_ms != b->evals[i].latency_ms ||
        a->evals[i].accuracy != b->evals[i].accuracy)
      return false;
  return true;
}

static void t_search_threads(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(tiny_space, strlen(tiny_space), "tiny", &s, d));
  for (int st = FAB_CD_RANDOM; st < FAB_CD_STRATEGY_COUNT; st++) {
    fab_cd_search_result a, b;
    CHECK(run(&s, (fab_cd_strategy)st, 120, 1, NULL, &a));
    CHECK(run(&s, (fab_cd_strategy)st, 120, 3, NULL, &b));
    CHECK(same(&a, &b));
    fab_cd_search_result_free(&a);
    fab_cd_search_result_free(&b);
  }
}

static void t_search_resume(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(tiny_space, strlen(tiny_space), "tiny", &s, d));
  char log[] = "/tmp/fab_cd_logXXXXXX";
  CHECK(temp_path(log));
  unlink(log);
  fab_cd_search_result a, b, c;
  CHECK(run(&s, FAB_CD_EVOLUTION, 60, 2, log, &a)); /* "stopped" after 60 */
  CHECK(run(&s, FAB_CD_EVOLUTION, 150, 2, log, &b)); /* resumed */
  CHECK(b.resumed == 60);
  CHECK(run(&s, FAB_CD_EVOLUTION, 150, 1, NULL, &c)); /* fresh */
  /* same set of evaluations as a fresh run (resumed ones come first) */
  CHECK(b.nevals == c.nevals);
  int64_t found = 0;
  for (int64_t i = 0; i < c.nevals; i++)
    for (int64_t j = 0; j < b.nevals; j++)
      if (b.evals[j].key == c.evals[i].key) {
        found++;
        CHECK(b.evals[j].latency_ms == c.evals[i].latency_ms);
        break;
      }
  CHECK(found == c.nevals);
  /* a log of another space is refused */
  fab_cd_space s2;
  CHECK(load("fabnet-text.json", &s2));
  fab_cd_search_result x;
  CHECK(!run(&s2, FAB_CD_RANDOM, 10, 1, log, &x));
  CHECK(fab_diag_error_count(d) > 0);
  fab_diag_clear(d);
  fab_cd_search_result_free(&x);
  unlink(log);
  fab_cd_search_result_free(&a);
  fab_cd_search_result_free(&b);
  fab_cd_search_result_free(&c);
}

static void t_strategies(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(tiny_space, strlen(tiny_space), "tiny", &s, d));
  fab_cd_search_result ex;
  CHECK(run(&s, FAB_CD_EXHAUSTIVE, 0, 2, NULL, &ex));
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(ex.evals, ex.nevals, &ref);
  double hv_true = fab_cd_hypervolume(ex.evals, ex.nevals, true, &ref);
  CHECK(hv_true > 0);
  for (int st = FAB_CD_RANDOM; st < FAB_CD_STRATEGY_COUNT; st++) {
    fab_cd_search_result r;
    CHECK(run(&s, (fab_cd_strategy)st, 200, 2, NULL, &r));
    CHECK(r.nevals > 0 && r.nevals <= 200);
    double hv = fab_cd_hypervolume(r.evals, r.nevals, true, &ref);
    CHECK(hv > 0 && hv <= hv_true + 1e-12);
    fab_cd_search_result_free(&r);
  }
  fab_cd_search_result_free(&ex);
  CHECK(fab_cd_strategy_lookup("rl-phase") == FAB_CD_RL_PHASE);
  CHECK(fab_cd_strategy_lookup("annealing") == -1);
}

/* REINFORCE spends its whole budget (the entropy bonus and the uniform
 * share keep it proposing new points), or, on a space smaller than the
 * budget, evaluates every canonical point. */
static void t_rl_budget(void) {
  fab_cd_space s;
  CHECK(load("fabnet-large.json", &s));
  for (int st = FAB_CD_RL_COMBINED; st <= FAB_CD_RL_SEPARATE; st++) {
    fab_cd_search_result r;
    CHECK(run(&s, (fab_cd_strategy)st, 1500, 1, NULL, &r));
    if (r.nevals != 1500) fprintf(stderr, "%s: %lld of 1500\n", fab_cd_strategy_name(st), (long long)r.nevals);
    CHECK(r.nevals == 1500);
    fab_cd_search_result_free(&r);
  }
  CHECK(load("fabnet-text.json", &s));
  fab_cd_search_result r;
  CHECK(run(&s, FAB_CD_RL_COMBINED, 1000, 1, NULL, &r));
  CHECK(r.nevals == 120);
  fab_cd_search_result_free(&r);
}

static void t_constrained(void) {
  fab_cd_space s;
  CHECK(load("fabnet-text.json", &s));
  fab_cd_search_result r;
  CHECK(run(&s, FAB_CD_EXHAUSTIVE, 0, 1, NULL, &r));
  int64_t b = fab_cd_best_constrained(r.evals, r.nevals, s.max_latency_ms, true);
  CHECK(b >= 0);
  for (int64_t i = 0; b >= 0 && i < r.nevals; i++)
    if (r.evals[i].ok && r.evals[i].fits && r.evals[i].latency_ms <= s.max_latency_ms)
      CHECK(r.evals[i].accuracy <= r.evals[b].accuracy);
  fab_cd_search_result_free(&r);
}

static char *make_dataset(int n, bool sim) {
  fab_cd_space s;
  if (!load("latbench-cpu.json", &s)) return NULL;
  static char path[64];
  return cd_sample_file(&s, n, sim, path) ? path : NULL;
}

static void t_sample_dataset(void) {
  char *p = make_dataset(12, false);
  CHECK(p != NULL);
  if (!p) return;
  fab_pred_dataset ds;
  CHECK(fab_pred_dataset_load(p, "fpga_model_ms", &ds, d));
  CHECK(ds.n == 12);
  for (int i = 0; i < ds.n; i++) {
    CHECK(ds.s[i].g.n > 5 && ds.s[i].latency > 0 && ds.s[i].macs > 0);
    for (int j = 0; j < i; j++) CHECK(ds.s[i].key != ds.s[j].key);
  }
  fab_pred_dataset_free(&ds);
  /* no line has the target: an error */
  CHECK(!fab_pred_dataset_load(p, "cpu_ms", &ds, d));
  fab_diag_clear(d);
  unlink(p);
  /* a malformed line is reported with its number */
  FILE *f = fopen(p, "w");
  fputs("{\"fpga_model_ms\": 1, \"graph\": {\"nodes\": [[\"nonsense\", [], [], 0]], \"edges\": []}}\n", f);
  fclose(f);
  CHECK(!fab_pred_dataset_load(p, "fpga_model_ms", &ds, d));
  CHECK(fab_diag_error_count(d) == 1);
  fab_diag_clear(d);
  unlink(p);
}

static int t_sim_latency(void) {
  if (!fab_cd_have_sim()) return 77;
  fab_cd_model m = {.layers = 2, .hidden = 32, .ffn = 64, .heads = 2, .seq = 32, .vocab = 16,
                    .classes = 2, .kind = {0, 1}};
  fab_module *mod = fab_cd_model_build(&m, d);
  fab_fpga_config c;
  fab_cd_space s;
  CHECK(load("latbench-cpu.json", &s));
  fab_cd_point p;
  fab_cd_point_decode(&s, 0, &p);
  CHECK(fab_cd_point_config(&s, &p, &c, d));
  uint64_t cyc, cyc2;
  double ms, ms2;
  CHECK(mod && fab_cd_sim_latency(mod, &c, &cyc, &ms, d));
  CHECK(fab_cd_model_latency(mod, &c, &cyc2, &ms2, d));
  CHECK(cyc > 0 && cyc2 > 0);
  /* the analytical model and the simulator agree within a factor of 4 */
  CHECK(ms / ms2 < 4 && ms2 / ms < 4);
  fab_diag_print(d, stderr);
  fab_module_free(mod);
  return 0;
}

static int t_cpu_latency(void) {
  if (!fab_cd_have_cpu()) return 77;
  fab_cd_model m = {.layers = 1, .hidden = 16, .ffn = 32, .heads = 2, .seq = 16, .vocab = 16,
                    .classes = 2, .kind = {1}};
  fab_module *mod = fab_cd_model_build(&m, d);
  double med = 0, t[3];
  CHECK(mod && fab_cd_cpu_latency(mod, 1, 1, 3, &med, t, d));
  CHECK(med > 0 && t[0] > 0 && t[1] > 0 && t[2] > 0);
  fab_diag_print(d, stderr);
  fab_module_free(mod);
  return 0;
}

static void t_metrics(void) {
  double a[5] = {1, 2, 3, 4, 5}, b[5] = {1.005, 2.08, 3.2, 5, 4.4};
  CHECK(fabs(fab_pred_kendall(a, a, 5) - 1) < 1e-12);
  double rev[5] = {5, 4, 3, 2, 1};
  CHECK(fabs(fab_pred_kendall(a, rev, 5) + 1) < 1e-12);
  CHECK(fabs(fab_pred_spearman(a, rev, 5) + 1) < 1e-12);
  fab_pred_metrics m;
  fab_pred_metrics_compute(b, a, 5, &m);
  CHECK(fabs(m.within1 - 0.2) < 1e-12 && fabs(m.within5 - 0.4) < 1e-12 &&
        fabs(m.within10 - 0.6) < 1e-12);
  CHECK(fabs(m.kendall - 0.8) < 1e-12);
}

static void split(const fab_pred_dataset *ds, const fab_pred_sample ***tr, int *ntr) {
  *tr = malloc(sizeof **tr * (size_t)ds->n);
  *ntr = ds->n;
  for (int i = 0; i < ds->n; i++) (*tr)[i] = &ds->s[i];
}

/* Samples n models (analytical latency), loads them as a data set and
 * lists every sample as training data (*tr: caller frees).  false after a
 * failed CHECK. */
static bool sampled_dataset(int n, fab_pred_dataset *ds, const fab_pred_sample ***tr, int *ntr) {
  char *p = make_dataset(n, false);
  CHECK(p != NULL);
  if (!p) return false;
  bool ok = fab_pred_dataset_load(p, "fpga_model_ms", ds, d);
  CHECK(ok);
  unlink(p);
  if (!ok) return false;
  split(ds, tr, ntr);
  return true;
}

static void t_predictor_train(void) {
  fab_pred_dataset ds;
  const fab_pred_sample **tr;
  int n;
  if (!sampled_dataset(40, &ds, &tr, &n)) return;
  fab_pred_kind kinds[4] = {FAB_PRED_GCN, FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_GCN};
  for (int k = 0; k < 4; k++) {
    fab_pred_train_options o;
    fab_pred_train_options_default(&o);
    o.kind = kinds[k];
    o.sum_readout = k == 3;
    o.epochs = 150;
    o.lr = 3e-3;
    o.width = 16;
    fab_predictor *pr = fab_pred_train(tr, n, NULL, 0, &o, d);
    CHECK(pr != NULL);
    if (!pr) continue;
    double *y = malloc(sizeof(double) * (size_t)n), *t = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) y[i] = fab_pred_predict(pr, tr[i]), t[i] = tr[i]->latency;
    fab_pred_metrics m;
    fab_pred_metrics_compute(y, t, n, &m);
    /* fits its own training data with a clear rank correlation */
    CHECK(m.kendall > 0.6);
    free(y);
    free(t);
    fab_pred_free(pr);
  }
  /* too little data is an error, not a crash */
  CHECK(fab_pred_train(tr, 1, NULL, 0, NULL, d) == NULL);
  fab_diag_clear(d);
  free(tr);
  fab_pred_dataset_free(&ds);
}

static void t_predictor_file(void) {
  fab_pred_dataset ds;
  const fab_pred_sample **tr;
  int n;
  if (!sampled_dataset(10, &ds, &tr, &n)) return;
  char path[] = "/tmp/fab_cd_predXXXXXX";
  CHECK(temp_path(path));
  fab_pred_kind kinds[5] = {FAB_PRED_GCN, FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_BRP, FAB_PRED_GCN};
  for (int k = 0; k < 5; k++) {
    fab_pred_train_options o;
    fab_pred_train_options_default(&o);
    o.kind = kinds[k];
    o.sum_readout = k == 4;
    o.epochs = 5;
    o.width = 8;
    fab_predictor *a = fab_pred_train(tr, n, NULL, 0, &o, d);
    CHECK(a && fab_pred_save(a, path, d));
    fab_predictor *b = fab_pred_load(path, d);
    CHECK(b != NULL);
    if (!b) fab_diag_print(d, stderr);
    if (a && b) {
      CHECK(fab_pred_predict(a, tr[0]) == fab_pred_predict(b, tr[0]));
      CHECK(fab_pred_compare(a, tr[0], tr[1]) == fab_pred_compare(b, tr[0], tr[1]));
    }
    fab_pred_free(a);
    fab_pred_free(b);
  }
  const char *bad[] = {"", "{}", "{\"format\":\"fab-predictor\",\"version\":3,\"kind\":\"gcn\"}",
                       "{\"format\":\"fab-predictor\",\"version\":1,\"kind\":\"gcn\",\"layers\":4,"
                       "\"width\":8,\"nfeat\":3,\"theta\":[]}",
                       "{\"format\":\"fab-predictor\",\"version\":1,\"kind\":\"gcn\",\"layers\":2,"
                       "\"width\":8,\"nfeat\":" "999" ",\"theta\":[1,2]}",
                       "{\"format\":\"fab-predictor\",\"version\":1,\"kind\":\"macs\",\"a\":1}",
                       "{\"format\":\"fab-predictor\",\"version\":1,\"kind\":\"lut\",\"keys\":[\"zz\"]}"};
  for (int i = 0; i < 7; i++) {
    FILE *f = fopen(path, "w");
    fputs(bad[i], f);
    fclose(f);
    fab_diag_clear(d);
    CHECK(fab_pred_load(path, d) == NULL);
    CHECK(fab_diag_error_count(d) == 1);
  }
  /* a version 1 file (older features) is refused with a reason to retrain */
  FILE *f1 = fopen(path, "w");
  fputs("{\"format\":\"fab-predictor\",\"version\":1,\"kind\":\"macs\",\"a\":1,\"b\":2}", f1);
  fclose(f1);
  fab_diag_clear(d);
  CHECK(fab_pred_load(path, d) == NULL);
  CHECK(fab_diag_error_count(d) == 1 && strstr(fab_diag_message(d, 0), "retrain") != NULL);
  fab_diag_clear(d);
  CHECK(fab_pred_load("/nonexistent.pred", d) == NULL);
  fab_diag_clear(d);
  unlink(path);
  free(tr);
  fab_pred_dataset_free(&ds);
}

/* The residual GCN learns log(latency / analytical): a target that is the
 * analytical latency times a constant is learnt almost exactly in a few
 * epochs, a file round trip keeps the target kind, and a sample without
 * the analytical latency gives NAN (prediction) or an error (training). */
static void t_predictor_residual(void) {
  fab_pred_dataset ds;
  const fab_pred_sample **tr;
  int n;
  if (!sampled_dataset(24, &ds, &tr, &n)) return;
  for (int i = 0; i < n; i++) {
    CHECK(ds.s[i].analytical_ms > 0);
    ds.s[i].latency = 1.37 * ds.s[i].analytical_ms;
  }
  /* the analytical feature sits on the global node only */
  fab_pred_sample *s0 = &ds.s[0];
  size_t gl = (size_t)(s0->g.n - 1) * FAB_PRED_NFEAT, slot = FAB_PRED_SLOT_ANALYTICAL;
  CHECK(s0->g.x[gl + slot] > 0 && s0->g.x[slot] == 0);
  /* elements moved: a dense node reads its input (4x8) and weights (8x16)
   * and writes its output (4x16) */
  fab_pred_sample hs;
  CHECK(fab_pred_sample_make("{\"nodes\":[[\"input\",[4,8],[4,8],32],[\"dense\",[4,16],[4,8],512]],"
                             "\"edges\":[[0,1]]}", "{}", &hs, d));
  CHECK(hs.g.n == 3 && hs.g.elems[1] == 32 + 128 + 64 && hs.g.elems[0] == 64);
  CHECK(hs.analytical_ms == 0 && hs.g.x[2 * FAB_PRED_NFEAT + slot] == 0);
  fab_pred_sample_free(&hs);
  /* attention heads: written by the graph export, a feature and part of the
   * lookup-table key (2 and 4 heads cost differently at equal shapes) */
  fab_cd_model m = {.layers = 1, .hidden = 32, .ffn = 32, .heads = 4, .seq = 16, .vocab = 16,
                    .classes = 2, .kind = {1}};
  fab_module *mod = fab_cd_model_build(&m, d);
  char *gj = mod ? fab_pred_graph_json(mod, d) : NULL;
  CHECK(gj && strstr(gj, "[\"mha\",[16,32],[16,32],16384.0,4]") != NULL);
  free(gj);
  fab_module_free(mod);
  fab_pred_sample h2, h4;
  CHECK(fab_pred_sample_make("{\"nodes\":[[\"mha\",[4,8],[4,8],256,2]],\"edges\":[]}", "{}", &h2, d));
  CHECK(fab_pred_sample_make("{\"nodes\":[[\"mha\",[4,8],[4,8],256,4]],\"edges\":[]}", "{}", &h4, d));
  size_t hslot = FAB_PRED_NOPS + 1 + 6;
  /* op slots are a fixed list of names, not the opcode order */
  CHECK(fab_pred_op_slot(fab_opcode_lookup("input")) == 0);
  CHECK(fab_pred_op_slot(fab_opcode_lookup("add.layernorm")) == FAB_PRED_NOPS - 1);
  CHECK(fab_pred_op_slot(-1) == -1 && fab_pred_op_slot(FAB_OP_COUNT) == -1);
  CHECK(h2.g.x[hslot] == 0.25f && h4.g.x[hslot] == 0.5f && h2.g.key[0] != h4.g.key[0]);
  fab_pred_sample_free(&h2);
  fab_pred_sample_free(&h4);
  fab_pred_train_options o;
  fab_pred_train_options_default(&o);
  o.residual = true;
  o.epochs = 30;
  o.width = 8;
  o.lr = 3e-3;
  o.dropout = 0;
  fab_predictor *pr = fab_pred_train(tr, n, NULL, 0, &o, d);
  CHECK(pr != NULL && fab_pred_needs_analytical(pr));
  char path[] = "/tmp/fab_cd_resXXXXXX";
  CHECK(temp_path(path));
  if (pr) {
    double worst = 0;
    for (int i = 0; i < n; i++) worst = fmax(worst, fabs(fab_pred_predict(pr, tr[i]) / tr[i]->latency - 1));
    if (!(worst < 0.02)) fprintf(stderr, "residual GCN worst error %.4f\n", worst);
    CHECK(worst < 0.02);
    CHECK(fab_pred_save(pr, path, d));
    fab_predictor *b = fab_pred_load(path, d);
    CHECK(b && fab_pred_needs_analytical(b) && fab_pred_predict(b, tr[1]) == fab_pred_predict(pr, tr[1]));
    fab_pred_free(b);
    double keep = ds.s[2].analytical_ms;
    fab_pred_sample_set_analytical(&ds.s[2], 0);
    CHECK(isnan(fab_pred_predict(pr, tr[2])));
    /* training with a sample that lacks it is an error naming the sample */
    fab_diag_clear(d);
    CHECK(fab_pred_train(tr, n, NULL, 0, &o, d) == NULL);
    CHECK(fab_diag_error_count(d) == 1 && strstr(fab_diag_message(d, 0), "sample 2") != NULL);
    fab_diag_clear(d);
    fab_pred_sample_set_analytical(&ds.s[2], keep);
  }
  /* a plain GCN does not need it */
  o.residual = false;
  o.epochs = 2;
  fab_predictor *plain = fab_pred_train(tr, n, NULL, 0, &o, d);
  CHECK(plain && !fab_pred_needs_analytical(plain));
  fab_pred_free(plain);
  fab_pred_free(pr);
  unlink(path);
  free(tr);
  fab_pred_dataset_free(&ds);
}

static void t_brp_rank(void) {
  fab_pred_dataset ds;
  const fab_pred_sample **tr;
  int n;
  if (!sampled_dataset(30, &ds, &tr, &n)) return;
  fab_pred_train_options o;
  fab_pred_train_options_default(&o);
  o.kind = FAB_PRED_BRP;
  o.epochs = 120;
  o.lr = 5e-3;
  o.width = 16;
  fab_predictor *pr = fab_pred_train(tr, n, NULL, 0, &o, d);
  CHECK(pr != NULL);
  if (pr) {
    double *sc = malloc(sizeof(double) * (size_t)n), *t = malloc(sizeof(double) * (size_t)n);
    fab_pred_rank_scores(pr, tr, n, sc);
    for (int i = 0; i < n; i++) t[i] = tr[i]->latency;
    double tau = fab_pred_kendall(sc, t, n);
    if (!(tau > 0.5)) fprintf(stderr, "BRP training tau %.3f\n", tau);
    CHECK(tau > 0.5);
    double pab = fab_pred_compare(pr, tr[0], tr[1]), pba = fab_pred_compare(pr, tr[1], tr[0]);
    CHECK(fabs(pab + pba - 1) < 1e-9); /* antisymmetric by construction */
    free(sc);
    free(t);
  }
  fab_pred_free(pr);
  /* iterative selection needs a large enough pool */
  fab_pred_select_options so = {5, 20, false, o, NULL};
  int chosen[100];
  CHECK(fab_pred_select(tr, n, &so, chosen, d) == NULL);
  fab_diag_clear(d);
  free(tr);
  fab_pred_dataset_free(&ds);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  d = fab_diag_new();
  const char *t = argv[2];
  int rc = 0;
  if (!strcmp(t, "space_parse")) t_space_parse();
  else if (!strcmp(t, "space_errors")) t_space_errors();
  else if (!strcmp(t, "point_roundtrip")) t_point_roundtrip();
  else if (!strcmp(t, "model_build")) t_model_build();
  else if (!strcmp(t, "exhaustive_text")) t_exhaustive_text();
  else if (!strcmp(t, "pareto_hv")) t_pareto_hv();
  else if (!strcmp(t, "search_threads")) t_search_threads();
  else if (!strcmp(t, "search_resume")) t_search_resume();
  else if (!strcmp(t, "strategies")) t_strategies();
  else if (!strcmp(t, "constrained")) t_constrained();
  else if (!strcmp(t, "rl_budget")) t_rl_budget();
  else if (!strcmp(t, "sample_dataset")) t_sample_dataset();
  else if (!strcmp(t, "sim_latency")) rc = t_sim_latency();
  else if (!strcmp(t, "cpu_latency")) rc = t_cpu_latency();
  else if (!strcmp(t, "metrics")) t_metrics();
  else if (!strcmp(t, "predictor_train")) t_predictor_train();
  else if (!strcmp(t, "predictor_file")) t_predictor_file();
  else if (!strcmp(t, "brp_rank")) t_brp_rank();
  else if (!strcmp(t, "predictor_residual")) t_predictor_residual();
  else {
    fprintf(stderr, "unknown test %s\n", t);
    rc = 2;
  }
  fab_diag_free(d);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  return fails ? 1 : rc;
}
