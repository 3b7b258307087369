/* tool.c — fab-codesign, the experiment driver over fab_codesign and
 * fab_predict (the fabc subcommands sample / predictor / codesign call the
 * same library functions).  Under mpirun, `search` and `study` shard
 * their evaluations over the ranks (results identical to one process).
 *
 *   fab-codesign sample SPACE -n N -o OUT.jsonl [--no-sim] [--cpu] [--seed S]
 *   fab-codesign predictor DATA.jsonl [--target T] [--train N] [--holdout-hidden H]
 *                          [--epochs E] [--width W] [--layers L] [--wd WD] [--residual]
 *                          [--shuffle S] [--save FILE] [--select]
 *   fab-codesign search SPACE [--strategy S] [--budget N] [--seed S] [--threads T]
 *                       [--log FILE] [--csv FILE] [--svg FILE] [--max-latency MS]
 *   fab-codesign study SPACE [--frac F] [--seeds K] [--out DIR] [--threads T]
 *   fab-codesign accuracy SPACE [--max-models N]          (tool_acc.c)
 * search and study take --accuracy auto|trained|proxy|standin, --acc-cache F.
 */
#include <math.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codesign.h"
#include "predict.h"
#include "tool.h"
#ifdef FAB_CD_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;

static const char *arg(int argc, char **argv, const char *name, const char *dflt) {
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return argv[i + 1];
  return dflt;
}
static bool flag(int argc, char **argv, const char *name) {
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], name)) return true;
  return false;
}

/* Progress through the shared printer (explore/codesign/progress.c); MPI
 * ranks other than 0 stay quiet.  Output that follows a search or a
 * training phase first closes its line (progress_end). */
static fab_cd_progress_line g_line;
static void progress(const fab_cd_progress *p, void *user) {
  (void)user;
  g_line.quiet = g_rank != 0;
  fab_cd_progress_stderr(p, &g_line);
}
static void progress_end(void) { fab_cd_progress_end(&g_line); }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- MPI exchange: each rank fills its own results, a sum-allreduce
 * gives every rank all of them. */
#define NF 12
static bool exchange(fab_cd_result *r, int n, void *user) {
  (void)user;
#ifdef FAB_CD_HAVE_MPI
  double *buf = calloc((size_t)n * NF, sizeof(double));
  if (!buf) return false;
  for (int i = 0; i < n; i++) {
    double *b = buf + (size_t)i * NF;
    b[0] = (double)r[i].key, b[1] = r[i].ok, b[2] = r[i].accuracy, b[3] = r[i].latency_ms;
    b[4] = r[i].area, b[5] = r[i].dsp, b[6] = r[i].lut, b[7] = r[i].bram, b[8] = r[i].fits;
    b[9] = r[i].perf_per_area, b[10] = r[i].params, b[11] = r[i].macs;
  }
  bool ok = MPI_Allreduce(MPI_IN_PLACE, buf, n * NF, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) ==
            MPI_SUCCESS;
  for (int i = 0; i < n && ok; i++) {
    double *b = buf + (size_t)i * NF;
    r[i].ok = b[1] != 0, r[i].accuracy = b[2], r[i].latency_ms = b[3], r[i].area = b[4];
    r[i].dsp = b[5], r[i].lut = b[6], r[i].bram = b[7], r[i].fits = b[8] != 0;
    r[i].perf_per_area = b[9], r[i].params = b[10], r[i].macs = b[11];
  }
  free(buf);
  return ok;
#else
  (void)r, (void)n;
  return false;
#endif
}

static int cmd_sample(int argc, char **argv, fab_diag *d) {
  fab_cd_space s;
  if (argc < 1 || !fab_cd_space_load(argv[0], &s, d)) return 1;
  fab_cd_sample_options o;
  fab_cd_sample_options_default(&o);
  o.count = (int)tool_int(argc, argv, "-n", "100", INT_MIN, INT_MAX);
  o.seed = (uint64_t)tool_int(argc, argv, "--seed", "1", 0, INT64_MAX);
  o.fpga_sim = !flag(argc, argv, "--no-sim");
  o.cpu = flag(argc, argv, "--cpu");
  o.cpu_second_pass = flag(argc, argv, "--cpu-twice");
  o.cpu_repeats = (int)tool_int(argc, argv, "--repeats", "7", INT_MIN, INT_MAX);
  o.progress = progress;
  const char *path = arg(argc, argv, "-o", NULL);
  FILE *f = path ? fopen(path, "w") : stdout;
  if (!f) {
    fab_error(d, (fab_loc){0}, "cannot write '%s'", path);
    return 1;
  }
  double t0 = now_s();
  bool ok = fab_cd_sample(&s, &o, f, d);
  progress_end();
  if (path) fclose(f);
  fprintf(stderr, "sampled %d models in %.1f s\n", o.count, now_s() - t0);
  return ok ? 0 : 1;
}

