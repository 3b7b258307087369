/* kernel_bfly_rows.c — bfly.stages on the rows as they lie in memory.
 *
 * The lane kernel (kernel_bfly.c) transposes every tile of V rows into
 * lanes and back; on Zen 4 those transposes cost as much as a third of the
 * op and do not overlap the FMAs.  Here a vector is V consecutive
 * positions of one row instead, so nothing is transposed:
 *
 *   - a stage of stride 2^l >= V pairs whole vectors of a row; its
 *     twiddles differ per position, so they are vectors too, the same for
 *     every row: they are loaded (and de-interleaved from the [.., 2, 2]
 *     layout) once per column block and stay in registers while the block
 *     runs over a block of R rows.  Up to two such stages run per pass
 *     (radix 4: 4 data + 16 twiddle registers);
 *   - a run of stages of stride < V works inside each vector: a stage
 *     pairs lanes j and j ^ 2^l, done with one in-register shuffle (every
 *     lane's partner) and lane-wise twiddle vectors.  Such a run rides on the next high pass (before
 *     its stages), or the last run on the last high pass (after them),
 *     saving a pass over the rows (N = 1024: 0.59 -> 0.54 ms); only an op
 *     without high stages has a pass of its own for it.
 *
 * A high stage computes every output exactly as the lane kernel does
 * (fma(t01, q, t00 * a) and fma(t11, q, t10 * a)); a low stage computes
 * the pair's second output as fma(t10, a, t11 * q) (one shuffle instead
 * of two; N = 1024: 5-10% faster), which may round differently in the last
 * bit.  The twiddles are first laid out as the passes read them
 * (build_table: once per binding for weight twiddles, in the op's prepare
 * kernel; per stack and call for computed ones).  The first pass reads x, the
 * others work in place on the output rows, BLOCK_ROWS rows at a time.
 * Rows longer than CHUNK_FLOATS run in phases, chunk by chunk through a
 * block scratch (run_phases), prefetching the next block of x and
 * streaming large results past the caches.  The prepared table is normally the
 * factored form (cg_bfly_factor's, kernel_bfly.c): one FMA per output,
 * fma(u, q, a) and fma(v, a, q), the last scales multiplied into the last
 * pass's stores; twiddles without a factored form in range run the plain
 * operations above. */
#include "cpu_internal.h"

#include <stdlib.h>

typedef cg_bfly_stage stage;


/* Floats of stage st's twiddle block (s is the stack, an i64 value). */
static LLVMValueRef tw_base(cpu_cg *c, const cg_bfly_plan *p, const stage *st, LLVMValueRef s) {
  return cg_mulc(c, cg_addc(c, cg_mulc(c, s, p->B * p->L), st->b * p->L + st->k), p->n / 2 * 4);
}

static LLVMValueRef shuffle1(cpu_cg *c, LLVMValueRef a, LLVMValueRef b, const int *m) {
  LLVMValueRef k[64];
  for (int j = 0; j < c->lanes; j++) k[j] = cg_i32(c, m[j]);
  return LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(k, (unsigned)c->lanes), "");
}

/* p with a zero bit inserted at position l (i64 value). */
static LLVMValueRef insert_zero_bit(cpu_cg *c, LLVMValueRef p, int64_t l) {
  LLVMValueRef lowmask = cg_i64(c, ((int64_t)1 << l) - 1);
  LLVMValueRef hi = LLVMBuildShl(c->b, LLVMBuildLShr(c->b, p, cg_i64(c, l), ""), cg_i64(c, l + 1), "");
  return LLVMBuildOr(c->b, hi, LLVMBuildAnd(c->b, p, lowmask, ""), "");
}

/* The four twiddle vectors (t00, t01, t10, t11 for V consecutive
 * butterflies from float `at`): four loads de-interleaved. */
static void twiddle4(cpu_cg *c, LLVMValueRef tw, LLVMValueRef at, LLVMValueRef *t) {
  int V = c->lanes, per = V / 4;
  LLVMValueRef z[4];
  for (int q = 0; q < 4; q++) z[q] = cg_vload(c, tw, cg_addc(c, at, (int64_t)q * V), 4);
  for (int k = 0; k < 4; k++) {
    int m[64];
    /* lanes [0, 2 per) from z0, z1; the rest from z2, z3, then merged */
    for (int j = 0; j < V; j++) m[j] = j < 2 * per ? (j / per) * V + (j % per) * 4 + k : 0;
    LLVMValueRef lo = shuffle1(c, z[0], z[1], m), hi = shuffle1(c, z[2], z[3], m);
    for (int j = 0; j < V; j++) m[j] = j < 2 * per ? j : V + j - 2 * per;
    t[k] = shuffle1(c, lo, hi, m);
  }
}

/* Stage st's index in the plan (its slot in the twiddle table). */
static int64_t st_index(const cg_bfly_plan *p, const stage *st) { return st - p->st; }

