/* kernel_ffn.c — a butterfly feed-forward block and its post-norm in one
 * kernel (add.layernorm with cpu.ffn; the block is fold_ffn.c's):
 *
 *   y = layernorm(x + slice_d(fc2(pad(gelu(fc1(stack(pad(x))) + b1)))) + b2)
 *
 * A parallel row is a tile of V rows.  The tile is transposed once into
 * lanes (xb: d vectors, column j of the V rows in vector j) and stays
 * there: fc1 runs on each of its S1 blocks in the wide buffer wb (n2
 * vectors), bias + GELU in fc1's last register group, fc2 in place on wb
 * with bias + residual in its last group's stores, which also sum each
 * row for the mean (the mean and variance of a row are sums of vectors,
 * no horizontal reductions); one pass takes the centred variance, and the
 * normalisation is applied on the way through the transpose out.  The 4x
 * wide intermediate never leaves wb (n2 x V floats on the stack: 256 KiB
 * for n2 = 4096, in L2).  While fc2 runs, the next tile's rows are
 * prefetched.  When both twiddles are weights, both butterflies run with
 * factored twiddles (cg_bfly_factor, kernel_bfly.c), their last scales
 * folded into the bias FMAs; the factors are prepared data, computed by
 * the op's prepare kernel once per weight binding (cg_gen_ffn_prepare). */
#include "cpu_internal.h"

#include <string.h>

typedef struct ffn_shape {
  int64_t rows, d, S1, n1, h, n2;
  int nin, o; /* x's row operands when the kernel computes x (0: x is read); operand shift */
} ffn_shape;

/* The operands: x (or, with cpu.ffn.norm_in = r, x's r row operands,
 * gamma and beta: x = layernorm(sum of the rows)), then tw1, b1, tw2, b2,
 * gamma, beta.  s->o: how far the block's operands are shifted. */
static bool ffn_shape_of(cpu_cg *c, const fab_op *op, ffn_shape *s) {
  s->nin = (int)fab_op_int(op, "cpu.ffn.norm_in", 0);
  s->o = s->nin ? s->nin + 1 : 0;
  bool ok = s->nin >= 0 && s->nin <= 2 && op->noperands == 7 + s->o;
  if (!ok) {
    CG_ERR(c, "cpu backend: add.layernorm cpu.ffn: malformed folded operands");
    return false;
  }
  const fab_type *xt = cg_operand_type(c, 0), *t1 = cg_operand_type(c, s->o + 1), *t2 = cg_operand_type(c, s->o + 3);
  s->d = cg_lastdim(xt);
  s->rows = s->d > 0 ? cg_numel(xt) / s->d : 0;
  s->S1 = t1->rank == 6 ? t1->dims[0] : 0;
  s->n1 = t1->rank == 6 ? 2 * t1->dims[3] : 0;
  s->h = s->S1 * s->n1;
  s->n2 = t2->rank == 6 ? 2 * t2->dims[3] : 0;
  ok = s->rows > 0 && s->n1 >= s->d && s->n2 >= s->h && s->h > 0 && t2->dims[0] == 1 &&
       cg_numel(cg_operand_type(c, s->o + 2)) == s->h;
  for (int k = 4; k < 7; k++) ok = ok && cg_numel(cg_operand_type(c, s->o + k)) == s->d;
  for (int k = 1; k < s->nin; k++) ok = ok && cg_numel(cg_operand_type(c, k)) == cg_numel(xt);
  for (int k = s->nin; k < s->o; k++) ok = ok && cg_numel(cg_operand_type(c, k)) == s->d;
  if (!ok) CG_ERR(c, "cpu backend: add.layernorm cpu.ffn: the block's shapes do not fit together");
  return ok;
}

static const fab_attr *groups_attr(const fab_op *op, const char *key) {
  const fab_attr *a = fab_op_attr(op, key);
  return a && a->kind == FAB_ATTR_INTS ? a : NULL;
}

