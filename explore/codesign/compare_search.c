/* compare_search.c — search strategies compared on one space (`fabc
 * codesign --compare strategies`): the exhaustive front, every strategy at
 * a budget of a fraction of the space over several seeds, the hypervolume
 * trace, the recovered fraction of the true front, and codesign against
 * the sequential flow (docs/codesign.md, "Measured: strategies against the
 * exhaustive front"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cd_compare.h"
#include "fab_out.h"

bool fab_cd_write_front_files(const fab_cd_space *s, const fab_cd_result *r, int64_t n, const char *csv,
                              const char *svg, const char *title, fab_diag *d) {
  int64_t *front;
  int nf = fab_cd_pareto(r, n, fab_cd_front_of(s), &front);
  /* Each file replaced whole or not at all (fab_out.h). */
  char err[512];
  fab_out *f = csv ? fab_out_open(csv, err, sizeof err) : NULL;
  if (f) fab_cd_write_csv(s, r, n, front, nf, fab_out_file(f));
  bool ok = !csv || (f && fab_out_commit(f, err, sizeof err) == FAB_OK);
  f = svg && ok ? fab_out_open(svg, err, sizeof err) : NULL;
  if (f) fab_cd_write_svg(r, n, front, nf, title, fab_out_file(f));
  ok = ok && (!svg || (f && fab_out_commit(f, err, sizeof err) == FAB_OK));
  if (!ok) fab_error(d, (fab_loc){0}, "cannot write the front: %s", err);
  free(front);
  return ok;
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
static void compare_sequential(const fab_cd_space *s, const fab_cd_search_result *ex, FILE *out) {
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
    fprintf(out, "codesign vs sequential flow (perf/area at >= the sequential model's accuracy, latency <= "
           "%.3g ms, fitting): over %d reference accelerators gain min %+.1f%%, median %+.1f%%, "
           "max %+.1f%%, mean %+.1f%%, > 0 for %d", lim, ng, 100 * gain[0], 100 * gain[ng / 2],
           100 * gain[ng - 1], 100 * gsum / ng, npos);
    if (!isnan(mid_gain)) fprintf(out, "; mid-range reference %+.1f%%", 100 * mid_gain);
    fprintf(out, "\n");
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

static bool write_hv_svg(const char *path, const hvline *l, int nl, int64_t budget, fab_diag *d) {
  char err[512];
  fab_out *o = fab_out_open(path, err, sizeof err);
  FILE *f = o ? fab_out_file(o) : NULL;
  if (!f) {
    fab_out_abort(o);
    fab_error(d, (fab_loc){0}, "%s", o ? "out of memory" : err);
    return false;
  }
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
  if (fab_out_commit(o, err, sizeof err) == FAB_OK) return true;
  fab_error(d, (fab_loc){0}, "%s", err);
  return false;
}

/* One study: the exhaustive results and what every strategy is measured
 * against. */
typedef struct study {
  const fab_cd_space *s;
  fab_cd_evaluator *e;
  const fab_cd_study_options *opt;
  fab_diag *d;
  fab_cd_search_result ex; /* exhaustive */
  fab_cd_hv_ref ref;       /* its box */
  int64_t *tf;             /* the true front (indices into ex) */
  int ntf;
  double hv_true;
  int64_t budget;          /* of every other strategy */
  FILE *trace;             /* SPACE-trace.csv, or NULL */
} study;

/* The true front: printed, and written as SPACE-exhaustive.csv/.svg. */
static bool report_exhaustive(study *y) {
  const fab_cd_space *s = y->s;
  const fab_cd_search_result *ex = &y->ex;
  FILE *out = y->opt->out;
  const char *dir = y->opt->out_dir ? y->opt->out_dir : ".";
  int64_t valid = 0;
  for (int64_t i = 0; i < ex->nevals; i++) valid += ex->evals[i].ok;
  fprintf(out, "space %s: %lld points (%lld canonical, %lld valid pairs), %lld models x %lld "
          "accelerators; exhaustive in %.1f s; true front %d points, hypervolume %.4f\n",
          s->name, (long long)fab_cd_space_size(s), (long long)ex->nevals, (long long)valid,
          (long long)s->nmodels, (long long)s->naccels, ex->seconds, y->ntf, y->hv_true);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s-exhaustive.csv", dir, s->name);
  if (!fab_cd_write_front_files(s, ex->evals, ex->nevals, path, NULL, NULL, y->d)) return false;
  snprintf(path, sizeof path, "%s/%s-exhaustive.svg", dir, s->name);
  return fab_cd_write_front_files(s, ex->evals, ex->nevals, NULL, path, "exhaustive: accuracy vs latency", y->d);
}

/* How many of the true front's points a front recovered. */
static int recovered(const study *y, const fab_cd_search_result *r) {
  int64_t *f;
  int nf = fab_cd_pareto(r->evals, r->nevals, fab_cd_front_of(y->s), &f);
  int rec = 0;
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < y->ntf; j++)
      if (r->evals[f[i]].key == y->ex.evals[y->tf[j]].key) {
        rec++;
        break;
      }
  free(f);
  return rec;
}

/* Strategy `st` for seeds 1..K: its line of the report (the mean
 * hypervolume ratio with a 95% bootstrap interval over the seeds, the
 * seeds' range, the evaluations used), its trace rows and its mean
 * hypervolume curve `ln`. */
