/* test_infer.c — fab_infer_op for every op in ops.def: a good case with the
 * exact result type and bad cases with the exact message. */
#include "build.h"
#include "check.h"

static fab_module *M;
static fab_func *F;

static fab_op *O(int i) { return &F->ops[i]; }
static void seti(int i, const char *k, int64_t v) { fab_op_set_int(M, O(i), k, v); }
static void setf(int i, const char *k, double v) { fab_op_set_float(M, O(i), k, v); }
static void sets(int i, const char *k, const char *v) { fab_op_set_str(M, O(i), k, v); }
static void setI(int i, const char *k, int n, const int64_t *v) { fab_op_set_ints(M, O(i), k, v, n); }

static void expect_ok(int line, int i, const char *want) {
  char err[256], buf[160];
  if (!fab_infer_op(M, F, O(i), err, sizeof err)) {
    fprintf(stderr, "line %d: unexpected error: %s\n", line, err);
    check_failures++;
    return;
  }
  fab_type_str(&O(i)->type, buf, sizeof buf);
  if (strcmp(buf, want) != 0) {
    fprintf(stderr, "line %d: type %s, want %s\n", line, buf, want);
    check_failures++;
  }
}

static void expect_err(int line, int i, const char *want) {
  char err[256];
  fab_type before = O(i)->type;
  if (fab_infer_op(M, F, O(i), err, sizeof err)) {
    fprintf(stderr, "line %d: no error, want \"%s\"\n", line, want);
    check_failures++;
    return;
  }
  if (strcmp(err, want) != 0) {
    fprintf(stderr, "line %d: error \"%s\"\n%*swant  \"%s\"\n", line, err, 8, "", want);
    check_failures++;
  }
  CHECK(fab_type_equal(&before, &O(i)->type)); /* unchanged on failure */
}
#define OK(i, w) expect_ok(__LINE__, (i), (w))
#define BAD(i, w) expect_err(__LINE__, (i), (w))

static void test_sources(void) {
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 2, 4, 8));
  OK(x, "f32[4,8]");
  int bad = b_input(M, F, "y", 1, ty(FAB_F32, 2, 4, 0));
  BAD(bad, "input: declared type has dim 1 of size 0 (must be >= 1)");
  int huge = b_input(M, F, "h", 2, ty(FAB_F32, 3, 1 << 20, 1 << 20, 1 << 20));
  BAD(huge, "input: declared type has more than 17179869184 elements");
  int noidx = fab_func_append(M, F, FAB_OP_INPUT, NULL, 0, no_loc());
  O(noidx)->type = ty(FAB_I32, 1, 3);
  sets(noidx, "name", "z");
  BAD(noidx, "input: missing attribute 'index'");
  seti(noidx, "index", -1);
  BAD(noidx, "input: index=-1 must be >= 0");
  setf(noidx, "index", 1.0);
  BAD(noidx, "input: attribute 'index' must be an integer");

  int w = b_weight(M, F, "w", ty(FAB_F32, 1, 8));
  OK(w, "f32[8]");
  O(w)->type = ty(FAB_F32, 1, 9);
  BAD(w, "weight: type f32[9] does not match parameter \"w\" of type f32[8]");
  sets(w, "name", "nope");
  BAD(w, "weight: no parameter named \"nope\"");

  int c = fab_func_append(M, F, FAB_OP_CONST, NULL, 0, no_loc());
  O(c)->type = ty(FAB_F32, 0);
  setf(c, "value", 2.5);
  OK(c, "f32[]");
  O(c)->type = ty(FAB_I32, 0);
  BAD(c, "const: const must be f32, got i32[]");

  int o = b_op(M, F, FAB_OP_OUTPUT, 1, x);
  sets(o, "name", "out");
  seti(o, "index", 0);
  OK(o, "f32[4,8]");
  int o2 = b_op(M, F, FAB_OP_OUTPUT, 1, o);
  sets(o2, "name", "o2");
  seti(o2, "index", 1);
  char want[80];
  snprintf(want, sizeof want, "output: operand 0 (%%%d) is an op without a result", o);
  BAD(o2, want);
  int o3 = b_op(M, F, FAB_OP_OUTPUT, 1, 9999);
  BAD(o3, "output: operand 0 (%9999) does not exist");
  int o4 = b_op(M, F, FAB_OP_OUTPUT, 2, x, x);
  BAD(o4, "output: expects 1 operand, got 2");
}