/* Prefetch rows [r, min(r + V, rows)) of x (row length d) towards L2. */
static void prefetch_rows(cpu_cg *c, LLVMValueRef x, LLVMValueRef r, const ffn_shape *s) {
  LLVMValueRef hi = cg_add(c, r, cg_i64(c, c->lanes));
  hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, hi, cg_i64(c, s->rows), ""), hi, cg_i64(c, s->rows), "");
  LLVMValueRef n = cg_mul(c, LLVMBuildSub(c->b, hi, r, ""), cg_i64(c, s->d));
  n = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, n, cg_i64(c, 0), ""), n, cg_i64(c, 0), "");
  cg_loop l = cg_loop_begin_step(c, cg_i64(c, 0), n, 16, "pf");
  cg_prefetch_l2(c, x, cg_add(c, cg_mulc(c, r, s->d), l.iv));
  cg_loop_end_nounroll(c, &l);
}

/* fc1's epilogue: + b1[bias_off + column], GELU. */
typedef struct gelu_epi {
  LLVMValueRef bias, bias_off, scale; /* scale: fc1's factored scales (NULL: plain twiddles) */
  bool tanh_approx;
} gelu_epi;

/* e scale[j] + bias[j] (one FMA), or e + bias[j] without scales. */
static LLVMValueRef scale_bias(cpu_cg *c, LLVMValueRef e, LLVMValueRef scale, LLVMValueRef bias, LLVMValueRef j) {
  LLVMValueRef bv = cg_vsplat(c, cg_loadf(c, bias, j), c->lanes);
  if (!scale) return LLVMBuildFAdd(c->b, e, bv, "");
  return cg_fma(c, e, cg_vsplat(c, cg_loadf(c, scale, j), c->lanes), bv);
}

static void gelu_apply(cpu_cg *c, const cg_bfly_epi *epi, LLVMValueRef *e, const LLVMValueRef *pidx, int G) {
  const gelu_epi *g = epi->state;
  for (int m = 0; m < G; m++)
    e[m] = cg_gelu(c, scale_bias(c, e[m], g->scale, g->bias, cg_add(c, g->bias_off, pidx[m])), g->tanh_approx);
}

/* acc += the sum of the G vectors v[] (a tree: short dependency chains). */
static void add_sum(cpu_cg *c, LLVMValueRef acc, LLVMValueRef *v, int G) {
  for (int w = 1; w < G; w *= 2)
    for (int m = 0; m + w < G; m += 2 * w) v[m] = LLVMBuildFAdd(c->b, v[m], v[m + w], "");
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), v[0], ""), acc);
}

/* fc2's epilogue, the slice + bias + residual in its stores: columns
 * j < d become v = fc2 + b2[j] + xb[j], and acc gathers the sum of v (a
 * row's sum per lane) for the mean.  guard: the group may hold columns
 * >= d (left as they are: the slice drops them). */
typedef struct residual_epi {
  LLVMValueRef b2, xb, acc, scale; /* scale: fc2's factored scales (NULL: plain twiddles) */
  int64_t d;
  bool guard;
} residual_epi;

static void residual_apply(cpu_cg *c, const cg_bfly_epi *epi, LLVMValueRef *e, const LLVMValueRef *pidx,
                           int G) {
  const residual_epi *r = epi->state;
  int V = c->lanes;
  LLVMValueRef part[256];
  for (int m = 0; m < G; m++) {
    LLVMValueRef in = r->guard ? LLVMBuildICmp(c->b, LLVMIntSLT, pidx[m], cg_i64(c, r->d), "") : NULL;
    LLVMValueRef j = in ? LLVMBuildSelect(c->b, in, pidx[m], cg_i64(c, 0), "") : pidx[m];
    LLVMValueRef v = scale_bias(c, e[m], r->scale, r->b2, j);
    v = LLVMBuildFAdd(c->b, cg_vload(c, r->xb, cg_mulc(c, j, V), 64), v, "");
    e[m] = in ? LLVMBuildSelect(c->b, in, v, e[m], "") : v;
    part[m] = in ? LLVMBuildSelect(c->b, in, v, LLVMConstNull(c->t_vf), "") : v;
  }
  add_sum(c, r->acc, part, G);
}

/* The biased variance of wb's first d vectors about mean (centred, as the
 * layernorm kernel of codegen_elem.c), four partial sums; returns rstd. */
