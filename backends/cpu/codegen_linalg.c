/* codegen_linalg.c — dense, matmul and attention.
 *
 * Parallel rows are result rows.  Inner products run over contiguous
 * memory with the vectorise hint (reordered sums); matmul with an untransposed
 * b accumulates rows of b into the result row (axpy form, no reduction). */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

/* sum_k a[ao + k] * b[bo + k] */
static LLVMValueRef dot(cg *c, LLVMValueRef a, LLVMValueRef ao, LLVMValueRef b, LLVMValueRef bo,
                        int64_t n, LLVMValueRef acc_slot) {
  LLVMBuildStore(c->b, cg_f32(c, 0), acc_slot);
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "k");
  LLVMValueRef x = cg_loadf(c, a, cg_add(c, ao, k.iv)), y = cg_loadf(c, b, cg_add(c, bo, k.iv));
  LLVMBuildStore(c->b, cg_fma(c, x, y, LLVMBuildLoad2(c->b, c->t_f32, acc_slot, "")), acc_slot);
  cg_loop_end_vec(c, &k);
  return LLVMBuildLoad2(c->b, c->t_f32, acc_slot, "dot");
}

/* dense x[R, in], w[out, in] (, b[out]) */
static bool gen_dense(cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *xt = cg_operand_type(c, 0), *wt = cg_operand_type(c, 1);
  int64_t in = cg_lastdim(xt), out_n = wt->dims[0];
  if (wt->rank != 2 || wt->dims[1] != in) {
    CG_ERR(c, "cpu backend: dense weight shape");
    return false;
  }
  *nrows = cg_numel(xt) / in;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), w = cg_arg_f32(c, 2);
  LLVMValueRef bias = op->noperands > 2 ? cg_arg_f32(c, 3) : NULL;
  LLVMValueRef acc = cg_alloca(c, c->t_f32, "acc");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef xo = cg_mulc(c, r.iv, in);
  cg_loop o = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, out_n), "o");
  LLVMValueRef v = dot(c, x, xo, w, cg_mulc(c, o.iv, in), in, acc);
  if (bias) v = LLVMBuildFAdd(c->b, v, cg_loadf(c, bias, o.iv), "");
  cg_storef(c, v, out, cg_add(c, cg_mulc(c, r.iv, out_n), o.iv));
  cg_loop_end(c, &o);
  cg_loop_end(c, &r);
  return true;
}

/* matmul a[.., m, k], b[.., k, n] (transpose_b: [.., n, k]) */
static bool gen_matmul(cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *at = cg_operand_type(c, 0), *bt = cg_operand_type(c, 1);
  bool tb = fab_op_int(op, "transpose_b", 0) != 0;
  if (at->rank < 2 || bt->rank < 2) {
    CG_ERR(c, "cpu backend: matmul needs rank >= 2");
    return false;
  }
  int64_t m = at->dims[at->rank - 2], k = at->dims[at->rank - 1];
  int64_t n = tb ? bt->dims[bt->rank - 2] : bt->dims[bt->rank - 1];
  int64_t bk = tb ? bt->dims[bt->rank - 1] : bt->dims[bt->rank - 2];
  int64_t batch = cg_numel(at) / (m * k);
  if (bk != k || cg_numel(bt) != batch * k * n) {
    CG_ERR(c, "cpu backend: matmul shapes do not agree");
    return false;
  }
  *nrows = batch * m;
  LLVMValueRef out = cg_arg_f32(c, 0), a = cg_arg_f32(c, 1), b = cg_arg_f32(c, 2);
  LLVMValueRef acc = cg_alloca(c, c->t_f32, "acc");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef bi = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, m), "batch");
  LLVMValueRef ao = cg_mulc(c, r.iv, k), oo = cg_mulc(c, r.iv, n), bo = cg_mulc(c, bi, k * n);
  if (tb) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "j");
    LLVMValueRef v = dot(c, a, ao, b, cg_add(c, bo, cg_mulc(c, j.iv, k)), k, acc);
    cg_storef(c, v, out, cg_add(c, oo, j.iv));
    cg_loop_end(c, &j);
  } else {
    cg_memset0(c, cg_gep(c, c->t_f32, out, oo), cg_i64(c, n * 4));
    cg_loop kk = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, k), "k");
    LLVMValueRef aik = cg_loadf(c, a, cg_add(c, ao, kk.iv));
    LLVMValueRef brow = cg_add(c, bo, cg_mulc(c, kk.iv, n));
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "j");
    LLVMValueRef oi = cg_add(c, oo, j.iv);
    cg_storef(c, cg_fma(c, aik, cg_loadf(c, b, cg_add(c, brow, j.iv)), cg_loadf(c, out, oi)), out, oi);
    cg_loop_end(c, &j);
    cg_loop_end(c, &kk);
  }
  cg_loop_end(c, &r);
  return true;
}

