/* zcpt.c — Zero-Cost-PT operation selection (Xiang, Dudziak, Abdelfattah
 * et al.) on an IR-level supernet.
 *
 * Proposal (N times): all candidates present; visit the edges in a random
 * order; on each, score the supernet with each candidate masked in turn
 * and keep the candidate whose removal lowers the score most; discretise
 * the edge to it: the other candidates are masked and the edge's mixing
 * scale becomes 1 (project_op sets the chosen op's weight to 1).  The
 * scales live in a private copy of the supernet, which the differentiable
 * program reads at every pass.  Validation: every distinct proposal is
 * extracted as a plain module (with the supernet's weights, renamed) and
 * scored on its own over V minibatches; the best mean score wins.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy.h"

void fab_zcpt_options_default(fab_zcpt_options *o) {
  memset(o, 0, sizeof *o);
  o->proxy = FAB_PROXY_NWOT;
  o->proposals = 10;
  o->valid_batches = 100;
  o->batch = 32;
  o->seed = 1;
}

void fab_zcpt_result_free(fab_zcpt_result *r) {
  if (r->op_score)
    for (int e = 0; e < r->nedges; e++) free(r->op_score[e]);
  free(r->op_score);
  free(r->choice);
  memset(r, 0, sizeof *r);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool needs_backward(fab_proxy_kind k) {
  return k == FAB_PROXY_SNIP || k == FAB_PROXY_GRAD_NORM || k == FAB_PROXY_FISHER ||
         k == FAB_PROXY_JACOB_COV || k == FAB_PROXY_SYNFLOW;
}

typedef struct zctx {
  const fab_zcpt_options *o;
  const fab_dataset *data;
  fab_rng rng;
  fab_zcpt_result *res;
  fab_diag *d;
} zctx;

/* Scores `ad` on one freshly drawn minibatch. */
static bool score_once(zctx *z, fab_ad *ad, double *s) {
  fab_proxy_batch b;
  int n = z->o->proxy == FAB_PROXY_SYNFLOW ? 1 : z->o->batch;
  if (!fab_proxy_batch_from_dataset(z->data, fab_rng_below(&z->rng, z->data->n), z->o->batch, &b, z->d))
    return false;
  bool ok = fab_proxy_score_ad_defs(ad, z->o->proxy, z->o->defs, &b, s, z->d);
  fab_proxy_batch_free(&b);
  z->res->proxy_evals++;
  z->res->forward_passes += (int64_t)n * (needs_backward(z->o->proxy) ? 2 : 1);
  return ok;
}

/* A copy of the supernet with its edges (same op order, same names). */
static fab_module *supernet_copy(const fab_module *sm, const fab_supernet *s, fab_supernet *sw,
                                 fab_diag *d) {
  int *all = malloc(sizeof(int) * (size_t)(s->nedges + 1));
  if (!all) {
    fab_error(d, (fab_loc){0}, "zero-cost-pt: out of memory");
    return NULL;
  }
  for (int e = 0; e < s->nedges; e++) all[e] = -1;
  fab_module *w = fab_supernet_extract(sm, s, all, NULL, NULL, d);
  free(all);
  if (w && (!fab_supernet_scan(w, sw, d) || sw->nedges != s->nedges)) {
    fab_error(d, (fab_loc){0}, "zero-cost-pt: the supernet's copy lost its edges");
    fab_supernet_free(sw);
    fab_module_free(w);
    return NULL;
  }
  return w;
}

/* Mixing scale of each edge: 1 once decided (choice[e] >= 0), else the
 * supernet's own (mix0[e], 1/k; choice NULL: every edge undecided).  An
 * attribute edit may allocate and the builders have no error channel, so
 * it runs under an out-of-memory guard: false (with a message) if memory
 * ran out. */
typedef struct mix_job {
  fab_module *w;
  const fab_supernet *sw;
  const int *choice;
  const double *mix0;
} mix_job;

