/* codegen_elem.c — row-independent ops: const, activations, scale, add/mul
 * with row broadcasting, softmax, layernorm and the fused bias.gelu /
 * add.layernorm, complex/real.
 *
 * Each kernel's parallel rows are the rows of the last axis (or of the
 * broadcast operand): the inner loop runs over contiguous memory and is
 * left to LLVM's loop vectoriser at the target's vector width. */
#include "cpu_internal.h"

#include <math.h>
#include <string.h>

/* Loop over rows [begin, end) of length d; returns the row base (r * d). */
static LLVMValueRef rows_begin(cpu_cg *c, cg_loop *l, int64_t d) {
  *l = cg_loop_begin(c, c->begin, c->end, "row");
  return cg_mulc(c, l->iv, d);
}

/* out = f(x) elementwise, flat over rows of length d. */
/* Whole vectors per row: written out rather than left to the loop
 * vectoriser, which adds a runtime alias check and falls back to scalar
 * code when the memory plan puts out over x (in place), as it does. */
static bool vec_rows(cpu_cg *c, int64_t d) { return c->lanes > 1 && d % c->lanes == 0; }

/* vec: f also takes vectors (only then the vector path is used). */
static void gen_unary(cpu_cg *c, int64_t d, LLVMValueRef (*f)(cpu_cg *, LLVMValueRef, const fab_op *), bool vec) {
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1);
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  if (vec && vec_rows(c, d)) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d / c->lanes), "jv");
    LLVMValueRef i = cg_add(c, base, cg_mulc(c, j.iv, c->lanes));
    cg_vstore(c, f(c, cg_vload(c, x, i, 4), c->op), out, i, 4);
    cg_loop_end(c, &j);
  } else {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
    LLVMValueRef i = cg_add(c, base, j.iv);
    cg_storef(c, f(c, cg_loadf(c, x, i), c->op), out, i);
    cg_loop_end(c, &j);
  }
  cg_loop_end(c, &r);
}

static LLVMValueRef f_relu(cpu_cg *c, LLVMValueRef x, const fab_op *op) {
  (void)op;
  LLVMValueRef gt = LLVMBuildFCmp(c->b, LLVMRealOGT, x, cg_f32(c, 0), "");
  return LLVMBuildSelect(c->b, gt, x, cg_f32(c, 0), "relu");
}

static bool tanh_approx(const fab_op *op) {
  return strcmp(fab_op_str(op, "approx", "erf"), "tanh") == 0;
}

static LLVMValueRef f_gelu(cpu_cg *c, LLVMValueRef x, const fab_op *op) {
  return cg_gelu(c, x, tanh_approx(op));
}

static LLVMValueRef f_scale(cpu_cg *c, LLVMValueRef x, const fab_op *op) {
  return LLVMBuildFMul(c->b, x, cg_f32(c, fab_op_float(op, "factor", 1.0)), "");
}

/* Index of the broadcast operand b (numel bn) for element base + j of a
 * row of length d. */
static LLVMValueRef bcast_index(cpu_cg *c, LLVMValueRef base, LLVMValueRef j, int64_t d, int64_t n,
                                int64_t bn) {
  if (bn == n) return cg_add(c, base, j);
  if (bn == d) return j;
  return LLVMBuildURem(c->b, cg_add(c, base, j), cg_i64(c, bn), "");
}

