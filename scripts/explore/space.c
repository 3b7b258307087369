/* space.c — the enumerated-space experiment driver (docs/explore.md).
 *
 *   explore_space MODE key=value...
 *
 * The space: a FABNet of `layers` post-LN blocks, each chosen from
 * {fbfly, fdense, abfly, transformer} (Fourier or attention mixing x
 * butterfly or dense projections/FFN): 4^layers architectures, numbered
 * id = sum_l choice_l * 4^l.  Every architecture is the extraction of one
 * choice from the same IR supernet (explore/proxy/supernet.c).
 *
 * Modes (each appends CSV lines to out=FILE):
 *   train    train archs (ids lo..hi-1, every `stride`-th) for `steps`
 *            steps on the generated task; held-out accuracy
 *   proxies  every proxy of each arch at initialisation (same init as
 *            training), one minibatch of `pbatch` training samples
 *   zcpt     Zero-Cost-PT on the supernet for seeds 1..`seeds`
 *
 * With archs=FILE (the wider space of run_wide.sh) train and proxies take
 * their architectures from FILE instead, one per line, "d ratio layers
 * cand0 cand1 ..." (FFN width h = ratio*d; lines lo..hi-1, every
 * `stride`-th), each extracted from the supernet of its (d, h, layers) and
 * run with seeds seed..seed+nseed-1 (init and data order; the training
 * set is the one of `seed`):
 *   train    one line per checkpoint (every `every` steps and the last):
 *            index,seed,step,train_loss(window),test_acc,test_loss,seconds
 *   proxies  one line per proxy and definition set:
 *            index,seed,linear_layers,proxy,fabc|reference,score,ms
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy.h"

static const char *const CANDS[] = {"fbfly", "fdense", "abfly", "transformer"};
enum { NC = 4 };

typedef struct cfg {
  const char *task, *out, *archs;
  int every, nseed;
  int seq, d, h, heads, layers, batch, pbatch, threads, seeds, proposals, valid, zbatch;
  int64_t steps, ntrain, ntest, lo, hi, stride, warmup; /* warmup < 0: steps / 10 */
  double lr;
  uint64_t seed;
  const char *proxy;
} cfg;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void parse(cfg *c, int argc, char **argv) {
  *c = (cfg){.task = "listops", .out = "space.csv", .archs = NULL, .every = 0, .nseed = 1, .seq = 32, .d = 16, .h = 32, .heads = 2,
             .layers = 4, .batch = 32, .pbatch = 32, .threads = 1, .seeds = 10, .proposals = 10,
             .valid = 100, .zbatch = 32, .steps = 300, .ntrain = 20000, .ntest = 1000, .lo = 0,
             .hi = -1, .stride = 1, .warmup = -1, .lr = 3e-3, .seed = 1, .proxy = "nwot"};
  for (int i = 2; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) continue;
    *eq = 0;
    const char *k = argv[i], *v = eq + 1;
#define I(name) else if (!strcmp(k, #name)) c->name = atoi(v);
#define L(name) else if (!strcmp(k, #name)) c->name = atoll(v);
    if (!strcmp(k, "task")) c->task = v;
    else if (!strcmp(k, "out")) c->out = v;
    else if (!strcmp(k, "proxy")) c->proxy = v;
    else if (!strcmp(k, "archs")) c->archs = v;
    else if (!strcmp(k, "lr")) c->lr = atof(v);
    else if (!strcmp(k, "seed")) c->seed = (uint64_t)atoll(v);
    I(seq) I(d) I(h) I(heads) I(layers) I(batch) I(pbatch) I(threads) I(seeds) I(proposals)
    I(valid) I(zbatch) I(every) I(nseed) L(steps) L(ntrain) L(ntest) L(lo) L(hi) L(stride) L(warmup)
    else fprintf(stderr, "space: unknown key %s\n", k);
  }
}

static fab_module *make_supernet(const cfg *c, int classes, int vocab, fab_diag *d) {
  fab_supernet_options o = {.seq = c->seq, .d = c->d, .h = c->h, .heads = c->heads, .vocab = vocab,
                            .classes = classes, .layers = c->layers, .ncands = NC, .cands = CANDS};
  return fab_supernet_fabnet(&o, d);
}

static void decode(int64_t id, int layers, int *choice) {
  for (int l = 0; l < layers; l++, id /= NC) choice[l] = (int)(id % NC);
}

