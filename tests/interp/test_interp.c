/* test_interp.c — unit tests of the reference interpreter and binding.
 *
 * Usage: test_interp <name>; each name is one ctest `interp.<name>`.
 * Modules are built by hand with the builder API, so these tests do not
 * depend on the parser.  The central checks are equivalences between the
 * high-level ops and their lowered forms (bfly.linear vs pad/stack/
 * bfly.stages/reshape/slice/add, fourier.mix vs bitrev/fft.stages/dft,
 * mha vs attention vs matmul/softmax).
 */
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                              \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
      failures++;                                                             \
    }                                                                         \
  } while (0)

static const fab_loc NOLOC = {0};

/* ---- building helpers ------------------------------------------------------ */

typedef struct {
  fab_module *m;
  fab_func *f;
  int ninputs, noutputs;
} bld;

static bld bnew(void) {
  bld b = {.m = fab_module_new("t")};
  b.f = fab_module_add_func(b.m, "main");
  return b;
}

static fab_type ty(fab_dtype dt, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  int64_t d[4] = {d0, d1, d2, d3};
  return fab_type_make(dt, rank, d);
}

static int input(bld *b, const char *name, fab_type t) {
  int i = fab_func_append(b->m, b->f, FAB_OP_INPUT, NULL, 0, NOLOC);
  fab_op_set_str(b->m, &b->f->ops[i], "name", name);
  fab_op_set_int(b->m, &b->f->ops[i], "index", b->ninputs++);
  b->f->ops[i].type = t;
  return i;
}

static int weight(bld *b, const char *name, fab_type t, fab_init init) {
  FAB_ASSERT(fab_module_add_param(b->m, name, t, init, NOLOC, NULL) >= 0);
  int i = fab_func_append(b->m, b->f, FAB_OP_WEIGHT, NULL, 0, NOLOC);
  fab_op_set_str(b->m, &b->f->ops[i], "name", name);
  b->f->ops[i].type = t;
  return i;
}

static int op(bld *b, fab_opcode code, int n, int a0, int a1, int a2, int a3) {
  int ops[4] = {a0, a1, a2, a3};
  return fab_func_append(b->m, b->f, code, ops, n, NOLOC);
}

static fab_op *at(bld *b, int i) { return &b->f->ops[i]; }
static void seti(bld *b, int i, const char *k, int64_t v) { fab_op_set_int(b->m, at(b, i), k, v); }
static void setf(bld *b, int i, const char *k, double v) { fab_op_set_float(b->m, at(b, i), k, v); }
static void sets(bld *b, int i, const char *k, const char *v) { fab_op_set_str(b->m, at(b, i), k, v); }
static void setI(bld *b, int i, const char *k, const int64_t *v, int n) { fab_op_set_ints(b->m, at(b, i), k, v, n); }

static void output(bld *b, int v, const char *name) {
  int i = op(b, FAB_OP_OUTPUT, 1, v, 0, 0, 0);
  sets(b, i, "name", name);
  seti(b, i, "index", b->noutputs++);
}

static const fab_init NORMAL1 = {FAB_INIT_NORMAL, 0, 0.7};

/* Runs b with seeded weights and inputs; returns outputs (NULL on error,
 * with the diagnostics printed). */
static fab_tensor_set *run(bld *b, uint64_t seed, fab_diag *d) {
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *out = fab_tset_new();
  bool ok = fab_bind_init_weights(b->m, seed, w, d) && fab_bind_init_inputs(b->m, seed + 1, in, d) &&
            fab_bind_check_weights(b->m, w, false, d) && fab_bind_check_inputs(b->m, in, d) &&
            fab_interp_run(b->m, w, in, out, d);
  fab_tset_free(w);
  fab_tset_free(in);
  if (!ok) {
    fab_tset_free(out);
    return NULL;
  }
  return out;
}

/* max |a - b| / max(|b|, 1e-3) over two equally shaped f32 tensors. */
static double relerr(const fab_tensor *a, const fab_tensor *b) {
  if (!a || !b || fab_tensor_numel(a) != fab_tensor_numel(b)) return INFINITY;
  const float *x = a->data, *y = b->data;
  double e = 0;
  for (int64_t i = 0; i < fab_tensor_numel(a); i++) {
    double den = fabs(y[i]) > 1e-3 ? fabs(y[i]) : 1e-3;
    e = fmax(e, fabs((double)x[i] - y[i]) / den);
  }
  return e;
}

