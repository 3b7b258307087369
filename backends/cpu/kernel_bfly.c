/* kernel_bfly.c — bfly.stages: butterfly stages with rows as SIMD lanes.
 *
 * Every row of a butterfly layer uses the same twiddles, so a tile of V
 * rows (V = vector lanes, 16 with AVX-512) is transposed into a buffer of
 * n vectors, buf[j] = (x[r0][j], ..., x[r0+V-1][j]).  A butterfly on
 * positions p, q is then two vector FMAs with broadcast twiddles and no
 * shuffles at any stride.  Consecutive stages are fused in the register
 * groups the op's cpu.groups attribute gives (pass cpu-chain-bfly; one
 * stage per group without it), radix 2^g: the 2^g vectors of a group are
 * loaded once, go through the g stages in registers and are stored once,
 * so a layer of log2 n stages in groups of g makes ceil(log2 n / g)
 * passes over the tile instead of log2 n.
 *
 * Tiles are transposed in and out with a shufflevector network (V x V
 * blocks) when the tile is full and n is a multiple of V, else element by
 * element (the last partial tile; n < V).  Parallel rows are tiles.
 *
 * A plain bfly.stages op on rows of at least 4 V positions runs on the
 * rows as they lie instead (kernel_bfly_rows.c); the lane layout serves
 * short rows and the fused feed-forward kernel (kernel_ffn.c). */
#include "cpu_internal.h"

#include <stdlib.h>

typedef cg_bfly_stage stage;

/* Transposes V vectors of V lanes in place (recursive block swaps). */
void cg_transpose_vv(cpu_cg *c, LLVMValueRef *r, int V) {
  LLVMValueRef m1[64], m2[64];
  for (int h = V / 2; h >= 1; h /= 2) {
    for (int j = 0; j < V; j++) {
      m1[j] = cg_i32(c, (j & h) ? V + (j - h) : j);
      m2[j] = cg_i32(c, (j & h) ? V + j : j + h);
    }
    LLVMValueRef k1 = LLVMConstVector(m1, (unsigned)V), k2 = LLVMConstVector(m2, (unsigned)V);
    for (int i = 0; i < V; i++) {
      if (i & h) continue;
      LLVMValueRef a = r[i], b = r[i + h];
      r[i] = LLVMBuildShuffleVector(c->b, a, b, k1, "");
      r[i + h] = LLVMBuildShuffleVector(c->b, a, b, k2, "");
    }
  }
}

LLVMValueRef cg_vload(cpu_cg *c, LLVMValueRef fp, LLVMValueRef idx, unsigned align) {
  LLVMValueRef p = LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, fp, idx), c->t_vfp, "");
  LLVMValueRef v = LLVMBuildLoad2(c->b, c->t_vf, p, "");
  LLVMSetAlignment(v, align);
  return v;
}

void cg_vstore(cpu_cg *c, LLVMValueRef v, LLVMValueRef fp, LLVMValueRef idx, unsigned align) {
  LLVMValueRef p = LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, fp, idx), c->t_vfp, "");
  LLVMValueRef s = LLVMBuildStore(c->b, v, p);
  LLVMSetAlignment(s, align);
}

/* Copies the tile between the rows (x, row stride rs floats, starting at
 * float offset `base` of row r0; n floats per row) and the lane buffer,
 * where column j is vector j * bstride.  to_buf selects the direction.
 * `nvalid` rows are real; the rest of the lanes are padding (read as row
 * r0, never written back). */
