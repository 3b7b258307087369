/* verify.c — the module checker (fab_verify).
 *
 * Contract: reports every problem it finds (not only the first), each at
 * the op's location and prefixed "%INDEX (opname): ", and returns true
 * only for a module every pass may assume well-formed: op-table arity,
 * attribute schema (`plan.` and `hint.` keys are free annotations), SSA
 * order, operands that are values, weights naming parameters, stored
 * types equal to the inferred ones, input and output indices 0..n-1
 * unique with unique names, at least one output per function.  Never
 * modifies the module.
 */
#include "ir.h"
#include "fab_alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct checker {
  const fab_module *m;
  const fab_func *f;
  fab_diag *d;
  bool ok;
  bool *failed; /* per op of f: reported, so its users skip type checks */
} checker;

static void op_error(checker *c, int i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void op_error(checker *c, int i, const char *fmt, ...) {
  const fab_op *op = &c->f->ops[i];
  const char *name = (unsigned)op->code < FAB_OP_COUNT ? fab_opinfos[op->code].name : "?";
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fab_error(c->d, op->loc, "%%%d (%s): %s", i, name, msg);
  c->ok = false;
  c->failed[i] = true;
}

/* ---- attribute schema ---------------------------------------------------- */

static bool is_annotation(const char *key) {
  return strncmp(key, "plan.", 5) == 0 || strncmp(key, "hint.", 5) == 0;
}

/* Finds `key` in a schema "k:i k2:f? ..."; returns its kind letter and
 * whether it is optional, or 0 if absent. */
static char schema_kind(const char *schema, const char *key, bool *optional) {
  size_t klen = strlen(key);
  for (const char *s = schema; *s;) {
    while (*s == ' ') s++;
    const char *colon = strchr(s, ':');
    if (!*s || !colon) break;
    const char *end = colon + 2;
    *optional = *end == '?';
    if ((size_t)(colon - s) == klen && memcmp(s, key, klen) == 0) return colon[1];
    s = end + (*optional ? 1 : 0);
  }
  return 0;
}

static const char *kind_name(char k) {
  switch (k) {
  case 'i': return "an integer";
  case 'f': return "a float";
  case 's': return "a string";
  case 'I': return "an integer list";
  default: return "?";
  }
}

static char attr_letter(fab_attr_kind k) {
  static const char letters[] = {'i', 'f', 's', 'I'};
  return (unsigned)k < sizeof letters ? letters[k] : '?';
}

/* Returns false if the attributes are too broken to run type inference. */
static bool check_attrs(checker *c, int i) {
  const fab_op *op = &c->f->ops[i];
  const char *schema = fab_opinfos[op->code].schema;
  bool good = true;
  for (int a = 0; a < op->nattrs; a++) {
    const fab_attr *at = &op->attrs[a];
    if (!at->key) {
      op_error(c, i, "attribute %d has no key", a);
      good = false;
      continue;
    }
    if (a > 0 && op->attrs[a - 1].key && strcmp(op->attrs[a - 1].key, at->key) >= 0) {
      op_error(c, i, "attributes not sorted or duplicated at '%s'", at->key);
      good = false;
    }
    if (is_annotation(at->key)) continue;
    bool optional;
    char k = schema_kind(schema, at->key, &optional);
    if (!k) {
      op_error(c, i, "unknown attribute '%s'", at->key);
      good = false;
    } else if (k != attr_letter(at->kind)) {
      op_error(c, i, "attribute '%s' must be %s", at->key, kind_name(k));
      good = false;
    }
  }
  /* Every required key of the schema must be present. */
  for (const char *s = schema; *s;) {
    while (*s == ' ') s++;
    const char *colon = strchr(s, ':');
    if (!*s || !colon) break;
    bool optional = colon[2] == '?';
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(colon - s), s);
    if (!optional && !fab_op_attr(op, key)) {
      op_error(c, i, "missing attribute '%s'", key);
      good = false;
    }
    s = colon + 2 + (optional ? 1 : 0);
  }
  return good;
}

/* ---- ops ----------------------------------------------------------------- */

/* Structure first (arity, operands, attributes); types only when the
 * structure is sound, so that one mistake gives one message. */