/* Runs b and compares output "a" with output "b". */
static void expect_same(bld *b, double tol, const char *what) {
  fab_diag *d = fab_diag_new();
  fab_tensor_set *o = run(b, 42, d);
  fab_diag_print(d, stderr);
  CHECK(o != NULL);
  if (o) {
    double e = relerr(fab_tset_find(o, "a"), fab_tset_find(o, "b"));
    printf("%s: max rel err %.3g\n", what, e);
    CHECK(e <= tol);
  }
  fab_tset_free(o);
  fab_diag_free(d);
  fab_module_free(b->m);
}

/* ---- tests ------------------------------------------------------------------- */

static void t_dispatch(void) {
  for (int i = 0; i < FAB_OP_COUNT; i++)
    if (!fab_interp_supports(i)) {
      fprintf(stderr, "op '%s' has no interpreter entry\n", fab_opinfos[i].name);
      failures++;
    }
  CHECK(!fab_interp_supports(FAB_OP_COUNT));
}

/* bfly.linear == pad + stack + bfly.stages (all stages) + reshape + slice + add. */
static void bfly_equiv(int64_t in, int64_t outn, int inc, int nblocks, bool bias) {
  bld b = bnew();
  int L = 0;
  while ((1 << L) < in) L++;
  int64_t n = (int64_t)1 << L, S = (outn + n - 1) / n, rows = 3;
  int64_t twd[6] = {S, nblocks, L, n / 2, 2, 2};
  int x = input(&b, "x", ty(FAB_F32, 2, rows, in, 0, 0));
  int tw = weight(&b, "fc.twiddle", fab_type_make(FAB_F32, 6, twd), NORMAL1);
  int bi = bias ? weight(&b, "fc.bias", ty(FAB_F32, 1, outn, 0, 0, 0), NORMAL1) : -1;
  int y = op(&b, FAB_OP_BFLY_LINEAR, bias ? 3 : 2, x, tw, bi, 0);
  seti(&b, y, "in", in);
  seti(&b, y, "out", outn);
  seti(&b, y, "increasing", inc);
  seti(&b, y, "nblocks", nblocks);
  output(&b, y, "a");
  int p = op(&b, FAB_OP_PAD, 1, x, 0, 0, 0);
  seti(&b, p, "axis", -1);
  seti(&b, p, "size", n);
  int s = op(&b, FAB_OP_STACK, 1, p, 0, 0, 0);
  seti(&b, s, "count", S);
  int64_t st[3 * 64];
  int ns = 0;
  for (int blk = 0; blk < nblocks; blk++) {
    bool incr = (inc != 0) ^ (blk % 2 == 1);
    for (int k = 0; k < L; k++) {
      st[ns++] = blk;
      st[ns++] = k;
      st[ns++] = incr ? k : L - 1 - k;
    }
  }
  int g = op(&b, FAB_OP_BFLY_STAGES, 2, s, tw, 0, 0);
  setI(&b, g, "stages", st, ns);
  int r = op(&b, FAB_OP_RESHAPE, 1, g, 0, 0, 0);
  int64_t shape[2] = {rows, S * n};
  setI(&b, r, "shape", shape, 2);
  int sl = op(&b, FAB_OP_SLICE, 1, r, 0, 0, 0);
  seti(&b, sl, "axis", 1);
  seti(&b, sl, "start", 0);
  seti(&b, sl, "size", outn);
  int res = bias ? op(&b, FAB_OP_ADD, 2, sl, bi, 0, 0) : sl;
  output(&b, res, "b");
  char what[96];
  snprintf(what, sizeof what, "bfly %lld->%lld inc %d nblocks %d bias %d", (long long)in, (long long)outn,
           inc, nblocks, bias);
  expect_same(&b, 1e-6, what);
}

static void t_bfly_equiv(void) {
  bfly_equiv(20, 37, 0, 1, true);
  bfly_equiv(20, 37, 1, 2, true);
  bfly_equiv(64, 200, 0, 2, true);
  bfly_equiv(128, 48, 1, 1, false);
  bfly_equiv(100, 100, 0, 3, true);
}

