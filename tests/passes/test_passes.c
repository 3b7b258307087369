/* test_passes.c — tests of the pass manager and the passes.
 *
 *   test_passes <group>     groups: pipeline contracts canonicalize lower_bfly
 *                           lower_fourier lower_mha fuse_stages fuse_elementwise
 *                           tile memplan reproducer property
 *
 * Semantics are checked against the reference interpreter: outputs before
 * and after a pipeline agree to |a - b| <= 1e-5 (|b| + rms(b)) (relative,
 * with the output's RMS as the floor for elements near zero). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixed_targets.h"
#include "target.h"
#include "fab_tensor.h"
#include "gen.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "plancheck.h"

static int failures;
#define CHECK(c)                                                                  \
  do {                                                                            \
    if (!(c)) {                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);       \
      failures++;                                                                 \
    }                                                                             \
  } while (0)

/* ---- building ------------------------------------------------------------ */

typedef struct bld {
  fab_module *m;
  fab_func *f;
  int nout, nin;
} bld;

static bld b_new(void) {
  bld b = {0};
  b.m = fab_module_new("t");
  b.f = fab_module_add_func(b.m, "main");
  return b;
}
static fab_op *at(bld *b, int i) { return &b->f->ops[i]; }
static int op(bld *b, fab_opcode code, int n, int a0, int a1, int a2, int a3) {
  int ops[4] = {a0, a1, a2, a3};
  return fab_func_append(b->m, b->f, code, ops, n, (fab_loc){0});
}
static void seti(bld *b, int i, const char *k, int64_t v) { fab_op_set_int(b->m, at(b, i), k, v); }
static void setf(bld *b, int i, const char *k, double v) { fab_op_set_float(b->m, at(b, i), k, v); }
static void sets(bld *b, int i, const char *k, const char *v) { fab_op_set_str(b->m, at(b, i), k, v); }
static int inf(bld *b, int i) {
  char err[256];
  if (!fab_infer_op(b->m, b->f, at(b, i), err, sizeof err)) {
    fprintf(stderr, "build: %%%d %s: %s\n", i, fab_opinfos[at(b, i)->code].name, err);
    failures++;
  }
  return i;
}
static fab_type T(int rank, ...) {
  fab_type t = {.dtype = FAB_F32, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}
static int input(bld *b, const char *name, fab_type t) {
  int i = op(b, FAB_OP_INPUT, 0, 0, 0, 0, 0);
  sets(b, i, "name", name);
  seti(b, i, "index", b->nin++);
  at(b, i)->type = t;
  return i;
}
static int weight(bld *b, const char *name, fab_type t) {
  fab_module_add_param(b->m, name, t, (fab_init){FAB_INIT_NORMAL, 0, 0.7}, (fab_loc){0}, NULL);
  int i = op(b, FAB_OP_WEIGHT, 0, 0, 0, 0, 0);
  sets(b, i, "name", name);
  at(b, i)->type = t;
  return i;
}
static void output(bld *b, int v) {
  char name[16];
  snprintf(name, sizeof name, "y%d", b->nout);
  int i = op(b, FAB_OP_OUTPUT, 1, v, 0, 0, 0);
  sets(b, i, "name", name);
  seti(b, i, "index", b->nout++);
  at(b, i)->type = at(b, v)->type;
}
static int bfly(bld *b, int x, const char *name, int in, int out, int nblocks, int inc, bool bias) {
  int n = 1, L = 0;
  while (n < in) n *= 2, L++;
  int S = (out + n - 1) / n;
  char tn[64], bn[64];
  snprintf(tn, sizeof tn, "%s.twiddle", name);
  snprintf(bn, sizeof bn, "%s.bias", name);
  int tw = weight(b, tn, T(6, S, nblocks, L, n / 2, 2, 2));
  int i = bias ? op(b, FAB_OP_BFLY_LINEAR, 3, x, tw, weight(b, bn, T(1, out)), 0)
               : op(b, FAB_OP_BFLY_LINEAR, 2, x, tw, 0, 0);
  seti(b, i, "in", in);
  seti(b, i, "out", out);
  seti(b, i, "nblocks", nblocks);
  seti(b, i, "increasing", inc);
  return inf(b, i);
}

static int count_ops(const fab_module *m, fab_opcode code) {
  int n = 0;
  const fab_func *f = fab_module_main(m);
  for (int i = 0; i < f->nops; i++) n += f->ops[i].code == code;
  return n;
}

/* ---- running and comparing ----------------------------------------------- */

static fab_tensor_set *run(fab_module *m, uint64_t seed, fab_diag *d) {
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *out = fab_tset_new();
  bool ok = fab_bind_init_weights(m, seed, w, d) && fab_bind_init_inputs(m, seed + 1, in, d) &&
            fab_interp_run(m, w, in, out, d);
  fab_tset_free(w);
  fab_tset_free(in);
  if (!ok) {
    fab_tset_free(out);
    return NULL;
  }
  return out;
}

/* Worst |a-b| / (|b| + rms(b)) over every output; INFINITY if they differ
 * in names or shapes. */
static double compare(const fab_tensor_set *ref, const fab_tensor_set *got) {
  double worst = 0;
  if (!ref || !got || ref->count != got->count) return INFINITY;
  for (int t = 0; t < ref->count; t++) {
    const fab_tensor *a = &ref->items[t], *b = fab_tset_find(got, a->name);
    if (!b || fab_tensor_numel(a) != fab_tensor_numel(b) || a->dtype != b->dtype) return INFINITY;
    if (a->dtype != FAB_DT_F32) continue;
    const float *x = a->data, *y = b->data;
    int64_t n = fab_tensor_numel(a);
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    double rms = n ? sqrt(ss / (double)n) : 0;
    for (int64_t i = 0; i < n; i++) {
      if (isnan(x[i]) != isnan(y[i])) return INFINITY;
      double e = fabs((double)x[i] - y[i]) / (fabs(x[i]) + rms + 1e-30);
      if (e > worst) worst = e;
    }
  }
  return worst;
}

/* Runs `pipeline` on m with verify_each; checks the interpreter's outputs
 * before and after agree.  Returns the error (INFINITY on failure). */
static double check_pipeline(fab_module *m, const char *pipeline, const char *target,
                             const char *what) {
  fab_diag *d = fab_diag_new();
  double e = INFINITY;
  fab_tensor_set *ref = run(m, 7, d);
  if (!ref) {
    fprintf(stderr, "%s: interpreter failed before the pipeline\n", what);
    goto out;
  }
  fab_pass_options opt = {.target = fixed_target(target), .verify_each = true};
  if (!fab_run_pipeline(m, pipeline, &opt, d)) {
    fprintf(stderr, "%s: pipeline '%s' (target %s) failed\n", what, pipeline, target);
    goto out;
  }
  fab_tensor_set *got = run(m, 7, d);
  if (!got) {
    fprintf(stderr, "%s: interpreter failed after '%s'\n", what, pipeline);
  } else {
    e = compare(ref, got);
    char why[256];
    int64_t p, u;
    if (fab_memplan_stats(m, &p, &u) && (!plan_check(m, why, sizeof why) || p > u)) {
      fprintf(stderr, "%s: bad memory plan after '%s': %s\n", what, pipeline,
              p > u ? "peak above the unplanned sum" : why);
      e = INFINITY;
    }
  }
  fab_tset_free(got);
out:
  if (!(e <= 1e-5)) {
    fprintf(stderr, "%s: error %.3g after '%s' (target %s)\n", what, e, pipeline, target);
    fab_diag_print(d, stderr);
  }
  fab_tset_free(ref);
  fab_diag_free(d);
  return e;
}

#define EXPECT_SAME(m, pipe, target, what) CHECK(check_pipeline((m), (pipe), (target), (what)) <= 1e-5)

static bool diag_has(fab_diag *d, const char *text) {
  for (int i = 0; i < fab_diag_count(d); i++)
    if (strstr(fab_diag_message(d, i), text)) return true;
  return false;
}

/* ---- groups -------------------------------------------------------------- */

static void t_pipeline(void) {
  fab_diag *d = fab_diag_new();
  CHECK(fab_pipeline_check("canonicalize,lower-bfly,fuse-stages(k=3),tile(buffer=4096,rows=8),memplan", d));
  CHECK(fab_pipeline_check(" canonicalize , fuse-stages( k = 2 ) ", d));
  CHECK(fab_pipeline_check("", d));
  CHECK(fab_diag_error_count(d) == 0);
  CHECK(!fab_pipeline_check("canonicalise", d));
  CHECK(diag_has(d, "unknown pass 'canonicalise'") && diag_has(d, "lower-bfly, lower-fourier"));
  fab_diag_clear(d);
  CHECK(!fab_pipeline_check("fuse-stages(j=3)", d));
  CHECK(diag_has(d, "has no option 'j'") && diag_has(d, "k=<int>"));
  fab_diag_clear(d);
  CHECK(!fab_pipeline_check("tile(buffer=lots)", d));
  CHECK(diag_has(d, "integer"));
  CHECK(!fab_pipeline_check("canonicalize lower-bfly", d));
  CHECK(!fab_pipeline_check("canonicalize,", d));
  CHECK(!fab_pipeline_check("tile(buffer=4", d));
  for (int i = 0; i < fab_target_count(); i++) CHECK(fab_pipeline_check(fab_target_get(i)->pipeline, d));
  CHECK(fab_target_find("gpu") == NULL);
  CHECK(fab_pass_count() == 17);
  for (int i = 0; i < fab_pass_count(); i++) {
    const fab_pass_info *p = fab_pass_get(i);
    CHECK(p && p->name && p->summary && p->requires && p->establishes && p->options);
    CHECK(fab_pass_find(p->name) == p);
  }
  CHECK(fab_pass_get(99) == NULL && fab_target_find("cpu") && !fab_target_find("tpu"));
  /* A bad pipeline runs nothing. */
  bld b = b_new();
  int x = input(&b, "x", T(2, 4, 8));
  output(&b, bfly(&b, x, "l", 8, 8, 1, 0, false));
  fab_diag_clear(d);
  CHECK(!fab_run_pipeline(b.m, "lower-bfly,nonsense", NULL, d));
  CHECK(count_ops(b.m, FAB_OP_BFLY_LINEAR) == 1);
  /* print-after, time-passes and stop-after */
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  fab_pass_options opt = {.print_after = "lower-bfly", .time_passes = true, .print_out = out,
                          .stop_after = "lower-bfly", .verify_each = true};
  CHECK(fab_run_pipeline(b.m, "canonicalize,lower-bfly,fuse-stages", &opt, d));
  fclose(out);
  CHECK(buf && strstr(buf, "IR Dump After lower-bfly") && strstr(buf, "bfly.stages") &&
        strstr(buf, "timing report") && !strstr(buf, "fuse-stages"));
  CHECK(count_ops(b.m, FAB_OP_BFLY_STAGES) == 3); /* stopped before fuse-stages */
  free(buf);
  fab_module_free(b.m);
  fab_diag_free(d);
}

static void t_contracts(void) {
  fab_diag *d = fab_diag_new();
  bld b = b_new();
  int x = input(&b, "x", T(2, 4, 8));
  output(&b, bfly(&b, x, "l", 8, 8, 1, 0, false));
  char why[200];
  CHECK(!fab_ir_has_property(b.m, "no-bfly-linear", why, sizeof why) && strstr(why, "bfly.linear"));
  CHECK(fab_ir_has_property(b.m, "no-mha", why, sizeof why));
  CHECK(!fab_ir_has_property(b.m, "lowered", why, sizeof why));
  CHECK(!fab_ir_has_property(b.m, "bogus", why, sizeof why));
  /* fuse-stages requires lowered butterflies: the manager says so. */
  CHECK(!fab_run_pipeline(b.m, "fuse-stages", NULL, d));
  CHECK(diag_has(d, "requires 'no-bfly-linear'"));
  fab_diag_clear(d);
  CHECK(!fab_run_pipeline(b.m, "tile", NULL, d) && diag_has(d, "lowered"));
  fab_diag_clear(d);
  fab_pass_options opt = {.verify_each = true};
  CHECK(fab_run_pipeline(b.m, "lower-bfly,fuse-stages,tile,memplan", &opt, d));
  CHECK(fab_ir_has_property(b.m, "no-bfly-linear", NULL, 0) && fab_ir_has_property(b.m, "lowered", NULL, 0));
  CHECK(fab_ir_has_property(b.m, "planned", why, sizeof why));
  /* any later pass drops the (now stale) plan */
  CHECK(fab_run_pipeline(b.m, "canonicalize", &opt, d));
  CHECK(!fab_ir_has_property(b.m, "planned", NULL, 0));
  fab_diag_print(d, stderr);
  fab_module_free(b.m);
  fab_diag_free(d);
}

static void t_canonicalize(void) {
  bld b = b_new();
  int x = input(&b, "x", T(3, 2, 4, 6));
  int unused = input(&b, "unused", T(1, 3));
  (void)unused;
  int64_t p[3] = {0, 2, 1}, flat = 48, shape[3] = {2, 4, 6}, r2[2] = {8, 6};
  int t1 = op(&b, FAB_OP_TRANSPOSE, 1, x, 0, 0, 0);
  fab_op_set_ints(b.m, at(&b, t1), "perm", p, 3);
  int t2 = op(&b, FAB_OP_TRANSPOSE, 1, inf(&b, t1), 0, 0, 0);
  fab_op_set_ints(b.m, at(&b, t2), "perm", p, 3);
  int r1 = op(&b, FAB_OP_RESHAPE, 1, inf(&b, t2), 0, 0, 0);
  fab_op_set_ints(b.m, at(&b, r1), "shape", &flat, 1);
  int r = op(&b, FAB_OP_RESHAPE, 1, inf(&b, r1), 0, 0, 0);
  fab_op_set_ints(b.m, at(&b, r), "shape", r2, 2);
  r = op(&b, FAB_OP_RESHAPE, 1, inf(&b, r), 0, 0, 0);
  fab_op_set_ints(b.m, at(&b, r), "shape", shape, 3);
  int s1 = op(&b, FAB_OP_SCALE, 1, inf(&b, r), 0, 0, 0);
  setf(&b, s1, "factor", 1.0);
  int g1 = op(&b, FAB_OP_GELU, 1, inf(&b, s1), 0, 0, 0);
  sets(&b, g1, "approx", "erf");
  int g2 = op(&b, FAB_OP_GELU, 1, s1, 0, 0, 0);
  sets(&b, g2, "approx", "erf");
  int w1 = weight(&b, "w", T(2, 5, 6)), w2 = op(&b, FAB_OP_WEIGHT, 0, 0, 0, 0, 0);
  sets(&b, w2, "name", "w");
  at(&b, w2)->type = at(&b, w1)->type;
  int dead = inf(&b, op(&b, FAB_OP_DENSE, 2, inf(&b, g1), w1, 0, 0));
  (void)dead;
  int a = inf(&b, op(&b, FAB_OP_ADD, 2, inf(&b, g1), inf(&b, g2), 0, 0));
  int c = op(&b, FAB_OP_CONST, 0, 0, 0, 0, 0);
  setf(&b, c, "value", 0.0);
  at(&b, c)->type = at(&b, a)->type;
  a = inf(&b, op(&b, FAB_OP_ADD, 2, a, c, 0, 0));
  int sc = op(&b, FAB_OP_SCALE, 1, a, 0, 0, 0);
  setf(&b, sc, "factor", 2.0);
  sc = op(&b, FAB_OP_SCALE, 1, inf(&b, sc), 0, 0, 0);
  setf(&b, sc, "factor", 0.25);
  int y = inf(&b, op(&b, FAB_OP_DENSE, 2, inf(&b, sc), w2, 0, 0));
  output(&b, y);
  EXPECT_SAME(b.m, "canonicalize", "generic", "canonicalize");
  /* left: 2 inputs, 1 weight, gelu, add, scale, dense, output */
  const fab_func *f = fab_module_main(b.m);
  CHECK(f->nops == 8);
  CHECK(count_ops(b.m, FAB_OP_INPUT) == 2 && count_ops(b.m, FAB_OP_WEIGHT) == 1);
  CHECK(count_ops(b.m, FAB_OP_TRANSPOSE) == 0 && count_ops(b.m, FAB_OP_RESHAPE) == 0);
  CHECK(count_ops(b.m, FAB_OP_GELU) == 1 && count_ops(b.m, FAB_OP_SCALE) == 1);
  CHECK(count_ops(b.m, FAB_OP_CONST) == 0 && count_ops(b.m, FAB_OP_DENSE) == 1);
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i].code == FAB_OP_SCALE) CHECK(fab_op_float(&f->ops[i], "factor", 0) == 0.5);
  fab_module_free(b.m);
}

