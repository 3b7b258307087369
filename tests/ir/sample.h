/* sample.h — a hand-built module that uses every op in ops.def (plus
 * annotations, odd names, special floats), for the round-trip and fuzz
 * tests.  sample_module() returns NULL and prints why if any op fails to
 * infer, so a broken type rule shows up here too. */
#ifndef FAB_TESTS_IR_SAMPLE_H
#define FAB_TESTS_IR_SAMPLE_H

#include <math.h>

#include "build.h"

static fab_module *S_M;
static fab_func *S_F;
static bool S_ok;

static int s_weight(const char *name, fab_type t, fab_init init) {
  fab_module_add_param(S_M, name, t, init, no_loc(), NULL);
  int i = fab_func_append(S_M, S_F, FAB_OP_WEIGHT, NULL, 0, no_loc());
  fab_op_set_str(S_M, &S_F->ops[i], "name", name);
  S_F->ops[i].type = t;
  return i;
}

/* Infers the last op; records failure. */
static int s_done(int i) {
  char err[256];
  if (!fab_infer_op(S_M, S_F, &S_F->ops[i], err, sizeof err)) {
    fprintf(stderr, "sample: op %d: %s\n", i, err);
    S_ok = false;
  }
  return i;
}

#define SI(i, k, v) fab_op_set_int(S_M, &S_F->ops[i], k, v)
#define SF(i, k, v) fab_op_set_float(S_M, &S_F->ops[i], k, v)
#define SS(i, k, v) fab_op_set_str(S_M, &S_F->ops[i], k, v)
#define SL(i, k, ...)                                                          \
  do {                                                                         \
    int64_t v_[] = {__VA_ARGS__};                                              \
    fab_op_set_ints(S_M, &S_F->ops[i], k, v_, (int)(sizeof v_ / sizeof v_[0])); \
  } while (0)
#define OP(code, n, ...) b_op(S_M, S_F, code, n, __VA_ARGS__)