static void print_metrics(const char *name, const fab_pred_metrics *m) {
  printf("%-22s n=%-4d  +-1%% %5.1f%%  +-5%% %5.1f%%  +-10%% %5.1f%%  MAPE %6.2f%%  tau %.3f  rho %.3f\n",
         name, m->n, 100 * m->within1, 100 * m->within5, 100 * m->within10, 100 * m->mape,
         m->kendall, m->spearman);
}

static void eval_pred(const char *name, const fab_predictor *p, const fab_pred_sample *const *t, int n) {
  double *pr = malloc(sizeof(double) * (size_t)n), *tr = malloc(sizeof(double) * (size_t)n);
  if (!pr || !tr) goto out;
  fab_pred_rank_scores(p, t, n, pr);
  for (int i = 0; i < n; i++) tr[i] = t[i]->latency;
  fab_pred_metrics m;
  fab_pred_metrics_compute(pr, tr, n, &m);
  if (fab_pred_get_kind(p) == FAB_PRED_BRP)
    printf("%-22s n=%-4d  (ranking only)                                      tau %.3f  rho %.3f\n",
           name, n, m.kendall, m.spearman);
  else print_metrics(name, &m);
out:
  free(pr);
  free(tr);
}

/* The analytical model as a predictor of the target: as it is, and
 * calibrated by a least-squares fit log t = a + b log analytical on the
 * training models (what the residual GCN must beat). */
static void eval_analytical(const fab_pred_sample *const *tr, int ntr, const fab_pred_sample *const *t,
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
    fab_pred_metrics mm;
    fab_pred_metrics_compute(raw, tv, k, &mm);
    print_metrics("analytical model", &mm);
    fab_pred_metrics_compute(cal, tv, k, &mm);
    print_metrics("analytical, calibrated", &mm);
  }
  free(raw);
  free(cal);
  free(tv);
}

static void epoch_progress(const fab_pred_progress *p, void *user) {
  (void)user;
  if (p->epoch % 50 == 0)
    fprintf(stderr, "  epoch %d train %.4f valid %.4f\n", p->epoch, p->train_loss, p->valid_loss);
}