static void test_bfly_linear(void) {
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 2, 128, 64));
  int tw = b_weight(M, F, "l.twiddle", ty(FAB_F32, 6, 1, 1, 6, 32, 2, 2));
  int tw5 = b_weight(M, F, "l5.twiddle", ty(FAB_F32, 6, 1, 1, 5, 16, 2, 2));
  int tw2 = b_weight(M, F, "l2.twiddle", ty(FAB_F32, 6, 2, 1, 6, 32, 2, 2));
  int bias = b_weight(M, F, "l.bias", ty(FAB_F32, 1, 128));
  int y = b_op(M, F, FAB_OP_BFLY_LINEAR, 3, x, tw2, bias);
  seti(y, "in", 64); seti(y, "out", 128); seti(y, "nblocks", 1); seti(y, "increasing", 0);
  OK(y, "f32[128,128]");
  int z = b_op(M, F, FAB_OP_BFLY_LINEAR, 2, x, tw);
  seti(z, "in", 64); seti(z, "out", 40); seti(z, "nblocks", 1); seti(z, "increasing", 1);
  OK(z, "f32[128,40]");
  O(z)->operands[1] = tw5;
  BAD(z, "bfly.linear: twiddle has shape [1,1,5,16,2,2] but in=64 needs [1,1,6,32,2,2]");
  O(z)->operands[1] = tw2;
  BAD(z, "bfly.linear: twiddle has shape [2,1,6,32,2,2] but out=40 needs [1,1,6,32,2,2]");
  O(z)->operands[1] = tw;
  seti(z, "nblocks", 2);
  BAD(z, "bfly.linear: twiddle has shape [1,1,6,32,2,2] but nblocks=2 needs [1,2,6,32,2,2]");
  seti(z, "nblocks", 0);
  BAD(z, "bfly.linear: nblocks=0 must be in 1..1024");
  seti(z, "nblocks", 1);
  seti(z, "in", 60);
  BAD(z, "bfly.linear: x has shape [128,64] but in=60");
  seti(z, "in", 0);
  BAD(z, "bfly.linear: in=0 must be in 1..2^34");
  seti(z, "in", 64);
  seti(z, "increasing", 2);
  BAD(z, "bfly.linear: increasing=2 must be 0 or 1");
  seti(z, "increasing", 0);
  int b2 = b_op(M, F, FAB_OP_BFLY_LINEAR, 3, x, tw, x);
  seti(b2, "in", 64); seti(b2, "out", 64); seti(b2, "nblocks", 1); seti(b2, "increasing", 0);
  BAD(b2, "bfly.linear: bias has shape [128,64] but needs [64]");
  int b3 = b_op(M, F, FAB_OP_BFLY_LINEAR, 2, x, tw);
  seti(b3, "in", 64); seti(b3, "nblocks", 1); seti(b3, "increasing", 0);
  BAD(b3, "bfly.linear: missing attribute 'out'");
  int ids = b_input(M, F, "ids", 1, ty(FAB_I32, 1, 128));
  int b4 = b_op(M, F, FAB_OP_BFLY_LINEAR, 2, ids, tw);
  seti(b4, "in", 64); seti(b4, "out", 64); seti(b4, "nblocks", 1); seti(b4, "increasing", 0);
  BAD(b4, "bfly.linear: x must be f32, got i32[128]");
  int b5 = b_op(M, F, FAB_OP_BFLY_LINEAR, 1, x);
  BAD(b5, "bfly.linear: expects 2 to 3 operands, got 1");
}