void cg_tile_copy(cpu_cg *c, LLVMValueRef x, LLVMValueRef base, int64_t rs, int64_t n,
                  LLVMValueRef buf, int64_t bstride, LLVMValueRef nvalid, bool to_buf) {
  int V = c->lanes;
  LLVMValueRef full = LLVMBuildICmp(c->b, LLVMIntEQ, nvalid, cg_i64(c, V), "full");
  LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_fast");
  LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_slow");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_done");
  if (n % V == 0 && bstride == 1) LLVMBuildCondBr(c->b, full, fast, slow);
  else LLVMBuildBr(c->b, slow);

  LLVMPositionBuilderAtEnd(c->b, fast);
  if (n % V == 0 && bstride == 1) {
    LLVMValueRef r[64];
    cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, n), V, "jb");
    for (int i = 0; i < V; i++) {
      LLVMValueRef xi = cg_add(c, cg_addc(c, base, (int64_t)i * rs), jb.iv);
      LLVMValueRef bi = cg_mulc(c, cg_addc(c, jb.iv, i), V);
      r[i] = to_buf ? cg_vload(c, x, xi, 4) : cg_vload(c, buf, bi, 64);
    }
    cg_transpose_vv(c, r, V);
    for (int i = 0; i < V; i++) {
      LLVMValueRef xi = cg_add(c, cg_addc(c, base, (int64_t)i * rs), jb.iv);
      LLVMValueRef bi = cg_mulc(c, cg_addc(c, jb.iv, i), V);
      if (to_buf) cg_vstore(c, r[i], buf, bi, 64);
      else cg_vstore(c, r[i], x, xi, 4);
    }
    cg_loop_end_nounroll(c, &jb);
  }
  LLVMBuildBr(c->b, join);

  LLVMPositionBuilderAtEnd(c->b, slow);
  cg_loop lane = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, V), "lane");
  LLVMValueRef valid = LLVMBuildICmp(c->b, LLVMIntSLT, lane.iv, nvalid, "");
  LLVMValueRef row = LLVMBuildSelect(c->b, valid, lane.iv, cg_i64(c, 0), "");
  LLVMValueRef xrow = cg_add(c, base, cg_mulc(c, row, rs));
  if (!to_buf) {
    LLVMBasicBlockRef j2 = cg_if_begin(c, valid);
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "j");
    cg_storef(c, cg_loadf(c, buf, cg_add(c, cg_mulc(c, j.iv, V * bstride), lane.iv)), x, cg_add(c, xrow, j.iv));
    cg_loop_end_nounroll(c, &j);
    cg_if_end(c, j2);
  } else {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "j");
    cg_storef(c, cg_loadf(c, x, cg_add(c, xrow, j.iv)), buf, cg_add(c, cg_mulc(c, j.iv, V * bstride), lane.iv));
    cg_loop_end_nounroll(c, &j);
  }
  cg_loop_end_nounroll(c, &lane);
  LLVMBuildBr(c->b, join);
  LLVMPositionBuilderAtEnd(c->b, join);
}

/* p with bit l removed (the butterfly's twiddle index), for constants. */
static int64_t drop_bit(int64_t p, int64_t l) { return ((p >> (l + 1)) << l) | (p & (((int64_t)1 << l) - 1)); }

/* One fused group of g stages over the whole lane buffer.  The positions
 * p of a group's 2^g vectors differ in the g stride bits; the other bits
 * split into g + 1 runs between them, one counted loop each (outermost:
 * the highest run), so p and every twiddle index are sums of loop
 * counters times constants: induction variables, no bit arithmetic per
 * butterfly (it cost more issue slots than the FMAs). */
/* Input vector m of a group: src's vector pidx, or zero at or past `have`
 * (a zero-padded input that is not stored).  Whether pidx = p0 + off is
 * below `have` is known from off alone when p0 <= max_p0 cannot cross it
 * (FABNet's paddings: multiples of the group's lowest stride); else a
 * compare picks a clamped load or zero. */
static LLVMValueRef load_padded(cpu_cg *c, LLVMValueRef src, LLVMValueRef pidx, int64_t off, int64_t max_p0,
                                int64_t have) {
  int V = c->lanes;
  if (off + max_p0 < have) return cg_vload(c, src, cg_mulc(c, pidx, V), 64);
  if (off >= have) return LLVMConstNull(c->t_vf);
  LLVMValueRef in = LLVMBuildICmp(c->b, LLVMIntSLT, pidx, cg_i64(c, have), "in_pad");
  LLVMValueRef at = LLVMBuildSelect(c->b, in, pidx, cg_i64(c, 0), "");
  return LLVMBuildSelect(c->b, in, cg_vload(c, src, cg_mulc(c, at, V), 64), LLVMConstNull(c->t_vf), "");
}

