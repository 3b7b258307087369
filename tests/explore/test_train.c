/* test_train.c — explore.train.*: tasks, loss, optimiser, the training
 * loop, data files, and agreement with the reference interpreter. */
#include <unistd.h>

#include "frontend.h"
#include "interp.h"
#include "train.h"
#include "util.h"

static const char *examples;

static fab_module *tiny(int seq, int vocab, int classes, fab_diag *d) {
  char path[1024];
  snprintf(path, sizeof path, "%s/tiny.fab", examples);
  fab_define defs[] = {{"seq", seq}, {"d", 16}, {"h", 32}, {"vocab", vocab}, {"classes", classes}};
  fab_frontend_options o = {.defines = defs, .ndefines = 5};
  fab_module *m = fab_frontend_compile_file(path, &o, d);
  if (!m) fab_diag_print(d, stderr);
  return m;
}

static void test_tasks(void) {
  fab_diag *d = fab_diag_new();
  for (int k = 0; k < FAB_TASK_COUNT; k++) {
    fab_task_options o = {.kind = k, .n = 300, .seq = 48, .seed = 5};
    fab_dataset a, b, c;
    CHECK(fab_task_generate(&o, &a, d));
    CHECK(fab_task_generate(&o, &b, d));
    o.seed = 6;
    CHECK(fab_task_generate(&o, &c, d));
    CHECK(!memcmp(a.x, b.x, sizeof(int32_t) * 300 * 48) && !memcmp(a.y, b.y, sizeof(int32_t) * 300));
    CHECK(memcmp(a.x, c.x, sizeof(int32_t) * 300 * 48) != 0);
    int hist[16] = {0};
    for (int64_t i = 0; i < a.n; i++) {
      CHECK(a.y[i] >= 0 && a.y[i] < a.classes);
      hist[a.y[i] & 15]++;
      for (int64_t j = 0; j < a.seq; j++) CHECK(a.x[i * a.seq + j] >= 0 && a.x[i * a.seq + j] < a.vocab);
      if (k == FAB_TASK_LISTOPS) CHECK(fab_listops_eval(a.x + i * a.seq, a.seq) == a.y[i]);
    }
    int used = 0;
    for (int c2 = 0; c2 < 16; c2++) used += hist[c2] > 0;
    CHECK(used >= 2); /* not a constant task */
    printf("task %s: vocab %d classes %d, %d labels used\n", fab_task_name(k), a.vocab, a.classes, used);
    fab_dataset_free(&a);
    fab_dataset_free(&b);
    fab_dataset_free(&c);
  }
  /* ListOps evaluator on a hand example: [MAX 2 9 [MIN 4 7 ] 0 ] = 9 */
  int32_t ex[] = {11, 3, 10, 12, 5, 8, 15, 1, 15, 0, 0};
  CHECK(fab_listops_eval(ex, 11) == 9);
  int32_t ex2[] = {14, 10, 10, 15}; /* [SM 9 9 ] = 8 */
  CHECK(fab_listops_eval(ex2, 4) == 8);
  int32_t ex3[] = {13, 4, 2, 8, 9, 15}; /* [MED 3 1 7 8 ] = lower median 3 */
  CHECK(fab_listops_eval(ex3, 6) == 3);
  CHECK(fab_listops_eval(ex3, 5) == -1);
  fab_task_options bad = {.kind = FAB_TASK_LISTOPS, .n = 0, .seq = 10};
  fab_dataset z;
  CHECK(!fab_task_generate(&bad, &z, d) && fab_diag_error_count(d) == 1);
  CHECK(fab_task_lookup("parity") == FAB_TASK_PARITY && fab_task_lookup("nope") == -1);
  fab_diag_free(d);
}

static void test_loss_optim(void) {
  double logits[3] = {1.0, 2.0, 0.5}, g[3] = {0};
  double l = fab_cross_entropy(logits, 3, 1, 0.5, g);
  double lse = log(exp(1.0) + exp(2.0) + exp(0.5));
  CHECK(fabs(l - (lse - 2.0)) < 1e-12);
  CHECK(fabs(g[1] - 0.5 * (exp(2.0 - lse) - 1)) < 1e-12 && fabs(g[0] + g[1] + g[2]) < 1e-12);
  /* AdamW's first step moves every weight by lr (sign of the gradient)
   * after decay: w1 = w0 (1 - lr wd) - lr sign(g) */
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_module_new("opt");
  fab_func *f = fab_module_add_func(m, "main");
  int x = b_input(m, f, "x", 0, ty(FAB_F32, 1, 2));
  int w = b_weight(m, f, "w", ty(FAB_F32, 2, 2, 2));
  b_output(m, f, b_infer(m, f, b_op(m, f, FAB_OP_DENSE, 2, x, w)), "y", 0);
  fab_ad *ad = fab_ad_new(m, d);
  CHECK(ad != NULL);
  fab_adamw o;
  CHECK(fab_adamw_init(&o, ad, d));
  double *p = fab_ad_param(ad, 0);
  double gv[4] = {0.3, -2, 1e-3, -0.1}, w0[4] = {1, -1, 0.5, 2};
  memcpy(p, w0, sizeof w0);
  double *gp[1] = {gv};
  fab_adamw_step(&o, ad, gp, 0.1);
  for (int j = 0; j < 4; j++) CHECK(fabs(p[j] - (w0[j] * (1 - 0.1 * 0.01) - 0.1 * (gv[j] > 0 ? 1 : -1))) < 1e-6);
  fab_adamw_free(&o);
  fab_ad_free(ad);
  fab_module_free(m);
  fab_diag_free(d);
}