static bool gen_binary(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  int64_t n = cg_numel(&op->type);
  int ia = 1, ib = 2;
  if (cg_numel(cg_operand_type(c, 0)) < cg_numel(cg_operand_type(c, 1))) {
    ia = 2; /* add and mul commute: broadcast whichever is smaller */
    ib = 1;
  }
  int64_t bn = cg_numel(cg_operand_type(c, ib - 1));
  if (bn <= 0 || n % bn) {
    CG_ERR(c, "cpu backend: %s operands do not broadcast", fab_opinfos[op->code].name);
    return false;
  }
  int64_t d = bn < n ? bn : cg_lastdim(&op->type);
  *nrows = n / d;
  LLVMValueRef out = cg_arg_f32(c, 0), a = cg_arg_f32(c, ia), b = cg_arg_f32(c, ib);
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef i = cg_add(c, base, j.iv);
  LLVMValueRef x = cg_loadf(c, a, i), y = cg_loadf(c, b, bcast_index(c, base, j.iv, d, n, bn));
  LLVMValueRef v = op->code == FAB_OP_ADD ? LLVMBuildFAdd(c->b, x, y, "") : LLVMBuildFMul(c->b, x, y, "");
  cg_storef(c, v, out, i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
  return true;
}

static void gen_bias_gelu(cpu_cg *c, const fab_op *op, int64_t d) {
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), b = cg_arg_f32(c, 2);
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  if (vec_rows(c, d)) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d / c->lanes), "jv");
    LLVMValueRef jj = cg_mulc(c, j.iv, c->lanes), i = cg_add(c, base, jj);
    LLVMValueRef v = LLVMBuildFAdd(c->b, cg_vload(c, x, i, 4), cg_vload(c, b, jj, 4), "");
    cg_vstore(c, cg_gelu(c, v, tanh_approx(op)), out, i, 4);
    cg_loop_end(c, &j);
  } else {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
    LLVMValueRef i = cg_add(c, base, j.iv);
    LLVMValueRef v = LLVMBuildFAdd(c->b, cg_loadf(c, x, i), cg_loadf(c, b, j.iv), "");
    cg_storef(c, cg_gelu(c, v, tanh_approx(op)), out, i);
    cg_loop_end(c, &j);
  }
  cg_loop_end(c, &r);
}

/* Masked softmax (mask operand and/or causal): masked columns count as
 * -inf in the max and as 0 in the sum; a row with nothing kept gives 0. */
static void gen_softmax_masked(cpu_cg *c, const fab_op *op, int64_t d, int64_t per, bool causal) {
  double scale = fab_op_float(op, "scale", 1.0);
  const fab_type *xt = &op->type;
  int64_t s = xt->rank >= 2 ? xt->dims[xt->rank - 2] : 1;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1);
  LLVMValueRef mx = cg_alloca(c, c->t_f32, "max"), sum = cg_alloca(c, c->t_f32, "sum");
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d), qi = LLVMBuildSRem(c->b, r.iv, cg_i64(c, s), "qi");
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), mx);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef v = LLVMBuildFMul(c->b, cg_loadf(c, x, cg_add(c, base, j.iv)), cg_f32(c, scale), "");
  v = LLVMBuildSelect(c->b, cg_keep(c, 1, per, d, causal, r.iv, qi, j.iv), v, cg_f32(c, -INFINITY), "");
  LLVMBuildStore(c->b, cg_fmax(c, LLVMBuildLoad2(c->b, c->t_f32, mx, ""), v), mx);
  cg_loop_end(c, &j);
  LLVMValueRef m = LLVMBuildLoad2(c->b, c->t_f32, mx, "m");
  LLVMValueRef none = LLVMBuildFCmp(c->b, LLVMRealOEQ, m, cg_f32(c, -INFINITY), "");
  m = LLVMBuildSelect(c->b, none, cg_f32(c, 0), m, "");
  LLVMBuildStore(c->b, cg_f32(c, 0), sum);
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef i = cg_add(c, base, j.iv);
  v = LLVMBuildFMul(c->b, cg_loadf(c, x, i), cg_f32(c, scale), "");
  LLVMValueRef e = cg_exp(c, LLVMBuildFSub(c->b, v, m, ""));
  e = LLVMBuildSelect(c->b, cg_keep(c, 1, per, d, causal, r.iv, qi, j.iv), e, cg_f32(c, 0), "");
  cg_storef(c, e, out, i);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, sum, ""), e, ""), sum);
  cg_loop_end(c, &j);
  LLVMValueRef tot = LLVMBuildLoad2(c->b, c->t_f32, sum, "");
  LLVMValueRef inv = LLVMBuildFDiv(c->b, cg_f32(c, 1), tot, "");
  inv = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, tot, cg_f32(c, 0), ""), inv, cg_f32(c, 0), "");
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  i = cg_add(c, base, j.iv);
  cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, i), inv, ""), out, i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
}