static int cmd_predictor(int argc, char **argv, fab_diag *d) {
  if (argc < 1) return 1;
  const char *target = arg(argc, argv, "--target", "fpga_sim_ms");
  fab_pred_dataset ds;
  if (!fab_pred_dataset_load(argv[0], target, &ds, d)) return 1;
  int holdout = (int)tool_int(argc, argv, "--holdout-hidden", "0", INT_MIN, INT_MAX);
  int ntrain = (int)tool_int(argc, argv, "--train", "0", INT_MIN, INT_MAX);
  const fab_pred_sample **tr = malloc(sizeof *tr * (size_t)ds.n), **va = malloc(sizeof *va * (size_t)ds.n),
                        **te = malloc(sizeof *te * (size_t)ds.n), **fam = malloc(sizeof *fam * (size_t)ds.n);
  int ntr = 0, nva = 0, nte = 0, nfam = 0;
  /* --shuffle S: another random split (the lines are in draw order, so
   * the default split is already random; S > 0 draws a different one) */
  uint64_t sh = (uint64_t)tool_int(argc, argv, "--shuffle", "0", 0, INT64_MAX);
  for (int i = ds.n - 1; sh && i > 0; i--) {
    sh ^= sh << 13, sh ^= sh >> 7, sh ^= sh << 17;
    int j = (int)(sh % (uint64_t)(i + 1));
    fab_pred_sample t = ds.s[i];
    ds.s[i] = ds.s[j], ds.s[j] = t;
  }
  /* split: held-out family first; of the rest 80% train, 10% valid, 10% test */
  int rest = 0;
  for (int i = 0; i < ds.n; i++) rest += !(holdout && ds.s[i].hidden >= holdout);
  if (ntrain <= 0 || ntrain > rest * 8 / 10) ntrain = rest * 8 / 10;
  int nvalid = (rest - ntrain) / 2;
  for (int i = 0; i < ds.n; i++) {
    const fab_pred_sample *s = &ds.s[i];
    if (holdout && s->hidden >= holdout) fam[nfam++] = s;
    else if (ntr < ntrain) tr[ntr++] = s;
    else if (nva < nvalid) va[nva++] = s;
    else te[nte++] = s;
  }
  printf("data %s target %s: %d train, %d valid, %d test, %d held-out family (hidden >= %d)\n",
         argv[0], target, ntr, nva, nte, nfam, holdout);
  /* repeat-measurement noise of the target itself (CPU) */
  int nrep = 0;
  double *a = malloc(sizeof(double) * (size_t)ds.n), *b = malloc(sizeof(double) * (size_t)ds.n);
  for (int i = 0; i < nte; i++)
    if (te[i]->latency2 > 0) a[nrep] = te[i]->latency, b[nrep++] = te[i]->latency2;
  if (nrep > 1) {
    fab_pred_metrics m;
    fab_pred_metrics_compute(b, a, nrep, &m);
    print_metrics("repeat measurement", &m);
  }
  free(a);
  free(b);
  fab_pred_train_options o;
  fab_pred_train_options_default(&o);
  o.epochs = (int)tool_int(argc, argv, "--epochs", "400", INT_MIN, INT_MAX);
  o.width = (int)tool_int(argc, argv, "--width", "32", INT_MIN, INT_MAX);
  o.seed = (uint64_t)tool_int(argc, argv, "--seed", "1", 0, INT64_MAX);
  o.patience = (int)tool_int(argc, argv, "--patience", "40", INT_MIN, INT_MAX);
  o.lr = atof(arg(argc, argv, "--lr", "4e-4"));
  o.dropout = atof(arg(argc, argv, "--dropout", "0.05"));
  o.sum_readout = flag(argc, argv, "--sum-readout");
  o.residual = flag(argc, argv, "--residual");
  o.layers = (int)tool_int(argc, argv, "--layers", "4", INT_MIN, INT_MAX);
  o.weight_decay = atof(arg(argc, argv, "--wd", "5e-4"));
  eval_analytical(tr, ntr, te, nte);
  if (nfam) eval_analytical(tr, ntr, fam, nfam);
  o.progress = flag(argc, argv, "-v") ? epoch_progress : NULL;
  const char *names[] = {"GCN", "MACs linear fit", "per-op lookup table", "BRP (binary relation)"};
  fab_pred_kind kinds[] = {FAB_PRED_GCN, FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_BRP};
  int nk = flag(argc, argv, "--select-only") ? 0 : (flag(argc, argv, "--no-brp") ? 3 : 4);
  int rc = 0;
  int brp_epochs = (int)tool_int(argc, argv, "--brp-epochs", "0", INT_MIN, INT_MAX);
  for (int k = 0; k < nk; k++) {
    o.kind = kinds[k];
    if (o.kind == FAB_PRED_BRP && brp_epochs > 0) o.epochs = brp_epochs;
    double t0 = now_s();
    fab_predictor *p = fab_pred_train(tr, ntr, va, nva, &o, d);
    if (!p) {
      rc = 1;
      continue;
    }
    double tt = now_s() - t0;
    char nm[64];
    snprintf(nm, sizeof nm, "%s (test)", names[k]);
    eval_pred(nm, p, te, nte);
    if (nfam) {
      snprintf(nm, sizeof nm, "%s (family)", names[k]);
      eval_pred(nm, p, fam, nfam);
    }
    printf("  trained in %.1f s\n", tt);
    const char *save = arg(argc, argv, "--save", NULL);
    if (save && k == 0 && !fab_pred_save(p, save, d)) rc = 1;
    fab_pred_free(p);
  }
  if (flag(argc, argv, "--select") || flag(argc, argv, "--select-only")) {
    /* iterative data selection: 100 measured models in 5 rounds of 20 */
    fab_pred_select_options so = {5, 20, o};
    so.train.kind = FAB_PRED_GCN;
    int chosen[100];
    fab_predictor *p = fab_pred_select(tr, ntr, &so, chosen, d);
    if (p) {
      double best = INFINITY, best_rand = INFINITY;
      for (int i = 0; i < 100; i++) best = fmin(best, tr[chosen[i]]->latency);
      for (int i = 0; i < 100 && i < ntr; i++) best_rand = fmin(best_rand, tr[i]->latency);
      double pool_best = INFINITY;
      for (int i = 0; i < ntr; i++) pool_best = fmin(pool_best, tr[i]->latency);
      printf("selection: fastest of 100 chosen %.4g ms (random 100: %.4g ms; pool best %.4g ms)\n",
             best, best_rand, pool_best);
      eval_pred("GCN, 100 selected", p, te, nte);
      fab_pred_free(p);
    } else rc = 1;
  }
  free(tr);
  free(va);
  free(te);
  free(fam);
  fab_pred_dataset_free(&ds);
  return rc;
}

static void setup_shards(fab_cd_search_options *o) {
  o->shard = g_rank;
  o->nshards = g_size;
  o->exchange = exchange;
}

