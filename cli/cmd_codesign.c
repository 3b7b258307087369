/* cmd_codesign.c — latency data, predictors and joint model/accelerator
 * search: fabc sample, predictor, predict, codesign.  Thin wrappers over
 * explore/predict and explore/codesign (the experiments of
 * docs/codesign.md use the fuller fab-codesign tool beside them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "codesign.h"
#include "fab_out.h"
#include "fab_tensor.h"
#include "fbin.h"
#include "ir.h"
#include "predict.h"

static int finish(fab_diag *d, bool ok) {
  cli_print_diag(d);
  fab_diag_free(d);
  return ok ? EXIT_OK : EXIT_USER;
}

/* ---- fabc sample ----------------------------------------------------------- */

static int run_sample(const cli_args *a) {
  const char *space = cli_str(a, "space", NULL), *out = cli_str(a, "o", NULL);
  if (!space || !out) return cli_usage_error(a, "give --space SPACE.json and -o DATA.jsonl");
  fab_cd_sample_options o;
  fab_cd_sample_options_default(&o);
  int64_t n, seed;
  if (!cli_int(a, "n", 100, 1, 10000000, &n) || !cli_int(a, "seed", 1, 0, INT64_MAX, &seed)) return EXIT_USAGE;
  o.count = (int)n;
  o.seed = (uint64_t)seed;
  const char *measure = cli_str(a, "measure", "fpga");
  o.fpga_sim = strstr(measure, "fpga") != NULL;
  o.cpu = strstr(measure, "cpu") != NULL;
  fab_cd_progress_line line = {0};
  o.progress = fab_cd_progress_stderr;
  o.user = &line;
  fab_diag *d = fab_diag_new();
  fab_cd_space s;
  if (!fab_cd_space_load(space, &s, d)) return finish(d, false);
  /* An existing data set is a stopped run: keep its complete lines and
   * measure only the rest (--fresh starts over). */
  int64_t *keys = NULL;
  int nk = 0;
  long bytes = 0;
  if (!cli_flag(a, "fresh") && !fab_cd_sample_read_keys(out, &keys, &nk, &bytes, d)) return finish(d, false);
  if (nk >= o.count) {
    fprintf(stderr, "%s already holds %d models (-n %d): nothing to measure (--fresh starts over)\n", out,
            nk, o.count);
    free(keys);
    return finish(d, true);
  }
  if (nk > 0) fprintf(stderr, "resuming: %d of %d models already in %s\n", nk, o.count, out);
  o.resume_keys = keys;
  o.nresume = nk;
  /* Append-only: every line is checked; a failed write leaves the
   * complete lines (its torn tail is cut) for the next run to continue. */
  char err[512];
  fab_log *log = fab_log_open(out, nk > 0 ? bytes : 0, err, sizeof err);
  if (!log) {
    free(keys);
    fab_diag_free(d);
    return cli_user_error("%s", err);
  }
  bool ok = fab_cd_sample(&s, &o, fab_log_file(log), d);
  fab_cd_progress_end(&line);
  if (fab_log_close(log, err, sizeof err) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", err);
    ok = false;
  }
  free(keys);
  return finish(d, ok);
}

static const opt_spec sample_opts[] = {
    {"space", OPT_VALUE, "SPACE.json", "the search space (spaces/*.json)"},
    {"n", OPT_VALUE, "N", "models to draw (default 100)"},
    {"measure", OPT_VALUE, "cpu,fpga", "what to measure: fpga (simulator), cpu (JIT, median of repeats)"},
    {"seed", OPT_VALUE, "N", "seed of the draws (default 1)"},
    {"o", OPT_VALUE, "DATA.jsonl", "one JSON line per model: point, latencies, IR graph; an existing file is "
                                   "a stopped run, continued"},
    {"fresh", OPT_FLAG, NULL, "overwrite DATA.jsonl instead of continuing it"},
};

const cli_cmd cmd_sample = {
    "sample", "--space SPACE.json -n N --measure cpu,fpga -o DATA.jsonl", "measure a latency data set from a space",
    "Every model also gets the authors' analytical FPGA latency and its parameter and MAC counts.\n"
    "A stopped run continues: give the same command again (the same space and seed redraw the\n"
    "models already measured; --fresh starts over).",
    sample_opts, sizeof sample_opts / sizeof *sample_opts, 0, 0, run_sample,
};

/* ---- fabc predictor train ---------------------------------------------------- */

static const char *target_key(const char *t) {
  if (!strcmp(t, "cpu")) return "cpu_ms";
  if (!strcmp(t, "fpga")) return "fpga_sim_ms";
  return t; /* a key of the data set, e.g. fpga_model_ms */
}

