/* accuracy.c — the accuracy objective: short training on a generated task
 * (explore/train), the synflow proxy (explore/proxy) or the documented
 * stand-in, with a per-model cache in memory and on disk.
 *
 * Accuracy depends only on the model knobs, so the evaluator scores each
 * distinct model once, whatever the number of accelerators it is paired
 * with.  Training is the expensive part of a search with trained accuracy
 * (seconds per model against microseconds per analytical latency), so it
 * runs outside the evaluator's lock: several threads train different
 * models at once, and a thread asking for a model another one is training
 * waits for that result instead of training it twice.
 *
 * Determinism: every model trains with one thread, the same data, the
 * same data order and a seeded initialisation, so its accuracy is the same
 * bytes whichever thread, process or MPI rank trains it. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cd_acc.h"
#ifdef FAB_CD_HAVE_TRAIN
#include "train.h"
#endif
#ifdef FAB_CD_HAVE_PROXY
#include "proxy.h"
#endif

static const char *const acc_names[FAB_CD_ACC_KIND_COUNT] = {"standin", "proxy", "trained", "auto"};
const char *fab_cd_acc_name(fab_cd_acc_kind k) {
  return k >= 0 && k < FAB_CD_ACC_KIND_COUNT ? acc_names[k] : "?";
}
int fab_cd_acc_lookup(const char *name) {
  for (int i = 0; name && i < FAB_CD_ACC_KIND_COUNT; i++)
    if (!strcmp(name, acc_names[i])) return i;
  return -1;
}

void fab_cd_train_options_default(fab_cd_train_options *o) {
  memset(o, 0, sizeof *o);
  cd_train_fill(o);
}

/* Zero fields take the defaults, so a zero-initialised fab_cd_eval_options
 * trains with the documented budget. */
void cd_train_fill(fab_cd_train_options *o) {
  if (o->seq <= 0) o->seq = 16;
  if (o->width_div <= 0) o->width_div = 16;
  if (o->max_depth <= 0) o->max_depth = 1;
  if (o->steps <= 0) o->steps = 400;
  if (o->batch <= 0) o->batch = 32;
  if (!(o->lr > 0)) o->lr = 3e-3;
  if (o->train_n <= 0) o->train_n = 4000;
  if (o->test_n <= 0) o->test_n = 1000;
  if (!o->seed) o->seed = 1;
}

void fab_cd_eval_options_default(fab_cd_eval_options *o) {
  memset(o, 0, sizeof *o);
  o->accuracy = FAB_CD_ACC_AUTO;
}

/* ---- the stand-in and the proxy ------------------------------------------------ */

/* The accuracy stand-in (docs/codesign.md): a smooth, saturating function
 * of capacity in the spirit of the LRA-Text results (FABNet and the
 * Transformer both near 0.62-0.65): wider and deeper help with
 * diminishing returns, one or two attention layers help, dense layers help
 * a little, longer sequences help.  A per-model hash adds +-0.002 so that
 * ties are rare.  It is not a measurement. */
double fab_cd_accuracy_standin(const fab_cd_model *m, int64_t model_index) {
  int natt = 0;
  for (int l = 0; l < m->layers; l++) natt += m->kind[l];
  double w = log2((double)m->hidden) - 6; /* 0 at 64 */
  double r = (double)m->ffn / m->hidden;
  double acc = 0.58 + 0.045 * (1 - exp(-w / 1.5)) + 0.012 * log2(1 + r) +
               0.015 * (1 - exp(-(m->layers - 1) / 1.5)) + 0.012 * (natt > 0) +
               0.004 * (natt > 1) - 0.002 * (natt > 2 ? natt - 2 : 0) + 0.004 * m->ffn_dense +
               0.003 * (natt && m->proj_dense) + 0.006 * log2((double)m->seq / 1024.0) / 2;
  uint64_t h = (uint64_t)model_index * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  acc += ((double)(h % 1000) / 1000.0 - 0.5) * 0.004;
  return acc;
}

/* synflow (log) of the same architecture at sequence 64 and a 16-word
 * vocabulary: data-free, so it depends only on the shapes. */
bool fab_cd_accuracy_proxy(const fab_cd_model *m, double *score, fab_diag *d) {
#ifdef FAB_CD_HAVE_PROXY
  fab_cd_model small = *m;
  small.seq = 64;
  small.vocab = 16;
  fab_module *mod = fab_cd_model_build(&small, d);
  if (!mod) return false;
  fab_proxy_batch b = {0};
  b.n = 1;
  b.width = small.seq;
  b.x = calloc((size_t)small.seq, sizeof(double));
  bool ok = b.x && fab_proxy_score(mod, NULL, 1, FAB_PROXY_SYNFLOW, &b, score, d);
  free(b.x);
  fab_module_free(mod);
  return ok;
#else
  (void)m, (void)score;
  fab_error(d, (fab_loc){0}, "the proxy accuracy needs explore/proxy (fab_proxy), not built");
  return false;
#endif
}