static bool write_outputs(const fab_cd_space *s, const fab_cd_search_result *r, const char *csv,
                          const char *svg, const char *title) {
  int64_t *front;
  int nf = fab_cd_pareto(r->evals, r->nevals, fab_cd_front_of(s), &front);
  bool ok = true;
  if (csv) {
    FILE *f = fopen(csv, "w");
    ok = f && fab_cd_write_csv(s, r->evals, r->nevals, front, nf, f);
    if (f) fclose(f);
  }
  if (svg && ok) {
    FILE *f = fopen(svg, "w");
    ok = f && fab_cd_write_svg(r->evals, r->nevals, front, nf, title, f);
    if (f) fclose(f);
  }
  free(front);
  return ok;
}

static int cmd_search(int argc, char **argv, fab_diag *d) {
  fab_cd_space s;
  if (argc < 1 || !fab_cd_space_load(argv[0], &s, d)) return 1;
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  int st = fab_cd_strategy_lookup(arg(argc, argv, "--strategy", "evolution"));
  if (st < 0) {
    fab_error(d, (fab_loc){0}, "unknown strategy (exhaustive, random, evolution, rl-combined, "
              "rl-phase, rl-separate)");
    return 1;
  }
  o.strategy = (fab_cd_strategy)st;
  o.budget = tool_int(argc, argv, "--budget", "1000", INT64_MIN, INT64_MAX);
  o.seed = (uint64_t)tool_int(argc, argv, "--seed", "1", 0, INT64_MAX);
  o.threads = (int)tool_int(argc, argv, "--threads", "0", INT_MIN, INT_MAX);
  o.log_path = arg(argc, argv, "--log", NULL);
  o.progress = progress;
  if (g_size > 1) setup_shards(&o);
  fab_cd_eval_options eo;
  if (!tool_eval_options(argc, argv, &eo, progress, d)) return 1;
  if (flag(argc, argv, "--sim")) eo.latency = FAB_CD_LAT_SIM;
  fab_cd_evaluator *e = fab_cd_evaluator_new(&s, &eo, d);
  if (!e) return 1;
  fab_cd_search_result r;
  bool ok = fab_cd_search(&s, e, &o, &r, d);
  progress_end();
  if (ok && g_rank == 0) {
    fab_cd_hv_ref ref;
    fab_cd_hv_ref_from(r.evals, r.nevals, &ref);
    int64_t *front;
    int nf = fab_cd_pareto(r.evals, r.nevals, fab_cd_front_of(&s), &front);
    free(front);
    double lim = atof(arg(argc, argv, "--max-latency", "0"));
    if (lim <= 0) lim = s.max_latency_ms;
    int64_t best = fab_cd_best_constrained(r.evals, r.nevals, lim, s.require_fit);
    printf("%s: %lld evaluations (%lld from the log) in %.2f s, Pareto front %d points, "
           "hypervolume %.4f (own box)\n", fab_cd_strategy_name(o.strategy), (long long)r.nevals,
           (long long)r.resumed, r.seconds, nf, fab_cd_hypervolume(r.evals, r.nevals, fab_cd_front_of(&s), &ref));
    if (best >= 0) {
      fab_cd_point p;
      char buf[512];
      fab_cd_point_decode(&s, r.evals[best].key, &p);
      printf("best accuracy under %.3g ms%s: %.4f at %.4g ms, area %.3f: %s\n", lim,
             s.require_fit ? " on the device" : "", r.evals[best].accuracy, r.evals[best].latency_ms,
             r.evals[best].area, fab_cd_point_str(&s, &p, buf, sizeof buf));
    }
    /* checksum of the evaluations: equal across thread counts and shards */
    double sum = 0;
    for (int64_t i = 0; i < r.nevals; i++)
      sum += (double)r.evals[i].key * 1e-6 + r.evals[i].latency_ms + r.evals[i].accuracy;
    printf("checksum %.10g\n", sum);
    tool_print_acc_stats(e);
    ok = write_outputs(&s, &r, arg(argc, argv, "--csv", NULL), arg(argc, argv, "--svg", NULL),
                       s.name);
  }
  fab_cd_search_result_free(&r);
  fab_cd_evaluator_free(e);
  return ok ? 0 : 1;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Codesign against the sequential flow, from the exhaustive results.
 * Sequential: on a reference accelerator A, take the most accurate model
 * under the latency limit, then give that model its best accelerator by
 * performance per area.  Codesign: the best performance per area among
 * all pairs at least as accurate, under the same limits.  Every fitting
 * accelerator serves once as A; the gain is reported over all of them. */
static void compare_sequential(const fab_cd_space *s, const fab_cd_search_result *ex) {
  int64_t nm = s->nmodels, na = s->naccels, size = fab_cd_space_size(s);
  double lim = s->max_latency_ms > 0 ? s->max_latency_ms : INFINITY;
  int32_t *at = malloc(sizeof(int32_t) * (size_t)size);
  double *best_ppa = malloc(sizeof(double) * (size_t)nm), *acc = malloc(sizeof(double) * (size_t)nm);
  double *gain = malloc(sizeof(double) * (size_t)na);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)nm);
  double *sufmax = malloc(sizeof(double) * (size_t)(nm + 1));
  if (!at || !best_ppa || !acc || !gain || !order || !sufmax) goto out;
  for (int64_t k = 0; k < size; k++) at[k] = -1;
  for (int64_t m = 0; m < nm; m++) best_ppa[m] = -1, acc[m] = -INFINITY;
  for (int64_t i = 0; i < ex->nevals; i++) {
    const fab_cd_result *r = &ex->evals[i];
    at[r->key] = (int32_t)i;
    int64_t m = fab_cd_model_index(s, r->key);
    if (r->ok) acc[m] = r->accuracy;
    if (r->ok && (!s->require_fit || r->fits) && r->latency_ms <= lim && r->perf_per_area > best_ppa[m])
      best_ppa[m] = r->perf_per_area;
  }
  /* models by accuracy, with the suffix maximum of their best perf/area */
  int64_t no = 0;
  for (int64_t m = 0; m < nm; m++)
    if (acc[m] > -INFINITY) order[no++] = m;
  for (int64_t i = 1; i < no; i++) /* insertion sort by accuracy (a few thousand models) */
    for (int64_t j = i; j > 0 && acc[order[j - 1]] > acc[order[j]]; j--) {
      int64_t t = order[j];
      order[j] = order[j - 1], order[j - 1] = t;
    }
  sufmax[no] = -1;
  for (int64_t i = no - 1; i >= 0; i--) sufmax[i] = fmax(sufmax[i + 1], best_ppa[order[i]]);
  int ng = 0, npos = 0;
  double mid_gain = NAN, gsum = 0;
  int64_t mid = 0;
  for (int k = s->nmodel_knobs; k < s->nknobs; k++) mid = mid * s->knobs[k].nvals + s->knobs[k].nvals / 2;
  for (int64_t a = 0; a < na; a++) {
    int64_t pick = -1;
    for (int64_t m = 0; m < nm; m++) {
      int32_t i = at[m * na + a];
      if (i < 0) continue;
      const fab_cd_result *r = &ex->evals[i];
      if (!r->ok || (s->require_fit && !r->fits) || r->latency_ms > lim) continue;
      if (pick < 0 || r->accuracy > acc[pick]) pick = m;
    }
    if (pick < 0 || best_ppa[pick] <= 0) continue;
    int64_t lo = 0, hi = no; /* first model with accuracy >= acc[pick] */
    while (lo < hi) {
      int64_t md = (lo + hi) / 2;
      if (acc[order[md]] < acc[pick]) lo = md + 1;
      else hi = md;
    }
    gain[ng] = sufmax[lo] / best_ppa[pick] - 1;
    gsum += gain[ng], npos += gain[ng] > 1e-9;
    ng++;
    if (a == mid) mid_gain = sufmax[lo] / best_ppa[pick] - 1;
  }
  if (ng) {
    qsort(gain, (size_t)ng, sizeof(double), cmp_dbl);
    printf("codesign vs sequential flow (perf/area at >= the sequential model's accuracy, latency <= "
           "%.3g ms, fitting): over %d reference accelerators gain min %+.1f%%, median %+.1f%%, "
           "max %+.1f%%, mean %+.1f%%, > 0 for %d", lim, ng, 100 * gain[0], 100 * gain[ng / 2],
           100 * gain[ng - 1], 100 * gsum / ng, npos);
    if (!isnan(mid_gain)) printf("; mid-range reference %+.1f%%", 100 * mid_gain);
    printf("\n");
  }