static void gen_group(cpu_cg *c, const cg_bfly_plan *p, LLVMValueRef buf, LLVMValueRef src, LLVMValueRef tw,
                      LLVMValueRef s, int at, int ns, int g, const cg_bfly_epi *epi, int64_t need,
                      int64_t have) {
  int V = c->lanes;
  const stage *st = p->st + at;
  int64_t n = p->n, B = p->B, L = p->L;
  int64_t pos[8];
  for (int t = 0; t < g; t++) pos[t] = st[t].l;
  for (int a = 1; a < g; a++) /* sort ascending */
    for (int b2 = a; b2 > 0 && pos[b2 - 1] > pos[b2]; b2--) {
      int64_t tmp = pos[b2];
      pos[b2] = pos[b2 - 1];
      pos[b2 - 1] = tmp;
    }
  /* run k: bits [lo[k], lo[k] + w[k]) of p */
  int64_t lo[9], w[9];
  for (int k = 0; k <= g; k++) {
    lo[k] = k == 0 ? 0 : pos[k - 1] + 1;
    w[k] = (k == g ? L : pos[k]) - lo[k];
  }
  /* Only outputs below `need` are read later: a vector group whose lowest
   * position is >= need is skipped (the top run stops early, the rest
   * test p0). */
  cg_loop loops[9];
  LLVMValueRef v[9];
  int64_t max_p0 = 0; /* the largest p0 below */
  for (int k = g; k >= 0; k--) {
    if (w[k] == 0) {
      v[k] = NULL;
      continue;
    }
    int64_t trips = (int64_t)1 << w[k];
    if (k == g && need < n) trips = (need + ((int64_t)1 << lo[k]) - 1) >> lo[k];
    max_p0 += (trips - 1) << lo[k];
    loops[k] = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, trips), "run");
    v[k] = loops[k].iv;
  }
  int G = 1 << g;
  LLVMValueRef e[256], pidx[256];
  LLVMValueRef p0 = cg_i64(c, 0);
  for (int k = 0; k <= g; k++)
    if (v[k]) p0 = cg_add(c, p0, cg_mulc(c, v[k], (int64_t)1 << lo[k]));
  LLVMBasicBlockRef skip = NULL;
  if (need < n) skip = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntSLT, p0, cg_i64(c, need), "needed"));
  int64_t off[256];
  for (int m = 0; m < G; m++) {
    off[m] = 0;
    for (int t = 0; t < g; t++)
      if (m & (1 << t)) off[m] += (int64_t)1 << st[t].l;
    pidx[m] = cg_addc(c, p0, off[m]);
    e[m] = load_padded(c, src, pidx[m], off[m], max_p0, have);
  }
  int W = p->factored ? 2 : 4; /* floats per butterfly */
  for (int t = 0; t < g; t++) {
    int64_t l = st[t].l;
    /* twiddle[s][b][k][i] as floats: ((s * B + b) * L + k) * (n/2) * 4 + 4 i,
     * factored[s][stage][i]: ((s * ns + stage) * (n/2) + i) * 2, i = p
     * without bit l: each run's counter keeps its weight, halved above l */
    LLVMValueRef ib = p->factored ? cg_mulc(c, cg_addc(c, cg_mulc(c, s, ns), at + t), n)
                                  : cg_mulc(c, cg_addc(c, cg_mulc(c, s, B * L), st[t].b * L + st[t].k), n / 2 * 4);
    for (int k = 0; k <= g; k++)
      if (v[k]) ib = cg_add(c, ib, cg_mulc(c, v[k], W * (((int64_t)1 << lo[k]) >> (lo[k] > l ? 1 : 0))));
    for (int m = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      int mq = m | (1 << t);
      LLVMValueRef ti = cg_addc(c, ib, W * drop_bit(off[m], l));
      if (p->factored) { /* y_p = z_p + u z_q, y_q = z_q + v z_p (scales: cg_bfly_factor) */
        LLVMValueRef u = cg_vsplat(c, cg_loadf(c, p->factored, ti), V);
        LLVMValueRef w = cg_vsplat(c, cg_loadf(c, p->factored, cg_addc(c, ti, 1)), V);
        LLVMValueRef a = e[m];
        e[m] = cg_fma(c, u, e[mq], a);
        e[mq] = cg_fma(c, w, a, e[mq]);
        continue;
      }
      LLVMValueRef t00 = cg_vsplat(c, cg_loadf(c, tw, ti), V);
      LLVMValueRef t01 = cg_vsplat(c, cg_loadf(c, tw, cg_addc(c, ti, 1)), V);
      LLVMValueRef t10 = cg_vsplat(c, cg_loadf(c, tw, cg_addc(c, ti, 2)), V);
      LLVMValueRef t11 = cg_vsplat(c, cg_loadf(c, tw, cg_addc(c, ti, 3)), V);
      LLVMValueRef a = e[m], q = e[mq];
      e[m] = cg_fma(c, t01, q, LLVMBuildFMul(c->b, t00, a, ""));
      e[mq] = cg_fma(c, t11, q, LLVMBuildFMul(c->b, t10, a, ""));
    }
  }
  if (epi) epi->apply(c, epi, e, pidx, G); /* the caller's epilogue on the outputs */
  /* an output at offset >= need is never read (p0 >= 0): no store, and
   * LLVM drops what only it used (half of fc2's top stage at d = n2 / 2) */
  for (int m = 0; m < G; m++)
    if (off[m] < need) cg_vstore(c, e[m], buf, cg_mulc(c, pidx[m], V), 64);
  if (skip) cg_if_end(c, skip);
  for (int k = 0; k <= g; k++)
    if (v[k]) cg_loop_end_nounroll(c, &loops[k]);
}