/* ---- training ------------------------------------------------------------------- */

void fab_cd_train_model(const fab_cd_model *m, const fab_cd_train_options *opt, fab_cd_model *out) {
  fab_cd_train_options o = *opt;
  cd_train_fill(&o);
  *out = *m;
  out->seq = o.seq;
  out->hidden = m->hidden / o.width_div;
  if (out->hidden < 4) out->hidden = 4;
  /* the FFN ratio is kept (rounded down, at least 1) */
  out->ffn = (int)((int64_t)m->ffn * out->hidden / (m->hidden > 0 ? m->hidden : 1));
  if (out->ffn < 1) out->ffn = 1;
  while (out->heads > 1 && out->hidden % out->heads) out->heads--;
#ifdef FAB_CD_HAVE_TRAIN
  fab_task_shape((fab_task_kind)o.task, NULL, &out->vocab, &out->classes);
#endif
}

bool fab_cd_train_accuracy(const fab_cd_model *m, const fab_cd_train_options *opt, double *acc,
                           fab_diag *d) {
#ifdef FAB_CD_HAVE_TRAIN
  fab_cd_train_options o = *opt;
  cd_train_fill(&o);
  if (o.task < 0 || o.task >= FAB_TASK_COUNT) {
    fab_error(d, (fab_loc){0}, "trained accuracy: unknown task %d", o.task);
    return false;
  }
  fab_cd_model small;
  fab_cd_train_model(m, &o, &small);
  fab_module *mod = fab_cd_model_build(&small, d);
  if (!mod) return false;
  /* the held-out set comes from a seed no training set uses */
  fab_task_options to = {.kind = (fab_task_kind)o.task, .n = o.train_n, .seq = o.seq,
                         .seed = o.seed, .max_depth = o.max_depth};
  fab_dataset train = {0}, test = {0};
  fab_ad *ad = NULL;
  bool ok = fab_task_generate(&to, &train, d);
  to.n = o.test_n;
  to.seed = o.seed ^ 0x7e57da7a5eedull;
  ok = ok && fab_task_generate(&to, &test, d);
  ok = ok && (ad = fab_ad_new(mod, d)) && fab_ad_init_params(ad, o.seed, d);
  if (ok) {
    fab_train_options t;
    fab_train_options_default(&t);
    t.steps = o.steps;
    t.batch = o.batch;
    t.lr = o.lr;
    t.seed = o.seed;
    t.threads = 1;
    fab_train_result res;
    double loss;
    ok = fab_train_ad(ad, &train, &t, &res, d) && fab_eval_ad(ad, &test, 1, acc, &loss, d);
  }
  fab_ad_free(ad);
  fab_dataset_free(&train);
  fab_dataset_free(&test);
  fab_module_free(mod);
  return ok;
#else
  (void)m, (void)opt, (void)acc;
  fab_error(d, (fab_loc){0}, "trained accuracy needs explore/train (fab_train), not built");
  return false;
#endif
}

bool cd_have_train(void) {
#ifdef FAB_CD_HAVE_TRAIN
  return true;
#else
  return false;
#endif
}
bool cd_have_proxy(void) {
#ifdef FAB_CD_HAVE_PROXY
  return true;
#else
  return false;
#endif
}

/* ---- counting models ---------------------------------------------------------------- */

int64_t fab_cd_count_models(const fab_cd_space *s, int64_t cap) {
  /* canonical models are those that are canonical with the first
   * accelerator the validator accepts (accelerator validity does not
   * depend on the model); both walks stop after cap + 1 steps */
  int64_t a0 = -1, steps = 0;
  fab_cd_point p;
  for (int64_t a = 0; a < s->naccels && a0 < 0; a++) {
    if (steps++ > cap) return cap + 1;
    fab_cd_point_decode(s, a, &p);
    fab_fpga_config c;
    if (fab_cd_point_config(s, &p, &c, NULL)) a0 = a;
  }
  if (a0 < 0) return 0;
  int64_t n = 0;
  for (int64_t m = 0; m < s->nmodels && n <= cap; m++) {
    if (steps++ > 2 * cap + 1) return cap + 1;
    fab_cd_point_decode(s, m * s->naccels + a0, &p);
    n += fab_cd_point_canonical(s, &p);
  }
  return n;
}
