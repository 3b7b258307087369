/* cmd_codesign.c — latency data and predictors: fabc sample, predictor
 * (train, compare), predict.  Thin wrappers over explore/predict and
 * explore/codesign; the search itself is `fabc codesign` (cmd_search.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_compare.h"
#include "cd_support.h"
#include "cli.h"
#include "codesign.h"
#include "fab_alloc.h"
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

/* --from IN.jsonl: CPU latencies added to an existing data set. */
static int add_cpu(const cli_args *a, const fab_cd_sample_options *o, const char *space, const char *in_path,
                   const char *out) {
  if (!o->cpu || o->fpga_sim) return cli_usage_error(a, "--from adds CPU latencies: give --measure cpu");
  if (!strcmp(in_path, out)) return cli_usage_error(a, "--from and -o name the same file");
  fab_diag *d = fab_diag_new();
  fab_cd_space s;
  if (!fab_cd_space_load(space, &s, d)) return finish(d, false);
  FILE *in = fopen(in_path, "r");
  if (!in) {
    fab_diag_free(d);
    return cli_user_error("cannot read '%s'", in_path);
  }
  char err[512];
  fab_out *f = fab_out_open(out, err, sizeof err); /* replaced whole, or not at all */
  if (!f) {
    fclose(in);
    fab_diag_free(d);
    return cli_user_error("%s", err);
  }
  int n = 0;
  bool ok = fab_cd_sample_add_cpu(&s, o, in, in_path, fab_out_file(f), &n, d);
  fclose(in);
  if (!ok) {
    fab_out_abort(f);
  } else if (fab_out_commit(f, err, sizeof err) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", err);
    ok = false;
  }
  fprintf(stderr, "cpu %d models\n", n);
  return finish(d, ok);
}

static int run_sample(const cli_args *a) {
  const char *space = cli_str(a, "space", NULL), *out = cli_str(a, "o", NULL);
  if (!space || !out) return cli_usage_error(a, "give --space SPACE.json and -o DATA.jsonl");
  fab_cd_sample_options o;
  fab_cd_sample_options_default(&o);
  int64_t n, seed, repeats, warmup, threads;
  if (!cli_int(a, "n", 100, 1, 10000000, &n) || !cli_int(a, "seed", 1, 0, INT64_MAX, &seed) ||
      !cli_int(a, "repeats", 7, 1, 100000, &repeats) || !cli_int(a, "warmup", 2, 0, 100000, &warmup) ||
      !cli_int(a, "cpu-threads", 1, 1, 1024, &threads))
    return EXIT_USAGE;
  o.count = (int)n;
  o.seed = (uint64_t)seed;
  const char *measure = cli_str(a, "measure", "fpga");
  o.fpga_sim = strstr(measure, "fpga") != NULL;
  o.cpu = strstr(measure, "cpu") != NULL;
  o.accuracy = strstr(measure, "accuracy") != NULL;
  int64_t train_steps, train_seed;
  if (!cli_int(a, "train-steps", 0, 0, INT64_MAX, &train_steps) || !cli_int(a, "train-seed", 0, 0, INT64_MAX, &train_seed))
    return EXIT_USAGE;
  o.train.steps = train_steps; /* zero fields: fab_cd_train_accuracy's defaults */
  o.train.seed = (uint64_t)train_seed;
  o.cpu_repeats = (int)repeats;
  o.cpu_warmup = (int)warmup;
  o.cpu_threads = (int)threads;
  o.cpu_second_pass = cli_flag(a, "cpu-twice");
  if (o.cpu_second_pass && !o.cpu) return cli_usage_error(a, "--cpu-twice times the CPU: give --measure cpu");
  const char *from = cli_str(a, "from", NULL);
  if (from) return add_cpu(a, &o, space, from, out);
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
    {"measure", OPT_VALUE, "cpu,fpga,accuracy",
     "what to measure: fpga (simulator), cpu (JIT, median of repeats), accuracy (short training on ListOps, "
     "the labels of accuracy predictors: use a one-accelerator space such as spaces/accbench.json)"},
    {"train-steps", OPT_VALUE, "N", "accuracy: optimiser steps per model (default 400)"},
    {"train-seed", OPT_VALUE, "S", "accuracy: seed of the training data, order and initialisation (default 1)"},
    {"seed", OPT_VALUE, "N", "seed of the draws (default 1)"},
    {"repeats", OPT_VALUE, "N", "cpu: timed runs per model, the median recorded (default 7)"},
    {"warmup", OPT_VALUE, "N", "cpu: untimed runs first (default 2)"},
    {"cpu-threads", OPT_VALUE, "N", "cpu: worker threads of the timed model (default 1)"},
    {"cpu-twice", OPT_FLAG, NULL, "cpu: time every model twice with a fresh JIT (cpu_ms_2: the repeat noise)"},
    {"from", OPT_VALUE, "IN.jsonl", "add CPU latencies (--measure cpu; each model timed twice) to the lines of an "
                                    "existing data set instead of drawing models; writes -o"},
    {"o", OPT_VALUE, "DATA.jsonl", "one JSON line per model: point, latencies, IR graph; an existing file is "
                                   "a stopped run, continued"},
    {"fresh", OPT_FLAG, NULL, "overwrite DATA.jsonl instead of continuing it"},
};