/* The register groups of op's ns stages: cpu.groups, each 1..6 stages
 * with distinct strides, summing to ns; one stage each without it.
 * Returns the group count (filled into groups[ns]), -1 after reporting. */
static int stage_groups(cpu_cg *c, const fab_attr *ga, const stage *st, int ns, int *groups) {
  if (!ga) {
    for (int i = 0; i < ns; i++) groups[i] = 1;
    return ns;
  }
  int at = 0;
  for (int g = 0; g < ga->nints; g++) {
    int64_t n = ga->ints[g];
    bool ok = ga->kind == FAB_ATTR_INTS && n >= 1 && n <= 6 && at + n <= ns;
    for (int64_t a = 0; ok && a < n; a++)
      for (int64_t b = a + 1; b < n; b++) ok = ok && st[at + a].l != st[at + b].l;
    if (!ok) {
      CG_ERR(c, "cpu backend: bfly.stages cpu.groups[%d] = %lld: a group is 1..6 of the op's "
                "remaining stages, with distinct strides",
             g, (long long)n);
      return -1;
    }
    groups[g] = (int)n;
    at += (int)n;
  }
  if (at != ns) {
    CG_ERR(c, "cpu backend: bfly.stages cpu.groups cover %d of its %d stages", at, ns);
    return -1;
  }
  return ga->nints;
}

