/* test_grad.c — explore.grad.*: reverse-mode gradients of every op
 * against central finite differences, in double precision.
 *
 * Each case builds a small function, draws parameters and f32 inputs,
 * takes L = sum_j c_j out_j with random c, and compares dL/dparam and
 * dL/dinput element by element: |analytic - numeric| must stay below
 * 1e-6 * max(1, |numeric|).  The worst relative error is printed. */
#include "train.h"
#include "util.h"

#ifdef HAVE_FRONTEND
#include "frontend.h"
#endif

typedef struct gcase {
  fab_module *m;
  fab_func *f;
} gcase;

static gcase start(const char *name) {
  gcase g;
  g.m = fab_module_new(name);
  g.f = fab_module_add_func(g.m, "main");
  return g;
}

static double loss_of(fab_ad_tape *t, fab_ad *ad, const double *const *in, const double *c) {
  fab_diag *d = fab_diag_new();
  bool ok = fab_ad_forward(t, in, d);
  if (!ok) fab_diag_print(d, stderr);
  fab_diag_free(d);
  const double *y = fab_ad_value(t, fab_ad_output_op(ad, 0));
  double L = 0;
  for (int64_t j = 0; j < fab_ad_numel(ad, fab_ad_output_op(ad, 0)); j++) L += c[j] * y[j];
  return L;
}

/* Worst relative error over every parameter and f32-input element. */
static double fd_check(fab_module *m, uint64_t seed, int vocab) {
  fab_diag *d = fab_diag_new();
  fab_ad *ad = fab_ad_new(m, d);
  if (!ad) {
    fab_diag_print(d, stderr);
    fab_diag_free(d);
    check_failures++;
    return INFINITY;
  }
  fab_rng r;
  fab_rng_seed(&r, seed);
  for (int p = 0; p < fab_ad_nparams(ad); p++)
    fill_normal(&r, fab_ad_param(ad, p), fab_ad_param_numel(ad, p), 0.6);
  int nin = fab_ad_ninputs(ad);
  double *inputs[8] = {0};
  const fab_func *f = fab_ad_func(ad);
  for (int k = 0; k < nin; k++) {
    int op = fab_ad_input_op(ad, k);
    int64_t n = fab_ad_numel(ad, op);
    inputs[k] = malloc(sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < n; j++)
      inputs[k][j] = f->ops[op].type.dtype == FAB_I32 ? (double)fab_rng_below(&r, vocab)
                                                       : fab_rng_normal(&r);
  }
  int oop = fab_ad_output_op(ad, 0);
  int64_t nout = fab_ad_numel(ad, oop);
  double *c = malloc(sizeof(double) * (size_t)nout);
  fill_normal(&r, c, nout, 1.0);
  fab_ad_tape *t = fab_ad_tape_new(ad);
  const double *const *in = (const double *const *)inputs;
  loss_of(t, ad, in, c);
  memcpy(fab_ad_grad(t, oop), c, sizeof(double) * (size_t)nout);
  fab_ad_zero_param_grads(t);
  fab_ad_backward(t);
  /* copy the analytic gradients before the FD forwards overwrite them */
  double worst = 0, h = 1e-6;
  for (int p = 0; p < fab_ad_nparams(ad); p++) {
    int64_t n = fab_ad_param_numel(ad, p);
    double *an = malloc(sizeof(double) * (size_t)n);
    memcpy(an, fab_ad_param_grad(t, p), sizeof(double) * (size_t)n);
    double *w = fab_ad_param(ad, p);
    for (int64_t j = 0; j < n; j++) {
      double keep = w[j];
      w[j] = keep + h;
      double lp = loss_of(t, ad, in, c);
      w[j] = keep - h;
      double lm = loss_of(t, ad, in, c);
      w[j] = keep;
      double num = (lp - lm) / (2 * h), e = fabs(an[j] - num) / fmax(1.0, fabs(num));
      if (e > worst) worst = e;
      if (e > 1e-6) {
        fprintf(stderr, "  param %s[%lld]: analytic %.10g numeric %.10g\n", m->params[p].name,
                (long long)j, an[j], num);
        check_failures++;
        break;
      }
    }
    free(an);
  }
  for (int k = 0; k < nin; k++) {
    int op = fab_ad_input_op(ad, k);
    if (f->ops[op].type.dtype == FAB_I32) continue;
    loss_of(t, ad, in, c);
    memcpy(fab_ad_grad(t, oop), c, sizeof(double) * (size_t)nout);
    fab_ad_backward(t);
    int64_t n = fab_ad_numel(ad, op);
    double *an = malloc(sizeof(double) * (size_t)n);
    memcpy(an, fab_ad_grad(t, op), sizeof(double) * (size_t)n);
    for (int64_t j = 0; j < n; j++) {
      double keep = inputs[k][j];
      inputs[k][j] = keep + h;
      double lp = loss_of(t, ad, in, c);
      inputs[k][j] = keep - h;
      double lm = loss_of(t, ad, in, c);
      inputs[k][j] = keep;
      double num = (lp - lm) / (2 * h), e = fabs(an[j] - num) / fmax(1.0, fabs(num));
      if (e > worst) worst = e;
      if (e > 1e-6) {
        fprintf(stderr, "  input %d[%lld]: analytic %.10g numeric %.10g\n", k, (long long)j, an[j], num);
        check_failures++;
        break;
      }
    }
    free(an);
  }
  fab_ad_tape_free(t);
  fab_ad_free(ad);
  fab_diag_free(d);
  for (int k = 0; k < nin; k++) free(inputs[k]);
  free(c);
  return worst;
}