static bool data(const cfg *c, uint64_t seed, int64_t n, fab_dataset *ds, fab_diag *d) {
  fab_task_options o = {.kind = fab_task_lookup(c->task), .n = n, .seq = c->seq, .seed = seed,
                        .max_depth = 2, .max_args = 4, .symbols = 4};
  return fab_task_generate(&o, ds, d);
}

static void train_options(const cfg *c, fab_train_options *o) {
  fab_train_options_default(o);
  o->steps = c->steps;
  o->batch = c->batch;
  o->lr = c->lr;
  o->warmup = (int)(c->warmup >= 0 ? c->warmup : c->steps / 10);
  o->seed = c->seed;
  o->threads = c->threads;
  o->report_every = 0;
}

/* ---- the wider space (archs=FILE) ------------------------------------------ */

typedef struct arch {
  int d, ratio, layers, choice[8];
} arch;

/* Reads "d ratio layers cand..." lines; returns the count (-1 on error). */
static int read_archs(const char *path, arch **out) {
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  int n = 0, cap = 0;
  arch *a = NULL;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (n == cap) a = realloc(a, sizeof(arch) * (size_t)(cap = cap ? 2 * cap : 64));
    arch *x = &a[n];
    int used = 0;
    if (sscanf(line, "%d %d %d%n", &x->d, &x->ratio, &x->layers, &used) != 3 || x->layers < 1 ||
        x->layers > 8)
      continue;
    char *p = line + used, *tok;
    int l = 0;
    for (; l < x->layers && (tok = strtok(l ? NULL : p, " \t\n")); l++) {
      x->choice[l] = -1;
      for (int k = 0; k < NC; k++)
        if (!strcmp(tok, CANDS[k])) x->choice[l] = k;
      if (x->choice[l] < 0) break;
    }
    if (l == x->layers) n++;
    else fprintf(stderr, "space: bad architecture line: %s", line);
  }
  fclose(f);
  *out = a;
  return n;
}

/* Supernets by (d, ratio, layers), built once each. */
typedef struct net_cache {
  int n;
  struct {
    int d, ratio, layers;
    fab_module *m;
    fab_supernet s;
  } e[32];
} net_cache;

static fab_module *cached_supernet(net_cache *nc, const cfg *c, const arch *a, int classes, int vocab,
                                   fab_supernet **s, fab_diag *d) {
  for (int i = 0; i < nc->n; i++)
    if (nc->e[i].d == a->d && nc->e[i].ratio == a->ratio && nc->e[i].layers == a->layers) {
      *s = &nc->e[i].s;
      return nc->e[i].m;
    }
  if (nc->n == 32) return NULL;
  cfg k = *c;
  k.d = a->d;
  k.h = a->ratio * a->d;
  k.layers = a->layers;
  fab_module *m = make_supernet(&k, classes, vocab, d);
  if (!m || !fab_supernet_scan(m, &nc->e[nc->n].s, d)) return NULL;
  nc->e[nc->n].d = a->d;
  nc->e[nc->n].ratio = a->ratio;
  nc->e[nc->n].layers = a->layers;
  nc->e[nc->n].m = m;
  *s = &nc->e[nc->n].s;
  return nc->e[nc->n++].m;
}

/* What the checkpoint callback needs: the model, the held-out set, where to write. */
typedef struct checkpoint_ctx {
  fab_ad *ad;
  const fab_dataset *test;
  FILE *out;
  int64_t index;
  uint64_t seed;
  bool ok;
  fab_diag *d;
} checkpoint_ctx;

static void checkpoint(const fab_train_progress *p, void *user) {
  checkpoint_ctx *k = user;
  double acc = 0, loss = 0;
  if (!fab_eval_ad(k->ad, k->test, 1, &acc, &loss, k->d)) k->ok = false;
  fprintf(k->out, "%lld,%llu,%lld,%.5f,%.4f,%.5f,%.2f\n", (long long)k->index,
          (unsigned long long)k->seed, (long long)p->step, p->loss, acc, loss, p->elapsed_s);
  fflush(k->out);
}

static int linear_layers(const fab_ad *ad) {
  const fab_func *f = fab_ad_func(ad);
  int n = 0;
  for (int i = 0; i < f->nops; i++) n += f->ops[i].code == FAB_OP_BFLY_LINEAR || f->ops[i].code == FAB_OP_DENSE;
  return n;
}

