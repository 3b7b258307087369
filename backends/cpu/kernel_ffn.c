/* kernel_ffn.c — a butterfly feed-forward block and its post-norm in one
 * kernel (add.layernorm with cpu.ffn; the block is fold_ffn.c's):
 *
 *   y = layernorm(x + slice_d(fc2(pad(gelu(fc1(stack(pad(x))) + b1)))) + b2)
 *
 * A parallel row is a tile of V rows.  The tile is transposed once into
 * lanes (xb: d vectors, column j of the V rows in vector j) and stays
 * there: fc1 runs on each of its S1 blocks in the wide buffer wb (n2
 * vectors), bias + GELU in fc1's last register group, fc2 in place on wb,
 * then bias, residual and the layer norm column by column (the mean and
 * variance of a row are sums of vectors, no horizontal reductions), and
 * one transpose out.  The 4x wide intermediate never leaves wb (n2 x V
 * floats on the stack: 256 KiB for n2 = 4096, in L2).  While fc2 runs, the
 * next tile's rows are prefetched. */
#include "cpu_internal.h"

#include <string.h>

typedef struct ffn_shape {
  int64_t rows, d, S1, n1, h, n2;
} ffn_shape;

static bool ffn_shape_of(cpu_cg *c, ffn_shape *s) {
  const fab_type *xt = cg_operand_type(c, 0), *t1 = cg_operand_type(c, 1), *t2 = cg_operand_type(c, 3);
  s->d = cg_lastdim(xt);
  s->rows = s->d > 0 ? cg_numel(xt) / s->d : 0;
  s->S1 = t1->rank == 6 ? t1->dims[0] : 0;
  s->n1 = t1->rank == 6 ? 2 * t1->dims[3] : 0;
  s->h = s->S1 * s->n1;
  s->n2 = t2->rank == 6 ? 2 * t2->dims[3] : 0;
  bool ok = s->rows > 0 && s->n1 >= s->d && s->n2 >= s->h && s->h > 0 && t2->dims[0] == 1 &&
            cg_numel(cg_operand_type(c, 2)) == s->h;
  for (int k = 4; k < 7; k++) ok = ok && cg_numel(cg_operand_type(c, k)) == s->d;
  if (!ok) CG_ERR(c, "cpu backend: add.layernorm cpu.ffn: the block's shapes do not fit together");
  return ok;
}

static const fab_attr *groups_attr(const fab_op *op, const char *key) {
  const fab_attr *a = fab_op_attr(op, key);
  return a && a->kind == FAB_ATTR_INTS ? a : NULL;
}

/* dst[j] = j < n ? src[j] : 0 for j < len (vectors). */
static void copy_pad(cpu_cg *c, LLVMValueRef dst, LLVMValueRef src, int64_t n, int64_t len) {
  int V = c->lanes;
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, n), "cp");
  cg_vstore(c, cg_vload(c, src, cg_mulc(c, j.iv, V), 64), dst, cg_mulc(c, j.iv, V), 64);
  cg_loop_end(c, &j);
  if (len > n) cg_memset0(c, cg_gep(c, c->t_f32, dst, cg_i64(c, n * V)), cg_i64(c, (len - n) * V * 4));
}

/* Prefetch rows [r, min(r + V, rows)) of x (row length d) towards L2. */
static void prefetch_rows(cpu_cg *c, LLVMValueRef x, LLVMValueRef r, const ffn_shape *s) {
  LLVMTypeRef ps[4] = {c->t_i8p, c->t_i32, c->t_i32, c->t_i32};
  LLVMTypeRef fty = LLVMFunctionType(c->t_void, ps, 4, 0);
  LLVMValueRef pf = LLVMGetNamedFunction(c->mod, "llvm.prefetch.p0i8");
  if (!pf) pf = LLVMAddFunction(c->mod, "llvm.prefetch.p0i8", fty);
  LLVMValueRef hi = cg_add(c, r, cg_i64(c, c->lanes));
  hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, hi, cg_i64(c, s->rows), ""), hi, cg_i64(c, s->rows), "");
  LLVMValueRef n = cg_mul(c, LLVMBuildSub(c->b, hi, r, ""), cg_i64(c, s->d));
  n = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, n, cg_i64(c, 0), ""), n, cg_i64(c, 0), "");
  cg_loop l = cg_loop_begin_step(c, cg_i64(c, 0), n, 16, "pf");
  LLVMValueRef p = LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, x, cg_add(c, cg_mulc(c, r, s->d), l.iv)), c->t_i8p, "");
  LLVMValueRef args[4] = {p, cg_i32(c, 0), cg_i32(c, 2), cg_i32(c, 1)};
  LLVMBuildCall2(c->b, fty, pf, args, 4, "");
  cg_loop_end_nounroll(c, &l);
}

/* wb[j] = wb[j] + b2[j] + xb[j] for the d columns; returns their mean. */
static LLVMValueRef residual_mean(cpu_cg *c, LLVMValueRef wb, LLVMValueRef xb, LLVMValueRef b2,
                                  LLVMValueRef acc, int64_t d) {
  int V = c->lanes;
  LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "res");
  LLVMValueRef i = cg_mulc(c, j.iv, V);
  LLVMValueRef v = LLVMBuildFAdd(c->b, cg_vload(c, wb, i, 64), cg_vsplat(c, cg_loadf(c, b2, j.iv), V), "");
  v = LLVMBuildFAdd(c->b, cg_vload(c, xb, i, 64), v, "");
  cg_vstore(c, v, wb, i, 64);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), v, ""), acc);
  cg_loop_end(c, &j);
  return LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), cg_vsplat(c, cg_f32(c, 1.0 / (double)d), V), "mean");
}