/* ---- cases --------------------------------------------------------------- */

static int bfly(gcase *g, int x, int in, int out, int inc, int nblocks, bool bias, const char *nm) {
  int L = 0;
  while ((1 << L) < in) L++;
  int n = 1 << L, S = (out + n - 1) / n;
  char name[64];
  snprintf(name, sizeof name, "%s.twiddle", nm);
  int tw = b_weight(g->m, g->f, name, ty(FAB_F32, 6, S, nblocks, L, n / 2, 2, 2));
  int b = -1;
  if (bias) {
    snprintf(name, sizeof name, "%s.bias", nm);
    b = b_weight(g->m, g->f, name, ty(FAB_F32, 1, out));
  }
  int o = bias ? b_op(g->m, g->f, FAB_OP_BFLY_LINEAR, 3, x, tw, b)
               : b_op(g->m, g->f, FAB_OP_BFLY_LINEAR, 2, x, tw);
  fab_op_set_int(g->m, &g->f->ops[o], "in", in);
  fab_op_set_int(g->m, &g->f->ops[o], "out", out);
  fab_op_set_int(g->m, &g->f->ops[o], "increasing", inc);
  fab_op_set_int(g->m, &g->f->ops[o], "nblocks", nblocks);
  return b_infer(g->m, g->f, o);
}

static int dense(gcase *g, int x, int in, int out, bool bias, const char *nm) {
  char name[64];
  snprintf(name, sizeof name, "%s.weight", nm);
  int w = b_weight(g->m, g->f, name, ty(FAB_F32, 2, out, in));
  if (!bias) return b_infer(g->m, g->f, b_op(g->m, g->f, FAB_OP_DENSE, 2, x, w));
  snprintf(name, sizeof name, "%s.bias", nm);
  int b = b_weight(g->m, g->f, name, ty(FAB_F32, 1, out));
  return b_infer(g->m, g->f, b_op(g->m, g->f, FAB_OP_DENSE, 3, x, w, b));
}

static int unary(gcase *g, fab_opcode code, int x) { return b_infer(g->m, g->f, b_op(g->m, g->f, code, 1, x)); }

