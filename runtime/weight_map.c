/* weight_map.c — building a weight map (fab_weight_map.h): rename rules,
 * stated reshapes, allow_unused; from calls or from a JSON file. */
#include "fab_tensor_internal.h"
#include "fab_alloc.h"
#include "fab_weight_map_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A weight map is a few rules: refuse files far larger than any could be. */
enum { MAX_MAP_BYTES = 16 << 20 };

fab_weight_map *fab_wmap_new(void) { return fab_calloc(1, sizeof(fab_weight_map)); }

void fab_wmap_free(fab_weight_map *map) {
  if (!map) return;
  for (int i = 0; i < map->nrenames; i++) {
    free(map->renames[i].from);
    free(map->renames[i].to);
  }
  for (int i = 0; i < map->nreshapes; i++) free(map->reshapes[i].name);
  free(map->renames);
  free(map->reshapes);
  free(map);
}

/* Makes room for one more element of an array of `size`-byte items. */
static bool grow(void **items, int count, int *cap, size_t size) {
  if (count < *cap) return true;
  int ncap = *cap ? *cap * 2 : 4;
  void *p = fab_realloc(*items, (size_t)ncap * size);
  if (!p) return false;
  *items = p;
  *cap = ncap;
  return true;
}

fab_status fab_wmap_add_rename(fab_weight_map *map, const char *from, const char *to, char *err,
                               size_t errlen) {
  if (!map || !from || !to) return fab_fail(err, errlen, FAB_E_ARG, "no weight map or rule");
  if (strcmp(from, to) == 0)
    return fab_fail(err, errlen, FAB_E_ARG, "rename rule '%s=%s' does nothing (FROM equals TO)",
                    from, to);
  for (int i = 0; i < map->nrenames; i++) {
    const wmap_rename *r = &map->renames[i];
    if (strcmp(r->from, from) != 0) continue;
    if (strcmp(r->to, to) == 0) return FAB_OK;
    return fab_fail(err, errlen, FAB_E_ARG, "two rename rules for the prefix '%s': to '%s' and to '%s'",
                    from, r->to, to);
  }
  if (!grow((void **)&map->renames, map->nrenames, &map->cap_renames, sizeof *map->renames))
    return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  wmap_rename r = {fab_strdup(from), fab_strdup(to), strlen(from)};
  if (!r.from || !r.to) {
    free(r.from);
    free(r.to);
    return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  }
  map->renames[map->nrenames++] = r;
  return FAB_OK;
}

fab_status fab_wmap_add_rename_rule(fab_weight_map *map, const char *rule, char *err,
                                    size_t errlen) {
  const char *eq = rule ? strchr(rule, '=') : NULL;
  if (!eq)
    return fab_fail(err, errlen, FAB_E_ARG,
                    "rename rule '%s' has no '=' (the form is PREFIX=NEWPREFIX, e.g. 'model.=')",
                    rule ? rule : "");
  size_t n = (size_t)(eq - rule);
  char *from = fab_malloc(n + 1);
  if (!from) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  memcpy(from, rule, n);
  from[n] = 0;
  fab_status st = fab_wmap_add_rename(map, from, eq + 1, err, errlen);
  free(from);
  return st;
}

static bool same_shape(int ra, const int64_t *a, int rb, const int64_t *b) {
  if (ra != rb) return false;
  for (int i = 0; i < ra; i++)
    if (a[i] != b[i]) return false;
  return true;
}

