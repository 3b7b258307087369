/* cmd_search.c — joint model/accelerator search: fabc codesign, and
 * `--compare strategies|accuracy|predictor`, the experiments that compare
 * the choices of a search on one space.  Thin wrappers over
 * explore/codesign (codesign.h, cd_compare.h); `--mpi` shards the
 * evaluations over the ranks of `mpirun -n N fabc codesign ... --mpi`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cd_compare.h"
#include "cd_support.h"
#include "cli.h"
#include "predict.h"

/* One run's context: the space, the evaluator's options, the search
 * options and this process's MPI rank (0 prints and writes). */
typedef struct run {
  const cli_args *a;
  fab_cd_space s;
  fab_cd_eval_options eo;
  fab_cd_search_options so;
  fab_cd_progress_line line;
  int rank, size;
  double max_latency; /* of the printed best pair (0: the space's) */
  /* the numbers of the --compare modes */
  double frac;
  int64_t seeds, max_models, every, measure_budget;
  fab_diag *d;
} run;

static int finish(run *r, bool ok) {
  if (r->rank == 0) cli_print_diag(r->d);
  fab_diag_free(r->d);
  return ok ? EXIT_OK : EXIT_USER;
}

/* --accuracy, --acc-cache, --auto-max-models and the --train-* options. */
static bool eval_options(const cli_args *a, fab_cd_eval_options *eo) {
  fab_cd_eval_options_default(eo);
  const char *lat = cli_str(a, "latency", "model");
  if (!strcmp(lat, "sim")) eo->latency = FAB_CD_LAT_SIM;
  else if (!strcmp(lat, "predictor")) eo->latency = FAB_CD_LAT_PRED;
  else if (strcmp(lat, "model") != 0) return cli_usage_error(a, "--latency is model, sim or predictor"), false;
  int acc = fab_cd_acc_lookup(cli_str(a, "accuracy", "auto"));
  if (acc < 0) return cli_usage_error(a, "--accuracy is auto, trained, proxy or standin"), false;
  eo->accuracy = (fab_cd_acc_kind)acc;
  eo->acc_cache = cli_str(a, "acc-cache", NULL);
  int64_t amax, steps, seq, wdiv, depth, batch, samples;
  double lr;
  if (!cli_int(a, "auto-max-models", 0, 0, INT32_MAX, &amax) || !cli_int(a, "train-steps", 0, 0, INT64_MAX, &steps) ||
      !cli_int(a, "train-seq", 0, 0, 1 << 20, &seq) || !cli_int(a, "train-width-div", 0, 0, 1 << 20, &wdiv) ||
      !cli_int(a, "train-depth", 0, 0, 64, &depth) || !cli_int(a, "train-batch", 0, 0, 1 << 20, &batch) ||
      !cli_int(a, "train-samples", 0, 0, INT64_MAX / 4, &samples) || !cli_double(a, "train-lr", 0, 0, 1e3, &lr))
    return false;
  eo->auto_max_models = (int)amax;
  eo->train.steps = steps;
  eo->train.seq = (int)seq;
  eo->train.width_div = (int)wdiv;
  eo->train.max_depth = (int)depth;
  eo->train.lr = lr;
  eo->train.batch = (int)batch;
  eo->train.train_n = samples;
  eo->train.test_n = samples / 4; /* a quarter held out */
  /* the generated tasks of explore/train, in fab_task_kind order */
  static const char *tasks[] = {"listops", "parity", "majority"};
  const char *task = cli_str(a, "train-task", "listops");
  eo->train.task = -1;
  for (int i = 0; i < 3; i++)
    if (!strcmp(task, tasks[i])) eo->train.task = i;
  if (eo->train.task < 0) return cli_usage_error(a, "--train-task is listops, parity or majority"), false;
  return true;
}

/* The space with --objectives and --device applied. */
static int load_space(run *r) {
  const cli_args *a = r->a;
  if (!fab_cd_space_load(cli_str(a, "space", NULL), &r->s, r->d)) return EXIT_USER;
  const char *objs = cli_str(a, "objectives", NULL), *device = cli_str(a, "device", NULL);
  if (objs && !(r->s.objectives = fab_cd_objectives_parse(objs)))
    return cli_usage_error(a, "--objectives lists accuracy, latency and/or area, e.g. accuracy,latency,area");
  if (device) {
    if (strcmp(device, "xcvu37p") && strcmp(device, "xc7z045"))
      return cli_usage_error(a, "--device is xcvu37p (VCU128) or xc7z045 (ZC706)");
    snprintf(r->s.base.device, sizeof r->s.base.device, "%s", device);
    r->s.require_fit = true;
  }
  return EXIT_OK;
}