static bool run_strategy(study *y, fab_cd_strategy st, hvline *ln) {
  int seeds = y->opt->seeds;
  double rec_sum = 0, t_sum = 0, ev_sum = 0;
  double *hv = calloc((size_t)seeds, sizeof(double));
  if (!hv) return false;
  memset(ln, 0, sizeof *ln);
  ln->name = fab_cd_strategy_name(st);
  for (int sd = 1; sd <= seeds; sd++) {
    fab_cd_search_options so = y->opt->search;
    so.strategy = st;
    so.budget = y->budget;
    so.seed = (uint64_t)sd;
    so.trace_every = y->budget / 20 > 0 ? y->budget / 20 : 1;
    so.hv_ref = &y->ref;
    fab_cd_search_result r;
    bool searched = fab_cd_search(y->s, y->e, &so, &r, y->d);
    fab_cd_progress_end(y->opt->line);
    if (!searched) {
      fab_cd_search_result_free(&r);
      free(hv);
      return false;
    }
    hv[sd - 1] = fab_cd_hypervolume(r.evals, r.nevals, fab_cd_front_of(y->s), &y->ref) / y->hv_true;
    rec_sum += (double)recovered(y, &r) / y->ntf;
    t_sum += r.seconds;
    ev_sum += (double)r.nevals;
    for (int k = 0; y->trace && k < r.ntrace; k++)
      fprintf(y->trace, "%s,%d,%lld,%.6f\n", fab_cd_strategy_name(so.strategy), sd, (long long)r.trace_n[k],
              r.trace_hv[k] / y->hv_true);
    for (int k = 0; k < r.ntrace && k < 64; k++) {
      ln->x[k] = (double)r.trace_n[k];
      ln->y[k] += r.trace_hv[k] / y->hv_true / seeds;
      if (k + 1 > ln->n) ln->n = k + 1;
    }
    fab_cd_search_result_free(&r);
  }
  double lo, hi, mn = INFINITY, mx = -INFINITY;
  double mean = fab_pred_mean_ci(hv, seeds, (uint64_t)st, &lo, &hi);
  for (int i = 0; i < seeds; i++) mn = fmin(mn, hv[i]), mx = fmax(mx, hv[i]);
  if (y->opt->out)
    fprintf(y->opt->out, "%-12s hypervolume %.4f [95%% CI %.4f, %.4f; seeds %.4f..%.4f] of the true front's, "
            "true Pareto points recovered %.1f%%, evaluations %.0f of %lld (mean of %d seeds, %.2f s per run)\n",
            fab_cd_strategy_name(st), mean, lo, hi, mn, mx, 100 * rec_sum / seeds, ev_sum / seeds,
            (long long)y->budget, seeds, t_sum / seeds);
  free(hv);
  return true;
}

bool fab_cd_compare_strategies(const fab_cd_space *s, fab_cd_evaluator *e, const fab_cd_study_options *opt,
                               fab_diag *d) {
  study y = {.s = s, .e = e, .opt = opt, .d = d};
  FILE *out = opt->out;
  const char *dir = opt->out_dir ? opt->out_dir : ".";
  fab_cd_search_options o = opt->search;
  o.strategy = FAB_CD_EXHAUSTIVE;
  bool ok = fab_cd_search(s, e, &o, &y.ex, d);
  fab_cd_progress_end(opt->line);
  if (!ok) {
    fab_cd_search_result_free(&y.ex);
    return false;
  }
  fab_cd_hv_ref_from(y.ex.evals, y.ex.nevals, &y.ref);
  y.ntf = fab_cd_pareto(y.ex.evals, y.ex.nevals, fab_cd_front_of(s), &y.tf);
  y.hv_true = fab_cd_hypervolume(y.ex.evals, y.ex.nevals, fab_cd_front_of(s), &y.ref);
  if (out && !report_exhaustive(&y)) ok = false;
  y.budget = (int64_t)(opt->frac * (double)y.ex.nevals);
  if (y.budget < 64) y.budget = 64;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s-trace.csv", dir, s->name);
  char err[512];
  fab_out *trace = out ? fab_out_open(path, err, sizeof err) : NULL;
  if (out && !trace) {
    fab_error(d, (fab_loc){0}, "%s", err);
    ok = false;
  }
  y.trace = trace ? fab_out_file(trace) : NULL;
  if (y.trace) fprintf(y.trace, "strategy,seed,evaluations,hypervolume_ratio\n");
  if (out)
    fprintf(out, "budget %lld evaluations (%.2f%% of the canonical points), %d seeds; hypervolume as a "
            "fraction of the exhaustive front's, mean over seeds with a 95%% percentile-bootstrap interval "
            "(2000 resamples of the seeds)\n", (long long)y.budget, 100.0 * y.budget / y.ex.nevals, opt->seeds);
  hvline lines[FAB_CD_STRATEGY_COUNT];
  int nlines = 0;
  for (int st = FAB_CD_RANDOM; ok && st < FAB_CD_STRATEGY_COUNT; st++)
    ok = run_strategy(&y, (fab_cd_strategy)st, &lines[nlines++]);
  if (ok && trace && fab_out_commit(trace, err, sizeof err) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", err);
    ok = false;
  } else if (!ok) {
    fab_out_abort(trace);
  }
  snprintf(path, sizeof path, "%s/%s-hv.svg", dir, s->name);
  if (ok && out && !write_hv_svg(path, lines, nlines, y.budget, d)) ok = false;
  if (ok && out) compare_sequential(s, &y.ex, out);
  free(y.tf);
  fab_cd_search_result_free(&y.ex);
  return ok;
}