/* Lowers one bfly.linear and compares with the interpreter's. */
static void bfly_case(int rank, int in, int out, int nblocks, int inc, bool bias) {
  bld b = b_new();
  int x = rank == 1 ? input(&b, "x", T(1, in)) : rank == 2 ? input(&b, "x", T(2, 3, in))
                                                            : input(&b, "x", T(3, 2, 3, in));
  output(&b, bfly(&b, x, "l", in, out, nblocks, inc, bias));
  char what[128];
  snprintf(what, sizeof what, "lower-bfly rank %d in %d out %d nblocks %d inc %d bias %d", rank, in,
           out, nblocks, inc, bias);
  EXPECT_SAME(b.m, "lower-bfly", "generic", what);
  CHECK(count_ops(b.m, FAB_OP_BFLY_LINEAR) == 0);
  /* The stage order of fabnet.md §2. */
  int L = 0;
  while ((1 << L) < in) L++;
  const fab_func *f = fab_module_main(b.m);
  int s = 0;
  for (int i = 0; i < f->nops; i++) {
    if (f->ops[i].code != FAB_OP_BFLY_STAGES) continue;
    const fab_attr *a = fab_op_attr(&f->ops[i], "stages");
    int bl = s / L, k = s % L;
    bool up = inc ^ (bl & 1);
    CHECK(a && a->nints == 3 && a->ints[0] == bl && a->ints[1] == k && a->ints[2] == (up ? k : L - 1 - k));
    s++;
  }
  CHECK(s == nblocks * L);
  fab_module_free(b.m);
}