static void report(const char *name, const fab_predictor *p, const fab_pred_sample *const *t, int n) {
  double *pr = malloc(sizeof(double) * (size_t)(n ? n : 1)), *tr = malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (pr && tr && n > 1) {
    fab_pred_rank_scores(p, t, n, pr);
    for (int i = 0; i < n; i++) tr[i] = t[i]->latency;
    fab_pred_metrics m;
    fab_pred_metrics_compute(pr, tr, n, &m);
    printf("%-18s held-out n=%d  within 5%% %5.1f%%  within 10%% %5.1f%%  Kendall tau %.3f\n", name, n,
           100 * m.within5, 100 * m.within10, m.kendall);
  }
  free(pr);
  free(tr);
}

static int run_predictor(const cli_args *a) {
  if (strcmp(a->pos[0], "train") != 0) return cli_usage_error(a, "unknown action '%s' (train)", a->pos[0]);
  if (a->npos < 2) return cli_usage_error(a, "give the data set: fabc predictor train DATA.jsonl");
  const char *out = cli_str(a, "o", NULL);
  if (!out) return cli_usage_error(a, "give the predictor file with -o");
  fab_pred_train_options o;
  fab_pred_train_options_default(&o);
  int64_t epochs, seed;
  if (!cli_int(a, "epochs", 400, 1, 100000, &epochs) || !cli_int(a, "seed", 1, 0, INT64_MAX, &seed))
    return EXIT_USAGE;
  o.epochs = (int)epochs;
  o.seed = (uint64_t)seed;
  o.residual = cli_flag(a, "residual");
  fab_diag *d = fab_diag_new();
  fab_pred_dataset ds;
  if (!fab_pred_dataset_load(a->pos[1], target_key(cli_str(a, "target", "fpga")), &ds, d)) return finish(d, false);
  /* 80% train, 10% validation (early stopping), 10% held out. */
  int n = ds.n, ntr = n * 8 / 10, nva = n / 10, nte = n - ntr - nva;
  const fab_pred_sample **all = malloc(sizeof *all * (size_t)(n ? n : 1));
  for (int i = 0; all && i < n; i++) all[i] = &ds.s[i];
  bool ok = all && ntr > 0 && nva > 0;
  if (!ok) fab_error(d, (fab_loc){0}, "%s: need at least 10 models to train and validate", a->pos[1]);
  else if (n < 100)
    fprintf(stderr, "fabc: note: %d models is few for a GCN (docs/codesign.md trains on 1200; BRP-NAS "
            "used 900): expect large errors, and a held-out set of only %d\n", n, nte);
  fab_pred_kind kinds[] = {FAB_PRED_MACS, FAB_PRED_LUT, FAB_PRED_GCN};
  const char *names[] = {"MACs fit", "op lookup table", "GCN"};
  for (int k = 0; ok && k < 3; k++) {
    o.kind = kinds[k];
    fab_predictor *p = fab_pred_train(all, ntr, all + ntr, nva, &o, d);
    if (!p) {
      ok = false;
      break;
    }
    report(names[k], p, all + ntr + nva, nte);
    if (o.kind == FAB_PRED_GCN) ok = fab_pred_save(p, out, d);
    fab_pred_free(p);
  }
  free(all);
  fab_pred_dataset_free(&ds);
  return finish(d, ok);
}

static const opt_spec predictor_opts[] = {
    {"target", OPT_VALUE, "cpu|fpga|KEY", "which latency to predict (default fpga: the simulator)"},
    {"epochs", OPT_VALUE, "N", "training epochs (early stopping on 10% validation; default 400)"},
    {"seed", OPT_VALUE, "N", "seed (default 1)"},
    {"o", OPT_VALUE, "FILE.pred", "write the trained GCN predictor"},
    {"residual", OPT_FLAG, NULL, "learn the analytical FPGA model's error (needs --accel at predict time)"},
};

const cli_cmd cmd_predictor = {
    "predictor", "train DATA.jsonl --target cpu|fpga -o FILE.pred", "train a GCN latency predictor (BRP-NAS)",
    "Prints held-out accuracy (within 5/10%, Kendall tau) of the GCN beside the baselines\n"
    "(a MACs linear fit and a per-op lookup table).",
    predictor_opts, sizeof predictor_opts / sizeof *predictor_opts, 1, 2, run_predictor,
};

/* ---- fabc predict ------------------------------------------------------------ */