fab_status fab_wmap_add_reshape(fab_weight_map *map, const char *name, int rank,
                                const int64_t *dims, char *err, size_t errlen) {
  if (!map || !name || !*name) return fab_fail(err, errlen, FAB_E_ARG, "reshape: no parameter name");
  if (rank > FAB_TENSOR_MAX_RANK || (rank > 0 && !dims))
    return fab_fail(err, errlen, FAB_E_ARG, "reshape of '%s': bad shape (rank %d)", name, rank);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 1)
      return fab_fail(err, errlen, FAB_E_ARG, "reshape of '%s': dimension %d is %lld", name, i,
                      (long long)dims[i]);
  if (rank < 0) rank = -1;
  wmap_reshape *r = NULL;
  for (int i = 0; i < map->nreshapes && !r; i++)
    if (strcmp(map->reshapes[i].name, name) == 0) r = &map->reshapes[i];
  if (r && (rank < 0 || same_shape(r->rank, r->dims, rank, dims))) return FAB_OK;
  if (r && r->rank >= 0) {
    char a[96], b[96];
    return fab_fail(err, errlen, FAB_E_ARG, "two reshapes of '%s': to %s and to %s", name,
                    fab_shape_str(r->rank, r->dims, a, sizeof a), fab_shape_str(rank, dims, b, sizeof b));
  }
  if (!r) {
    if (!grow((void **)&map->reshapes, map->nreshapes, &map->cap_reshapes, sizeof *map->reshapes))
      return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    r = &map->reshapes[map->nreshapes];
    memset(r, 0, sizeof *r);
    if (!(r->name = fab_strdup(name))) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    map->nreshapes++;
  }
  r->rank = rank;
  for (int i = 0; i < rank; i++) r->dims[i] = dims[i];
  return FAB_OK;
}

void fab_wmap_set_allow_unused(fab_weight_map *map, bool allow) {
  if (map) map->allow_unused = allow;
}

bool fab_wmap_allows_unused(const fab_weight_map *map) { return map && map->allow_unused; }

const wmap_rename *fab_wmap_rule_for(const fab_weight_map *map, const char *name) {
  const wmap_rename *best = NULL;
  for (int i = 0; map && i < map->nrenames; i++) {
    const wmap_rename *r = &map->renames[i];
    if ((!best || r->from_len > best->from_len) && strncmp(name, r->from, r->from_len) == 0) best = r;
  }
  return best;
}

const char *fab_wmap_rename(const fab_weight_map *map, const char *name, char *buf, size_t n) {
  const wmap_rename *r = fab_wmap_rule_for(map, name);
  const char *rest = r ? name + r->from_len : name;
  int w = snprintf(buf, n, "%s%s", r ? r->to : "", rest);
  return w >= 0 && (size_t)w < n ? buf : NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *const map_keys[] = {"rename", "reshape", "allow_unused"};

static const char *key_at(const void *ctx, int i) {
  (void)ctx;
  return map_keys[i];
}

static fab_status parse_renames(fab_weight_map *map, json_t *v, const char *what, char *err,
                                size_t errlen) {
  if (!json_is_object(v))
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: \"rename\" must be an object of prefix -> new prefix, e.g. {\"model.\": \"\"}",
                    what);
  const char *from;
  json_t *to;
  json_object_foreach(v, from, to) {
    if (!json_is_string(to))
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: \"rename\": the new prefix for '%s' must be a string", what, from);
    char msg[512];
    fab_status st = fab_wmap_add_rename(map, from, json_string_value(to), msg, sizeof msg);
    if (st != FAB_OK) return fab_fail(err, errlen, st, "%s: \"rename\": %s", what, msg);
  }
  return FAB_OK;
}

/* One "reshape" entry: a name, with the model's shape (an array of
 * positive integers) or NULL. */
static fab_status parse_reshape(fab_weight_map *map, const char *name, json_t *shape,
                                const char *what, char *err, size_t errlen) {
  int64_t dims[FAB_TENSOR_MAX_RANK];
  int rank = -1;
  if (shape) {
    size_t n = json_is_array(shape) ? json_array_size(shape) : 0;
    bool ok = json_is_array(shape) && n <= FAB_TENSOR_MAX_RANK;
    for (size_t i = 0; ok && i < n; i++) {
      json_t *d = json_array_get(shape, i);
      ok = json_is_integer(d) && json_integer_value(d) >= 1;
      if (ok) dims[i] = json_integer_value(d);
    }
    if (!ok)
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: \"reshape\": the shape of '%s' must be an array of at most %d positive "
                      "integers (the model's shape)",
                      what, name, FAB_TENSOR_MAX_RANK);
    rank = (int)n;
  }
  char msg[512];
  fab_status st = fab_wmap_add_reshape(map, name, rank, dims, msg, sizeof msg);
  return st == FAB_OK ? FAB_OK : fab_fail(err, errlen, st, "%s: \"reshape\": %s", what, msg);
}

