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
 *     pairs lanes j and j ^ 2^l, done with two in-register shuffles (the
 *     pair's first and second element in every lane) and lane-wise
 *     twiddle vectors.  Such a run rides on the next high pass (before
 *     its stages), or the last run on the last high pass (after them),
 *     saving a pass over the rows (N = 1024: 0.59 -> 0.54 ms); only an op
 *     without high stages has a pass of its own for it.
 *
 * Both compute every output exactly as the lane kernel does
 * (fma(t01, q, t00 * a) and fma(t11, q, t10 * a)), so the results are
 * bit-identical.  The twiddles are first laid out as the passes read them
 * (build_table, once per stack and call).  The first pass reads x, the
 * others work in place on the output rows, BLOCK_ROWS rows at a time. */
#include "cpu_internal.h"

typedef cg_bfly_stage stage;

static int log2i(int64_t v) {
  int l = 0;
  while (((int64_t)1 << l) < v) l++;
  return l;
}

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
 * [t00 or t10 by lane | t01 or t11 by lane]. */
static void build_table(cpu_cg *c, const cg_bfly_plan *p, int ns, LLVMValueRef tw, LLVMValueRef s,
                        LLVMValueRef tab) {
  int V = c->lanes, lv = log2i(V);
  for (int t = 0; t < ns; t++) {
    const stage *st = &p->st[t];
    LLVMValueRef base = tw_base(c, p, st, s), dst = cg_i64(c, (int64_t)t * 2 * p->n);
    if (st->l >= lv) {
      cg_loop b = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n / 2), V, "twb");
      LLVMValueRef w[4];
      twiddle4(c, tw, cg_add(c, base, cg_mulc(c, b.iv, 4)), w);
      LLVMValueRef o = cg_add(c, dst, cg_mulc(c, b.iv, 4));
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
      ma[j] = 4 * d + (hi ? 2 : 0); /* t00 for the pair's first lane, t10 for its second */
      mq[j] = 4 * d + (hi ? 3 : 1); /* t01, t11 */
    }
    LLVMValueRef o = cg_add(c, dst, cg_mulc(c, b.iv, 2));
    cg_vstore(c, shuffle1(c, z0, z1, ma), tab, o, (unsigned)V * 4);
    cg_vstore(c, shuffle1(c, z0, z1, mq), tab, cg_addc(c, o, V), (unsigned)V * 4);
    cg_loop_end_nounroll(c, &b);
  }
}

/* Rows [r0, r0 + nr) of the current stack: float offset of row r's
 * position 0. */
typedef struct row_block {
  LLVMValueRef r0, nr, sl;
  int64_t S;
} row_block;

static LLVMValueRef row_base(cpu_cg *c, const cg_bfly_plan *p, const row_block *rb, LLVMValueRef r) {
  return cg_mulc(c, cg_add(c, cg_mulc(c, cg_add(c, rb->r0, r), rb->S), rb->sl), p->n);
}

/* One or two stages of stride >= V (distinct): for each column block, the
 * 2^g vectors at p0 + off[m] of every row. */
/* One stage of stride 2^l < V inside vector x, with the lane-wise
 * twiddles ta (t00 / t10) and tq (t01 / t11). */
static LLVMValueRef low_stage(cpu_cg *c, LLVMValueRef x, LLVMValueRef ta, LLVMValueRef tq, int64_t l) {
  int V = c->lanes, ma[64], mq[64];
  for (int j = 0; j < V; j++) {
    ma[j] = (int)(j & ~((int64_t)1 << l)); /* the pair's a in every lane */
    mq[j] = (int)(j | ((int64_t)1 << l));  /* its q */
  }
  LLVMValueRef a = shuffle1(c, x, x, ma), q = shuffle1(c, x, x, mq);
  return cg_fma(c, tq, q, LLVMBuildFMul(c->b, ta, a, ""));
}

/* Low stages st[0..ns) on the vector x at position pos (a multiple of V):
 * twiddles read from the table. */