static double run_case(const char *which) {
  gcase g = start(which);
  fab_module *m = g.m;
  fab_func *f = g.f;
  int vocab = 2, y = -1;
  if (!strcmp(which, "bfly_pow2")) {
    y = bfly(&g, b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 16)), 16, 16, 0, 1, true, "l");
  } else if (!strcmp(which, "bfly_increasing")) {
    y = bfly(&g, b_input(m, f, "x", 0, ty(FAB_F32, 2, 2, 8)), 8, 8, 1, 1, true, "l");
  } else if (!strcmp(which, "bfly_stacks_blocks")) {
    y = bfly(&g, b_input(m, f, "x", 0, ty(FAB_F32, 2, 2, 8)), 8, 20, 1, 2, true, "l");
  } else if (!strcmp(which, "bfly_npow2")) {
    y = bfly(&g, b_input(m, f, "x", 0, ty(FAB_F32, 2, 2, 12)), 12, 10, 0, 3, false, "l");
  } else if (!strcmp(which, "dense")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 5));
    y = dense(&g, dense(&g, x, 5, 7, true, "a"), 7, 4, false, "b");
  } else if (!strcmp(which, "fourier")) {
    y = unary(&g, FAB_OP_FOURIER_MIX, b_input(m, f, "x", 0, ty(FAB_F32, 3, 2, 6, 5)));
  } else if (!strcmp(which, "mha")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 5, 8));
    int q = dense(&g, x, 8, 8, true, "q"), k = dense(&g, x, 8, 8, true, "k"), v = dense(&g, x, 8, 8, true, "v");
    y = b_op(m, f, FAB_OP_MHA, 3, q, k, v);
    fab_op_set_int(m, &f->ops[y], "heads", 2);
    b_infer(m, f, y);
  } else if (!strcmp(which, "layernorm")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 6));
    int ga = b_weight(m, f, "n.weight", ty(FAB_F32, 1, 6)), be = b_weight(m, f, "n.bias", ty(FAB_F32, 1, 6));
    y = b_op(m, f, FAB_OP_LAYERNORM, 3, x, ga, be);
    fab_op_set_float(m, &f->ops[y], "eps", 1e-5);
    b_infer(m, f, y);
  } else if (!strcmp(which, "gelu_erf") || !strcmp(which, "gelu_tanh")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 6));
    y = b_op(m, f, FAB_OP_GELU, 1, x);
    fab_op_set_str(m, &f->ops[y], "approx", !strcmp(which, "gelu_erf") ? "erf" : "tanh");
    b_infer(m, f, y);
  } else if (!strcmp(which, "relu")) {
    y = unary(&g, FAB_OP_RELU, dense(&g, b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 6)), 6, 6, true, "a"));
  } else if (!strcmp(which, "softmax")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 6));
    y = b_op(m, f, FAB_OP_SOFTMAX, 1, x);
    fab_op_set_float(m, &f->ops[y], "scale", 0.7);
    b_infer(m, f, y);
  } else if (!strcmp(which, "add_mul_scale")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 3, 2, 3, 4));
    int w = b_weight(m, f, "w", ty(FAB_F32, 2, 3, 4)), v = b_weight(m, f, "v", ty(FAB_F32, 1, 4));
    int a = b_infer(m, f, b_op(m, f, FAB_OP_ADD, 2, x, w));
    int mu = b_infer(m, f, b_op(m, f, FAB_OP_MUL, 2, a, v));
    int mm = b_infer(m, f, b_op(m, f, FAB_OP_MUL, 2, mu, x)); /* x used twice */
    y = b_op(m, f, FAB_OP_SCALE, 1, mm);
    fab_op_set_float(m, &f->ops[y], "factor", -1.5);
    b_infer(m, f, y);
  } else if (!strcmp(which, "embed_pool_take")) {
    vocab = 7;
    int ids = b_input(m, f, "tokens", 0, ty(FAB_I32, 1, 6));
    int tab = b_weight(m, f, "embed.weight", ty(FAB_F32, 2, 7, 4));
    int e = b_infer(m, f, b_op(m, f, FAB_OP_EMBED, 2, ids, tab));
    int p = unary(&g, FAB_OP_MEANPOOL, e);
    int tk = b_op(m, f, FAB_OP_TAKE, 1, e);
    fab_op_set_int(m, &f->ops[tk], "index", 2);
    b_infer(m, f, tk);
    y = b_infer(m, f, b_op(m, f, FAB_OP_MUL, 2, p, tk));
  } else if (!strcmp(which, "shape_ops")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 3, 2, 3, 4));
    int s = b_op(m, f, FAB_OP_SLICE, 1, x);
    fab_op_set_int(m, &f->ops[s], "axis", 1);
    fab_op_set_int(m, &f->ops[s], "start", 1);
    fab_op_set_int(m, &f->ops[s], "size", 2);
    b_infer(m, f, s); /* [2,2,4] */
    int tr = b_op(m, f, FAB_OP_TRANSPOSE, 1, s);
    int64_t perm[3] = {2, 0, 1};
    fab_op_set_ints(m, &f->ops[tr], "perm", perm, 3);
    b_infer(m, f, tr); /* [4,2,2] */
    int rs = b_op(m, f, FAB_OP_RESHAPE, 1, tr);
    int64_t shape[2] = {8, 2};
    fab_op_set_ints(m, &f->ops[rs], "shape", shape, 2);
    b_infer(m, f, rs);
    int pd = b_op(m, f, FAB_OP_PAD, 1, rs);
    fab_op_set_int(m, &f->ops[pd], "axis", 1);
    fab_op_set_int(m, &f->ops[pd], "size", 3);
    b_infer(m, f, pd); /* [8,3] */
    int st = b_op(m, f, FAB_OP_STACK, 1, pd);
    fab_op_set_int(m, &f->ops[st], "count", 2);
    b_infer(m, f, st); /* [8,2,3] */
    int w = b_weight(m, f, "w", ty(FAB_F32, 3, 8, 3, 2));
    int mm = b_infer(m, f, b_op(m, f, FAB_OP_MATMUL, 2, st, w)); /* [8,2,2] */
    int w2 = b_weight(m, f, "w2", ty(FAB_F32, 3, 8, 5, 2));
    y = b_op(m, f, FAB_OP_MATMUL, 2, mm, w2);
    fab_op_set_int(m, &f->ops[y], "transpose_b", 1);
    b_infer(m, f, y); /* [8,2,5] */
  } else if (!strcmp(which, "fused")) {
    int x = b_input(m, f, "x", 0, ty(FAB_F32, 2, 3, 6));
    int r = b_input(m, f, "r", 1, ty(FAB_F32, 2, 3, 6));
    int ga = b_weight(m, f, "n.weight", ty(FAB_F32, 1, 6)), be = b_weight(m, f, "n.bias", ty(FAB_F32, 1, 6));
    int ln = b_op(m, f, FAB_OP_ADD_LAYERNORM, 4, x, r, ga, be);
    fab_op_set_float(m, &f->ops[ln], "eps", 1e-5);
    b_infer(m, f, ln);
    int bb = b_weight(m, f, "b", ty(FAB_F32, 1, 6));
    int bg = b_op(m, f, FAB_OP_BIAS_GELU, 2, ln, bb);
    fab_op_set_str(m, &f->ops[bg], "approx", "tanh");
    b_infer(m, f, bg);
    int c = b_op(m, f, FAB_OP_CONST, 0);
    fab_op_set_float(m, &f->ops[c], "value", 0.25);
    f->ops[c].type = ty(FAB_F32, 1, 6);
    y = b_infer(m, f, b_op(m, f, FAB_OP_ADD, 2, bg, c));
  } else {
    fprintf(stderr, "unknown case %s\n", which);
    fab_module_free(m);
    return INFINITY;
  }
  b_output(m, f, y, "y", 0);
  double e = fd_check(m, 42, vocab);
  fab_module_free(m);
  return e;
}

#ifdef HAVE_FRONTEND
/* The whole examples/tiny.fab model (FBfly + ABfly, post-LN) and its
 * pre-LN twin, scaled down with -D for speed. */
static double run_model(const char *path) {
  fab_diag *d = fab_diag_new();
  fab_define defs[] = {{"seq", 8}, {"d", 8}, {"h", 16}, {"vocab", 11}, {"classes", 3}};
  fab_frontend_options o = {.defines = defs, .ndefines = 5};
  fab_module *m = fab_frontend_compile_file(path, &o, d);
  if (!m) {
    fab_diag_print(d, stderr);
    fab_diag_free(d);
    check_failures++;
    return INFINITY;
  }
  double e = fd_check(m, 7, 11);
  fab_module_free(m);
  fab_diag_free(d);
  return e;
}
#endif

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  double e;
#ifdef HAVE_FRONTEND
  if (!strcmp(argv[1], "model") && argc > 2) e = run_model(argv[2]);
  else
#endif
    e = run_case(argv[1]);
  printf("grad %s: worst relative error %.3g\n", argv[1], e);
  if (check_failures) fprintf(stderr, "%s: %d check(s) failed\n", argv[1], check_failures);
  return check_failures ? 1 : 0;
}