/* softmax(scale * x) along rows: max, exp and sum, normalise. */
static bool gen_softmax(cpu_cg *c, const fab_op *op, int64_t d) {
  int64_t per = cg_mask_per(c, 1, cg_numel(&op->type) / d, d);
  bool causal = fab_op_int(op, "causal", 0) != 0;
  if (per < 0) return false;
  if (per > 0 || causal) {
    gen_softmax_masked(c, op, d, per, causal);
    return true;
  }
  double scale = fab_op_float(op, "scale", 1.0);
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1);
  LLVMValueRef mx = cg_alloca(c, c->t_f32, "max"), sum = cg_alloca(c, c->t_f32, "sum");
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  LLVMBuildStore(c->b, cg_f32(c, -INFINITY), mx);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef v = LLVMBuildFMul(c->b, cg_loadf(c, x, cg_add(c, base, j.iv)), cg_f32(c, scale), "");
  LLVMBuildStore(c->b, cg_fmax(c, LLVMBuildLoad2(c->b, c->t_f32, mx, ""), v), mx);
  cg_loop_end(c, &j); /* a select-max is no reduction LLVM knows without nnan */
  LLVMValueRef m = LLVMBuildLoad2(c->b, c->t_f32, mx, "m");
  LLVMBuildStore(c->b, cg_f32(c, 0), sum);
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef i = cg_add(c, base, j.iv);
  v = LLVMBuildFMul(c->b, cg_loadf(c, x, i), cg_f32(c, scale), "");
  LLVMValueRef e = cg_exp(c, LLVMBuildFSub(c->b, v, m, ""));
  cg_storef(c, e, out, i);
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, sum, ""), e, ""), sum);
  cg_loop_end_vec(c, &j);
  LLVMValueRef inv = LLVMBuildFDiv(c->b, cg_f32(c, 1), LLVMBuildLoad2(c->b, c->t_f32, sum, ""), "");
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  i = cg_add(c, base, j.iv);
  cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, i), inv, ""), out, i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
  return true;
}

/* layernorm(x (+ r)): mean and biased variance (two passes, the second
 * on centred values for accuracy), then (v - mean) / sqrt(var + eps) *
 * gamma + beta.  With a residual, x + r is first written to out. */
static bool gen_layernorm(cpu_cg *c, const fab_op *op, int64_t d, bool residual) {
  double eps = fab_op_float(op, "eps", 1e-5);
  int64_t n = cg_numel(&op->type);
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1);
  LLVMValueRef res = residual ? cg_arg_f32(c, 2) : NULL;
  LLVMValueRef gamma = cg_arg_f32(c, residual ? 3 : 2), beta = cg_arg_f32(c, residual ? 4 : 3);
  int64_t rn = residual ? cg_numel(cg_operand_type(c, 1)) : n;
  if (rn <= 0 || n % rn) {
    CG_ERR(c, "cpu backend: add.layernorm operands do not broadcast");
    return false;
  }
  LLVMValueRef acc = cg_alloca(c, c->t_f32, "acc");
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  LLVMValueRef src = x;
  if (residual) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
    LLVMValueRef i = cg_add(c, base, j.iv);
    LLVMValueRef v = LLVMBuildFAdd(c->b, cg_loadf(c, x, i),
                                   cg_loadf(c, res, bcast_index(c, base, j.iv, d, n, rn)), "");
    cg_storef(c, v, out, i);
    cg_loop_end(c, &j);
    src = out;
  }
  LLVMBuildStore(c->b, cg_f32(c, 0), acc);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, acc, ""),
                                     cg_loadf(c, src, cg_add(c, base, j.iv)), ""), acc);
  cg_loop_end_vec(c, &j);
  LLVMValueRef mean = LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_f32, acc, ""), cg_f32(c, 1.0 / (double)d), "mean");
  LLVMBuildStore(c->b, cg_f32(c, 0), acc);
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef dv = LLVMBuildFSub(c->b, cg_loadf(c, src, cg_add(c, base, j.iv)), mean, "");
  LLVMBuildStore(c->b, cg_fma(c, dv, dv, LLVMBuildLoad2(c->b, c->t_f32, acc, "")), acc);
  cg_loop_end_vec(c, &j);
  LLVMValueRef var = LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_f32, acc, ""), cg_f32(c, 1.0 / (double)d), "var");
  LLVMValueRef rstd = LLVMBuildFDiv(c->b, cg_f32(c, 1), cg_sqrt(c, LLVMBuildFAdd(c->b, var, cg_f32(c, eps), "")), "rstd");
  j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef i = cg_add(c, base, j.iv);
  LLVMValueRef v = LLVMBuildFMul(c->b, LLVMBuildFSub(c->b, cg_loadf(c, src, i), mean, ""), rstd, "");
  v = cg_fma(c, v, cg_loadf(c, gamma, j.iv), cg_loadf(c, beta, j.iv));
  cg_storef(c, v, out, i);
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
  return true;
}