/* wb[j] = (wb[j] - mean) rstd gamma[j] + beta[j], biased variance of the
 * centred values, as the layernorm kernel (codegen_elem.c). */
static void normalise(cpu_cg *c, LLVMValueRef wb, LLVMValueRef mean, LLVMValueRef gamma, LLVMValueRef beta,
                      LLVMValueRef acc, double eps, int64_t d) {
  int V = c->lanes;
  LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "var");
  LLVMValueRef dv = LLVMBuildFSub(c->b, cg_vload(c, wb, cg_mulc(c, j.iv, V), 64), mean, "");
  LLVMBuildStore(c->b, cg_fma(c, dv, dv, LLVMBuildLoad2(c->b, c->t_vf, acc, "")), acc);
  cg_loop_end(c, &j);
  LLVMValueRef var = LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc, ""), cg_vsplat(c, cg_f32(c, 1.0 / (double)d), V), "var");
  LLVMValueRef sd = cg_sqrt(c, LLVMBuildFAdd(c->b, var, cg_vsplat(c, cg_f32(c, eps), V), ""));
  LLVMValueRef rstd = LLVMBuildFDiv(c->b, cg_vsplat(c, cg_f32(c, 1), V), sd, "rstd");
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "norm");
  LLVMValueRef i = cg_mulc(c, j.iv, V);
  LLVMValueRef v = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, cg_vload(c, wb, i, 64), mean, ""), rstd, "");
  v = cg_fma(c, v, cg_vsplat(c, cg_loadf(c, gamma, j.iv), V), cg_vsplat(c, cg_loadf(c, beta, j.iv), V));
  cg_vstore(c, v, wb, i, 64);
  cg_loop_end(c, &j);
}

bool cg_gen_ffn(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  ffn_shape s;
  if (!ffn_shape_of(c, &s)) return false;
  cg_bfly_plan p1, p2;
  if (!cg_bfly_plan_init(c, &p1, fab_op_attr(op, "cpu.ffn.fc1.stages"), groups_attr(op, "cpu.ffn.fc1.groups"),
                         cg_operand_type(c, 1), s.S1, s.n1))
    return false;
  if (!cg_bfly_plan_init(c, &p2, fab_op_attr(op, "cpu.ffn.fc2.stages"), groups_attr(op, "cpu.ffn.fc2.groups"),
                         cg_operand_type(c, 3), 1, s.n2)) {
    cg_bfly_plan_free(&p1);
    return false;
  }
  if (p1.ngroups == 0) { /* bias + GELU ride on fc1's last group */
    CG_ERR(c, "cpu backend: add.layernorm cpu.ffn: fc1 has no stages");
    cg_bfly_plan_free(&p1);
    cg_bfly_plan_free(&p2);
    return false;
  }
  int V = c->lanes;
  *nrows = (s.rows + V - 1) / V;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), tw1 = cg_arg_f32(c, 2), b1 = cg_arg_f32(c, 3);
  LLVMValueRef tw2 = cg_arg_f32(c, 4), b2 = cg_arg_f32(c, 5), gamma = cg_arg_f32(c, 6), beta = cg_arg_f32(c, 7);
  LLVMValueRef xb = cg_lane_buffer(c, s.d, "x_lanes"), wb = cg_lane_buffer(c, s.n2, "ffn_lanes");
  LLVMValueRef acc = cg_alloca(c, c->t_vf, "acc");
  bool tanh_approx = strcmp(fab_op_str(op, "cpu.ffn.approx", "erf"), "tanh") == 0;

  cg_loop tl = cg_loop_begin(c, c->begin, c->end, "tile");
  LLVMValueRef r0 = cg_mulc(c, tl.iv, V), nvalid = cg_tile_rows(c, r0, s.rows);
  LLVMValueRef base = cg_mulc(c, r0, s.d);
  cg_tile_copy(c, x, base, s.d, s.d, xb, 1, nvalid, true);
  cg_loop sl = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, s.S1), "block");
  LLVMValueRef seg = cg_gep(c, c->t_f32, wb, cg_mulc(c, sl.iv, s.n1 * V));
  copy_pad(c, seg, xb, s.d, s.n1);
  cg_bfly_epi epi = {b1, cg_mulc(c, sl.iv, s.n1), tanh_approx};
  cg_bfly_run(c, &p1, seg, tw1, sl.iv, &epi, s.n1);
  cg_loop_end_nounroll(c, &sl);
  if (s.n2 > s.h) cg_memset0(c, cg_gep(c, c->t_f32, wb, cg_i64(c, s.h * V)), cg_i64(c, (s.n2 - s.h) * V * 4));
  prefetch_rows(c, x, cg_addc(c, r0, V), &s);
  cg_bfly_run(c, &p2, wb, tw2, cg_i64(c, 0), NULL, s.d); /* the slice reads d columns */
  LLVMValueRef mean = residual_mean(c, wb, xb, b2, acc, s.d);
  normalise(c, wb, mean, gamma, beta, acc, fab_op_float(op, "eps", 1e-5), s.d);
  cg_tile_copy(c, out, base, s.d, s.d, wb, 1, nvalid, false);
  cg_loop_end(c, &tl);
  cg_bfly_plan_free(&p1);
  cg_bfly_plan_free(&p2);
  return true;
}