out:
  free(at);
  free(best_ppa);
  free(acc);
  free(gain);
  free(order);
  free(sufmax);
}

/* Hypervolume (fraction of the exhaustive front's) against evaluations:
 * one line per strategy (mean over seeds), from the trace CSV rows. */
typedef struct hvline {
  const char *name;
  int n;
  double x[64], y[64];
} hvline;

static void write_hv_svg(const char *path, const hvline *l, int nl, int64_t budget) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  const double W = 720, H = 440, L = 70, R = 170, T = 40, B = 55;
  const char *col[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
             "fill=\"white\"/>\n<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
             "hypervolume reached vs evaluations (1.0 = exhaustive front)</text>\n",
          W, H, (L + W - R) / 2);
#define PX(v) (L + (v) / (double)budget * (W - L - R))
#define PY(v) (H - B - (v) * (H - T - B))
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
  fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
  for (int k = 0; k <= 5; k++) {
    double v = k / 5.0;
    fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>"
               "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n",
            L - 6, PY(v) + 4, v, L, PY(v), W - R, PY(v));
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%lld</text>\n", PX(budget * v),
            H - B + 16, (long long)(budget * v));
  }
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">evaluations</text>\n", (L + W - R) / 2, H - 15);
  fprintf(f, "<text x=\"16\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.0f)\">"
             "hypervolume / exhaustive</text>\n", (T + H - B) / 2, (T + H - B) / 2);
  for (int i = 0; i < nl; i++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col[i % 6]);
    for (int k = 0; k < l[i].n; k++) fprintf(f, "%.1f,%.1f ", PX(l[i].x[k]), PY(l[i].y[k]));
    fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n", W - R + 10, T + 20.0 * i + 10,
            col[i % 6], l[i].name);
  }
