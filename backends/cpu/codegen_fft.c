/* codegen_fft.c — fft.stages (radix-2 decimation-in-time on bit-reversed
 * input) and dft (dense, for non-power-of-two axes) on interleaved
 * complex f32.
 *
 * Twiddles are computed at compile time in double and stored as private
 * constant tables: one table of M/2 roots for the largest stage M; stage m
 * reads every (M/m)-th.  A row along the axis is copied into the work
 * buffer (the result, or the op's workspace when only the real part is
 * kept) and transformed in place.  Ops folded into the fft (fold.c) change
 * only that copy: cpu.bitrev_in reads position rev(q) for q, cpu.real_in
 * reads f32 rows with zero imaginary parts; cpu.hermitian stores half the
 * columns twice. */
#include "cpu_internal.h"

#include <math.h>
#include <stdlib.h>

static bool fft_axis(cpu_cg *c, const fab_op *op, int64_t *outer, int64_t *len, int64_t *inner) {
  const fab_type *it = cg_operand_type(c, 0);
  int axis = cg_norm_axis(it, fab_op_int(op, "axis", -1));
  fab_dtype want = fab_op_int(op, "cpu.real_in", 0) ? FAB_F32 : FAB_C64;
  if (axis < 0 || axis >= it->rank || it->dtype != want) {
    CG_ERR(c, "cpu backend: %s needs a c64 operand and a valid axis", fab_opinfos[op->code].name);
    return false;
  }
  cg_axis_split(it, axis, outer, len, inner);
  return true;
}

int64_t cg_workspace_bytes(const fab_func *f, const fab_op *op) {
  if (op->code == FAB_OP_FFT_STAGES && fab_op_int(op, "real_out", 0))
    return cg_numel(&f->ops[op->operands[0]].type) * 8;
  return 0;
}

/* x[(g + j)] and x[(g + j + h)] of one complex run, element stride `inner`. */
static void butterfly(cpu_cg *c, LLVMValueRef w, LLVMValueRef pi, LLVMValueRef qi, LLVMValueRef wr,
                      LLVMValueRef wi) {
  LLVMValueRef p2 = cg_mulc(c, pi, 2), q2 = cg_mulc(c, qi, 2);
  LLVMValueRef ur = cg_loadf(c, w, p2), ui = cg_loadf(c, w, cg_addc(c, p2, 1));
  LLVMValueRef vr = cg_loadf(c, w, q2), vi = cg_loadf(c, w, cg_addc(c, q2, 1));
  /* t = w * v */
  LLVMValueRef tr = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, wr, vr, ""), LLVMBuildFMul(c->b, wi, vi, ""), "");
  LLVMValueRef ti = LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, wr, vi, ""), LLVMBuildFMul(c->b, wi, vr, ""), "");
  cg_storef(c, LLVMBuildFAdd(c->b, ur, tr, ""), w, p2);
  cg_storef(c, LLVMBuildFAdd(c->b, ui, ti, ""), w, cg_addc(c, p2, 1));
  cg_storef(c, LLVMBuildFSub(c->b, ur, tr, ""), w, q2);
  cg_storef(c, LLVMBuildFSub(c->b, ui, ti, ""), w, cg_addc(c, q2, 1));
}

/* Inserts a zero bit at each (ascending) position. */
static LLVMValueRef insert_zeros(cpu_cg *c, LLVMValueRef v, const int64_t *pos, int g) {
  for (int t = 0; t < g; t++) {
    LLVMValueRef low = LLVMBuildAnd(c->b, v, cg_i64(c, ((int64_t)1 << pos[t]) - 1), "");
    LLVMValueRef hi = LLVMBuildShl(c->b, LLVMBuildLShr(c->b, v, cg_i64(c, pos[t]), ""), cg_i64(c, pos[t] + 1), "");
    v = LLVMBuildOr(c->b, hi, low, "");
  }
  return v;
}

/* g consecutive DIT stages (log2 sizes ks[0..g), distinct) on the lane
 * buffer: the 2^g complex vectors a group touches are loaded once, go
 * through every stage in registers and are stored once.  Stage t pairs
 * positions h_t = 2^(k_t - 1) apart; its twiddle index is p mod h_t. */
