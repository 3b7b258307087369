/* test_accuracy.c — codesign.acc_* tests: the accuracy objectives (trained,
 * proxy, stand-in), the AUTO rule, the per-model cache in memory and on
 * disk, determinism across thread counts.  Training budgets are tiny (a
 * fraction of a second per model): these test the machinery, not the
 * numbers of docs/codesign.md.
 * Usage: test_cd_accuracy SPACES_DIR TEST */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_test.h"
#include "codesign.h"


/* 4 models (hidden x ffn ratio, one of them with attention) x 2
 * accelerators. */
static const char *acc_space =
    "{\"name\":\"acc\",\"seq\":64,\"vocab\":16,\"classes\":2,"
    "\"model\":{\"layers\":[1],\"hidden\":[64,128],\"kind0\":[\"fbfly\",\"abfly\"]},"
    "\"accel\":{\"p_be\":[8,16],\"p_bu\":[4]}}";

static void tiny_budget(fab_cd_eval_options *o) {
  fab_cd_eval_options_default(o);
  o->accuracy = FAB_CD_ACC_TRAINED;
  o->train.steps = 15;
  o->train.batch = 8;
  o->train.train_n = 120;
  o->train.test_n = 60;
}

static void t_acc_trained(void) {
  fab_cd_model m = {.layers = 2, .hidden = 256, .ffn = 512, .heads = 2, .seq = 4000,
                    .vocab = 256, .classes = 2, .kind = {0, 1}};
  fab_cd_train_options o;
  fab_cd_train_options_default(&o);
  fab_cd_model small;
  fab_cd_train_model(&m, &o, &small);
  /* widths / 16, the ratio and the layer kinds kept, the task's shapes */
  CHECK(small.hidden == 16 && small.ffn == 32 && small.layers == 2 && small.kind[1] == 1);
  CHECK(small.seq == o.seq && small.vocab == 16 && small.classes == 10);
  o.steps = 15, o.batch = 8, o.train_n = 120, o.test_n = 60;
  double a = -1, b = -2;
  CHECK(fab_cd_train_accuracy(&m, &o, &a, d));
  CHECK(fab_cd_train_accuracy(&m, &o, &b, d));
  CHECK(a >= 0 && a <= 1 && a == b); /* deterministic */
  /* a bad task is an error, not an exit */
  o.task = 99;
  CHECK(!fab_cd_train_accuracy(&m, &o, &a, d));
  CHECK(fab_diag_error_count(d) == 1);
  fab_diag_clear(d);
}

static void t_acc_auto(void) {
  fab_cd_space text, large, acc;
  CHECK(load("fabnet-text.json", &text));
  CHECK(load("fabnet-large.json", &large));
  CHECK(fab_cd_space_parse(acc_space, strlen(acc_space), "acc", &acc, d));
  CHECK(fab_cd_count_models(&text, 1000) == 30);
  CHECK(fab_cd_count_models(&acc, 1000) == 4);
  CHECK(fab_cd_count_models(&large, 100) == 101); /* capped */
  fab_cd_eval_options o;
  fab_cd_eval_options_default(&o);
  CHECK(o.accuracy == FAB_CD_ACC_AUTO);
  fab_cd_evaluator *e = fab_cd_evaluator_new(&text, &o, d);
  CHECK(e && fab_cd_evaluator_accuracy(e) == FAB_CD_ACC_TRAINED);
  CHECK(e && strstr(fab_cd_evaluator_name(e), "trained") != NULL);
  fab_cd_evaluator_free(e);
  e = fab_cd_evaluator_new(&large, &o, d);
  CHECK(e && fab_cd_evaluator_accuracy(e) == FAB_CD_ACC_PROXY);
  fab_cd_evaluator_free(e);
  o.auto_max_models = 10; /* the limit is an option */
  e = fab_cd_evaluator_new(&text, &o, d);
  CHECK(e && fab_cd_evaluator_accuracy(e) == FAB_CD_ACC_PROXY);
  fab_cd_evaluator_free(e);
  /* zero options: the stand-in, as before */
  e = fab_cd_evaluator_new(&text, NULL, d);
  CHECK(e && fab_cd_evaluator_accuracy(e) == FAB_CD_ACC_STANDIN);
  fab_cd_evaluator_free(e);
  o.accuracy = (fab_cd_acc_kind)42;
  CHECK(fab_cd_evaluator_new(&text, &o, d) == NULL && fab_diag_error_count(d) == 1);
  fab_diag_clear(d);
  CHECK(fab_cd_acc_lookup("trained") == FAB_CD_ACC_TRAINED && fab_cd_acc_lookup("x") < 0);
}

