/* memplan.c — pass `memplan`: one arena for every intermediate value.
 *
 * Requires: nothing (run it last: any later pass drops the plan).
 * Establishes: planned — every value that is not a source (input, weight,
 * const) and not an output op carries
 *   plan.offset  byte offset in the function's activation arena
 *   plan.size    bytes (element count x element size, rounded up to 64)
 *   plan.inplace k, when the value reuses the buffer of its operand k
 *
 * Liveness: a value is live from its op to its last user; a value an
 * output op reads stays live to the end (the caller reads it).  Walking
 * the ops in order: the result gets a buffer first (so it never overlaps
 * an operand that is still being read), then operands whose last use is
 * this op are freed.  Buffers are chosen best-fit (the smallest free
 * interval that fits, else the top of the arena grows); neighbours merge
 * when freed.
 * In place: an elementwise op, reshape, bfly.stages or fft.stages whose
 * operand dies at it and has the same size takes over that operand's
 * buffer (these ops read each element before writing the same position,
 * a contract the backends honour when they follow the plan).
 * fab_memplan_stats reports the peak (max offset + size) against the sum
 * of all planned sizes (what one buffer per value would need). */
#include "pass_internal.h"

#include <string.h>

int64_t fab_memplan_value_bytes(const fab_type *t) {
  int64_t n = fab_type_numel(t);
  if (n < 0) return -1;
  int64_t b = n * pass_dtype_bytes(t->dtype);
  return (b + 63) / 64 * 64;
}

typedef struct span {
  int64_t off, len;
} span;

typedef struct freelist {
  span *s; /* sorted by offset, non-adjacent */
  int n;
  int64_t top; /* arena high-water mark */
} freelist;

static int64_t fl_alloc(freelist *fl, int64_t size) {
  int best = -1;
  for (int i = 0; i < fl->n; i++)
    if (fl->s[i].len >= size && (best < 0 || fl->s[i].len < fl->s[best].len)) best = i;
  if (best >= 0) {
    int64_t off = fl->s[best].off;
    fl->s[best].off += size;
    fl->s[best].len -= size;
    if (fl->s[best].len == 0) {
      memmove(&fl->s[best], &fl->s[best + 1], sizeof(span) * (size_t)(fl->n - best - 1));
      fl->n--;
    }
    return off;
  }
  /* Nothing fits: grow the top, absorbing a free span that ends there. */
  if (fl->n && fl->s[fl->n - 1].off + fl->s[fl->n - 1].len == fl->top) {
    int64_t off = fl->s[fl->n - 1].off;
    fl->n--;
    fl->top = off + size;
    return off;
  }
  int64_t off = fl->top;
  fl->top += size;
  return off;
}

static void fl_free(freelist *fl, int64_t off, int64_t len) {
  int i = 0;
  while (i < fl->n && fl->s[i].off < off) i++;
  memmove(&fl->s[i + 1], &fl->s[i], sizeof(span) * (size_t)(fl->n - i));
  fl->s[i] = (span){off, len};
  fl->n++;
  if (i + 1 < fl->n && fl->s[i].off + fl->s[i].len == fl->s[i + 1].off) { /* merge right */
    fl->s[i].len += fl->s[i + 1].len;
    memmove(&fl->s[i + 1], &fl->s[i + 2], sizeof(span) * (size_t)(fl->n - i - 2));
    fl->n--;
  }
  if (i > 0 && fl->s[i - 1].off + fl->s[i - 1].len == fl->s[i].off) { /* merge left */
    fl->s[i - 1].len += fl->s[i].len;
    memmove(&fl->s[i], &fl->s[i + 1], sizeof(span) * (size_t)(fl->n - i - 1));
    fl->n--;
  }
}

static bool planned(const fab_op *op) {
  return !(fab_opinfos[op->code].flags & (FAB_OPF_SOURCE | FAB_OPF_NORESULT));
}

/* Unrounded bytes: an op may overwrite its operand only when both hold
 * exactly as many bytes (plan.size rounds to 64, so f32[2] and its
 * complex c64[2] would look equal). */
