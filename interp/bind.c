/* bind.c — binding weights and inputs to a module.
 *
 * Checks report every problem (each naming the tensor) before returning.
 * Random initialisation is reproducible per tensor: every parameter or
 * input draws from its own RNG stream, seeded from the user's seed and a
 * hash of the tensor's name, so adding a parameter never changes the
 * values of the others.
 */
#include "interp.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
  return h;
}

static void stream(fab_rng *r, uint64_t seed, const char *prefix, const char *name) {
  uint64_t h = fnv1a(prefix);
  for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
  fab_rng_seed(r, seed * 0x9e3779b97f4a7c15ull ^ h);
}

static void shape_of(const fab_tensor *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

/* Checks one tensor against a declared type, converting F16/BF16/F64 to
 * F32 and I64 to I32 in place.  `what` is "weight" or "input".  The shape
 * is checked only when check_shape (weights have theirs checked by the
 * weight map); inputs (batch not NULL) may carry a leading sample axis,
 * the same for all. */
static bool check_tensor(fab_tensor *t, const fab_type *want, const char *what, bool check_shape,
                         fab_loc loc, fab_batch *batch, fab_diag *d) {
  char b1[128], b2[128];
  bool ok = true;
  if (want->dtype == FAB_C64) {
    fab_error(d, loc, "%s '%s': complex tensors cannot be bound", what, t->name);
    return false;
  }
  bool shape_ok = t->rank == want->rank;
  for (int i = 0; shape_ok && i < t->rank; i++) shape_ok = t->dims[i] == want->dims[i];
  if (batch) {
    char err[512];
    if (fab_batch_add(batch, t, want->rank, want->dims, err, sizeof err) != FAB_OK) {
      fab_error(d, loc, "%s", err);
      ok = false;
    }
  } else if (check_shape && !shape_ok) {
    shape_of(t, b1, sizeof b1);
    fab_error(d, loc, "%s '%s' has shape %s, expected %s", what, t->name, b1,
              fab_type_str(want, b2, sizeof b2));
    ok = false;
  }
  fab_tensor_dtype to = want->dtype == FAB_F32 ? FAB_DT_F32 : FAB_DT_I32;
  bool convertible = want->dtype == FAB_F32 ? (t->dtype == FAB_DT_F16 || t->dtype == FAB_DT_BF16 ||
                                               t->dtype == FAB_DT_F64)
                                            : t->dtype == FAB_DT_I64;
  if (t->dtype != to && !convertible) {
    fab_error(d, loc, "%s '%s' has dtype %s, expected %s", what, t->name,
              fab_dtype_safetensors_name(t->dtype), fab_dtype_name(want->dtype));
    ok = false;
  } else if (t->dtype != to) {
    char err[256];
    if (fab_tensor_convert(t, to, err, sizeof err) != FAB_OK) {
      fab_error(d, loc, "%s '%s': %s", what, t->name, err);
      ok = false;
    }
  }
  return ok;
}

typedef struct map_report {
  const fab_module *m;
  fab_diag *d;
} map_report;

static void report_map_problem(void *ctx, int param, fab_status st, const char *msg) {
  (void)st;
  const map_report *r = ctx;
  fab_error(r->d, param >= 0 ? r->m->params[param].loc : (fab_loc){0}, "%s", msg);
}

/* The weight map's checks (names, shapes, unused entries), then dtypes. */
static bool map_and_check(const fab_module *m, const fab_weight_map *map, fab_tensor_set *weights,
                          unsigned flags, fab_diag *d) {
  fab_wmap_param *params = calloc((size_t)m->nparams + 1, sizeof *params);
  int *found = calloc((size_t)m->nparams + 1, sizeof *found);
  if (!params || !found) {
    free(params);
    free(found);
    fab_error(d, (fab_loc){0}, "out of memory binding weights");
    return false;
  }
  for (int i = 0; i < m->nparams; i++)
    params[i] = (fab_wmap_param){m->params[i].name, m->params[i].type.rank, m->params[i].type.dims};
  map_report r = {m, d};
  char err[256];
  fab_status st = fab_wmap_apply(map, weights, params, m->nparams, flags, found,
                                 report_map_problem, &r, err, sizeof err);
  bool ok = st == FAB_OK;
  if (st == FAB_E_NOMEM) fab_error(d, (fab_loc){0}, "%s", err);
  /* Found entries are converted even when others are wrong, so that one
   * run reports every problem. */
  for (int i = 0; i < m->nparams && st != FAB_E_NOMEM; i++)
    if (found[i] >= 0 &&
        !check_tensor(&weights->items[found[i]], &m->params[i].type, "weight", false,
                      m->params[i].loc, NULL, d))
      ok = false;
  free(params);
  free(found);
  return ok;
}

bool fab_bind_check_weights(const fab_module *m, fab_tensor_set *weights, bool allow_extra,
                            fab_diag *d) {
  return map_and_check(m, NULL, weights, allow_extra ? FAB_WMAP_UNUSED_OK : 0, d);
}

bool fab_bind_map_weights(const fab_module *m, const fab_weight_map *map, fab_tensor_set *weights,
                          fab_diag *d) {
  return map_and_check(m, map, weights, 0, d);
}

bool fab_bind_init_weights(const fab_module *m, uint64_t seed, fab_tensor_set *weights,
                           fab_diag *d) {
  bool ok = true;
  for (int i = 0; i < m->nparams; i++) {
    const fab_param *p = &m->params[i];
    if (fab_tset_find(weights, p->name)) continue;
    if (p->type.dtype != FAB_F32) {
      fab_error(d, p->loc, "cannot initialise parameter '%s' of type %s", p->name,
                fab_dtype_name(p->type.dtype));
      ok = false;
      continue;
    }
    fab_tensor *t = fab_tset_add(weights, p->name, FAB_DT_F32, p->type.rank, p->type.dims);
    if (!t) {
      fab_error(d, p->loc, "cannot allocate parameter '%s'", p->name);
      ok = false;
      continue;
    }
    fab_rng r;
    stream(&r, seed, "", p->name);
    float *x = t->data;
    int64_t n = fab_tensor_numel(t);
    const fab_init *in = &p->init;
    for (int64_t k = 0; k < n; k++) {
      double v = 0;
      switch (in->kind) {
      case FAB_INIT_ZEROS: v = 0; break;
      case FAB_INIT_ONES: v = 1; break;
      case FAB_INIT_UNIFORM: v = in->a + (in->b - in->a) * fab_rng_uniform(&r); break;
      case FAB_INIT_NORMAL: v = in->a + in->b * fab_rng_normal(&r); break;
      }
      x[k] = (float)v;
    }
  }
  return ok;
}

bool fab_bind_check_inputs(const fab_module *m, fab_tensor_set *inputs, fab_diag *d) {
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "module '%s' has no function", m->name);
    return false;
  }
  bool ok = true;
  fab_batch batch = FAB_BATCH_INIT;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_INPUT) continue;
    const char *name = fab_op_str(op, "name", "");
    fab_tensor *t = fab_tset_find(inputs, name);
    char b[128];
    if (!t) {
      fab_error(d, op->loc, "missing input '%s' (%s)", name, fab_type_str(&op->type, b, sizeof b));
      ok = false;
    } else if (!check_tensor(t, &op->type, "input", true, op->loc, &batch, d)) {
      ok = false;
    }
  }
  for (int k = 0; k < inputs->count; k++) {
    bool found = false;
    for (int i = 0; i < f->nops && !found; i++)
      found = f->ops[i].code == FAB_OP_INPUT &&
              strcmp(fab_op_str(&f->ops[i], "name", ""), inputs->items[k].name) == 0;
    if (!found) {
      fab_error(d, (fab_loc){0}, "unexpected input '%s' (the model has no input of that name)",
                inputs->items[k].name);
      ok = false;
    }
  }
  return ok;
}

