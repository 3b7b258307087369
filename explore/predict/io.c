/* io.c — .pred files (JSON with a format header) and BRP-NAS iterative
 * data selection. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fab_tensor.h" /* fab_write_file_atomic */
#include "predict_internal.h"

static const char *kind_names[] = {"gcn", "macs", "lut", "brp"};

static json_t *darray(const double *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
  return a;
}

bool fab_pred_save(const fab_predictor *p, const char *path, fab_diag *d) {
  json_t *j = json_pack("{s s s i s s}", "format", "fab-predictor", "version", FAB_PRED_FILE_VERSION,
                        "kind", kind_names[p->kind]);
  if (p->kind == FAB_PRED_GCN || p->kind == FAB_PRED_BRP) {
    json_object_set_new(j, "layers", json_integer(p->net.L));
    json_object_set_new(j, "width", json_integer(p->net.W));
    json_object_set_new(j, "nfeat", json_integer(p->net.F));
    json_object_set_new(j, "dropout", json_real(p->net.dropout));
    json_object_set_new(j, "y_mean", json_real(p->y_mean));
    json_object_set_new(j, "y_std", json_real(p->y_std));
    json_object_set_new(j, "readout", json_string(p->sum_readout ? "sum" : "global"));
    json_object_set_new(j, "target", json_string(p->residual ? "log_over_analytical" : "log"));
    json_object_set_new(j, "graph", json_string(p->net.paper_graph ? "paper" : "ours"));
    json_object_set_new(j, "theta", darray(p->net.theta, p->net.nparams));
  } else if (p->kind == FAB_PRED_MACS) {
    json_object_set_new(j, "a", json_real(p->a));
    json_object_set_new(j, "b", json_real(p->b));
  } else {
    json_t *keys = json_array();
    for (int i = 0; i < p->nkeys; i++) {
      char h[24];
      snprintf(h, sizeof h, "%016llx", (unsigned long long)p->keys[i]);
      json_array_append_new(keys, json_string(h));
    }
    json_object_set_new(j, "keys", keys);
    json_object_set_new(j, "values", darray(p->tval, p->nkeys));
    json_object_set_new(j, "rate", darray(p->rate, FAB_PRED_NOPS));
    json_object_set_new(j, "bias", json_real(p->lut_bias));
  }
  char *text = json_dumps(j, JSON_COMPACT), err[512];
  json_decref(j);
  bool ok = text && fab_write_file_atomic(path, text, strlen(text), err, sizeof err) == FAB_OK;
  if (!ok) fab_error(d, (fab_loc){0}, "cannot write predictor: %s", text ? err : "out of memory");
  free(text);
  return ok;
}

static bool get_darray(json_t *a, double *out, int n) {
  if (!json_is_array(a) || (int)json_array_size(a) != n) return false;
  for (int i = 0; i < n; i++) {
    json_t *v = json_array_get(a, (size_t)i);
    if (!json_is_number(v) || !isfinite(json_number_value(v))) return false;
    out[i] = json_number_value(v);
  }
  return true;
}

/* The parameters; a file from before the wb_share feature (before_wb:
 * FAB_PRED_NFEAT_V2 input features) lacks its first-layer row, which
 * stays 0: the file predicts as it always did. */
static bool get_theta(json_t *a, gcn *g, bool before_wb) {
  if (!before_wb) return get_darray(a, g->theta, g->nparams);
  size_t row = (size_t)g->oW[0] + (size_t)FAB_PRED_NFEAT_V2 * (size_t)g->W, n = (size_t)g->nparams - (size_t)g->W;
  double *old = malloc(sizeof(double) * n);
  bool ok = old && get_darray(a, old, (int)n);
  if (ok) {
    memcpy(g->theta, old, sizeof(double) * row);
    memcpy(g->theta + row + g->W, old + row, sizeof(double) * (n - row));
  }
  free(old);
  return ok;
}