static int64_t exact_bytes(const fab_type *t) { return fab_type_numel(t) * pass_dtype_bytes(t->dtype); }

static bool may_work_in_place(const fab_op *op) {
  if (fab_opinfos[op->code].flags & FAB_OPF_ELEMENTWISE) return true;
  return op->code == FAB_OP_RESHAPE || op->code == FAB_OP_BFLY_STAGES ||
         op->code == FAB_OP_FFT_STAGES;
}

bool pass_memplan(fab_pass_ctx *cx, fab_func *f) {
  fab_module *m = cx->m;
  int n = f->nops;
  size_t nn = (size_t)(n ? n : 1);
  int *last = fab_arena_alloc(m->arena, sizeof(int) * nn);
  int64_t *off = fab_arena_alloc(m->arena, sizeof(int64_t) * nn);
  int64_t *size = fab_arena_alloc(m->arena, sizeof(int64_t) * nn);
  unsigned char *owner = fab_arena_alloc(m->arena, nn); /* 1: holds a buffer to free */
  freelist fl = {.s = fab_arena_alloc(m->arena, sizeof(span) * (nn + 2))};
  if (!last || !off || !size || !owner || !fl.s)
    fab_out_of_memory(__FILE__, __LINE__);
  bool inplace_ok = pass_opt(cx, "inplace", 1) != 0;

  for (int i = 0; i < n; i++) last[i] = i;
  for (int i = 0; i < n; i++) {
    const fab_op *op = &f->ops[i];
    for (int k = 0; k < op->noperands; k++) {
      int o = op->operands[k];
      if (op->code == FAB_OP_OUTPUT) last[o] = n;
      else if (last[o] < i) last[o] = i;
    }
  }
  for (int i = 0; i < n; i++) {
    fab_op *op = &f->ops[i];
    pass_strip_attrs(m, op, "plan.");
    if (!planned(op)) continue;
    size[i] = fab_memplan_value_bytes(&op->type);
    if (size[i] < 0) {
      pass_error(cx, op, "value %%%d is too large to plan", i);
      return false;
    }
    int reuse = -1;
    if (inplace_ok && may_work_in_place(op))
      for (int k = 0; k < op->noperands && reuse < 0; k++) {
        if (k > 0 && op->code == FAB_OP_SOFTMAX) break; /* a mask is read across its row */
        int o = op->operands[k];
        if (owner[o] && last[o] == i && size[o] == size[i] &&
            exact_bytes(&f->ops[o].type) == exact_bytes(&op->type))
          reuse = k;
      }
    if (reuse >= 0) {
      int o = op->operands[reuse];
      off[i] = off[o];
      owner[o] = 0;
      fab_op_set_int(m, op, "plan.inplace", reuse);
    } else {
      off[i] = fl_alloc(&fl, size[i]);
    }
    owner[i] = 1;
    fab_op_set_int(m, op, "plan.offset", off[i]);
    fab_op_set_int(m, op, "plan.size", size[i]);
    for (int k = 0; k < op->noperands; k++) {
      int o = op->operands[k];
      if (owner[o] && last[o] == i) {
        fl_free(&fl, off[o], size[o]);
        owner[o] = 0;
      }
    }
    if (last[i] == i) { /* no user: dead on arrival */
      fl_free(&fl, off[i], size[i]);
      owner[i] = 0;
    }
  }
  return true;
}

bool fab_memplan_stats(const fab_module *m, int64_t *planned_peak, int64_t *unplanned) {
  int64_t peak = 0, sum = 0;
  bool any = false;
  for (int fi = 0; fi < m->nfuncs; fi++) {
    const fab_func *f = m->funcs[fi];
    for (int i = 0; i < f->nops; i++) {
      const fab_op *op = &f->ops[i];
      const fab_attr *o = fab_op_attr(op, "plan.offset"), *s = fab_op_attr(op, "plan.size");
      if (!o || !s) continue;
      any = true;
      if (o->i + s->i > peak) peak = o->i + s->i;
      sum += s->i;
    }
  }
  if (planned_peak) *planned_peak = peak;
  if (unplanned) *unplanned = sum;
  return any;
}