static LLVMValueRef inv_std(cpu_cg *c, LLVMValueRef wb, LLVMValueRef mean, double eps, int64_t d) {
  int V = c->lanes;
  enum { K = 4 };
  LLVMValueRef acc[K];
  for (int k = 0; k < K; k++) {
    acc[k] = cg_alloca(c, c->t_vf, "var");
    LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc[k]);
  }
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d / K), "var");
  for (int k = 0; k < K; k++) {
    LLVMValueRef dv = LLVMBuildFSub(c->b, cg_vload(c, wb, cg_mulc(c, cg_addc(c, cg_mulc(c, j.iv, K), k), V), 64), mean, "");
    LLVMBuildStore(c->b, cg_fma(c, dv, dv, LLVMBuildLoad2(c->b, c->t_vf, acc[k], "")), acc[k]);
  }
  cg_loop_end(c, &j);
  for (int64_t i = d / K * K; i < d; i++) {
    LLVMValueRef dv = LLVMBuildFSub(c->b, cg_vload(c, wb, cg_i64(c, i * V), 64), mean, "");
    LLVMBuildStore(c->b, cg_fma(c, dv, dv, LLVMBuildLoad2(c->b, c->t_vf, acc[0], "")), acc[0]);
  }
  LLVMValueRef sum = LLVMBuildLoad2(c->b, c->t_vf, acc[0], "");
  for (int k = 1; k < K; k++) sum = LLVMBuildFAdd(c->b, sum, LLVMBuildLoad2(c->b, c->t_vf, acc[k], ""), "");
  LLVMValueRef var = LLVMBuildFMul(c->b, sum, cg_vsplat(c, cg_f32(c, 1.0 / (double)d), V), "var");
  LLVMValueRef sd = cg_sqrt(c, LLVMBuildFAdd(c->b, var, cg_vsplat(c, cg_f32(c, eps), V), ""));
  return LLVMBuildFDiv(c->b, cg_vsplat(c, cg_f32(c, 1), V), sd, "rstd");
}

typedef struct norm_args {
  LLVMValueRef mean, rstd, gamma, beta;
} norm_args;

/* (v - mean) rstd gamma[j] + beta[j] for column j. */
static LLVMValueRef norm_col(cpu_cg *c, const norm_args *n, LLVMValueRef v, LLVMValueRef j) {
  int V = c->lanes;
  v = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, v, n->mean, ""), n->rstd, "");
  return cg_fma(c, v, cg_vsplat(c, cg_loadf(c, n->gamma, j), V), cg_vsplat(c, cg_loadf(c, n->beta, j), V));
}

/* Branches on whether the tile is full and d a multiple of V (the V x V
 * shuffle transposes apply): true with the builder in the full-tile
 * block; *slow is the other path's block, *done the join. */
static bool full_tile_branch(cpu_cg *c, LLVMValueRef nvalid, int64_t d, LLVMBasicBlockRef *slow,
                             LLVMBasicBlockRef *done) {
  *slow = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_part");
  *done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_joined");
  if (d % c->lanes) {
    LLVMBuildBr(c->b, *slow);
    return false;
  }
  LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "tile_full");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, nvalid, cg_i64(c, c->lanes), ""), fast, *slow);
  LLVMPositionBuilderAtEnd(c->b, fast);
  return true;
}

/* out's tile rows = the normalised columns of wb: on a full tile (and d a
 * multiple of V) applied to each V x V block on its way through the
 * transpose out; otherwise in place, then the general tile copy. */
static void norm_store(cpu_cg *c, LLVMValueRef out, LLVMValueRef base, LLVMValueRef wb, const norm_args *n,
                       LLVMValueRef nvalid, int64_t d) {
  int V = c->lanes;
  LLVMBasicBlockRef slow, done;
  if (full_tile_branch(c, nvalid, d, &slow, &done)) {
    LLVMValueRef r[64];
    cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, d), V, "nb");
    for (int i = 0; i < V; i++) {
      LLVMValueRef j = cg_addc(c, jb.iv, i);
      r[i] = norm_col(c, n, cg_vload(c, wb, cg_mulc(c, j, V), 64), j);
    }
    cg_transpose_vv(c, r, V);
    for (int i = 0; i < V; i++) cg_vstore(c, r[i], out, cg_add(c, cg_addc(c, base, (int64_t)i * d), jb.iv), 4);
    cg_loop_end_nounroll(c, &jb);
    LLVMBuildBr(c->b, done);
  }
  LLVMPositionBuilderAtEnd(c->b, slow);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "norm");
  LLVMValueRef i = cg_mulc(c, j.iv, V);
  cg_vstore(c, norm_col(c, n, cg_vload(c, wb, i, 64), j.iv), wb, i, 64);
  cg_loop_end(c, &j);
  cg_tile_copy(c, out, base, d, d, wb, 1, nvalid, false);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* The highest stride bit of plan p's last register group. */