#undef PX
#undef PY
  fprintf(f, "</svg>\n");
  fclose(f);
}

/* The docs/codesign.md study: the exhaustive front, every strategy at a
 * budget of `frac` of the space (several seeds), the hypervolume trace,
 * the recovered fraction of the true front, codesign against the
 * sequential flow. */
static int cmd_study(int argc, char **argv, fab_diag *d) {
  fab_cd_space s;
  if (argc < 1 || !fab_cd_space_load(argv[0], &s, d)) return 1;
  const char *dir = arg(argc, argv, "--out", ".");
  double frac = atof(arg(argc, argv, "--frac", "0.01"));
  int seeds = (int)tool_int(argc, argv, "--seeds", "3", INT_MIN, INT_MAX);
  int threads = (int)tool_int(argc, argv, "--threads", "0", INT_MIN, INT_MAX);
  fab_cd_eval_options eo;
  if (!tool_eval_options(argc, argv, &eo, progress, d)) return 1;
  fab_cd_evaluator *e = fab_cd_evaluator_new(&s, &eo, d);
  if (!e) return 1;
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = FAB_CD_EXHAUSTIVE;
  o.threads = threads;
  if (g_size > 1) setup_shards(&o);
  fab_cd_search_result ex;
  bool exhausted = fab_cd_search(&s, e, &o, &ex, d);
  progress_end();
  if (!exhausted) return 1;
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(ex.evals, ex.nevals, &ref);
  int64_t *tf;
  int ntf = fab_cd_pareto(ex.evals, ex.nevals, fab_cd_front_of(&s), &tf);
  double hv_true = fab_cd_hypervolume(ex.evals, ex.nevals, fab_cd_front_of(&s), &ref);
  int64_t valid = 0;
  for (int64_t i = 0; i < ex.nevals; i++) valid += ex.evals[i].ok;
  if (g_rank == 0)
    printf("space %s: %lld points (%lld canonical, %lld valid pairs), %lld models x %lld "
           "accelerators; exhaustive in %.1f s; true front %d points, hypervolume %.4f\n",
           s.name, (long long)fab_cd_space_size(&s), (long long)ex.nevals, (long long)valid,
           (long long)s.nmodels, (long long)s.naccels, ex.seconds, ntf, hv_true);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s-exhaustive.csv", dir, s.name);
  if (g_rank == 0) write_outputs(&s, &ex, path, NULL, NULL);
  snprintf(path, sizeof path, "%s/%s-exhaustive.svg", dir, s.name);
  if (g_rank == 0) write_outputs(&s, &ex, NULL, path, "exhaustive: accuracy vs latency");

  /* a set of the true front's keys for recovery */
  int64_t budget = (int64_t)(frac * (double)ex.nevals);
  if (budget < 64) budget = 64;
  snprintf(path, sizeof path, "%s/%s-trace.csv", dir, s.name);
  FILE *tr = g_rank == 0 ? fopen(path, "w") : NULL;
  if (tr) fprintf(tr, "strategy,seed,evaluations,hypervolume_ratio\n");
  if (g_rank == 0)
    printf("budget %lld evaluations (%.2f%% of the canonical points), %d seeds\n", (long long)budget,
           100.0 * budget / ex.nevals, seeds);
  hvline lines[FAB_CD_STRATEGY_COUNT];
  int nlines = 0;
  for (int st = FAB_CD_RANDOM; st < FAB_CD_STRATEGY_COUNT; st++) {
    double hv_sum = 0, rec_sum = 0, t_sum = 0;
    hvline *ln = &lines[nlines++];
    memset(ln, 0, sizeof *ln);
    ln->name = fab_cd_strategy_name((fab_cd_strategy)st);
    for (int sd = 1; sd <= seeds; sd++) {
      fab_cd_search_options so = o;
      so.strategy = (fab_cd_strategy)st;
      so.budget = budget;
      so.seed = (uint64_t)sd;
      so.trace_every = budget / 20 > 0 ? budget / 20 : 1;
      so.hv_ref = &ref;
      fab_cd_search_result r;
      bool searched = fab_cd_search(&s, e, &so, &r, d);
      progress_end();
      if (!searched) return 1;
      double hv = fab_cd_hypervolume(r.evals, r.nevals, fab_cd_front_of(&s), &ref);
      int64_t *f;
      int nf = fab_cd_pareto(r.evals, r.nevals, fab_cd_front_of(&s), &f);
      int rec = 0;
      for (int i = 0; i < nf; i++)
        for (int j = 0; j < ntf; j++)
          if (r.evals[f[i]].key == ex.evals[tf[j]].key) {
            rec++;
            break;
          }
      free(f);
      hv_sum += hv / hv_true;
      rec_sum += (double)rec / ntf;
      t_sum += r.seconds;
      for (int k = 0; tr && k < r.ntrace; k++)
        fprintf(tr, "%s,%d,%lld,%.6f\n", fab_cd_strategy_name(so.strategy), sd,
                (long long)r.trace_n[k], r.trace_hv[k] / hv_true);
      for (int k = 0; k < r.ntrace && k < 64; k++) {
        ln->x[k] = (double)r.trace_n[k];
        ln->y[k] += r.trace_hv[k] / hv_true / seeds;
        if (k + 1 > ln->n) ln->n = k + 1;
      }
      fab_cd_search_result_free(&r);
    }
    if (g_rank == 0)
      printf("%-12s hypervolume %.4f of the true front's, true Pareto points recovered %.1f%% "
             "(mean of %d seeds, %.2f s per run)\n", fab_cd_strategy_name((fab_cd_strategy)st),
             hv_sum / seeds, 100 * rec_sum / seeds, seeds, t_sum / seeds);
  }
  if (tr) fclose(tr);
  snprintf(path, sizeof path, "%s/%s-hv.svg", dir, s.name);
  if (g_rank == 0) write_hv_svg(path, lines, nlines, budget);

  if (g_rank == 0) compare_sequential(&s, &ex);
  if (g_rank == 0) tool_print_acc_stats(e);
  free(tf);
  fab_cd_search_result_free(&ex);
  fab_cd_evaluator_free(e);
  return 0;
}

