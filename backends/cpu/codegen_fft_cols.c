/* codegen_fft_cols.c — fft.stages across a middle axis with V | inner:
 * V adjacent inner positions (columns) are the SIMD lanes, a column block
 * of `len` positions sits in a lane buffer while every stage runs.
 *
 * Real output in pairs.  Only Re FFT(a) of a complex column a is kept
 * (real_out), and Re FFT(a) = FFT(h) for the column's Hermitian part
 * h[p] = (a[p] + conj a[-p]) / 2, whose transform is real.  Two column
 * blocks A and B therefore share one complex transform:
 * FFT(h_A + i h_B) = Re FFT(A) + i Re FFT(B).  h is formed on the way in
 * (positions p and -p are loaded together, in memory order, and land at
 * their bit- or digit-reversed places in the lane buffer), which needs
 * the reversal folded into the loads (cpu.bitrev_in): half the
 * transforms of the plain column path.  `--codegen no-real-dft` keeps the
 * plain path. */
#include "cpu_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct cvec {
  LLVMValueRef re, im;
} cvec;

/* Shuffle masks: even / odd lanes of two vectors (complex -> re, im) and
 * back (lo, hi), and the lane reversal. */
typedef struct col_masks {
  LLVMValueRef even, odd, lo, hi, rev;
} col_masks;

static col_masks make_masks(cpu_cg *c) {
  int V = c->lanes;
  LLVMValueRef even[32], odd[32], lo[32], hi[32], rev[32];
  for (int i = 0; i < V; i++) {
    even[i] = cg_i32(c, 2 * i);
    odd[i] = cg_i32(c, 2 * i + 1);
    lo[i] = cg_i32(c, (i & 1) ? V + i / 2 : i / 2);
    hi[i] = cg_i32(c, (i & 1) ? V + V / 2 + i / 2 : V / 2 + i / 2);
    rev[i] = cg_i32(c, V - 1 - i);
  }
  unsigned n = (unsigned)V;
  return (col_masks){LLVMConstVector(even, n), LLVMConstVector(odd, n), LLVMConstVector(lo, n),
                     LLVMConstVector(hi, n), LLVMConstVector(rev, n)};
}

/* V interleaved complex values at complex index e of x, as (re, im). */
static cvec load_cols(cpu_cg *c, const col_masks *k, LLVMValueRef x, LLVMValueRef e) {
  LLVMValueRef f2 = cg_mulc(c, e, 2);
  LLVMValueRef v0 = cg_vload(c, x, f2, 4), v1 = cg_vload(c, x, cg_addc(c, f2, c->lanes), 4);
  return (cvec){LLVMBuildShuffleVector(c->b, v0, v1, k->even, "re"),
                LLVMBuildShuffleVector(c->b, v0, v1, k->odd, "im")};
}

static void store_lanes(cpu_cg *c, LLVMValueRef buf, LLVMValueRef q, cvec z) {
  LLVMValueRef bi = cg_mulc(c, q, 2 * c->lanes);
  cg_vstore(c, z.re, buf, bi, 64);
  cg_vstore(c, z.im, buf, cg_addc(c, bi, c->lanes), 64);
}

/* The plain path: the block's columns (complex, position q from input
 * position src(q)) go through the transform; all of Y, or its real part
 * (with cpu.hermitian: columns below W/2 also stored mirrored, W - k of
 * row (-s) mod S, and one more block for column W/2 alone: W/2 + V
 * columns transformed, not W). */