/* The analytical latency model has no write-back term: a space that varies
 * wb_share searched with it sees only the resources fall (docs/codesign.md). */
static void warn_unseen_knobs(const run *r, const char *mode) {
  if (r->eo.latency != FAB_CD_LAT_MODEL || r->rank != 0 || (mode && strcmp(mode, "strategies"))) return;
  for (int k = r->s.nmodel_knobs; k < r->s.nknobs; k++)
    if (!strcmp(r->s.knobs[k].name, "wb_share") && r->s.knobs[k].nvals > 1)
      fprintf(stderr, "fabc: warning: the space varies wb_share, which the analytical latency model "
                      "(--latency model) does not see: only the resources would change; use --latency sim "
                      "or --latency predictor with a predictor trained on simulated latencies\n");
}

/* Which accuracy the run used and what it cost (trained models). */
static void print_acc_stats(const fab_cd_evaluator *e) {
  int64_t computed, cached;
  double secs;
  fab_cd_evaluator_acc_stats(e, &computed, &cached, &secs);
  printf("accuracy %s: %lld models scored (%.2f s each, summed over threads), %lld from the cache\n",
         fab_cd_evaluator_name(e), (long long)computed, computed ? secs / (double)computed : 0.0,
         (long long)cached);
}

static void print_search(run *r, const fab_cd_evaluator *e, const fab_cd_search_result *res) {
  const fab_cd_space *s = &r->s;
  int64_t *front;
  int nf = fab_cd_pareto(res->evals, res->nevals, fab_cd_front_of(s), &front);
  free(front);
  fab_cd_hv_ref ref;
  fab_cd_hv_ref_from(res->evals, res->nevals, &ref);
  printf("%s: %lld evaluations (%lld resumed from the log) in %.2f s; Pareto front %d points; "
         "hypervolume %.4f\n", fab_cd_strategy_name(r->so.strategy), (long long)res->nevals,
         (long long)res->resumed, res->seconds, nf, fab_cd_hypervolume(res->evals, res->nevals, fab_cd_front_of(s), &ref));
  printf("accuracy: %s\n", fab_cd_evaluator_name(e));
  if (r->so.strategy != FAB_CD_EXHAUSTIVE && res->nevals < r->so.budget)
    printf("note: the search stopped before its budget of %lld: it stopped finding new points "
           "(the space has %lld)\n", (long long)r->so.budget, (long long)fab_cd_space_size(s));
  if (nf == 0 && s->require_fit)
    printf("note: no evaluated pair fits the device %s (fabc resources --accel shows an accelerator's use)\n",
           s->base.device);
  double lim = r->max_latency > 0 ? r->max_latency : s->max_latency_ms;
  int64_t best = fab_cd_best_constrained(res->evals, res->nevals, lim, s->require_fit);
  if (best >= 0) {
    fab_cd_point p;
    char buf[512];
    fab_cd_point_decode(s, res->evals[best].key, &p);
    printf("best accuracy under %.3g ms%s: %.4f at %.4g ms, area %.3f: %s\n", lim,
           s->require_fit ? " on the device" : "", res->evals[best].accuracy, res->evals[best].latency_ms,
           res->evals[best].area, fab_cd_point_str(s, &p, buf, sizeof buf));
  }
  /* checksum of the evaluations: equal across thread counts and MPI ranks */
  double sum = 0;
  for (int64_t i = 0; i < res->nevals; i++)
    sum += (double)res->evals[i].key * 1e-6 + res->evals[i].latency_ms + res->evals[i].accuracy;
  printf("checksum %.10g\n", sum);
  print_acc_stats(e);
}

static bool search(run *r, fab_cd_evaluator *e) {
  fab_cd_search_result res;
  bool ok = fab_cd_search(&r->s, e, &r->so, &res, r->d);
  fab_cd_progress_end(&r->line);
  if (ok && r->rank == 0) {
    print_search(r, e, &res);
    ok = fab_cd_write_front_files(&r->s, res.evals, res.nevals, cli_str(r->a, "o", NULL),
                                  cli_str(r->a, "plot", NULL), r->s.name, r->d);
  }
  fab_cd_search_result_free(&res);
  return ok;
}