static void fft_group(cpu_cg *c, LLVMValueRef buf, LLVMValueRef tab, int64_t M, int64_t len,
                      const int64_t *ks, int g) {
  int V = c->lanes, G = 1 << g;
  int64_t pos[3];
  for (int t = 0; t < g; t++) pos[t] = ks[t] - 1;
  for (int a = 1; a < g; a++)
    for (int b = a; b > 0 && pos[b - 1] > pos[b]; b--) {
      int64_t tmp = pos[b];
      pos[b] = pos[b - 1];
      pos[b - 1] = tmp;
    }
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len >> g), "base");
  LLVMValueRef p0 = insert_zeros(c, j.iv, pos, g);
  LLVMValueRef re[8], im[8], pidx[8];
  for (int m = 0; m < G; m++) {
    int64_t off = 0;
    for (int t = 0; t < g; t++)
      if (m & (1 << t)) off += (int64_t)1 << (ks[t] - 1);
    pidx[m] = cg_addc(c, p0, off);
    LLVMValueRef r = cg_mulc(c, pidx[m], 2 * V);
    re[m] = cg_vload(c, buf, r, 64);
    im[m] = cg_vload(c, buf, cg_addc(c, r, V), 64);
  }
  /* the group's stage bits that are 0, 1, .. k - 1: below them p0 is 0,
   * so a stage of h <= 2^k has the constant twiddle index off mod h */
  int low = 0;
  while (low < g && pos[low] == low) low++;
  for (int t = 0; t < g; t++) {
    int64_t h = (int64_t)1 << (ks[t] - 1), msz = 2 * h;
    for (int m = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      int mq = m | (1 << t);
      int64_t off = 0;
      for (int u = 0; u < g; u++)
        if (m & (1 << u)) off += (int64_t)1 << (ks[u] - 1);
      LLVMValueRef tr = NULL, tim = NULL;
      if (h <= ((int64_t)1 << low) && (off & (h - 1)) == 0) { /* w = 1 */
        tr = re[mq];
        tim = im[mq];
      } else if (h <= ((int64_t)1 << low) && 4 * (off & (h - 1)) == msz) { /* w = -i */
        tr = im[mq];
        tim = LLVMBuildFNeg(c->b, re[mq], "");
      } else {
        LLVMValueRef jj = LLVMBuildAnd(c->b, pidx[m], cg_i64(c, h - 1), "");
        LLVMValueRef ti = cg_mulc(c, jj, 2 * (M / msz));
        LLVMValueRef wr = cg_vsplat(c, cg_loadf(c, tab, ti), V);
        LLVMValueRef wi = cg_vsplat(c, cg_loadf(c, tab, cg_addc(c, ti, 1)), V);
        tr = cg_fma(c, wr, re[mq], LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, wi, im[mq], ""), ""));
        tim = cg_fma(c, wr, im[mq], LLVMBuildFMul(c->b, wi, re[mq], ""));
      }
      LLVMValueRef ur = re[m], ui = im[m];
      re[m] = LLVMBuildFAdd(c->b, ur, tr, "");
      im[m] = LLVMBuildFAdd(c->b, ui, tim, "");
      re[mq] = LLVMBuildFSub(c->b, ur, tr, "");
      im[mq] = LLVMBuildFSub(c->b, ui, tim, "");
    }
  }
  for (int m = 0; m < G; m++) {
    LLVMValueRef r = cg_mulc(c, pidx[m], 2 * V);
    cg_vstore(c, re[m], buf, r, 64);
    cg_vstore(c, im[m], buf, cg_addc(c, r, V), 64);
  }
  cg_loop_end_nounroll(c, &j);
}

/* Every stage of the op on the lane buffer, in groups of up to 3 stages of
 * distinct sizes kept in registers (radix 8: 16 vectors). */
void cg_fft_all_stages(cpu_cg *c, LLVMValueRef buf, LLVMValueRef tab, int64_t M, int64_t len,
                           const fab_attr *st) {
  for (int s = 0; s < st->nints;) {
    int g = 1;
    while (g < 3 && s + g < st->nints) {
      bool distinct = true;
      for (int t = 0; t < g; t++) distinct = distinct && st->ints[s + t] != st->ints[s + g];
      if (!distinct) break;
      g++;
    }
    fft_group(c, buf, tab, M, len, st->ints + s, g);
    s += g;
  }
}


/* The tile's rows r0.. into the lane buffer (position q -> vectors 2q, the
 * real parts, and 2q + 1), through the folded loads: with `rev` position q
 * comes from input position rev(q); with `real_in` the input rows are f32
 * (len floats) and the imaginary parts are zero.  A full tile is V
 * vectors at a time through the transpose network: for jb a multiple of V
 * and i < V, rev(jb + i) = rev(jb) | rev(i), so only one bit reversal per
 * block is computed at run time. */