fab_predictor *fab_pred_load(const char *path, fab_diag *d) {
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if (!j) {
    fab_error(d, (fab_loc){0}, "%s: not a predictor file: %s", path, je.text);
    return NULL;
  }
  const char *fmt = json_string_value(json_object_get(j, "format"));
  const char *kind = json_string_value(json_object_get(j, "kind"));
  json_t *ver = json_object_get(j, "version");
  fab_predictor *p = calloc(1, sizeof *p);
  const char *why = NULL;
  char whyb[400];
  if (!fmt || strcmp(fmt, "fab-predictor")) why = "missing \"format\": \"fab-predictor\"";
  else if (json_is_integer(ver) && json_integer_value(ver) == 1)
    why = "version 1 file (before the heads, elements-moved and analytical-latency "
          "features): retrain it with this build";
  else if (!json_is_integer(ver) || json_integer_value(ver) != FAB_PRED_FILE_VERSION)
    why = "unsupported version (want 2)";
  else if (!kind) why = "missing \"kind\"";
  if (!why && p) {
    int k = -1;
    for (int i = 0; i < 4; i++)
      if (!strcmp(kind, kind_names[i])) k = i;
    p->kind = (fab_pred_kind)k;
    if (k < 0) why = "unknown \"kind\"";
    else if (k == FAB_PRED_GCN || k == FAB_PRED_BRP) {
      int64_t L, W, F;
      gcn *g = &p->net;
      if (!fab_json_member_int(j, NULL, "layers", 1, GCN_MAX_LAYERS, 0, &L, whyb, sizeof whyb) ||
          !fab_json_member_int(j, NULL, "width", 1, 256, 0, &W, whyb, sizeof whyb) ||
          !fab_json_member_int(j, NULL, "nfeat", 0, INT32_MAX, 0, &F, whyb, sizeof whyb) ||
          !fab_json_member_number(j, NULL, "dropout", 0, 1, 0, &g->dropout, whyb, sizeof whyb) ||
          !fab_json_member_number(j, NULL, "y_mean", -1e300, 1e300, 0, &p->y_mean, whyb, sizeof whyb) ||
          !fab_json_member_number(j, NULL, "y_std", -1e300, 1e300, 0, &p->y_std, whyb, sizeof whyb))
        why = whyb;
      else if (F != FAB_PRED_NFEAT && F != FAB_PRED_NFEAT_V2) why = "feature count differs from this build's";
      else {
        g->L = (int)L, g->W = (int)W, g->F = FAB_PRED_NFEAT;
        g->head_in = (k == FAB_PRED_BRP ? 2 : 1) * g->W;
        g->head_out = k == FAB_PRED_BRP ? 2 : 1;
        gcn_layout(g);
        g->theta = calloc((size_t)g->nparams, sizeof(double));
        const char *ro = json_string_value(json_object_get(j, "readout"));
        p->sum_readout = ro && !strcmp(ro, "sum");
        if (ro && strcmp(ro, "sum") && strcmp(ro, "global")) why = "bad \"readout\"";
        const char *tg = json_string_value(json_object_get(j, "target"));
        p->residual = tg && !strcmp(tg, "log_over_analytical");
        if (tg && strcmp(tg, "log") && strcmp(tg, "log_over_analytical")) why = "bad \"target\"";
        const char *gf = json_string_value(json_object_get(j, "graph")); /* absent: ours */
        g->paper_graph = gf && !strcmp(gf, "paper");
        if (gf && strcmp(gf, "paper") && strcmp(gf, "ours")) why = "bad \"graph\" (paper or ours)";
        if (why) {
        } else if (!g->theta || !get_theta(json_object_get(j, "theta"), g, F == FAB_PRED_NFEAT_V2))
          why = "\"theta\" has the wrong size or a non-finite value";
        else if (k == FAB_PRED_GCN && !(p->y_std > 0)) why = "bad \"y_std\"";
      }
    } else if (k == FAB_PRED_MACS) {
      if (!fab_json_number(json_object_get(j, "a"), "a", -1e300, 1e300, &p->a, whyb, sizeof whyb) ||
          !fab_json_number(json_object_get(j, "b"), "b", -1e300, 1e300, &p->b, whyb, sizeof whyb))
        why = whyb;
    } else {
      json_t *keys = json_object_get(j, "keys");
      int n = json_is_array(keys) ? (int)json_array_size(keys) : -1;
      p->nkeys = n > 0 ? n : 0;
      p->keys = calloc((size_t)p->nkeys + 1, sizeof(uint64_t));
      p->tval = calloc((size_t)p->nkeys + 1, sizeof(double));
      if (n < 0 || !p->keys || !p->tval) why = "missing \"keys\"";
      for (int i = 0; !why && i < n; i++) {
        const char *h = json_string_value(json_array_get(keys, (size_t)i));
        char *end;
        p->keys[i] = h ? strtoull(h, &end, 16) : 0;
        if (!h || *end || (i && p->keys[i] <= p->keys[i - 1])) why = "bad or unsorted \"keys\"";
      }
      if (!why && !get_darray(json_object_get(j, "values"), p->tval, n)) why = "bad \"values\"";
      if (!why && !get_darray(json_object_get(j, "rate"), p->rate, FAB_PRED_NOPS)) why = "bad \"rate\"";
      if (!why && !fab_json_member_number(j, NULL, "bias", -1e300, 1e300, 0, &p->lut_bias, whyb,
                                          sizeof whyb))
        why = whyb;
    }
  }
  json_decref(j);
  if (!p || why) {
    fab_error(d, (fab_loc){0}, "%s: bad predictor file: %s", path, why ? why : "out of memory");
    fab_pred_free(p);
    return NULL;
  }
  return p;
}