/* Sum of the lanes of v: a shuffle tree (log2 V adds).  The reduce
 * intrinsic without fast-math flags (which the LLVM 14 C API cannot set)
 * is an ordered chain of V dependent adds. */
static LLVMValueRef hsum(cg *c, LLVMValueRef v, int lanes) {
  for (int w = lanes / 2; w >= 1; w /= 2) {
    LLVMValueRef mask[32];
    for (int i = 0; i < w; i++) mask[i] = cg_i32(c, w + i);
    LLVMValueRef lo[32];
    for (int i = 0; i < w; i++) lo[i] = cg_i32(c, i);
    LLVMValueRef hi = LLVMBuildShuffleVector(c->b, v, v, LLVMConstVector(mask, (unsigned)w), "");
    LLVMValueRef l = LLVMBuildShuffleVector(c->b, v, v, LLVMConstVector(lo, (unsigned)w), "");
    v = LLVMBuildFAdd(c->b, l, hi, "");
  }
  return LLVMBuildExtractElement(c->b, v, cg_i32(c, 0), "hsum");
}

/* attention with whole vectors along dh (dh a multiple of the width, at
 * most 8 vectors): the query row stays in registers across all keys; per
 * key block, the scores (dot products: dh/V FMAs and one lane sum), then
 * e^(s - m) over the block buffer as its own loop (a private buffer: the
 * vectoriser widens the polynomial exp without alias checks), then the
 * output row, one vector at a time, accumulates p_j v_j in a register.
 * The scalar kernel below recomputed the exp per key inside the p·V loop
 * and kept the output row in memory: 5-10x slower (ABfly was 90%
 * attention). */