const cli_cmd cmd_sample = {
    "sample", "--space SPACE.json -n N --measure cpu,fpga -o DATA.jsonl", "measure a latency data set from a space",
    "Every model also gets the authors' analytical FPGA latency and its parameter and MAC counts.\n"
    "A stopped run continues: give the same command again (the same space and seed redraw the\n"
    "models already measured; --fresh starts over).  --measure model records only the analytical\n"
    "latency.  --from IN.jsonl --measure cpu adds CPU timings to a data set measured before.",
    sample_opts, sizeof sample_opts / sizeof *sample_opts, 0, 0, run_sample,
};

/* ---- fabc predictor train ---------------------------------------------------- */

static const char *target_key(const char *t) {
  if (!strcmp(t, "cpu")) return "cpu_ms";
  if (!strcmp(t, "fpga")) return "fpga_sim_ms";
  return t; /* a key of the data set, e.g. fpga_model_ms */
}

static void report(const char *name, const fab_predictor *p, const fab_pred_sample *const *t, int n) {
  fab_pred_metrics_ci c;
  if (!fab_pred_evaluate(p, t, n, &c)) return;
  const fab_pred_metrics *m = &c.m;
  printf("%-18s held-out n=%d  within 5%% %5.1f%%  within 10%% %5.1f%% [95%% CI %.1f, %.1f]  Kendall tau %.3f "
         "[%.3f, %.3f]\n", name, n, 100 * m->within5, 100 * m->within10, 100 * c.within10_lo, 100 * c.within10_hi,
         m->kendall, c.kendall_lo, c.kendall_hi);
}

static void epoch_progress(const fab_pred_progress *p, void *user) {
  (void)user;
  if (p->epoch % 50 == 0)
    fprintf(stderr, "  epoch %d train %.4f valid %.4f\n", p->epoch, p->train_loss, p->valid_loss);
}

/* fabc predictor compare: every predictor and the analytical model on a
 * split of the data set (docs/codesign.md, "Predictors"). */