/* A 2x2 butterfly by hand: y = T x with T the twiddle, plus bias. */
static void t_bfly_hand(void) {
  bld b = bnew();
  int64_t twd[6] = {1, 1, 1, 1, 2, 2};
  int x = input(&b, "x", ty(FAB_F32, 1, 2, 0, 0, 0));
  int tw = weight(&b, "t", fab_type_make(FAB_F32, 6, twd), NORMAL1);
  int bi = weight(&b, "b", ty(FAB_F32, 1, 2, 0, 0, 0), NORMAL1);
  int y = op(&b, FAB_OP_BFLY_LINEAR, 3, x, tw, bi, 0);
  seti(&b, y, "in", 2);
  seti(&b, y, "out", 2);
  seti(&b, y, "increasing", 0);
  seti(&b, y, "nblocks", 1);
  output(&b, y, "y");
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *out = fab_tset_new();
  fab_diag *d = fab_diag_new();
  int64_t two = 2;
  float *T = fab_tset_add(w, "t", FAB_DT_F32, 6, twd)->data;
  T[0] = 1, T[1] = 2, T[2] = 3, T[3] = 4;
  float *B = fab_tset_add(w, "b", FAB_DT_F32, 1, &two)->data;
  B[0] = 0.5f, B[1] = -1;
  float *X = fab_tset_add(in, "x", FAB_DT_F32, 1, &two)->data;
  X[0] = 10, X[1] = 100;
  CHECK(fab_interp_run(b.m, w, in, out, d));
  const fab_tensor *o = fab_tset_find(out, "y");
  CHECK(o && ((float *)o->data)[0] == 210.5f && ((float *)o->data)[1] == 429.0f);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_diag_free(d);
  fab_module_free(b.m);
}

/* The low-level route for fourier.mix of x: per axis a power-of-two FFT,
 * a dense dft (mixed = false) or the mixed-radix digit reversal + radix-2
 * and radix-q stages lower-fourier emits (mixed = true). */
static int fourier_lowered(bld *b, int x, int64_t s, int64_t dm, bool mixed) {
  int z = op(b, FAB_OP_COMPLEX, 1, x, 0, 0, 0);
  int64_t axes[2] = {2, 1}, lens[2] = {dm, s};
  for (int k = 0; k < 2; k++) {
    int64_t rad[64], st[64], odd[64];
    int nr = fab_fft_factor(lens[k], rad, 64), L = 0, nq = 0;
    for (int i = 0; i < nr; i++) {
      if (rad[i] == 2) st[L] = L + 1, L++;
      else odd[nq++] = rad[i];
    }
    if (nq == 0 || mixed) {
      z = op(b, FAB_OP_BITREV, 1, z, 0, 0, 0);
      seti(b, z, "axis", axes[k]);
      if (nq) setI(b, z, "radices", rad, nr);
      z = op(b, FAB_OP_FFT_STAGES, 1, z, 0, 0, 0);
      seti(b, z, "axis", axes[k]);
      setI(b, z, "stages", st, L);
      if (nq) setI(b, z, "radix", odd, nq);
      if (k == 1) seti(b, z, "real_out", 1);
    } else {
      z = op(b, FAB_OP_DFT, 1, z, 0, 0, 0);
      seti(b, z, "axis", axes[k]);
      if (k == 1) z = op(b, FAB_OP_REAL, 1, z, 0, 0, 0);
    }
  }
  return z;
}

/* fourier.mix against the low-level routes and against a naive 2-D DFT. */
static void fourier_equiv(int64_t s, int64_t dm) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 3, 2, s, dm, 0));
  int y = op(&b, FAB_OP_FOURIER_MIX, 1, x, 0, 0, 0);
  output(&b, y, "a");
  int z = fourier_lowered(&b, x, s, dm, false);
  output(&b, fourier_lowered(&b, x, s, dm, true), "c");
  output(&b, z, "b");
  output(&b, x, "x");
  fab_diag *d = fab_diag_new();
  fab_tensor_set *o = run(&b, 7, d);
  fab_diag_print(d, stderr);
  CHECK(o != NULL);
  if (o) {
    const fab_tensor *A = fab_tset_find(o, "a"), *X = fab_tset_find(o, "x");
    double e = relerr(A, fab_tset_find(o, "b")), ec = relerr(A, fab_tset_find(o, "c"));
    /* naive: Re sum_{i,j} x[i][j] exp(-2 pi i (p i / s + q j / d)) */
    double maxe = 0;
    const float *xv = (const float *)X->data + s * dm, *av = (const float *)A->data + s * dm;
    for (int64_t p = 0; p < s; p++)
      for (int64_t q = 0; q < dm; q++) {
        double re = 0;
        for (int64_t i = 0; i < s; i++)
          for (int64_t j = 0; j < dm; j++)
            re += xv[i * dm + j] * cos(2 * M_PI * ((double)(p * i % s) / s + (double)(q * j % dm) / dm));
        maxe = fmax(maxe, fabs(re - av[p * dm + q]) / fmax(fabs(re), 1e-3));
      }
    printf("fourier [%lld,%lld]: lowered %.3g, mixed radix %.3g, naive %.3g\n", (long long)s, (long long)dm, e,
           ec, maxe);
    CHECK(e <= 1e-5 && ec <= 1e-5 && maxe <= 1e-5);
  }
  fab_tset_free(o);
  fab_diag_free(d);
  fab_module_free(b.m);
}