static LLVMValueRef low_stages_at(cpu_cg *c, const cg_bfly_plan *p, const stage *st, int ns, LLVMValueRef tab,
                                  LLVMValueRef pos, LLVMValueRef x) {
  int V = c->lanes;
  for (int t = 0; t < ns; t++) {
    LLVMValueRef at = cg_add(c, cg_i64(c, st_index(p, &st[t]) * 2 * p->n), cg_mulc(c, pos, 2));
    x = low_stage(c, x, cg_vload(c, tab, at, (unsigned)V * 4), cg_vload(c, tab, cg_addc(c, at, V), (unsigned)V * 4),
                  st[t].l);
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
                      LLVMValueRef src, LLVMValueRef dst, LLVMValueRef tab, const low_run *lr) {
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
  cg_loop cb = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, p->n / V / G), "cblock");
  LLVMValueRef p0 = cg_mulc(c, cb.iv, V);
  for (int t = 0; t < g; t++) p0 = insert_zero_bit(c, p0, lsort[t]);
  LLVMValueRef T[2][2][4]; /* stage, butterfly, t00..t11 */
  for (int t = 0; t < g; t++) {
    LLVMValueRef base = cg_i64(c, (st_index(p, &st[t])) * 2 * p->n);
    for (int m = 0, u = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      /* i = position without bit l: V consecutive butterflies (l >= log2 V) */
      LLVMValueRef pos = cg_addc(c, p0, off[m]);
      LLVMValueRef above = LLVMBuildAnd(c->b, pos, cg_i64(c, ~(((int64_t)2 << st[t].l) - 1)), "");
      LLVMValueRef below = LLVMBuildAnd(c->b, pos, cg_i64(c, ((int64_t)1 << st[t].l) - 1), "");
      LLVMValueRef i = LLVMBuildOr(c->b, LLVMBuildLShr(c->b, above, cg_i64(c, 1), ""), below, "");
      LLVMValueRef at = cg_add(c, base, cg_mulc(c, i, 4));
      for (int k = 0; k < 4; k++) T[t][u][k] = cg_vload(c, tab, cg_addc(c, at, (int64_t)k * V), (unsigned)V * 4);
      u++;
    }
  }
  cg_loop r = cg_loop_begin(c, cg_i64(c, 0), rb->nr, "row");
  LLVMValueRef rbase = row_base(c, p, rb, r.iv), e[4];
  for (int m = 0; m < G; m++) {
    e[m] = cg_vload(c, src, cg_add(c, rbase, cg_addc(c, p0, off[m])), 4);
    e[m] = low_stages_at(c, p, lr->pre, lr->npre, tab, cg_addc(c, p0, off[m]), e[m]);
  }
  for (int t = 0; t < g; t++)
    for (int m = 0, u = 0; m < G; m++) {
      if (m & (1 << t)) continue;
      int mq = m | (1 << t);
      LLVMValueRef *w = T[t][u++], a = e[m], q = e[mq];
      e[m] = cg_fma(c, w[1], q, LLVMBuildFMul(c->b, w[0], a, ""));
      e[mq] = cg_fma(c, w[3], q, LLVMBuildFMul(c->b, w[2], a, ""));
    }
  for (int m = 0; m < G; m++) {
    e[m] = low_stages_at(c, p, lr->post, lr->npost, tab, cg_addc(c, p0, off[m]), e[m]);
    cg_vstore(c, e[m], dst, cg_add(c, rbase, cg_addc(c, p0, off[m])), 4);
  }
  cg_loop_end_nounroll(c, &r);
  cg_loop_end_nounroll(c, &cb);
}

/* Stages st[0..ns) of stride < V, inside every vector of every row. */
static void low_pass(cpu_cg *c, const cg_bfly_plan *p, const stage *st, int ns, const row_block *rb,
                     LLVMValueRef src, LLVMValueRef dst, LLVMValueRef tab) {
  int V = c->lanes;
  cg_loop cb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, p->n), V, "cols");
  LLVMValueRef ta[64], tq[64];
  for (int t = 0; t < ns; t++) {
    LLVMValueRef at = cg_add(c, cg_i64(c, st_index(p, &st[t]) * 2 * p->n), cg_mulc(c, cb.iv, 2));
    ta[t] = cg_vload(c, tab, at, (unsigned)V * 4); /* table offsets are multiples of V */
    tq[t] = cg_vload(c, tab, cg_addc(c, at, V), (unsigned)V * 4);
  }
  cg_loop r = cg_loop_begin(c, cg_i64(c, 0), rb->nr, "row");
  LLVMValueRef at = cg_add(c, row_base(c, p, rb, r.iv), cb.iv);
  LLVMValueRef x = cg_vload(c, src, at, 4);
  for (int t = 0; t < ns; t++) x = low_stage(c, x, ta[t], tq[t], st[t].l);
  cg_vstore(c, x, dst, at, 4);
  cg_loop_end_nounroll(c, &r);
  cg_loop_end_nounroll(c, &cb);
}