static int64_t last_group_top(const cg_bfly_plan *p) {
  int at = 0;
  for (int g = 0; g + 1 < p->ngroups; g++) at += p->groups[g];
  int64_t top = 0;
  for (int t = 0; t < p->groups[p->ngroups - 1]; t++)
    if (p->st[at + t].l > top) top = p->st[at + t].l;
  return top;
}

/* xb = the tile of rows[0] (+ rows[1]), and acc = its sum over the
 * columns.  Full tiles with d a multiple of V add the rows before one
 * transpose and sum after it; others go through cg_tile_copy (tmp: d vectors of scratch). */
static void load_rows(cpu_cg *c, const LLVMValueRef *rows, int nin, LLVMValueRef base, LLVMValueRef xb,
                      LLVMValueRef tmp, LLVMValueRef acc, LLVMValueRef nvalid, int64_t d) {
  int V = c->lanes;
  LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc);
  LLVMBasicBlockRef slow, done;
  if (full_tile_branch(c, nvalid, d, &slow, &done)) {
    LLVMValueRef r[64];
    cg_loop jb = cg_loop_begin_step(c, cg_i64(c, 0), cg_i64(c, d), V, "lb");
    for (int i = 0; i < V; i++) { /* the rows' sum before the transpose: one transpose, not nin */
      LLVMValueRef xi = cg_add(c, cg_addc(c, base, (int64_t)i * d), jb.iv);
      r[i] = cg_vload(c, rows[0], xi, 4);
      for (int k = 1; k < nin; k++) r[i] = LLVMBuildFAdd(c->b, r[i], cg_vload(c, rows[k], xi, 4), "");
    }
    cg_transpose_vv(c, r, V);
    for (int i = 0; i < V; i++) cg_vstore(c, r[i], xb, cg_mulc(c, cg_addc(c, jb.iv, i), V), 64);
    add_sum(c, acc, r, V);
    cg_loop_end_nounroll(c, &jb);
    LLVMBuildBr(c->b, done);
  }
  LLVMPositionBuilderAtEnd(c->b, slow);
  cg_tile_copy(c, rows[0], base, d, d, xb, 1, nvalid, true);
  if (nin > 1) cg_tile_copy(c, rows[1], base, d, d, tmp, 1, nvalid, true);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "ls");
  LLVMValueRef i = cg_mulc(c, j.iv, V), v = cg_vload(c, xb, i, 64);
  if (nin > 1) v = LLVMBuildFAdd(c->b, v, cg_vload(c, tmp, i, 64), "");
  cg_vstore(c, v, xb, i, 64);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), v, ""), acc);
  cg_loop_end(c, &j);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* xb = the tile of x: transposed in, or with norm_in the layer norm of
 * its row operands' sum, computed in the lanes (as the epilogue's). */
static void load_x(cpu_cg *c, const fab_op *op, const ffn_shape *s, LLVMValueRef base, LLVMValueRef xb,
                   LLVMValueRef wb, LLVMValueRef acc, LLVMValueRef nvalid) {
  int V = c->lanes;
  if (!s->nin) {
    cg_tile_copy(c, cg_arg_f32(c, 1), base, s->d, s->d, xb, 1, nvalid, true);
    return;
  }
  LLVMValueRef rows[2] = {cg_arg_f32(c, 1), s->nin > 1 ? cg_arg_f32(c, 2) : NULL};
  load_rows(c, rows, s->nin, base, xb, wb, acc, nvalid, s->d);
  LLVMValueRef sum = LLVMBuildLoad2(c->b, c->t_vf, acc, "");
  norm_args na = {LLVMBuildFMul(c->b, sum, cg_vsplat(c, cg_f32(c, 1.0 / (double)s->d), V), "mean_in"), NULL,
                  cg_arg_f32(c, s->nin + 1), cg_arg_f32(c, s->nin + 2)};
  na.rstd = inv_std(c, xb, na.mean, fab_op_float(op, "cpu.ffn.norm_in.eps", 1e-5), s->d);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, s->d), "norm_in");
  LLVMValueRef i = cg_mulc(c, j.iv, V);
  cg_vstore(c, norm_col(c, &na, cg_vload(c, xb, i, 64), j.iv), xb, i, 64);
  cg_loop_end(c, &j);
}