static void test_layers(void) {
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 3, 2, 16, 64));
  int w = b_weight(M, F, "d.w", ty(FAB_F32, 2, 10, 64));
  int b = b_weight(M, F, "d.b", ty(FAB_F32, 1, 10));
  int g = b_weight(M, F, "g", ty(FAB_F32, 1, 64));
  int k = b_input(M, F, "k", 1, ty(FAB_F32, 3, 2, 32, 64));
  int c = b_input(M, F, "c", 2, ty(FAB_C64, 2, 16, 64));
  int d = b_op(M, F, FAB_OP_DENSE, 3, x, w, b);
  OK(d, "f32[2,16,10]");
  O(d)->operands[1] = g;
  BAD(d, "dense: w has shape [64] but x has 64 features (needs [out, 64])");
  O(d)->operands[1] = w;
  O(d)->operands[2] = g;
  BAD(d, "dense: b has shape [64] but needs [10]");

  int fm = b_op(M, F, FAB_OP_FOURIER_MIX, 1, x);
  OK(fm, "f32[2,16,64]");
  O(fm)->operands[0] = g;
  BAD(fm, "fourier.mix: x must be [.., s, d], got f32[64]");

  int mha = b_op(M, F, FAB_OP_MHA, 3, x, k, k);
  seti(mha, "heads", 4);
  OK(mha, "f32[2,16,64]");
  seti(mha, "heads", 3);
  BAD(mha, "mha: d=64 is not divisible by heads=3");
  seti(mha, "heads", 0);
  BAD(mha, "mha: heads=0 must be >= 1");
  seti(mha, "heads", 4);
  O(mha)->operands[2] = x;
  BAD(mha, "mha: k is f32[2,32,64] but v is f32[2,16,64]");

  int ln = b_op(M, F, FAB_OP_LAYERNORM, 3, x, g, g);
  setf(ln, "eps", 1e-5);
  OK(ln, "f32[2,16,64]");
  setf(ln, "eps", -1);
  BAD(ln, "layernorm: eps=-1 must be >= 0");
  setf(ln, "eps", 1e-5);
  O(ln)->operands[2] = b;
  BAD(ln, "layernorm: beta has shape [10] but needs [64]");
  int aln = b_op(M, F, FAB_OP_ADD_LAYERNORM, 4, x, x, g, g);
  setf(aln, "eps", 1e-5);
  OK(aln, "f32[2,16,64]");
  O(aln)->operands[1] = k;
  BAD(aln, "add.layernorm: x is f32[2,16,64] but r is f32[2,32,64]");

  int ge = b_op(M, F, FAB_OP_GELU, 1, x);
  sets(ge, "approx", "tanh");
  OK(ge, "f32[2,16,64]");
  sets(ge, "approx", "fast");
  BAD(ge, "gelu: approx=\"fast\" must be \"erf\" or \"tanh\"");
  int bg = b_op(M, F, FAB_OP_BIAS_GELU, 2, x, g);
  sets(bg, "approx", "erf");
  OK(bg, "f32[2,16,64]");
  O(bg)->operands[1] = b;
  BAD(bg, "bias.gelu: b has shape [10] but needs [64]");
  int re = b_op(M, F, FAB_OP_RELU, 1, c);
  BAD(re, "relu: x must be f32, got c64[16,64]");
  O(re)->operands[0] = x;
  OK(re, "f32[2,16,64]");
  int sm = b_op(M, F, FAB_OP_SOFTMAX, 1, x);
  OK(sm, "f32[2,16,64]");
  setf(sm, "scale", 1.0 / 0.0);
  BAD(sm, "softmax: scale=inf must be finite");
  seti(sm, "scale", 2);
  BAD(sm, "softmax: attribute 'scale' must be a float");

  int ad = b_op(M, F, FAB_OP_ADD, 2, x, g);
  OK(ad, "f32[2,16,64]");
  int mu = b_op(M, F, FAB_OP_MUL, 2, x, k);
  BAD(mu, "mul: b has shape [2,32,64], which is not a suffix of a's shape [2,16,64]");
  O(mu)->operands[1] = c;
  BAD(mu, "mul: a is f32[2,16,64] but b is c64[16,64] (dtypes differ)");

  int ids = b_input(M, F, "ids", 3, ty(FAB_I32, 2, 2, 16));
  int tab = b_weight(M, F, "emb", ty(FAB_F32, 2, 100, 64));
  int em = b_op(M, F, FAB_OP_EMBED, 2, ids, tab);
  OK(em, "f32[2,16,64]");
  O(em)->operands[0] = x;
  BAD(em, "embed: ids must be i32, got f32[2,16,64]");
  O(em)->operands[0] = ids;
  O(em)->operands[1] = g;
  BAD(em, "embed: table has shape [64] but needs [V, d]");

  int mp = b_op(M, F, FAB_OP_MEANPOOL, 1, x);
  OK(mp, "f32[2,64]");
  int tk = b_op(M, F, FAB_OP_TAKE, 1, x);
  seti(tk, "index", 0);
  OK(tk, "f32[2,64]");
  seti(tk, "index", 16);
  BAD(tk, "take: index=16 out of range for an axis of size 16");
}