static bool wide_one(const cfg *c, bool train, const fab_module *pm, int64_t index,
                     const fab_dataset *tr, const fab_dataset *te, const fab_proxy_batch *pb,
                     FILE *out, fab_diag *d) {
  fab_ad *ad = fab_ad_new(pm, d);
  if (!ad || !fab_ad_init_params(ad, c->seed, d)) {
    fab_ad_free(ad);
    return false;
  }
  bool ok = true;
  if (train) {
    fab_train_options o;
    train_options(c, &o);
    o.report_every = c->every > 0 ? c->every : (int)c->steps;
    checkpoint_ctx k = {ad, te, out, index, c->seed, true, d};
    o.progress = checkpoint;
    o.progress_user = &k;
    fab_train_result res;
    ok = fab_train_ad(ad, tr, &o, &res, d) && k.ok;
  } else {
    int nl = linear_layers(ad);
    for (int k = 0; k < FAB_PROXY_COUNT && ok; k++)
      for (int ref = 0; ref < 2; ref++) {
        if (ref && k != FAB_PROXY_SYNFLOW && k != FAB_PROXY_FISHER) continue;
        double sc = NAN, t0 = now_s();
        ok = fab_proxy_score_ad_defs(ad, k, ref ? FAB_PROXY_DEFS_REFERENCE : FAB_PROXY_DEFS_FABC, pb,
                                     &sc, d);
        fprintf(out, "%lld,%llu,%d,%s,%s,%.10g,%.3f\n", (long long)index,
                (unsigned long long)c->seed, nl, fab_proxy_name(k), ref ? "reference" : "fabc", sc,
                1e3 * (now_s() - t0));
      }
    fflush(out);
  }
  fab_ad_free(ad);
  return ok;
}

