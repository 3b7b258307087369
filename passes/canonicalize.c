/* canonicalize.c — pass `canonicalize`: local simplification, CSE, DCE.
 *
 * Requires: nothing.   Establishes: nothing new (any level of IR).
 *
 * Folding (each rule keeps values bit-for-bit, except scale∘scale which
 * multiplies the factors first, a difference in the last bit):
 *   reshape to the operand's shape, transpose by the identity, scale by 1,
 *   pad to the current size, slice of a whole axis       -> the operand
 *   reshape(reshape(x))                                  -> reshape(x)
 *   transpose(transpose(x))                              -> one transpose
 *   scale(scale(x))                                      -> one scale
 *   scale(const c)                                       -> const c*f
 *   add(x, const 0), mul(x, const 1) (x of the result's shape) -> x
 * There is no tensor-constant op, so weights are never materialised: only
 * computations on splat constants fold to constants.
 * CSE: two ops with the same opcode, operands, attributes and type are one
 * (inputs and outputs excepted: they are the function's interface).
 * DCE: ops that do not reach an output are removed; inputs are kept even
 * when unused so that the model's signature does not change.
 * The three repeat (at most 4 rounds) until the op count stops falling. */
#include "pass_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- structural hashing (CSE) ------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

static uint64_t hash_op(const fab_op *op) {
  uint64_t h = mix(0, (uint64_t)op->code);
  for (int k = 0; k < op->noperands; k++) h = mix(h, (uint64_t)op->operands[k]);
  for (int a = 0; a < op->nattrs; a++) {
    const fab_attr *at = &op->attrs[a];
    for (const char *c = at->key; *c; c++) h = mix(h, (unsigned char)*c);
    h = mix(h, (uint64_t)at->kind);
    if (at->kind == FAB_ATTR_INT) h = mix(h, (uint64_t)at->i);
    if (at->kind == FAB_ATTR_INTS)
      for (int k = 0; k < at->nints; k++) h = mix(h, (uint64_t)at->ints[k]);
    if (at->kind == FAB_ATTR_STR)
      for (const char *c = at->s; *c; c++) h = mix(h, (unsigned char)*c);
  }
  for (int k = 0; k < op->type.rank; k++) h = mix(h, (uint64_t)op->type.dims[k]);
  return h;
}

static bool attr_equal(const fab_attr *a, const fab_attr *b) {
  if (strcmp(a->key, b->key) != 0 || a->kind != b->kind) return false;
  switch (a->kind) {
  case FAB_ATTR_INT: return a->i == b->i;
  case FAB_ATTR_FLOAT: return a->f == b->f;
  case FAB_ATTR_STR: return strcmp(a->s, b->s) == 0;
  case FAB_ATTR_INTS:
    return a->nints == b->nints &&
           (a->nints == 0 || memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->nints) == 0);
  }
  return false;
}

static bool op_equal(const fab_op *a, const fab_op *b) {
  if (a->code != b->code || a->noperands != b->noperands || a->nattrs != b->nattrs ||
      !fab_type_equal(&a->type, &b->type))
    return false;
  for (int k = 0; k < a->noperands; k++)
    if (a->operands[k] != b->operands[k]) return false;
  for (int k = 0; k < a->nattrs; k++)
    if (!attr_equal(&a->attrs[k], &b->attrs[k])) return false;
  return true;
}

typedef struct cse_table {
  int *slots; /* new op index + 1; 0 = empty */
  size_t mask;
} cse_table;

/* Returns an earlier equal op of nf, or inserts idx and returns -1. */
static int cse_find_or_insert(cse_table *t, const fab_func *nf, int idx) {
  const fab_op *op = &nf->ops[idx];
  for (size_t s = hash_op(op) & t->mask;; s = (s + 1) & t->mask) {
    if (!t->slots[s]) {
      t->slots[s] = idx + 1;
      return -1;
    }
    int o = t->slots[s] - 1;
    if (op_equal(&nf->ops[o], op)) return o;
  }
}

/* ---- folding ------------------------------------------------------------- */

static bool is_splat(const fab_func *nf, int v, double value) {
  const fab_op *c = &nf->ops[v];
  return c->code == FAB_OP_CONST && fab_op_float(c, "value", value + 1) == value;
}

/* Tries to simplify the just-copied op `idx` of w->nf.  Returns the value
 * it is equal to (an earlier op), or idx (possibly rewritten in place). */