/* The twiddles of every stage of stack s, laid out as the passes read
 * them (2 n floats a stage): a high stage as blocks of V butterflies
 * [t00 | t01 | t10 | t11] (vectors), a low stage as blocks of V positions
 * [t00 or t11 by lane (its own value's factor) | t01 or t10 (its
 * partner's)]. */
/* The factored form (cg_bfly_factor in kernel_bfly.c) of a block of V
 * butterflies or lanes: the scales own (A) and the factors of the partner
 * (u); D (the scales so far) at the own and partner positions. */
static LLVMValueRef factor_vec(cpu_cg *c, LLVMValueRef t_own, LLVMValueRef t_partner, LLVMValueRef d_own,
                               LLVMValueRef d_partner, LLVMValueRef *scale, LLVMValueRef bad) {
  int V = c->lanes;
  LLVMValueRef A = LLVMBuildFMul(c->b, t_own, d_own, "");
  LLVMValueRef u = LLVMBuildFDiv(c->b, LLVMBuildFMul(c->b, t_partner, d_partner, ""), A, "");
  LLVMValueRef aa = cg_call_intr(c, "llvm.fabs", c->t_vf, &A, 1), au = cg_call_intr(c, "llvm.fabs", c->t_vf, &u, 1);
  LLVMValueRef lo = cg_vsplat(c, cg_f32(c, 0x1p-60), V), hi = cg_vsplat(c, cg_f32(c, 0x1p60), V);
  LLVMValueRef ok = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealOGE, aa, lo, ""), LLVMBuildFCmp(c->b, LLVMRealOLE, aa, hi, ""), "");
  ok = LLVMBuildAnd(c->b, ok, LLVMBuildFCmp(c->b, LLVMRealOLE, au, hi, ""), "");
  LLVMTypeRef iv = LLVMIntTypeInContext(c->ctx, (unsigned)V);
  LLVMValueRef all = LLVMBuildICmp(c->b, LLVMIntEQ, LLVMBuildBitCast(c->b, ok, iv, ""), LLVMConstAllOnes(iv), "");
  LLVMValueRef flag = LLVMBuildZExt(c->b, LLVMBuildNot(c->b, all, ""), c->t_i32, "");
  LLVMBuildStore(c->b, LLVMBuildOr(c->b, LLVMBuildLoad2(c->b, c->t_i32, bad, ""), flag, ""), bad);
  *scale = A;
  return u;
}

/* The twiddles of every stage of stack s, laid out as the passes read
 * them (2 n floats a stage): a high stage as blocks of V butterflies
 * [t00 | t01 | t10 | t11] (vectors), a low stage as blocks of V positions
 * [t00 or t11 by lane (its own value's factor) | t01 or t10 (its
 * partner's)].  With scales (n floats, not NULL) factored instead: a
 * high block [A | u | v | E], a low block [A | u] (A, E the new scales,
 * u, v the factors: y_p = z_p + u z_q, y_q = z_q + v z_p), scales = the
 * last stage's; *bad nonzero when a factor is out of range. */