static void fft_tile_load(cpu_cg *c, LLVMValueRef in, LLVMValueRef r0, int64_t len, LLVMValueRef buf,
                          LLVMValueRef nvalid, const cg_fft_perm *perm, bool real_in, int half) {
  bool rev = perm != NULL;
  /* half >= 0 (real rows only): the rows go to the real (0) or the
   * imaginary (1) parts, the other part is left alone */
  int64_t at = half > 0 ? c->lanes : 0;
  int64_t rs = real_in ? len : 2 * len; /* floats per input row */
  if (!rev && !real_in) {
    cg_tile_copy(c, in, cg_mulc(c, r0, rs), rs, rs, buf, 1, nvalid, true);
    return;
  }
  int V = c->lanes, bits = rev ? perm->bits : 0;
  LLVMValueRef base = cg_mulc(c, r0, rs), zero = LLVMConstNull(c->t_vf);
  LLVMValueRef full = LLVMBuildICmp(c->b, LLVMIntEQ, nvalid, cg_i64(c, V), "full");
  LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "fold_fast");
  LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "fold_slow");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "fold_done");
  /* complex rows pair floats (re, im) within a vector: V >= 2 */
  bool blocks = rs % V == 0 && (real_in || V >= 2);
  if (blocks) LLVMBuildCondBr(c->b, full, fast, slow);
  else LLVMBuildBr(c->b, slow);

  LLVMPositionBuilderAtEnd(c->b, fast);
  if (blocks) {
    LLVMValueRef r[64];
    cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, rs), V, "jb");
    for (int i = 0; i < V; i++) r[i] = cg_vload(c, in, cg_add(c, cg_addc(c, base, (int64_t)i * rs), jb.iv), 4);
    cg_transpose_vv(c, r, V);
    /* r[i] holds float jb + i of every row: position q0 + i (real) or
     * q0 + i / 2, part i % 2 (complex) */
    LLVMValueRef q0 = real_in ? jb.iv : LLVMBuildLShr(c->b, jb.iv, cg_i64(c, 1), "");
    LLVMValueRef d0 = rev && !perm->dst ? cg_bitrev(c, q0, bits) : q0;
    for (int i = 0; i < V; i++) {
      int64_t qi = real_in ? i : i / 2, part = real_in ? 0 : i % 2;
      LLVMValueRef dq = rev && perm->dst ? cg_fft_perm_dst(c, perm, cg_addc(c, q0, qi))
                                         : LLVMBuildOr(c->b, d0, cg_i64(c, rev ? cg_rev_const(qi, bits) : qi), "");
      LLVMValueRef bi = cg_mulc(c, dq, 2 * V);
      cg_vstore(c, r[i], buf, cg_addc(c, bi, part * V + at), 64);
      if (real_in && half < 0) cg_vstore(c, zero, buf, cg_addc(c, bi, V), 64);
    }
    cg_loop_end_nounroll(c, &jb);
  }
  LLVMBuildBr(c->b, join);

  LLVMPositionBuilderAtEnd(c->b, slow); /* the last partial tile: padding lanes read row r0 */
  cg_loop lane = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, V), "lane");
  LLVMValueRef valid = LLVMBuildICmp(c->b, LLVMIntSLT, lane.iv, nvalid, "");
  LLVMValueRef xrow = cg_add(c, base, cg_mulc(c, LLVMBuildSelect(c->b, valid, lane.iv, cg_i64(c, 0), ""), rs));
  cg_loop q = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "q");
  LLVMValueRef sq = rev ? cg_fft_perm_src(c, perm, q.iv) : q.iv;
  LLVMValueRef bq = cg_add(c, cg_mulc(c, q.iv, 2 * V), lane.iv);
  LLVMValueRef re = cg_loadf(c, in, cg_add(c, xrow, real_in ? sq : cg_mulc(c, sq, 2)));
  LLVMValueRef im = real_in ? cg_f32(c, 0) : cg_loadf(c, in, cg_add(c, xrow, cg_addc(c, cg_mulc(c, sq, 2), 1)));
  cg_storef(c, re, buf, cg_addc(c, bq, at));
  if (half < 0) cg_storef(c, im, buf, cg_addc(c, bq, V));
  cg_loop_end_nounroll(c, &q);
  cg_loop_end_nounroll(c, &lane);
  LLVMBuildBr(c->b, join);
  LLVMPositionBuilderAtEnd(c->b, join);
}

/* Columns of a last-axis fft's rows that are stored: with cpu.half_cols
 * (fold.c checked that its one reader is a cpu.hermitian fft through a
 * folded bitrev) the first W/2 + V when that reader takes the half-column
 * path of cg_gen_fft_columns (W a multiple of 2V, at most 8192 rows along
 * its axis), which reads no others; else all W. */
static int64_t stored_cols(cpu_cg *c, const fab_op *op, int64_t W) {
  const fab_type *t = &op->type;
  int64_t V = c->lanes;
  if (!fab_op_int(op, "cpu.half_cols", 0) || t->rank < 2 || W % (2 * V) || t->dims[t->rank - 2] > 8192) return W;
  return W / 2 + V;
}

/* Along the last axis: rows as SIMD lanes, as in the butterfly kernel.  A
 * tile of V rows is transposed into 2 * len vectors (re, im of each
 * position), every stage runs on whole vectors with broadcast twiddles,
 * and the tile is transposed back (only the real parts for real_out). */
static void gen_fft_tiled(cpu_cg *c, const fab_op *op, const fab_attr *st, LLVMValueRef tab, int64_t M,
                          int64_t rows, int64_t len, bool real_out, const cg_fft_perm *perm, int64_t *nrows) {
  int V = c->lanes;
  *nrows = (rows + V - 1) / V;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  LLVMValueRef buf = cg_lane_buffer(c, 2 * len, "lanes");
  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef r0 = cg_mulc(c, tl.iv, V);
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, rows), r0, "");
  LLVMValueRef nvalid = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, V), ""),
                                        left, cg_i64(c, V), "nvalid");
  fft_tile_load(c, in, r0, len, buf, nvalid, perm, fab_op_int(op, "cpu.real_in", 0) != 0, -1);
  cg_fft_all_stages(c, buf, tab, M, len, st);
  cg_fft_lines lanes = {buf, cg_i64(c, 0), 2 * V, V, V, 64};
  cg_fft_radix_stages(c, &lanes, len, fab_op_attr(op, "radix"));
  if (real_out)
    cg_tile_copy(c, out, cg_mulc(c, r0, len), len, len, buf, 2, nvalid, false);
  else
    cg_tile_copy(c, out, cg_mulc(c, r0, 2 * len), 2 * len, 2 * stored_cols(c, op, len), buf, 1, nvalid, false);
  cg_loop_end(c, &tl);
}