static fab_module *sample_module(void) {
  S_M = fab_module_new("small_fabnet");
  S_F = fab_module_add_func(S_M, "main");
  S_ok = true;
  fab_init zeros = {FAB_INIT_ZEROS, 0, 0}, ones = {FAB_INIT_ONES, 0, 0};
  int tokens = b_input(S_M, S_F, "tokens", 0, ty(FAB_I32, 1, 16));
  int emb = s_weight("embed.weight", ty(FAB_F32, 2, 50, 64), (fab_init){FAB_INIT_NORMAL, 0, 1});
  int x = s_done(OP(FAB_OP_EMBED, 2, tokens, emb));
  int tw = s_weight("layers.0.ffn.fc1.twiddle", ty(FAB_F32, 6, 2, 1, 6, 32, 2, 2),
                    (fab_init){FAB_INIT_NORMAL, 0, 0.70710678118654757});
  int bias = s_weight("layers.0.ffn.fc1.bias", ty(FAB_F32, 1, 128),
                      (fab_init){FAB_INIT_UNIFORM, -0.125, 0.125});
  int h = OP(FAB_OP_BFLY_LINEAR, 3, x, tw, bias);
  SI(h, "in", 64); SI(h, "out", 128); SI(h, "nblocks", 1); SI(h, "increasing", 0);
  s_done(h);
  int dw = s_weight("fc2.weight", ty(FAB_F32, 2, 64, 128), (fab_init){FAB_INIT_UNIFORM, -1e-3, 1e-3});
  int db = s_weight("fc2.bias", ty(FAB_F32, 1, 64), zeros);
  int y = s_done(OP(FAB_OP_DENSE, 3, h, dw, db));
  int fm = s_done(OP(FAB_OP_FOURIER_MIX, 1, y));
  int mha = OP(FAB_OP_MHA, 3, fm, fm, fm);
  SI(mha, "heads", 4);
  s_done(mha);
  int g = s_weight("norm.weight", ty(FAB_F32, 1, 64), ones);
  int bt = s_weight("norm.bias", ty(FAB_F32, 1, 64), zeros);
  int ln = OP(FAB_OP_LAYERNORM, 3, mha, g, bt);
  SF(ln, "eps", 1e-5);
  SI(ln, "plan.offset", 4096);
  SL(ln, "hint.tile", 4, 16);
  s_done(ln);
  int ge = OP(FAB_OP_GELU, 1, ln);
  SS(ge, "approx", "erf");
  s_done(ge);
  int re = s_done(OP(FAB_OP_RELU, 1, ge));
  int sm = OP(FAB_OP_SOFTMAX, 1, re);
  SF(sm, "scale", 0.125);
  s_done(sm);
  int sm2 = s_done(OP(FAB_OP_SOFTMAX, 1, sm));
  int ad = s_done(OP(FAB_OP_ADD, 2, sm2, g));
  int mu = s_done(OP(FAB_OP_MUL, 2, ad, ad));
  int mp = s_done(OP(FAB_OP_MEANPOOL, 1, mu));
  int tk = OP(FAB_OP_TAKE, 1, mu);
  SI(tk, "index", 0);
  s_done(tk);
  int pd = OP(FAB_OP_PAD, 1, mu);
  SI(pd, "axis", -1); SI(pd, "size", 80);
  s_done(pd);
  int sl = OP(FAB_OP_SLICE, 1, pd);
  SI(sl, "axis", 1); SI(sl, "start", 0); SI(sl, "size", 64);
  s_done(sl);
  int rs = OP(FAB_OP_RESHAPE, 1, sl);
  SL(rs, "shape", 4, 4, 64);
  s_done(rs);
  int tp = OP(FAB_OP_TRANSPOSE, 1, rs);
  SL(tp, "perm", 1, 0, 2);
  s_done(tp);
  int st = OP(FAB_OP_STACK, 1, sl);
  SI(st, "count", 2);
  s_done(st);
  int sc = OP(FAB_OP_SCALE, 1, st);
  SF(sc, "factor", 2.0);
  s_done(sc);
  int bs = OP(FAB_OP_BFLY_STAGES, 2, sc, tw);
  SL(bs, "stages", 0, 0, 5, 0, 1, 4);
  s_done(bs);
  int cx = s_done(OP(FAB_OP_COMPLEX, 1, sl));
  int br = OP(FAB_OP_BITREV, 1, cx);
  SI(br, "axis", 1);
  s_done(br);
  int ff = OP(FAB_OP_FFT_STAGES, 1, br);
  SI(ff, "axis", 1);
  SL(ff, "stages", 1, 2, 3, 4, 5, 6);
  s_done(ff);
  int ff2 = OP(FAB_OP_FFT_STAGES, 1, ff);
  SI(ff2, "axis", 0); SI(ff2, "real_out", 1);
  SL(ff2, "stages", 1, 2, 3, 4);
  s_done(ff2);
  int df = OP(FAB_OP_DFT, 1, ff);
  SI(df, "axis", 0);
  s_done(df);
  int ch = OP(FAB_OP_FFT_CHIRP, 1, ff);
  SI(ch, "axis", 1); SI(ch, "n", 20); SI(ch, "spectrum", 1);
  s_done(ch);
  int rl = s_done(OP(FAB_OP_REAL, 1, df));
  int mm = OP(FAB_OP_MATMUL, 2, rl, ff2);
  SI(mm, "transpose_b", 1);
  s_done(mm);
  int at = OP(FAB_OP_ATTENTION, 3, tp, rs, rs);
  SF(at, "scale", 0.125); SI(at, "block", 2);
  s_done(at);
  int bg = OP(FAB_OP_BIAS_GELU, 2, rl, g);
  SS(bg, "approx", "tanh");
  s_done(bg);
  int al = OP(FAB_OP_ADD_LAYERNORM, 4, bg, rl, g, bt);
  SF(al, "eps", 1.0000000000000001e-05);
  s_done(al);
  int c1 = fab_func_append(S_M, S_F, FAB_OP_CONST, NULL, 0, no_loc());
  S_F->ops[c1].type = ty(FAB_F32, 1, 64);
  SF(c1, "value", -0.0);
  s_done(c1);
  int c2 = fab_func_append(S_M, S_F, FAB_OP_CONST, NULL, 0, no_loc());
  S_F->ops[c2].type = ty(FAB_F32, 0);
  SF(c2, "value", 1e300);
  SF(c2, "plan.special", NAN);
  SF(c2, "plan.big", -INFINITY);
  SF(c2, "plan.tiny", 5e-324);
  SS(c2, "hint.note", "a \"quoted\"\\ line\n\twith \x01 bytes \xc3\xa9");
  fab_op_set_ints(S_M, &S_F->ops[c2], "hint.empty", NULL, 0);
  s_done(c2);
  b_output(S_M, S_F, al, "out", 0);
  s_done(S_F->nops - 1);
  b_output(S_M, S_F, mp, "pooled", 1);
  s_done(S_F->nops - 1);
  b_output(S_M, S_F, mm, "scores", 2);
  s_done(S_F->nops - 1);
  (void)tk; (void)at; (void)c1; (void)c2;

  /* A second function with a name that must be quoted. */
  S_F = fab_module_add_func(S_M, "aux fn");
  int a = b_input(S_M, S_F, "a b", 0, ty(FAB_F32, 0));
  int c = OP(FAB_OP_SCALE, 1, a);
  fab_op_set_float(S_M, &S_F->ops[c], "factor", 3.0);
  s_done(c);
  b_output(S_M, S_F, c, "r", 0);
  s_done(S_F->nops - 1);
  if (!S_ok) {
    fab_module_free(S_M);
    return NULL;
  }
  return S_M;
}

#endif