static void build_table(cpu_cg *c, const cg_bfly_plan *p, int ns, LLVMValueRef tw, LLVMValueRef s,
                        LLVMValueRef tab, LLVMValueRef scales, LLVMValueRef bad) {
  int V = c->lanes, lv = cg_log2i(V);
  if (scales) {
    cg_loop j = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n), V, "one");
    cg_vstore(c, cg_vsplat(c, cg_f32(c, 1), V), scales, j.iv, 4);
    cg_loop_end_nounroll(c, &j);
  }
  for (int t = 0; t < ns; t++) {
    const stage *st = &p->st[t];
    LLVMValueRef base = tw_base(c, p, st, s), dst = cg_i64(c, (int64_t)t * 2 * p->n);
    if (st->l >= lv) {
      cg_loop b = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n / 2), V, "twb");
      LLVMValueRef w[4];
      twiddle4(c, tw, cg_add(c, base, cg_mulc(c, b.iv, 4)), w);
      LLVMValueRef o = cg_add(c, dst, cg_mulc(c, b.iv, 4));
      if (scales) { /* butterflies b.. are positions p0.. and p0 + 2^l.. */
        LLVMValueRef p0 = insert_zero_bit(c, b.iv, st->l), q0 = cg_addc(c, p0, (int64_t)1 << st->l);
        LLVMValueRef dp = cg_vload(c, scales, p0, 4), dq = cg_vload(c, scales, q0, 4), A, E;
        w[1] = factor_vec(c, w[0], w[1], dp, dq, &A, bad);
        w[2] = factor_vec(c, w[3], w[2], dq, dp, &E, bad);
        w[0] = A;
        w[3] = E;
        cg_vstore(c, A, scales, p0, 4);
        cg_vstore(c, E, scales, q0, 4);
      }
      for (int k = 0; k < 4; k++) cg_vstore(c, w[k], tab, cg_addc(c, o, (int64_t)k * V), (unsigned)V * 4);
      cg_loop_end_nounroll(c, &b);
      continue;
    }
    cg_loop b = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n), V, "twl");
    LLVMValueRef at = cg_add(c, base, cg_mulc(c, b.iv, 2));
    LLVMValueRef z0 = cg_vload(c, tw, at, 4), z1 = cg_vload(c, tw, cg_addc(c, at, V), 4);
    int ma[64], mq[64];
    for (int j = 0; j < V; j++) {
      int hi = (int)((j >> st->l) & 1);
      int d = (int)((((int64_t)j >> (st->l + 1)) << st->l) | (j & ((1 << st->l) - 1))); /* j without bit l */
      ma[j] = 4 * d + (hi ? 3 : 0); /* the lane's own factor: t00 (first lane), t11 (second) */
      mq[j] = 4 * d + (hi ? 2 : 1); /* its partner's: t01, t10 */
    }
    LLVMValueRef o = cg_add(c, dst, cg_mulc(c, b.iv, 2));
    LLVMValueRef ta = shuffle1(c, z0, z1, ma), tq = shuffle1(c, z0, z1, mq);
    if (scales) {
      int sw[64];
      for (int j = 0; j < V; j++) sw[j] = (int)(j ^ ((int64_t)1 << st->l));
      LLVMValueRef dv = cg_vload(c, scales, b.iv, 4), A;
      tq = factor_vec(c, ta, tq, dv, shuffle1(c, dv, dv, sw), &A, bad);
      ta = A;
      cg_vstore(c, A, scales, b.iv, 4);
    }
    cg_vstore(c, ta, tab, o, (unsigned)V * 4);
    cg_vstore(c, tq, tab, cg_addc(c, o, V), (unsigned)V * 4);
    cg_loop_end_nounroll(c, &b);
  }
}

/* Rows [r0, r0 + nr) of the current stack: float offset of row r's
 * position 0. */
typedef struct row_block {
  LLVMValueRef r0, nr, sl;
  int64_t S, rows;
  bool factored; /* the table is build_table's factored form */
} row_block;

static LLVMValueRef row_base(cpu_cg *c, const cg_bfly_plan *p, const row_block *rb, LLVMValueRef r) {
  return cg_mulc(c, cg_add(c, cg_mulc(c, cg_add(c, rb->r0, r), rb->S), rb->sl), p->n);
}

/* Where a pass reads or writes: the op's rows (x or out), or the block
 * scratch of long rows (row r of the block at r (n + V): the pad keeps the
 * block's rows out of each other's L1 sets). */
typedef struct rows_view {
  LLVMValueRef ptr;
  bool scratch;
  bool stream;            /* stores bypass the caches (ptr 64-byte aligned) */
  LLVMValueRef prefetch;  /* the op's x: the pass prefetches the next block's rows */
  LLVMValueRef scale;     /* the factored run's last scales: stores multiply by them (NULL: none) */
} rows_view;

static void store_stream(cpu_cg *c, LLVMValueRef v, LLVMValueRef fp, LLVMValueRef idx) {
  LLVMValueRef p = LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, fp, idx), c->t_vfp, "");
  LLVMValueRef s = LLVMBuildStore(c->b, v, p);
  LLVMSetAlignment(s, (unsigned)c->lanes * 4);
  LLVMMetadataRef one = LLVMValueAsMetadata(cg_i32(c, 1));
  LLVMSetMetadata(s, LLVMGetMDKindIDInContext(c->ctx, "nontemporal", 11),
                  LLVMMetadataAsValue(c->ctx, LLVMMDNodeInContext2(c->ctx, &one, 1)));
}

static LLVMValueRef view_row(cpu_cg *c, const cg_bfly_plan *p, const row_block *rb, const rows_view *v,
                             LLVMValueRef r) {
  return v->scratch ? cg_mulc(c, r, p->n + c->lanes) : row_base(c, p, rb, r);
}

/* The bits of mask (a constant) filled from the low bits of v, in order. */
static LLVMValueRef deposit(cpu_cg *c, LLVMValueRef v, int64_t mask) {
  LLVMValueRef out = cg_i64(c, 0);
  int used = 0;
  for (int b = 0; b < 63;) {
    if (!(mask >> b & 1)) {
      b++;
      continue;
    }
    int w = 0;
    while (b + w < 63 && (mask >> (b + w) & 1)) w++;
    LLVMValueRef run = LLVMBuildAnd(c->b, LLVMBuildLShr(c->b, v, cg_i64(c, used), ""),
                                    cg_i64(c, ((int64_t)1 << w) - 1), "");
    out = LLVMBuildOr(c->b, out, LLVMBuildShl(c->b, run, cg_i64(c, b), ""), "");
    used += w;
    b += w;
  }
  return out;
}