/* The kernel's buffers and the block's plans, for gen_tiles. */
typedef struct ffn_gen {
  const fab_op *op;
  ffn_shape s;
  cg_bfly_plan p1, p2;
  bool prepared; /* both twiddles are weights: factored in the prepared data */
  LLVMValueRef xb, wb, acc;
  LLVMValueRef scale1, scale2; /* the factored scales, or NULL */
} ffn_gen;

/* The loop over this call's tiles. */
static void gen_tiles(cpu_cg *c, const ffn_gen *f) {
  const ffn_shape *s = &f->s;
  int V = c->lanes;
  LLVMValueRef out = cg_arg_f32(c, 0), tw1 = cg_arg_f32(c, s->o + 2), b1 = cg_arg_f32(c, s->o + 3);
  LLVMValueRef tw2 = cg_arg_f32(c, s->o + 4), b2 = cg_arg_f32(c, s->o + 5);
  LLVMValueRef gamma = cg_arg_f32(c, s->o + 6), beta = cg_arg_f32(c, s->o + 7);
  LLVMValueRef xb = f->xb, wb = f->wb, acc = f->acc;
  bool tanh_approx = strcmp(fab_op_str(f->op, "cpu.ffn.approx", "erf"), "tanh") == 0;

  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef r0 = cg_mulc(c, tl.iv, V), nvalid = cg_tile_rows(c, r0, s->rows);
  LLVMValueRef base = cg_mulc(c, r0, s->d);
  load_x(c, f->op, s, base, xb, wb, acc, nvalid);
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, s->S1), "block");
  LLVMValueRef seg = cg_gep(c, c->t_f32, wb, cg_mulc(c, sl.iv, s->n1 * V));
  gelu_epi ge = {b1, cg_mulc(c, sl.iv, s->n1), f->scale1, tanh_approx};
  cg_bfly_epi epi1 = {gelu_apply, &ge};
  /* the first group reads x's d vectors in place, the pad to n1 as zeros */
  cg_bfly_run(c, &f->p1, seg, xb, s->d, tw1, sl.iv, &epi1, s->n1);
  cg_loop_end_nounroll(c, &sl);
  for (int k = 0; k < (s->nin ? s->nin : 1); k++) prefetch_rows(c, cg_arg_f32(c, k + 1), cg_addc(c, r0, V), s);
  LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc);
  residual_epi re = {b2, xb, acc, f->scale2, s->d, s->d % (2 << last_group_top(&f->p2)) != 0};
  cg_bfly_epi epi2 = {residual_apply, &re};
  /* fc2 in place on the h vectors of fc1's blocks, the pad to n2 read as
   * zeros; the slice reads d columns */
  cg_bfly_run(c, &f->p2, wb, NULL, s->h, tw2, cg_i64(c, 0), &epi2, s->d);
  norm_args na = {LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), cg_vsplat(c, cg_f32(c, 1.0 / (double)s->d), V), "mean"),
                  NULL, gamma, beta};
  na.rstd = inv_std(c, wb, na.mean, fab_op_float(f->op, "eps", 1e-5), s->d);
  norm_store(c, out, base, wb, &na, nvalid, s->d);
  cg_loop_end(c, &tl);
}


/* The op's prepared data, in floats: a header (the i32 "out of range"
 * flag, 64 bytes), then fc1's factors and scales, then fc2's. */
typedef struct ffn_prep {
  int64_t ft1, dg1, ft2, dg2, bytes;
} ffn_prep;

