/* weight_resolve.c — applying a weight map (fab_weight_map.h) to a tensor
 * set against a model's parameters, and the closest-name suggestions of
 * its errors.
 *
 * Cost: names are looked up through a hash table built once (a state_dict
 * may hold 100k entries); the edit distances behind "did you mean" are
 * computed only when a parameter is missing, for the first few missing
 * ones, bounded (a banded dynamic programme that stops once the distance
 * is out of reach), against names not already used by a parameter. */
#include "fab_tensor_internal.h"
#include "fab_alloc.h"
#include "fab_weight_map_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAX_SUGGESTED_MISSING = 16, /* missing parameters that get suggestions */
  MAX_SUGGESTIONS = 3,
  MAX_REPORTED_UNUSED = 20,   /* then one line for the rest */
  MAX_SUGGEST_NAME = 256,     /* longer names are never suggested */
  UNUSED = -1, DUPLICATE = -2, /* resolution.user[] of no parameter */
};

/* ---- closest names --------------------------------------------------------- */

int fab_edit_distance_within(const char *a, size_t m, const char *b, size_t n, int k) {
  if (k < 0) return 0;
  if ((m > n ? m - n : n - m) > (size_t)k) return k + 1;
  if (m > MAX_SUGGEST_NAME || n > MAX_SUGGEST_NAME) return k + 1;
  const int inf = k + 1;
  int rows[2][MAX_SUGGEST_NAME + 2];
  int *prev = rows[0], *cur = rows[1];
  for (size_t j = 0; j <= n; j++) prev[j] = j <= (size_t)k ? (int)j : inf;
  for (size_t i = 1; i <= m; i++) {
    size_t lo = i > (size_t)k ? i - (size_t)k : 1, hi = i + (size_t)k < n ? i + (size_t)k : n;
    cur[lo - 1] = lo == 1 ? ((int)i <= k ? (int)i : inf) : inf;
    int best = cur[lo - 1];
    for (size_t j = lo; j <= hi; j++) {
      int v = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      cur[j] = v > inf ? inf : v;
      if (cur[j] < best) best = cur[j];
    }
    if (hi < n) cur[hi + 1] = inf;
    if (best > k) return inf;
    int *t = prev;
    prev = cur;
    cur = t;
  }
  return prev[n] > inf ? inf : prev[n];
}

/* 0 when one name is the other under a dotted prefix ("model.x" for
 * "x"): the usual difference between a state_dict and a model. */
static bool dotted_suffix(const char *longer, size_t ln, const char *shorter, size_t sn) {
  return ln > sn + 1 && longer[ln - sn - 1] == '.' && memcmp(longer + ln - sn, shorter, sn) == 0;
}

int fab_closest_names(const char *name, const char *(*name_at)(const void *ctx, int i),
                      const void *ctx, int count, int max, char *buf, size_t n, int *best) {
  if (max > MAX_SUGGESTIONS) max = MAX_SUGGESTIONS;
  int idx[MAX_SUGGESTIONS], dist[MAX_SUGGESTIONS], found = 0;
  size_t len = strlen(name);
  int k = 2 + (int)(len / 4);
  for (int i = 0; i < count && max > 0; i++) {
    const char *c = name_at(ctx, i);
    if (!c) continue;
    size_t clen = strlen(c);
    /* Only names closer than the worst kept one are worth a distance. */
    int limit = found == max ? dist[found - 1] - 1 : k;
    if (limit < 0) break;
    int d = dotted_suffix(c, clen, name, len) || dotted_suffix(name, len, c, clen)
                ? 0
                : fab_edit_distance_within(name, len, c, clen, limit);
    if (d > limit) continue;
    int at = found < max ? found++ : max - 1;
    while (at > 0 && dist[at - 1] > d) {
      idx[at] = idx[at - 1];
      dist[at] = dist[at - 1];
      at--;
    }
    idx[at] = i;
    dist[at] = d;
  }
  if (best) *best = found ? idx[0] : -1;
  size_t w = 0;
  if (n) buf[0] = 0;
  for (int i = 0; i < found && w < n; i++) {
    const char *sep = i == 0 ? "" : i == found - 1 ? " or " : ", ";
    int r = snprintf(buf + w, n - w, "%s'%s'", sep, name_at(ctx, idx[i]));
    if (r < 0) break;
    w += (size_t)r;
  }
  return found;
}

static const char *set_name_at(const void *ctx, int i) {
  return ((const fab_tensor_set *)ctx)->items[i].name;
}

int fab_wmap_suggest(const fab_tensor_set *set, const char *name, int max, char *buf, size_t n) {
  if (n) buf[0] = 0;
  if (!set || !name) return 0;
  return fab_closest_names(name, set_name_at, set, set->count, max, buf, n, NULL);
}