/* The differentiable forward equals the reference interpreter on tiny.fab,
 * and trained weights saved as safetensors run in the interpreter. */
static void test_interp_agree(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = tiny(16, 32, 4, d);
  CHECK(m != NULL);
  if (!m) return;
  fab_ad *ad = fab_ad_new(m, d);
  CHECK(ad && fab_ad_init_params(ad, 3, d));
  fab_task_options to = {.kind = FAB_TASK_MAJORITY, .n = 64, .seq = 16, .seed = 1, .symbols = 4};
  fab_dataset ds;
  CHECK(fab_task_generate(&to, &ds, d));
  fab_train_options o;
  fab_train_options_default(&o);
  o.steps = 3;
  o.batch = 8;
  CHECK(fab_train_ad(ad, &ds, &o, NULL, d));
  fab_tensor_set *w = fab_tset_new();
  CHECK(fab_ad_store_weights(ad, w, d));
  char path[] = "/tmp/fab_explore_wXXXXXX";
  int fd = mkstemp(path);
  close(fd);
  char err[256];
  CHECK(fab_safetensors_write(path, w, err, sizeof err) == FAB_OK);
  fab_tensor_set *w2 = NULL;
  CHECK(fab_safetensors_read(path, &w2, err, sizeof err) == FAB_OK);
  unlink(path);
  fab_ad *ad2 = fab_ad_new(m, d);
  CHECK(ad2 && fab_ad_load_weights(ad2, w2, d)); /* F32 round trip */
  fab_ad_tape *t = fab_ad_tape_new(ad2);
  double worst = 0;
  for (int s = 0; s < 4; s++) {
    fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new();
    int64_t dims[1] = {16};
    fab_tensor *tk = fab_tset_add(in, "tokens", FAB_DT_I32, 1, dims);
    double xin[16];
    for (int j = 0; j < 16; j++) xin[j] = ((int32_t *)tk->data)[j] = ds.x[s * 16 + j];
    const double *inputs[1] = {xin};
    CHECK(fab_ad_forward(t, inputs, d));
    CHECK(fab_interp_run(m, w2, in, out, d));
    const fab_tensor *lo = fab_tset_find(out, "logits");
    CHECK(lo && fab_tensor_numel(lo) == 4);
    const double *y = fab_ad_value(t, fab_ad_output_op(ad2, 0));
    for (int c = 0; lo && c < 4; c++) {
      double e = fabs(y[c] - ((float *)lo->data)[c]) / fmax(1, fabs(y[c]));
      if (e > worst) worst = e;
    }
    fab_tset_free(in);
    fab_tset_free(out);
  }
  printf("forward vs interpreter: worst relative difference %.3g\n", worst);
  CHECK(worst < 1e-5);
  if (fab_diag_count(d)) fab_diag_print(d, stderr);
  fab_ad_tape_free(t);
  fab_ad_free(ad2);
  fab_ad_free(ad);
  fab_tset_free(w);
  fab_tset_free(w2);
  fab_dataset_free(&ds);
  fab_module_free(m);
  fab_diag_free(d);
}

static void count_reports(const fab_train_progress *p, void *user) {
  (void)p;
  ++*(int *)user;
}

/* tiny.fab learns the majority task well above chance (0.25), with 1 and
 * 2 threads; the module-level API writes every parameter back. */