static ffn_prep prep_layout(const ffn_gen *f) {
  const ffn_shape *s = &f->s;
  ffn_prep l;
  l.ft1 = 16;
  l.dg1 = l.ft1 + s->S1 * cg_bfly_plan_stages(&f->p1) * s->n1;
  l.ft2 = (l.dg1 + s->S1 * s->n1 + 15) / 16 * 16;
  l.dg2 = l.ft2 + cg_bfly_plan_stages(&f->p2) * s->n2;
  l.bytes = (l.dg2 + s->n2) * 4;
  return l;
}

/* The tiles with factored twiddles when the prepare kernel found the
 * factors in range, else with the twiddles as they are.  The choice is
 * made once per binding, from the weights only: it does not depend on
 * how the tiles are split between calls and threads.  Twiddles that are
 * not weights (computed by the model) run plain. */
/* The plain tiles as a function of their own, called from the kernel:
 * marked optsize, so that LLVM does not unroll the code for weights that
 * rarely occur as it does the factored tiles (it doubled the kernel's
 * compile time).  Same arguments and rows as the kernel. */
static void gen_plain_fn(cpu_cg *c, ffn_gen *f) {
  LLVMValueRef fn0 = c->fn, args0 = c->args, begin0 = c->begin, end0 = c->end;
  LLVMValueRef xb0 = f->xb, wb0 = f->wb, acc0 = f->acc;
  LLVMBasicBlockRef entry0 = c->entry_bb, at = LLVMGetInsertBlock(c->b);
  char name[64];
  snprintf(name, sizeof name, "fab_k%d_ffn_plain", c->op_index);
  LLVMValueRef fn = cg_new_fn(c, name, c->t_kernel, false);
  const char *attrs[] = {"noinline", "minsize"};
  for (int i = 0; i < 2; i++)
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(c->ctx, LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i])), 0));
  c->args = LLVMGetParam(fn, 0);
  c->begin = LLVMGetParam(fn, 1);
  c->end = LLVMGetParam(fn, 2);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  f->xb = cg_lane_buffer(c, f->s.d, "x_lanes");
  f->wb = cg_lane_buffer(c, f->s.n2, "ffn_lanes");
  f->acc = cg_alloca(c, c->t_vf, "acc");
  gen_tiles(c, f);
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  c->fn = fn0, c->args = args0, c->begin = begin0, c->end = end0, c->entry_bb = entry0;
  f->xb = xb0, f->wb = wb0, f->acc = acc0;
  LLVMPositionBuilderAtEnd(c->b, at);
  LLVMValueRef call_args[3] = {args0, begin0, end0};
  LLVMBuildCall2(c->b, c->t_kernel, fn, call_args, 3, "");
}