static bool compare_strategies(run *r, fab_cd_evaluator *e) {
  fab_cd_study_options o = {.frac = r->frac, .seeds = (int)r->seeds, .search = r->so, .line = &r->line,
                           .out = r->rank == 0 ? stdout : NULL};
  o.out_dir = cli_str(r->a, "out-dir", ".");
  bool ok = fab_cd_compare_strategies(&r->s, e, &o, r->d);
  if (ok && r->rank == 0) print_acc_stats(e);
  return ok;
}

static bool compare_accuracy(run *r) {
  fab_cd_acc_compare_options o = {(int)r->max_models, (int)r->every, r->so.threads, cli_str(r->a, "o", NULL), &r->line,
                                  stdout};
  return fab_cd_compare_accuracy(&r->s, &r->eo, &o, r->d);
}

static bool compare_predictor(run *r, const fab_predictor *pr) {
  int64_t pred = cli_flag(r->a, "budget") ? r->so.budget : 2000;
  return fab_cd_compare_predictor_search(&r->s, pr, r->measure_budget, pred, r->so.seed, stdout, r->d);
}

/* The options that only some modes read, refused elsewhere. */
static int check_mode_options(const cli_args *a, const char *mode) {
  static const struct {
    const char *opt, *mode;
  } only[] = {{"frac", "strategies"}, {"seeds", "strategies"}, {"out-dir", "strategies"},
              {"max-models", "accuracy"}, {"every", "accuracy"}, {"measure-budget", "predictor"}};
  for (size_t i = 0; i < sizeof only / sizeof *only; i++)
    if (cli_flag(a, only[i].opt) && (!mode || strcmp(mode, only[i].mode) != 0))
      return cli_usage_error(a, "--%s is an option of --compare %s", only[i].opt, only[i].mode);
  if (mode && strcmp(mode, "accuracy") != 0 && (cli_flag(a, "o") || cli_flag(a, "plot")))
    return cli_usage_error(a, "--compare %s writes its files to --out-dir, not -o/--plot", mode);
  if (mode && cli_flag(a, "log")) return cli_usage_error(a, "--compare runs several searches: no --log");
  if (mode && strcmp(mode, "strategies") != 0 && cli_flag(a, "mpi"))
    return cli_usage_error(a, "--mpi shards a search or --compare strategies, not --compare %s", mode);
  return EXIT_OK;
}

/* Every option into r (before any work: a usage error costs nothing). */
static int parse_options(const cli_args *a, const char *mode, run *r) {
  fab_cd_search_options_default(&r->so);
  int st = fab_cd_strategy_lookup(cli_str(a, "strategy", "evolution"));
  if (st < 0)
    return cli_usage_error(a, "unknown strategy (exhaustive, random, evolution, combined, phase, separate)");
  r->so.strategy = (fab_cd_strategy)st;
  int64_t budget, seed, threads;
  if (!cli_int(a, "budget", 1000, 1, INT64_MAX, &budget) || !cli_int(a, "seed", 1, 0, INT64_MAX, &seed) ||
      !cli_int(a, "threads", 0, 0, 1024, &threads) || !cli_double(a, "max-latency", 0, 0, 1e12, &r->max_latency) ||
      !eval_options(a, &r->eo) || !cli_double(a, "frac", 0.01, 0, 1, &r->frac) ||
      !cli_int(a, "seeds", 5, 1, 1000, &r->seeds) || !cli_int(a, "max-models", 100, 1, INT32_MAX, &r->max_models) ||
      !cli_int(a, "every", 1, 1, INT32_MAX, &r->every) ||
      !cli_int(a, "measure-budget", 100, 1, INT64_MAX, &r->measure_budget) ||
      !cli_double(a, "rl-lr", 0, 0, 100, &r->so.rl_lr) || !cli_double(a, "rl-entropy", 0, -1, 100, &r->so.rl_entropy) ||
      !cli_double(a, "rl-explore", 0, -1, 1, &r->so.rl_explore))
    return EXIT_USAGE;
  bool wants_pred = r->eo.latency == FAB_CD_LAT_PRED || (mode && !strcmp(mode, "predictor"));
  if (wants_pred != cli_flag(a, "predictor"))
    return cli_usage_error(a, "--predictor FILE.pred goes with --latency predictor or --compare predictor");
  if (mode && !strcmp(mode, "predictor") && r->eo.latency != FAB_CD_LAT_MODEL)
    return cli_usage_error(a, "--compare predictor sets the latency itself (simulator against predictor)");
  r->so.budget = budget;
  r->so.seed = (uint64_t)seed;
  r->so.threads = (int)threads;
  r->so.log_path = cli_str(a, "log", NULL);
  r->so.progress = fab_cd_progress_stderr;
  r->so.user = &r->line;
  r->eo.progress = fab_cd_progress_stderr;
  r->eo.progress_user = &r->line;
  return EXIT_OK;
}