bool cg_bfly_plan_init(cpu_cg *c, cg_bfly_plan *p, const fab_attr *sa, const fab_attr *ga,
                       const fab_type *tt, int64_t S, int64_t n) {
  *p = (cg_bfly_plan){0};
  if (tt->rank != 6 || !sa || sa->kind != FAB_ATTR_INTS || sa->nints % 3) {
    CG_ERR(c, "cpu backend: malformed bfly.stages");
    return false;
  }
  int64_t B = tt->dims[1], L = tt->dims[2];
  if (tt->dims[0] != S || tt->dims[3] != n / 2 || tt->dims[4] != 2 || tt->dims[5] != 2 ||
      L < 1 || L > 62 || ((int64_t)1 << L) != n) {
    CG_ERR(c, "cpu backend: bfly.stages twiddle shape does not match x");
    return false;
  }
  int ns = sa->nints / 3;
  p->st = calloc((size_t)ns + 1, sizeof *p->st);
  p->groups = calloc((size_t)ns + 1, sizeof *p->groups);
  if (!p->st || !p->groups) {
    cg_bfly_plan_free(p);
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  for (int i = 0; i < ns; i++) {
    p->st[i] = (stage){sa->ints[3 * i], sa->ints[3 * i + 1], sa->ints[3 * i + 2]};
    if (p->st[i].b < 0 || p->st[i].b >= B || p->st[i].k < 0 || p->st[i].k >= L || p->st[i].l < 0 ||
        p->st[i].l >= L) {
      CG_ERR(c, "cpu backend: bfly.stages triple %d out of range", i);
      cg_bfly_plan_free(p);
      return false;
    }
  }
  p->ngroups = stage_groups(c, ga, p->st, ns, p->groups);
  if (p->ngroups < 0) {
    cg_bfly_plan_free(p);
    return false;
  }
  p->n = n;
  p->B = B;
  p->L = L;
  return true;
}

void cg_bfly_plan_free(cg_bfly_plan *p) {
  free(p->st);
  free(p->groups);
  p->st = NULL;
  p->groups = NULL;
}

/* Positions [0, need) after the stages st[0..ns) depend only on positions
 * [0, result) before them (each stage of stride 2^l pairs p with p ^ 2^l:
 * a prefix widens to a multiple of 2^(l+1)). */
static int64_t need_before(const stage *st, int ns, int64_t need) {
  for (int i = ns - 1; i >= 0; i--) {
    int64_t b = (int64_t)2 << st[i].l;
    need = (need + b - 1) / b * b;
  }
  return need;
}

int cg_bfly_plan_stages(const cg_bfly_plan *p) {
  int ns = 0;
  for (int g = 0; g < p->ngroups; g++) ns += p->groups[g];
  return ns;
}

void cg_bfly_run(cpu_cg *c, const cg_bfly_plan *p, LLVMValueRef buf, LLVMValueRef src, int64_t have,
                 LLVMValueRef tw, LLVMValueRef s, const cg_bfly_epi *epi, int64_t need) {
  int64_t ns = cg_bfly_plan_stages(p);
  for (int g = 0, i = 0; g < p->ngroups; i += p->groups[g++]) {
    /* the outputs of this group that the later groups need */
    int64_t out = need_before(p->st + i + p->groups[g], (int)(ns - i - p->groups[g]), need);
    if (out > p->n) out = p->n;
    gen_group(c, p, buf, g == 0 && src ? src : buf, tw, s, i, (int)ns, p->groups[g],
              g == p->ngroups - 1 ? epi : NULL, out, g == 0 ? have : p->n);
  }
}

/* Factored twiddles.  A butterfly on (p, q = p + 2^l),
 *   y_p = t00 x_p + t01 x_q,   y_q = t10 x_p + t11 x_q,
 * on values kept without their scales, x = D z (D diagonal), is
 *   y_p = A (z_p + u z_q),     y_q = E (z_q + v z_p),
 * A = t00 D_p, E = t11 D_q, u = t01 D_q / A, v = t10 D_p / E: one FMA per
 * output instead of a multiply and an FMA, and A, E become the scales of
 * p and q for the next stage (D starts as 1; the last stage's D is
 * returned for the consumer's epilogue).  The rounding is that of the
 * plain stages with twiddles off by a few ulps: z_p + u z_q rounds once,
 * relative to the result.  What can fail is range: a scale outside
 * [2^-60, 2^60] or a factor above 2^60 in magnitude (or NaN) sets *bad
 * and the caller runs the plain twiddles.  Computed once per weight
 * binding, in a prepare kernel (S * n/2 * stages butterflies), into the
 * prepared data: u, v at ft[((s * ns + stage) * n/2 + i) * 2], i = p
 * without bit l; D at dg[s * n + p]. */
void cg_bfly_factor(cpu_cg *c, const cg_bfly_plan *p, LLVMValueRef tw, int64_t S, LLVMValueRef bad,
                    LLVMValueRef ft, LLVMValueRef dg) {
  int64_t n = p->n, ns = cg_bfly_plan_stages(p);
  LLVMValueRef lo = cg_f32(c, 0x1p-60), hi = cg_f32(c, 0x1p60);
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, S), "fs");
  LLVMValueRef db = cg_mulc(c, sl.iv, n);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "fd");
  cg_storef(c, cg_f32(c, 1), dg, cg_add(c, db, j.iv));
  cg_loop_end(c, &j);
  for (int t = 0; t < ns; t++) {
    const stage *st = &p->st[t];
    int64_t h = (int64_t)1 << st->l;
    LLVMValueRef twb = cg_mulc(c, cg_addc(c, cg_mulc(c, sl.iv, p->B * p->L), st->b * p->L + st->k), n / 2 * 4);
    LLVMValueRef ftb = cg_mulc(c, cg_addc(c, cg_mulc(c, sl.iv, ns), t), n);
    cg_loop rh = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n / (2 * h)), "fh");
    cg_loop rl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, h), "fl");
    LLVMValueRef i = cg_add(c, cg_mulc(c, rh.iv, h), rl.iv);
    LLVMValueRef pp = cg_add(c, db, cg_add(c, cg_mulc(c, rh.iv, 2 * h), rl.iv)), qq = cg_addc(c, pp, h);
    LLVMValueRef dp = cg_loadf(c, dg, pp), dq = cg_loadf(c, dg, qq), ti = cg_add(c, twb, cg_mulc(c, i, 4));
    LLVMValueRef t4[4];
    for (int k = 0; k < 4; k++) t4[k] = cg_loadf(c, tw, cg_addc(c, ti, k));
    LLVMValueRef A = LLVMBuildFMul(c->b, t4[0], dp, ""), E = LLVMBuildFMul(c->b, t4[3], dq, "");
    LLVMValueRef u = LLVMBuildFDiv(c->b, LLVMBuildFMul(c->b, t4[1], dq, ""), A, "");
    LLVMValueRef w = LLVMBuildFDiv(c->b, LLVMBuildFMul(c->b, t4[2], dp, ""), E, "");
    LLVMValueRef fi = cg_add(c, ftb, cg_mulc(c, i, 2));
    cg_storef(c, u, ft, fi);
    cg_storef(c, w, ft, cg_addc(c, fi, 1));
    cg_storef(c, A, dg, pp);
    cg_storef(c, E, dg, qq);
    LLVMValueRef ok = LLVMConstInt(LLVMInt1TypeInContext(c->ctx), 1, 0);
    LLVMValueRef chk[4] = {A, E, u, w};
    for (int k = 0; k < 4; k++) {
      LLVMValueRef m = cg_call_intr(c, "llvm.fabs", c->t_f32, &chk[k], 1);
      ok = LLVMBuildAnd(c->b, ok, LLVMBuildFCmp(c->b, LLVMRealOLE, m, hi, ""), "");
      if (k < 2) ok = LLVMBuildAnd(c->b, ok, LLVMBuildFCmp(c->b, LLVMRealOGE, m, lo, ""), "");
    }
    LLVMValueRef flag = LLVMBuildZExt(c->b, LLVMBuildNot(c->b, ok, ""), c->t_i32, "");
    LLVMBuildStore(c->b, LLVMBuildOr(c->b, LLVMBuildLoad2(c->b, c->t_i32, bad, ""), flag, ""), bad);
    cg_loop_end_nounroll(c, &rl);
    cg_loop_end_nounroll(c, &rh);
  }
  cg_loop_end_nounroll(c, &sl);
}