static int run_predictor_compare(const cli_args *a) {
  fab_cd_pred_compare_options o = {.target = target_key(cli_str(a, "target", "fpga")), .out = stdout};
  fab_pred_train_options_default(&o.train);
  int64_t ntrain, holdout, shuffle, brp, epochs, width, layers, patience, seed;
  double lr, dropout, wd;
  if (!cli_int(a, "train", 0, 0, INT32_MAX, &ntrain) || !cli_int(a, "holdout-hidden", 0, 0, INT32_MAX, &holdout) ||
      !cli_int(a, "shuffle", 0, 0, INT64_MAX, &shuffle) || !cli_int(a, "brp-epochs", 0, 0, 100000, &brp) ||
      !cli_int(a, "epochs", 400, 1, 100000, &epochs) || !cli_int(a, "width", 32, 1, 4096, &width) ||
      !cli_int(a, "layers", 4, 1, 64, &layers) || !cli_int(a, "patience", 40, 1, 100000, &patience) ||
      !cli_int(a, "seed", 1, 0, INT64_MAX, &seed) || !cli_double(a, "lr", 4e-4, 0, 10, &lr) ||
      !cli_double(a, "dropout", 0.05, 0, 1, &dropout) || !cli_double(a, "wd", 5e-4, 0, 10, &wd))
    return EXIT_USAGE;
  o.ntrain = (int)ntrain, o.holdout_hidden = (int)holdout, o.shuffle = (uint64_t)shuffle, o.brp_epochs = (int)brp;
  o.train.epochs = (int)epochs, o.train.width = (int)width, o.train.layers = (int)layers;
  o.train.patience = (int)patience, o.train.seed = (uint64_t)seed;
  o.train.lr = lr, o.train.dropout = dropout, o.train.weight_decay = wd;
  o.train.sum_readout = cli_flag(a, "sum-readout");
  o.train.residual = cli_flag(a, "residual");
  o.train.progress = cli_flag(a, "v") ? epoch_progress : NULL;
  o.no_brp = cli_flag(a, "no-brp"), o.select = cli_flag(a, "select"), o.select_only = cli_flag(a, "select-only");
  const char *graph = cli_str(a, "graph", "ours"), *kind = cli_str(a, "select-kind", "brp");
  if (strcmp(graph, "ours") && strcmp(graph, "paper")) return cli_usage_error(a, "--graph is ours or paper");
  if (strcmp(kind, "brp") && strcmp(kind, "gcn")) return cli_usage_error(a, "--select-kind is brp or gcn");
  int64_t pairs, rounds, per_round, ntest;
  if (!cli_int(a, "test", 0, 0, INT32_MAX, &ntest) || !cli_int(a, "brp-pairs", 0, 0, INT32_MAX, &pairs) || !cli_int(a, "rounds", 5, 1, 1000, &rounds) ||
      !cli_int(a, "per-round", 20, 2, 1000000, &per_round))
    return EXIT_USAGE;
  o.ntest = (int)ntest;
  o.train.paper_graph = !strcmp(graph, "paper");
  o.train.brp_pairs = (int)pairs;
  o.train.brp_hard = cli_flag(a, "brp-hard");
  o.select_rounds = (int)rounds, o.select_per_round = (int)per_round;
  o.select_kind = !strcmp(kind, "gcn") ? FAB_PRED_GCN : FAB_PRED_BRP;
  /* accuracy: the best model has the largest label */
  o.maximize = !strcmp(o.target, "accuracy") || cli_flag(a, "maximize");
  if (!strcmp(a->pos[0], "select")) o.select_only = true;
  o.save = cli_str(a, "o", NULL);
  fab_diag *d = fab_diag_new();
  return finish(d, fab_cd_compare_predictors(a->pos[1], &o, d));
}

/* The options only `predictor compare` reads. */
static const char *const compare_only[] = {"train", "holdout-hidden", "shuffle", "brp-epochs", "width", "layers",
                                           "patience", "lr", "dropout", "wd", "sum-readout", "no-brp", "select",
                                           "select-only", "v", "test", "graph", "brp-pairs", "brp-hard", "rounds",
                                           "per-round", "select-kind", "maximize"};