static void gen_attention_vec(cg *c, int64_t s, int64_t dh, int64_t t, int64_t block, double scale) {
  const int V = c->lanes, C = (int)(dh / V);
  LLVMValueRef out = cg_arg_f32(c, 0), q = cg_arg_f32(c, 1), kp = cg_arg_f32(c, 2), vp = cg_arg_f32(c, 3);
  LLVMValueRef sc = LLVMBuildBitCast(c->b, cg_alloca(c, LLVMArrayType(c->t_f32, (unsigned)block), "scores"), c->t_f32p, "");
  LLVMValueRef ms = cg_alloca(c, c->t_f32, "m"), ls = cg_alloca(c, c->t_f32, "l"), bm = cg_alloca(c, c->t_f32, "bm");
  LLVMValueRef vacc = cg_alloca(c, c->t_vf, "vacc"), lsum = cg_alloca(c, c->t_f32, "lsum");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef bi = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, s), "batch");
  LLVMValueRef qo = cg_mulc(c, r.iv, dh), kvo = cg_mulc(c, bi, t * dh);
  LLVMValueRef qv[8];
  for (int k = 0; k < C; k++) qv[k] = cg_vload(c, q, cg_addc(c, qo, (int64_t)k * V), 4);
  cg_memset0(c, cg_gep(c, c->t_f32, out, qo), cg_i64(c, dh * 4));
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), ms);
  LLVMBuildStore(c->b, cg_f32(c, 0), ls);
  cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, t), block, "kblock");
  LLVMValueRef rest = LLVMBuildNSWSub(c->b, cg_i64(c, t), jb.iv, "");
  LLVMValueRef nb = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, rest, cg_i64(c, block), ""),
                                    rest, cg_i64(c, block), "nb");
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), bm);
  cg_loop jj = cg_loop_begin(c, cg_i64(c, 0), nb, "key");
  LLVMValueRef ko = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  LLVMValueRef dv = LLVMBuildFMul(c->b, qv[0], cg_vload(c, kp, ko, 4), "");
  for (int k = 1; k < C; k++) dv = cg_fma(c, qv[k], cg_vload(c, kp, cg_addc(c, ko, (int64_t)k * V), 4), dv);
  LLVMValueRef v = LLVMBuildFMul(c->b, hsum(c, dv, V), cg_f32(c, scale), "");
  cg_storef(c, v, sc, jj.iv);
  LLVMBuildStore(c->b, cg_fmax(c, LLVMBuildLoad2(c->b, c->t_f32, bm, ""), v), bm);
  cg_loop_end(c, &jj);
  LLVMValueRef mold = LLVMBuildLoad2(c->b, c->t_f32, ms, "");
  LLVMValueRef mnew = cg_fmax(c, mold, LLVMBuildLoad2(c->b, c->t_f32, bm, ""));
  LLVMValueRef alpha = cg_exp(c, LLVMBuildFSub(c->b, mold, mnew, ""));
  LLVMBuildStore(c->b, mnew, ms);
  /* p_j = e^(s_j - m) in place, and their sum */
  LLVMBuildStore(c->b, cg_f32(c, 0), lsum);
  jj = cg_loop_begin(c, cg_i64(c, 0), nb, "pexp");
  LLVMValueRef pj = cg_exp(c, LLVMBuildFSub(c->b, cg_loadf(c, sc, jj.iv), mnew, ""));
  cg_storef(c, pj, sc, jj.iv);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, lsum, ""), pj, ""), lsum);
  cg_loop_end_vec(c, &jj);
  LLVMValueRef lnew = LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_f32, ls, ""), alpha, "");
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, lnew, LLVMBuildLoad2(c->b, c->t_f32, lsum, ""), ""), ls);
  LLVMValueRef valpha = cg_vsplat(c, alpha, V);
  for (int k = 0; k < C; k++) {
    LLVMValueRef oi = cg_addc(c, qo, (int64_t)k * V);
    LLVMBuildStore(c->b, LLVMBuildFMul(c->b, cg_vload(c, out, oi, 4), valpha, ""), vacc);
    jj = cg_loop_begin(c, cg_i64(c, 0), nb, "pv");
    LLVMValueRef vo = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
    LLVMValueRef p = cg_vsplat(c, cg_loadf(c, sc, jj.iv), V);
    LLVMValueRef a = cg_fma(c, p, cg_vload(c, vp, cg_addc(c, vo, (int64_t)k * V), 4),
                            LLVMBuildLoad2(c->b, c->t_vf, vacc, ""));
    LLVMBuildStore(c->b, a, vacc);
    cg_loop_end(c, &jj);
    cg_vstore(c, LLVMBuildLoad2(c->b, c->t_vf, vacc, ""), out, oi, 4);
  }
  cg_loop_end(c, &jb);
  LLVMValueRef inv = cg_vsplat(c, LLVMBuildFDiv(c->b, cg_f32(c, 1), LLVMBuildLoad2(c->b, c->t_f32, ls, ""), ""), V);
  for (int k = 0; k < C; k++) {
    LLVMValueRef oi = cg_addc(c, qo, (int64_t)k * V);
    cg_vstore(c, LLVMBuildFMul(c->b, cg_vload(c, out, oi, 4), inv, ""), out, oi, 4);
  }
  cg_loop_end(c, &r);
}

/* attention q[.., s, dh], k/v[.., t, dh]: per query row, key blocks of
 * `block` scores in a stack buffer; the running max m and sum l rescale
 * the accumulated output (kept in the result row) once per block. */
