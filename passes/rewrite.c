/* rewrite.c — the rewriting toolkit every pass uses.
 *
 * A rewrite copies or builds ops onto a fresh array (`rw.nf`) in the
 * module's arena, keeping an old->new index map, and finally swaps the
 * array into the function.  The old ops stay readable until then, so a
 * pass can look at the original graph while it builds the new one.
 *
 * Every op a pass builds gets its type twice: the pass computes it (it
 * knows the shape it means to make) and fab_infer_op recomputes it; a
 * disagreement is reported as a bug in the pass instead of producing IR
 * that fails verification later with a less useful message. */
#include "pass_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int64_t pass_opt(const fab_pass_ctx *cx, const char *key, int64_t dflt) {
  for (int i = 0; i < cx->nopts; i++)
    if (strcmp(cx->keys[i], key) == 0) return cx->vals[i];
  return dflt;
}

bool pass_has_opt(const fab_pass_ctx *cx, const char *key) {
  for (int i = 0; i < cx->nopts; i++)
    if (strcmp(cx->keys[i], key) == 0) return true;
  return false;
}

void pass_error(fab_pass_ctx *cx, const fab_op *op, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fab_loc loc = op ? op->loc : (fab_loc){0};
  fab_error(cx->d, loc, "pass %s: %s", cx->pass, msg);
}

static void *must(void *p) {
  if (!p) fab_out_of_memory(__FILE__, __LINE__);
  return p;
}

void rw_init(rw *w, fab_pass_ctx *cx, fab_func *f) {
  memset(w, 0, sizeof *w);
  w->cx = cx;
  w->m = cx->m;
  w->f = f;
  w->nf.name = f->name;
  w->ok = true;
  w->map = must(fab_arena_alloc(cx->m->arena, sizeof(int) * (size_t)(f->nops ? f->nops : 1)));
  for (int i = 0; i < f->nops; i++) w->map[i] = -1;
}

int rw_copy(rw *w, int i) {
  const fab_op *src = &w->f->ops[i];
  for (int k = 0; k < src->noperands; k++)
    FAB_ASSERT(src->operands[k] >= 0 && src->operands[k] < i && w->map[src->operands[k]] >= 0);
  int idx = fab_func_copy_op(w->m, &w->nf, src, w->map);
  w->map[i] = idx;
  return idx;
}

int rw_new(rw *w, fab_opcode code, const int *operands, int n, fab_loc loc) {
  for (int k = 0; k < n; k++) FAB_ASSERT(operands[k] >= 0 && operands[k] < w->nf.nops);
  return fab_func_append(w->m, &w->nf, code, operands, n, loc);
}

bool rw_type(rw *w, int idx, fab_type t) {
  fab_op *op = &w->nf.ops[idx];
  op->type = t;
  char err[256] = "";
  if (!fab_infer_op(w->m, &w->nf, op, err, sizeof err)) {
    pass_error(w->cx, op, "built an invalid '%s' op: %s", fab_opinfos[op->code].name, err);
    w->ok = false;
    return false;
  }
  if (!fab_type_equal(&op->type, &t)) {
    char a[96], b[96];
    pass_error(w->cx, op, "internal: built '%s' expecting %s but its type is %s",
               fab_opinfos[op->code].name, fab_type_str(&t, a, sizeof a),
               fab_type_str(&op->type, b, sizeof b));
    w->ok = false;
    return false;
  }
  return true;
}

bool rw_commit(rw *w) {
  if (!w->ok) return false;
  w->f->ops = w->nf.ops;
  w->f->nops = w->nf.nops;
  w->f->cap = w->nf.cap;
  return true;
}

int rw_reshape(rw *w, int x, int rank, const int64_t *dims, fab_loc loc) {
  int r = rw_new(w, FAB_OP_RESHAPE, &x, 1, loc);
  fab_op_set_ints(w->m, rw_at(w, r), "shape", dims, rank);
  rw_type(w, r, fab_type_make(rw_at(w, x)->type.dtype, rank, dims));
  return r;
}

int rw_transpose(rw *w, int x, const int64_t *perm, fab_loc loc) {
  fab_type in = rw_at(w, x)->type;
  fab_type t = in;
  for (int i = 0; i < in.rank; i++) t.dims[i] = in.dims[perm[i]];
  int r = rw_new(w, FAB_OP_TRANSPOSE, &x, 1, loc);
  fab_op_set_ints(w->m, rw_at(w, r), "perm", perm, in.rank);
  rw_type(w, r, t);
  return r;
}

int *pass_use_counts(fab_module *m, const fab_func *f) {
  int *uses = must(fab_arena_alloc(m->arena, sizeof(int) * (size_t)(f->nops ? f->nops : 1)));
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < f->ops[i].noperands; k++) {
      int o = f->ops[i].operands[k];
      if (o >= 0 && o < f->nops) uses[o]++;
    }
  return uses;
}

void pass_strip_attrs(fab_module *m, fab_op *op, const char *prefix) {
  size_t pl = strlen(prefix);
  int keep = 0;
  for (int i = 0; i < op->nattrs; i++)
    if (strncmp(op->attrs[i].key, prefix, pl) != 0) keep++;
  if (keep == op->nattrs) return;
  /* A fresh array: attribute arrays may be shared between copies of an op. */
  fab_attr *a = keep ? must(fab_arena_alloc(m->arena, sizeof(fab_attr) * (size_t)keep)) : NULL;
  int j = 0;
  for (int i = 0; i < op->nattrs; i++)
    if (strncmp(op->attrs[i].key, prefix, pl) != 0) a[j++] = op->attrs[i];
  op->attrs = a;
  op->nattrs = keep;
}

int64_t pass_dtype_bytes(fab_dtype t) { return t == FAB_C64 ? 8 : 4; }

int pass_log2(int64_t n) {
  if (n <= 0 || (n & (n - 1))) return -1;
  int l = 0;
  while (((int64_t)1 << l) < n) l++;
  return l;
}