/* A chunk of long rows: the positions whose bits outside `bits` (the
 * phase's strides) equal those of base (an i64 value). */
typedef struct chunk {
  LLVMValueRef base;
  int64_t bits;
} chunk;

/* One or two stages of stride >= V (distinct): for each column block, the
 * 2^g vectors at p0 + off[m] of every row. */
/* One stage of stride 2^l < V inside vector x, with the lane-wise
 * twiddles ta (t00 / t11: the lane's own value) and tq (t01 / t10: its
 * partner's). */
static LLVMValueRef low_stage(cpu_cg *c, LLVMValueRef x, LLVMValueRef ta, LLVMValueRef tq, int64_t l,
                              bool factored) {
  int V = c->lanes, m[64];
  for (int j = 0; j < V; j++) m[j] = (int)(j ^ ((int64_t)1 << l)); /* the lane's partner */
  return cg_fma(c, tq, shuffle1(c, x, x, m), factored ? x : LLVMBuildFMul(c->b, ta, x, ""));
}

/* Low stages st[0..ns) on the vector x at position p0 + off (p0 a
 * multiple of V, off a constant): twiddles read from the table through
 * tab_p0 = tab + 2 p0, so every load is that one pointer plus a constant. */
static LLVMValueRef low_stages_at(cpu_cg *c, const cg_bfly_plan *p, const stage *st, int ns, LLVMValueRef tab_p0,
                                  int64_t off, LLVMValueRef x, bool factored) {
  int V = c->lanes;
  for (int t = 0; t < ns; t++) {
    int64_t at = st_index(p, &st[t]) * 2 * p->n + 2 * off;
    x = low_stage(c, x, cg_vload(c, tab_p0, cg_i64(c, at), (unsigned)V * 4),
                  cg_vload(c, tab_p0, cg_i64(c, at + V), (unsigned)V * 4), st[t].l, factored);
  }
  return x;
}

/* Low stages run inside the vectors of a high pass: before its stages
 * (pre) or after them (post), their twiddles read from the table. */
typedef struct low_run {
  const stage *pre, *post;
  int npre, npost;
} low_run;