static void test_data_movement(void) {
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 3, 2, 5, 6));
  int pd = b_op(M, F, FAB_OP_PAD, 1, x);
  seti(pd, "axis", -2); seti(pd, "size", 8);
  OK(pd, "f32[2,8,6]");
  seti(pd, "size", 4);
  BAD(pd, "pad: size=4 is smaller than axis 1 of size 5");
  seti(pd, "axis", 3);
  BAD(pd, "pad: axis 3 out of range for rank 3");
  seti(pd, "axis", -4);
  BAD(pd, "pad: axis -4 out of range for rank 3");

  int sl = b_op(M, F, FAB_OP_SLICE, 1, x);
  seti(sl, "axis", 2); seti(sl, "start", 1); seti(sl, "size", 5);
  OK(sl, "f32[2,5,5]");
  seti(sl, "size", 6);
  BAD(sl, "slice: start=1 size=6 out of range for axis 2 of size 6");
  seti(sl, "start", INT64_MAX);
  seti(sl, "size", 1);
  BAD(sl, "slice: start=9223372036854775807 size=1 out of range for axis 2 of size 6");

  int rs = b_op(M, F, FAB_OP_RESHAPE, 1, x);
  int64_t sh[] = {10, 6}, sh2[] = {10, 7}, sh3[] = {0, 60}, sh4[] = {1 << 30, 1 << 30, 1 << 30};
  setI(rs, "shape", 2, sh);
  OK(rs, "f32[10,6]");
  setI(rs, "shape", 2, sh2);
  BAD(rs, "reshape: shape [10,7] does not have the 60 elements of [2,5,6]");
  setI(rs, "shape", 2, sh3);
  BAD(rs, "reshape: shape dim 0 is 0 (must be >= 1)");
  setI(rs, "shape", 3, sh4);
  BAD(rs, "reshape: shape [1073741824,1073741824,1073741824] does not have the 60 elements of [2,5,6]");

  int tp = b_op(M, F, FAB_OP_TRANSPOSE, 1, x);
  int64_t p[] = {2, 0, 1}, p2[] = {0, 0, 1};
  setI(tp, "perm", 3, p);
  OK(tp, "f32[6,2,5]");
  setI(tp, "perm", 3, p2);
  BAD(tp, "transpose: perm is not a permutation of 0..2 (entry 1 is 0)");
  setI(tp, "perm", 2, p);
  BAD(tp, "transpose: perm has 2 entries but x has rank 3");

  int st = b_op(M, F, FAB_OP_STACK, 1, x);
  seti(st, "count", 3);
  OK(st, "f32[2,5,3,6]");
  seti(st, "count", 0);
  BAD(st, "stack: count=0 must be >= 1");
  int sc = b_op(M, F, FAB_OP_SCALE, 1, x);
  setf(sc, "factor", 0.5);
  OK(sc, "f32[2,5,6]");
  int sc2 = b_op(M, F, FAB_OP_SCALE, 1, x);
  BAD(sc2, "scale: missing attribute 'factor'");
}