static int run_predictor(const cli_args *a) {
  bool compare = !strcmp(a->pos[0], "compare") || !strcmp(a->pos[0], "select");
  if (strcmp(a->pos[0], "train") != 0 && !compare)
    return cli_usage_error(a, "unknown action '%s' (train, compare or select)", a->pos[0]);
  if (a->npos < 2) return cli_usage_error(a, "give the data set: fabc predictor %s DATA.jsonl", a->pos[0]);
  if (compare) return run_predictor_compare(a);
  for (size_t i = 0; i < sizeof compare_only / sizeof *compare_only; i++)
    if (cli_flag(a, compare_only[i]))
      return cli_usage_error(a, "%s%s is an option of `fabc predictor compare`", compare_only[i][1] ? "--" : "-",
                             compare_only[i]);
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
  const fab_pred_sample **all = fab_malloc(sizeof *all * (size_t)(n ? n : 1));
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
    {"o", OPT_VALUE, "FILE.pred", "write the trained GCN predictor (compare: optional)"},
    {"residual", OPT_FLAG, NULL, "learn the analytical FPGA model's error (needs --accel at predict time)"},
    {"train", OPT_VALUE, "N", "compare: training models (default and at most 80% of the rest)"},
    {"test", OPT_VALUE, "N", "compare/select: test models (default: half of what training leaves; the rest "
                             "validates)"},
    {"holdout-hidden", OPT_VALUE, "H", "compare: hold out the models with hidden >= H as an unseen family"},
    {"shuffle", OPT_VALUE, "S", "compare: S > 0 draws another split"},
    {"width", OPT_VALUE, "W", "compare: GCN width (default 32)"},
    {"layers", OPT_VALUE, "L", "compare: GCN layers (default 4)"},
    {"lr", OPT_VALUE, "LR", "compare: learning rate (default 4e-4)"},
    {"dropout", OPT_VALUE, "P", "compare: dropout (default 0.05)"},
    {"wd", OPT_VALUE, "W", "compare: weight decay (default 5e-4)"},
    {"patience", OPT_VALUE, "K", "compare: early-stopping patience in epochs (default 40)"},
    {"sum-readout", OPT_FLAG, NULL, "compare: sum instead of mean readout"},
    {"brp-epochs", OPT_VALUE, "E", "compare: epochs of the binary relation predictor (default: --epochs)"},
    {"no-brp", OPT_FLAG, NULL, "compare: leave out the binary relation predictor"},
    {"select", OPT_FLAG, NULL, "compare: also iterative data selection (BRP-NAS: --rounds x --per-round models)"},
    {"select-only", OPT_FLAG, NULL, "compare: only the data selection (= `fabc predictor select`)"},
    {"graph", OPT_VALUE, "ours|paper", "compare/select: the GCN's graph: ours (undirected, normalised; default) or "
                                       "paper (BRP-NAS's A + I, directed)"},
    {"brp-pairs", OPT_VALUE, "N", "compare/select: BRP on N random pairs per epoch (default 0: all ordered pairs)"},
    {"brp-hard", OPT_FLAG, NULL, "compare/select: BRP with hard 0/1 targets (default: BRP-NAS's soft targets)"},
    {"rounds", OPT_VALUE, "T", "select: rounds of iterative selection (default 5)"},
    {"per-round", OPT_VALUE, "M", "select: models measured per round (default 20)"},
    {"select-kind", OPT_VALUE, "brp|gcn", "select: the predictor that selects (default brp, as BRP-NAS)"},
    {"maximize", OPT_FLAG, NULL, "select: the best model has the largest label (implied by --target accuracy)"},
    {"v", OPT_FLAG, NULL, "compare: print the losses every 50 epochs"},
};

const cli_cmd cmd_predictor = {
    "predictor", "train|compare|select DATA.jsonl --target cpu|fpga|accuracy -o FILE.pred",
    "train or compare latency and accuracy predictors (BRP-NAS)",
    "train prints held-out accuracy (within 5/10%, Kendall tau) of the GCN beside the baselines\n"
    "(a MACs linear fit and a per-op lookup table) and saves the GCN.  compare splits the data set\n"
    "(optionally holding out a model family), prints the analytical model raw and calibrated, the GCN,\n"
    "the baselines and the binary relation predictor with MAPE, Kendall tau and Spearman rho, each with a\n"
    "95% bootstrap interval over the test models.  select runs BRP-NAS's iterative data selection on the\n"
    "training and validation models and scores it, and as many random models, on the test models.\n"
    "--target accuracy reads the labels of `fabc sample --measure accuracy`.",
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