/* ---- iterative data selection ------------------------------------------------------ */

static uint64_t xs(uint64_t *s) {
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

static const double *g_sort_score;
static int cmp_by_score(const void *a, const void *b) {
  double x = g_sort_score[*(const int *)a], y = g_sort_score[*(const int *)b];
  return (x > y) - (x < y);
}

/* Measures pool[i]: marks it taken and appends it to the training set. */
static void take(int i, bool *taken, int *chosen, const fab_pred_sample **tr, const fab_pred_sample *const *pool,
                 int *n) {
  taken[i] = true, chosen[*n] = i, tr[*n] = pool[i], (*n)++;
}

/* Round r >= 1: the predicted-best half, then random picks from the
 * predicted top 1/2^r of the pool (BRP-NAS's --sample_best2). */
static void select_round(const fab_predictor *p, const fab_pred_sample *const *pool, int npool,
                         const fab_pred_select_options *o, int r, bool *taken, int *chosen,
                         const fab_pred_sample **tr, int *n, double *score, int *order, uint64_t *rng) {
  int want = *n + o->per_round, best_half = *n + o->per_round / 2;
  fab_pred_rank_scores(p, pool, npool, score);
  if (o->maximize)
    for (int i = 0; i < npool; i++) score[i] = -score[i];
  for (int i = 0; i < npool; i++) order[i] = i;
  g_sort_score = score;
  qsort(order, (size_t)npool, sizeof(int), cmp_by_score); /* predicted best first */
  for (int i = 0; i < npool && *n < best_half; i++)
    if (!taken[order[i]]) take(order[i], taken, chosen, tr, pool, n);
  int top = r < 30 ? npool >> r : 1;
  int free_in_top = 0;
  for (int i = 0; i < top; i++) free_in_top += !taken[order[i]];
  if (free_in_top < want - *n) top = npool; /* the top is (nearly) measured: the whole pool */
  while (*n < want) {
    int pick = order[xs(rng) % (uint64_t)(top > 0 ? top : 1)];
    if (!taken[pick]) take(pick, taken, chosen, tr, pool, n);
  }
}

fab_predictor *fab_pred_select(const fab_pred_sample *const *pool, int npool,
                               const fab_pred_select_options *o, int *chosen, fab_diag *d) {
  int total = o->rounds * o->per_round;
  if (total > npool || o->rounds < 1 || o->per_round < 2 || o->train.epochs < o->rounds) {
    fab_error(d, (fab_loc){0}, "selection needs rounds >= 1, per_round >= 2, epochs >= rounds and a pool of "
              "at least %d (got %d)", total, npool);
    return NULL;
  }
  if (o->train.kind != FAB_PRED_GCN && o->train.kind != FAB_PRED_BRP) {
    fab_error(d, (fab_loc){0}, "iterative selection trains a GCN or a BRP");
    return NULL;
  }
  bool *taken = calloc((size_t)npool, sizeof(bool));
  const fab_pred_sample **tr = malloc(sizeof *tr * (size_t)total);
  double *score = malloc(sizeof(double) * (size_t)npool);
  int *order = malloc(sizeof(int) * (size_t)npool);
  fab_predictor *p = NULL;
  uint64_t rng = o->train.seed * 31 + 5;
  int n = 0;
  bool ok = taken && tr && score && order;
  for (int r = 0; ok && r < o->rounds; r++) {
    if (r == 0) {
      while (n < o->per_round) {
        int pick = (int)(xs(&rng) % (uint64_t)npool);
        if (!taken[pick]) take(pick, taken, chosen, tr, pool, &n);
      }
    } else {
      select_round(p, pool, npool, o, r, taken, chosen, tr, &n, score, order, &rng);
    }
    fab_pred_train_options to = o->train;
    to.epochs = (r + 1) * o->train.epochs / o->rounds; /* the reference's growing schedule */
    if (!p) p = fab_pred_train((const fab_pred_sample *const *)tr, n, NULL, 0, &to, d);
    else if (!fab_pred_train_more(p, (const fab_pred_sample *const *)tr, n, NULL, 0, &to, d)) ok = false;
    ok = ok && p;
    double best = o->maximize ? -INFINITY : INFINITY;
    for (int i = 0; i < n; i++) best = o->maximize ? fmax(best, tr[i]->latency) : fmin(best, tr[i]->latency);
    if (ok && o->log) fprintf(o->log, "round %d: %d measured, %d epochs, best label so far %.4g\n", r, n, to.epochs, best);
  }
  if (!ok) {
    fab_pred_free(p);
    p = NULL;
  }
  free(taken);
  free(tr);
  free(score);
  free(order);
  return p;
}