static void test_butterfly_fft(void) {
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 3, 128, 2, 64));
  int tw = b_weight(M, F, "tw", ty(FAB_F32, 6, 2, 2, 6, 32, 2, 2));
  int bs = b_op(M, F, FAB_OP_BFLY_STAGES, 2, x, tw);
  int64_t st[] = {0, 0, 5, 1, 5, 0}, bad_b[] = {2, 0, 0}, bad_k[] = {0, 6, 0}, bad_l[] = {0, 0, 6};
  setI(bs, "stages", 6, st);
  OK(bs, "f32[128,2,64]");
  setI(bs, "stages", 3, bad_b);
  BAD(bs, "bfly.stages: triple 0: block 2 out of range (nblocks=2)");
  setI(bs, "stages", 3, bad_k);
  BAD(bs, "bfly.stages: triple 0: stage 6 out of range (log2 n=6)");
  setI(bs, "stages", 3, bad_l);
  BAD(bs, "bfly.stages: triple 0: log2 stride 6 out of range (log2 n=6)");
  setI(bs, "stages", 2, st);
  BAD(bs, "bfly.stages: stages has 2 entries (needs a non-empty list of (block, stage, log2 stride) triples)");
  int x3 = b_input(M, F, "x3", 1, ty(FAB_F32, 2, 1, 48));
  int bs2 = b_op(M, F, FAB_OP_BFLY_STAGES, 2, x3, tw);
  setI(bs2, "stages", 3, st);
  BAD(bs2, "bfly.stages: x has row length 48, not a power of two >= 2");
  int x4 = b_input(M, F, "x4", 2, ty(FAB_F32, 2, 1, 64));
  int bs3 = b_op(M, F, FAB_OP_BFLY_STAGES, 2, x4, tw);
  setI(bs3, "stages", 3, st);
  BAD(bs3, "bfly.stages: twiddle has shape [2,2,6,32,2,2] but x [.., 1, 64] needs [1, nblocks, 6, 32, 2, 2]");

  int cx = b_op(M, F, FAB_OP_COMPLEX, 1, x);
  OK(cx, "c64[128,2,64]");
  int bad_cx = b_op(M, F, FAB_OP_COMPLEX, 1, cx);
  BAD(bad_cx, "complex: x must be f32, got c64[128,2,64]");
  int rl = b_op(M, F, FAB_OP_REAL, 1, cx);
  OK(rl, "f32[128,2,64]");
  int bad_rl = b_op(M, F, FAB_OP_REAL, 1, x);
  BAD(bad_rl, "real: x must be c64, got f32[128,2,64]");
  int br = b_op(M, F, FAB_OP_BITREV, 1, cx);
  seti(br, "axis", -1);
  OK(br, "c64[128,2,64]");
  int c3 = b_input(M, F, "c3", 3, ty(FAB_C64, 2, 3, 12));
  int br2 = b_op(M, F, FAB_OP_BITREV, 1, c3);
  seti(br2, "axis", 1);
  BAD(br2, "bitrev: axis 1 has size 12, not a power of two (digit reversal needs radices)");
  int64_t r12[] = {2, 2, 3}, r12bad[] = {2, 3}, r1[] = {1};
  setI(br2, "radices", 3, r12);
  OK(br2, "c64[3,12]");
  setI(br2, "radices", 2, r12bad);
  BAD(br2, "bitrev: radices multiply to 6, but axis 1 has size 12");
  setI(br2, "radices", 1, r1);
  BAD(br2, "bitrev: radices[0] = 1 out of range 2..4096");

  int ff = b_op(M, F, FAB_OP_FFT_STAGES, 1, cx);
  int64_t fs[] = {1, 2, 3, 4, 5, 6}, fbad[] = {7};
  seti(ff, "axis", 2);
  setI(ff, "stages", 6, fs);
  OK(ff, "c64[128,2,64]");
  seti(ff, "real_out", 1);
  OK(ff, "f32[128,2,64]");
  setI(ff, "stages", 1, fbad);
  BAD(ff, "fft.stages: stage 7 out of range: 2^stage must divide 64 (axis 2 of size 64)");
  setI(ff, "stages", 6, fs);
  seti(ff, "axis", 1);
  BAD(ff, "fft.stages: stage 2 out of range: 2^stage must divide 2 (axis 1 of size 2)");
  seti(ff, "axis", 0);
  OK(ff, "f32[128,2,64]");
  int ff2 = b_op(M, F, FAB_OP_FFT_STAGES, 1, x);
  seti(ff2, "axis", 0);
  setI(ff2, "stages", 1, fs);
  BAD(ff2, "fft.stages: x must be c64, got f32[128,2,64]");
  int ff3 = b_op(M, F, FAB_OP_FFT_STAGES, 1, c3);
  seti(ff3, "axis", 1);
  setI(ff3, "stages", 3, fs);
  BAD(ff3, "fft.stages: stage 3 out of range: 2^stage must divide 12 (axis 1 of size 12)");
  setI(ff3, "stages", 2, fs); /* groups of 4 */
  OK(ff3, "c64[3,12]");
  int64_t q3[] = {3}, q5[] = {5};
  setI(ff3, "radix", 1, q3);
  OK(ff3, "c64[3,12]");
  setI(ff3, "stages", 3, fs);
  BAD(ff3, "fft.stages: stage 3 out of range: 2^stage must divide 4 (axis 1 of size 12 over the radix stages)");
  setI(ff3, "radix", 1, q5);
  BAD(ff3, "fft.stages: radix stages multiply to 5, which does not divide axis 1 of size 12");
  setI(ff3, "stages", 0, fs);
  fab_op_remove_attr(O(ff3), "radix");
  BAD(ff3, "fft.stages: stages is empty");

  int df = b_op(M, F, FAB_OP_DFT, 1, c3);
  seti(df, "axis", 1);
  OK(df, "c64[3,12]");
  int df2 = b_op(M, F, FAB_OP_DFT, 1, x);
  seti(df2, "axis", 1);
  BAD(df2, "dft: x must be c64, got f32[128,2,64]");

  int ch = b_op(M, F, FAB_OP_FFT_CHIRP, 1, c3);
  seti(ch, "axis", 1);
  BAD(ch, "fft.chirp: missing attribute 'n'");
  /* each attribute change in turn, on [3, 12] along its 12 */
  static const struct {
    const char *key;
    int64_t v;
    const char *want; /* NULL: c64[3,12] */
  } chirp[] = {{"n", 12, NULL},
               {"n", 0, "fft.chirp: n=0 out of range 1..16777216"},
               {"n", 5, NULL},
               {"spectrum", 2, "fft.chirp: spectrum=2 must be 0 or 1"},
               {"spectrum", 1, "fft.chirp: spectrum = 1 needs axis 1 to be a power of two >= 2n - 1 = 9, got 12"}};
  for (size_t i = 0; i < sizeof chirp / sizeof chirp[0]; i++) {
    seti(ch, chirp[i].key, chirp[i].v);
    if (chirp[i].want) BAD(ch, chirp[i].want);
    else OK(ch, "c64[3,12]");
  }
  int ch2 = b_op(M, F, FAB_OP_FFT_CHIRP, 1, x);
  seti(ch2, "axis", 2);
  seti(ch2, "n", 33);
  BAD(ch2, "fft.chirp: x must be c64, got f32[128,2,64]");
}