static void high_pass(cpu_cg *c, const cg_bfly_plan *p, const stage *st, int g, const row_block *rb,
                      const rows_view *src, const rows_view *dst, LLVMValueRef tab, const low_run *lr,
                      const chunk *ch) {
  int V = c->lanes, G = 1 << g;
  int64_t lsort[2] = {st[0].l, g > 1 ? st[1].l : 0};
  if (g > 1 && lsort[0] > lsort[1]) {
    int64_t t = lsort[0];
    lsort[0] = lsort[1];
    lsort[1] = t;
  }
  int64_t off[4] = {0};
  for (int m = 0; m < G; m++)
    for (int t = 0; t < g; t++)
      if (m & (1 << t)) off[m] += (int64_t)1 << st[t].l;
  LLVMValueRef p0;
  cg_loop cb;
  if (ch) { /* the chunk's column blocks */
    int64_t free_bits = ch->bits;
    for (int t = 0; t < g; t++) free_bits &= ~((int64_t)1 << lsort[t]);
    cb = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, (int64_t)1 << __builtin_popcountll((unsigned long long)free_bits)),
                       "cblock");
    p0 = LLVMBuildOr(c->b, ch->base, deposit(c, cb.iv, free_bits), "");
  } else {
    cb = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, p->n / V / G), "cblock");
    p0 = cg_mulc(c, cb.iv, V);
    for (int t = 0; t < g; t++) p0 = insert_zero_bit(c, p0, lsort[t]);
  }
  /* Every address below is a pointer per column block (twiddles) or row
   * (data) plus constants: p0 has zeros at the stage bits, off[m] only
   * those bits, so the butterfly index (the position without bit l) of
   * p0 + off[m] is that of p0 plus that of off[m]. */
  LLVMValueRef T[2][2][4]; /* stage, butterfly, t00..t11 */
  for (int t = 0; t < g; t++) {
    int64_t l = st[t].l;
    LLVMValueRef above = LLVMBuildAnd(c->b, p0, cg_i64(c, ~(((int64_t)2 << l) - 1)), "");
    LLVMValueRef below = LLVMBuildAnd(c->b, p0, cg_i64(c, ((int64_t)1 << l) - 1), "");
    LLVMValueRef i0 = LLVMBuildOr(c->b, LLVMBuildLShr(c->b, above, cg_i64(c, 1), ""), below, "");
    LLVMValueRef tw_t = cg_gep(c, c->t_f32, tab, cg_addc(c, cg_mulc(c, i0, 4), st_index(p, &st[t]) * 2 * p->n));
    for (int m = 0, u = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      int64_t at = 4 * (((off[m] >> (l + 1)) << l) | (off[m] & (((int64_t)1 << l) - 1)));
      for (int k = 0; k < 4; k++)
        if (!rb->factored || k == 1 || k == 2)
          T[t][u][k] = cg_vload(c, tw_t, cg_i64(c, at + (int64_t)k * V), (unsigned)V * 4);
      u++;
    }
  }
  LLVMValueRef tab_p0 = cg_gep(c, c->t_f32, tab, cg_mulc(c, p0, 2));
  cg_loop r = cg_loop_begin(c, cg_i64(c, 0), rb->nr, "row");
  LLVMValueRef sp = cg_gep(c, c->t_f32, src->ptr, cg_add(c, view_row(c, p, rb, src, r.iv), p0));
  LLVMValueRef dp = cg_gep(c, c->t_f32, dst->ptr, cg_add(c, view_row(c, p, rb, dst, r.iv), p0)), e[4];
  if (src->prefetch) { /* the same row of the next block, or the last row */
    LLVMValueRef nr = cg_add(c, cg_addc(c, rb->r0, CG_BFLY_BLOCK_ROWS), r.iv);
    nr = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, nr, cg_i64(c, rb->rows), ""), nr,
                         cg_i64(c, rb->rows - 1), "");
    LLVMValueRef nb = cg_mulc(c, cg_add(c, cg_mulc(c, nr, rb->S), rb->sl), p->n);
    LLVMValueRef pp = cg_gep(c, c->t_f32, src->prefetch, cg_add(c, nb, p0));
    for (int m = 0; m < G; m++) cg_prefetch_l2(c, pp, cg_i64(c, off[m]));
  }
  for (int m = 0; m < G; m++) {
    e[m] = cg_vload(c, sp, cg_i64(c, off[m]), 4);
    e[m] = low_stages_at(c, p, lr->pre, lr->npre, tab_p0, off[m], e[m], rb->factored);
  }
  for (int t = 0; t < g; t++)
    for (int m = 0, u = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      int mq = m | (1 << t);
      LLVMValueRef *w = T[t][u++], a = e[m], q = e[mq];
      e[m] = cg_fma(c, w[1], q, rb->factored ? a : LLVMBuildFMul(c->b, w[0], a, ""));
      e[mq] = rb->factored ? cg_fma(c, w[2], a, q) : cg_fma(c, w[3], q, LLVMBuildFMul(c->b, w[2], a, ""));
    }
  for (int m = 0; m < G; m++) {
    e[m] = low_stages_at(c, p, lr->post, lr->npost, tab_p0, off[m], e[m], rb->factored);
    if (dst->scale) e[m] = LLVMBuildFMul(c->b, e[m], cg_vload(c, dst->scale, cg_addc(c, p0, off[m]), 4), "");
    if (dst->stream) store_stream(c, e[m], dp, cg_i64(c, off[m]));
    else cg_vstore(c, e[m], dp, cg_i64(c, off[m]), 4);
  }
  cg_loop_end_nounroll(c, &r);
  cg_loop_end_nounroll(c, &cb);
}

/* Stages st[0..ns) of stride < V, inside every vector of every row. */
static void low_pass(cpu_cg *c, const cg_bfly_plan *p, const stage *st, int ns, const row_block *rb,
                     LLVMValueRef src, const rows_view *dst, LLVMValueRef tab) {
  int V = c->lanes;
  cg_loop cb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n), V, "cols");
  LLVMValueRef ta[64], tq[64];
  for (int t = 0; t < ns; t++) {
    LLVMValueRef at = cg_add(c, cg_i64(c, st_index(p, &st[t]) * 2 * p->n), cg_mulc(c, cb.iv, 2));
    ta[t] = cg_vload(c, tab, at, (unsigned)V * 4); /* table offsets are multiples of V */
    tq[t] = cg_vload(c, tab, cg_addc(c, at, V), (unsigned)V * 4);
  }
  LLVMValueRef sc = dst->scale ? cg_vload(c, dst->scale, cb.iv, 4) : NULL;
  cg_loop r = cg_loop_begin(c, cg_i64(c, 0), rb->nr, "row");
  LLVMValueRef at = cg_add(c, row_base(c, p, rb, r.iv), cb.iv);
  LLVMValueRef x = cg_vload(c, src, at, 4);
  for (int t = 0; t < ns; t++) x = low_stage(c, x, ta[t], tq[t], st[t].l, rb->factored);
  if (sc) x = LLVMBuildFMul(c->b, x, sc, "");
  cg_vstore(c, x, dst->ptr, at, 4);
  cg_loop_end_nounroll(c, &r);
  cg_loop_end_nounroll(c, &cb);
}

/* Rows per block: the twiddles a pass keeps in registers serve these
 * rows.  Few rows keep each pass's streams (rows x vectors) few enough for
 * the prefetchers and the block in L1/L2 across passes; measured on Zen 4
 * (N = 256..4096): 4 beats 2, 8 and 16 (at N = 1024 by 20-50%). */
