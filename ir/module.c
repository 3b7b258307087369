/* module.c — the op table, types, and building modules, functions and ops. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

const fab_opinfo fab_opinfos[FAB_OP_COUNT] = {
#define FAB_OP(id, text, mn, mx, schema, flags) [FAB_OP_##id] = {text, mn, mx, schema, flags},
#include "ops.def"
#undef FAB_OP
};

int fab_opcode_lookup(const char *name) {
  for (int i = 0; i < FAB_OP_COUNT; i++)
    if (strcmp(fab_opinfos[i].name, name) == 0) return i;
  return -1;
}

/* ---- types ------------------------------------------------------------- */

const char *fab_dtype_name(fab_dtype t) {
  switch (t) {
  case FAB_F32: return "f32";
  case FAB_I32: return "i32";
  case FAB_C64: return "c64";
  default: return "?";
  }
}

int64_t fab_type_numel(const fab_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] <= 0 || n > FAB_MAX_ELEMENTS / t->dims[i]) return -1;
    n *= t->dims[i];
  }
  return n;
}

bool fab_type_equal(const fab_type *a, const fab_type *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

fab_type fab_type_make(fab_dtype dt, int rank, const int64_t *dims) {
  fab_type t = {.dtype = dt, .rank = rank};
  FAB_ASSERT(rank >= 0 && rank <= FAB_MAX_RANK);
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

char *fab_type_str(const fab_type *t, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s[", fab_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* ---- modules ------------------------------------------------------------ */

fab_module *fab_module_new(const char *name) {
  fab_arena *a = fab_arena_new();
  if (!a) return NULL;
  fab_module *m = fab_arena_alloc(a, sizeof *m);
  if (!m) {
    fab_arena_free(a);
    return NULL;
  }
  m->arena = a;
  m->name = fab_arena_strdup(a, name ? name : "model");
  if (!m->name) { /* out of memory without a guard */
    fab_arena_free(a);
    return NULL;
  }
  return m;
}

void fab_module_free(fab_module *m) {
  if (!m) return;
  fab_index_free(&m->param_index);
  fab_index_free(&m->func_index);
  fab_arena_free(m->arena);
}

static void *must(void *p) {
  if (!p) fab_out_of_memory(__FILE__, __LINE__);
  return p;
}

static bool param_named(const void *table, int i, const void *name) {
  return strcmp(((const fab_param *)table)[i].name, name) == 0;
}

int fab_module_find_param(const fab_module *m, const char *name) {
  return fab_index_find(&m->param_index, fab_hash_str(name), param_named, m->params, name);
}

_Static_assert(FAB_MAX_NAME_LEN == 4096 && FAB_MAX_NAME_BYTES == 64 << 20, "the messages below");

const char *fab_module_name_limit(const fab_module *m, size_t len) {
  if (len > FAB_MAX_NAME_LEN) return "is longer than 4096 bytes";
  if (m->name_bytes + (int64_t)len > FAB_MAX_NAME_BYTES)
    return "would take the parameter names past 64 MiB in all";
  return NULL;
}

int fab_module_add_param(fab_module *m, const char *name, fab_type type, fab_init init,
                         fab_loc loc, fab_diag *d) {
  int old = fab_module_find_param(m, name);
  if (old >= 0) {
    if (fab_type_equal(&m->params[old].type, &type)) return old;
    char a[128], b[128];
    if (d)
      fab_error(d, loc, "parameter '%s' redeclared as %s (it was %s)", name,
                fab_type_str(&type, a, sizeof a), fab_type_str(&m->params[old].type, b, sizeof b));
    return -1;
  }
  size_t len = strlen(name);
  const char *limit = fab_module_name_limit(m, len);
  if (limit) {
    if (d) fab_error(d, loc, "parameter name '%.40s%s' %s (the limit)", name, len > 40 ? "..." : "", limit);
    return -1;
  }
  if (m->nparams == m->params_cap) {
    int cap = m->params_cap ? m->params_cap * 2 : 32;
    m->params = must(fab_arena_grow(m->arena, m->params, sizeof(fab_param), (size_t)m->nparams, (size_t)cap));
    m->params_cap = cap;
  }
  fab_param *p = &m->params[m->nparams];
  p->name = must(fab_arena_strdup(m->arena, name));
  p->type = type;
  p->init = init;
  p->loc = loc;
  if (loc.file) p->loc.file = must(fab_arena_strdup(m->arena, loc.file));
  if (!fab_index_add(&m->param_index, fab_hash_str(name), m->nparams))
    fab_out_of_memory(__FILE__, __LINE__);
  m->name_bytes += (int64_t)len;
  return m->nparams++;
}

fab_func *fab_module_add_func(fab_module *m, const char *name) {
  if (m->nfuncs == m->funcs_cap) {
    int cap = m->funcs_cap ? m->funcs_cap * 2 : 4;
    m->funcs = must(fab_arena_grow(m->arena, m->funcs, sizeof(fab_func *), (size_t)m->nfuncs, (size_t)cap));
    m->funcs_cap = cap;
  }
  fab_func *f = must(fab_arena_alloc(m->arena, sizeof *f));
  f->name = must(fab_arena_strdup(m->arena, name));
  if (!fab_index_add(&m->func_index, fab_hash_str(name), m->nfuncs))
    fab_out_of_memory(__FILE__, __LINE__);
  m->funcs[m->nfuncs++] = f;
  return f;
}

static bool func_named(const void *table, int i, const void *name) {
  return strcmp(((fab_func *const *)table)[i]->name, name) == 0;
}

fab_func *fab_module_find_func(const fab_module *m, const char *name) {
  int i = fab_index_find(&m->func_index, fab_hash_str(name), func_named, m->funcs, name);
  return i < 0 ? NULL : m->funcs[i];
}

fab_func *fab_module_main(const fab_module *m) {
  fab_func *f = fab_module_find_func(m, "main");
  return f ? f : (m->nfuncs ? m->funcs[0] : NULL);
}

/* ---- ops ------------------------------------------------------------------ */

int fab_func_append(fab_module *m, fab_func *f, fab_opcode code, const int *operands,
                    int noperands, fab_loc loc) {
  if (f->nops == f->cap) {
    int cap = f->cap ? f->cap * 2 : 64;
    f->ops = must(fab_arena_grow(m->arena, f->ops, sizeof(fab_op), (size_t)f->nops, (size_t)cap));
    f->cap = cap;
  }
  fab_op *op = &f->ops[f->nops];
  memset(op, 0, sizeof *op);
  op->code = code;
  op->noperands = noperands;
  if (noperands) {
    op->operands = must(fab_arena_alloc(m->arena, sizeof(int) * (size_t)noperands));
    memcpy(op->operands, operands, sizeof(int) * (size_t)noperands);
  }
  op->loc = loc;
  return f->nops++;
}

/* Finds or inserts the attribute slot for `key`, keeping attrs sorted. */
static fab_attr *attr_slot(fab_module *m, fab_op *op, const char *key) {
  int i = 0;
  while (i < op->nattrs && strcmp(op->attrs[i].key, key) < 0) i++;
  if (i < op->nattrs && strcmp(op->attrs[i].key, key) == 0) return &op->attrs[i];
  fab_attr *attrs = must(fab_arena_alloc(m->arena, sizeof(fab_attr) * (size_t)(op->nattrs + 1)));
  if (i) memcpy(attrs, op->attrs, sizeof(fab_attr) * (size_t)i);
  if (op->nattrs > i) memcpy(attrs + i + 1, op->attrs + i, sizeof(fab_attr) * (size_t)(op->nattrs - i));
  op->attrs = attrs;
  op->nattrs++;
  memset(&attrs[i], 0, sizeof attrs[i]);
  attrs[i].key = must(fab_arena_strdup(m->arena, key));
  return &attrs[i];
}

void fab_op_set_int(fab_module *m, fab_op *op, const char *key, int64_t v) {
  fab_attr *a = attr_slot(m, op, key);
  a->kind = FAB_ATTR_INT;
  a->i = v;
}

void fab_op_set_float(fab_module *m, fab_op *op, const char *key, double v) {
  fab_attr *a = attr_slot(m, op, key);
  a->kind = FAB_ATTR_FLOAT;
  a->f = v;
}

void fab_op_set_str(fab_module *m, fab_op *op, const char *key, const char *v) {
  fab_attr *a = attr_slot(m, op, key);
  a->kind = FAB_ATTR_STR;
  a->s = must(fab_arena_strdup(m->arena, v));
}

void fab_op_set_ints(fab_module *m, fab_op *op, const char *key, const int64_t *v, int n) {
  fab_attr *a = attr_slot(m, op, key);
  a->kind = FAB_ATTR_INTS;
  int64_t *copy = must(fab_arena_alloc(m->arena, sizeof(int64_t) * (size_t)(n ? n : 1)));
  if (n) memcpy(copy, v, sizeof(int64_t) * (size_t)n);
  a->ints = copy;
  a->nints = n;
}

bool fab_op_remove_attr(fab_op *op, const char *key) {
  for (int i = 0; i < op->nattrs; i++)
    if (strcmp(op->attrs[i].key, key) == 0) {
      memmove(&op->attrs[i], &op->attrs[i + 1], sizeof(fab_attr) * (size_t)(op->nattrs - i - 1));
      op->nattrs--;
      return true;
    }
  return false;
}

const fab_attr *fab_op_attr(const fab_op *op, const char *key) {
  for (int i = 0; i < op->nattrs; i++)
    if (strcmp(op->attrs[i].key, key) == 0) return &op->attrs[i];
  return NULL;
}

int64_t fab_op_int(const fab_op *op, const char *key, int64_t dflt) {
  const fab_attr *a = fab_op_attr(op, key);
  return a && a->kind == FAB_ATTR_INT ? a->i : dflt;
}

double fab_op_float(const fab_op *op, const char *key, double dflt) {
  const fab_attr *a = fab_op_attr(op, key);
  if (!a) return dflt;
  if (a->kind == FAB_ATTR_FLOAT) return a->f;
  if (a->kind == FAB_ATTR_INT) return (double)a->i;
  return dflt;
}

const char *fab_op_str(const fab_op *op, const char *key, const char *dflt) {
  const fab_attr *a = fab_op_attr(op, key);
  return a && a->kind == FAB_ATTR_STR ? a->s : dflt;
}

int fab_func_copy_op(fab_module *m, fab_func *dst, const fab_op *src, const int *map) {
  int ops[16];
  int *operands = src->noperands <= 16 ? ops : must(fab_arena_alloc(m->arena, sizeof(int) * (size_t)src->noperands));
  for (int i = 0; i < src->noperands; i++) operands[i] = map ? map[src->operands[i]] : src->operands[i];
  int idx = fab_func_append(m, dst, src->code, operands, src->noperands, src->loc);
  fab_op *op = &dst->ops[idx];
  op->type = src->type;
  if (src->nattrs) {
    /* Attributes are immutable once built; sharing the array is safe as
     * long as both functions live in the same arena. */
    op->attrs = must(fab_arena_alloc(m->arena, sizeof(fab_attr) * (size_t)src->nattrs));
    memcpy(op->attrs, src->attrs, sizeof(fab_attr) * (size_t)src->nattrs);
    op->nattrs = src->nattrs;
  }
  return idx;
}

/* ---- cloning ---------------------------------------------------------------- */

typedef struct clone_job {
  const fab_module *src;
  fab_module *dst;
  const char *file_src, *file_dst; /* the last location file copied: ops share a few */
} clone_job;

static const char *clone_str(fab_module *m, const char *s) { return s ? must(fab_arena_strdup(m->arena, s)) : NULL; }

static fab_loc clone_loc(clone_job *j, fab_loc loc) {
  if (loc.file && loc.file != j->file_src) {
    j->file_src = loc.file;
    j->file_dst = clone_str(j->dst, loc.file);
  }
  if (loc.file) loc.file = j->file_dst;
  return loc;
}

static void clone_attrs(fab_module *m, fab_op *op, const fab_op *src) {
  op->attrs = must(fab_arena_alloc(m->arena, sizeof(fab_attr) * (size_t)src->nattrs));
  for (int i = 0; i < src->nattrs; i++) {
    fab_attr a = src->attrs[i];
    a.key = clone_str(m, a.key);
    a.s = clone_str(m, a.s);
    if (a.ints) {
      int64_t *ints = must(fab_arena_alloc(m->arena, sizeof(int64_t) * (size_t)(a.nints ? a.nints : 1)));
      memcpy(ints, a.ints, sizeof(int64_t) * (size_t)a.nints);
      a.ints = ints;
    }
    op->attrs[i] = a;
  }
  op->nattrs = src->nattrs;
}

static void clone_into(void *arg) {
  clone_job *j = arg;
  const fab_module *s = j->src;
  for (int i = 0; i < s->nparams; i++) {
    const fab_param *p = &s->params[i];
    if (fab_module_add_param(j->dst, p->name, p->type, p->init, clone_loc(j, p->loc), NULL) != i)
      fab_out_of_memory(__FILE__, __LINE__); /* a valid module's names always fit again */
  }
  for (int fi = 0; fi < s->nfuncs; fi++) {
    const fab_func *sf = s->funcs[fi];
    fab_func *f = fab_module_add_func(j->dst, sf->name);
    for (int k = 0; k < sf->nops; k++) {
      const fab_op *so = &sf->ops[k];
      int idx = fab_func_append(j->dst, f, so->code, so->operands, so->noperands, clone_loc(j, so->loc));
      fab_op *op = &f->ops[idx]; /* after the append: it may move the ops */
      op->type = so->type;
      if (so->nattrs) clone_attrs(j->dst, op, so);
    }
  }
}

fab_module *fab_module_clone(const fab_module *m) {
  clone_job j = {.src = m, .dst = fab_module_new(m->name)};
  if (!j.dst) return NULL;
  if (!fab_oom_protect(clone_into, &j)) {
    fab_module_free(j.dst);
    return NULL;
  }
  return j.dst;
}
