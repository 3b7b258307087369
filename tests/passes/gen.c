/* gen.c — random models and pipelines (see gen.h). */
#include "gen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fab_tensor.h"

typedef struct gen {
  fab_module *m;
  fab_func *f;
  fab_rng r;
  int nparams;
  bool ok;
} gen;

static int64_t rnd(gen *g, int64_t n) { return fab_rng_below(&g->r, n); }

static int done(gen *g, int i) {
  char err[256];
  if (!fab_infer_op(g->m, g->f, &g->f->ops[i], err, sizeof err)) {
    fprintf(stderr, "gen: op %d (%s): %s\n", i, fab_opinfos[g->f->ops[i].code].name, err);
    g->ok = false;
  }
  return i;
}

static int op(gen *g, fab_opcode code, int n, ...) {
  int ops[4];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) ops[i] = va_arg(ap, int);
  va_end(ap);
  return fab_func_append(g->m, g->f, code, ops, n, (fab_loc){0});
}

static fab_op *at(gen *g, int i) { return &g->f->ops[i]; }
static fab_type type_of(gen *g, int i) { return g->f->ops[i].type; }

static int weight(gen *g, fab_type t, fab_init init) {
  char name[32];
  snprintf(name, sizeof name, "p%d", g->nparams++);
  fab_module_add_param(g->m, name, t, init, (fab_loc){0}, NULL);
  int i = op(g, FAB_OP_WEIGHT, 0);
  fab_op_set_str(g->m, at(g, i), "name", name);
  at(g, i)->type = t;
  return i;
}

static fab_type vec(int64_t n) { return fab_type_make(FAB_F32, 1, &n); }

static int layernorm(gen *g, int x) {
  int64_t d = type_of(g, x).dims[type_of(g, x).rank - 1];
  int gm = weight(g, vec(d), (fab_init){FAB_INIT_NORMAL, 1, 0.1});
  int bt = weight(g, vec(d), (fab_init){FAB_INIT_NORMAL, 0, 0.1});
  int i = op(g, FAB_OP_LAYERNORM, 3, x, gm, bt);
  fab_op_set_float(g->m, at(g, i), "eps", 1e-5);
  return done(g, i);
}

static int bfly(gen *g, int x) {
  fab_type t = type_of(g, x);
  int64_t in = t.dims[t.rank - 1];
  int64_t n = 1, L = 0;
  while (n < in) n *= 2, L++;
  int64_t out = rnd(g, 3) == 0 ? n : 1 + rnd(g, 3 * in);
  int64_t S = (out + n - 1) / n, B = 1 + rnd(g, 3);
  int64_t tdims[6] = {S, B, L, n / 2, 2, 2};
  int tw = weight(g, fab_type_make(FAB_F32, 6, tdims), (fab_init){FAB_INIT_NORMAL, 0, 0.7});
  int i;
  if (rnd(g, 2)) {
    int b = weight(g, vec(out), (fab_init){FAB_INIT_UNIFORM, -0.5, 0.5});
    i = op(g, FAB_OP_BFLY_LINEAR, 3, x, tw, b);
  } else {
    i = op(g, FAB_OP_BFLY_LINEAR, 2, x, tw);
  }
  fab_op_set_int(g->m, at(g, i), "in", in);
  fab_op_set_int(g->m, at(g, i), "out", out);
  fab_op_set_int(g->m, at(g, i), "nblocks", B);
  fab_op_set_int(g->m, at(g, i), "increasing", rnd(g, 2));
  return done(g, i);
}

static int dense(gen *g, int x, int64_t out) {
  fab_type t = type_of(g, x);
  int64_t in = t.dims[t.rank - 1];
  double a = 1.0 / sqrt((double)in);
  int64_t wd[2] = {out, in};
  int w = weight(g, fab_type_make(FAB_F32, 2, wd), (fab_init){FAB_INIT_UNIFORM, -a, a});
  if (rnd(g, 2)) {
    int b = weight(g, vec(out), (fab_init){FAB_INIT_UNIFORM, -a, a});
    return done(g, op(g, FAB_OP_DENSE, 3, x, w, b));
  }
  return done(g, op(g, FAB_OP_DENSE, 2, x, w));
}