static void test_learns(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = tiny(16, 5, 4, d);
  if (!m) {
    check_failures++;
    return;
  }
  fab_task_options to = {.kind = FAB_TASK_MAJORITY, .n = 2000, .seq = 16, .seed = 11, .symbols = 4};
  fab_dataset tr, te;
  CHECK(fab_task_generate(&to, &tr, d));
  to.seed = 12;
  to.n = 300;
  CHECK(fab_task_generate(&to, &te, d));
  for (int threads = 1; threads <= 2; threads++) {
    fab_tensor_set *w = fab_tset_new();
    fab_train_options o;
    fab_train_options_default(&o);
    o.steps = 300;
    o.batch = 16;
    o.lr = 1e-2;
    o.threads = threads;
    int reports = 0;
    o.progress = count_reports;
    o.progress_user = &reports;
    fab_train_result res;
    double acc0 = 0, acc = 0, loss = 0;
    CHECK(fab_train_module(m, w, &tr, &o, &res, d));
    CHECK(w->count == m->nparams);
    CHECK(fab_eval_module(m, w, &te, threads, &acc, &loss, d));
    CHECK(reports == 30);
    fab_tensor_set *w0 = fab_tset_new();
    fab_ad *ad0 = fab_ad_new(m, d);
    CHECK(ad0 && fab_ad_init_params(ad0, 1, d));
    CHECK(fab_eval_ad(ad0, &te, 1, &acc0, NULL, d));
    fab_ad_free(ad0);
    fab_tset_free(w0);
    printf("majority, %d thread(s): untrained acc %.3f, trained acc %.3f (loss %.3f), %.0f examples/s\n",
           threads, acc0, acc, loss, res.examples_per_s);
    CHECK(acc > 0.6);
    fab_tset_free(w);
  }
  /* errors: wrong sequence length, token out of range */
  fab_dataset bad = tr;
  bad.seq = 8;
  bad.n = 4;
  fab_tensor_set *w = fab_tset_new();
  CHECK(!fab_train_module(m, w, &bad, NULL, NULL, d));
  int32_t *x = tr.x;
  x[5] = 99;
  fab_diag_clear(d);
  fab_train_options o;
  fab_train_options_default(&o);
  o.steps = 2;
  o.threads = 2;
  o.batch = 2000;
  CHECK(!fab_train_module(m, w, &tr, &o, NULL, d));
  CHECK(fab_diag_error_count(d) >= 1);
  fab_tset_free(w);
  fab_dataset_free(&tr);
  fab_dataset_free(&te);
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_files(void) {
  fab_diag *d = fab_diag_new();
  fab_task_options to = {.kind = FAB_TASK_PARITY, .n = 10, .seq = 8, .seed = 2};
  fab_dataset a, b, c;
  CHECK(fab_task_generate(&to, &a, d));
  fab_tensor_set *s = fab_tset_new();
  int64_t dx[2] = {10, 8}, dy[1] = {10};
  memcpy(fab_tset_add(s, "x", FAB_DT_I32, 2, dx)->data, a.x, 320);
  memcpy(fab_tset_add(s, "y", FAB_DT_I32, 1, dy)->data, a.y, 40);
  char dir[] = "/tmp/fab_explore_dXXXXXX", p1[256], p2[256], p3[256];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(p1, sizeof p1, "%s/data.safetensors", dir);
  snprintf(p2, sizeof p2, "%s/train_x.npy", dir);
  snprintf(p3, sizeof p3, "%s/train_y.npy", dir);
  char err[256];
  CHECK(fab_safetensors_write(p1, s, err, sizeof err) == FAB_OK);
  CHECK(fab_npy_write(p2, fab_tset_find(s, "x"), err, sizeof err) == FAB_OK);
  CHECK(fab_npy_write(p3, fab_tset_find(s, "y"), err, sizeof err) == FAB_OK);
  CHECK(fab_dataset_load(p1, &b, d));
  CHECK(fab_dataset_load(p2, &c, d));
  CHECK(b.n == 10 && b.seq == 8 && !memcmp(b.x, a.x, 320) && !memcmp(b.y, a.y, 40));
  CHECK(c.n == 10 && c.seq == 8 && !memcmp(c.x, a.x, 320) && !memcmp(c.y, a.y, 40));
  CHECK(b.vocab <= 3 && b.classes <= 2);
  fab_dataset e;
  CHECK(!fab_dataset_load(p3, &e, d)); /* no 'x' */
  unlink(p3);
  CHECK(!fab_dataset_load(p2, &e, d)); /* labels missing */
  CHECK(fab_diag_error_count(d) == 2);
  unlink(p1);
  unlink(p2);
  rmdir(dir);
  fab_tset_free(s);
  fab_dataset_free(&a);
  fab_dataset_free(&b);
  fab_dataset_free(&c);
  fab_diag_free(d);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  examples = argv[1];
  const char *t = argv[2];
  if (!strcmp(t, "tasks")) test_tasks();
  else if (!strcmp(t, "loss_optim")) test_loss_optim();
  else if (!strcmp(t, "interp_agree")) test_interp_agree();
  else if (!strcmp(t, "learns")) test_learns();
  else if (!strcmp(t, "files")) test_files();
  else return 2;
  if (check_failures) fprintf(stderr, "%s: %d check(s) failed\n", t, check_failures);
  return check_failures ? 1 : 0;
}