static void gen_plain(cpu_cg *c, const fab_op *op, LLVMValueRef tab, int64_t M, int64_t outer, int64_t len,
                      int64_t inner, bool real_out, bool hermitian, const cg_fft_perm *perm, int64_t *nrows) {
  int V = c->lanes;
  int64_t half = inner / 2;
  int64_t nch = hermitian ? half / V + 1 : inner / V;
  *nrows = outer * nch;
  col_masks k = make_masks(c);
  LLVMValueRef out = cg_arg_f32(c, 0), in = cg_arg_f32(c, 1), buf = cg_lane_buffer(c, 2 * len, "lanes");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "block");
  LLVMValueRef o = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, nch), "");
  LLVMValueRef cb = cg_mulc(c, LLVMBuildSRem(c->b, r.iv, cg_i64(c, nch), ""), V);
  LLVMValueRef base = cg_add(c, cg_mulc(c, o, len * inner), cb); /* complex index of (0, cb) */
  cg_loop p = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "pos");
  LLVMValueRef sp = perm ? cg_fft_perm_src(c, perm, p.iv) : p.iv;
  store_lanes(c, buf, p.iv, load_cols(c, &k, in, cg_add(c, base, cg_mulc(c, sp, inner))));
  cg_loop_end_nounroll(c, &p);
  cg_fft_all_stages(c, buf, tab, M, len, fab_op_attr(op, "stages"));
  cg_fft_lines lanes = {buf, cg_i64(c, 0), 2 * V, V, V, 64};
  cg_fft_radix_stages(c, &lanes, len, fab_op_attr(op, "radix"));
  p = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "pos");
  LLVMValueRef e = cg_add(c, base, cg_mulc(c, p.iv, inner));
  LLVMValueRef bi = cg_mulc(c, p.iv, 2 * V);
  LLVMValueRef re = cg_vload(c, buf, bi, 64);
  if (hermitian) {
    LLVMValueRef nyq = LLVMBuildICmp(c->b, LLVMIntEQ, cb, cg_i64(c, half), "");
    LLVMBasicBlockRef join = cg_if_begin(c, nyq); /* the column W/2 block: lane 0 only */
    cg_storef(c, LLVMBuildExtractElement(c->b, re, cg_i32(c, 0), ""), out, e);
    cg_if_end(c, join);
    LLVMBasicBlockRef join2 = cg_if_begin(c, LLVMBuildNot(c->b, nyq, ""));
    cg_vstore(c, re, out, e, 4);
    /* mirror: out[o, (len - p) mod len, W - k] = Re Y[o, p, k] for k = cb + i > 0 */
    LLVMValueRef q = LLVMBuildURem(c->b, LLVMBuildNSWSub(c->b, cg_i64(c, len), p.iv, ""), cg_i64(c, len), "");
    LLVMValueRef mrow = cg_add(c, cg_mulc(c, o, len * inner), cg_mulc(c, q, inner));
    for (int i = 0; i < V; i++) {
      LLVMValueRef kk = cg_addc(c, cb, i);
      LLVMBasicBlockRef j3 = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntNE, kk, cg_i64(c, 0), ""));
      LLVMValueRef dst = cg_add(c, mrow, LLVMBuildNSWSub(c->b, cg_i64(c, inner), kk, ""));
      cg_storef(c, LLVMBuildExtractElement(c->b, re, cg_i32(c, i), ""), out, dst);
      cg_if_end(c, j3);
    }
    cg_if_end(c, join2);
  } else if (real_out) {
    cg_vstore(c, re, out, e, 4);
  } else {
    LLVMValueRef im = cg_vload(c, buf, cg_addc(c, bi, V), 64), f2 = cg_mulc(c, e, 2);
    cg_vstore(c, LLVMBuildShuffleVector(c->b, re, im, k.lo, ""), out, f2, 4);
    cg_vstore(c, LLVMBuildShuffleVector(c->b, re, im, k.hi, ""), out, cg_addc(c, f2, V), 4);
  }
  cg_loop_end_nounroll(c, &p);
  cg_loop_end(c, &r);
}

/* ---- real output in pairs ------------------------------------------------ */

typedef struct pair_kernel {
  LLVMValueRef out, in, buf;
  int64_t len, inner;
  bool hermitian;
  const cg_fft_perm *perm;
  col_masks k;
} pair_kernel;

/* Column W/2 read along with the last pair unit's blocks (its rows are
 * the lines next to theirs): the unit's own lane buffer holds the pair,
 * `buf` column W/2's h, h[p] at lane p mod V, position rev(p / V). */
typedef struct nyq_col {
  LLVMValueRef buf, tw, last; /* last: this unit also does column W/2 */
  cg_fft_perm rev;           /* bit reversal of L = len / V */
} nyq_col;

static void load_nyq(cpu_cg *c, const pair_kernel *pk, const nyq_col *nq, LLVMValueRef col, LLVMValueRef p,
                     LLVMValueRef m);