/* train / proxies over the architectures of c->archs, lines lo..hi-1. */
static int run_wide(const cfg *c, bool train, const fab_dataset *tr, const fab_dataset *te,
                    FILE *out, fab_diag *d) {
  arch *a = NULL;
  int n = read_archs(c->archs, &a);
  if (n < 0) return 1;
  net_cache nc = {0};
  fab_proxy_batch pb;
  if (!train && !fab_proxy_batch_from_dataset(tr, 0, c->pbatch, &pb, d)) return 1;
  int64_t hi = c->hi < 0 || c->hi > n ? n : c->hi;
  double t0 = now_s();
  int rc = 0;
  for (int64_t i = c->lo; i < hi && !rc; i += c->stride) {
    fab_supernet *s = NULL;
    fab_module *sm = cached_supernet(&nc, c, &a[i], tr->classes, tr->vocab, &s, d);
    fab_module *pm = sm ? fab_supernet_extract(sm, s, a[i].choice, NULL, NULL, d) : NULL;
    for (int k = 0; k < c->nseed && pm && !rc; k++) {
      cfg ck = *c; /* seeds seed..seed+nseed-1: init and data order (the data set is fixed) */
      ck.seed = c->seed + (uint64_t)k;
      if (!wide_one(&ck, train, pm, i, tr, te, &pb, out, d)) rc = 1;
    }
    if (!pm) rc = 1;
    fab_module_free(pm);
    fprintf(stderr, "%s %lld/%lld elapsed %.0fs\n", train ? "train" : "proxies", (long long)i,
            (long long)hi, now_s() - t0);
  }
  if (rc) fab_diag_print(d, stderr);
  for (int i = 0; i < nc.n; i++) {
    fab_supernet_free(&nc.e[i].s);
    fab_module_free(nc.e[i].m);
  }
  if (!train) fab_proxy_batch_free(&pb);
  free(a);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: explore_space train|proxies|zcpt key=value...\n");
    return 2;
  }
  cfg c;
  parse(&c, argc, argv);
  fab_diag *d = fab_diag_new();
  fab_dataset tr, te;
  if (fab_task_lookup(c.task) < 0 || !data(&c, 1000 + c.seed, c.ntrain, &tr, d) ||
      !data(&c, 2000, c.ntest, &te, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  if (c.archs && strcmp(argv[1], "zcpt")) {
    FILE *out = fopen(c.out, "a");
    if (!out) {
      perror(c.out);
      return 1;
    }
    int rc = run_wide(&c, !strcmp(argv[1], "train"), &tr, &te, out, d);
    fclose(out);
    fab_dataset_free(&tr);
    fab_dataset_free(&te);
    fab_diag_free(d);
    return rc;
  }
  fab_module *sm = make_supernet(&c, tr.classes, tr.vocab, d);
  fab_supernet s;
  if (!sm || !fab_supernet_scan(sm, &s, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  int64_t total = 1;
  for (int l = 0; l < c.layers; l++) total *= NC;
  if (c.hi < 0 || c.hi > total) c.hi = total;
  FILE *out = fopen(c.out, "a");
  if (!out) {
    perror(c.out);
    return 1;
  }
  int choice[64];
  double t_start = now_s();
  if (!strcmp(argv[1], "train") || !strcmp(argv[1], "proxies")) {
    bool train = !strcmp(argv[1], "train");
    fab_proxy_batch pb;
    if (!train && !fab_proxy_batch_from_dataset(&tr, 0, c.pbatch, &pb, d)) return 1;
    for (int64_t id = c.lo; id < c.hi; id += c.stride) {
      decode(id, c.layers, choice);
      fab_module *pm = fab_supernet_extract(sm, &s, choice, NULL, NULL, d);
      fab_ad *ad = pm ? fab_ad_new(pm, d) : NULL;
      if (!ad || !fab_ad_init_params(ad, c.seed, d)) {
        fab_diag_print(d, stderr);
        return 1;
      }
      fprintf(out, "%lld", (long long)id);
      for (int l = 0; l < c.layers; l++) fprintf(out, ",%s", CANDS[choice[l]]);
      if (train) {
        fab_train_options o;
        train_options(&c, &o);
        fab_train_result res;
        double acc = 0, loss = 0;
        if (!fab_train_ad(ad, &tr, &o, &res, d) || !fab_eval_ad(ad, &te, c.threads, &acc, &loss, d)) {
          fab_diag_print(d, stderr);
          return 1;
        }
        fprintf(out, ",%.4f,%.4f,%.4f,%.2f\n", acc, loss, res.final_loss, res.seconds);
        fprintf(stderr, "\rtrain %lld/%lld acc %.3f (%.1fs) elapsed %.0fs   ", (long long)id,
                (long long)c.hi, acc, res.seconds, now_s() - t_start);
      } else {
        for (int k = 0; k < FAB_PROXY_COUNT; k++) {
          double sc = NAN, t0 = now_s();
          if (!fab_proxy_score_ad(ad, k, &pb, &sc, d)) fab_diag_print(d, stderr);
          fprintf(out, ",%.10g,%.5f", sc, now_s() - t0);
        }
        fprintf(out, "\n");
        fprintf(stderr, "\rproxies %lld/%lld elapsed %.0fs   ", (long long)id, (long long)c.hi,
                now_s() - t_start);
      }
      fflush(out);
      fab_ad_free(ad);
      fab_module_free(pm);
    }
    if (!train) fab_proxy_batch_free(&pb);
  } else if (!strcmp(argv[1], "zcpt")) {
    int pk = fab_proxy_lookup(c.proxy);
    if (pk < 0) {
      fprintf(stderr, "space: unknown proxy %s\n", c.proxy);
      return 2;
    }
    for (int seed = 1; seed <= c.seeds; seed++) {
      fab_zcpt_options o;
      fab_zcpt_options_default(&o);
      o.proxy = pk;
      o.proposals = c.proposals;
      o.valid_batches = c.valid;
      o.batch = c.zbatch;
      o.seed = (uint64_t)seed;
      fab_zcpt_result r;
      if (!fab_zcpt_select(sm, NULL, &tr, &o, &r, d)) {
        fab_diag_print(d, stderr);
        return 1;
      }
      int64_t id = 0, mul = 1;
      for (int l = 0; l < c.layers; l++, mul *= NC) id += r.choice[l] * mul;
      fprintf(out, "%s,%d,%lld,%d,%lld,%lld,%.3f", c.proxy, seed, (long long)id, r.nproposals_distinct,
              (long long)r.proxy_evals, (long long)r.forward_passes, r.seconds);
      for (int e = 0; e < r.nedges; e++)
        for (int k = 0; k < NC; k++) fprintf(out, ",%.6g", r.op_score[e][k]);
      fprintf(out, ",%d,%d,%d", c.d, c.h, c.layers);
      for (int l = 0; l < c.layers; l++) fprintf(out, ",%s", CANDS[r.choice[l]]);
      fprintf(out, "\n");
      fflush(out);
      fprintf(stderr, "zcpt %s seed %d: arch %lld, %.1fs\n", c.proxy, seed, (long long)id, r.seconds);
      fab_zcpt_result_free(&r);
    }
  }
  fprintf(stderr, "\n");
  fclose(out);
  fab_supernet_free(&s);
  fab_module_free(sm);
  fab_dataset_free(&tr);
  fab_dataset_free(&te);
  fab_diag_free(d);
  return 0;
}