/* The search or the comparison `mode` names, on the loaded space. */
static bool execute(run *r, const char *mode, const fab_predictor *pr) {
  if (mode && !strcmp(mode, "accuracy")) return compare_accuracy(r);
  if (mode && !strcmp(mode, "predictor")) return compare_predictor(r, pr);
  fab_cd_evaluator *e = fab_cd_evaluator_new(&r->s, &r->eo, r->d);
  bool ok = e && (mode ? compare_strategies(r, e) : search(r, e));
  fab_cd_evaluator_free(e);
  return ok;
}

static int run_codesign(const cli_args *a) {
  if (!cli_str(a, "space", NULL)) return cli_usage_error(a, "give --space SPACE.json");
  const char *mode = cli_str(a, "compare", NULL);
  if (mode && strcmp(mode, "strategies") && strcmp(mode, "accuracy") && strcmp(mode, "predictor"))
    return cli_usage_error(a, "--compare is strategies, accuracy or predictor");
  run r = {.a = a, .size = 1};
  if (check_mode_options(a, mode) != EXIT_OK || parse_options(a, mode, &r) != EXIT_OK) return EXIT_USAGE;
  bool mpi = cli_flag(a, "mpi");
  if (mpi && !cd_mpi_built())
    return cli_user_error("this fabc was built without MPI (Debian: libopenmpi-dev), so --mpi is not available");
  if (mpi && !cd_mpi_start(&r.rank, &r.size)) return cli_user_error("MPI_Init failed");
  if (r.size > 1) r.so.shard = r.rank, r.so.nshards = r.size, r.so.exchange = cd_mpi_exchange;
  r.line.quiet = r.rank != 0;
  r.d = fab_diag_new();
  fab_predictor *pr = NULL;
  const char *pred_path = cli_str(a, "predictor", NULL);
  int rc = load_space(&r);
  if (rc == EXIT_OK) warn_unseen_knobs(&r, mode);
  if (rc == EXIT_OK && pred_path && !(pr = fab_pred_load(pred_path, r.d))) rc = EXIT_USER;
  r.eo.predict = fab_cd_predict_point;
  r.eo.predict_user = pr;
  if (rc == EXIT_OK) rc = finish(&r, execute(&r, mode, pr));
  else {
    if (rc == EXIT_USER && r.rank == 0) cli_print_diag(r.d);
    fab_diag_free(r.d);
  }
  fab_pred_free(pr);
  if (mpi) cd_mpi_stop();
  return rc;
}

