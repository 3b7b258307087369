/* build.c — what every layer does to the IR: check a result type, append
 * an op and infer its type (reporting at the source location), declare a
 * parameter under its state_dict name, and form instance names. */
#include "elab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checks and op building --------------------------------------------- */

bool elab_check_type(elab *e, fab_loc loc, const fab_type *t) {
  char buf[160];
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 1) {
      fab_error(e->d, loc, "dimension %d of %s is %lld; dimensions must be at least 1", i,
                fab_type_str(t, buf, sizeof buf), (long long)t->dims[i]);
      return false;
    }
  if (fab_type_numel(t) < 0) {
    fab_error(e->d, loc, "tensor %s is too large (more than 2^34 elements)",
              fab_type_str(t, buf, sizeof buf));
    return false;
  }
  return true;
}

/* Appends an op with the front end's own idea of its type; fab_infer_op
 * then recomputes (and checks) it in elab_finish. */
int elab_op(elab *e, fab_opcode code, const int *operands, int n, fab_loc loc,
                   fab_type type) {
  if (e->f->nops >= FAB_FE_MAX_OPS) {
    if (!e->stop)
      fab_error(e->d, loc, "model too large: more than %d ops after unrolling", FAB_FE_MAX_OPS);
    e->stop = true;
    return -1;
  }
  int idx = fab_func_append(e->m, e->f, code, operands, n, loc);
  e->f->ops[idx].type = type;
  return idx;
}

int elab_finish(elab *e, int idx) {
  if (idx < 0) return -1;
  char err[256] = "";
  fab_op *op = &e->f->ops[idx];
  if (!fab_infer_op(e->m, e->f, op, err, sizeof err)) {
    fab_error(e->d, op->loc, "%s", err[0] ? err : "invalid operation");
    return -1;
  }
  return idx;
}

int elab_emit(elab *e, fab_opcode code, const int *operands, int n, fab_loc loc, fab_type type,
              const char *const *ikeys, const int64_t *ivals, int ni) {
  int idx = elab_op(e, code, operands, n, loc, type);
  if (idx < 0) return -1;
  for (int i = 0; i < ni; i++) fab_op_set_int(e->m, &e->f->ops[idx], ikeys[i], ivals[i]);
  return elab_finish(e, idx);
}

/* A name past a limit stops elaboration: the same call in the rest of a
 * `repeat` would only repeat the message (and the memory). */
static void name_limit_error(elab *e, fab_loc loc, const char *name, const char *limit) {
  fab_error(e->d, loc, "parameter name '%.40s%s' %s (the limit)", name, strlen(name) > 40 ? "..." : "",
            limit);
  e->stop = true;
}

int elab_weight(elab *e, const char *name, fab_type t, fab_init init, fab_loc loc) {
  if (!elab_check_type(e, loc, &t)) return -1;
  const char *limit = fab_module_name_limit(e->m, strlen(name));
  if (limit) {
    name_limit_error(e, loc, name, limit);
    return -1;
  }
  int old = fab_module_find_param(e->m, name);
  if (old >= 0) {
    fab_error(e->d, loc, "parameter '%s' is defined twice (instance names must be unique)", name);
    if (e->m->params[old].loc.file) fab_note(e->d, e->m->params[old].loc, "first defined here");
    return -1;
  }
  if (fab_module_add_param(e->m, name, t, init, loc, e->d) < 0) return -1;
  int idx = elab_op(e, FAB_OP_WEIGHT, NULL, 0, loc, t);
  if (idx < 0) return -1;
  fab_op_set_str(e->m, &e->f->ops[idx], "name", name);
  return elab_finish(e, idx);
}

const char *elab_join(elab *e, const char *prefix, const char *leaf) {
  if (!prefix || !prefix[0]) return fab_arena_strdup(e->m->arena, leaf);
  return fab_arena_printf(e->m->arena, "%s.%s", prefix, leaf);
}

/* Appends ".seg" (or "seg" to an empty name) to buf[0..*len); false past
 * FAB_MAX_NAME_LEN. */
static bool path_append(char *buf, size_t *len, const char *seg) {
  size_t n = strlen(seg), dot = *len ? 1 : 0;
  if (*len + dot + n > FAB_MAX_NAME_LEN) return false;
  if (dot) buf[(*len)++] = '.';
  memcpy(buf + *len, seg, n + 1);
  *len += n;
  return true;
}

/* Built in one buffer, so a long path costs its length once. */
const char *elab_path(elab *e, scope *s, const ast_expr *call, const char *what) {
  if (!call->path) {
    if (what) {
      fab_error(e->d, call->loc, "%s needs an instance name: add `as name` after the call", what);
      return NULL;
    }
    return e->prefix;
  }
  char buf[FAB_MAX_NAME_LEN + 1] = "", num[24];
  size_t len = 0;
  const char *seg = e->prefix ? e->prefix : "";
  bool fits = path_append(buf, &len, seg);
  for (int i = 0; fits && i < call->path->n; i++) {
    const ast_seg *g = call->path->items[i];
    if (g->name) {
      fits = path_append(buf, &len, seg = g->name);
      continue;
    }
    int64_t k = g->index;
    if (g->expr) {
      value v = elab_expr(e, s, g->expr);
      if (v.kind == V_ERROR) return NULL;
      if (v.kind != V_INT) {
        fab_error(e->d, g->loc, "an instance name index must be an integer, got %s",
                  vkind_name(v.kind));
        return NULL;
      }
      k = v.i;
    }
    if (k < 0) {
      fab_error(e->d, g->loc, "an instance name index must not be negative (it is %lld)",
                (long long)k);
      return NULL;
    }
    snprintf(num, sizeof num, "%lld", (long long)k);
    fits = path_append(buf, &len, seg = num);
  }
  if (!fits) {
    name_limit_error(e, call->loc, len ? buf : seg, "is longer than 4096 bytes");
    return NULL;
  }
  return fab_arena_strdup(e->m->arena, buf);
}

