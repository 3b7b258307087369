/* bench.c — training throughput of fab_train and a gradient dump for the
 * PyTorch comparison (scripts/explore/torch_compare.py).
 *
 *   bench EXAMPLES OUTDIR SEQ D H BATCH STEPS THREADS
 *
 * Compiles examples/tiny.fab with those sizes (vocab 16, classes 10),
 * initialises it (seed 1), writes every weight, one ListOps batch and the
 * mean cross-entropy loss and weight gradients on it as .npy files under
 * OUTDIR, then trains STEPS steps and prints examples/s for
 * forward+backward (+ the optimiser). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend.h"
#include "train.h"

static void npy(const char *dir, const char *sub, const char *name, fab_tensor_dtype dt, int rank,
                const int64_t *dims, const void *data, size_t nbytes) {
  fab_tensor_set *s = fab_tset_new();
  fab_tensor *t = fab_tset_add(s, name, dt, rank, dims);
  memcpy(t->data, data, nbytes);
  char path[2048], err[256];
  snprintf(path, sizeof path, "%s/%s/%s.npy", dir, sub, name);
  if (fab_npy_write(path, t, err, sizeof err) != FAB_OK) fprintf(stderr, "%s\n", err);
  fab_tset_free(s);
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: bench EXAMPLES OUTDIR SEQ D H BATCH STEPS THREADS\n");
    return 2;
  }
  const char *ex = argv[1], *out = argv[2];
  int seq = atoi(argv[3]), dm = atoi(argv[4]), h = atoi(argv[5]), batch = atoi(argv[6]);
  int steps = atoi(argv[7]), threads = atoi(argv[8]);
  char path[2048];
  snprintf(path, sizeof path, "%s/tiny.fab", ex);
  fab_define defs[] = {{"seq", seq}, {"d", dm}, {"h", h}, {"vocab", 16}, {"classes", 10}};
  fab_frontend_options fo = {.defines = defs, .ndefines = 5};
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_file(path, &fo, d);
  fab_ad *ad = m ? fab_ad_new(m, d) : NULL;
  if (!ad || !fab_ad_init_params(ad, 1, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  mkdir(out, 0777);
  snprintf(path, sizeof path, "%s/w", out);
  mkdir(path, 0777);
  snprintf(path, sizeof path, "%s/g", out);
  mkdir(path, 0777);
  fab_task_options to = {.kind = FAB_TASK_LISTOPS, .n = 4096, .seq = seq, .seed = 1};
  fab_dataset ds;
  if (!fab_task_generate(&to, &ds, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  int64_t xd[2] = {batch, seq}, yd[1] = {batch};
  npy(out, ".", "x", FAB_DT_I32, 2, xd, ds.x, sizeof(int32_t) * (size_t)(batch * seq));
  npy(out, ".", "y", FAB_DT_I32, 1, yd, ds.y, sizeof(int32_t) * (size_t)batch);
  /* loss and gradients of the first batch, in double */
  fab_ad_tape *t = fab_ad_tape_new(ad);
  fab_ad_zero_param_grads(t);
  double loss = 0, *in = malloc(sizeof(double) * (size_t)seq);
  int oop = fab_ad_output_op(ad, 0);
  for (int n = 0; n < batch; n++) {
    for (int j = 0; j < seq; j++) in[j] = ds.x[n * seq + j];
    const double *ins[1] = {in};
    fab_ad_forward(t, ins, d);
    loss += fab_cross_entropy(fab_ad_value(t, oop), 10, ds.y[n], 1.0 / batch, fab_ad_grad(t, oop)) / batch;
    fab_ad_backward(t);
  }
  for (int p = 0; p < m->nparams; p++) {
    const fab_param *pp = &m->params[p];
    int64_t n = fab_ad_param_numel(ad, p);
    double *wd = fab_ad_param(ad, p), *gd = fab_ad_param_grad(t, p);
    float *wf = malloc(sizeof(float) * (size_t)n);
    for (int64_t j = 0; j < n; j++) wf[j] = (float)wd[j];
    /* weights go out as f32 and come back: train on exactly those */
    for (int64_t j = 0; j < n; j++) wd[j] = wf[j];
    npy(out, "w", pp->name, FAB_DT_F32, pp->type.rank, pp->type.dims, wf, sizeof(float) * (size_t)n);
    npy(out, "g", pp->name, FAB_DT_F64, pp->type.rank, pp->type.dims, gd, sizeof(double) * (size_t)n);
    free(wf);
  }
  /* recompute with the f32-rounded weights for the dump */
  fab_ad_zero_param_grads(t);
  loss = 0;
  for (int n = 0; n < batch; n++) {
    for (int j = 0; j < seq; j++) in[j] = ds.x[n * seq + j];
    const double *ins[1] = {in};
    fab_ad_forward(t, ins, d);
    loss += fab_cross_entropy(fab_ad_value(t, oop), 10, ds.y[n], 1.0 / batch, fab_ad_grad(t, oop)) / batch;
    fab_ad_backward(t);
  }
  for (int p = 0; p < m->nparams; p++)
    npy(out, "g", m->params[p].name, FAB_DT_F64, m->params[p].type.rank, m->params[p].type.dims,
        fab_ad_param_grad(t, p), sizeof(double) * (size_t)fab_ad_param_numel(ad, p));
  snprintf(path, sizeof path, "%s/loss.txt", out);
  FILE *f = fopen(path, "w");
  if (f) {
    fprintf(f, "%.17g\n", loss);
    fclose(f);
  }
  fab_ad_tape_free(t);
  free(in);
  fab_train_options o;
  fab_train_options_default(&o);
  o.steps = steps;
  o.batch = batch;
  o.threads = threads;
  o.report_every = steps / 4 > 0 ? steps / 4 : 1;
  o.progress = fab_train_progress_stderr;
  fab_train_result res;
  if (!fab_train_ad(ad, &ds, &o, &res, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  int64_t np_ = 0;
  for (int p = 0; p < m->nparams; p++) np_ += fab_ad_param_numel(ad, p);
  printf("fab_train seq %d d %d h %d: %lld params, batch %d, %d thread(s): loss %.4f, %.0f examples/s "
         "(forward+backward+AdamW)\n",
         seq, dm, h, (long long)np_, batch, threads, loss, res.examples_per_s);
  fab_dataset_free(&ds);
  fab_ad_free(ad);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}