static void set_mix_scales_unguarded(void *arg) {
  const mix_job *j = arg;
  fab_func *f = fab_module_main(j->w);
  for (int e = 0; e < j->sw->nedges; e++) {
    const fab_supernet_edge *ed = &j->sw->edges[e];
    if (ed->mix_op < 0) continue;
    bool decided = j->choice && j->choice[e] >= 0;
    fab_op_set_float(j->w, &f->ops[ed->mix_op], "factor", decided ? 1.0 : j->mix0[e]);
  }
}

static bool set_mix_scales(fab_module *w, const fab_supernet *sw, const int *choice,
                           const double *mix0, fab_diag *d) {
  mix_job j = {w, sw, choice, mix0};
  if (fab_oom_protect(set_mix_scales_unguarded, &j)) return true;
  fab_error(d, (fab_loc){0}, "zero-cost-pt: out of memory");
  return false;
}

bool fab_zcpt_select(const fab_module *sm, const fab_tensor_set *weights, const fab_dataset *data,
                     const fab_zcpt_options *opt, fab_zcpt_result *res, fab_diag *d) {
  fab_zcpt_options o;
  if (opt) o = *opt;
  else fab_zcpt_options_default(&o);
  memset(res, 0, sizeof *res);
  if (o.proposals < 1 || o.valid_batches < 1 || o.batch < 1 || o.proxy < 0 || o.proxy >= FAB_PROXY_COUNT ||
      !data || data->n < 1) {
    fab_error(d, (fab_loc){0}, "zero-cost-pt: bad options");
    return false;
  }
  double t0 = now_s();
  fab_supernet s;
  if (!fab_supernet_scan(sm, &s, d)) return false;
  if (s.nedges == 0) {
    fab_error(d, (fab_loc){0}, "zero-cost-pt: the module has no choice edges (hint.choice_edge)");
    fab_supernet_free(&s);
    return false;
  }
  /* a private copy whose mixing scales can be set (same ops and names) */
  fab_supernet sw = {0};
  fab_module *work = supernet_copy(sm, &s, &sw, d);
  if (!work) {
    fab_supernet_free(&s);
    return false;
  }
  zctx z = {&o, data, {{0}}, res, d};
  fab_rng_seed(&z.rng, o.seed * 0x9E3779B97F4A7C15ull + 3);
  int E = s.nedges, N = o.proposals;
  fab_ad *ad = fab_ad_new(work, d);
  fab_tensor_set *w = fab_tset_new();
  int *props = calloc((size_t)(N * E), sizeof(int)), *order = calloc((size_t)E, sizeof(int));
  int *cur = calloc((size_t)E, sizeof(int));
  double *without = NULL, *mix0 = calloc((size_t)E + 1, sizeof(double));
  for (int e = 0; mix0 && e < E; e++) {
    int mix = sw.edges[e].mix_op;
    mix0[e] = mix < 0 ? 1 : fab_op_float(&fab_module_main(work)->ops[mix], "factor", 1);
  }
  res->nedges = E;
  res->choice = calloc((size_t)E, sizeof(int));
  res->op_score = calloc((size_t)E, sizeof(double *));
  int maxc = 0;
  for (int e = 0; e < E; e++) maxc = s.edges[e].ncand > maxc ? s.edges[e].ncand : maxc;
  without = calloc((size_t)maxc, sizeof(double));
  bool ok = ad && w && props && order && cur && res->choice && res->op_score && without && mix0;
  for (int e = 0; ok && e < E; e++) ok = (res->op_score[e] = calloc((size_t)s.edges[e].ncand, sizeof(double))) != NULL;
  if (ad && w && ok) {
    ok = weights ? fab_ad_load_weights(ad, weights, d) : fab_ad_init_params(ad, o.seed, d);
    ok = ok && fab_ad_store_weights(ad, w, d); /* for extraction */
  } else if (ad) {
    fab_error(d, (fab_loc){0}, "zero-cost-pt: out of memory");
    ok = false;
  }
  /* ---- proposals ---- */
  for (int p = 0; ok && p < N; p++) {
    for (int e = 0; e < E; e++) {
      cur[e] = -1;
      order[e] = e;
    }
    for (int e = E - 1; e > 0; e--) {
      int j = (int)fab_rng_below(&z.rng, e + 1), t = order[e];
      order[e] = order[j];
      order[j] = t;
    }
    fab_supernet_apply(ad, &sw, cur);
    ok = set_mix_scales(work, &sw, cur, mix0, d);
    for (int oi = 0; ok && oi < E; oi++) {
      int e = order[oi];
      const fab_supernet_edge *ed = &sw.edges[e];
      double base = 0;
      /* fabc: one minibatch per edge decision, shared by its comparisons;
       * reference: a fresh one per evaluation */
      fab_rng keep = z.rng;
      bool fresh = o.defs == FAB_PROXY_DEFS_REFERENCE;
      ok = score_once(&z, ad, &base);
      int best = 0;
      for (int c = 0; ok && c < ed->ncand; c++) {
        fab_ad_set_mask(ad, ed->cand_op[c], true);
        if (!fresh) z.rng = keep;
        ok = score_once(&z, ad, &without[c]);
        fab_ad_set_mask(ad, ed->cand_op[c], false);
        res->op_score[e][c] += (base - without[c]) / N;
        if (without[c] < without[best]) best = c;
      }
      if (!ok) break;
      cur[e] = best;
      fab_supernet_apply(ad, &sw, cur);
      if (!(ok = set_mix_scales(work, &sw, cur, mix0, d))) break;
      if (o.log) {
        fprintf(o.log, "zcpt: proposal %d edge %s:", p, ed->name);
        for (int c = 0; c < ed->ncand; c++) fprintf(o.log, " %s %.4g", ed->cand[c], base - without[c]);
        fprintf(o.log, " -> %s\n", ed->cand[best]);
      }
    }
    memcpy(props + p * E, cur, sizeof(int) * (size_t)E);
  }
  /* ---- validation of each distinct proposal, on its own ---- */
  double best_score = -INFINITY;
  for (int p = 0; ok && p < N; p++) {
    bool seen = false;
    for (int q = 0; q < p && !seen; q++) seen = !memcmp(props + q * E, props + p * E, sizeof(int) * (size_t)E);
    if (seen) continue;
    res->nproposals_distinct++;
    fab_tensor_set *pw = fab_tset_new();
    if (!pw) fab_error(d, (fab_loc){0}, "zero-cost-pt: out of memory");
    fab_module *pm = pw ? fab_supernet_extract(sm, &s, props + p * E, w, pw, d) : NULL;
    fab_ad *pad = pm ? fab_ad_new(pm, d) : NULL;
    ok = pad && fab_ad_load_weights(pad, pw, d);
    double mean = 0;
    for (int v = 0; ok && v < o.valid_batches; v++) {
      double sc;
      ok = score_once(&z, pad, &sc);
      mean += sc / o.valid_batches;
    }
    if (ok && o.log) {
      fprintf(o.log, "zcpt: proposal %d [", p);
      for (int e = 0; e < E; e++) fprintf(o.log, "%s%s", e ? " " : "", s.edges[e].cand[props[p * E + e]]);
      fprintf(o.log, "] validation %s %.6g\n", fab_proxy_name(o.proxy), mean);
    }
    if (ok && mean > best_score) {
      best_score = mean;
      memcpy(res->choice, props + p * E, sizeof(int) * (size_t)E);
    }
    fab_ad_free(pad);
    fab_module_free(pm);
    fab_tset_free(pw);
  }
  res->best_score = best_score;
  if (ok && o.log) {
    for (int e = 0; e < E; e++) {
      fprintf(o.log, "zcpt: edge %s op scores:", s.edges[e].name);
      for (int c = 0; c < s.edges[e].ncand; c++)
        fprintf(o.log, " %s %.4g", s.edges[e].cand[c], res->op_score[e][c]);
      fprintf(o.log, "  chosen %s\n", s.edges[e].cand[res->choice[e]]);
    }
  }
  res->seconds = now_s() - t0;
  fab_tset_free(w);
  free(props);
  free(order);
  free(cur);
  free(without);
  free(mix0);
  fab_ad_free(ad);
  fab_module_free(work);
  fab_supernet_free(&sw);
  fab_supernet_free(&s);
  if (!ok) fab_zcpt_result_free(res);
  return ok;
}