/* min(V, rows - first) rows valid from `first` (may be <= 0). */
static LLVMValueRef valid_rows(cpu_cg *c, int64_t rows, LLVMValueRef first) {
  int V = c->lanes;
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, rows), first, "");
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, V), ""), left, cg_i64(c, V), "nvalid");
}

/* A[k] = (Z[k] + conj Z[-k]) / 2 and B[k] = (Z[k] - conj Z[-k]) / 2i from
 * Z[k] = (zr, zi) and Z[-k] = (mr, mi): o = {Re A, Im A, Re B, Im B}. */
static void split_ab(cpu_cg *c, LLVMValueRef zr, LLVMValueRef zi, LLVMValueRef mr, LLVMValueRef mi,
                     LLVMValueRef hv, LLVMValueRef o[4]) {
  o[0] = LLVMBuildFMul(c->b, LLVMBuildFAdd(c->b, zr, mr, ""), hv, "");
  o[1] = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, zi, mi, ""), hv, "");
  o[2] = LLVMBuildFMul(c->b, LLVMBuildFAdd(c->b, zi, mi, ""), hv, "");
  o[3] = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, mr, zr, ""), hv, "");
}

/* The split of gen_fft_tiled_pairs in the lane buffers: A over Z in buf
 * (positions k and -k at once), B into bb. */
static void split_lanes(cpu_cg *c, LLVMValueRef buf, LLVMValueRef bb, int64_t len) {
  int V = c->lanes;
  LLVMValueRef hv = cg_vsplat(c, cg_f32(c, 0.5), V);
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len / 2 + 1), "split");
  LLVMValueRef m = LLVMBuildURem(c->b, LLVMBuildNSWSub(c->b, cg_i64(c, len), k.iv, ""), cg_i64(c, len), "");
  LLVMValueRef bk = cg_mulc(c, k.iv, 2 * V), bm = cg_mulc(c, m, 2 * V);
  LLVMValueRef zr = cg_vload(c, buf, bk, 64), zi = cg_vload(c, buf, cg_addc(c, bk, V), 64);
  LLVMValueRef mr = cg_vload(c, buf, bm, 64), mi = cg_vload(c, buf, cg_addc(c, bm, V), 64);
  LLVMValueRef o[4];
  split_ab(c, zr, zi, mr, mi, hv, o);
  LLVMValueRef ar = o[0], ai = o[1], br = o[2], bi = o[3];
  cg_vstore(c, ar, buf, bk, 64);
  cg_vstore(c, ai, buf, cg_addc(c, bk, V), 64);
  cg_vstore(c, ar, buf, bm, 64);
  cg_vstore(c, LLVMBuildFNeg(c->b, ai, ""), buf, cg_addc(c, bm, V), 64);
  cg_vstore(c, br, bb, bk, 64);
  cg_vstore(c, bi, bb, cg_addc(c, bk, V), 64);
  cg_vstore(c, br, bb, bm, 64);
  cg_vstore(c, LLVMBuildFNeg(c->b, bi, ""), bb, cg_addc(c, bm, V), 64);
  cg_loop_end_nounroll(c, &k);
}

/* The split of gen_fft_tiled_pairs fused into the transposes out, for
 * two full tiles: per block of V/2 positions k, A[k] = (Z[k] + conj
 * Z[-k]) / 2 and B[k] = (Z[k] - conj Z[-k]) / 2i as V vectors of
 * interleaved (re, im) floats, transposed into the rows ra.. and rb.. (the
 * first `keep` floats of each): no second lane buffer, no pass over it. */
static void split_store_tiles(cpu_cg *c, LLVMValueRef out, LLVMValueRef buf, int64_t len, int64_t keep,
                              LLVMValueRef ra, LLVMValueRef rb) {
  int V = c->lanes;
  LLVMValueRef hv = cg_vsplat(c, cg_f32(c, 0.5), V), a[64], b[64];
  cg_loop kb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, keep / 2), V / 2, "kb");
  for (int t = 0; t < V / 2; t++) {
    LLVMValueRef k = cg_addc(c, kb.iv, t);
    LLVMValueRef m = LLVMBuildURem(c->b, LLVMBuildNSWSub(c->b, cg_i64(c, len), k, ""), cg_i64(c, len), "");
    LLVMValueRef bk = cg_mulc(c, k, 2 * V), bm = cg_mulc(c, m, 2 * V);
    LLVMValueRef zr = cg_vload(c, buf, bk, 64), zi = cg_vload(c, buf, cg_addc(c, bk, V), 64);
    LLVMValueRef mr = cg_vload(c, buf, bm, 64), mi = cg_vload(c, buf, cg_addc(c, bm, V), 64);
    LLVMValueRef o[4];
    split_ab(c, zr, zi, mr, mi, hv, o);
    a[2 * t] = o[0], a[2 * t + 1] = o[1], b[2 * t] = o[2], b[2 * t + 1] = o[3];
  }
  LLVMValueRef *rows[2] = {a, b}, *first[2] = {&ra, &rb};
  for (int h = 0; h < 2; h++) {
    cg_transpose_vv(c, rows[h], V);
    LLVMValueRef base = cg_add(c, cg_mulc(c, *first[h], 2 * len), cg_mulc(c, kb.iv, 2));
    for (int i = 0; i < V; i++) cg_vstore(c, rows[h][i], out, cg_add(c, base, cg_i64(c, (int64_t)i * 2 * len)), 4);
  }
  cg_loop_end_nounroll(c, &kb);
}