/* z = h_A + i h_B (h_B = 0 without B) at positions p and m = -p of the
 * block pair whose first column is complex index `base` + cb, into the
 * lane buffer at dst(p) and dst(m).  With er = (A_p.re + A_m.re) / 2,
 * oi = (A_p.im - A_m.im) / 2, and fr, gi the same of B:
 * z[p] = (er - gi, oi + fr), z[m] = (er + gi, fr - oi). */
static void load_hermitian_parts(cpu_cg *c, const pair_kernel *pk, LLVMValueRef base, bool with_b,
                                 const nyq_col *nq, LLVMValueRef col) {
  int V = c->lanes;
  int64_t len = pk->len, inner = pk->inner;
  LLVMValueRef hv = cg_vsplat(c, cg_f32(c, 0.5), V);
  cg_loop p = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len / 2 + 1), "pos");
  LLVMValueRef m = LLVMBuildURem(c->b, LLVMBuildNSWSub(c->b, cg_i64(c, len), p.iv, ""), cg_i64(c, len), "");
  LLVMValueRef ep = cg_add(c, base, cg_mulc(c, p.iv, inner)), em = cg_add(c, base, cg_mulc(c, m, inner));
  cvec ap = load_cols(c, &pk->k, pk->in, ep), am = load_cols(c, &pk->k, pk->in, em);
  LLVMValueRef er = LLVMBuildFMul(c->b, LLVMBuildFAdd(c->b, ap.re, am.re, ""), hv, "");
  LLVMValueRef oi = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, ap.im, am.im, ""), hv, "");
  cvec zp = {er, oi}, zm = {er, LLVMBuildFNeg(c->b, oi, "")};
  if (with_b) {
    cvec bp = load_cols(c, &pk->k, pk->in, cg_addc(c, ep, V)), bm = load_cols(c, &pk->k, pk->in, cg_addc(c, em, V));
    LLVMValueRef fr = LLVMBuildFMul(c->b, LLVMBuildFAdd(c->b, bp.re, bm.re, ""), hv, "");
    LLVMValueRef gi = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, bp.im, bm.im, ""), hv, "");
    zp = (cvec){LLVMBuildFSub(c->b, er, gi, ""), LLVMBuildFAdd(c->b, oi, fr, "")};
    zm = (cvec){LLVMBuildFAdd(c->b, er, gi, ""), LLVMBuildFSub(c->b, fr, oi, "")};
  }
  /* p = -p (p = 0, len / 2): both give the same z */
  store_lanes(c, pk->buf, cg_fft_perm_dst(c, pk->perm, m), zm);
  store_lanes(c, pk->buf, cg_fft_perm_dst(c, pk->perm, p.iv), zp);
  if (nq) {
    LLVMBasicBlockRef join = cg_if_begin(c, nq->last);
    load_nyq(c, pk, nq, col, p.iv, m);
    cg_if_end(c, join);
  }
  cg_loop_end_nounroll(c, &p);
}

/* v (V real outputs, columns cb..) at row s; with cpu.hermitian also
 * mirrored, out[(-s) mod len, W - k] for k = cb + i > 0: one reversed
 * vector (its last lane, column W, masked off when cb = 0). */
static void store_real(cpu_cg *c, const pair_kernel *pk, LLVMValueRef rowbase, LLVMValueRef s, LLVMValueRef cb,
                       LLVMValueRef v) {
  int V = c->lanes;
  int64_t len = pk->len, inner = pk->inner;
  cg_vstore(c, v, pk->out, cg_add(c, cg_add(c, rowbase, cg_mulc(c, s, inner)), cb), 4);
  if (!pk->hermitian) return;
  LLVMValueRef r = LLVMBuildURem(c->b, LLVMBuildNSWSub(c->b, cg_i64(c, len), s, ""), cg_i64(c, len), "");
  LLVMValueRef col = LLVMBuildNSWSub(c->b, cg_i64(c, inner - V + 1), cb, ""); /* W - cb - (V - 1) */
  LLVMValueRef at = cg_add(c, cg_add(c, rowbase, cg_mulc(c, r, inner)), col);
  LLVMValueRef rv = LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(c->t_vf), pk->k.rev, "mirror");
  LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, cb, cg_i64(c, 0), "");
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildNot(c->b, first, ""));
  cg_vstore(c, rv, pk->out, at, 4);
  cg_if_end(c, join);
  join = cg_if_begin(c, first); /* columns W - V + 1 .. W - 1 */
  LLVMValueRef bits[32];
  for (int i = 0; i < V; i++) bits[i] = LLVMConstInt(c->t_i1, i < V - 1, 0);
  LLVMTypeRef ps[4] = {c->t_vf, c->t_vfp, c->t_i32, LLVMVectorType(c->t_i1, (unsigned)V)};
  char name[48];
  snprintf(name, sizeof name, "llvm.masked.store.v%df32.p0v%df32", V, V);
  LLVMTypeRef fty = LLVMFunctionType(c->t_void, ps, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (!fn) fn = LLVMAddFunction(c->mod, name, fty);
  LLVMValueRef args[4] = {rv, LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, pk->out, at), c->t_vfp, ""), cg_i32(c, 4),
                          LLVMConstVector(bits, (unsigned)V)};
  LLVMBuildCall2(c->b, fty, fn, args, 4, "");
  cg_if_end(c, join);
}