static void t_lower_bfly(void) {
  bfly_case(2, 8, 8, 1, 0, false);
  bfly_case(2, 8, 8, 1, 1, true);
  bfly_case(2, 6, 10, 2, 0, true);  /* pad, 2 stacks, slice */
  bfly_case(3, 5, 3, 3, 1, true);   /* slice below n */
  bfly_case(1, 16, 48, 2, 1, false); /* 3 stacks */
  bfly_case(2, 2, 1, 1, 0, true);
  bfly_case(3, 64, 64, 2, 0, true);
}

static void t_lower_fourier(void) {
  int shapes[][3] = {{2, 4, 8}, {2, 3, 6}, {3, 1, 5}, {2, 16, 1}, {3, 2, 8}};
  for (int c = 0; c < 5; c++) {
    bld b = b_new();
    int x = shapes[c][0] == 2 ? input(&b, "x", T(2, shapes[c][1], shapes[c][2]))
                              : input(&b, "x", T(3, 2, shapes[c][1], shapes[c][2]));
    output(&b, inf(&b, op(&b, FAB_OP_FOURIER_MIX, 1, x, 0, 0, 0)));
    char what[64];
    snprintf(what, sizeof what, "lower-fourier case %d", c);
    EXPECT_SAME(b.m, c & 1 ? "lower-fourier,fuse-elementwise" : "lower-fourier", "generic", what);
    CHECK(count_ops(b.m, FAB_OP_FOURIER_MIX) == 0);
    fab_module_free(b.m);
  }
}

