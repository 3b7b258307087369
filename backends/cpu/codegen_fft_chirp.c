/* codegen_fft_chirp.c — fft.chirp: Bluestein's constant factors
 * (passes/lower_bluestein.c) multiplied into interleaved complex f32.
 *
 * The factors are computed at compile time in double (ir/fft.c, the same
 * definition the interpreter uses) and stored as private constant tables.
 * With (re, im) pairs in one vector, x * f is x * (fr, fr, ..) +
 * swap(x) * (-fi, fi, ..), swap exchanging the two floats of each pair:
 * along the last axis both factor vectors come from tables laid out that
 * way (a row of the axis is a run of 2 len floats, one factor per pair);
 * along a middle axis one factor covers a run of `inner` pairs and is
 * broadcast. */
#include "cpu_internal.h"

#include <stdlib.h>

/* swap(x) * f2 + x * f1 on one vector of pairs. */
static LLVMValueRef cmul_pairs(cpu_cg *c, LLVMValueRef x, LLVMValueRef f1, LLVMValueRef f2) {
  int V = c->lanes;
  LLVMValueRef idx[64];
  for (int i = 0; i < V; i++) idx[i] = cg_i32(c, i ^ 1);
  LLVMValueRef sw = LLVMBuildShuffleVector(c->b, x, x, LLVMConstVector(idx, (unsigned)V), "swap");
  return cg_fma(c, x, f1, LLVMBuildFMul(c->b, sw, f2, ""));
}

/* y[2e..2e+1] = x[2e..2e+1] * (fr, fi), scalar. */
static void cmul_one(cpu_cg *c, LLVMValueRef out, LLVMValueRef in, LLVMValueRef e2, LLVMValueRef fr,
                     LLVMValueRef fi) {
  LLVMValueRef xr = cg_loadf(c, in, e2), xi = cg_loadf(c, in, cg_addc(c, e2, 1));
  LLVMValueRef yr = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, xr, fr, ""), LLVMBuildFMul(c->b, xi, fi, ""), "");
  LLVMValueRef yi = LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, xr, fi, ""), LLVMBuildFMul(c->b, xi, fr, ""), "");
  cg_storef(c, yr, out, e2);
  cg_storef(c, yi, out, cg_addc(c, e2, 1));
}

/* The len factors as tables: f1 = (fr, fr) and f2 = (-fi, fi) per pair. */
static bool factor_tables(cpu_cg *c, const double *f, int64_t len, LLVMValueRef *t1, LLVMValueRef *t2) {
  float *a = malloc(sizeof(float) * 4 * (size_t)len);
  if (!a) return false;
  float *b = a + 2 * len;
  for (int64_t j = 0; j < len; j++) {
    a[2 * j] = a[2 * j + 1] = (float)f[2 * j];
    b[2 * j] = (float)-f[2 * j + 1];
    b[2 * j + 1] = (float)f[2 * j + 1];
  }
  *t1 = cg_const_f32_array(c, a, 2 * len, "chirp_re");
  *t2 = cg_const_f32_array(c, b, 2 * len, "chirp_im");
  free(a);
  return *t1 && *t2;
}

/* Along the last axis: a row is 2 len floats, factor tables alongside. */
static bool gen_rows(cpu_cg *c, const double *f, int64_t outer, int64_t len, int64_t *nrows) {
  LLVMValueRef t1, t2;
  if (!factor_tables(c, f, len, &t1, &t2)) return false;
  int V = c->lanes;
  int64_t nv = V >= 2 ? 2 * len / V : 0; /* whole vectors per row */
  *nrows = outer;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef base = cg_mulc(c, r.iv, 2 * len);
  if (nv > 0) {
    cg_loop v = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, nv * V), V, "v");
    LLVMValueRef e = cg_add(c, base, v.iv);
    LLVMValueRef y = cmul_pairs(c, cg_vload(c, in, e, 4), cg_vload(c, t1, v.iv, 4), cg_vload(c, t2, v.iv, 4));
    cg_vstore(c, y, out, e, 4);
    cg_loop_end(c, &v);
  }
  if (nv * V < 2 * len) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, nv * V / 2), cg_i64(c, len), "tail");
    LLVMValueRef j2 = cg_mulc(c, j.iv, 2);
    cmul_one(c, out, in, cg_add(c, base, j2), cg_loadf(c, t1, j2), cg_loadf(c, t2, cg_addc(c, j2, 1)));
    cg_loop_end(c, &j);
  }
  cg_loop_end(c, &r);
  return true;
}