/* Where a unit stores: its first column cb (complex index base of row
 * 0), whether B is there too (both) or it is column W/2's block (nyq). */
typedef struct unit_at {
  LLVMValueRef rowbase, base, cb, both, nyq;
} unit_at;

/* Row s of the unit's transform, Re FFT(A) + i Re FFT(B) = (re, im). */
static void store_row(cpu_cg *c, const pair_kernel *pk, const unit_at *u, LLVMValueRef s, LLVMValueRef re,
                      LLVMValueRef im) {
  LLVMBasicBlockRef join = cg_if_begin(c, u->nyq); /* column W/2: lane 0 only, its own mirror */
  LLVMValueRef lane0 = LLVMBuildExtractElement(c->b, re, cg_i32(c, 0), "");
  cg_storef(c, lane0, pk->out, cg_add(c, u->base, cg_mulc(c, s, pk->inner)));
  cg_if_end(c, join);
  join = cg_if_begin(c, LLVMBuildNot(c->b, u->nyq, ""));
  store_real(c, pk, u->rowbase, s, u->cb, re);
  LLVMBasicBlockRef jb = cg_if_begin(c, u->both);
  store_real(c, pk, u->rowbase, s, cg_addc(c, u->cb, c->lanes), im);
  cg_if_end(c, jb);
  cg_if_end(c, join);
}

/* The stages and the stores.  When the last stage is the whole axis
 * (radix 2 only), it runs in the store loop: y[s] and y[s + len/2] from
 * positions s and s + len/2 of the lane buffer, one pass over it fewer
 * (len 1024: stages in groups 3, 3, 3 + the stores, not 3, 3, 3, 1). */
static void transform_and_store(cpu_cg *c, const fab_op *op, const pair_kernel *pk, const unit_at *u,
                                LLVMValueRef tab, int64_t M) {
  int V = c->lanes;
  int64_t len = pk->len;
  const fab_attr *st = fab_op_attr(op, "stages"), *rq = fab_op_attr(op, "radix");
  fab_attr head = *st;
  bool fuse = !rq && st->nints >= 2 && ((int64_t)1 << st->ints[st->nints - 1]) == len && M == len;
  if (fuse) head.nints--;
  cg_fft_all_stages(c, pk->buf, tab, M, len, &head);
  cg_fft_lines lanes = {pk->buf, cg_i64(c, 0), 2 * V, V, V, 64};
  cg_fft_radix_stages(c, &lanes, len, rq);
  cg_loop s = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, fuse ? len / 2 : len), "pos");
  LLVMValueRef bi = cg_mulc(c, s.iv, 2 * V);
  LLVMValueRef re = cg_vload(c, pk->buf, bi, 64), im = cg_vload(c, pk->buf, cg_addc(c, bi, V), 64);
  if (fuse) { /* t = w^s y[s + len/2]; y[s] + t, y[s] - t */
    LLVMValueRef bh = cg_addc(c, bi, len * V);
    LLVMValueRef hr = cg_vload(c, pk->buf, bh, 64), hi = cg_vload(c, pk->buf, cg_addc(c, bh, V), 64);
    LLVMValueRef ti = cg_mulc(c, s.iv, 2);
    LLVMValueRef wr = cg_vsplat(c, cg_loadf(c, tab, ti), V), wi = cg_vsplat(c, cg_loadf(c, tab, cg_addc(c, ti, 1)), V);
    LLVMValueRef tr = cg_fma(c, wr, hr, LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, wi, hi, ""), ""));
    LLVMValueRef tim = cg_fma(c, wr, hi, LLVMBuildFMul(c->b, wi, hr, ""));
    store_row(c, pk, u, cg_addc(c, s.iv, len / 2), LLVMBuildFSub(c->b, re, tr, ""), LLVMBuildFSub(c->b, im, tim, ""));
    re = LLVMBuildFAdd(c->b, re, tr, "");
    im = LLVMBuildFAdd(c->b, im, tim, "");
  }
  store_row(c, pk, u, s.iv, re, im);
  cg_loop_end_nounroll(c, &s);
}