/* Real rows (cpu.real_in) two at a time: rows a (the tile's first V) and
 * b (the next V) enter as z = a + i b, one complex transform gives
 * Z = A + i B, and since A and B are spectra of real rows,
 * A[k] = (Z[k] + conj Z[-k]) / 2 and B[k] = (Z[k] - conj Z[-k]) / 2i:
 * half the transforms of gen_fft_tiled.  A is written over Z in the lane
 * buffer (positions k and -k at once), B into a second buffer. */
static void gen_fft_tiled_pairs(cpu_cg *c, const fab_op *op, const fab_attr *st, LLVMValueRef tab, int64_t M,
                                int64_t rows, int64_t len, const cg_fft_perm *perm, int64_t *nrows) {
  int V = c->lanes;
  *nrows = (rows + 2 * V - 1) / (2 * V);
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  LLVMValueRef buf = cg_lane_buffer(c, 2 * len, "lanes"), bb = cg_lane_buffer(c, 2 * len, "lanes");
  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef ra = cg_mulc(c, tl.iv, 2 * V), rb = cg_addc(c, ra, V);
  LLVMValueRef na = valid_rows(c, rows, ra), nb = valid_rows(c, rows, rb);
  LLVMValueRef any_b = LLVMBuildICmp(c->b, LLVMIntSGT, nb, cg_i64(c, 0), "");
  fft_tile_load(c, in, ra, len, buf, na, perm, true, 0);
  LLVMBasicBlockRef join = cg_if_begin(c, any_b);
  fft_tile_load(c, in, rb, len, buf, nb, perm, true, 1);
  cg_if_end(c, join);
  join = cg_if_begin(c, LLVMBuildNot(c->b, any_b, ""));
  cg_loop z = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "zero_im");
  cg_vstore(c, LLVMConstNull(c->t_vf), buf, cg_addc(c, cg_mulc(c, z.iv, 2 * V), V), 64);
  cg_loop_end_nounroll(c, &z);
  cg_if_end(c, join);
  cg_fft_all_stages(c, buf, tab, M, len, st);
  cg_fft_lines lanes = {buf, cg_i64(c, 0), 2 * V, V, V, 64};
  cg_fft_radix_stages(c, &lanes, len, fab_op_attr(op, "radix"));
  int64_t keep = 2 * stored_cols(c, op, len);
  LLVMValueRef both = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, na, cg_i64(c, V), ""),
                                   LLVMBuildICmp(c->b, LLVMIntEQ, nb, cg_i64(c, V), ""), "both_full");
  if (V >= 2 && keep % V == 0) {
    join = cg_if_begin(c, both);
    split_store_tiles(c, out, buf, len, keep, ra, rb);
    cg_if_end(c, join);
  } else {
    both = LLVMConstInt(c->t_i1, 0, 0);
  }
  join = cg_if_begin(c, LLVMBuildNot(c->b, both, ""));
  split_lanes(c, buf, bb, len);
  cg_tile_copy(c, out, cg_mulc(c, ra, 2 * len), 2 * len, keep, buf, 1, na, false);
  LLVMBasicBlockRef jb = cg_if_begin(c, any_b);
  cg_tile_copy(c, out, cg_mulc(c, rb, 2 * len), 2 * len, keep, bb, 1, nb, false);
  cg_if_end(c, jb);
  cg_if_end(c, join);
  cg_loop_end(c, &tl);
}