static int output_of_mix(bld *b, int x) { return inf(b, op(b, FAB_OP_FOURIER_MIX, 1, x, 0, 0, 0)); }

/* Property: Bluestein's chain (forced on every length that is not a power
 * of two) equals the dense DFT of fourier.mix, along either axis, for
 * every length 2..300. */
static void t_lower_bluestein(void) {
  for (int n = 2; n <= 300; n++)
    for (int axis = 0; axis < 2; axis++) {
      bld b = b_new();
      output(&b, output_of_mix(&b, input(&b, "x", axis ? T(2, 2, n) : T(2, n, 4))));
      char what[64];
      snprintf(what, sizeof what, "lower-bluestein n %d axis %d", n, axis);
      EXPECT_SAME(b.m, "lower-fourier,lower-bluestein(min-prime=3,cost=0)", "generic", what);
      CHECK(count_ops(b.m, FAB_OP_FFT_CHIRP) == ((n & (n - 1)) ? 3 : 0));
      fab_module_free(b.m);
    }
  fab_diag *d = fab_diag_new();
  bld b = b_new();
  output(&b, output_of_mix(&b, input(&b, "x", T(2, 4, 97))));
  CHECK(!fab_run_pipeline(b.m, "lower-fourier,lower-bluestein(cost=-1)", NULL, d));
  CHECK(diag_has(d, "lower-bluestein") && diag_has(d, "cost=-1: both must be >= 0"));
  fab_module_free(b.m);
  fab_diag_free(d);
}

