/* acc_cache.c — the evaluator's accuracy per model: in memory (one entry
 * per model index) and in an append-only cache file shared by runs,
 * threads and MPI ranks.
 *
 * File format: one line per scored model, "ACCURACY<TAB>KEY\n", where KEY
 * spells out the accuracy method and its budget and the (reduced) model
 * that was scored, so one file can serve several spaces and a change of
 * training budget never reuses stale numbers.  Lines are appended with one
 * write() on an O_APPEND descriptor, which keeps concurrent writers'
 * lines whole on a local file system; a torn last line (a killed run) is
 * ignored when the file is read back. */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cd_acc.h"

/* Models counted exactly for the progress total (fab_cd_count_models). */
#define FAB_CD_COUNT_CAP ((int64_t)1 << 16)

enum { E_NONE, E_BUSY, E_DONE };
typedef struct entry {
  int state;
  bool ok;
  double acc;
} entry;

typedef struct dline {
  char *key;
  double acc;
} dline;

struct cd_acc {
  fab_cd_space space;
  fab_cd_acc_kind kind;
  fab_cd_train_options train;
  char prefix[160]; /* the method part of every cache key */
  char label[200];
  pthread_mutex_t lock;
  pthread_cond_t cond;
  fab_ptrmap ent; /* model index -> entry, made when first asked for */
  dline *disk;
  int64_t ndisk;
  int fd; /* the cache file, -1: none */
  bool torn; /* the file ends inside a line */
  int64_t total, computed, cached;
  double seconds;
  fab_cd_progress_fn progress;
  void *user;
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_dline(const void *a, const void *b) {
  return strcmp(((const dline *)a)->key, ((const dline *)b)->key);
}

static bool read_cache(cd_acc *a, const char *path, fab_diag *d) {
  FILE *f = fopen(path, "r");
  if (!f) return true; /* a new cache */
  char *line = NULL;
  size_t cap = 0, dcap = 0;
  ssize_t len;
  bool ok = true;
  while (ok && (len = getline(&line, &cap, f)) > 0) {
    if (line[len - 1] != '\n') {
      a->torn = true; /* a killed writer: the next line starts on its own */
      break;
    }
    line[len - 1] = 0;
    char *end;
    double v = strtod(line, &end);
    if (end == line || *end != '\t' || !isfinite(v)) continue;
    if ((size_t)a->ndisk == dcap) {
      dcap = dcap ? 2 * dcap : 256;
      dline *nd = realloc(a->disk, sizeof *nd * dcap);
      if (!nd) {
        ok = false;
        break;
      }
      a->disk = nd;
    }
    a->disk[a->ndisk].key = strdup(end + 1);
    a->disk[a->ndisk].acc = v;
    if (!a->disk[a->ndisk].key) ok = false;
    else a->ndisk++;
  }
  free(line);
  fclose(f);
  if (!ok) {
    fab_error(d, (fab_loc){0}, "out of memory reading the accuracy cache '%s'", path);
    return false;
  }
  if (a->ndisk) qsort(a->disk, (size_t)a->ndisk, sizeof *a->disk, cmp_dline);
  return true;
}

cd_acc *cd_acc_new(const fab_cd_space *s, const fab_cd_eval_options *o, fab_diag *d) {
  cd_acc *a = calloc(1, sizeof *a);
  if (!a) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return NULL;
  }
  a->space = *s;
  a->fd = -1;
  a->kind = o->accuracy;
  a->train = o->train;
  cd_train_fill(&a->train);
  a->progress = o->progress;
  a->user = o->progress_user;
  int64_t limit = o->auto_max_models > 0 ? o->auto_max_models : FAB_CD_AUTO_MAX_MODELS;
  /* counted up to a cap (a space may hold 2^60 models); past it the
   * progress total is the mixed-radix model count, an upper bound */
  int64_t cap = limit > FAB_CD_COUNT_CAP ? limit : FAB_CD_COUNT_CAP;
  a->total = fab_cd_count_models(s, cap);
  if (a->total > cap) a->total = s->nmodels;
  /* AUTO: an accuracy that is not an objective is only a CSV column, not
   * worth minutes of training */
  if (a->kind == FAB_CD_ACC_AUTO)
    a->kind = !(fab_cd_objectives_of(s->objectives) & FAB_CD_OBJ_ACCURACY) ? FAB_CD_ACC_STANDIN
              : a->total <= limit && cd_have_train()                       ? FAB_CD_ACC_TRAINED
              : cd_have_proxy()                    ? FAB_CD_ACC_PROXY
                                                   : FAB_CD_ACC_STANDIN;
  if (a->kind < 0 || a->kind >= FAB_CD_ACC_AUTO) {
    fab_error(d, (fab_loc){0}, "unknown accuracy kind %d", (int)a->kind);
    free(a);
    return NULL;
  }
  if ((a->kind == FAB_CD_ACC_TRAINED && !cd_have_train()) ||
      (a->kind == FAB_CD_ACC_PROXY && !cd_have_proxy())) {
    fab_error(d, (fab_loc){0}, "the %s accuracy needs %s, not built", fab_cd_acc_name(a->kind),
              a->kind == FAB_CD_ACC_PROXY ? "explore/proxy (fab_proxy)" : "explore/train (fab_train)");
    free(a);
    return NULL;
  }
  const fab_cd_train_options *t = &a->train;
  if (a->kind == FAB_CD_ACC_TRAINED) {
    snprintf(a->prefix, sizeof a->prefix,
             "trained task=%d depth=%d seq=%d n=%lld/%lld steps=%lld batch=%d lr=%g seed=%llu",
             t->task, t->max_depth, t->seq, (long long)t->train_n, (long long)t->test_n,
             (long long)t->steps, t->batch, t->lr, (unsigned long long)t->seed);
    snprintf(a->label, sizeof a->label, "trained(task%d,seq%d,w/%d,%lldx%d,seed%llu)", t->task,
             t->seq, t->width_div, (long long)t->steps, t->batch, (unsigned long long)t->seed);
  } else {
    snprintf(a->prefix, sizeof a->prefix, "synflow seq=64 vocab=16 seed=1");
    snprintf(a->label, sizeof a->label, "%s", fab_cd_acc_name(a->kind));
  }
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  if (o->acc_cache && a->kind != FAB_CD_ACC_STANDIN) {
    if (!read_cache(a, o->acc_cache, d)) {
      cd_acc_free(a);
      return NULL;
    }
    a->fd = open(o->acc_cache, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (a->fd < 0) {
      fab_error(d, (fab_loc){0}, "cannot append to the accuracy cache '%s'", o->acc_cache);
      cd_acc_free(a);
      return NULL;
    }
    if (a->torn && write(a->fd, "\n", 1) != 1) {
      fab_error(d, (fab_loc){0}, "cannot append to the accuracy cache '%s'", o->acc_cache);
      cd_acc_free(a);
      return NULL;
    }
  }
  return a;
}

void cd_acc_free(cd_acc *a) {
  if (!a) return;
  for (int64_t i = 0; i < a->ndisk; i++) free(a->disk[i].key);
  free(a->disk);
  fab_ptrmap_free(&a->ent, free);
  if (a->fd >= 0) close(a->fd);
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
  free(a);
}

fab_cd_acc_kind cd_acc_kind(const cd_acc *a) { return a->kind; }
const char *cd_acc_label(const cd_acc *a) { return a->label; }

void cd_acc_stats(const cd_acc *a, int64_t *computed, int64_t *cached, double *seconds) {
  pthread_mutex_lock((pthread_mutex_t *)&a->lock);
  if (computed) *computed = a->computed;
  if (cached) *cached = a->cached;
  if (seconds) *seconds = a->seconds;
  pthread_mutex_unlock((pthread_mutex_t *)&a->lock);
}

/* The cache key of a model: the method, then the model as scored (the
 * reduced model for training, the proxy's shapes for synflow). */
static void model_key(const cd_acc *a, const fab_cd_model *m, char *buf, size_t n) {
  fab_cd_model x = *m;
  if (a->kind == FAB_CD_ACC_TRAINED) fab_cd_train_model(m, &a->train, &x);
  else x.seq = 64, x.vocab = 16;
  char kinds[FAB_CD_MAX_LAYERS + 1];
  int any_att = 0;
  for (int l = 0; l < x.layers && l < FAB_CD_MAX_LAYERS; l++) {
    kinds[l] = x.kind[l] ? 'a' : 'f';
    any_att |= x.kind[l];
  }
  kinds[x.layers < FAB_CD_MAX_LAYERS ? x.layers : FAB_CD_MAX_LAYERS] = 0;
  snprintf(buf, n, "%s | layers=%d kinds=%s d=%d h=%d heads=%d seq=%d vocab=%d classes=%d ffn=%s proj=%s",
           a->prefix, x.layers, kinds, x.hidden, x.ffn, any_att ? x.heads : 0, x.seq, x.vocab,
           x.classes, x.ffn_dense ? "dense" : "bfly", any_att && x.proj_dense ? "dense" : "bfly");
}

static void report(cd_acc *a) {
  if (a->progress)
    a->progress(&(fab_cd_progress){a->kind == FAB_CD_ACC_TRAINED ? "train" : "proxy", a->computed + a->cached, a->total, 0}, a->user);
}

bool cd_acc_get(cd_acc *a, int64_t mi, const fab_cd_model *m, double *acc, fab_diag *d) {
  if (a->kind == FAB_CD_ACC_STANDIN) {
    *acc = fab_cd_accuracy_standin(m, mi);
    return true;
  }
  char key[512];
  model_key(a, m, key, sizeof key);
  pthread_mutex_lock(&a->lock);
  entry *e = fab_ptrmap_get(&a->ent, mi);
  if (!e && (!(e = calloc(1, sizeof *e)) || !fab_ptrmap_put(&a->ent, mi, e))) {
    free(e);
    pthread_mutex_unlock(&a->lock);
    fab_error(d, (fab_loc){0}, "out of memory");
    return false;
  }
  while (e->state == E_BUSY) pthread_cond_wait(&a->cond, &a->lock);
  if (e->state == E_DONE) {
    bool ok = e->ok;
    *acc = e->acc;
    pthread_mutex_unlock(&a->lock);
    if (!ok) fab_error(d, (fab_loc){0}, "the accuracy of model %lld could not be computed", (long long)mi);
    return ok;
  }
  dline probe = {key, 0};
  const dline *hit = a->ndisk ? bsearch(&probe, a->disk, (size_t)a->ndisk, sizeof *a->disk, cmp_dline) : NULL;
  if (hit) {
    e->state = E_DONE, e->ok = true, e->acc = *acc = hit->acc;
    a->cached++;
    report(a);
    pthread_mutex_unlock(&a->lock);
    return true;
  }
  e->state = E_BUSY;
  pthread_mutex_unlock(&a->lock);

  double t0 = now_s(), v = 0;
  bool ok = a->kind == FAB_CD_ACC_TRAINED ? fab_cd_train_accuracy(m, &a->train, &v, d)
                                          : fab_cd_accuracy_proxy(m, &v, d);
  ok = ok && isfinite(v);
  double dt = now_s() - t0;

  pthread_mutex_lock(&a->lock);
  e->state = E_DONE, e->ok = ok, e->acc = v;
  a->seconds += dt;
  if (ok) {
    a->computed++;
    if (a->fd >= 0) {
      char line[600];
      int len = snprintf(line, sizeof line, "%.17g\t%s\n", v, key);
      /* one write per line: O_APPEND keeps concurrent writers' lines whole */
      if (len > 0 && (size_t)len < sizeof line && write(a->fd, line, (size_t)len) != len)
        fab_diag_report(d, FAB_SEV_WARNING, (fab_loc){0}, "could not append to the accuracy cache");
    }
    report(a);
  }
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  *acc = v;
  return ok;
}