static int run_predict(const cli_args *a) {
  const char *pred = cli_str(a, "predictor", NULL);
  if (!pred) return cli_usage_error(a, "give --predictor FILE.pred");
  fab_module *m = cli_load_model(a, a->pos[0]);
  if (!m) return EXIT_USER;
  fab_diag *d = fab_diag_new();
  bool ok = false;
  char *accel_json = NULL;
  const char *accel = cli_str(a, "accel", NULL);
  fab_fpga_config cfg;
  if (accel) {
    char err[512];
    if (fab_fpga_config_load(accel, &cfg, err, sizeof err) != FAB_OK) fab_error(d, (fab_loc){0}, "%s", err);
    else accel_json = fab_fpga_config_to_json(&cfg);
  }
  fab_predictor *p = (!accel || accel_json) ? fab_pred_load(pred, d) : NULL;
  /* the analytical latency feature, computed as `sample` computes it */
  double an = 0;
  uint64_t cyc;
  if (p && accel_json && !fab_cd_model_latency(m, &cfg, &cyc, &an, d)) {
    fab_pred_free(p);
    p = NULL;
  }
  if (p && fab_pred_needs_analytical(p) && !accel_json) {
    fab_error(d, (fab_loc){0}, "%s predicts the analytical model's error: give the accelerator with --accel", pred);
    fab_pred_free(p);
    p = NULL;
  }
  char *graph = p ? fab_pred_graph_json(m, d) : NULL;
  fab_pred_sample s;
  if (graph && fab_pred_sample_make(graph, accel_json ? accel_json : "{}", &s, d)) {
    fab_pred_sample_set_analytical(&s, an);
    printf("%s: predicted latency %.4g ms\n", a->pos[0], fab_pred_predict(p, &s));
    fab_pred_sample_free(&s);
    ok = true;
  }
  free(graph);
  free(accel_json);
  fab_pred_free(p);
  fab_module_free(m);
  return finish(d, ok);
}

static const opt_spec predict_opts[] = {
    CLI_MODEL_OPTS,
    {"predictor", OPT_VALUE, "FILE.pred", "a predictor from `fabc predictor train`"},
    {"accel", OPT_VALUE, "CONFIG", "the accelerator, for FPGA predictors trained over several"},
};

const cli_cmd cmd_predict = {
    "predict", "FILE.fab --predictor FILE.pred [options]", "predict a model's latency with a trained predictor",
    NULL, predict_opts, sizeof predict_opts / sizeof *predict_opts, 1, 1, run_predict,
};

/* ---- fabc codesign ------------------------------------------------------------ */

static int run_codesign(const cli_args *a) {
  const char *space = cli_str(a, "space", NULL);
  if (!space) return cli_usage_error(a, "give --space SPACE.json");
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  int st = fab_cd_strategy_lookup(cli_str(a, "strategy", "evolution"));
  if (st < 0)
    return cli_usage_error(a, "unknown strategy (exhaustive, random, evolution, combined, phase, separate)");
  o.strategy = (fab_cd_strategy)st;
  int64_t budget, seed, threads;
  if (!cli_int(a, "budget", 1000, 1, INT64_MAX, &budget) || !cli_int(a, "seed", 1, 0, INT64_MAX, &seed) ||
      !cli_int(a, "threads", 0, 0, 1024, &threads))
    return EXIT_USAGE;
  o.budget = budget;
  o.seed = (uint64_t)seed;
  o.threads = (int)threads;
  o.log_path = cli_str(a, "log", NULL);
  fab_cd_progress_line line = {0};
  o.progress = fab_cd_progress_stderr;
  o.user = &line;
  fab_cd_eval_options eo;
  fab_cd_eval_options_default(&eo);
  const char *lat = cli_str(a, "latency", "model");
  if (!strcmp(lat, "sim")) eo.latency = FAB_CD_LAT_SIM;
  else if (strcmp(lat, "model") != 0) return cli_usage_error(a, "--latency is model or sim");
  int acc = fab_cd_acc_lookup(cli_str(a, "accuracy", "auto"));
  if (acc < 0) return cli_usage_error(a, "--accuracy is auto, trained, proxy or standin");
  eo.accuracy = (fab_cd_acc_kind)acc;
  eo.acc_cache = cli_str(a, "acc-cache", NULL);
  eo.progress = fab_cd_progress_stderr;
  eo.progress_user = &line;
  fab_diag *d = fab_diag_new();
  fab_cd_space s;
  if (!fab_cd_space_load(space, &s, d)) return finish(d, false);
  const char *objs = cli_str(a, "objectives", NULL), *device = cli_str(a, "device", NULL);
  if (objs) {
    s.objectives = fab_cd_objectives_parse(objs);
    if (!s.objectives) {
      fab_diag_free(d);
      return cli_usage_error(a, "--objectives lists accuracy, latency and/or area, e.g. accuracy,latency,area");
    }
  }
  if (device) {
    if (strcmp(device, "xcvu37p") && strcmp(device, "xc7z045")) {
      fab_diag_free(d);
      return cli_usage_error(a, "--device is xcvu37p (VCU128) or xc7z045 (ZC706)");
    }
    snprintf(s.base.device, sizeof s.base.device, "%s", device);
    s.require_fit = true;
  }
  fab_cd_evaluator *e = fab_cd_evaluator_new(&s, &eo, d);
  if (!e) return finish(d, false);
  fab_cd_search_result r;
  bool ok = fab_cd_search(&s, e, &o, &r, d);
  fab_cd_progress_end(&line);
  if (ok) {
    int64_t *front;
    int nf = fab_cd_pareto(r.evals, r.nevals, fab_cd_front_of(&s), &front);
    fab_cd_hv_ref ref;
    fab_cd_hv_ref_from(r.evals, r.nevals, &ref);
    printf("%s: %lld evaluations (%lld resumed from the log) in %.2f s; Pareto front %d points; "
           "hypervolume %.4f\n", fab_cd_strategy_name(o.strategy), (long long)r.nevals, (long long)r.resumed,
           r.seconds, nf, fab_cd_hypervolume(r.evals, r.nevals, fab_cd_front_of(&s), &ref));
    printf("accuracy: %s\n", fab_cd_evaluator_name(e));
    if (o.strategy != FAB_CD_EXHAUSTIVE && r.nevals < o.budget)
      printf("note: the search stopped before its budget of %lld: it stopped finding new points "
             "(the space has %lld)\n", (long long)o.budget, (long long)fab_cd_space_size(&s));
    if (nf == 0 && s.require_fit)
      printf("note: no evaluated pair fits the device %s (fabc resources --accel shows an accelerator's use)\n",
             s.base.device);
    const char *csv = cli_str(a, "o", NULL), *svg = cli_str(a, "plot", NULL);
    char err[512];
    fab_out *f = csv ? fab_out_open(csv, err, sizeof err) : NULL;
    if (f) fab_cd_write_csv(&s, r.evals, r.nevals, front, nf, fab_out_file(f));
    ok = !csv || (f && fab_out_commit(f, err, sizeof err) == FAB_OK);
    f = ok && svg ? fab_out_open(svg, err, sizeof err) : NULL;
    if (f) fab_cd_write_svg(r.evals, r.nevals, front, nf, s.name, fab_out_file(f));
    ok = ok && (!svg || (f && fab_out_commit(f, err, sizeof err) == FAB_OK));
    if (!ok) fab_error(d, (fab_loc){0}, "cannot write the front: %s", err);
    free(front);
    fab_cd_search_result_free(&r);
  }
  fab_cd_evaluator_free(e);
  return finish(d, ok);
}