/* ---- the resolution -------------------------------------------------------- */

typedef struct resolution {
  const fab_weight_map *map;
  const fab_tensor_set *set;
  const fab_wmap_param *params;
  int nparams;
  char **renamed;   /* per entry: its new name (owned), or NULL if unchanged */
  int *user;        /* per entry: the parameter it supplies, UNUSED or DUPLICATE */
  int *table;       /* hash table of entry indices (-1: empty) */
  size_t mask;
  /* problems */
  fab_status first;
  fab_wmap_report_fn report;
  void *ctx;
  char *err;
  size_t errlen;
} resolution;

static void problem(resolution *r, int param, fab_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void problem(resolution *r, int param, fab_status st, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (r->first == FAB_OK) {
    r->first = st;
    if (r->err && r->errlen) snprintf(r->err, r->errlen, "%s", msg);
  }
  if (r->report) r->report(r->ctx, param, st, msg);
}

static const char *entry_name(const resolution *r, int i) {
  return r->renamed[i] ? r->renamed[i] : r->set->items[i].name;
}

static uint64_t hash_name(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return h;
}

static int lookup(const resolution *r, const char *name) {
  for (size_t at = hash_name(name) & r->mask;; at = (at + 1) & r->mask) {
    int i = r->table[at];
    if (i < 0 || strcmp(entry_name(r, i), name) == 0) return i;
  }
}

/* Renames every entry and indexes the new names; two entries with the same
 * new name are a problem of the rules. */
static bool index_entries(resolution *r) {
  int n = r->set->count;
  size_t size = 16;
  while (size < 2 * (size_t)n) size *= 2;
  r->mask = size - 1;
  r->renamed = fab_calloc((size_t)n + 1, sizeof *r->renamed);
  r->user = fab_malloc(((size_t)n + 1) * sizeof *r->user);
  r->table = fab_malloc(size * sizeof *r->table);
  if (!r->renamed || !r->user || !r->table) return false;
  memset(r->table, 0xff, size * sizeof *r->table);
  for (int i = 0; i < n; i++) {
    r->user[i] = UNUSED;
    const char *old = r->set->items[i].name;
    const wmap_rename *rule = fab_wmap_rule_for(r->map, old);
    if (rule) {
      size_t tl = strlen(rule->to), rest = strlen(old + rule->from_len);
      if (!(r->renamed[i] = fab_malloc(tl + rest + 1))) return false;
      memcpy(r->renamed[i], rule->to, tl);
      memcpy(r->renamed[i] + tl, old + rule->from_len, rest + 1);
    }
    const char *now = entry_name(r, i);
    size_t at = hash_name(now) & r->mask;
    while (r->table[at] >= 0 && strcmp(entry_name(r, r->table[at]), now) != 0) at = (at + 1) & r->mask;
    if (r->table[at] >= 0) {
      problem(r, -1, FAB_E_ARG, "the rename rules give two entries of the file the name '%s': '%s' and '%s'",
              now, r->set->items[r->table[at]].name, old);
      r->user[i] = DUPLICATE; /* reported once, not again as unused */
    } else {
      r->table[at] = i;
    }
  }
  return true;
}

static int find_param(const resolution *r, const char *name) {
  for (int i = 0; i < r->nparams; i++)
    if (strcmp(r->params[i].name, name) == 0) return i;
  return -1;
}

static const char *param_name_at(const void *ctx, int i) {
  return ((const resolution *)ctx)->params[i].name;
}

/* Names of entries no parameter has claimed (the candidates for "did you
 * mean"). */
static const char *unused_name_at(const void *ctx, int i) {
  const resolution *r = ctx;
  return r->user[i] == UNUSED ? entry_name(r, i) : NULL;
}

static const wmap_reshape *reshape_for(const fab_weight_map *map, const char *name) {
  for (int i = 0; map && i < map->nreshapes; i++)
    if (strcmp(map->reshapes[i].name, name) == 0) return &map->reshapes[i];
  return NULL;
}

/* Every stated reshape names a parameter and, if it gives a shape, the
 * parameter's shape. */
static void check_reshape_rules(resolution *r) {
  for (int i = 0; r->map && i < r->map->nreshapes; i++) {
    const wmap_reshape *rs = &r->map->reshapes[i];
    int p = find_param(r, rs->name);
    char a[160], b[160];
    if (p < 0) {
      bool close = fab_closest_names(rs->name, param_name_at, r, r->nparams, MAX_SUGGESTIONS, a,
                                     sizeof a, NULL) > 0;
      problem(r, -1, FAB_E_ARG, "reshape of '%s': the model has no parameter of that name%s%s%s",
              rs->name, close ? "; did you mean " : "", close ? a : "", close ? "?" : "");
    } else if (rs->rank >= 0 &&
               (rs->rank != r->params[p].rank ||
                memcmp(rs->dims, r->params[p].dims, (size_t)rs->rank * sizeof *rs->dims) != 0)) {
      problem(r, p, FAB_E_ARG, "reshape of '%s' to %s: the model's parameter has shape %s", rs->name,
              fab_shape_str(rs->rank, rs->dims, a, sizeof a),
              fab_shape_str(r->params[p].rank, r->params[p].dims, b, sizeof b));
    }
  }
}

/* True when t's shape is the parameter's with k >= 1 leading 1-axes added. */
static bool leading_ones(const fab_tensor *t, const fab_wmap_param *p) {
  int k = t->rank - p->rank;
  if (k < 1) return false;
  for (int i = 0; i < k; i++)
    if (t->dims[i] != 1) return false;
  return memcmp(t->dims + k, p->dims, (size_t)p->rank * sizeof *p->dims) == 0;
}

static bool same_shape(const fab_tensor *t, const fab_wmap_param *p) {
  return t->rank == p->rank && memcmp(t->dims, p->dims, (size_t)p->rank * sizeof *p->dims) == 0;
}

static const char *from_note(const resolution *r, int e, char *buf, size_t n) {
  if (r->renamed[e])
    snprintf(buf, n, " (renamed from '%s')", r->set->items[e].name);
  else if (n)
    buf[0] = 0;
  return buf;
}

static void check_shape(resolution *r, int p, int e) {
  const fab_tensor *t = &r->set->items[e];
  const fab_wmap_param *pp = &r->params[p];
  if (same_shape(t, pp)) return;
  char a[160], b[160], note[600];
  fab_shape_str(t->rank, t->dims, a, sizeof a);
  fab_shape_str(pp->rank, pp->dims, b, sizeof b);
  from_note(r, e, note, sizeof note);
  if (reshape_for(r->map, pp->name)) {
    if (!leading_ones(t, pp))
      problem(r, p, FAB_E_SHAPE,
              "cannot reshape weight '%s'%s from %s to %s: only leading axes of size 1 may be dropped",
              pp->name, note, a, b);
  } else if (leading_ones(t, pp)) {
    problem(r, p, FAB_E_SHAPE,
            "weight '%s'%s has shape %s, the model expects %s; to drop the leading axes of size 1, "
            "state the reshape (--reshape '%s', or \"reshape\" in a weight map)",
            pp->name, note, a, b, pp->name);
  } else {
    problem(r, p, FAB_E_SHAPE, "weight '%s'%s has shape %s, the model expects %s", pp->name, note, a, b);
  }
}

static void report_missing(resolution *r, int p, bool suggest) {
  const fab_wmap_param *pp = &r->params[p];
  char shape[160], names[1024] = "", hint[600] = "";
  fab_shape_str(pp->rank, pp->dims, shape, sizeof shape);
  int best = -1;
  if (suggest &&
      fab_closest_names(pp->name, unused_name_at, r, r->set->count, MAX_SUGGESTIONS, names,
                        sizeof names, &best) > 0) {
    /* The best is the name under a dotted prefix: say which rule maps it. */
    const char *c = entry_name(r, best);
    size_t cl = strlen(c), pl = strlen(pp->name);
    if (dotted_suffix(c, cl, pp->name, pl))
      snprintf(hint, sizeof hint, " (--rename '%.*s=' strips that prefix)", (int)(cl - pl), c);
    else if (dotted_suffix(pp->name, pl, c, cl))
      snprintf(hint, sizeof hint, " (--rename '=%.*s' adds that prefix)", (int)(pl - cl), pp->name);
  }
  /* A bare nn.Parameter (`pos`) where the model has a layer (`pos.weight`):
   * too far apart for the edit distance, but the usual case. */
  const char *dot = strrchr(pp->name, '.');
  if (suggest && !*names && dot && dot != pp->name && (size_t)(dot - pp->name) < sizeof names - 3) {
    char parent[1024];
    snprintf(parent, sizeof parent, "%.*s", (int)(dot - pp->name), pp->name);
    int e = lookup(r, parent);
    if (e >= 0 && r->user[e] == UNUSED) {
      snprintf(names, sizeof names, "'%.1000s'", parent);
      snprintf(hint, sizeof hint, " (--rename '%.250s=%.250s' renames it)", parent, pp->name);
    }
  }
  problem(r, p, FAB_E_MISSING, "missing weight '%s' (shape %s)%s%s%s%s", pp->name, shape,
          *names ? "; did you mean " : "", names, *names ? "?" : "", hint);
}

static void check_unused(resolution *r) {
  int unused = 0;
  for (int e = 0; e < r->set->count; e++) {
    if (r->user[e] != UNUSED) continue;
    if (++unused > MAX_REPORTED_UNUSED) continue;
    char note[600];
    problem(r, -1, FAB_E_EXTRA,
            "unexpected weight '%s'%s: the model has no parameter of that name (--allow-unused, or "
            "\"allow_unused\": true in a weight map, ignores such entries)",
            entry_name(r, e), from_note(r, e, note, sizeof note));
  }
  if (unused > MAX_REPORTED_UNUSED)
    problem(r, -1, FAB_E_EXTRA, "... and %d more unexpected weights (--allow-unused ignores them)",
            unused - MAX_REPORTED_UNUSED);
}

static void resolution_free(resolution *r) {
  for (int i = 0; r->renamed && i < r->set->count; i++) free(r->renamed[i]);
  free(r->renamed);
  free(r->user);
  free(r->table);
}

/* Fills r (to be freed with resolution_free) and found[]. */
static fab_status resolve(resolution *r, unsigned flags, int *found) {
  for (int p = 0; p < r->nparams; p++) found[p] = -1;
  if (!index_entries(r)) return fab_fail(r->err, r->errlen, FAB_E_NOMEM, "out of memory");
  check_reshape_rules(r);
  for (int p = 0; p < r->nparams; p++) {
    int e = lookup(r, r->params[p].name);
    found[p] = e;
    if (e < 0) continue;
    /* A name listed twice (a descriptor may) binds one entry to both. */
    if (r->user[e] == UNUSED) r->user[e] = p;
    check_shape(r, p, e);
  }
  /* Suggestions need every claimed entry known, hence a second loop. */
  int missing = 0;
  for (int p = 0; p < r->nparams; p++)
    if (found[p] < 0) report_missing(r, p, missing++ < MAX_SUGGESTED_MISSING);
  if (!(flags & FAB_WMAP_UNUSED_OK) && !fab_wmap_allows_unused(r->map)) check_unused(r);
  return r->first;
}

fab_status fab_wmap_resolve(const fab_weight_map *map, const fab_tensor_set *set,
                            const fab_wmap_param *params, int nparams, unsigned flags, int *found,
                            fab_wmap_report_fn report, void *ctx, char *err, size_t errlen) {
  if (!set || (nparams > 0 && (!params || !found)) || nparams < 0)
    return fab_fail(err, errlen, FAB_E_ARG, "fab_wmap_resolve: no tensors or parameters");
  resolution r = {.map = map, .set = set, .params = params, .nparams = nparams,
                  .report = report, .ctx = ctx, .err = err, .errlen = errlen};
  fab_status st = resolve(&r, flags, found);
  resolution_free(&r);
  return st;
}

fab_status fab_wmap_apply(const fab_weight_map *map, fab_tensor_set *set,
                          const fab_wmap_param *params, int nparams, unsigned flags, int *found_out,
                          fab_wmap_report_fn report, void *ctx, char *err, size_t errlen) {
  if (!set || (nparams > 0 && !params) || nparams < 0)
    return fab_fail(err, errlen, FAB_E_ARG, "fab_wmap_apply: no tensors or parameters");
  int *found = fab_malloc(((size_t)nparams + 1) * sizeof *found);
  if (!found) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  resolution r = {.map = map, .set = set, .params = params, .nparams = nparams,
                  .report = report, .ctx = ctx, .err = err, .errlen = errlen};
  fab_status st = resolve(&r, flags, found);
  if (st == FAB_OK) {
    for (int e = 0; e < set->count; e++)
      if (r.renamed[e]) {
        free(set->items[e].name);
        set->items[e].name = r.renamed[e];
        r.renamed[e] = NULL;
      }
    for (int p = 0; p < nparams; p++) {
      fab_tensor *t = &set->items[found[p]];
      if (t->rank == params[p].rank) continue;
      /* Only leading 1-axes differ (checked): the data stays as it is. */
      memset(t->dims, 0, sizeof t->dims);
      memcpy(t->dims, params[p].dims, (size_t)params[p].rank * sizeof *t->dims);
      t->rank = params[p].rank;
    }
    if (fab_wmap_allows_unused(map)) {
      /* r.user[] becomes each entry's new index. */
      int kept = 0;
      for (int e = 0; e < set->count; e++) {
        if (r.user[e] < 0) {
          free(set->items[e].name);
          free(set->items[e].data);
        } else {
          r.user[e] = kept;
          set->items[kept++] = set->items[e];
        }
      }
      for (int p = 0; p < nparams; p++) found[p] = r.user[found[p]];
      set->count = kept;
    }
    fab_tset_reindex(set); /* renamed or dropped entries; out of memory: lookups scan */
  }
  if (found_out && nparams > 0) memcpy(found_out, found, (size_t)nparams * sizeof *found);
  resolution_free(&r);
  free(found);
  return st;
}