static void gen_factored_or_plain(cpu_cg *c, ffn_gen *f) {
  if (!f->prepared) {
    gen_tiles(c, f);
    return;
  }
  ffn_prep l = prep_layout(f);
  LLVMValueRef prep = cg_arg_f32(c, cg_prepared_arg(c, f->op));
  LLVMValueRef bad = LLVMBuildLoad2(c->b, c->t_i32, LLVMBuildBitCast(c->b, prep, c->t_i32p, ""), "factor_bad");
  f->p1.factored = cg_gep(c, c->t_f32, prep, cg_i64(c, l.ft1));
  f->scale1 = cg_gep(c, c->t_f32, prep, cg_i64(c, l.dg1));
  f->p2.factored = cg_gep(c, c->t_f32, prep, cg_i64(c, l.ft2));
  f->scale2 = cg_gep(c, c->t_f32, prep, cg_i64(c, l.dg2));
  LLVMValueRef ok = LLVMBuildICmp(c->b, LLVMIntEQ, bad, cg_i32(c, 0), "");
  LLVMBasicBlockRef fact = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "ffn_factored");
  LLVMBasicBlockRef plain = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "ffn_plain");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "ffn_done");
  LLVMBuildCondBr(c->b, ok, fact, plain);
  LLVMPositionBuilderAtEnd(c->b, fact);
  gen_tiles(c, f);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, plain);
  f->p1.factored = f->p2.factored = f->scale1 = f->scale2 = NULL;
  /* weights that rarely occur: one stage per register group, less code */
  cg_bfly_plan k1 = f->p1, k2 = f->p2;
  int ones[64];
  for (int i = 0; i < 64; i++) ones[i] = 1;
  if (cg_bfly_plan_stages(&k1) <= 64 && cg_bfly_plan_stages(&k2) <= 64) {
    f->p1.ngroups = cg_bfly_plan_stages(&k1);
    f->p2.ngroups = cg_bfly_plan_stages(&k2);
    f->p1.groups = f->p2.groups = ones;
  }
  gen_plain_fn(c, f);
  f->p1 = k1;
  f->p2 = k2;
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* The block's shape and plans (f->op set); false after reporting. */
static bool ffn_setup(cpu_cg *c, ffn_gen *f) {
  const fab_op *op = f->op;
  ffn_shape *s = &f->s;
  if (!ffn_shape_of(c, op, s)) return false;
  if (!cg_bfly_plan_init(c, &f->p1, fab_op_attr(op, "cpu.ffn.fc1.stages"), groups_attr(op, "cpu.ffn.fc1.groups"),
                         cg_operand_type(c, s->o + 1), s->S1, s->n1))
    return false;
  if (!cg_bfly_plan_init(c, &f->p2, fab_op_attr(op, "cpu.ffn.fc2.stages"), groups_attr(op, "cpu.ffn.fc2.groups"),
                         cg_operand_type(c, s->o + 3), 1, s->n2)) {
    cg_bfly_plan_free(&f->p1);
    return false;
  }
  bool ok = f->p1.ngroups > 0 && f->p2.ngroups > 0; /* the epilogues ride on the last groups */
  if (!ok) {
    CG_ERR(c, "cpu backend: add.layernorm cpu.ffn: fc1 or fc2 has no stages");
    cg_bfly_plan_free(&f->p1);
    cg_bfly_plan_free(&f->p2);
  }
  f->prepared = ok && c->weight_root && c->weight_root[op->operands[s->o + 1]] &&
                c->weight_root[op->operands[s->o + 3]];
  return ok;
}

bool cg_gen_ffn(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  ffn_gen f = {.op = op};
  if (!ffn_setup(c, &f)) return false;
  const ffn_shape *s = &f.s;
  int V = c->lanes;
  *nrows = (s->rows + V - 1) / V;
  f.xb = cg_lane_buffer(c, s->d, "x_lanes");
  f.wb = cg_lane_buffer(c, s->n2, "ffn_lanes");
  f.acc = cg_alloca(c, c->t_vf, "acc");
  if (f.prepared) c->prep_bytes = prep_layout(&f).bytes;
  gen_factored_or_plain(c, &f);
  cg_bfly_plan_free(&f.p1);
  cg_bfly_plan_free(&f.p2);
  return true;
}

/* The prepare kernel: both butterflies' factors and scales, and whether
 * they are all in range. */
bool cg_gen_ffn_prepare(cpu_cg *c, const fab_op *op) {
  ffn_gen f = {.op = op};
  if (!ffn_setup(c, &f)) return false;
  const ffn_shape *s = &f.s;
  ffn_prep l = prep_layout(&f);
  LLVMValueRef prep = cg_arg_f32(c, cg_prepared_arg(c, op));
  /* a local flag (a register: the factor loops may vectorise), stored last */
  LLVMValueRef bad = cg_alloca(c, c->t_i32, "factor_bad");
  LLVMBuildStore(c->b, cg_i32(c, 0), bad);
  cg_bfly_factor(c, &f.p1, cg_arg_f32(c, s->o + 2), s->S1, bad, cg_gep(c, c->t_f32, prep, cg_i64(c, l.ft1)),
                 cg_gep(c, c->t_f32, prep, cg_i64(c, l.dg1)));
  cg_bfly_factor(c, &f.p2, cg_arg_f32(c, s->o + 4), 1, bad, cg_gep(c, c->t_f32, prep, cg_i64(c, l.ft2)),
                 cg_gep(c, c->t_f32, prep, cg_i64(c, l.dg2)));
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->t_i32, bad, ""), LLVMBuildBitCast(c->b, prep, c->t_i32p, ""));
  cg_bfly_plan_free(&f.p1);
  cg_bfly_plan_free(&f.p2);
  return true;
}