static void test_attention(void) {
  int a = b_input(M, F, "a", 0, ty(FAB_F32, 3, 4, 16, 8));
  int b = b_input(M, F, "b", 1, ty(FAB_F32, 3, 4, 8, 32));
  int bt = b_input(M, F, "bt", 2, ty(FAB_F32, 3, 4, 32, 8));
  int b5 = b_input(M, F, "b5", 3, ty(FAB_F32, 3, 5, 8, 32));
  int mm = b_op(M, F, FAB_OP_MATMUL, 2, a, b);
  OK(mm, "f32[4,16,32]");
  int mt = b_op(M, F, FAB_OP_MATMUL, 2, a, bt);
  seti(mt, "transpose_b", 1);
  OK(mt, "f32[4,16,32]");
  seti(mt, "transpose_b", 0);
  BAD(mt, "matmul: a is [4,16,8] but b is [4,32,8] (inner sizes 8 and 32 differ)");
  int m5 = b_op(M, F, FAB_OP_MATMUL, 2, a, b5);
  BAD(m5, "matmul: leading axes differ: a is [4,16,8], b is [5,8,32]");

  int at = b_op(M, F, FAB_OP_ATTENTION, 3, a, bt, bt);
  setf(at, "scale", 0.125);
  seti(at, "block", 16);
  OK(at, "f32[4,16,8]");
  seti(at, "block", 0);
  BAD(at, "attention: block=0 must be >= 1");
  seti(at, "block", 16);
  O(at)->operands[1] = b;
  O(at)->operands[2] = b;
  BAD(at, "attention: q has shape [4,16,8] but k, v have shape [4,8,32] (needs the same leading axes and d)");
}