static const opt_spec codesign_opts[] = {
    {"space", OPT_VALUE, "SPACE.json", "model and accelerator knobs, device, constraints (spaces/*.json)"},
    {"strategy", OPT_VALUE, "NAME",
     "exhaustive, random, evolution (NSGA-II; default), or the REINFORCE forms combined, phase, separate "
     "(also spelled rl-combined, ...)"},
    {"objectives", OPT_VALUE, "LIST", "objectives of the front: accuracy,latency,area (default: the space's, else all three)"},
    {"device", OPT_VALUE, "NAME", "the device whose limits the accelerators must fit: xcvu37p or xc7z045 (default: the space's)"},
    {"budget", OPT_VALUE, "N", "evaluations (default 1000; 2000 predicted ones with --compare predictor)"},
    {"latency", OPT_VALUE, "model|sim|predictor",
     "the authors' analytical model (default), the cycle simulator, or a trained predictor (--predictor)"},
    {"predictor", OPT_VALUE, "FILE.pred", "the latency predictor of --latency predictor and --compare predictor"},
    {"max-latency", OPT_VALUE, "MS", "the limit of the printed best accuracy (default: the space's max_latency_ms)"},
    {"accuracy", OPT_VALUE, "auto|trained|proxy|standin",
     "accuracy objective: auto (default: trained for <= 100 models, else synflow), short training on ListOps, "
     "the synflow proxy, or the documented stand-in (the default when accuracy is not an objective)"},
    {"acc-cache", OPT_VALUE, "FILE", "trained/proxy accuracies per model: a stopped run resumes without retraining"},
    {"auto-max-models", OPT_VALUE, "N", "the model count up to which auto trains (default 100)"},
    {"train-steps", OPT_VALUE, "N", "trained accuracy: optimiser steps per model"},
    {"train-seq", OPT_VALUE, "S", "trained accuracy: sequence length of the task"},
    {"train-width-div", OPT_VALUE, "K", "trained accuracy: train at hidden/K"},
    {"train-task", OPT_VALUE, "NAME", "trained accuracy: listops (default), parity or majority"},
    {"train-depth", OPT_VALUE, "D", "trained accuracy: ListOps nesting depth"},
    {"train-lr", OPT_VALUE, "LR", "trained accuracy: learning rate"},
    {"train-batch", OPT_VALUE, "B", "trained accuracy: batch size"},
    {"train-samples", OPT_VALUE, "N", "trained accuracy: training examples (and N/4 held out)"},
    {"threads", OPT_VALUE, "N", "parallel evaluations (default: all cores)"},
    {"mpi", OPT_FLAG, NULL, "shard the evaluations over the ranks of `mpirun -n N fabc codesign ... --mpi` "
                            "(the same results as one process; rank 0 prints and writes)"},
    {"log", OPT_VALUE, "FILE", "append-only evaluation log: a stopped run resumes from it"},
    {"seed", OPT_VALUE, "N", "seed (default 1)"},
    {"o", OPT_VALUE, "FILE.csv", "the Pareto front as CSV (--compare accuracy: the per-model table)"},
    {"plot", OPT_VALUE, "FRONT.svg", "the front as an SVG plot"},
    {"compare", OPT_VALUE, "WHAT",
     "instead of one search, compare: strategies (every strategy against the exhaustive front), accuracy "
     "(trained, proxy and stand-in accuracy of the models), predictor (predictor-driven against simulated search)"},
    {"frac", OPT_VALUE, "F", "--compare strategies: budget as a fraction of the canonical points (default 0.01, at least 64)"},
    {"seeds", OPT_VALUE, "K", "--compare strategies: seeds 1..K per strategy (default 5); each hypervolume "
                              "is printed with a 95% bootstrap interval over the seeds"},
    {"rl-lr", OPT_VALUE, "LR", "REINFORCE: learning rate (default 0.05)"},
    {"rl-entropy", OPT_VALUE, "B", "REINFORCE: entropy bonus weight (default 0.02; -1: none)"},
    {"rl-explore", OPT_VALUE, "E", "REINFORCE: uniform share of the sampling distribution, doubled after a batch "
                                   "with no new point (default 0.05; -1: none)"},
    {"out-dir", OPT_VALUE, "DIR", "--compare strategies: where SPACE-exhaustive.csv/.svg, -trace.csv, -hv.svg go (default .)"},
    {"max-models", OPT_VALUE, "N", "--compare accuracy: models to score (default 100)"},
    {"every", OPT_VALUE, "K", "--compare accuracy: every K-th model (default 1)"},
    {"measure-budget", OPT_VALUE, "N", "--compare predictor: simulated evaluations of the measured search (default 100)"},
};

const cli_cmd cmd_codesign = {
    "codesign", "--space SPACE.json [--device D] [--objectives accuracy,latency,area] --strategy evolution --budget N -o front.csv --plot front.svg",
    "joint model/accelerator search (Codesign-NAS): accuracy, latency, area",
    "Objectives and constraints (device, latency limit) come from the space file unless\n"
    "--objectives / --device say otherwise; see docs/codesign.md.  Evaluations run on all cores; to shard\n"
    "them across processes and machines run `mpirun -n K fabc codesign ... --mpi` (the same results).\n"
    "--compare strategies|accuracy|predictor runs the experiments of docs/codesign.md on the space.",
    codesign_opts, sizeof codesign_opts / sizeof *codesign_opts, 0, 0, run_codesign,
};