static void t_lower_mha(void) {
  int heads[] = {1, 2, 4};
  for (int h = 0; h < 3; h++)
    for (int blocked = 0; blocked < 2; blocked++) {
      bld b = b_new();
      int q = input(&b, "q", T(3, 2, 5, 8));
      int kv = input(&b, "kv", T(3, 2, 3, 8));
      int k = inf(&b, op(&b, FAB_OP_RELU, 1, kv, 0, 0, 0));
      int m = op(&b, FAB_OP_MHA, 3, q, k, kv, 0);
      seti(&b, m, "heads", heads[h]);
      output(&b, inf(&b, m));
      char pipe[64], what[64];
      snprintf(pipe, sizeof pipe, "lower-mha(blocked=%d),canonicalize", blocked);
      snprintf(what, sizeof what, "lower-mha heads %d blocked %d", heads[h], blocked);
      EXPECT_SAME(b.m, pipe, "generic", what);
      CHECK(count_ops(b.m, FAB_OP_MHA) == 0);
      CHECK(count_ops(b.m, FAB_OP_ATTENTION) == blocked);
      fab_module_free(b.m);
    }
}

/* A key-padding mask (random 0/1 flags) and causal attention survive
 * lowering to attention (blocked) or matmul + softmax, fusion, tiling and
 * the memory plan with the interpreter's results unchanged. */
static void t_lower_mha_masked(void) {
  const char *pipes[] = {"lower-mha(blocked=1),canonicalize",
                         "lower-mha(blocked=0),canonicalize",
                         "lower-mha(blocked=1),tile(buffer=64),memplan",
                         "lower-mha(blocked=0),fuse-elementwise,memplan"};
  for (int h = 1; h <= 2; h++)
    for (int variant = 0; variant < 3; variant++) /* mask, causal, both */
      for (int p = 0; p < 4; p++) {
        bld b = b_new();
        int x = input(&b, "x", T(3, 2, 6, 8));
        fab_type mt = T(2, 2, 6);
        mt.dtype = FAB_I32;
        int mask = input(&b, "mask", mt);
        int k = inf(&b, op(&b, FAB_OP_RELU, 1, x, 0, 0, 0));
        int m = op(&b, FAB_OP_MHA, variant == 1 ? 3 : 4, x, k, x, mask);
        seti(&b, m, "heads", h);
        if (variant) seti(&b, m, "causal", 1);
        output(&b, inf(&b, m));
        char what[96];
        snprintf(what, sizeof what, "masked mha heads %d variant %d '%s'", h, variant, pipes[p]);
        EXPECT_SAME(b.m, pipes[p], "generic", what);
        CHECK(count_ops(b.m, FAB_OP_MHA) == 0);
        fab_module_free(b.m);
      }
}

static void t_fuse_stages(void) {
  bld b = b_new();
  int x = input(&b, "x", T(2, 3, 1024));
  output(&b, bfly(&b, x, "l", 1024, 1024, 2, 0, true));
  EXPECT_SAME(b.m, "lower-bfly,fuse-stages(k=3)", "generic", "fuse-stages k=3");
  const fab_func *f = fab_module_main(b.m);
  int sizes[8], n = 0;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i].code == FAB_OP_BFLY_STAGES && n < 8)
      sizes[n++] = fab_op_attr(&f->ops[i], "stages")->nints / 3;
  /* L = 10 per block, k = 3: 3,3,2,2 per block, never across blocks */
  CHECK(n == 8 && sizes[0] == 3 && sizes[1] == 3 && sizes[2] == 2 && sizes[3] == 2 && sizes[7] == 2);
  /* re-fusing with a larger k regroups a block's stages */
  EXPECT_SAME(b.m, "fuse-stages(k=12)", "generic", "fuse-stages k=12");
  CHECK(count_ops(b.m, FAB_OP_BFLY_STAGES) == 2);
  fab_module_free(b.m);
  /* default k from the target: cpu 4 (32 registers), fpga 12 */
  for (int t = 0; t < 2; t++) {
    b = b_new();
    x = input(&b, "x", T(2, 2, 256));
    output(&b, bfly(&b, x, "l", 256, 256, 1, 1, false));
    EXPECT_SAME(b.m, "lower-bfly,fuse-stages", t ? "fpga" : "cpu", "fuse-stages default");
    CHECK(count_ops(b.m, FAB_OP_BFLY_STAGES) == (t ? 1 : 2));
    fab_module_free(b.m);
  }
  /* merge-matrices: three dense layers over 64 rows become one */
  b = b_new();
  x = input(&b, "x", T(2, 64, 8));
  int w1 = weight(&b, "w1", T(2, 16, 8)), b1 = weight(&b, "b1", T(1, 16));
  int w2 = weight(&b, "w2", T(2, 12, 16)), w3 = weight(&b, "w3", T(2, 6, 12)), b3 = weight(&b, "b3", T(1, 6));
  int h1 = inf(&b, op(&b, FAB_OP_DENSE, 3, x, w1, b1, 0));
  int h2 = inf(&b, op(&b, FAB_OP_DENSE, 2, h1, w2, 0, 0));
  output(&b, inf(&b, op(&b, FAB_OP_DENSE, 3, h2, w3, b3, 0)));
  EXPECT_SAME(b.m, "fuse-stages(merge-matrices=1),canonicalize", "cpu", "merge-matrices");
  CHECK(count_ops(b.m, FAB_OP_MATMUL) == 2 && count_ops(b.m, FAB_OP_DENSE) == 3);
  fab_module_free(b.m);
  /* not when the intermediate is also an output, nor when it costs more */
  b = b_new();
  x = input(&b, "x", T(2, 2, 8));
  w1 = weight(&b, "w1", T(2, 16, 8));
  w2 = weight(&b, "w2", T(2, 12, 16));
  h1 = inf(&b, op(&b, FAB_OP_DENSE, 2, x, w1, 0, 0));
  output(&b, inf(&b, op(&b, FAB_OP_DENSE, 2, h1, w2, 0, 0)));
  EXPECT_SAME(b.m, "fuse-stages(merge-matrices=1)", "cpu", "merge-matrices unprofitable");
  CHECK(count_ops(b.m, FAB_OP_MATMUL) == 0 && count_ops(b.m, FAB_OP_DENSE) == 2);
  fab_module_free(b.m);
  /* an intermediate with another user is not fused away */
  b = b_new();
  x = input(&b, "x", T(2, 2, 4));
  output(&b, bfly(&b, x, "l", 4, 4, 1, 0, false));
  fab_diag *d = fab_diag_new();
  CHECK(fab_run_pipeline(b.m, "lower-bfly", NULL, d));
  fab_func *f2 = fab_module_main(b.m);
  int first = -1;
  for (int i = 0; i < f2->nops && first < 0; i++)
    if (f2->ops[i].code == FAB_OP_BFLY_STAGES) first = i;
  int extra = fab_func_append(b.m, f2, FAB_OP_OUTPUT, &first, 1, (fab_loc){0});
  fab_op_set_str(b.m, &f2->ops[extra], "name", "mid");
  fab_op_set_int(b.m, &f2->ops[extra], "index", 1);
  f2->ops[extra].type = f2->ops[first].type;
  EXPECT_SAME(b.m, "fuse-stages(k=4)", "generic", "fuse-stages shared intermediate");
  CHECK(count_ops(b.m, FAB_OP_BFLY_STAGES) == 2);
  fab_diag_free(d);
  fab_module_free(b.m);
}