/* ---- predictor-driven against measurement-driven search ----------------------- */

static double predict_point(const fab_cd_space *s, const fab_cd_point *p, void *user) {
  const fab_predictor *pr = user;
  fab_cd_model m;
  fab_fpga_config c;
  fab_cd_point_model(s, p, &m);
  fab_diag *d = fab_diag_new();
  double ms = -1;
  fab_module *mod = fab_cd_point_config(s, p, &c, d) ? fab_cd_model_build(&m, d) : NULL;
  char *g = mod ? fab_pred_graph_json(mod, d) : NULL;
  char a[512];
  snprintf(a, sizeof a, "{\"p_be\":%d,\"p_bu\":%d,\"bw_in\":%d,\"bw_coef\":%d,\"clock_mhz\":%g,"
           "\"fp16\":%d,\"att_mults\":%d,\"ppu_lanes\":%d}", c.p_be, c.p_bu, c.bw_in, c.bw_coef,
           c.clock_mhz, c.fp16, c.att_mults, c.ppu_lanes);
  fab_pred_sample smp;
  uint64_t cyc;
  double an = 0;
  /* the analytical latency feature, as `sample` recorded it */
  if (mod && !fab_cd_model_latency(mod, &c, &cyc, &an, d)) an = 0;
  if (g && fab_pred_sample_make(g, a, &smp, d)) {
    fab_pred_sample_set_analytical(&smp, an);
    ms = fab_pred_predict(pr, &smp);
    if (!(ms > 0)) ms = -1;
    fab_pred_sample_free(&smp);
  }
  free(g);
  fab_module_free(mod);
  fab_diag_free(d);
  return ms;
}