enum { BLOCK_ROWS = CG_BFLY_BLOCK_ROWS };


/* The twiddle table (build_table) is prepared data or, for computed
 * twiddles, on the stack: up to every stage of 4096-point rows (384 KiB;
 * the lane kernel's buffer of 8192-point rows is 512 KiB); longer ops use
 * the lane kernel. */
enum { TABLE_MAX_BYTES = 512 * 1024 };


bool cg_bfly_rows_ok(const cpu_cg *c, const cg_bfly_plan *p) {
  int V = c->lanes;
  int64_t ns = cg_bfly_plan_stages(p);
  return V >= 4 && V <= 64 && p->n >= 4 * V && p->n % V == 0 && ns >= 1 &&
         ns * 2 * p->n * 4 <= TABLE_MAX_BYTES;
}

/* A pass: g high stages from st[h] with the low runs around them, or
 * (g = 0) the low stages st[h .. h + npre) alone. */
typedef struct pass {
  int h, g;
  low_run lr;
} pass;

/* The passes of stages st[0..ns): one or two high stages (distinct
 * strides) each, taking the run of low stages just before them, or after
 * them when they are the last; a run of low stages alone only without
 * high stages.  Returns the pass count (at most ns). */
static int plan_passes(const stage *st, int ns, int lv, pass *ps) {
  int np = 0;
  for (int i = 0; i < ns;) {
    int k = 0;
    while (i + k < ns && st[i + k].l < lv) k++;
    if (i + k == ns) { /* low stages only */
      ps[np++] = (pass){i, 0, {st + i, NULL, k, 0}};
      break;
    }
    int h = i + k, g = 1;
    if (h + 1 < ns && st[h + 1].l >= lv && st[h + 1].l != st[h].l) g = 2;
    int e = h + g, k2 = 0;
    while (e + k2 < ns && st[e + k2].l < lv) k2++;
    if (e + k2 < ns) k2 = 0; /* only the last low run rides after its pass */
    ps[np++] = (pass){h, g, {st + i, st + e, k, k2}};
    i = e + k2;
  }
  return np;
}

static void run_pass(cpu_cg *c, const cg_bfly_plan *p, const pass *ps, const row_block *rb, const rows_view *src,
                     const rows_view *dst, LLVMValueRef tab, const chunk *ch) {
  if (ps->g == 0) low_pass(c, p, ps->lr.pre, ps->lr.npre, rb, src->ptr, dst, tab);
  else high_pass(c, p, p->st + ps->h, ps->g, rb, src, dst, tab, &ps->lr, ch);
}

/* Long rows (more than CHUNK_FLOATS) run in phases: consecutive stages
 * with at most CHUNK_FLOATS / V distinct high strides.  A phase runs its
 * passes chunk by chunk (the positions that differ only in the phase's
 * strides: CHUNK_FLOATS of each row of the block), so a chunk of the
 * block (16 KiB) stays in L1 across the phase's passes; the twiddles are
 * read once per chunk and block.  Between phases the block lives in a
 * stack scratch. */
enum { CHUNK_FLOATS = 1024 };

/* Results of at least STREAM_MIN_BYTES (more than L2 holds; the next op
 * reads them from memory anyway) are stored with non-temporal stores
 * when out is STREAM_ALIGN-byte aligned: no read for ownership of out's
 * lines, no eviction of the block's working set.  Measured on Zen 4 at
 * N = 4096 x 1024 rows: 3.26 -> 2.97 ms. */
enum { STREAM_MIN_BYTES = 8 << 20, STREAM_ALIGN = 64 };

typedef struct phase {
  int first, count; /* passes */
  int64_t bits;     /* the high strides of its stages (position bits) */
} phase;

static int plan_phases(const stage *st, const pass *ps, int np, int lv, int64_t chunk_floats, phase *ph) {
  int nph = 0;
  int64_t maxbits = 0;
  while (((int64_t)2 << maxbits) <= chunk_floats) maxbits++;
  for (int i = 0; i < np; i++) {
    int64_t b = 0;
    for (int t = 0; t < ps[i].g; t++) b |= (int64_t)1 << st[ps[i].h + t].l;
    if (nph > 0 && __builtin_popcountll((unsigned long long)(ph[nph - 1].bits | b)) <= maxbits - lv) {
      ph[nph - 1].count++;
      ph[nph - 1].bits |= b;
    } else {
      ph[nph++] = (phase){i, 1, b};
    }
  }
  return nph;
}

/* The passes of a long row block, phase by phase, chunk by chunk: x ->
 * scratch -> ... -> out. */