static bool gen_attention(cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *qt = cg_operand_type(c, 0), *kt = cg_operand_type(c, 1);
  if (qt->rank < 2 || kt->rank < 2) {
    CG_ERR(c, "cpu backend: attention needs rank >= 2");
    return false;
  }
  int64_t s = qt->dims[qt->rank - 2], dh = qt->dims[qt->rank - 1], t = kt->dims[kt->rank - 2];
  int64_t batch = cg_numel(qt) / (s * dh);
  if (kt->dims[kt->rank - 1] != dh || cg_numel(kt) != batch * t * dh ||
      cg_numel(cg_operand_type(c, 2)) != batch * t * dh) {
    CG_ERR(c, "cpu backend: attention shapes do not agree");
    return false;
  }
  double scale = fab_op_float(op, "scale", 1.0);
  int64_t block = fab_op_int(op, "block", 64);
  if (block < 1) block = 1;
  if (block > 512) block = 512;
  if (block > t) block = t;
  *nrows = batch * s;
  if (c->lanes > 1 && dh % c->lanes == 0 && dh / c->lanes <= 8 && !getenv("FAB_CPU_SCALAR_ATTENTION")) {
    gen_attention_vec(c, s, dh, t, block, scale);
    return true;
  }
  LLVMValueRef out = cg_arg_f32(c, 0), q = cg_arg_f32(c, 1), kp = cg_arg_f32(c, 2), vp = cg_arg_f32(c, 3);
  LLVMValueRef sc = LLVMBuildBitCast(c->b, cg_alloca(c, LLVMArrayType(c->t_f32, (unsigned)block), "scores"), c->t_f32p, "");
  LLVMValueRef acc = cg_alloca(c, c->t_f32, "acc"), ms = cg_alloca(c, c->t_f32, "m"),
               ls = cg_alloca(c, c->t_f32, "l"), bm = cg_alloca(c, c->t_f32, "bm");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef bi = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, s), "batch");
  LLVMValueRef qo = cg_mulc(c, r.iv, dh), kvo = cg_mulc(c, bi, t * dh);
  cg_memset0(c, cg_gep(c, c->t_f32, out, qo), cg_i64(c, dh * 4));
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), ms);
  LLVMBuildStore(c->b, cg_f32(c, 0), ls);
  cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, t), block, "kblock");
  LLVMValueRef rest = LLVMBuildNSWSub(c->b, cg_i64(c, t), jb.iv, "");
  LLVMValueRef nb = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, rest, cg_i64(c, block), ""),
                                    rest, cg_i64(c, block), "nb");
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), bm);
  cg_loop jj = cg_loop_begin(c, cg_i64(c, 0), nb, "key");
  LLVMValueRef ko = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  LLVMValueRef v = LLVMBuildFMul(c->b, dot(c, q, qo, kp, ko, dh, acc), cg_f32(c, scale), "");
  cg_storef(c, v, sc, jj.iv);
  LLVMBuildStore(c->b, cg_fmax(c, LLVMBuildLoad2(c->b, c->t_f32, bm, ""), v), bm);
  cg_loop_end(c, &jj);
  LLVMValueRef mold = LLVMBuildLoad2(c->b, c->t_f32, ms, "");
  LLVMValueRef mnew = cg_fmax(c, mold, LLVMBuildLoad2(c->b, c->t_f32, bm, ""));
  LLVMValueRef alpha = cg_exp(c, LLVMBuildFSub(c->b, mold, mnew, ""));
  LLVMBuildStore(c->b, mnew, ms);
  LLVMBuildStore(c->b, LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_f32, ls, ""), alpha, ""), ls);
  cg_loop d = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, dh), "d");
  LLVMValueRef oi = cg_add(c, qo, d.iv);
  cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, oi), alpha, ""), out, oi);
  cg_loop_end(c, &d);
  jj = cg_loop_begin(c, cg_i64(c, 0), nb, "key");
  LLVMValueRef p = cg_exp(c, LLVMBuildFSub(c->b, cg_loadf(c, sc, jj.iv), mnew, ""));
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, ls, ""), p, ""), ls);
  LLVMValueRef vo = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  d = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, dh), "d");
  oi = cg_add(c, qo, d.iv);
  cg_storef(c, cg_fma(c, p, cg_loadf(c, vp, cg_add(c, vo, d.iv)), cg_loadf(c, out, oi)), out, oi);
  cg_loop_end(c, &d);
  cg_loop_end(c, &jj);
  cg_loop_end(c, &jb);
  LLVMValueRef inv = LLVMBuildFDiv(c->b, cg_f32(c, 1), LLVMBuildLoad2(c->b, c->t_f32, ls, ""), "");
  d = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, dh), "d");
  oi = cg_add(c, qo, d.iv);
  cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, oi), inv, ""), out, oi);
  cg_loop_end(c, &d);
  cg_loop_end(c, &r);
  return true;
}

bool cg_gen_linalg(cg *c, const fab_op *op, int64_t *nrows) {
  switch (op->code) {
  case FAB_OP_DENSE: return gen_dense(c, op, nrows);
  case FAB_OP_MATMUL: return gen_matmul(c, op, nrows);
  case FAB_OP_ATTENTION: return gen_attention(c, op, nrows);
  default: CG_ERR(c, "cpu backend: internal: not a linalg op"); return false;
  }
}