static int fold(rw *w, int idx) {
  fab_module *m = w->m;
  fab_op *op = rw_at(w, idx);
  int x = op->noperands ? op->operands[0] : -1;
  const fab_op *xo = x >= 0 ? rw_at(w, x) : NULL;
  switch (op->code) {
  case FAB_OP_RESHAPE:
    if (xo->code == FAB_OP_RESHAPE) { /* reshape(reshape(y)) = reshape(y) */
      op->operands[0] = x = xo->operands[0];
      xo = rw_at(w, x);
    }
    return fab_type_equal(&xo->type, &op->type) ? x : idx;
  case FAB_OP_TRANSPOSE: {
    const fab_attr *p = fab_op_attr(op, "perm");
    if (!p || p->kind != FAB_ATTR_INTS) return idx;
    int64_t perm[FAB_MAX_RANK];
    int r = p->nints > FAB_MAX_RANK ? FAB_MAX_RANK : p->nints;
    memcpy(perm, p->ints, sizeof(int64_t) * (size_t)r);
    const fab_attr *q = xo->code == FAB_OP_TRANSPOSE ? fab_op_attr(xo, "perm") : NULL;
    if (q && q->kind == FAB_ATTR_INTS && q->nints == r) {
      /* out axis i = x axis perm[i] = y axis q[perm[i]] */
      for (int i = 0; i < r; i++) perm[i] = q->ints[perm[i]];
      op->operands[0] = x = xo->operands[0];
      xo = rw_at(w, x);
      fab_op_set_ints(m, op, "perm", perm, r);
    }
    bool ident = true;
    for (int i = 0; i < r; i++) ident &= perm[i] == i;
    return ident && fab_type_equal(&xo->type, &op->type) ? x : idx;
  }
  case FAB_OP_SCALE: {
    double f = fab_op_float(op, "factor", 1.0);
    if (xo->code == FAB_OP_SCALE) {
      f *= fab_op_float(xo, "factor", 1.0);
      op->operands[0] = x = xo->operands[0];
      xo = rw_at(w, x);
      fab_op_set_float(m, op, "factor", f);
    }
    if (f == 1.0 && fab_type_equal(&xo->type, &op->type)) return x;
    if (xo->code == FAB_OP_CONST && fab_type_equal(&xo->type, &op->type)) {
      /* a computation on a splat constant is a splat constant */
      double c = fab_op_float(xo, "value", 0.0) * f;
      fab_type t = op->type;
      fab_loc loc = op->loc;
      w->nf.nops--; /* replace the scale by a const */
      int k = fab_func_append(m, &w->nf, FAB_OP_CONST, NULL, 0, loc);
      fab_op_set_float(m, rw_at(w, k), "value", (double)(float)c);
      rw_at(w, k)->type = t;
      return k;
    }
    return idx;
  }
  case FAB_OP_PAD: {
    int64_t axis = fab_op_int(op, "axis", INT64_MIN);
    if (axis < 0 && axis != INT64_MIN) axis += xo->type.rank; /* negative axes count from the end */
    if (axis >= 0 && axis < xo->type.rank && xo->type.dims[axis] == fab_op_int(op, "size", -1))
      return x;
    return idx;
  }
  case FAB_OP_SLICE:
    return fab_op_int(op, "start", -1) == 0 && fab_type_equal(&xo->type, &op->type) ? x : idx;
  case FAB_OP_ADD:
  case FAB_OP_MUL:
    if (is_splat(&w->nf, op->operands[1], op->code == FAB_OP_ADD ? 0.0 : 1.0) &&
        fab_type_equal(&xo->type, &op->type))
      return x;
    return idx;
  default: return idx;
  }
}

/* One round of folding + CSE over f.  Returns false on error. */
static bool fold_cse(fab_pass_ctx *cx, fab_func *f) {
  rw w;
  rw_init(&w, cx, f);
  cse_table t;
  size_t cap = 16;
  while (cap < (size_t)f->nops * 2 + 16) cap <<= 1;
  t.slots = fab_arena_alloc(cx->m->arena, sizeof(int) * cap);
  if (!t.slots) fab_out_of_memory(__FILE__, __LINE__);
  t.mask = cap - 1;
  for (int i = 0; i < f->nops; i++) {
    int idx = rw_copy(&w, i);
    fab_opcode code = f->ops[i].code;
    if (code == FAB_OP_INPUT || code == FAB_OP_OUTPUT) continue;
    int v = fold(&w, idx);
    if (v != idx && v < idx) { /* folded away: drop the copy */
      w.nf.nops = idx;
      w.map[i] = v;
      continue;
    }
    int same = cse_find_or_insert(&t, &w.nf, v);
    if (same >= 0) {
      w.nf.nops = v;
      v = same;
    }
    w.map[i] = v;
  }
  return rw_commit(&w);
}

/* Removes ops that reach no output (inputs stay). */
static bool dce(fab_pass_ctx *cx, fab_func *f) {
  unsigned char *live = fab_arena_alloc(cx->m->arena, (size_t)(f->nops ? f->nops : 1));
  if (!live) fab_out_of_memory(__FILE__, __LINE__);
  for (int i = f->nops - 1; i >= 0; i--) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_OUTPUT || op->code == FAB_OP_INPUT) live[i] = 1;
    if (live[i])
      for (int k = 0; k < op->noperands; k++) live[op->operands[k]] = 1;
  }
  rw w;
  rw_init(&w, cx, f);
  for (int i = 0; i < f->nops; i++)
    if (live[i]) rw_copy(&w, i);
  return rw_commit(&w);
}

bool pass_canonicalize(fab_pass_ctx *cx, fab_func *f) {
  for (int round = 0; round < 4; round++) {
    int before = f->nops;
    if (!fold_cse(cx, f) || !dce(cx, f)) return false;
    if (f->nops == before) break;
  }
  return true;
}