/* The op's plan; false after reporting. */
static bool bfly_plan(cpu_cg *c, const fab_op *op, cg_bfly_plan *plan, int64_t *S) {
  const fab_type *xt = cg_operand_type(c, 0), *tt = cg_operand_type(c, 1);
  if (xt->rank < 2) {
    CG_ERR(c, "cpu backend: malformed bfly.stages");
    return false;
  }
  int64_t n = xt->dims[xt->rank - 1];
  *S = xt->dims[xt->rank - 2];
  return cg_bfly_plan_init(c, plan, fab_op_attr(op, "stages"), fab_op_attr(op, "cpu.groups"), tt, *S, n);
}

bool cg_gen_bfly_prepare(cpu_cg *c, const fab_op *op) {
  cg_bfly_plan plan;
  int64_t S;
  if (!bfly_plan(c, op, &plan, &S)) return false;
  cg_gen_bfly_rows_prepare(c, &plan, S);
  cg_bfly_plan_free(&plan);
  return true;
}

bool cg_gen_bfly(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *xt = cg_operand_type(c, 0);
  cg_bfly_plan plan;
  int64_t S;
  if (!bfly_plan(c, op, &plan, &S)) return false;
  int64_t n = plan.n;
  int V = c->lanes;
  int64_t R = cg_numel(xt) / (S * n), tiles = (R + V - 1) / V;
  if (cg_bfly_rows_ok(c, &plan)) { /* long rows: no transposes (kernel_bfly_rows.c) */
    bool ok = cg_gen_bfly_rows(c, &plan, S, R, nrows);
    cg_bfly_plan_free(&plan);
    return ok;
  }
  *nrows = tiles;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), tw = cg_arg_f32(c, 2);
  LLVMValueRef buf = cg_lane_buffer(c, n, "lanes");
  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef r0 = cg_mulc(c, tl.iv, V);
  LLVMValueRef nvalid = cg_tile_rows(c, r0, R);
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, S), "stack");
  LLVMValueRef base = cg_mulc(c, cg_add(c, cg_mulc(c, r0, S), sl.iv), n);
  cg_tile_copy(c, x, base, S * n, n, buf, 1, nvalid, true);
  cg_bfly_run(c, &plan, buf, NULL, n, tw, sl.iv, NULL, n);
  cg_tile_copy(c, out, base, S * n, n, buf, 1, nvalid, false);
  cg_loop_end(c, &sl);
  cg_loop_end(c, &tl);
  cg_bfly_plan_free(&plan);
  return true;
}

LLVMValueRef cg_lane_buffer(cpu_cg *c, int64_t nvec, const char *name) {
  LLVMTypeRef bt = LLVMArrayType(c->t_f32, (unsigned)(nvec * c->lanes));
  LLVMValueRef a = cg_alloca(c, bt, name);
  LLVMSetAlignment(a, 64);
  return LLVMBuildBitCast(c->b, a, c->t_f32p, "");
}

LLVMValueRef cg_tile_rows(cpu_cg *c, LLVMValueRef r0, int64_t R) {
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, R), r0, "");
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, c->lanes), ""), left,
                         cg_i64(c, c->lanes), "nvalid");
}