static bool search(const fab_cd_space *s, const fab_cd_eval_options *eo, int threads,
                   fab_cd_search_result *r, int64_t *computed, int64_t *cached) {
  fab_cd_evaluator *e = fab_cd_evaluator_new(s, eo, d);
  fab_cd_search_options o;
  fab_cd_search_options_default(&o);
  o.strategy = FAB_CD_EXHAUSTIVE;
  o.threads = threads;
  bool ok = e && fab_cd_search(s, e, &o, r, d);
  if (e) fab_cd_evaluator_acc_stats(e, computed, cached, NULL);
  fab_cd_evaluator_free(e);
  if (!ok) fab_diag_print(d, stderr);
  return ok;
}

static int progress_calls;
static void count_progress(const fab_cd_progress *p, void *user) {
  (void)user;
  if (!strcmp(p->phase, "train") && p->total == 4) progress_calls++;
}

static void t_acc_cache(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(acc_space, strlen(acc_space), "acc", &s, d));
  char path[] = "/tmp/fab_cd_accXXXXXX";
  CHECK(temp_path(path));
  fab_cd_eval_options eo;
  tiny_budget(&eo);
  eo.progress = count_progress;
  fab_cd_search_result a, b, c;
  int64_t computed = -1, cached = -1;
  /* memory: each model trained once although paired with 2 accelerators */
  CHECK(search(&s, &eo, 1, &a, &computed, &cached));
  CHECK(a.nevals == 8 && computed == 4 && cached == 0 && progress_calls == 4);
  for (int64_t i = 0; i < a.nevals; i++) CHECK(a.evals[i].ok && a.evals[i].accuracy >= 0);
  /* disk: a second run reads every model back, the same numbers, with 3
   * threads (training order differs, results must not) */
  eo.acc_cache = path;
  CHECK(search(&s, &eo, 3, &b, &computed, &cached));
  CHECK(computed == 4 && cached == 0);
  FILE *f = fopen(path, "a");
  if (f) fputs("0.5\ttorn line with no newline", f), fclose(f);
  CHECK(search(&s, &eo, 2, &c, &computed, &cached));
  CHECK(computed == 0 && cached == 4);
  CHECK(a.nevals == b.nevals && b.nevals == c.nevals);
  for (int64_t i = 0; i < a.nevals && i < b.nevals && i < c.nevals; i++) {
    CHECK(a.evals[i].key == b.evals[i].key && a.evals[i].accuracy == b.evals[i].accuracy);
    CHECK(c.evals[i].accuracy == a.evals[i].accuracy);
  }
  /* another budget does not reuse the cached numbers */
  fab_cd_search_result_free(&c);
  eo.train.steps = 16;
  CHECK(search(&s, &eo, 2, &c, &computed, &cached));
  CHECK(computed == 4 && cached == 0);
  fab_cd_search_result_free(&a);
  fab_cd_search_result_free(&b);
  fab_cd_search_result_free(&c);
  unlink(path);
  /* an unwritable cache is an error */
  eo.acc_cache = "/nonexistent-dir/x.acc";
  CHECK(fab_cd_evaluator_new(&s, &eo, d) == NULL && fab_diag_error_count(d) > 0);
  fab_diag_clear(d);
}

static void t_acc_kinds(void) {
  fab_cd_space s;
  CHECK(fab_cd_space_parse(acc_space, strlen(acc_space), "acc", &s, d));
  fab_cd_eval_options eo;
  fab_cd_eval_options_default(&eo);
  fab_cd_result r[2];
  const fab_cd_acc_kind kinds[2] = {FAB_CD_ACC_STANDIN, FAB_CD_ACC_PROXY};
  for (int k = 0; k < 2; k++) {
    eo.accuracy = kinds[k];
    fab_cd_evaluator *e = fab_cd_evaluator_new(&s, &eo, d);
    CHECK(e && fab_cd_evaluator_accuracy(e) == kinds[k]);
    CHECK(e && fab_cd_evaluate(e, 0, &r[k], d) && r[k].ok);
    fab_cd_evaluator_free(e);
  }
  CHECK(r[0].accuracy > 0.5 && r[0].accuracy < 0.7); /* the stand-in's range */
  CHECK(isfinite(r[1].accuracy) && r[1].accuracy != r[0].accuracy);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  dir = argv[1];
  const char *t = argv[2];
  d = fab_diag_new();
  if (!strcmp(t, "acc_trained")) t_acc_trained();
  else if (!strcmp(t, "acc_auto")) t_acc_auto();
  else if (!strcmp(t, "acc_cache")) t_acc_cache();
  else if (!strcmp(t, "acc_kinds")) t_acc_kinds();
  else {
    fprintf(stderr, "unknown test %s\n", t);
    fails++;
  }
  fab_diag_free(d);
  return fails ? 1 : 0;
}