static void t_fourier(void) {
  fourier_equiv(16, 32);
  fourier_equiv(12, 20);
  fourier_equiv(8, 6);
  fourier_equiv(24, 40);  /* 3 * 2^3, 5 * 2^3 */
  fourier_equiv(7, 56);   /* 7, 7 * 2^3 */
  fourier_equiv(45, 17);  /* 3 * 3 * 5 (three radix stages), a prime */
  fourier_equiv(6, 97);   /* a larger prime */
}

/* mha == attention per head (blocked online softmax) == matmul/softmax. */
static void t_attention(void) {
  const int64_t s = 7, dm = 12, H = 3, dh = dm / H;
  for (int route = 0; route < 2; route++) {
    bld b = bnew();
    int q = input(&b, "q", ty(FAB_F32, 3, 2, s, dm, 0));
    int k = input(&b, "k", ty(FAB_F32, 3, 2, s, dm, 0));
    int v = input(&b, "v", ty(FAB_F32, 3, 2, s, dm, 0));
    int y = op(&b, FAB_OP_MHA, 3, q, k, v, 0);
    seti(&b, y, "heads", H);
    output(&b, y, "a");
    int64_t split[4] = {2, s, H, dh}, perm[4] = {0, 2, 1, 3}, flat[3] = {2 * H, s, dh};
    int hv[3];
    int src[3] = {q, k, v};
    for (int i = 0; i < 3; i++) {
      int r = op(&b, FAB_OP_RESHAPE, 1, src[i], 0, 0, 0);
      setI(&b, r, "shape", split, 4);
      int t = op(&b, FAB_OP_TRANSPOSE, 1, r, 0, 0, 0);
      setI(&b, t, "perm", perm, 4);
      hv[i] = op(&b, FAB_OP_RESHAPE, 1, t, 0, 0, 0);
      setI(&b, hv[i], "shape", flat, 3);
    }
    int o;
    if (route == 0) {
      o = op(&b, FAB_OP_ATTENTION, 3, hv[0], hv[1], hv[2], 0);
      setf(&b, o, "scale", 1.0 / sqrt((double)dh));
      seti(&b, o, "block", 3);
    } else {
      int sc = op(&b, FAB_OP_MATMUL, 2, hv[0], hv[1], 0, 0);
      seti(&b, sc, "transpose_b", 1);
      int sm = op(&b, FAB_OP_SOFTMAX, 1, sc, 0, 0, 0);
      setf(&b, sm, "scale", 1.0 / sqrt((double)dh));
      o = op(&b, FAB_OP_MATMUL, 2, sm, hv[2], 0, 0);
    }
    int64_t back[4] = {2, H, s, dh}, perm2[4] = {0, 2, 1, 3}, fin[3] = {2, s, dm};
    int r = op(&b, FAB_OP_RESHAPE, 1, o, 0, 0, 0);
    setI(&b, r, "shape", back, 4);
    int t = op(&b, FAB_OP_TRANSPOSE, 1, r, 0, 0, 0);
    setI(&b, t, "perm", perm2, 4);
    int f = op(&b, FAB_OP_RESHAPE, 1, t, 0, 0, 0);
    setI(&b, f, "shape", fin, 3);
    output(&b, f, "b");
    expect_same(&b, 1e-6, route == 0 ? "mha vs attention(block 3)" : "mha vs matmul+softmax");
  }
}