/* Masks (i32 flags, one per token) and causal on mha, attention, softmax
 * and meanpool: every rule and message. */
static void test_masks(void) {
  int x = b_input(M, F, "mx", 20, ty(FAB_F32, 3, 2, 16, 64));
  int k = b_input(M, F, "mk", 21, ty(FAB_F32, 3, 2, 12, 64));
  int m16 = b_input(M, F, "m16", 22, ty(FAB_I32, 2, 2, 16));
  int m12 = b_input(M, F, "m12", 23, ty(FAB_I32, 2, 2, 12));
  int f16 = b_input(M, F, "f16", 24, ty(FAB_F32, 2, 2, 16));
  int t16 = b_input(M, F, "t16", 25, ty(FAB_I32, 1, 16));
  int mha = b_op(M, F, FAB_OP_MHA, 4, x, x, x, m16);
  seti(mha, "heads", 4);
  OK(mha, "f32[2,16,64]");
  seti(mha, "causal", 1);
  OK(mha, "f32[2,16,64]");
  seti(mha, "causal", 2);
  BAD(mha, "mha: causal=2 must be 0 or 1");
  seti(mha, "causal", 0);
  O(mha)->operands[3] = f16;
  BAD(mha, "mha: mask must be i32, got f32[2,16]");
  O(mha)->operands[3] = t16; /* mha wants q's leading axes exactly */
  BAD(mha, "mha: mask has shape [16] but needs [2,16] (one flag per token)");
  int mk = b_op(M, F, FAB_OP_MHA, 4, x, k, k, m12);
  seti(mk, "heads", 4);
  OK(mk, "f32[2,16,64]");
  O(mk)->operands[3] = m16;
  BAD(mk, "mha: mask has shape [2,16] but needs [2,12] (one flag per token)");
  O(mk)->operands[3] = m12;
  seti(mk, "causal", 1);
  BAD(mk, "mha: causal=1 needs as many queries as keys (got 16 and 12)");

  int q4 = b_input(M, F, "q4", 26, ty(FAB_F32, 4, 2, 4, 16, 16));
  int at = b_op(M, F, FAB_OP_ATTENTION, 4, q4, q4, q4, m16);
  setf(at, "scale", 0.25);
  seti(at, "block", 8);
  seti(at, "causal", 1);
  OK(at, "f32[2,4,16,16]");
  O(at)->operands[3] = m12;
  BAD(at, "attention: mask has shape [2,12] but needs [p.., 16] with p.. a prefix of the leading axes [2,4]");

  int sc = b_input(M, F, "sc", 27, ty(FAB_F32, 4, 2, 4, 16, 16));
  int sm = b_op(M, F, FAB_OP_SOFTMAX, 2, sc, m16);
  OK(sm, "f32[2,4,16,16]");
  O(sm)->operands[1] = t16;
  seti(sm, "causal", 1);
  OK(sm, "f32[2,4,16,16]");
  int sr = b_op(M, F, FAB_OP_SOFTMAX, 1, k);
  seti(sr, "causal", 1);
  BAD(sr, "softmax: causal=1 needs as many queries as keys (got 12 and 64)");
  int s1 = b_op(M, F, FAB_OP_SOFTMAX, 1, t16);
  seti(s1, "causal", 1);
  BAD(s1, "softmax: x must be f32, got i32[16]");

  int mp = b_op(M, F, FAB_OP_MEANPOOL, 2, x, m16);
  OK(mp, "f32[2,64]");
  O(mp)->operands[1] = m12;
  BAD(mp, "meanpool: mask has shape [2,12] but needs [2,16] (one flag per token)");
}

int main(void) {
  M = fab_module_new("t");
  F = fab_module_add_func(M, "main");
  test_sources();
  test_bfly_linear();
  test_layers();
  test_data_movement();
  test_butterfly_fft();
  test_attention();
  test_masks();
  fab_module_free(M);
  return check_report("ir.infer");
}