static void t_fuse_elementwise(void) {
  bld b = b_new();
  int x = input(&b, "x", T(2, 4, 8));
  int bias = weight(&b, "b", T(1, 8));
  int a = inf(&b, op(&b, FAB_OP_ADD, 2, x, bias, 0, 0));
  int g = op(&b, FAB_OP_GELU, 1, a, 0, 0, 0);
  sets(&b, g, "approx", "tanh");
  g = inf(&b, g);
  int r = inf(&b, op(&b, FAB_OP_ADD, 2, g, x, 0, 0));
  int ln = op(&b, FAB_OP_LAYERNORM, 3, r, weight(&b, "g", T(1, 8)), weight(&b, "be", T(1, 8)), 0);
  setf(&b, ln, "eps", 1e-5);
  ln = inf(&b, ln);
  int s = op(&b, FAB_OP_SCALE, 1, ln, 0, 0, 0);
  setf(&b, s, "factor", 0.5);
  int sm = op(&b, FAB_OP_SOFTMAX, 1, inf(&b, s), 0, 0, 0);
  setf(&b, sm, "scale", 3.0);
  sm = inf(&b, sm);
  int f = inf(&b, op(&b, FAB_OP_FOURIER_MIX, 1, sm, 0, 0, 0));
  output(&b, f);
  /* a shared add is not fused */
  int a2 = inf(&b, op(&b, FAB_OP_ADD, 2, x, bias, 0, 0));
  int g2 = op(&b, FAB_OP_GELU, 1, a2, 0, 0, 0);
  sets(&b, g2, "approx", "erf");
  output(&b, inf(&b, g2));
  output(&b, a2);
  EXPECT_SAME(b.m, "lower-fourier,fuse-elementwise", "generic", "fuse-elementwise");
  CHECK(count_ops(b.m, FAB_OP_BIAS_GELU) == 1 && count_ops(b.m, FAB_OP_ADD_LAYERNORM) == 1);
  CHECK(count_ops(b.m, FAB_OP_SCALE) == 0 && count_ops(b.m, FAB_OP_REAL) == 0);
  CHECK(count_ops(b.m, FAB_OP_GELU) == 1 && count_ops(b.m, FAB_OP_ADD) == 1);
  const fab_func *fn = fab_module_main(b.m);
  for (int i = 0; i < fn->nops; i++) {
    if (fn->ops[i].code == FAB_OP_SOFTMAX) CHECK(fab_op_float(&fn->ops[i], "scale", 0) == 1.5);
    if (fn->ops[i].code == FAB_OP_BIAS_GELU) CHECK(strcmp(fab_op_str(&fn->ops[i], "approx", ""), "tanh") == 0);
  }
  fab_module_free(b.m);
}