static void check_op(checker *c, int i) {
  const fab_op *op = &c->f->ops[i];
  if ((unsigned)op->code >= FAB_OP_COUNT) {
    op_error(c, i, "invalid opcode %d", (int)op->code);
    return;
  }
  const fab_opinfo *info = &fab_opinfos[op->code];
  bool sound = true;
  if (op->type.rank < 0 || op->type.rank > FAB_MAX_RANK) {
    op_error(c, i, "stored type has rank %d (must be 0..%d)", op->type.rank, FAB_MAX_RANK);
    return;
  }
  if (op->noperands < info->min_operands || op->noperands > info->max_operands) {
    if (info->min_operands == info->max_operands)
      op_error(c, i, "expects %d operand%s, got %d", info->min_operands,
               info->min_operands == 1 ? "" : "s", op->noperands);
    else
      op_error(c, i, "expects %d to %d operands, got %d", info->min_operands,
               info->max_operands, op->noperands);
    sound = false;
  }
  for (int k = 0; k < op->noperands; k++) {
    int o = op->operands[k];
    if (o < 0 || o >= i) {
      op_error(c, i, "operand %d (%%%d) is not defined before use", k, o);
      sound = false;
    } else if ((unsigned)c->f->ops[o].code >= FAB_OP_COUNT || c->failed[o]) {
      sound = false; /* reported at that op */
    } else if (fab_opinfos[c->f->ops[o].code].flags & FAB_OPF_NORESULT) {
      op_error(c, i, "operand %d (%%%d) is '%s', which has no result", k, o,
               fab_opinfos[c->f->ops[o].code].name);
      sound = false;
    }
  }
  if (!check_attrs(c, i)) sound = false;
  if (!sound) {
    c->failed[i] = true;
    return;
  }
  fab_op probe = *op;
  char err[512];
  if (!fab_infer_op(c->m, c->f, &probe, err, sizeof err)) {
    /* The op name is already in our prefix: drop infer's own. */
    size_t n = strlen(info->name);
    const char *msg = strncmp(err, info->name, n) == 0 && err[n] == ':' ? err + n + 2 : err;
    op_error(c, i, "%s", msg);
    return;
  }
  if (!fab_type_equal(&probe.type, &op->type)) {
    char a[160], b[160];
    op_error(c, i, "stored type %s but the inferred type is %s",
             fab_type_str(&op->type, a, sizeof a), fab_type_str(&probe.type, b, sizeof b));
  }
}

static bool op_named(const void *ops, int i, const void *name) {
  return strcmp(fab_op_str(&((const fab_op *)ops)[i], "name", ""), name) == 0;
}

/* Inputs (or outputs): indices exactly 0..n-1, names unique. */
static void check_ports(checker *c, fab_opcode code, const char *what) {
  const fab_func *f = c->f;
  fab_index names = {0};
  int n = 0;
  for (int i = 0; i < f->nops; i++) n += f->ops[i].code == code;
  if (code == FAB_OP_OUTPUT && n == 0) {
    fab_error(c->d, (fab_loc){0}, "func @%s has no output", f->name);
    c->ok = false;
  }
  int *owner = n ? fab_calloc((size_t)n, sizeof(int)) : NULL;
  if (n && !owner) {
    fab_error(c->d, (fab_loc){0}, "func @%s: out of memory checking %ss", f->name, what);
    c->ok = false;
    return;
  }
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code != code) continue;
    const fab_attr *ix = fab_op_attr(op, "index");
    if (ix && ix->kind == FAB_ATTR_INT) {
      if (ix->i < 0 || ix->i >= n)
        op_error(c, i, "%s index %lld out of range 0..%d", what, (long long)ix->i, n - 1);
      else if (owner[ix->i])
        op_error(c, i, "%s index %lld is also used by %%%d", what, (long long)ix->i,
                 owner[ix->i] - 1);
      else
        owner[ix->i] = i + 1;
    }
    const char *name = fab_op_str(op, "name", NULL);
    if (!name) continue;
    uint64_t h = fab_hash_str(name);
    int j = fab_index_find(&names, h, op_named, f->ops, name);
    if (j >= 0) op_error(c, i, "%s name \"%s\" is also used by %%%d", what, name, j);
    else if (!fab_index_add(&names, h, i)) {
      fab_error(c->d, (fab_loc){0}, "func @%s: out of memory checking %ss", f->name, what);
      c->ok = false;
      break;
    }
  }
  fab_index_free(&names);
  free(owner);
}

static void check_params(checker *c) {
  const fab_module *m = c->m;
  for (int i = 0; i < m->nparams; i++) {
    const fab_param *p = &m->params[i];
    bool bad_type = p->type.rank < 0 || p->type.rank > FAB_MAX_RANK || fab_type_numel(&p->type) < 0;
    if (bad_type) fab_error(c->d, p->loc, "parameter \"%s\" has an invalid type", p->name);
    if (fab_module_find_param(m, p->name) != i) { /* the index finds the first */
      fab_error(c->d, p->loc, "parameter \"%s\" is declared twice", p->name);
      bad_type = true;
    }
    bool bad_init = (p->init.kind == FAB_INIT_UNIFORM && !(p->init.a <= p->init.b)) ||
                    (p->init.kind == FAB_INIT_NORMAL && !(p->init.b >= 0));
    if (bad_init) fab_error(c->d, p->loc, "parameter \"%s\" has an invalid initialiser", p->name);
    if (bad_type || bad_init) c->ok = false;
  }
}

bool fab_verify(const fab_module *m, fab_diag *d) {
  checker c = {.m = m, .d = d, .ok = true};
  check_params(&c);
  if (m->nfuncs == 0) {
    fab_error(d, (fab_loc){0}, "module has no function");
    c.ok = false;
  }
  for (int k = 0; k < m->nfuncs; k++) {
    c.f = m->funcs[k];
    if (fab_module_find_func(m, c.f->name) != c.f) {
      fab_error(d, (fab_loc){0}, "function @%s is defined twice", c.f->name);
      c.ok = false;
    }
    c.failed = fab_calloc((size_t)c.f->nops + 1, sizeof(bool));
    if (!c.failed) {
      fab_error(d, (fab_loc){0}, "func @%s: out of memory", c.f->name);
      c.ok = false;
      continue;
    }
    for (int i = 0; i < c.f->nops; i++) check_op(&c, i);
    check_ports(&c, FAB_OP_INPUT, "input");
    check_ports(&c, FAB_OP_OUTPUT, "output");
    free(c.failed);
    c.failed = NULL;
  }
  return c.ok;
}