static void gen_const(cpu_cg *c, const fab_op *op, int64_t n) {
  LLVMValueRef out = cg_arg_f32(c, 0);
  LLVMValueRef v = cg_f32(c, fab_op_float(op, "value", 0.0));
  if (op->type.dtype == FAB_I32) {
    out = LLVMBuildBitCast(c->b, out, c->t_i32p, "");
    v = cg_i32(c, (int32_t)fab_op_float(op, "value", 0.0));
  }
  LLVMTypeRef et = op->type.dtype == FAB_I32 ? c->t_i32 : c->t_f32;
  int64_t count = op->type.dtype == FAB_C64 ? 2 * n : n;
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, count), "j");
  LLVMValueRef val = v;
  if (op->type.dtype == FAB_C64) /* real part = value, imaginary = 0 */
    val = LLVMBuildSelect(c->b, LLVMBuildTrunc(c->b, j.iv, c->t_i1, ""), cg_f32(c, 0), v, "");
  LLVMBuildStore(c->b, val, cg_gep(c, et, out, j.iv));
  cg_loop_end(c, &j);
}

/* complex: re = x, im = 0.  real: x = re. */
static void gen_complex_real(cpu_cg *c, const fab_op *op, int64_t d) {
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1);
  bool to_complex = op->code == FAB_OP_COMPLEX;
  cg_loop r;
  LLVMValueRef base = rows_begin(c, &r, d);
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, d), "j");
  LLVMValueRef i = cg_add(c, base, j.iv), i2 = cg_mulc(c, i, 2);
  if (to_complex) {
    cg_storef(c, cg_loadf(c, x, i), out, i2);
    cg_storef(c, cg_f32(c, 0), out, cg_addc(c, i2, 1));
  } else {
    cg_storef(c, cg_loadf(c, x, i2), out, i);
  }
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
}

bool cg_gen_elementwise(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  int64_t n = cg_numel(&op->type), d = cg_lastdim(&op->type);
  *nrows = n / d;
  switch (op->code) {
  case FAB_OP_CONST: *nrows = 1; gen_const(c, op, n); return true;
  case FAB_OP_RELU: gen_unary(c, d, f_relu, false); return true;
  case FAB_OP_GELU: gen_unary(c, d, f_gelu, true); return true;
  case FAB_OP_SCALE: gen_unary(c, d, f_scale, false); return true;
  case FAB_OP_ADD: case FAB_OP_MUL:
    if (fab_op_int(op, "cpu.embed_in", 0)) return cg_gen_embed_add(c, op, nrows);
    return gen_binary(c, op, nrows);
  case FAB_OP_BIAS_GELU: gen_bias_gelu(c, op, d); return true;
  case FAB_OP_SOFTMAX: return gen_softmax(c, op, d);
  case FAB_OP_LAYERNORM: return gen_layernorm(c, op, d, false);
  case FAB_OP_ADD_LAYERNORM:
    if (fab_op_int(op, "cpu.ffn", 0)) return cg_gen_ffn(c, op, nrows); /* the whole block */
    return gen_layernorm(c, op, d, true);
  case FAB_OP_COMPLEX: case FAB_OP_REAL: gen_complex_real(c, op, d); return true;
  default: CG_ERR(c, "cpu backend: internal: not an elementwise op"); return false;
  }
}