/* Fused ops equal their parts; dense equals matmul with transpose_b. */
static void t_fused(void) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 2, 5, 8, 0, 0));
  int r = input(&b, "r", ty(FAB_F32, 2, 5, 8, 0, 0));
  int g = weight(&b, "g", ty(FAB_F32, 1, 8, 0, 0, 0), NORMAL1);
  int be = weight(&b, "be", ty(FAB_F32, 1, 8, 0, 0, 0), NORMAL1);
  int f1 = op(&b, FAB_OP_ADD_LAYERNORM, 4, x, r, g, be);
  setf(&b, f1, "eps", 1e-5);
  int f2 = op(&b, FAB_OP_BIAS_GELU, 2, f1, be, 0, 0);
  sets(&b, f2, "approx", "tanh");
  output(&b, f2, "a");
  int a = op(&b, FAB_OP_ADD, 2, x, r, 0, 0);
  int l = op(&b, FAB_OP_LAYERNORM, 3, a, g, be, 0);
  setf(&b, l, "eps", 1e-5);
  int a2 = op(&b, FAB_OP_ADD, 2, l, be, 0, 0);
  int ge = op(&b, FAB_OP_GELU, 1, a2, 0, 0, 0);
  sets(&b, ge, "approx", "tanh");
  output(&b, ge, "b");
  expect_same(&b, 1e-6, "add.layernorm + bias.gelu vs parts");

  b = bnew();
  x = input(&b, "x", ty(FAB_F32, 2, 4, 6, 0, 0));
  int w = weight(&b, "w", ty(FAB_F32, 2, 3, 6, 0, 0), NORMAL1);
  int bi = weight(&b, "bi", ty(FAB_F32, 1, 3, 0, 0, 0), NORMAL1);
  int dn = op(&b, FAB_OP_DENSE, 3, x, w, bi, 0);
  output(&b, dn, "a");
  int mm = op(&b, FAB_OP_MATMUL, 2, x, w, 0, 0);
  seti(&b, mm, "transpose_b", 1);
  output(&b, op(&b, FAB_OP_ADD, 2, mm, bi, 0, 0), "b");
  expect_same(&b, 1e-6, "dense vs matmul + add");
}

/* Scalar spot values of the elementwise functions. */
static void t_values(void) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 2, 1, 4, 0, 0));
  int g1 = op(&b, FAB_OP_GELU, 1, x, 0, 0, 0);
  sets(&b, g1, "approx", "erf");
  int g2 = op(&b, FAB_OP_GELU, 1, x, 0, 0, 0);
  sets(&b, g2, "approx", "tanh");
  int sm = op(&b, FAB_OP_SOFTMAX, 1, x, 0, 0, 0);
  int mp = op(&b, FAB_OP_MEANPOOL, 1, x, 0, 0, 0);
  output(&b, g1, "g1");
  output(&b, g2, "g2");
  output(&b, sm, "sm");
  output(&b, mp, "mp");
  fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new(), *w = fab_tset_new();
  int64_t dims[2] = {1, 4};
  float *X = fab_tset_add(in, "x", FAB_DT_F32, 2, dims)->data;
  X[0] = -1, X[1] = 0, X[2] = 1, X[3] = 2;
  fab_diag *d = fab_diag_new();
  CHECK(fab_interp_run(b.m, w, in, out, d));
  fab_diag_print(d, stderr);
  const float *G1 = fab_tset_find(out, "g1")->data, *G2 = fab_tset_find(out, "g2")->data;
  const float *SM = fab_tset_find(out, "sm")->data, *MP = fab_tset_find(out, "mp")->data;
  CHECK(fabs(G1[2] - 0.8413447460685429) < 1e-7 && fabs(G1[0] + 0.15865525393145707) < 1e-7);
  CHECK(fabs(G2[2] - 0.8411919906082768) < 1e-7 && G1[1] == 0);
  double z = exp(-1) + 1 + exp(1) + exp(2);
  CHECK(fabs(SM[3] - exp(2) / z) < 1e-7);
  CHECK(MP[0] == -1 && MP[3] == 2 && fab_tset_find(out, "mp")->rank == 1); /* mean over s = 1 */
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(w);
  fab_diag_free(d);
  fab_module_free(b.m);
}

static bool diag_has(const fab_diag *d, const char *text) {
  for (int i = 0; i < fab_diag_count(d); i++)
    if (strstr(fab_diag_message(d, i), text)) return true;
  return false;
}

