/* loop.c — the training loop: seeded epochs, minibatches split over
 * pthreads, gradient clipping, AdamW, progress reports; and evaluation.
 *
 * Threads: each worker owns a tape (values and parameter-gradient
 * accumulators) and runs forward+backward over its slice of the batch;
 * the main thread then sums the workers' gradients in a fixed order, so a
 * run is deterministic for a given thread count.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ad_internal.h"
#include "interp.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fab_train_options_default(fab_train_options *o) {
  memset(o, 0, sizeof *o);
  o->steps = 100;
  o->batch = 32;
  o->lr = 1e-3;
  o->weight_decay = 0.01;
  o->beta1 = 0.9;
  o->beta2 = 0.999;
  o->eps = 1e-8;
  o->clip = 1.0;
  o->seed = 1;
  o->threads = 1;
  o->report_every = 10;
}

void fab_train_progress_stderr(const fab_train_progress *p, void *user) {
  (void)user;
  bool tty = isatty(fileno(stderr));
  char acc[32] = "";
  if (p->eval_acc >= 0) snprintf(acc, sizeof acc, "  acc %.3f", p->eval_acc);
  fprintf(stderr, "%sstep %lld/%lld  loss %.4f  %.0f ex/s  %.1fs  ETA %.1fs%s%s", tty ? "\r" : "",
          (long long)p->step, (long long)p->steps, p->loss, p->examples_per_s, p->elapsed_s,
          p->eta_s, acc, tty && !p->final ? "   " : "\n");
  fflush(stderr);
}

/* ---- one worker's share of a batch -------------------------------------- */

typedef struct worker {
  fab_ad_tape *tape;
  const fab_dataset *ds;
  const int64_t *idx; /* sample indices */
  int64_t count;
  double gscale;      /* 1/batch (mean loss); 0: forward only */
  double loss;
  int64_t correct;
  bool ok;
  fab_diag *diag;
  double *in;         /* one sample's tokens as doubles */
} worker;

static void *work(void *arg) {
  worker *w = arg;
  const fab_ad *ad = w->tape->ad;
  int oop = ad->outputs[0];
  int C = (int)ad->ops[oop].n;
  w->loss = 0;
  w->correct = 0;
  w->ok = true;
  const double *inputs[1] = {w->in};
  for (int64_t s = 0; s < w->count; s++) {
    int64_t i = w->idx[s];
    for (int64_t j = 0; j < w->ds->seq; j++) w->in[j] = (double)w->ds->x[i * w->ds->seq + j];
    if (!fab_ad_forward(w->tape, inputs, w->diag)) {
      w->ok = false;
      return NULL;
    }
    const double *logits = w->tape->val[oop];
    int best = 0;
    for (int c = 1; c < C; c++)
      if (logits[c] > logits[best]) best = c;
    w->correct += best == w->ds->y[i];
    w->loss += fab_cross_entropy(logits, C, w->ds->y[i], w->gscale,
                                 w->gscale != 0 ? w->tape->grad[oop] : NULL);
    if (w->gscale != 0) fab_ad_backward(w->tape);
  }
  return NULL;
}

/* Runs the workers over idx[0..n) split in contiguous slices. */
static bool run_workers(worker *ws, int T, const int64_t *idx, int64_t n, double gscale) {
  pthread_t th[64];
  bool started[64] = {false};
  int64_t per = (n + T - 1) / T;
  for (int k = 0; k < T; k++) {
    int64_t lo = k * per < n ? k * per : n, hi = (k + 1) * per < n ? (k + 1) * per : n;
    ws[k].idx = idx + lo;
    ws[k].count = hi - lo;
    ws[k].gscale = gscale;
    if (k > 0 && ws[k].count > 0) started[k] = pthread_create(&th[k], NULL, work, &ws[k]) == 0;
  }
  work(&ws[0]);
  for (int k = 1; k < T; k++) {
    if (started[k]) pthread_join(th[k], NULL);
    else if (ws[k].count > 0) work(&ws[k]); /* no thread: run it here */
  }
  bool ok = true;
  for (int k = 0; k < T; k++) ok = ok && ws[k].ok;
  return ok;
}

/* Checks that the model reads one i32 token row of ds->seq and writes
 * at least ds->classes logits. */