static const opt_spec codesign_opts[] = {
    {"space", OPT_VALUE, "SPACE.json", "model and accelerator knobs, device, constraints (spaces/*.json)"},
    {"strategy", OPT_VALUE, "NAME",
     "exhaustive, random, evolution (NSGA-II; default), or the REINFORCE forms combined, phase, separate "
     "(also spelled rl-combined, ...)"},
    {"objectives", OPT_VALUE, "LIST", "objectives of the front: accuracy,latency,area (default: the space's, else all three)"},
    {"device", OPT_VALUE, "NAME", "the device whose limits the accelerators must fit: xcvu37p or xc7z045 (default: the space's)"},
    {"budget", OPT_VALUE, "N", "evaluations (default 1000)"},
    {"latency", OPT_VALUE, "model|sim", "the authors' analytical model (default) or the cycle simulator"},
    {"accuracy", OPT_VALUE, "auto|trained|proxy|standin",
     "accuracy objective: auto (default: trained for <= 100 models, else synflow), short training on ListOps, "
     "the synflow proxy, or the documented stand-in (the default when accuracy is not an objective)"},
    {"acc-cache", OPT_VALUE, "FILE", "trained/proxy accuracies per model: a stopped run resumes without retraining"},
    {"threads", OPT_VALUE, "N", "parallel evaluations (default: all cores)"},
    {"log", OPT_VALUE, "FILE", "append-only evaluation log: a stopped run resumes from it"},
    {"seed", OPT_VALUE, "N", "seed (default 1)"},
    {"o", OPT_VALUE, "FRONT.csv", "the Pareto front as CSV"},
    {"plot", OPT_VALUE, "FRONT.svg", "the front as an SVG plot"},
};

const cli_cmd cmd_codesign = {
    "codesign", "--space SPACE.json [--device D] [--objectives accuracy,latency,area] --strategy evolution --budget N -o front.csv --plot front.svg",
    "joint model/accelerator search (Codesign-NAS): accuracy, latency, area",
    "Objectives and constraints (device, latency limit) come from the space file unless\n"
    "--objectives / --device say otherwise; see docs/codesign.md.  Evaluations run on all cores; to shard them across processes and\n"
    "machines run `mpirun -np K fab-codesign search ...` (the same library and results).",
    codesign_opts, sizeof codesign_opts / sizeof *codesign_opts, 0, 0, run_codesign,
};