/* Run-time and structural errors are reported, never fatal. */
static void t_errors(void) {
  bld b = bnew();
  int ids = input(&b, "ids", ty(FAB_I32, 2, 2, 5, 0, 0));
  int tab = weight(&b, "embed.weight", ty(FAB_F32, 2, 11, 4, 0, 0), NORMAL1);
  int e = op(&b, FAB_OP_EMBED, 2, ids, tab, 0, 0);
  output(&b, e, "y");
  fab_diag *d = fab_diag_new();
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *out = fab_tset_new();
  CHECK(fab_bind_init_weights(b.m, 1, w, d) && fab_bind_init_inputs(b.m, 1, in, d));
  int32_t *I = fab_tset_find(in, "ids")->data;
  for (int i = 0; i < 10; i++) CHECK(I[i] >= 0 && I[i] < 11); /* vocabulary of the embed */
  CHECK(fab_interp_run(b.m, w, in, out, d));
  I[7] = 11;
  CHECK(!fab_interp_run(b.m, w, in, out, d));
  CHECK(diag_has(d, "embed") && diag_has(d, "token id 11"));
  fab_diag_print(d, stdout);
  fab_diag_clear(d);
  I[7] = 3;
  /* a forward reference */
  int bad = op(&b, FAB_OP_RELU, 1, 0, 0, 0, 0);
  at(&b, bad)->operands[0] = bad + 5;
  CHECK(!fab_interp_run(b.m, w, in, out, d));
  CHECK(diag_has(d, "not an earlier value"));
  fab_diag_clear(d);
  /* bad attribute and missing tensor */
  at(&b, bad)->operands[0] = e;
  at(&b, bad)->code = FAB_OP_GELU;
  sets(&b, bad, "approx", "cubic");
  CHECK(!fab_interp_run(b.m, w, in, out, d));
  CHECK(diag_has(d, "cubic"));
  fab_diag_clear(d);
  CHECK(fab_tset_remove(w, "embed.weight"));
  CHECK(!fab_interp_run(b.m, w, in, out, d));
  CHECK(diag_has(d, "embed.weight"));
  fab_diag_print(d, stdout);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_diag_free(d);
  fab_module_free(b.m);
}

/* Binding: every problem reported and named; conversion; determinism. */
static void t_bind(void) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 2, 2, 3, 0, 0));
  int w1 = weight(&b, "a.weight", ty(FAB_F32, 2, 3, 3, 0, 0), NORMAL1);
  int w2 = weight(&b, "a.bias", ty(FAB_F32, 1, 3, 0, 0, 0), (fab_init){FAB_INIT_UNIFORM, -0.5, 0.5});
  (void)weight(&b, "n.weight", ty(FAB_F32, 1, 3, 0, 0, 0), (fab_init){FAB_INIT_ONES, 0, 0});
  output(&b, op(&b, FAB_OP_DENSE, 3, x, w1, w2, 0), "y");
  fab_diag *d = fab_diag_new();
  fab_tensor_set *w = fab_tset_new();
  int64_t d33[2] = {3, 3}, d4 = 4;
  fab_tset_add(w, "a.weight", FAB_DT_F64, 2, d33);
  ((double *)fab_tset_find(w, "a.weight")->data)[4] = 0.25;
  fab_tset_add(w, "a.bias", FAB_DT_F32, 1, &d4); /* misshaped */
  fab_tset_add(w, "stray", FAB_DT_F32, 1, &d4);  /* extra; n.weight missing */
  CHECK(!fab_bind_check_weights(b.m, w, false, d));
  fab_diag_print(d, stdout);
  CHECK(fab_diag_error_count(d) == 3);
  CHECK(diag_has(d, "'a.bias'") && diag_has(d, "'stray'") && diag_has(d, "'n.weight'"));
  const fab_tensor *aw = fab_tset_find(w, "a.weight");
  CHECK(aw->dtype == FAB_DT_F32 && ((float *)aw->data)[4] == 0.25f);
  fab_diag_clear(d);
  CHECK(!fab_bind_check_weights(b.m, w, true, d) && fab_diag_error_count(d) == 2);
  fab_diag_clear(d);
  /* seeded init: deterministic, independent per parameter */
  fab_tensor_set *i1 = fab_tset_new(), *i2 = fab_tset_new();
  CHECK(fab_bind_init_weights(b.m, 5, i1, d));
  CHECK(fab_tset_remove(i1, "n.weight"));
  fab_tset_add(i2, "a.weight", FAB_DT_F32, 2, d33); /* pre-existing: kept */
  CHECK(fab_bind_init_weights(b.m, 5, i2, d));
  const float *b1 = fab_tset_find(i1, "a.bias")->data, *b2 = fab_tset_find(i2, "a.bias")->data;
  CHECK(memcmp(b1, b2, 3 * sizeof(float)) == 0 && b1[0] >= -0.5 && b1[0] < 0.5 && b1[0] != b1[1]);
  CHECK(((float *)fab_tset_find(i2, "a.weight")->data)[0] == 0);
  CHECK(((float *)fab_tset_find(i2, "n.weight")->data)[2] == 1);
  CHECK(fab_bind_check_weights(b.m, i2, false, d));
  /* inputs */
  fab_tensor_set *in = fab_tset_new();
  fab_tset_add(in, "x", FAB_DT_I32, 2, d33);
  fab_tset_add(in, "y", FAB_DT_F32, 2, d33);
  CHECK(!fab_bind_check_inputs(b.m, in, d));
  fab_diag_print(d, stdout);
  CHECK(diag_has(d, "input 'x' has shape [3,3]") && diag_has(d, "dtype I32") && diag_has(d, "'y'"));
  fab_tset_free(in);
  in = fab_tset_new();
  CHECK(fab_bind_init_inputs(b.m, 9, in, d) && fab_tset_find(in, "x")->dtype == FAB_DT_F32);
  fab_tset_free(in);
  fab_tset_free(i1);
  fab_tset_free(i2);
  fab_tset_free(w);
  fab_diag_free(d);
  fab_module_free(b.m);
}