static bool check_model(const fab_ad *ad, const fab_dataset *ds, fab_diag *d) {
  if (ad->ninputs != 1 || ad->noutputs < 1 ||
      ad->f->ops[ad->inputs[0]].type.dtype != FAB_I32 || ad->ops[ad->inputs[0]].n != ds->seq) {
    fab_error(d, (fab_loc){0},
              "training: the model must take one i32 token input of %lld ids and output logits",
              (long long)ds->seq);
    return false;
  }
  if (ad->ops[ad->outputs[0]].n < ds->classes) {
    fab_error(d, (fab_loc){0}, "training: the model outputs %lld logits but the data has %d classes",
              (long long)ad->ops[ad->outputs[0]].n, ds->classes);
    return false;
  }
  return true;
}

static worker *make_workers(const fab_ad *ad, const fab_dataset *ds, int T, fab_diag *d) {
  worker *ws = calloc((size_t)T, sizeof *ws);
  if (!ws) {
    fab_error(d, (fab_loc){0}, "training: out of memory");
    return NULL;
  }
  for (int k = 0; k < T; k++) {
    ws[k].tape = fab_ad_tape_new(ad);
    ws[k].ds = ds;
    ws[k].in = calloc((size_t)ds->seq, sizeof(double));
    ws[k].diag = k == 0 ? d : fab_diag_new();
    if (!ws[k].tape || !ws[k].in || !ws[k].diag) {
      fab_error(d, (fab_loc){0}, "training: out of memory");
      for (int j = 0; j <= k; j++) {
        fab_ad_tape_free(ws[j].tape);
        free(ws[j].in);
        if (j > 0) fab_diag_free(ws[j].diag);
      }
      free(ws);
      return NULL;
    }
  }
  return ws;
}

static void free_workers(worker *ws, int T, fab_diag *d) {
  for (int k = 0; k < T; k++) {
    fab_ad_tape_free(ws[k].tape);
    free(ws[k].in);
    if (k > 0) {
      /* a worker's run-time error (bad token id) reaches the caller */
      for (int i = 0; i < fab_diag_count(ws[k].diag); i++)
        fab_error(d, (fab_loc){0}, "%s", fab_diag_message(ws[k].diag, i));
      fab_diag_free(ws[k].diag);
    }
  }
  free(ws);
}

static int clamp_threads(int t) { return t < 1 ? 1 : t > 64 ? 64 : t; }

static void shuffle(int64_t *p, int64_t n, fab_rng *r) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = fab_rng_below(r, i + 1), t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

bool fab_train_ad(fab_ad *ad, const fab_dataset *ds, const fab_train_options *opt,
                  fab_train_result *res, fab_diag *d) {
  fab_train_options o;
  if (opt) o = *opt;
  else fab_train_options_default(&o);
  if (res) memset(res, 0, sizeof *res);
  if (o.steps < 0 || o.batch < 1 || !(o.lr >= 0) || ds->n < 1) {
    fab_error(d, (fab_loc){0}, "training: bad options (steps %lld, batch %d)", (long long)o.steps, o.batch);
    return false;
  }
  if (!check_model(ad, ds, d)) return false;
  int T = clamp_threads(o.threads);
  worker *ws = make_workers(ad, ds, T, d);
  if (!ws) return false;
  fab_adamw opt_state;
  int64_t *perm = malloc(sizeof(int64_t) * (size_t)ds->n), *batch = malloc(sizeof(int64_t) * (size_t)o.batch);
  double **grads = ad->nparams ? calloc((size_t)ad->nparams, sizeof(double *)) : NULL;
  bool ok = perm && batch && (grads || !ad->nparams) && fab_adamw_init(&opt_state, ad, d);
  if (!ok) {
    free(perm);
    free(batch);
    free(grads);
    free_workers(ws, T, d);
    return false;
  }
  opt_state.beta1 = o.beta1;
  opt_state.beta2 = o.beta2;
  opt_state.eps = o.eps;
  opt_state.weight_decay = o.weight_decay;
  for (int p = 0; p < ad->nparams; p++) grads[p] = ws[0].tape->pgrad[p];
  fab_rng r;
  fab_rng_seed(&r, o.seed * 0x2545F4914F6CDD1Dull + 17);
  for (int64_t i = 0; i < ds->n; i++) perm[i] = i;
  shuffle(perm, ds->n, &r);
  int64_t pos = 0, examples = 0, win_n = 0;
  double t0 = now_s(), win_loss = 0, last_loss = 0;
  for (int64_t step = 1; step <= o.steps && ok; step++) {
    for (int b = 0; b < o.batch; b++) {
      if (pos == ds->n) { /* a new epoch: a new permutation */
        shuffle(perm, ds->n, &r);
        pos = 0;
      }
      batch[b] = perm[pos++];
    }
    for (int k = 0; k < T; k++) fab_ad_zero_param_grads(ws[k].tape);
    if (!(ok = run_workers(ws, T, batch, o.batch, 1.0 / o.batch))) break;
    double loss = 0, norm2 = 0;
    for (int k = 0; k < T; k++) loss += ws[k].loss;
    for (int p = 0; p < ad->nparams; p++)
      for (int64_t j = 0; j < ad->pnumel[p]; j++) {
        for (int k = 1; k < T; k++) grads[p][j] += ws[k].tape->pgrad[p][j];
        norm2 += grads[p][j] * grads[p][j];
      }
    if (!isfinite(loss) || !isfinite(norm2)) {
      fab_error(d, (fab_loc){0}, "training: loss became %g at step %lld (lower the learning rate)",
                loss / o.batch, (long long)step);
      ok = false;
      break;
    }
    if (o.clip > 0 && norm2 > o.clip * o.clip) { /* torch.nn.utils.clip_grad_norm_ */
      double f = o.clip / (sqrt(norm2) + 1e-6);
      for (int p = 0; p < ad->nparams; p++)
        for (int64_t j = 0; j < ad->pnumel[p]; j++) grads[p][j] *= f;
    }
    double lr = o.warmup > 0 && step <= o.warmup ? o.lr * (double)step / o.warmup : o.lr;
    fab_adamw_step(&opt_state, ad, grads, lr);
    examples += o.batch;
    win_loss += loss;
    win_n += o.batch;
    bool last = step == o.steps;
    if ((o.report_every > 0 && step % o.report_every == 0) || last) {
      last_loss = win_loss / (double)win_n;
      win_loss = 0;
      win_n = 0;
      double el = now_s() - t0;
      if (o.progress) {
        fab_train_progress pr = {step, o.steps, last_loss, examples / fmax(el, 1e-9), el,
                                 el / (double)step * (double)(o.steps - step), -1, last};
        o.progress(&pr, o.progress_user);
      }
    }
  }
  double el = now_s() - t0;
  if (res) {
    res->final_loss = last_loss;
    res->seconds = el;
    res->examples = examples;
    res->examples_per_s = examples / fmax(el, 1e-9);
  }
  fab_adamw_free(&opt_state);
  free(perm);
  free(batch);
  free(grads);
  free_workers(ws, T, d);
  return ok;
}

