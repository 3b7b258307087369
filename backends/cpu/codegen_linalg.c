/* codegen_linalg.c — dense, matmul and attention.
 *
 * Parallel rows are result rows.  Inner products run over contiguous
 * memory with the vectorise hint (reordered sums); matmul with an untransposed
 * b accumulates rows of b into the result row (axpy form, no reduction). */
#include "cpu_internal.h"

#include <float.h>

#include <math.h>
#include <stdlib.h>

/* sum_k a[ao + k] * b[bo + k] */
static LLVMValueRef dot(cpu_cg *c, LLVMValueRef a, LLVMValueRef ao, LLVMValueRef b, LLVMValueRef bo,
                        int64_t n, LLVMValueRef acc_slot) {
  LLVMBuildStore(c->b, cg_f32(c, 0), acc_slot);
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "k");
  LLVMValueRef x = cg_loadf(c, a, cg_add(c, ao, k.iv)), y = cg_loadf(c, b, cg_add(c, bo, k.iv));
  LLVMBuildStore(c->b, cg_fma(c, x, y, LLVMBuildLoad2(c->b, c->t_f32, acc_slot, "")), acc_slot);
  cg_loop_end_vec(c, &k);
  return LLVMBuildLoad2(c->b, c->t_f32, acc_slot, "dot");
}