static bool run_phases(cpu_cg *c, const cg_bfly_plan *p, const pass *ps, int np, const row_block *rb,
                       const rows_view *x, const rows_view *out, LLVMValueRef tab, bool stream) {
  int lv = cg_log2i(c->lanes);
  phase *ph = calloc((size_t)np, sizeof *ph);
  if (!ph) {
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  int nph = plan_phases(p->st, ps, np, lv, CHUNK_FLOATS, ph);
  rows_view blk = {cg_lane_buffer(c, BLOCK_ROWS * (p->n / c->lanes + 1), "block"), true, false, NULL, NULL};
  int64_t vbits = (p->n - 1) & ~(int64_t)(c->lanes - 1); /* position bits that select a vector */
  for (int f = 0; f < nph; f++) {
    int64_t fixed = vbits & ~ph[f].bits;
    cg_loop cl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, (int64_t)1 << __builtin_popcountll((unsigned long long)fixed)),
                               "chunk");
    chunk ch = {deposit(c, cl.iv, fixed), ph[f].bits};
    for (int i = ph[f].first; i < ph[f].first + ph[f].count; i++) {
      rows_view src = i == 0 ? *x : blk, dst = i == np - 1 ? *out : blk;
      if (i < np - 1) {
        run_pass(c, p, &ps[i], rb, &src, &dst, tab, &ch);
        continue;
      }
      /* the last pass prefetches the next block of x, and streams its
       * stores past the caches when the result is large and out aligned */
      src.prefetch = x->ptr;
      LLVMBasicBlockRef plain = NULL, join = NULL;
      if (stream) { /* if (out is 64-byte aligned) streamed; else plain */
        rows_view sdst = dst;
        sdst.stream = true;
        LLVMBasicBlockRef nt = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "stream");
        plain = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "plain");
        join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "stored");
        LLVMValueRef at = LLVMBuildPtrToInt(c->b, out->ptr, c->t_i64, "");
        LLVMValueRef low = LLVMBuildAnd(c->b, at, cg_i64(c, STREAM_ALIGN - 1), "");
        LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, low, cg_i64(c, 0), ""), nt, plain);
        LLVMPositionBuilderAtEnd(c->b, nt);
        run_pass(c, p, &ps[i], rb, &src, &sdst, tab, &ch);
        LLVMBuildBr(c->b, join);
        LLVMPositionBuilderAtEnd(c->b, plain);
      }
      run_pass(c, p, &ps[i], rb, &src, &dst, tab, &ch);
      if (stream) {
        LLVMBuildBr(c->b, join);
        LLVMPositionBuilderAtEnd(c->b, join);
      }
    }
    cg_loop_end_nounroll(c, &cl);
  }
  free(ph);
  return true;
}

/* The row blocks of this call for stack sl (table tab built). */
static bool gen_blocks(cpu_cg *c, const cg_bfly_plan *p, const pass *ps, int np, int64_t S, int64_t rows,
                       LLVMValueRef sl, LLVMValueRef tab, LLVMValueRef scales, bool stream) {
  int64_t R = BLOCK_ROWS;
  rows_view out = {cg_arg_f32(c, 0), false, false, NULL, NULL}, x = {cg_arg_f32(c, 1), false, false, NULL, NULL};
  cg_loop bl = cg_loop_begin(c, c->begin, c->end, "rblock");
  row_block rb = {cg_mulc(c, bl.iv, R), NULL, sl, S, rows, scales != NULL};
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, rows), rb.r0, "");
  rb.nr = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, R), ""), left, cg_i64(c, R), "");
  bool ok = true;
  if (p->n > CHUNK_FLOATS && ps[0].g > 0) {
    out.scale = scales;
    ok = run_phases(c, p, ps, np, &rb, &x, &out, tab, stream);
  } else { /* the first pass reads x, the rest work in place on out */
    for (int i = 0; i < np; i++) {
      rows_view dst = out;
      if (i == np - 1) dst.scale = scales;
      run_pass(c, p, &ps[i], &rb, i == 0 ? &x : &out, &dst, tab, NULL);
    }
  }
  cg_loop_end(c, &bl);
  return ok;
}

/* The op's prepared data (weight twiddles): per stack an i32 flag (the
 * factored form is out of range: the table is the plain one), then per
 * stack the table (ns 2 n floats) and the last scales (n floats). */
typedef struct rows_prep {
  int64_t tab0, stride, bytes; /* floats */
} rows_prep;

static rows_prep rows_layout(const cg_bfly_plan *p, int64_t S) {
  int64_t ns = cg_bfly_plan_stages(p);
  rows_prep l;
  l.tab0 = (S + 15) / 16 * 16;
  l.stride = ns * 2 * p->n + p->n; /* multiples of V (n % V == 0): tables stay aligned */
  l.bytes = (l.tab0 + S * l.stride) * 4;
  return l;
}