/* ---- column W/2 alone, its length over the lanes ------------------------ */

/* Column W/2 is a single column: transformed with the V columns of a block
 * as lanes it would cost a pair's unit for one column (and with 2 threads
 * 4 pairs + it split 3/2).  Instead its N = V L positions go over the
 * lanes (four-step): lane l holds h[V m + l] at position m, an L-point
 * transform on every lane, the twiddle w_N^(l k1) and a V-point DFT
 * across the lanes (decimation in frequency, shuffles) give
 * Y[k1 + L k2] = sum_l w_V^(l k2) w_N^(l k1) sum_m h[V m + l] w_L^(m k1):
 * a fraction of a pair unit's work, done by the last unit. */
static bool nyq_split_fits(const cpu_cg *c, const fab_op *op, int64_t M, int64_t len) {
  const fab_attr *st = fab_op_attr(op, "stages");
  int64_t L = len / c->lanes, seen = 0, all = 0;
  if (fab_op_attr(op, "radix") || M != len || len % c->lanes || L < 2 || (L & (L - 1)) || len > 8192) return false;
  for (int64_t n = len; n > 1; n /= 2) all = all * 2 + 2; /* bits 1 .. log2 len */
  for (int s = 0; st && s < st->nints; s++) { /* every stage once: the whole DFT */
    if (st->ints[s] < 1 || st->ints[s] > 20 || (seen >> st->ints[s] & 1)) return false;
    seen |= (int64_t)1 << st->ints[s];
  }
  return seen == all;
}

/* w_N^(l k1) for k1 < L (rows of 2V floats: V re, V im). */
static LLVMValueRef split_twiddles(cpu_cg *c, int64_t L) {
  int V = c->lanes;
  int64_t N = L * V;
  float *tw = malloc(sizeof(float) * (size_t)(2 * N));
  if (!tw) return NULL;
  for (int64_t k = 0; k < L; k++)
    for (int l = 0; l < V; l++) {
      double a = -2.0 * M_PI * (double)(l * k) / (double)N;
      tw[k * 2 * V + l] = (float)cos(a);
      tw[k * 2 * V + V + l] = (float)sin(a);
    }
  LLVMValueRef t = cg_const_f32_array(c, tw, 2 * N, "fft_split_twiddles");
  free(tw);
  return t;
}

/* h[p] (re, im) into lane p mod V, position rev(p / V) of nq->buf. */
static void store_h(cpu_cg *c, const nyq_col *nq, LLVMValueRef p, LLVMValueRef re, LLVMValueRef im) {
  int V = c->lanes;
  LLVMValueRef m = LLVMBuildLShr(c->b, p, cg_i64(c, cg_log2i(c->lanes)), "");
  LLVMValueRef at = cg_add(c, cg_mulc(c, cg_fft_perm_dst(c, &nq->rev, m), 2 * V),
                           LLVMBuildAnd(c->b, p, cg_i64(c, V - 1), ""));
  cg_storef(c, re, nq->buf, at);
  cg_storef(c, im, nq->buf, cg_addc(c, at, V));
}

/* h[p] and h[m] = conj h[p] (m = -p) of column W/2 (complex index col of
 * row 0): h[p] = (a[p] + conj a[m]) / 2. */
