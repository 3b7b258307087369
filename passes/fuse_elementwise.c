/* fuse_elementwise.c — pass `fuse-elementwise`: producer+consumer pairs
 * that a backend runs as one sweep over memory.
 *
 * Requires: nothing.   Establishes: nothing new.
 *
 *   gelu(add(x, b[d]))           -> bias.gelu x, b {approx}
 *   layernorm(add(x, r), g, be)  -> add.layernorm x, r, g, be {eps}
 *   softmax{s}(scale{f}(x))      -> softmax{scale = f * s} x
 *   real(fft.stages(x))          -> fft.stages{real_out = 1} x
 *
 * Only when the producer has no other user (else its value would have to
 * be computed anyway and fusing would duplicate the work), and for the
 * bias form only when b is a row vector broadcast over x's rows (the
 * shape bias.gelu defines).  add.layernorm needs x and r of one shape.
 * Each fusion removes one full write and read of the intermediate. */
#include "pass_internal.h"

typedef enum { F_NONE, F_BIAS_GELU, F_ADD_LN, F_SCALE_SOFTMAX, F_FFT_REAL } fusion;

static fusion classify(const fab_func *f, const int *uses, int j) {
  const fab_op *c = &f->ops[j];
  if (c->noperands < 1) return F_NONE;
  int a = c->operands[0];
  const fab_op *p = &f->ops[a];
  if (uses[a] != 1) return F_NONE;
  switch (c->code) {
  case FAB_OP_GELU:
    if (p->code == FAB_OP_ADD) {
      const fab_type *x = &f->ops[p->operands[0]].type, *b = &f->ops[p->operands[1]].type;
      if (b->rank == 1 && x->rank >= 1 && b->dims[0] == x->dims[x->rank - 1] &&
          fab_type_equal(x, &p->type) && x->dtype == FAB_F32)
        return F_BIAS_GELU;
    }
    return F_NONE;
  case FAB_OP_LAYERNORM:
    if (p->code == FAB_OP_ADD &&
        fab_type_equal(&f->ops[p->operands[0]].type, &f->ops[p->operands[1]].type))
      return F_ADD_LN;
    return F_NONE;
  case FAB_OP_SOFTMAX: return p->code == FAB_OP_SCALE ? F_SCALE_SOFTMAX : F_NONE;
  case FAB_OP_REAL:
    return p->code == FAB_OP_FFT_STAGES && fab_op_int(p, "real_out", 0) == 0 ? F_FFT_REAL : F_NONE;
  default: return F_NONE;
  }
}

bool pass_fuse_elementwise(fab_pass_ctx *cx, fab_func *f) {
  int n = f->nops;
  int *uses = pass_use_counts(cx->m, f);
  unsigned char *absorbed = fab_arena_alloc(cx->m->arena, (size_t)(n ? n : 1));
  unsigned char *kind = fab_arena_alloc(cx->m->arena, (size_t)(n ? n : 1));
  if (!absorbed || !kind) fab_out_of_memory(__FILE__, __LINE__);
  for (int j = 0; j < n; j++) {
    kind[j] = (unsigned char)classify(f, uses, j);
    if (kind[j] != F_NONE) absorbed[f->ops[j].operands[0]] = 1;
  }
  rw w;
  rw_init(&w, cx, f);
  for (int j = 0; j < n && w.ok; j++) {
    const fab_op *c = &f->ops[j];
    if (absorbed[j]) continue; /* its only user rebuilds it fused */
    if (kind[j] == F_NONE) {
      rw_copy(&w, j);
      continue;
    }
    const fab_op *p = &f->ops[c->operands[0]];
    int v;
    switch ((fusion)kind[j]) {
    case F_BIAS_GELU: {
      int ops[2] = {w.map[p->operands[0]], w.map[p->operands[1]]};
      v = rw_new(&w, FAB_OP_BIAS_GELU, ops, 2, c->loc);
      fab_op_set_str(cx->m, rw_at(&w, v), "approx", fab_op_str(c, "approx", "erf"));
      break;
    }
    case F_ADD_LN: {
      int ops[4] = {w.map[p->operands[0]], w.map[p->operands[1]], w.map[c->operands[1]],
                    w.map[c->operands[2]]};
      v = rw_new(&w, FAB_OP_ADD_LAYERNORM, ops, 4, c->loc);
      fab_op_set_float(cx->m, rw_at(&w, v), "eps", fab_op_float(c, "eps", 1e-5));
      break;
    }
    case F_SCALE_SOFTMAX: {
      int x[2] = {w.map[p->operands[0]], c->noperands > 1 ? w.map[c->operands[1]] : -1};
      v = rw_new(&w, FAB_OP_SOFTMAX, x, c->noperands, c->loc); /* (x, mask) */
      double s = fab_op_float(p, "factor", 1.0) * fab_op_float(c, "scale", 1.0);
      fab_op_set_float(cx->m, rw_at(&w, v), "scale", s);
      if (fab_op_int(c, "causal", 0)) fab_op_set_int(cx->m, rw_at(&w, v), "causal", 1);
      break;
    }
    case F_FFT_REAL: {
      /* A copy of the fft.stages (keeping its hints) whose last stage
       * keeps only the real part. */
      v = fab_func_copy_op(cx->m, &w.nf, p, w.map);
      fab_op_set_int(cx->m, rw_at(&w, v), "real_out", 1);
      break;
    }
    default: v = -1; break;
    }
    rw_type(&w, v, c->type);
    w.map[j] = v;
  }
  return rw_commit(&w);
}