/* Rows of the embedding table fed by value `v` (directly, or through
 * reshape / slice / transpose), or 0 when none. */
static int64_t vocab_of(const fab_module *m, const fab_func *f, int v, int depth) {
  if (depth > 8) return 0;
  for (int i = v + 1; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->noperands < 1 || op->operands[0] != v) continue;
    if (op->code == FAB_OP_EMBED && op->noperands == 2) {
      const fab_op *tab = &f->ops[op->operands[1]];
      if (tab->code == FAB_OP_WEIGHT) {
        int p = fab_module_find_param(m, fab_op_str(tab, "name", ""));
        if (p >= 0 && m->params[p].type.rank >= 1) return m->params[p].type.dims[0];
      }
      if (tab->type.rank >= 1) return tab->type.dims[0];
    } else if (op->code == FAB_OP_RESHAPE || op->code == FAB_OP_SLICE || op->code == FAB_OP_TRANSPOSE) {
      int64_t V = vocab_of(m, f, i, depth + 1);
      if (V > 0) return V;
    }
  }
  return 0;
}

bool fab_bind_init_inputs(const fab_module *m, uint64_t seed, fab_tensor_set *inputs,
                          fab_diag *d) {
  return fab_bind_init_inputs_batch(m, seed, 0, inputs, d);
}

bool fab_bind_init_inputs_batch(const fab_module *m, uint64_t seed, int64_t batch,
                                fab_tensor_set *inputs, fab_diag *d) {
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "module '%s' has no function", m->name);
    return false;
  }
  bool ok = true;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_INPUT) continue;
    const char *name = fab_op_str(op, "name", "");
    if (fab_tset_find(inputs, name)) continue;
    if (op->type.dtype == FAB_C64) {
      fab_error(d, op->loc, "cannot make a complex input '%s'", name);
      ok = false;
      continue;
    }
    bool is_int = op->type.dtype == FAB_I32;
    int64_t dims[FAB_TENSOR_MAX_RANK];
    int rank = 0;
    if (batch > 0) dims[rank++] = batch;
    for (int k = 0; k < op->type.rank && rank < FAB_TENSOR_MAX_RANK; k++) dims[rank++] = op->type.dims[k];
    fab_tensor *t = rank == op->type.rank + (batch > 0)
                        ? fab_tset_add(inputs, name, is_int ? FAB_DT_I32 : FAB_DT_F32, rank, dims)
                        : NULL;
    if (!t) {
      fab_error(d, op->loc, "cannot allocate input '%s'", name);
      ok = false;
      continue;
    }
    fab_rng r;
    stream(&r, seed, "input.", name);
    int64_t n = fab_tensor_numel(t);
    if (is_int) {
      int64_t V = vocab_of(m, f, i, 0);
      if (V <= 0) V = 2;
      for (int64_t k = 0; k < n; k++) ((int32_t *)t->data)[k] = (int32_t)fab_rng_below(&r, V);
    } else {
      for (int64_t k = 0; k < n; k++) ((float *)t->data)[k] = (float)fab_rng_normal(&r);
    }
  }
  return ok;
}