/* dense x[R, in], w[out, in] (, b[out]) */
static bool gen_dense(cpu_cg *c, const fab_op *op, int64_t *nrows) {
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
static bool gen_matmul(cpu_cg *c, const fab_op *op, int64_t *nrows) {
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

/* The lane sums of R vectors (R a power of two <= V) at once.  Each level
 * pairs vectors u, w whose lanes are `n` segments of S lanes (one
 * segment per row still being summed) into one vector of 2n segments of
 * S/2: the low halves of u's and w's segments plus their high halves.
 * When one vector holds all R rows, the same halving runs inside it until
 * lane r is row r's sum: about 4 instructions per row for R = 4, V = 16,
 * against 9 for four separate shuffle trees.  (A tree, not the reduce
 * intrinsic: without fast-math flags, which the LLVM 14 C API cannot set,
 * that is an ordered chain of V dependent adds.) */
static void hsum_rows(cpu_cg *c, LLVMValueRef *v, int R, int V, LLVMValueRef *sums) {
  LLVMValueRef m1[64], m2[64];
  int n = 1, S = V; /* segments per vector, lanes per segment */
  for (int cnt = R; cnt > 1; cnt /= 2, n *= 2, S /= 2) {
    for (int i = 0; i < V; i++) { /* output lane i: segment i / (S/2), position i % (S/2) */
      int seg = i / (S / 2), pos = i % (S / 2), src = seg < n ? 0 : V, sg = seg % n;
      m1[i] = cg_i32(c, src + sg * S + pos);
      m2[i] = cg_i32(c, src + sg * S + S / 2 + pos);
    }
    LLVMValueRef k1 = LLVMConstVector(m1, (unsigned)V), k2 = LLVMConstVector(m2, (unsigned)V);
    for (int j = 0; j < cnt / 2; j++)
      v[j] = LLVMBuildFAdd(c->b, LLVMBuildShuffleVector(c->b, v[2 * j], v[2 * j + 1], k1, ""),
                           LLVMBuildShuffleVector(c->b, v[2 * j], v[2 * j + 1], k2, ""), "");
  }
  LLVMValueRef x = v[0]; /* R segments of S lanes */
  for (; S > 1; S /= 2) {
    for (int i = 0; i < V; i++) {
      int seg = i / (S / 2) % R, pos = i % (S / 2);
      m1[i] = cg_i32(c, seg * S + pos);
      m2[i] = cg_i32(c, seg * S + S / 2 + pos);
    }
    x = LLVMBuildFAdd(c->b, LLVMBuildShuffleVector(c->b, x, x, LLVMConstVector(m1, (unsigned)V), ""),
                      LLVMBuildShuffleVector(c->b, x, x, LLVMConstVector(m2, (unsigned)V), ""), "");
  }
  for (int r = 0; r < R; r++) sums[r] = LLVMBuildExtractElement(c->b, x, cg_i32(c, r), "");
}

/* attention with whole vectors along dh (dh a multiple of the width, at
 * most 8 vectors), R query rows of one batch at a time (a register tile:
 * every key and value vector loaded serves R rows; one row at a time
 * streamed all of K and V from L2 per row).  The query rows stay in
 * registers across all keys; per key block, the scores (dh/V FMAs and one
 * lane sum per row and key), then e^(s - m) over each row's block buffer
 * as its own loop (a private buffer: the vectoriser widens the polynomial
 * exp without alias checks), then the output rows, one vector column at a
 * time, accumulate p_j v_j in registers.  The scalar kernel below
 * recomputed the exp per key inside the p·V loop and kept the output row
 * in memory: 5-10x slower (ABfly was 90% attention). */
#define ATT_MAX_ROWS 4

/* Masked attention (attention_mask): scores of masked keys are -inf, the
 * running max starts at -FLT_MAX instead of -inf (so a block with every
 * key masked rescales by e^0 and adds e^-inf = 0 rather than NaN), and a
 * row with no key kept ends with l = 0 and gives zeros. */
typedef struct att_mask {
  int64_t per; /* batches per mask row; 0: no mask operand */
  bool causal;
} att_mask;

static bool att_masked(const att_mask *am) { return am->per > 0 || am->causal; }

static LLVMValueRef att_score(cpu_cg *c, const att_mask *am, int64_t t, LLVMValueRef v, LLVMValueRef bi,
                              LLVMValueRef qi, LLVMValueRef key) {
  if (!att_masked(am)) return v;
  return LLVMBuildSelect(c->b, cg_keep(c, 3, am->per, t, am->causal, bi, qi, key), v, cg_f32(c, -INFINITY), "");
}

/* e^(score - m); a masked score (-inf) gives exactly 0 (cg_exp clamps its
 * argument to -87, which would give it a weight of e^-87). */
static LLVMValueRef att_exp(cpu_cg *c, const att_mask *am, LLVMValueRef score, LLVMValueRef m) {
  LLVMValueRef p = cg_exp(c, LLVMBuildFSub(c->b, score, m, ""));
  if (!att_masked(am)) return p;
  LLVMValueRef out = LLVMBuildFCmp(c->b, LLVMRealOEQ, score, cg_f32(c, -INFINITY), "");
  return LLVMBuildSelect(c->b, out, cg_f32(c, 0), p, "");
}

static LLVMValueRef att_max0(cpu_cg *c, const att_mask *am) {
  return cg_f32(c, att_masked(am) ? -FLT_MAX : -INFINITY);
}

static LLVMValueRef att_inv(cpu_cg *c, const att_mask *am, LLVMValueRef l) {
  LLVMValueRef inv = LLVMBuildFDiv(c->b, cg_f32(c, 1), l, "");
  if (!att_masked(am)) return inv;
  return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, l, cg_f32(c, 0), ""), inv, cg_f32(c, 0), "");
}
static void gen_attention_vec(cpu_cg *c, int64_t s, int64_t dh, int64_t t, int64_t block, double scale,
                              int R, const att_mask *am) {
  const int V = c->lanes, C = (int)(dh / V);
  LLVMValueRef out = cg_arg_f32(c, 0), q = cg_arg_f32(c, 1), kp = cg_arg_f32(c, 2), vp = cg_arg_f32(c, 3);
  LLVMValueRef sc = LLVMBuildBitCast(c->b, cg_alloca(c, LLVMArrayType(c->t_f32, (unsigned)(R * block)), "scores"),
                                     c->t_f32p, "");
  LLVMValueRef ms[ATT_MAX_ROWS], ls[ATT_MAX_ROWS], bm[ATT_MAX_ROWS], vacc[ATT_MAX_ROWS], alpha[ATT_MAX_ROWS];
  for (int r = 0; r < R; r++) {
    ms[r] = cg_alloca(c, c->t_f32, "m");
    ls[r] = cg_alloca(c, c->t_f32, "l");
    bm[r] = cg_alloca(c, c->t_f32, "bm");
    vacc[r] = cg_alloca(c, c->t_vf, "vacc");
  }
  LLVMValueRef lsum = cg_alloca(c, c->t_f32, "lsum");
  /* a group of R consecutive rows; s % R == 0, so they share one batch */
  cg_loop g = cg_loop_begin(c, c->begin, c->end, "rows");
  LLVMValueRef row0 = cg_mulc(c, g.iv, R);
  LLVMValueRef bi = LLVMBuildSDiv(c->b, row0, cg_i64(c, s), "batch");
  LLVMValueRef kvo = cg_mulc(c, bi, t * dh), qo[ATT_MAX_ROWS];
  LLVMValueRef qv[ATT_MAX_ROWS][8];
  for (int r = 0; r < R; r++) {
    qo[r] = cg_mulc(c, cg_addc(c, row0, r), dh);
    for (int k = 0; k < C; k++) qv[r][k] = cg_vload(c, q, cg_addc(c, qo[r], (int64_t)k * V), 4);
    cg_memset0(c, cg_gep(c, c->t_f32, out, qo[r]), cg_i64(c, dh * 4));
    LLVMBuildStore(c->b, att_max0(c, am), ms[r]);
    LLVMBuildStore(c->b, cg_f32(c, 0), ls[r]);
  }
  cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, t), block, "kblock");
  LLVMValueRef rest = LLVMBuildNSWSub(c->b, cg_i64(c, t), jb.iv, "");
  LLVMValueRef nb = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, rest, cg_i64(c, block), ""),
                                    rest, cg_i64(c, block), "nb");
  for (int r = 0; r < R; r++) LLVMBuildStore(c->b, cg_f32(c, -INFINITY), bm[r]);
  /* scores: each key's vectors loaded once for the R rows */
  cg_loop jj = cg_loop_begin(c, cg_i64(c, 0), nb, "key");
  LLVMValueRef ko = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  LLVMValueRef kv[8];
  for (int k = 0; k < C; k++) kv[k] = cg_vload(c, kp, cg_addc(c, ko, (int64_t)k * V), 4);
  LLVMValueRef dv[ATT_MAX_ROWS] = {0}, dot[ATT_MAX_ROWS];
  for (int r = 0; r < R; r++) {
    dv[r] = LLVMBuildFMul(c->b, qv[r][0], kv[0], "");
    for (int k = 1; k < C; k++) dv[r] = cg_fma(c, qv[r][k], kv[k], dv[r]);
  }
  hsum_rows(c, dv, R, V, dot);
  for (int r = 0; r < R; r++) {
    LLVMValueRef v = LLVMBuildFMul(c->b, dot[r], cg_f32(c, scale), "");
    if (att_masked(am))
      v = att_score(c, am, t, v, bi, LLVMBuildSRem(c->b, cg_addc(c, row0, r), cg_i64(c, s), ""),
                    cg_add(c, jb.iv, jj.iv));
    cg_storef(c, v, sc, cg_addc(c, jj.iv, (int64_t)r * block));
    LLVMBuildStore(c->b, cg_fmax(c, LLVMBuildLoad2(c->b, c->t_f32, bm[r], ""), v), bm[r]);
  }
  cg_loop_end(c, &jj);
  for (int r = 0; r < R; r++) {
    LLVMValueRef mold = LLVMBuildLoad2(c->b, c->t_f32, ms[r], "");
    LLVMValueRef mnew = cg_fmax(c, mold, LLVMBuildLoad2(c->b, c->t_f32, bm[r], ""));
    alpha[r] = cg_exp(c, LLVMBuildFSub(c->b, mold, mnew, ""));
    LLVMBuildStore(c->b, mnew, ms[r]);
    /* p_j = e^(s_j - m) in place, and their sum */
    LLVMBuildStore(c->b, cg_f32(c, 0), lsum);
    jj = cg_loop_begin(c, cg_i64(c, 0), nb, "pexp");
    LLVMValueRef si = cg_addc(c, jj.iv, (int64_t)r * block);
    LLVMValueRef pj = att_exp(c, am, cg_loadf(c, sc, si), mnew);
    cg_storef(c, pj, sc, si);
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, lsum, ""), pj, ""), lsum);
    cg_loop_end_vec(c, &jj);
    LLVMValueRef lnew = LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_f32, ls[r], ""), alpha[r], "");
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, lnew, LLVMBuildLoad2(c->b, c->t_f32, lsum, ""), ""), ls[r]);
  }
  /* p·V: one vector column of the R output rows at a time, each value
   * vector loaded once for the R rows */
  for (int k = 0; k < C; k++) {
    for (int r = 0; r < R; r++) {
      LLVMValueRef oi = cg_addc(c, qo[r], (int64_t)k * V);
      LLVMBuildStore(c->b, LLVMBuildFMul(c->b, cg_vload(c, out, oi, 4), cg_vsplat(c, alpha[r], V), ""), vacc[r]);
    }
    jj = cg_loop_begin(c, cg_i64(c, 0), nb, "pv");
    LLVMValueRef vo = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
    LLVMValueRef vv = cg_vload(c, vp, cg_addc(c, vo, (int64_t)k * V), 4);
    for (int r = 0; r < R; r++) {
      LLVMValueRef p = cg_vsplat(c, cg_loadf(c, sc, cg_addc(c, jj.iv, (int64_t)r * block)), V);
      LLVMBuildStore(c->b, cg_fma(c, p, vv, LLVMBuildLoad2(c->b, c->t_vf, vacc[r], "")), vacc[r]);
    }
    cg_loop_end(c, &jj);
    for (int r = 0; r < R; r++)
      cg_vstore(c, LLVMBuildLoad2(c->b, c->t_vf, vacc[r], ""), out, cg_addc(c, qo[r], (int64_t)k * V), 4);
  }
  cg_loop_end(c, &jb);
  for (int r = 0; r < R; r++) {
    LLVMValueRef inv = cg_vsplat(c, att_inv(c, am, LLVMBuildLoad2(c->b, c->t_f32, ls[r], "")), V);
    for (int k = 0; k < C; k++) {
      LLVMValueRef oi = cg_addc(c, qo[r], (int64_t)k * V);
      cg_vstore(c, LLVMBuildFMul(c->b, cg_vload(c, out, oi, 4), inv, ""), out, oi, 4);
    }
  }
  cg_loop_end(c, &g);
}