static fab_status parse_reshapes(fab_weight_map *map, json_t *v, const char *what, char *err,
                                 size_t errlen) {
  fab_status st = FAB_OK;
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (!json_is_string(e) || !*json_string_value(e))
        return fab_fail(err, errlen, FAB_E_FORMAT,
                        "%s: \"reshape\": entry %zu is not a parameter name", what, i);
      if ((st = parse_reshape(map, json_string_value(e), NULL, what, err, errlen)) != FAB_OK)
        return st;
    }
    return FAB_OK;
  }
  if (json_is_object(v)) {
    const char *name;
    json_t *shape;
    json_object_foreach(v, name, shape) {
      if ((st = parse_reshape(map, name, shape, what, err, errlen)) != FAB_OK) return st;
    }
    return FAB_OK;
  }
  return fab_fail(err, errlen, FAB_E_FORMAT,
                  "%s: \"reshape\" must be a list of parameter names or an object of name -> shape",
                  what);
}

static fab_status parse_root(fab_weight_map *map, json_t *root, const char *what, char *err,
                             size_t errlen) {
  if (!json_is_object(root))
    return fab_fail(err, errlen, FAB_E_FORMAT,
                    "%s: a weight map is a JSON object with the keys \"rename\", \"reshape\", "
                    "\"allow_unused\"",
                    what);
  const char *key;
  json_t *v;
  fab_status st = FAB_OK;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "rename") == 0) {
      st = parse_renames(map, v, what, err, errlen);
    } else if (strcmp(key, "reshape") == 0) {
      st = parse_reshapes(map, v, what, err, errlen);
    } else if (strcmp(key, "allow_unused") == 0) {
      if (!json_is_boolean(v))
        return fab_fail(err, errlen, FAB_E_FORMAT, "%s: \"allow_unused\" must be true or false", what);
      if (json_is_true(v)) map->allow_unused = true;
    } else {
      char hint[160];
      int nk = (int)(sizeof map_keys / sizeof *map_keys);
      bool close = fab_closest_names(key, key_at, NULL, nk, 1, hint, sizeof hint, NULL) > 0;
      return fab_fail(err, errlen, FAB_E_FORMAT,
                      "%s: unknown key '%s'%s%s%s (the keys are \"rename\", \"reshape\", "
                      "\"allow_unused\")",
                      what, key, close ? "; did you mean " : "", close ? hint : "", close ? "?" : "");
    }
    if (st != FAB_OK) return st;
  }
  return FAB_OK;
}

fab_status fab_wmap_parse_json(fab_weight_map *map, const char *text, size_t len,
                               const char *what, char *err, size_t errlen) {
  if (!map || (!text && len)) return fab_fail(err, errlen, FAB_E_ARG, "no weight map or text");
  if (!what) what = "weight map";
  json_error_t je;
  json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &je);
  if (!root) {
    /* jansson names its own flag here; say what is wrong with the file. */
    const char *why = strstr(je.text, "JSON_ALLOW_NUL") ? "a string holds a NUL character (\\u0000)" : je.text;
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s:%d:%d: malformed weight map: %s", what, je.line,
                    je.column, why);
  }
  fab_status st = parse_root(map, root, what, err, errlen);
  json_decref(root);
  return st;
}

fab_status fab_wmap_load_json(fab_weight_map *map, const char *path, char *err, size_t errlen) {
  if (!map) return fab_fail(err, errlen, FAB_E_ARG, "no weight map");
  fab_rfile f;
  fab_status st = fab_rfile_open(&f, path, err, errlen);
  if (st != FAB_OK) return st;
  char *text = NULL;
  if (f.size > MAX_MAP_BYTES)
    st = fab_fail(err, errlen, FAB_E_LIMIT, "%s: a weight map of %llu bytes is too large", path,
                  (unsigned long long)f.size);
  else if (!(text = fab_malloc((size_t)f.size + 1)))
    st = fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  else
    st = fab_rfile_read(&f, 0, text, (size_t)f.size, err, errlen);
  fab_rfile_close(&f);
  if (st == FAB_OK) st = fab_wmap_parse_json(map, text, (size_t)f.size, path, err, errlen);
  free(text);
  return st;
}