fab_module *gen_model(uint64_t seed) {
  gen g = {.ok = true};
  fab_rng_seed(&g.r, seed);
  g.m = fab_module_new("random");
  g.f = fab_module_add_func(g.m, "main");
  static const int64_t seqs[] = {1, 2, 3, 4, 5, 8, 16};
  static const int64_t dims[] = {2, 3, 4, 5, 6, 8, 12, 16, 32};
  int rank = 2 + (int)rnd(&g, 2);
  int64_t shape[3];
  if (rank == 3) shape[0] = 1 + rnd(&g, 2);
  shape[rank - 2] = seqs[rnd(&g, 7)];
  shape[rank - 1] = dims[rnd(&g, 9)];
  int x = op(&g, FAB_OP_INPUT, 0);
  fab_op_set_str(g.m, at(&g, x), "name", "x");
  fab_op_set_int(g.m, at(&g, x), "index", 0);
  at(&g, x)->type = fab_type_make(FAB_F32, rank, shape);
  int cur = x, extra = -1;
  int nlayers = 1 + (int)rnd(&g, 7);
  for (int l = 0; l < nlayers && g.ok; l++) {
    fab_type t = type_of(&g, cur);
    int r = t.rank;
    int64_t d = t.dims[r - 1];
    switch (rnd(&g, 14)) {
    case 0:
    case 1:
      if (d >= 2) cur = bfly(&g, cur);
      if (rnd(&g, 2)) cur = layernorm(&g, cur);
      break;
    case 2: cur = dense(&g, cur, 2 + rnd(&g, 16)); break;
    case 3: cur = layernorm(&g, done(&g, op(&g, FAB_OP_FOURIER_MIX, 1, cur))); break;
    case 4: {
      int64_t heads[8], nh = 0;
      for (int64_t h = 1; h <= d; h++)
        if (d % h == 0 && nh < 8) heads[nh++] = h;
      int k = cur, v = cur;
      if (rnd(&g, 2)) { /* distinct keys/values */
        k = done(&g, op(&g, FAB_OP_RELU, 1, cur));
        v = layernorm(&g, cur);
      }
      int i = op(&g, FAB_OP_MHA, 3, cur, k, v);
      fab_op_set_int(g.m, at(&g, i), "heads", heads[rnd(&g, nh)]);
      cur = done(&g, i);
      break;
    }
    case 5: { /* residual + layernorm (add.layernorm pattern) */
      int y = dense(&g, cur, d);
      cur = layernorm(&g, done(&g, op(&g, FAB_OP_ADD, 2, y, cur)));
      break;
    }
    case 6: { /* bias + gelu (bias.gelu pattern) */
      int b = weight(&g, vec(d), (fab_init){FAB_INIT_UNIFORM, -1, 1});
      int a = done(&g, op(&g, FAB_OP_ADD, 2, cur, b));
      int i = op(&g, FAB_OP_GELU, 1, a);
      fab_op_set_str(g.m, at(&g, i), "approx", rnd(&g, 2) ? "erf" : "tanh");
      cur = done(&g, i);
      break;
    }
    case 7: { /* scale + softmax; sometimes scale by 1 */
      int i = op(&g, FAB_OP_SCALE, 1, cur);
      fab_op_set_float(g.m, at(&g, i), "factor", rnd(&g, 3) ? 0.5 + rnd(&g, 4) * 0.25 : 1.0);
      int s = op(&g, FAB_OP_SOFTMAX, 1, done(&g, i));
      if (rnd(&g, 2)) fab_op_set_float(g.m, at(&g, s), "scale", 2.0);
      cur = done(&g, s);
      break;
    }
    case 8: cur = done(&g, op(&g, FAB_OP_RELU, 1, cur)); break;
    case 9: { /* mul by a splat 1 and by a weight */
      int c = op(&g, FAB_OP_CONST, 0);
      fab_op_set_float(g.m, at(&g, c), "value", 1.0);
      at(&g, c)->type = t;
      cur = done(&g, op(&g, FAB_OP_MUL, 2, cur, c));
      int w = weight(&g, vec(d), (fab_init){FAB_INIT_UNIFORM, 0.5, 1.5});
      cur = done(&g, op(&g, FAB_OP_MUL, 2, cur, w));
      break;
    }
    case 10: { /* transpose there and back, reshape flat and back */
      int64_t perm[FAB_MAX_RANK];
      for (int k = 0; k < r; k++) perm[k] = k;
      perm[r - 1] = r - 2;
      perm[r - 2] = r - 1;
      int a = op(&g, FAB_OP_TRANSPOSE, 1, cur);
      fab_op_set_ints(g.m, at(&g, a), "perm", perm, r);
      a = op(&g, FAB_OP_TRANSPOSE, 1, done(&g, a));
      fab_op_set_ints(g.m, at(&g, a), "perm", perm, r);
      a = done(&g, a);
      int64_t flat = fab_type_numel(&t);
      int b = op(&g, FAB_OP_RESHAPE, 1, a);
      fab_op_set_ints(g.m, at(&g, b), "shape", &flat, 1);
      b = op(&g, FAB_OP_RESHAPE, 1, done(&g, b));
      fab_op_set_ints(g.m, at(&g, b), "shape", t.dims, r);
      cur = done(&g, b);
      break;
    }
    case 11: { /* the same computation twice (CSE) and a dead branch (DCE) */
      int a = op(&g, FAB_OP_GELU, 1, cur);
      fab_op_set_str(g.m, at(&g, a), "approx", "erf");
      a = done(&g, a);
      int b = op(&g, FAB_OP_GELU, 1, cur);
      fab_op_set_str(g.m, at(&g, b), "approx", "erf");
      b = done(&g, b);
      (void)dense(&g, cur, 3); /* dead */
      cur = done(&g, op(&g, FAB_OP_ADD, 2, a, b));
      break;
    }
    case 12: { /* a second output */
      if (extra < 0) extra = cur;
      cur = done(&g, op(&g, FAB_OP_ADD, 2, cur, cur));
      break;
    }
    default: { /* stacked butterflies: bfly -> gelu -> bfly (an FFN) */
      if (d < 2) break;
      int h = bfly(&g, cur);
      int a = op(&g, FAB_OP_GELU, 1, h);
      fab_op_set_str(g.m, at(&g, a), "approx", "tanh");
      a = done(&g, a);
      if (type_of(&g, a).dims[r - 1] >= 2) cur = bfly(&g, a);
      else cur = a;
      break;
    }
    }
  }
  int o = op(&g, FAB_OP_OUTPUT, 1, cur);
  fab_op_set_str(g.m, at(&g, o), "name", "y");
  fab_op_set_int(g.m, at(&g, o), "index", 0);
  at(&g, o)->type = type_of(&g, cur);
  if (extra >= 0) {
    o = op(&g, FAB_OP_OUTPUT, 1, extra);
    fab_op_set_str(g.m, at(&g, o), "name", "z");
    fab_op_set_int(g.m, at(&g, o), "index", 1);
    at(&g, o)->type = type_of(&g, extra);
  }
  if (!g.ok) {
    fab_module_free(g.m);
    return NULL;
  }
  return g.m;
}