static int cmd_predsearch(int argc, char **argv, fab_diag *d) {
  fab_cd_space s;
  if (argc < 1 || !fab_cd_space_load(argv[0], &s, d)) return 1;
  fab_predictor *pr = fab_pred_load(arg(argc, argv, "--pred", "gcn.pred"), d);
  if (!pr) return 1;
  int64_t bm = tool_int(argc, argv, "--budget-meas", "100", INT64_MIN, INT64_MAX);
  int64_t bp = tool_int(argc, argv, "--budget-pred", "2000", INT64_MIN, INT64_MAX);
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = FAB_CD_EVOLUTION;
  o.population = 16;
  o.threads = 1;
  o.seed = (uint64_t)tool_int(argc, argv, "--seed", "1", 0, INT64_MAX);
  fab_cd_eval_options sim = {.latency = FAB_CD_LAT_SIM};
  fab_cd_eval_options pre = {.latency = FAB_CD_LAT_PRED, .predict = predict_point, .predict_user = pr};
  fab_cd_evaluator *es = fab_cd_evaluator_new(&s, &sim, d), *ep = fab_cd_evaluator_new(&s, &pre, d);
  fab_cd_search_result rm, rp;
  bool ok = es && ep;
  o.budget = bm;
  double t0 = now_s();
  ok = ok && fab_cd_search(&s, es, &o, &rm, d);
  double tm = now_s() - t0;
  o.budget = bp;
  t0 = now_s();
  ok = ok && fab_cd_search(&s, ep, &o, &rp, d);
  double tp = now_s() - t0;
  if (ok) {
    /* measure the predicted front with the simulator */
    int64_t *f;
    int nf = fab_cd_pareto(rp.evals, rp.nevals, fab_cd_front_of(&s), &f);
    fab_cd_result *meas = calloc((size_t)nf + 1, sizeof *meas);
    t0 = now_s();
    int nmeas = 0;
    for (int i = 0; meas && i < nf; i++) {
      fab_diag_clear(d);
      if (fab_cd_evaluate(es, rp.evals[f[i]].key, &meas[nmeas], d)) nmeas++;
    }
    double tv = now_s() - t0;
    fab_diag_clear(d);
    /* a common box over both measured sets */
    fab_cd_result *all = malloc(sizeof *all * (size_t)(rm.nevals + nmeas + 1));
    memcpy(all, rm.evals, sizeof *all * (size_t)rm.nevals);
    memcpy(all + rm.nevals, meas, sizeof *all * (size_t)nmeas);
    fab_cd_hv_ref ref;
    fab_cd_hv_ref_from(all, rm.nevals + nmeas, &ref);
    double hm = fab_cd_hypervolume(rm.evals, rm.nevals, fab_cd_front_of(&s), &ref);
    double hp = fab_cd_hypervolume(meas, nmeas, s.require_fit, &ref);
    double hb = fab_cd_hypervolume(all, rm.nevals + nmeas, s.require_fit, &ref);
    double err = 0;
    for (int i = 0, j = 0; i < nf && j < nmeas; i++)
      if (rp.evals[f[i]].key == meas[j].key) err += fabs(rp.evals[f[i]].latency_ms / meas[j].latency_ms - 1), j++;
    printf("measurement-driven (simulator), %lld evaluations: %.1f s, hypervolume %.4f\n",
           (long long)rm.nevals, tm, hm);
    printf("predictor-driven (GCN), %lld evaluations: %.1f s search + %.1f s to simulate its %d-point "
           "front (%d simulated): hypervolume %.4f of the measured front; mean |pred/sim - 1| on the "
           "front %.1f%%\n", (long long)rp.nevals, tp, tv, nf, nmeas, hp, nmeas ? 100 * err / nmeas : 0);
    printf("union of both: hypervolume %.4f\n", hb);
    free(all);
    free(meas);
    free(f);
    fab_cd_search_result_free(&rm);
    fab_cd_search_result_free(&rp);
  }
  fab_cd_evaluator_free(es);
  fab_cd_evaluator_free(ep);
  fab_pred_free(pr);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
#ifdef FAB_CD_HAVE_MPI
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
#endif
  fab_diag *d = fab_diag_new();
  int rc = 2;
  if (argc < 2) {
    fprintf(stderr, "usage: fab-codesign sample|predictor|search|study|predsearch|accuracy ...\n");
  } else if (!strcmp(argv[1], "sample")) {
    rc = cmd_sample(argc - 2, argv + 2, d);
  } else if (!strcmp(argv[1], "predictor")) {
    rc = cmd_predictor(argc - 2, argv + 2, d);
  } else if (!strcmp(argv[1], "search")) {
    rc = cmd_search(argc - 2, argv + 2, d);
  } else if (!strcmp(argv[1], "predsearch")) {
    rc = cmd_predsearch(argc - 2, argv + 2, d);
  } else if (!strcmp(argv[1], "study")) {
    rc = cmd_study(argc - 2, argv + 2, d);
  } else if (!strcmp(argv[1], "accuracy")) {
    rc = tool_cmd_accuracy(argc - 2, argv + 2, progress, d);
  } else {
    fprintf(stderr, "fab-codesign: unknown command '%s'\n", argv[1]);
  }
  fab_diag_print(d, stderr);
  fab_diag_free(d);
#ifdef FAB_CD_HAVE_MPI
  MPI_Finalize();
#endif
  return rc;
}