static bool gen_fft_stages(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  int64_t outer, len, inner;
  if (!fft_axis(c, op, &outer, &len, &inner)) return false;
  const fab_attr *st = fab_op_attr(op, "stages");
  if (!st || st->kind != FAB_ATTR_INTS) {
    CG_ERR(c, "cpu backend: fft.stages without stages");
    return false;
  }
  const fab_attr *rq = fab_op_attr(op, "radix");
  int64_t M = 2, Q = 1;
  for (int s = 0; rq && s < rq->nints; s++) Q *= rq->ints[s]; /* the verifier checked Q | len */
  for (int s = 0; s < st->nints; s++) {
    int64_t k = st->ints[s];
    if (k < 1 || k > 30 || ((int64_t)1 << k) > len || (len / Q) % ((int64_t)1 << k)) {
      CG_ERR(c, "cpu backend: fft stage of size 2^%lld does not fit an axis of %lld",
             (long long)k, (long long)len);
      return false;
    }
    if (((int64_t)1 << k) > M) M = (int64_t)1 << k;
  }
  float *tw = malloc(sizeof(float) * (size_t)M);
  if (!tw) return false;
  for (int64_t j = 0; j < M / 2; j++) {
    double a = -2.0 * M_PI * (double)j / (double)M;
    tw[2 * j] = (float)cos(a);
    tw[2 * j + 1] = (float)sin(a);
  }
  LLVMValueRef tab = cg_const_f32_array(c, tw, M, "fft_twiddles");
  free(tw);
  if (!tab) {
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  bool real_out = fab_op_int(op, "real_out", 0) != 0, rev = fab_op_int(op, "cpu.bitrev_in", 0) != 0;
  /* a folded bitrev: cpu-fold-fft-loads folds only lower-fourier's digit
   * order, the 2s first, then the radix list */
  cg_fft_perm perm;
  int64_t radices[64];
  int nr = 0;
  if (rq) {
    for (int64_t n2 = len / Q; n2 > 1 && nr < 64; n2 /= 2) radices[nr++] = 2;
    for (int s = 0; s < rq->nints && nr < 64; s++) radices[nr++] = rq->ints[s];
  }
  if (rev && !cg_fft_perm_init(c, &perm, len, rq ? radices : NULL, nr)) return false;
  const cg_fft_perm *pp = rev ? &perm : NULL;
  if (fab_op_int(op, "cpu.real_in", 0) && !(inner == 1 && len <= 8192)) {
    CG_ERR(c, "cpu backend: internal error: real rows folded into an fft the tiled kernel cannot take");
    return false;
  }
  if (inner == 1 && len <= 4096 && !real_out && fab_op_int(op, "cpu.real_in", 0) && !c->opts->no_real_dft) {
    gen_fft_tiled_pairs(c, op, st, tab, M, outer, len, pp, nrows);
    return true;
  }
  if (inner == 1 && len <= 8192) {
    gen_fft_tiled(c, op, st, tab, M, outer, len, real_out, pp, nrows);
    return true;
  }
  if (inner % c->lanes == 0 && len <= 8192) {
    bool herm = real_out && inner % (2 * c->lanes) == 0 && fab_op_int(op, "cpu.hermitian", 0);
    cg_gen_fft_columns(c, op, tab, M, outer, len, inner, real_out, herm, pp, nrows);
    return true;
  }
  /* Across a middle axis: blocks of `chunk` consecutive inner positions
   * go through every stage while they sit in cache (a whole [len, inner]
   * plane per stage would stream from memory), and blocks are the
   * parallel rows. */
  int64_t chunk = inner % 16 == 0 ? 16 : inner, nch = inner / chunk;
  *nrows = outer * nch;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  LLVMValueRef w = real_out ? cg_arg_f32(c, op->noperands + 1) : out;
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "block");
  LLVMValueRef o = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, nch), "");
  LLVMValueRef cb = cg_mulc(c, LLVMBuildSRem(c->b, r.iv, cg_i64(c, nch), ""), chunk);
  /* element (pos, i) of this block: (o * len + pos) * inner + cb + i */
  LLVMValueRef base = cg_add(c, cg_mulc(c, o, len * inner), cb);
  cg_loop pc = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "pos");
  LLVMValueRef e2 = cg_mulc(c, cg_add(c, base, cg_mulc(c, pc.iv, inner)), 2);
  LLVMValueRef sp = rev ? cg_fft_perm_src(c, pp, pc.iv) : pc.iv;
  LLVMValueRef s2 = cg_mulc(c, cg_add(c, base, cg_mulc(c, sp, inner)), 2);
  cg_memcpy(c, cg_gep(c, c->t_f32, w, e2), cg_gep(c, c->t_f32, in, s2), cg_i64(c, chunk * 8));
  cg_loop_end(c, &pc);
  for (int s = 0; s < st->nints; s++) {
    int64_t m = (int64_t)1 << st->ints[s], h = m / 2;
    cg_loop g = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, len), m, "group");
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, h), "j");
    LLVMValueRef ti = cg_mulc(c, cg_mulc(c, j.iv, M / m), 2);
    LLVMValueRef wr = cg_loadf(c, tab, ti), wi = cg_loadf(c, tab, cg_addc(c, ti, 1));
    LLVMValueRef pe = cg_add(c, base, cg_mulc(c, cg_add(c, g.iv, j.iv), inner));
    cg_loop i = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, chunk), "i");
    LLVMValueRef pi = cg_add(c, pe, i.iv);
    butterfly(c, w, pi, cg_addc(c, pi, h * inner), wr, wi);
    cg_loop_end(c, &i);
    cg_loop_end(c, &j);
    cg_loop_end(c, &g);
  }
  if (rq) {
    cg_loop i = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, chunk), "i");
    cg_fft_lines line = {w, cg_mulc(c, cg_add(c, base, i.iv), 2), 2 * inner, 1, 1, 4};
    cg_fft_radix_stages(c, &line, len, rq);
    cg_loop_end(c, &i);
  }
  if (real_out) {
    cg_loop p2 = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "pos");
    LLVMValueRef rb = cg_add(c, base, cg_mulc(c, p2.iv, inner));
    cg_loop e = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, chunk), "e");
    LLVMValueRef idx = cg_add(c, rb, e.iv);
    cg_storef(c, cg_loadf(c, w, cg_mulc(c, idx, 2)), out, idx);
    cg_loop_end(c, &e);
    cg_loop_end(c, &p2);
  }
  cg_loop_end(c, &r);
  return true;
}