static void load_nyq(cpu_cg *c, const pair_kernel *pk, const nyq_col *nq, LLVMValueRef col, LLVMValueRef p,
                     LLVMValueRef m) {
  LLVMValueRef half = cg_f32(c, 0.5);
  LLVMValueRef ip = cg_mulc(c, cg_add(c, col, cg_mulc(c, p, pk->inner)), 2);
  LLVMValueRef im = cg_mulc(c, cg_add(c, col, cg_mulc(c, m, pk->inner)), 2);
  LLVMValueRef re = LLVMBuildFAdd(c->b, cg_loadf(c, pk->in, ip), cg_loadf(c, pk->in, im), "");
  LLVMValueRef od = LLVMBuildFSub(c->b, cg_loadf(c, pk->in, cg_addc(c, ip, 1)),
                                  cg_loadf(c, pk->in, cg_addc(c, im, 1)), "");
  re = LLVMBuildFMul(c->b, re, half, "");
  od = LLVMBuildFMul(c->b, od, half, "");
  store_h(c, nq, m, re, LLVMBuildFNeg(c->b, od, ""));
  store_h(c, nq, p, re, od);
}

/* One radix-2 DIF stage across the lanes, pairs h lanes apart:
 * (a, b) -> (a + b, (a - b) w_2h^j). */
static cvec lane_stage(cpu_cg *c, cvec v, int h) {
  int V = c->lanes;
  LLVMValueRef lo[32], hi[32], sg[32], wr[32], wi[32];
  for (int l = 0; l < V; l++) {
    bool up = l & h;
    double a = -2.0 * M_PI * (double)(l & (h - 1)) / (double)(2 * h);
    lo[l] = cg_i32(c, l & ~h);
    hi[l] = cg_i32(c, l | h);
    sg[l] = cg_f32(c, up ? -1.0f : 1.0f);
    wr[l] = cg_f32(c, up ? (float)cos(a) : 1.0f);
    wi[l] = cg_f32(c, up ? (float)sin(a) : 0.0f);
  }
  unsigned n = (unsigned)V;
  LLVMValueRef ml = LLVMConstVector(lo, n), mh = LLVMConstVector(hi, n), s = LLVMConstVector(sg, n);
  LLVMValueRef ar = LLVMBuildShuffleVector(c->b, v.re, v.re, ml, "");
  LLVMValueRef ai = LLVMBuildShuffleVector(c->b, v.im, v.im, ml, "");
  LLVMValueRef br = LLVMBuildShuffleVector(c->b, v.re, v.re, mh, "");
  LLVMValueRef bi = LLVMBuildShuffleVector(c->b, v.im, v.im, mh, "");
  LLVMValueRef tr = cg_fma(c, s, br, ar), ti = cg_fma(c, s, bi, ai);
  if (h == 1) return (cvec){tr, ti}; /* w_2^0 = 1 */
  LLVMValueRef Wr = LLVMConstVector(wr, n), Wi = LLVMConstVector(wi, n);
  return (cvec){cg_fma(c, tr, Wr, LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, ti, Wi, ""), "")),
                cg_fma(c, tr, Wi, LLVMBuildFMul(c->b, ti, Wr, ""))};
}

/* Column W/2's transform from nq->buf (filled by the loads) and its real
 * output at rows s of out column W/2. */
static void gen_nyq_split(cpu_cg *c, const pair_kernel *pk, const nyq_col *nq, LLVMValueRef tab, int64_t M,
                          LLVMValueRef col) {
  int V = c->lanes, lv = cg_log2i(c->lanes), nl = 0;
  int64_t N = pk->len, L = N / V, ints[32];
  for (int64_t n = 1; n < L; n *= 2) ints[nl] = nl + 1, nl++;
  fab_attr st = {.key = "stages", .kind = FAB_ATTR_INTS, .ints = ints, .nints = nl};
  cg_fft_all_stages(c, nq->buf, tab, M, L, &st);
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, L), "pos");
  LLVMValueRef bi = cg_mulc(c, k.iv, 2 * V);
  LLVMValueRef yr = cg_vload(c, nq->buf, bi, 64), yi = cg_vload(c, nq->buf, cg_addc(c, bi, V), 64);
  LLVMValueRef wr = cg_vload(c, nq->tw, bi, 4), wi = cg_vload(c, nq->tw, cg_addc(c, bi, V), 4);
  cvec v = {cg_fma(c, wr, yr, LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, wi, yi, ""), "")),
            cg_fma(c, wr, yi, LLVMBuildFMul(c->b, wi, yr, ""))};
  for (int h = V / 2; h >= 1; h /= 2) v = lane_stage(c, v, h);
  for (int j = 0; j < V; j++) { /* lane j holds k2 = rev(j) */
    LLVMValueRef s = cg_addc(c, k.iv, L * cg_rev_const(j, lv));
    LLVMValueRef y = LLVMBuildExtractElement(c->b, v.re, cg_i32(c, j), "");
    cg_storef(c, y, pk->out, cg_add(c, col, cg_mulc(c, s, pk->inner)));
  }
  cg_loop_end_nounroll(c, &k);
}