/* Along a middle axis: parallel row (o, j) is a run of `inner` pairs with
 * the one factor j. */
static bool gen_runs(cpu_cg *c, const double *f, int64_t outer, int64_t len, int64_t inner, int64_t *nrows) {
  float *t = malloc(sizeof(float) * 2 * (size_t)len);
  if (!t) return false;
  for (int64_t j = 0; j < 2 * len; j++) t[j] = (float)f[j];
  LLVMValueRef tab = cg_const_f32_array(c, t, 2 * len, "chirp");
  free(t);
  if (!tab) return false;
  int V = c->lanes;
  int64_t nv = V >= 2 ? 2 * inner / V : 0;
  *nrows = outer * len;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "run");
  LLVMValueRef j2 = cg_mulc(c, LLVMBuildSRem(c->b, r.iv, cg_i64(c, len), ""), 2);
  LLVMValueRef fr = cg_loadf(c, tab, j2), fi = cg_loadf(c, tab, cg_addc(c, j2, 1));
  LLVMValueRef base = cg_mulc(c, r.iv, 2 * inner);
  if (nv > 0) {
    LLVMValueRef sign[64];
    for (int i = 0; i < V; i++) sign[i] = cg_f32(c, i % 2 ? 1.0 : -1.0);
    LLVMValueRef f1 = cg_vsplat(c, fr, V);
    LLVMValueRef f2 = LLVMBuildFMul(c->b, cg_vsplat(c, fi, V), LLVMConstVector(sign, (unsigned)V), "");
    cg_loop v = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, nv * V), V, "v");
    LLVMValueRef e = cg_add(c, base, v.iv);
    cg_vstore(c, cmul_pairs(c, cg_vload(c, in, e, 4), f1, f2), out, e, 4);
    cg_loop_end(c, &v);
  }
  if (nv * V < 2 * inner) {
    cg_loop i = cg_loop_begin(c, cg_i64(c, nv * V / 2), cg_i64(c, inner), "tail");
    cmul_one(c, out, in, cg_add(c, base, cg_mulc(c, i.iv, 2)), fr, fi);
    cg_loop_end(c, &i);
  }
  cg_loop_end(c, &r);
  return true;
}

bool cg_gen_fft_chirp(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int axis = cg_norm_axis(it, fab_op_int(op, "axis", -1));
  int64_t n = fab_op_int(op, "n", 0);
  bool spectrum = fab_op_int(op, "spectrum", 0) != 0;
  if (axis < 0 || axis >= it->rank || it->dtype != FAB_C64 || n < 1 || n > FAB_FFT_MAX_CHIRP) {
    CG_ERR(c, "cpu backend: fft.chirp needs a c64 operand, a valid axis and n");
    return false;
  }
  int64_t outer, len, inner;
  cg_axis_split(it, axis, &outer, &len, &inner);
  double *f = malloc(sizeof(double) * 2 * (size_t)len);
  bool ok = f != NULL;
  if (ok && spectrum) ok = fab_fft_chirp_spectrum(n, len, f);
  else
    for (int64_t j = 0; ok && j < len; j++) fab_fft_chirp(n, j, &f[2 * j], &f[2 * j + 1]);
  if (ok) ok = inner == 1 ? gen_rows(c, f, outer, len, nrows) : gen_runs(c, f, outer, len, inner, nrows);
  free(f);
  if (!ok) CG_ERR(c, "cpu backend: fft.chirp {n = %lld} on an axis of %lld: out of memory or not a power "
                    "of two >= 2n - 1", (long long)n, (long long)len);
  return ok;
}