/* dft along the last axis (non-power-of-two rows, e.g. d = 768): rows as
 * lanes, as in gen_fft_tiled.  A tile of V rows is transposed into 2 len
 * vectors; KB output frequencies at a time accumulate in 2 KB registers
 * over all inputs j, each twiddle w^(jk mod len) a broadcast from the
 * len-entry table (index kept incrementally, no multiply or modulo).  The
 * loop below it (inner == 1) kept one complex output in memory and ran a
 * scalar chain per (k, j): 95% of fabnet_base's time. */
static void gen_dft_tiled(cpu_cg *c, LLVMValueRef tab, int64_t rows, int64_t len, bool real_in, int64_t *nrows) {
  int V = c->lanes, KB = len % 4 == 0 ? 4 : len % 2 == 0 ? 2 : 1;
  /* A real input (the operand is `complex` of real rows, as fourier.mix's
   * first axis is) has a Hermitian spectrum, X[len - k] = conj(X[k]): only
   * k < kc ~ len/2 + 1 are accumulated, with no imaginary input terms, and
   * the rest are copied conjugated: a quarter of the FMAs. */
  int64_t kc = len;
  if (real_in && len >= 8) kc = (len / 2 + 1 + KB - 1) / KB * KB;
  else real_in = false;
  *nrows = (rows + V - 1) / V;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  LLVMValueRef ib = cg_lane_buffer(c, 2 * len, "lanes"), ob = cg_lane_buffer(c, 2 * len, "lanes");
  LLVMValueRef acc[8], idx[4];
  for (int t = 0; t < 2 * KB; t++) acc[t] = cg_alloca(c, c->t_vf, "dacc");
  for (int t = 0; t < KB; t++) idx[t] = cg_alloca(c, c->t_i64, "widx");
  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef r0 = cg_mulc(c, tl.iv, V);
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, rows), r0, "");
  LLVMValueRef nvalid = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, V), ""),
                                        left, cg_i64(c, V), "nvalid");
  cg_tile_copy(c, in, cg_mulc(c, r0, 2 * len), 2 * len, 2 * len, ib, 1, nvalid, true);
  cg_loop k = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, kc), KB, "kb");
  LLVMValueRef zero = LLVMConstNull(c->t_vf);
  for (int t = 0; t < 2 * KB; t++) LLVMBuildStore(c->b, zero, acc[t]);
  for (int t = 0; t < KB; t++) LLVMBuildStore(c->b, cg_i64(c, 0), idx[t]);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "j");
  LLVMValueRef bj = cg_mulc(c, j.iv, 2 * V);
  LLVMValueRef xr = cg_vload(c, ib, bj, 64), xi = NULL, nxi = NULL;
  if (!real_in) {
    xi = cg_vload(c, ib, cg_addc(c, bj, V), 64);
    nxi = LLVMBuildFNeg(c->b, xi, "");
  }
  for (int t = 0; t < KB; t++) {
    LLVMValueRef wix = LLVMBuildLoad2(c->b, c->t_i64, idx[t], "");
    LLVMValueRef w2 = cg_mulc(c, wix, 2);
    LLVMValueRef wr = cg_vsplat(c, cg_loadf(c, tab, w2), V), wi = cg_vsplat(c, cg_loadf(c, tab, cg_addc(c, w2, 1)), V);
    LLVMValueRef ar = LLVMBuildLoad2(c->b, c->t_vf, acc[2 * t], ""), ai = LLVMBuildLoad2(c->b, c->t_vf, acc[2 * t + 1], "");
    ar = cg_fma(c, xr, wr, ar);
    ai = cg_fma(c, xr, wi, ai);
    if (!real_in) {
      ar = cg_fma(c, nxi, wi, ar);
      ai = cg_fma(c, xi, wr, ai);
    }
    LLVMBuildStore(c->b, ar, acc[2 * t]);
    LLVMBuildStore(c->b, ai, acc[2 * t + 1]);
    LLVMValueRef nx = cg_add(c, wix, cg_addc(c, k.iv, t));
    LLVMValueRef wrap = LLVMBuildICmp(c->b, LLVMIntSGE, nx, cg_i64(c, len), "");
    LLVMBuildStore(c->b, LLVMBuildSelect(c->b, wrap, LLVMBuildNSWSub(c->b, nx, cg_i64(c, len), ""), nx, ""), idx[t]);
  }
  cg_loop_end_nounroll(c, &j);
  for (int t = 0; t < KB; t++) {
    LLVMValueRef bo = cg_mulc(c, cg_addc(c, k.iv, t), 2 * V);
    cg_vstore(c, LLVMBuildLoad2(c->b, c->t_vf, acc[2 * t], ""), ob, bo, 64);
    cg_vstore(c, LLVMBuildLoad2(c->b, c->t_vf, acc[2 * t + 1], ""), ob, cg_addc(c, bo, V), 64);
  }
  cg_loop_end_nounroll(c, &k);
  if (kc < len) {
    k = cg_loop_begin(c, cg_i64(c, kc), cg_i64(c, len), "mirror");
    LLVMValueRef bo = cg_mulc(c, k.iv, 2 * V);
    LLVMValueRef bm = cg_mulc(c, LLVMBuildNSWSub(c->b, cg_i64(c, len), k.iv, ""), 2 * V);
    cg_vstore(c, cg_vload(c, ob, bm, 64), ob, bo, 64);
    cg_vstore(c, LLVMBuildFNeg(c->b, cg_vload(c, ob, cg_addc(c, bm, V), 64), ""), ob, cg_addc(c, bo, V), 64);
    cg_loop_end_nounroll(c, &k);
  }
  cg_tile_copy(c, out, cg_mulc(c, r0, 2 * len), 2 * len, 2 * len, ob, 1, nvalid, false);
  cg_loop_end(c, &tl);
}