/* Units per outer index: the pairs of V-column blocks, a last block
 * alone when their count is odd, and with cpu.hermitian column W/2 (only
 * it is stored): W/2 + 1 columns in ceil(W / 4V) units.  Column W/2 goes
 * with the last unit, over the lanes (nyq_split_fits; else its block is a
 * unit of its own, ceil(W / 4V) + 1): units of equal cost, but for a
 * fraction of one, so 2 threads split fabnet_text's 4 evenly (not 5 as
 * 3/2). */
static void gen_pairs(cpu_cg *c, const fab_op *op, LLVMValueRef tab, int64_t M, int64_t outer, int64_t len,
                      int64_t inner, bool hermitian, const cg_fft_perm *perm, int64_t *nrows) {
  int V = c->lanes;
  nyq_col nq = {0};
  bool split = hermitian && nyq_split_fits(c, op, M, len) && cg_fft_perm_init(c, &nq.rev, len / V, NULL, 0) &&
               (nq.tw = split_twiddles(c, len / V)) != NULL;
  int64_t nb = (hermitian ? inner / 2 : inner) / V, np = nb / 2;
  int64_t units = (nb + 1) / 2 + (hermitian && !split ? 1 : 0);
  *nrows = outer * units;
  pair_kernel pk = {cg_arg_f32(c, 0), cg_arg_f32(c, 1), cg_lane_buffer(c, 2 * len, "lanes"), len, inner, hermitian, perm,
                    make_masks(c)};
  if (split) nq.buf = cg_lane_buffer(c, 2 * (len / V), "lanes");
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "unit");
  LLVMValueRef o = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, units), "");
  LLVMValueRef j = LLVMBuildSRem(c->b, r.iv, cg_i64(c, units), "");
  unit_at u = {cg_mulc(c, o, len * inner), NULL, cg_mulc(c, j, 2 * V),
               LLVMBuildICmp(c->b, LLVMIntSLT, j, cg_i64(c, np), "pair"), LLVMConstInt(c->t_i1, 0, 0)};
  LLVMValueRef last = LLVMBuildICmp(c->b, LLVMIntEQ, j, cg_i64(c, units - 1), "last");
  /* the last unit is column W/2's block (hermitian, not split) or a lone
   * block; split: the last unit does column W/2 as well */
  if (hermitian && !split) {
    u.nyq = last;
    u.cb = LLVMBuildSelect(c->b, u.nyq, cg_i64(c, inner / 2), u.cb, "cb");
  }
  nq.last = last;
  const nyq_col *nqp = split ? &nq : NULL;
  LLVMValueRef col = cg_addc(c, u.rowbase, inner / 2);
  u.base = cg_add(c, u.rowbase, u.cb);
  LLVMBasicBlockRef join = cg_if_begin(c, u.both);
  load_hermitian_parts(c, &pk, u.base, true, nqp, col);
  cg_if_end(c, join);
  join = cg_if_begin(c, LLVMBuildNot(c->b, u.both, ""));
  load_hermitian_parts(c, &pk, u.base, false, nqp, col);
  cg_if_end(c, join);
  transform_and_store(c, op, &pk, &u, tab, M);
  if (split) {
    join = cg_if_begin(c, last);
    gen_nyq_split(c, &pk, &nq, tab, M, col);
    cg_if_end(c, join);
  }
  cg_loop_end(c, &r);
}

void cg_gen_fft_columns(cpu_cg *c, const fab_op *op, LLVMValueRef tab, int64_t M, int64_t outer, int64_t len,
                        int64_t inner, bool real_out, bool hermitian, const cg_fft_perm *perm, int64_t *nrows) {
  if (real_out && perm && c->lanes >= 2 && !c->opts->no_real_dft)
    gen_pairs(c, op, tab, M, outer, len, inner, hermitian, perm, nrows);
  else
    gen_plain(c, op, tab, M, outer, len, inner, real_out, hermitian, perm, nrows);
}