static void t_tile(void) {
  bld b = b_new();
  int x = input(&b, "x", T(2, 4, 64));
  int h = bfly(&b, x, "l", 64, 64, 2, 0, true);
  int q = input(&b, "q", T(2, 64, 64));
  int m = op(&b, FAB_OP_MHA, 3, q, q, q, 0);
  seti(&b, m, "heads", 2);
  int fm = inf(&b, op(&b, FAB_OP_FOURIER_MIX, 1, h, 0, 0, 0));
  output(&b, fm);
  output(&b, inf(&b, m));
  EXPECT_SAME(b.m, "lower-bfly,lower-fourier,lower-mha,fuse-stages(k=6),fuse-elementwise,tile(buffer=8)",
              "fpga", "tile");
  const fab_func *f = fab_module_main(b.m);
  int inner = 0, outer = 0, attn_block = -1;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *o = &f->ops[i];
    if (o->code == FAB_OP_BFLY_STAGES || o->code == FAB_OP_FFT_STAGES) {
      /* the sequence axis (4 long) fits the buffer and is left whole */
      if (o->code == FAB_OP_BFLY_STAGES || fab_op_attr(o, "hint.tile_block"))
        CHECK(fab_op_int(o, "hint.tile_block", 0) == 8);
      CHECK(fab_op_int(o, "hint.rows", 0) >= 1);
      if (!fab_op_attr(o, "hint.tile_block")) continue;
      if (fab_op_int(o, "hint.tile_outer", -1) == 1) outer++;
      else inner++;
      if (o->code == FAB_OP_BFLY_STAGES) {
        const fab_attr *a = fab_op_attr(o, "stages");
        for (int t = 0; t < a->nints; t += 3)
          CHECK((a->ints[t + 2] >= 3) == (fab_op_int(o, "hint.tile_outer", -1) == 1));
      }
    }
    if (o->code == FAB_OP_ATTENTION) attn_block = (int)fab_op_int(o, "block", -1);
  }
  /* decreasing block 0: strides 32,16,8 | 4,2,1; increasing block 1: 1,2,4 | 8,16,32 */
  CHECK(inner >= 2 && outer >= 2);
  /* fpga fast memory 16 KiB, s = 64, dh = 32: (2*32 + 64) * 4 bytes per key -> 32 keys */
  CHECK(attn_block == 32);
  fab_module_free(b.m);
}

static void t_memplan(void) {
  /* A chain of elementwise ops runs in one buffer. */
  bld b = b_new();
  int x = input(&b, "x", T(2, 16, 16));
  int v = inf(&b, op(&b, FAB_OP_RELU, 1, x, 0, 0, 0));
  for (int i = 0; i < 5; i++) {
    int s = op(&b, FAB_OP_SCALE, 1, v, 0, 0, 0);
    setf(&b, s, "factor", 0.5 + i);
    v = inf(&b, op(&b, FAB_OP_RELU, 1, inf(&b, s), 0, 0, 0));
  }
  output(&b, v);
  EXPECT_SAME(b.m, "memplan", "cpu", "memplan chain");
  int64_t planned = 0, unplanned = 0;
  CHECK(fab_memplan_stats(b.m, &planned, &unplanned));
  CHECK(planned == 1024 && unplanned == 11 * 1024);
  printf("memplan chain: planned %lld unplanned %lld\n", (long long)planned, (long long)unplanned);
  fab_module_free(b.m);
  /* Without in-place reuse, best-fit still needs only two buffers. */
  b = b_new();
  x = input(&b, "x", T(2, 16, 16));
  v = x;
  for (int i = 0; i < 6; i++) v = inf(&b, op(&b, FAB_OP_RELU, 1, v, 0, 0, 0));
  output(&b, v);
  EXPECT_SAME(b.m, "memplan(inplace=0)", "cpu", "memplan no inplace");
  CHECK(fab_memplan_stats(b.m, &planned, &unplanned) && planned == 2048 && unplanned == 6 * 1024);
  fab_module_free(b.m);
  /* Random models through the cpu pipeline: the independent checker. */
  int64_t tp = 0, tu = 0;
  int n = 0;
  for (uint64_t seed = 1000; seed < 1060; seed++) {
    fab_module *m = gen_model(seed);
    CHECK(m != NULL);
    if (!m) continue;
    char what[64];
    snprintf(what, sizeof what, "memplan random model %llu", (unsigned long long)seed);
    EXPECT_SAME(m, fab_target_find("cpu")->pipeline, "cpu", what);
    char why[256] = "";
    CHECK(plan_check(m, why, sizeof why));
    if (why[0]) fprintf(stderr, "%s: %s\n", what, why);
    CHECK(fab_memplan_stats(m, &planned, &unplanned) && planned <= unplanned);
    tp += planned, tu += unplanned, n++;
    fab_module_free(m);
  }
  printf("memplan: %d random models, planned peak total %lld bytes, unplanned %lld (%.1f%%)\n", n,
         (long long)tp, (long long)tu, tu ? 100.0 * (double)tp / (double)tu : 0.0);
}

static void t_reproducer(void) {
  char dir[] = "/tmp/fabc-passes-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  bld b = b_new();
  int x = input(&b, "x", T(2, 4, 8));
  output(&b, bfly(&b, x, "l", 8, 8, 1, 0, false));
  fab_diag *d = fab_diag_new();
  fab_pass_options opt = {.reproducer_dir = dir, .verify_each = true};
  CHECK(!fab_run_pipeline(b.m, "lower-bfly,fuse-stages(k=2),tile(buffer=1),memplan", &opt, d));
  CHECK(diag_has(d, "buffer=1 is too small") && diag_has(d, "reproducer"));
  char path[256], text[512] = "";
  snprintf(path, sizeof path, "%s/fabc-repro.pipeline", dir);
  FILE *f = fopen(path, "r");
  CHECK(f != NULL);
  if (f) {
    CHECK(fgets(text, sizeof text, f) != NULL);
    fclose(f);
    unlink(path);
  }
  CHECK(strcmp(text, "tile(buffer=1),memplan\n") == 0);
  snprintf(path, sizeof path, "%s/fabc-repro.fir", dir);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size > 0);
  /* the reproducer holds the IR before the failing pass: fused stages */
  f = fopen(path, "r");
  if (f) {
    char line[512];
    bool fused = false;
    while (fgets(line, sizeof line, f))
      if (strstr(line, "bfly.stages") && strstr(line, "stages = [0, 0, 2, 0, 1, 1]")) fused = true;
    fclose(f);
    CHECK(fused);
  }
  unlink(path);
  rmdir(dir);
  fab_diag_free(d);
  fab_module_free(b.m);
}