/* Rows per block: the twiddles a pass keeps in registers serve these
 * rows.  Few rows keep each pass's streams (rows x vectors) few enough for
 * the prefetchers and the block in L1/L2 across passes; measured on Zen 4
 * (N = 256..4096): 4 beats 2, 8 and 16 (at N = 1024 by 20-50%). */
enum { BLOCK_ROWS = CG_BFLY_BLOCK_ROWS };

/* The twiddle table lives on the stack (build_table): at most as big as
 * the lane kernel's buffer of 4096-point rows; longer ops use that kernel. */
enum { TABLE_MAX_BYTES = 256 * 1024 };

static int plan_stages(const cg_bfly_plan *p) {
  int ns = 0;
  for (int g = 0; g < p->ngroups; g++) ns += p->groups[g];
  return ns;
}

bool cg_bfly_rows_ok(const cpu_cg *c, const cg_bfly_plan *p) {
  int V = c->lanes;
  int64_t ns = plan_stages(p);
  return V >= 4 && V <= 64 && p->n >= 4 * V && p->n % V == 0 && ns >= 1 &&
         ns * 2 * p->n * 4 <= TABLE_MAX_BYTES;
}

bool cg_gen_bfly_rows(cpu_cg *c, const cg_bfly_plan *p, int64_t S, int64_t rows, int64_t *nrows) {
  int V = c->lanes, lv = log2i(V);
  int64_t R = BLOCK_ROWS;
  int ns = plan_stages(p);
  *nrows = (rows + R - 1) / R;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), tw = cg_arg_f32(c, 2);
  LLVMValueRef tab = cg_lane_buffer(c, (int64_t)ns * 2 * p->n / V, "twiddles");
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, S), "stack");
  build_table(c, p, ns, tw, sl.iv, tab);
  cg_loop bl = cg_loop_begin(c, c->begin, c->end, "rblock");
  row_block rb = {cg_mulc(c, bl.iv, R), NULL, sl.iv, S};
  LLVMValueRef left = LLVMBuildNSWSub(c->b, cg_i64(c, rows), rb.r0, "");
  rb.nr = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, cg_i64(c, R), ""), left, cg_i64(c, R), "");
  /* passes: one or two high stages (distinct strides), each taking the
   * run of low stages just before it, or after it when it is the last;
   * a run of low stages alone only without high stages */
  for (int i = 0; i < ns;) {
    low_run lr = {NULL, NULL, 0, 0};
    int k = 0;
    while (i + k < ns && p->st[i + k].l < lv) k++;
    if (i + k == ns) { /* low stages only */
      if (p->st[i].l < lv) {
        k = 1;
        while (i + k < ns && p->st[i + k].l < lv) k++;
        low_pass(c, p, p->st + i, k, &rb, i == 0 ? x : out, out, tab);
        i += k;
        continue;
      }
      k = 0;
    }
    lr.pre = p->st + i;
    lr.npre = k;
    int h = i + k, g = 1;
    if (h + 1 < ns && p->st[h + 1].l >= lv && p->st[h + 1].l != p->st[h].l) g = 2;
    int e = h + g, k2 = 0;
    while (e + k2 < ns && p->st[e + k2].l < lv) k2++;
    if (e + k2 == ns) { /* the last low run rides on the last high pass */
      lr.post = p->st + e;
      lr.npost = k2;
    } else {
      k2 = 0;
    }
    high_pass(c, p, p->st + h, g, &rb, i == 0 ? x : out, out, tab, &lr);
    i = e + k2;
  }
  cg_loop_end(c, &bl);
  cg_loop_end_nounroll(c, &sl);
  return true;
}