/* attention q[.., s, dh], k/v[.., t, dh]: per query row, key blocks of
 * `block` scores in a stack buffer; the running max m and sum l rescale
 * the accumulated output (kept in the result row) once per block. */
static bool gen_attention(cpu_cg *c, const fab_op *op, int64_t *nrows) {
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
  att_mask am = {cg_mask_per(c, 3, batch, t), fab_op_int(op, "causal", 0) != 0};
  if (am.per < 0) return false;
  if (c->lanes > 1 && dh % c->lanes == 0 && dh / c->lanes <= 8 && !c->opts->scalar_attention) {
    /* rows per tile: 4 while the query tile fits in 16 vectors */
    int R = dh / c->lanes <= 4 ? 4 : 2;
    int want = c->opts->attention_rows;
    if (want >= 1 && want <= ATT_MAX_ROWS) R = want;
    while (s % R || R > c->lanes) R /= 2; /* hsum_rows needs R <= V */
    *nrows = batch * s / R;
    gen_attention_vec(c, s, dh, t, block, scale, R, &am);
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
  LLVMBuildStore(c->b, att_max0(c, &am), ms);
  LLVMBuildStore(c->b, cg_f32(c, 0), ls);
  cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, t), block, "kblock");
  LLVMValueRef rest = LLVMBuildNSWSub(c->b, cg_i64(c, t), jb.iv, "");
  LLVMValueRef nb = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, rest, cg_i64(c, block), ""),
                                    rest, cg_i64(c, block), "nb");
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), bm);
  cg_loop jj = cg_loop_begin(c, cg_i64(c, 0), nb, "key");
  LLVMValueRef ko = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  LLVMValueRef v = LLVMBuildFMul(c->b, dot(c, q, qo, kp, ko, dh, acc), cg_f32(c, scale), "");
  if (att_masked(&am))
    v = att_score(c, &am, t, v, bi, LLVMBuildSRem(c->b, r.iv, cg_i64(c, s), ""), cg_add(c, jb.iv, jj.iv));
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
  LLVMValueRef p = att_exp(c, &am, cg_loadf(c, sc, jj.iv), mnew);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, ls, ""), p, ""), ls);
  LLVMValueRef vo = cg_add(c, kvo, cg_mulc(c, cg_add(c, jb.iv, jj.iv), dh));
  d = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, dh), "d");
  oi = cg_add(c, qo, d.iv);
  cg_storef(c, cg_fma(c, p, cg_loadf(c, vp, cg_add(c, vo, d.iv)), cg_loadf(c, out, oi)), out, oi);
  cg_loop_end(c, &d);
  cg_loop_end(c, &jj);
  cg_loop_end(c, &jb);
  LLVMValueRef inv = att_inv(c, &am, LLVMBuildLoad2(c->b, c->t_f32, ls, ""));
  d = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, dh), "d");
  oi = cg_add(c, qo, d.iv);
  cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, oi), inv, ""), out, oi);
  cg_loop_end(c, &d);
  cg_loop_end(c, &r);
  return true;
}

bool cg_gen_linalg(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  switch (op->code) {
  case FAB_OP_DENSE: return gen_dense(c, op, nrows);
  case FAB_OP_MATMUL: return gen_matmul(c, op, nrows);
  case FAB_OP_ATTENTION: return gen_attention(c, op, nrows);
  default: CG_ERR(c, "cpu backend: internal: not a linalg op"); return false;
  }
}