static void t_property(void) {
  int models = 0, checked = 0, seen[FAB_OP_COUNT] = {0};
  double worst = 0;
  for (uint64_t seed = 1; seed <= 250; seed++) {
    fab_module *m = gen_model(seed);
    CHECK(m != NULL);
    if (!m) continue;
    models++;
    char pipe[512], what[64];
    const char *target;
    gen_pipeline(seed * 7919, pipe, sizeof pipe, &target);
    snprintf(what, sizeof what, "random model %llu", (unsigned long long)seed);
    double e = check_pipeline(m, pipe, target, what);
    for (int c = 0; c < FAB_OP_COUNT; c++) seen[c] += count_ops(m, (fab_opcode)c) > 0;
    CHECK(e <= 1e-5);
    if (e <= 1e-5) checked++;
    if (e > worst) worst = e;
    fab_module_free(m);
  }
  printf("property: %d random models, %d agree, worst error %.3g\n", models, checked, worst);
  printf("models containing each op after their pipeline:");
  for (int c = 0; c < FAB_OP_COUNT; c++) printf(" %s %d", fab_opinfos[c].name, seen[c]);
  printf("\n");
}

/* The cpu-* passes: options checked, plan kept, meaning unchanged, the
 * dump header names the options. */
static void t_cpu_passes(void) {
  fab_diag *d = fab_diag_new();
  bld b = b_new();
  int x = input(&b, "x", T(3, 2, 8, 16));
  int y = output_of_mix(&b, x);
  output(&b, bfly(&b, y, "l", 16, 16, 1, 0, false));
  CHECK(!fab_run_pipeline(b.m, "lower-bfly,lower-fourier,cpu-chain-bfly", NULL, d));
  CHECK(diag_has(d, "requires 'planned'") && diag_has(d, "run memplan before it"));
  fab_diag_clear(d);
  const char *bad[][2] = {{"memplan,cpu-chain-bfly(group=9)", "group=9 out of range (1..6"},
                          {"memplan,cpu-chain-bfly(chain=2)", "chain=2: expected 0 or 1"},
                          {"memplan,cpu-fold-fft-loads(hermitian=-1)", "hermitian=-1: expected 0 or 1"},
                          {"memplan,cpu-fold-fft-loads(bitrev=1)", "has no option 'bitrev'"},
                          {"memplan,cpu-fuse-ffn(norm-in=2)", "norm-in=2: expected 0 or 1"},
                          {"memplan,cpu-fuse-ffn(ffn=-1)", "ffn=-1: expected 0 or 1"}};
  for (int i = 0; i < 6; i++) {
    CHECK(!fab_run_pipeline(b.m, bad[i][0], NULL, d) && diag_has(d, bad[i][1]));
    fab_diag_clear(d);
  }
  EXPECT_SAME(b.m, "lower-bfly,lower-fourier,fuse-elementwise,memplan", "cpu", "cpu passes: before");
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  fab_pass_options opt = {.print_after = "all", .print_out = out, .verify_each = true};
  fab_tensor_set *ref = run(b.m, 7, d), *got = NULL;
  CHECK(fab_run_pipeline(b.m, "cpu-chain-bfly(group=2),cpu-fold-fft-loads", &opt, d));
  fclose(out);
  CHECK(buf && strstr(buf, "// -----// IR Dump After cpu-chain-bfly(group=2) //----- //\n") &&
        strstr(buf, "// -----// IR Dump After cpu-fold-fft-loads //----- //\n"));
  CHECK(fab_ir_has_property(b.m, "planned", NULL, 0)); /* not stripped */
  CHECK(ref && (got = run(b.m, 7, d)) && compare(ref, got) == 0);
  free(buf);
  fab_tset_free(ref);
  fab_tset_free(got);
  fab_module_free(b.m);
  fab_diag_free(d);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } groups[] = {
      {"pipeline", t_pipeline},       {"contracts", t_contracts},
      {"canonicalize", t_canonicalize}, {"lower_bfly", t_lower_bfly},
      {"lower_fourier", t_lower_fourier}, {"lower_mha", t_lower_mha},
      {"lower_mha_masked", t_lower_mha_masked},
      {"fuse_stages", t_fuse_stages}, {"fuse_elementwise", t_fuse_elementwise},
      {"tile", t_tile},               {"memplan", t_memplan},
      {"reproducer", t_reproducer},   {"property", t_property},
      {"cpu_passes", t_cpu_passes},   {"lower_bluestein", t_lower_bluestein},
  };
  int ran = 0;
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
    if (argc < 2 || strcmp(argv[1], groups[i].name) == 0) {
      groups[i].fn();
      ran++;
    }
  if (!ran) {
    fprintf(stderr, "test_passes: unknown group '%s'\n", argv[1]);
    return 2;
  }
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