/* run_all returns every intermediate; shape ops move data correctly. */
static void t_shapes(void) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 2, 2, 3, 0, 0));
  int64_t perm[2] = {1, 0};
  int t = op(&b, FAB_OP_TRANSPOSE, 1, x, 0, 0, 0);
  setI(&b, t, "perm", perm, 2);
  int p = op(&b, FAB_OP_PAD, 1, t, 0, 0, 0);
  seti(&b, p, "axis", 1);
  seti(&b, p, "size", 4);
  int s = op(&b, FAB_OP_SLICE, 1, p, 0, 0, 0);
  seti(&b, s, "axis", 0);
  seti(&b, s, "start", 1);
  seti(&b, s, "size", 2);
  int k = op(&b, FAB_OP_TAKE, 1, s, 0, 0, 0);
  seti(&b, k, "index", -1);
  int c = op(&b, FAB_OP_SCALE, 1, k, 0, 0, 0);
  setf(&b, c, "factor", 2.0);
  output(&b, c, "y");
  fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new(), *vals = fab_tset_new(), *w = fab_tset_new();
  int64_t dims[2] = {2, 3};
  float *X = fab_tset_add(in, "x", FAB_DT_F32, 2, dims)->data;
  for (int i = 0; i < 6; i++) X[i] = (float)i; /* [[0 1 2] [3 4 5]] */
  fab_diag *d = fab_diag_new();
  CHECK(fab_interp_run_all(b.m, w, in, out, vals, d));
  fab_diag_print(d, stderr);
  /* transpose [[0 3] [1 4] [2 5]], pad [[0 3 0 0] ...], slice rows 1..2, take last [2 5 0 0] */
  const fab_tensor *y = fab_tset_find(out, "y");
  CHECK(y && y->rank == 1 && y->dims[0] == 4);
  if (y) {
    const float *Y = y->data;
    CHECK(Y[0] == 4 && Y[1] == 10 && Y[2] == 0 && Y[3] == 0);
  }
  CHECK(vals->count == 6 && fab_tset_find(vals, "%1") && fab_tset_find(vals, "%1")->dims[0] == 3);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(vals);
  fab_tset_free(w);
  fab_diag_free(d);
  fab_module_free(b.m);
}


/* An output whose value is used again later, a value used twice by one op
 * and an unused value: lifetimes are handled (no use after free, no leak). */