/* dft: X[k] = sum_j x[j] w^(jk mod n), accumulated into the zeroed result. */
static bool gen_dft(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  int64_t outer, len, inner;
  if (!fft_axis(c, op, &outer, &len, &inner)) return false;
  float *tw = malloc(sizeof(float) * (size_t)(2 * len));
  if (!tw) return false;
  for (int64_t j = 0; j < len; j++) {
    double a = -2.0 * M_PI * (double)j / (double)len;
    tw[2 * j] = (float)cos(a);
    tw[2 * j + 1] = (float)sin(a);
  }
  LLVMValueRef tab = cg_const_f32_array(c, tw, 2 * len, "dft_twiddles");
  free(tw);
  if (!tab) {
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  /* lane buffers of 2 x 2 len V floats on the stack: up to 512 KiB */
  if (inner == 1 && c->lanes > 1 && len <= 2048 && !c->opts->scalar_dft) {
    /* complex(x) has zero imaginary parts (one operand: ops.def) */
    bool real_in = c->f->ops[op->operands[0]].code == FAB_OP_COMPLEX && !c->opts->no_real_dft;
    gen_dft_tiled(c, tab, outer, len, real_in, nrows);
    return true;
  }
  *nrows = outer;
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1);
  int64_t run = len * inner;
  LLVMValueRef idx = cg_alloca(c, c->t_i64, "widx");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef base2 = cg_mulc(c, cg_mulc(c, r.iv, run), 2);
  LLVMValueRef orow = cg_gep(c, c->t_f32, out, base2), irow = cg_gep(c, c->t_f32, in, base2);
  cg_memset0(c, orow, cg_i64(c, run * 8));
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "k");
  LLVMBuildStore(c->b, cg_i64(c, 0), idx);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "j");
  LLVMValueRef wix = LLVMBuildLoad2(c->b, c->t_i64, idx, "");
  LLVMValueRef wr = cg_loadf(c, tab, cg_mulc(c, wix, 2)), wi = cg_loadf(c, tab, cg_addc(c, cg_mulc(c, wix, 2), 1));
  cg_loop i = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, inner), "i");
  LLVMValueRef xo = cg_mulc(c, cg_add(c, cg_mulc(c, j.iv, inner), i.iv), 2);
  LLVMValueRef oo = cg_mulc(c, cg_add(c, cg_mulc(c, k.iv, inner), i.iv), 2);
  LLVMValueRef xr = cg_loadf(c, irow, xo), xi = cg_loadf(c, irow, cg_addc(c, xo, 1));
  LLVMValueRef pr = LLVMBuildFSub(c->b, LLVMBuildFMul(c->b, wr, xr, ""), LLVMBuildFMul(c->b, wi, xi, ""), "");
  LLVMValueRef pim = LLVMBuildFAdd(c->b, LLVMBuildFMul(c->b, wr, xi, ""), LLVMBuildFMul(c->b, wi, xr, ""), "");
  cg_storef(c, LLVMBuildFAdd(c->b, cg_loadf(c, orow, oo), pr, ""), orow, oo);
  cg_storef(c, LLVMBuildFAdd(c->b, cg_loadf(c, orow, cg_addc(c, oo, 1)), pim, ""), orow, cg_addc(c, oo, 1));
  cg_loop_end(c, &i);
  LLVMValueRef nx = cg_add(c, wix, k.iv);
  LLVMValueRef wrap = LLVMBuildICmp(c->b, LLVMIntSGE, nx, cg_i64(c, len), "");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, wrap, LLVMBuildNSWSub(c->b, nx, cg_i64(c, len), ""), nx, ""), idx);
  cg_loop_end(c, &j);
  cg_loop_end(c, &k);
  cg_loop_end(c, &r);
  return true;
}

bool cg_gen_fft(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  if (op->code == FAB_OP_FFT_STAGES) return gen_fft_stages(c, op, nrows);
  return gen_dft(c, op, nrows);
}