/* Weight twiddles: the tables are prepared data (cg_gen_bfly_rows_prepare,
 * once per binding): factored (one FMA per output instead of a multiply
 * and an FMA, the last scales multiplied in the last pass's stores), or,
 * for a stack with a factor out of range (the weights alone decide, never
 * the split of rows between calls), plain, its flag set.  Twiddles the
 * model computes: the plain table, built per call and stack. */
bool cg_gen_bfly_rows(cpu_cg *c, const cg_bfly_plan *p, int64_t S, int64_t rows, int64_t *nrows) {
  int V = c->lanes, lv = cg_log2i(V);
  int ns = cg_bfly_plan_stages(p);
  *nrows = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
  pass *ps = calloc((size_t)ns, sizeof *ps);
  if (!ps) {
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  int np = plan_passes(p->st, ns, lv, ps);
  bool prepared = c->weight_root && c->weight_root[c->op->operands[1]];
  rows_prep l = rows_layout(p, S);
  if (prepared) c->prep_bytes = l.bytes;
  LLVMValueRef prep = prepared ? cg_arg_f32(c, cg_prepared_arg(c, c->op)) : NULL;
  LLVMValueRef own = prepared ? NULL : cg_lane_buffer(c, (int64_t)ns * 2 * p->n / V, "twiddles");
  bool stream = p->n > CHUNK_FLOATS && ps[0].g > 0 && rows * S * p->n * 4 >= STREAM_MIN_BYTES;
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, S), "stack");
  bool ok = true;
  if (prepared) {
    LLVMValueRef tab = cg_gep(c, c->t_f32, prep, cg_addc(c, cg_mulc(c, sl.iv, l.stride), l.tab0));
    LLVMValueRef scales = cg_gep(c, c->t_f32, tab, cg_i64(c, (int64_t)ns * 2 * p->n));
    LLVMValueRef flags = LLVMBuildBitCast(c->b, prep, c->t_i32p, "");
    LLVMValueRef bad = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, flags, sl.iv), "factor_bad");
    LLVMBasicBlockRef fact = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "factored");
    LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "plain_twiddles");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "stack_done");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, bad, cg_i32(c, 0), ""), fact, plain);
    LLVMPositionBuilderAtEnd(c->b, fact);
    ok = gen_blocks(c, p, ps, np, S, rows, sl.iv, tab, scales, stream);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, plain);
    ok = ok && gen_blocks(c, p, ps, np, S, rows, sl.iv, tab, NULL, stream);
    LLVMBuildBr(c->b, done);
    LLVMPositionBuilderAtEnd(c->b, done);
  } else {
    build_table(c, p, ns, cg_arg_f32(c, 2), sl.iv, own, NULL, NULL);
    ok = gen_blocks(c, p, ps, np, S, rows, sl.iv, own, NULL, stream);
  }
  free(ps);
  cg_loop_end_nounroll(c, &sl);
  if (stream) { /* streamed stores are weakly ordered: fence before the pool's barrier */
    LLVMTypeRef fty = LLVMFunctionType(c->t_void, NULL, 0, 0);
    LLVMValueRef sf = LLVMGetNamedFunction(c->mod, "llvm.x86.sse.sfence");
    if (!sf) sf = LLVMAddFunction(c->mod, "llvm.x86.sse.sfence", fty);
    LLVMBuildCall2(c->b, fty, sf, NULL, 0, "");
  }
  return ok;
}

/* The prepare kernel: each stack's factored table and scales, or its
 * plain table and flag when a factor is out of range. */
void cg_gen_bfly_rows_prepare(cpu_cg *c, const cg_bfly_plan *p, int64_t S) {
  int ns = cg_bfly_plan_stages(p);
  rows_prep l = rows_layout(p, S);
  LLVMValueRef prep = cg_arg_f32(c, cg_prepared_arg(c, c->op)), tw = cg_arg_f32(c, 2);
  LLVMValueRef flags = LLVMBuildBitCast(c->b, prep, c->t_i32p, ""), bad = cg_alloca(c, c->t_i32, "factor_bad");
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, S), "stack");
  LLVMValueRef tab = cg_gep(c, c->t_f32, prep, cg_addc(c, cg_mulc(c, sl.iv, l.stride), l.tab0));
  LLVMValueRef scales = cg_gep(c, c->t_f32, tab, cg_i64(c, (int64_t)ns * 2 * p->n));
  LLVMBuildStore(c->b, cg_i32(c, 0), bad);
  build_table(c, p, ns, tw, sl.iv, tab, scales, bad);
  LLVMValueRef flag = LLVMBuildLoad2(c->b, c->t_i32, bad, "");
  LLVMBuildStore(c->b, flag, cg_gep(c, c->t_i32, flags, sl.iv));
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntNE, flag, cg_i32(c, 0), ""));
  build_table(c, p, ns, tw, sl.iv, tab, NULL, NULL);
  cg_if_end(c, join);
  cg_loop_end_nounroll(c, &sl);
}