static void t_lifetimes(void) {
  bld b = bnew();
  int x = input(&b, "x", ty(FAB_F32, 1, 3, 0, 0, 0));
  int r = op(&b, FAB_OP_RELU, 1, x, 0, 0, 0);
  output(&b, r, "r");
  (void)op(&b, FAB_OP_SCALE, 1, x, 0, 0, 0); /* unused, no attribute needed */
  setf(&b, b.f->nops - 1, "factor", 3);
  int sq = op(&b, FAB_OP_MUL, 2, r, r, 0, 0);
  output(&b, sq, "sq");
  fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new(), *w = fab_tset_new();
  int64_t three = 3;
  float *X = fab_tset_add(in, "x", FAB_DT_F32, 1, &three)->data;
  X[0] = -2, X[1] = 2, X[2] = 3;
  fab_diag *d = fab_diag_new();
  CHECK(fab_interp_run(b.m, w, in, out, d));
  fab_diag_print(d, stderr);
  const fab_tensor *R = fab_tset_find(out, "r"), *S = fab_tset_find(out, "sq");
  CHECK(R && S && out->count == 2 && strcmp(out->items[0].name, "r") == 0);
  if (R && S) {
    CHECK(((float *)R->data)[0] == 0 && ((float *)R->data)[2] == 3);
    CHECK(((float *)S->data)[1] == 4 && ((float *)S->data)[2] == 9);
  }
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(w);
  fab_diag_free(d);
  fab_module_free(b.m);
}

/* Every op with assorted operands and attributes: each run either works or
 * reports an error; none crashes (run under ASan/UBSan). */
static void t_robust(void) {
  int ran = 0, failed = 0;
  for (int code = 0; code < FAB_OP_COUNT; code++) {
    if (code == FAB_OP_INPUT || code == FAB_OP_WEIGHT || code == FAB_OP_OUTPUT) continue;
    for (int variant = 0; variant < 8; variant++) {
      bld b = bnew();
      int x = input(&b, "x", ty(FAB_F32, 2, 4, 8, 0, 0));
      int src = x;
      if (variant & 1) src = op(&b, FAB_OP_COMPLEX, 1, x, 0, 0, 0);
      if (variant & 4) {
        src = op(&b, FAB_OP_RESHAPE, 1, x, 0, 0, 0);
        int64_t sh[3] = {2, 2, 8};
        setI(&b, src, "shape", sh, 3);
      }
      const fab_opinfo *info = &fab_opinfos[code];
      int n = info->max_operands;
      int y = op(&b, (fab_opcode)code, n, src, src, src, src);
      at(&b, y)->type = ty(FAB_F32, 2, 4, 8, 0, 0);
      at(&b, y)->type.rank = variant & 2 ? 2 : 0;
      if (variant & 2) {
        int64_t st[3] = {0, 0, 0}, sh[2] = {8, 4}, perm[2] = {1, 0};
        seti(&b, y, "axis", -1);
        seti(&b, y, "size", 8);
        seti(&b, y, "start", 1);
        seti(&b, y, "count", 2);
        seti(&b, y, "index", 1);
        seti(&b, y, "in", 8);
        seti(&b, y, "out", 8);
        seti(&b, y, "increasing", 0);
        seti(&b, y, "nblocks", 1);
        seti(&b, y, "heads", 2);
        seti(&b, y, "block", 3);
        seti(&b, y, "transpose_b", 1);
        seti(&b, y, "real_out", 1);
        setI(&b, y, "stages", st, 3);
        setI(&b, y, "shape", sh, 2);
        setI(&b, y, "perm", perm, 2);
        setf(&b, y, "eps", 1e-5);
        setf(&b, y, "scale", 0.5);
        setf(&b, y, "factor", 2);
        setf(&b, y, "value", 1);
        sets(&b, y, "approx", "erf");
      }
      output(&b, y, "y");
      fab_diag *d = fab_diag_new();
      fab_tensor_set *o = run(&b, 3, d);
      ran++;
      if (!o) {
        failed++;
        CHECK(fab_diag_error_count(d) > 0 && strstr(fab_diag_message(d, 0), "interp: "));
      }
      fab_tset_free(o);
      fab_diag_free(d);
      fab_module_free(b.m);
    }
  }
  printf("robust: %d runs, %d reported errors, none crashed\n", ran, failed);
  CHECK(failed > 0 && failed < ran);
}

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
    {"dispatch", t_dispatch}, {"bfly_equiv", t_bfly_equiv}, {"bfly_hand", t_bfly_hand},
    {"fourier", t_fourier},   {"attention", t_attention},   {"fused", t_fused},
    {"values", t_values},     {"errors", t_errors},         {"bind", t_bind},
    {"shapes", t_shapes},     {"robust", t_robust},
    {"lifetimes", t_lifetimes},
};

int main(int argc, char **argv) {
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (argc < 2 || strcmp(argv[1], tests[i].name) == 0) {
      tests[i].fn();
      ran++;
    }
  if (!ran) {
    fprintf(stderr, "unknown test '%s'\n", argv[1]);
    return 2;
  }
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