void gen_pipeline(uint64_t seed, char *buf, size_t n, const char **target) {
  fab_rng r;
  fab_rng_seed(&r, seed);
  static const char *targets[] = {"cpu", "fpga", "generic"};
  *target = targets[fab_rng_below(&r, 3)];
  if (fab_rng_below(&r, 5) == 0) { /* a target's default pipeline */
    snprintf(buf, n, "%s", "canonicalize,lower-bfly,lower-fourier,lower-mha,canonicalize,"
                           "fuse-stages,fuse-elementwise,tile,memplan");
    return;
  }
  bool bfly = false, fourier = false, mha = false;
  size_t k = 0;
  buf[0] = 0;
#define ADD(...) k += (size_t)snprintf(buf + k, k < n ? n - k : 0, "%s" __VA_ARGS__)
  int len = 1 + (int)fab_rng_below(&r, 8);
  for (int i = 0; i < len && k < n; i++) {
    const char *sep = k ? "," : "";
    switch (fab_rng_below(&r, 11)) {
    case 0: ADD("canonicalize", sep); break;
    case 1: ADD("lower-bfly", sep); bfly = true; break;
    case 2: ADD("lower-fourier", sep); fourier = true; break;
    case 3: ADD("lower-mha(blocked=%d)", sep, (int)fab_rng_below(&r, 2)); mha = true; break;
    case 4:
    case 5:
      if (!bfly) ADD("lower-bfly,", sep), sep = "", bfly = true;
      if (fab_rng_below(&r, 2)) ADD("fuse-stages", sep);
      else ADD("fuse-stages(k=%d,merge-matrices=%d)", sep, 1 + (int)fab_rng_below(&r, 6),
               (int)fab_rng_below(&r, 2));
      break;
    case 6: ADD("fuse-elementwise", sep); break;
    case 7:
    case 8:
      if (!bfly) ADD("lower-bfly,", sep), sep = "", bfly = true;
      if (!fourier) ADD("lower-fourier,", sep), sep = "", fourier = true;
      if (!mha) ADD("lower-mha,", sep), sep = "", mha = true;
      switch (fab_rng_below(&r, 3)) {
      case 0: ADD("tile", sep); break;
      case 1: ADD("tile(buffer=%d)", sep, 2 << fab_rng_below(&r, 5)); break;
      default: ADD("tile(rows=%d,buffer=%d)", sep, 1 + (int)fab_rng_below(&r, 9), 4 << fab_rng_below(&r, 3)); break;
      }
      break;
    default: ADD("memplan(inplace=%d)", sep, (int)fab_rng_below(&r, 2)); break;
    }
  }
#undef ADD
}