bool fab_eval_ad(const fab_ad *ad, const fab_dataset *ds, int threads, double *acc, double *loss,
                 fab_diag *d) {
  if (!check_model(ad, ds, d)) return false;
  int T = clamp_threads(threads);
  worker *ws = make_workers(ad, ds, T, d);
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)ds->n);
  if (!ws || !idx) {
    if (ws) free_workers(ws, T, d);
    free(idx);
    return false;
  }
  for (int64_t i = 0; i < ds->n; i++) idx[i] = i;
  bool ok = run_workers(ws, T, idx, ds->n, 0);
  double l = 0;
  int64_t c = 0;
  for (int k = 0; k < T; k++) {
    l += ws[k].loss;
    c += ws[k].correct;
  }
  if (acc) *acc = (double)c / (double)ds->n;
  if (loss) *loss = l / (double)ds->n;
  free(idx);
  free_workers(ws, T, d);
  return ok;
}

/* ---- module-level convenience --------------------------------------------- */

static fab_ad *ad_with_weights(const fab_module *m, fab_tensor_set *w, uint64_t seed, fab_diag *d) {
  fab_ad *ad = fab_ad_new(m, d);
  if (!ad) return NULL;
  /* parameters absent from `w` get the module's seeded initialisation */
  if (!fab_bind_init_weights(m, seed, w, d) || !fab_ad_load_weights(ad, w, d)) {
    fab_ad_free(ad);
    return NULL;
  }
  return ad;
}

bool fab_train_module(const fab_module *m, fab_tensor_set *weights, const fab_dataset *train,
                      const fab_train_options *o, fab_train_result *res, fab_diag *d) {
  fab_ad *ad = ad_with_weights(m, weights, o ? o->seed : 1, d);
  if (!ad) return false;
  bool ok = fab_train_ad(ad, train, o, res, d) && fab_ad_store_weights(ad, weights, d);
  fab_ad_free(ad);
  return ok;
}

bool fab_eval_module(const fab_module *m, const fab_tensor_set *weights, const fab_dataset *ds,
                     int threads, double *acc, double *loss, fab_diag *d) {
  fab_ad *ad = fab_ad_new(m, d);
  if (!ad) return false;
  bool ok = fab_ad_load_weights(ad, weights, d) && fab_eval_ad(ad, ds, threads, acc, loss, d);
  fab_ad_free(ad);
  return ok;
}
