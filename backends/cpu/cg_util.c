/* cg_util.c — the small vocabulary every kernel is written in: cached
 * types, constants, counted loops, intrinsics and libm calls. */
#include "cpu_internal.h"

#include <llvm-c/DebugInfo.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cg_init_types(cpu_cg *c) {
  LLVMContextRef x = c->ctx;
  c->t_void = LLVMVoidTypeInContext(x);
  c->t_i1 = LLVMInt1TypeInContext(x);
  c->t_i8 = LLVMInt8TypeInContext(x);
  c->t_i32 = LLVMInt32TypeInContext(x);
  c->t_i64 = LLVMInt64TypeInContext(x);
  c->t_f32 = LLVMFloatTypeInContext(x);
  c->t_f64 = LLVMDoubleTypeInContext(x);
  c->t_i8p = LLVMPointerType(c->t_i8, 0);
  c->t_i8pp = LLVMPointerType(c->t_i8p, 0);
  c->t_f32p = LLVMPointerType(c->t_f32, 0);
  c->t_i32p = LLVMPointerType(c->t_i32, 0);
  c->t_vf = LLVMVectorType(c->t_f32, (unsigned)c->lanes);
  c->t_vfp = LLVMPointerType(c->t_vf, 0);
  LLVMTypeRef ps[3] = {c->t_i8pp, c->t_i64, c->t_i64};
  c->t_kernel = LLVMFunctionType(c->t_void, ps, 3, 0);
  c->t_kernelp = LLVMPointerType(c->t_kernel, 0);
}

LLVMValueRef cg_i64(cpu_cg *c, int64_t v) { return LLVMConstInt(c->t_i64, (unsigned long long)v, 1); }
LLVMValueRef cg_i32(cpu_cg *c, int32_t v) { return LLVMConstInt(c->t_i32, (unsigned long long)(int64_t)v, 1); }
LLVMValueRef cg_f32(cpu_cg *c, double v) { return LLVMConstReal(c->t_f32, v); }

LLVMValueRef cg_vsplat(cpu_cg *c, LLVMValueRef s, int lanes) {
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)lanes);
  LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt), s, cg_i32(c, 0), "");
  LLVMValueRef mask = LLVMConstNull(LLVMVectorType(c->t_i32, (unsigned)lanes));
  return LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(vt), mask, "splat");
}

static LLVMValueRef arg_ptr(cpu_cg *c, int k) {
  LLVMValueRef p = LLVMBuildGEP2(c->b, c->t_i8p, c->args, (LLVMValueRef[]){cg_i64(c, k)}, 1, "");
  return LLVMBuildLoad2(c->b, c->t_i8p, p, "arg");
}

LLVMValueRef cg_arg_i8(cpu_cg *c, int k) { return arg_ptr(c, k); }

LLVMValueRef cg_arg_f32(cpu_cg *c, int k) {
  return LLVMBuildBitCast(c->b, arg_ptr(c, k), c->t_f32p, "argf");
}

LLVMValueRef cg_arg_i32(cpu_cg *c, int k) {
  return LLVMBuildBitCast(c->b, arg_ptr(c, k), c->t_i32p, "argi");
}

LLVMValueRef cg_gep(cpu_cg *c, LLVMTypeRef elem, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildInBoundsGEP2(c->b, elem, p, &i, 1, "");
}

LLVMValueRef cg_loadf(cpu_cg *c, LLVMValueRef p, LLVMValueRef i) {
  return LLVMBuildLoad2(c->b, c->t_f32, cg_gep(c, c->t_f32, p, i), "");
}

void cg_storef(cpu_cg *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i) {
  LLVMBuildStore(c->b, v, cg_gep(c, c->t_f32, p, i));
}

/* Index arithmetic never wraps (sizes are far below 2^63): nsw helps LLVM
 * vectorise and hoist. */
LLVMValueRef cg_add(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
LLVMValueRef cg_mul(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(c->b, a, b, ""); }
LLVMValueRef cg_addc(cpu_cg *c, LLVMValueRef a, int64_t k) { return k ? cg_add(c, a, cg_i64(c, k)) : a; }
LLVMValueRef cg_mulc(cpu_cg *c, LLVMValueRef a, int64_t k) { return k == 1 ? a : cg_mul(c, a, cg_i64(c, k)); }

LLVMValueRef cg_alloca(cpu_cg *c, LLVMTypeRef t, const char *name) {
  LLVMBuilderRef tmp = LLVMCreateBuilderInContext(c->ctx);
  LLVMValueRef first = LLVMGetFirstInstruction(c->entry_bb);
  if (first) LLVMPositionBuilderBefore(tmp, first);
  else LLVMPositionBuilderAtEnd(tmp, c->entry_bb);
  LLVMValueRef a = LLVMBuildAlloca(tmp, t, name);
  LLVMDisposeBuilder(tmp);
  return a;
}

cg_loop cg_loop_begin_step(cpu_cg *c, LLVMValueRef start, LLVMValueRef end, int64_t step,
                           const char *name) {
  cg_loop l;
  l.pre = LLVMGetInsertBlock(c->b);
  l.head = LLVMAppendBasicBlockInContext(c->ctx, c->fn, name);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "body");
  l.exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "exit");
  LLVMBuildBr(c->b, l.head);
  LLVMPositionBuilderAtEnd(c->b, l.head);
  l.iv = LLVMBuildPhi(c->b, c->t_i64, name);
  LLVMAddIncoming(l.iv, &start, &l.pre, 1);
  LLVMValueRef cond = LLVMBuildICmp(c->b, LLVMIntSLT, l.iv, end, "");
  LLVMBuildCondBr(c->b, cond, body, l.exit);
  LLVMPositionBuilderAtEnd(c->b, body);
  l.step = cg_i64(c, step);
  return l;
}

cg_loop cg_loop_begin(cpu_cg *c, LLVMValueRef start, LLVMValueRef end, const char *name) {
  return cg_loop_begin_step(c, start, end, 1, name);
}

void cg_loop_end(cpu_cg *c, cg_loop *l) {
  LLVMValueRef next = cg_add(c, l->iv, l->step);
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMBuildBr(c->b, l->head);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

/* Marks the loop with llvm.loop.vectorize.enable: the vectoriser then may
 * reorder floating-point reductions (the C API of LLVM 14 cannot set
 * fast-math flags on instructions, and without either it keeps sums
 * sequential and scalar). */
static void loop_end_meta(cpu_cg *c, cg_loop *l, const char *key, bool with_true) {
  LLVMValueRef next = cg_add(c, l->iv, l->step);
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
  LLVMValueRef br = LLVMBuildBr(c->b, l->head);
  LLVMAddIncoming(l->iv, &next, &latch, 1);
  LLVMMetadataRef tmp = LLVMTemporaryMDNode(c->ctx, NULL, 0);
  LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(c->ctx, key, strlen(key)),
                           LLVMValueAsMetadata(LLVMConstInt(c->t_i1, 1, 0))};
  LLVMMetadataRef hint = LLVMMDNodeInContext2(c->ctx, kv, with_true ? 2 : 1);
  LLVMMetadataRef ops[2] = {tmp, hint};
  LLVMMetadataRef loop = LLVMMDNodeInContext2(c->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(tmp, loop);
  LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9),
                  LLVMMetadataAsValue(c->ctx, loop));
  LLVMPositionBuilderAtEnd(c->b, l->exit);
}

void cg_loop_end_vec(cpu_cg *c, cg_loop *l) { loop_end_meta(c, l, "llvm.loop.vectorize.enable", true); }

/* Loops over a stack buffer must stay loops: fully unrolled, their
 * constant indices let SROA split the buffer into thousands of values and
 * compile time explodes. */
void cg_loop_end_nounroll(cpu_cg *c, cg_loop *l) { loop_end_meta(c, l, "llvm.loop.unroll.disable", false); }

LLVMBasicBlockRef cg_if_begin(cpu_cg *c, LLVMValueRef cond) {
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "then");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "join");
  LLVMBuildCondBr(c->b, cond, then, join);
  LLVMPositionBuilderAtEnd(c->b, then);
  return join;
}

void cg_if_end(cpu_cg *c, LLVMBasicBlockRef join) {
  LLVMBuildBr(c->b, join);
  LLVMPositionBuilderAtEnd(c->b, join);
}

/* "f32" or "v16f32": the overload suffix LLVM expects in intrinsic names. */
static void type_suffix(cpu_cg *c, LLVMTypeRef t, char *buf, size_t n) {
  if (LLVMGetTypeKind(t) == LLVMVectorTypeKind)
    snprintf(buf, n, "v%uf32", LLVMGetVectorSize(t));
  else
    snprintf(buf, n, "f32");
  (void)c;
}

static LLVMValueRef get_fn(cpu_cg *c, const char *name, LLVMTypeRef fty) {
  LLVMValueRef f = LLVMGetNamedFunction(c->mod, name);
  if (!f) f = LLVMAddFunction(c->mod, name, fty);
  return f;
}

LLVMValueRef cg_call_intr(cpu_cg *c, const char *base, LLVMTypeRef t, LLVMValueRef *args, int n) {
  char name[64], suf[16];
  type_suffix(c, t, suf, sizeof suf);
  snprintf(name, sizeof name, "%s.%s", base, suf);
  LLVMTypeRef ps[3] = {t, t, t};
  LLVMTypeRef fty = LLVMFunctionType(t, ps, (unsigned)n, 0);
  return LLVMBuildCall2(c->b, fty, get_fn(c, name, fty), args, (unsigned)n, "");
}

LLVMValueRef cg_bitrev(cpu_cg *c, LLVMValueRef v, int bits) {
  if (bits <= 0) return cg_i64(c, 0);
  LLVMTypeRef fty = LLVMFunctionType(c->t_i64, &c->t_i64, 1, 0);
  LLVMValueRef r = LLVMBuildCall2(c->b, fty, get_fn(c, "llvm.bitreverse.i64", fty), &v, 1, "");
  return LLVMBuildLShr(c->b, r, cg_i64(c, 64 - bits), "rev");
}

int64_t cg_rev_const(int64_t v, int bits) {
  int64_t r = 0;
  for (int k = 0; k < bits; k++) r |= ((v >> k) & 1) << (bits - 1 - k);
  return r;
}

int cg_log2i(int64_t v) {
  int l = 0;
  while (((int64_t)1 << l) < v) l++;
  return l;
}

void cg_prefetch_l2(cpu_cg *c, LLVMValueRef fp, LLVMValueRef i) {
  LLVMTypeRef ps[4] = {c->t_i8p, c->t_i32, c->t_i32, c->t_i32};
  LLVMTypeRef fty = LLVMFunctionType(c->t_void, ps, 4, 0);
  LLVMValueRef p = LLVMBuildBitCast(c->b, cg_gep(c, c->t_f32, fp, i), c->t_i8p, "");
  LLVMValueRef args[4] = {p, cg_i32(c, 0), cg_i32(c, 2), cg_i32(c, 1)}; /* read, locality 2, data */
  LLVMBuildCall2(c->b, fty, get_fn(c, "llvm.prefetch.p0i8", fty), args, 4, "");
}

LLVMValueRef cg_fmax(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef gt = LLVMBuildFCmp(c->b, LLVMRealOGT, a, b, "");
  return LLVMBuildSelect(c->b, gt, a, b, "max");
}

/* A constant shaped like `like`: a scalar, or a splat of the same vector
 * width (the math below serves scalar loops and explicit vector loops). */
static LLVMValueRef K(cpu_cg *c, LLVMValueRef like, double v) {
  LLVMTypeRef t = LLVMTypeOf(like);
  LLVMValueRef s = cg_f32(c, v);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return s;
  unsigned n = LLVMGetVectorSize(t);
  LLVMValueRef els[64];
  for (unsigned i = 0; i < n && i < 64; i++) els[i] = s;
  return LLVMConstVector(els, n);
}

static LLVMTypeRef int_like(cpu_cg *c, LLVMValueRef like) {
  LLVMTypeRef t = LLVMTypeOf(like);
  return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMVectorType(c->t_i32, LLVMGetVectorSize(t)) : c->t_i32;
}

static LLVMValueRef fmin_(cpu_cg *c, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef lt = LLVMBuildFCmp(c->b, LLVMRealOLT, a, b, "");
  return LLVMBuildSelect(c->b, lt, a, b, "min");
}

/* Horner: k[0] x^(n-1) + ... + k[n-1] (Cephes polevl order). */
static LLVMValueRef poly(cpu_cg *c, LLVMValueRef x, const double *k, int n) {
  LLVMValueRef p = K(c, x, k[0]);
  for (int i = 1; i < n; i++) p = cg_fma(c, p, x, K(c, x, k[i]));
  return p;
}

/* e^x in straight-line arithmetic (Cephes expf: x = n ln2 + r, |r| <=
 * ln2/2, degree-7 polynomial, 2^n through the exponent bits; about 1 ulp
 * over [-87, 88]).  Not llvm.exp: without a vector math library LLVM 14
 * scalarises a vector llvm.exp into one expf call per lane, which made
 * softmax and attention scalar.  This form the loop vectoriser widens to
 * 16 lanes.  Inputs are clamped to [-87, 88] (-inf gives ~1.6e-38, not 0:
 * harmless where it is used, next to sums of at least one e^0). */
/* e^x for x in [-87, 88] (unchecked). */
static LLVMValueRef exp_core(cpu_cg *c, LLVMValueRef x) {
  static const double P[6] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                              4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  LLVMValueRef t = LLVMBuildFMul(c->b, x, K(c, x, 1.44269504088896341), "");
  LLVMValueRef n = cg_call_intr(c, "llvm.rint", LLVMTypeOf(t), &t, 1);
  LLVMValueRef r = cg_fma(c, n, K(c, x, -0.693359375), x);
  r = cg_fma(c, n, K(c, x, 2.12194440e-4), r);
  LLVMValueRef r2 = LLVMBuildFMul(c->b, r, r, "");
  LLVMValueRef y = cg_fma(c, poly(c, r, P, 6), r2, LLVMBuildFAdd(c->b, r, K(c, x, 1.0), ""));
  LLVMTypeRef it = int_like(c, x);
  LLVMValueRef e = LLVMBuildAdd(c->b, LLVMBuildFPToSI(c->b, n, it, ""), LLVMConstFPToSI(K(c, x, 127.0), it), "");
  e = LLVMBuildBitCast(c->b, LLVMBuildShl(c->b, e, LLVMConstFPToSI(K(c, x, 23.0), it), ""), LLVMTypeOf(x), "");
  return LLVMBuildFMul(c->b, y, e, "exp");
}

LLVMValueRef cg_exp(cpu_cg *c, LLVMValueRef x) {
  return exp_core(c, fmin_(c, cg_fmax(c, x, K(c, x, -87.0)), K(c, x, 88.0)));
}

LLVMValueRef cg_sqrt(cpu_cg *c, LLVMValueRef x) {
  return cg_call_intr(c, "llvm.sqrt", LLVMTypeOf(x), &x, 1);
}

LLVMValueRef cg_fma(cpu_cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc) {
  LLVMValueRef args[3] = {a, b, acc};
  /* fmuladd, not fma: the loop vectoriser of LLVM 14 recognises it as a
   * reduction step, and it still becomes one vfmadd on FMA targets. */
  return cg_call_intr(c, "llvm.fmuladd", LLVMTypeOf(a), args, 3);
}

/* libm for the transcendental functions without an LLVM intrinsic: exact
 * to an ulp, which the 1e-4 agreement with the interpreter needs (cheap
 * polynomial erf approximations lose relative accuracy in GELU's tail). */
static LLVMValueRef libm1(cpu_cg *c, const char *name, LLVMValueRef x) {
  LLVMTypeRef fty = LLVMFunctionType(c->t_f32, &c->t_f32, 1, 0);
  LLVMValueRef f = get_fn(c, name, fty);
  return LLVMBuildCall2(c->b, fty, f, &x, 1, "");
}

LLVMValueRef cg_tanh(cpu_cg *c, LLVMValueRef x) { return libm1(c, "tanhf", x); }
LLVMValueRef cg_erf(cpu_cg *c, LLVMValueRef x) { return libm1(c, "erff", x); }

/* 1 / d without a division: the hardware reciprocal estimate (AVX-512
 * rcp14, 2^-14; AVX rcp, 1.5 * 2^-12) and one Newton step r (2 - d r),
 * about an ulp.  A vdivps costs a 16-lane GELU more than the rest of it.
 * d must be finite and nonzero.  Scalars and other widths: fdiv. */
LLVMValueRef cg_recip(cpu_cg *c, LLVMValueRef d) {
  LLVMTypeRef t = LLVMTypeOf(d);
  unsigned n = LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 1;
  LLVMValueRef r;
  if (n == 16 && c->lanes >= 16) {
    LLVMTypeRef ps[3] = {t, t, LLVMInt16TypeInContext(c->ctx)};
    LLVMTypeRef fty = LLVMFunctionType(t, ps, 3, 0);
    LLVMValueRef args[3] = {d, LLVMGetUndef(t), LLVMConstInt(ps[2], 0xffff, 0)};
    r = LLVMBuildCall2(c->b, fty, get_fn(c, "llvm.x86.avx512.rcp14.ps.512", fty), args, 3, "");
  } else if (n == 8 && c->lanes >= 8) {
    LLVMTypeRef fty = LLVMFunctionType(t, &t, 1, 0);
    r = LLVMBuildCall2(c->b, fty, get_fn(c, "llvm.x86.avx.rcp.ps.256", fty), &d, 1, "");
  } else {
    return LLVMBuildFDiv(c->b, K(c, d, 1.0), d, "recip");
  }
  LLVMValueRef e = cg_fma(c, LLVMBuildFNeg(c->b, d, ""), r, K(c, d, 1.0)); /* 1 - d r */
  return cg_fma(c, r, e, r);                                                 /* r + r (1 - d r) */
}

/* y 2^n for integral n in [-126, 127] (unchecked).  With 16 lanes one
 * vscalefps; else 2^n through the exponent bits and a multiply. */
static LLVMValueRef times_pow2(cpu_cg *c, LLVMValueRef y, LLVMValueRef n) {
  LLVMTypeRef t = LLVMTypeOf(y);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind || LLVMGetVectorSize(t) != 16 || c->lanes < 16) {
    LLVMTypeRef it = int_like(c, y);
    LLVMValueRef e = LLVMBuildAdd(c->b, LLVMBuildFPToSI(c->b, n, it, ""), LLVMConstFPToSI(K(c, y, 127.0), it), "");
    e = LLVMBuildBitCast(c->b, LLVMBuildShl(c->b, e, LLVMConstFPToSI(K(c, y, 23.0), it), ""), t, "");
    return LLVMBuildFMul(c->b, y, e, "");
  }
  LLVMTypeRef i16 = LLVMInt16TypeInContext(c->ctx);
  LLVMTypeRef ps[5] = {t, t, t, i16, c->t_i32};
  LLVMTypeRef fty = LLVMFunctionType(t, ps, 5, 0);
  LLVMValueRef args[5] = {y, n, LLVMGetUndef(t), LLVMConstInt(i16, 0xffff, 0), cg_i32(c, 4)};
  return LLVMBuildCall2(c->b, fty, get_fn(c, "llvm.x86.avx512.mask.scalef.ps.512", fty), args, 5, "");
}

/* e^x for x in [-87, 88] (unchecked). */
static LLVMValueRef exp_le88(cpu_cg *c, LLVMValueRef x) {
  LLVMTypeRef t = LLVMTypeOf(x);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind || LLVMGetVectorSize(t) != 16 || c->lanes < 16)
    return exp_core(c, x);
  static const double P[6] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                              4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  LLVMValueRef tl = LLVMBuildFMul(c->b, x, K(c, x, 1.44269504088896341), "");
  LLVMValueRef n = cg_call_intr(c, "llvm.rint", t, &tl, 1);
  LLVMValueRef r = cg_fma(c, n, K(c, x, -0.693359375), x);
  r = cg_fma(c, n, K(c, x, 2.12194440e-4), r);
  LLVMValueRef r2 = LLVMBuildFMul(c->b, r, r, "");
  LLVMValueRef y = cg_fma(c, poly(c, r, P, 6), r2, LLVMBuildFAdd(c->b, r, K(c, x, 1.0), ""));
  return times_pow2(c, y, n);
}

/* Phi(x) = 1 - Phi(-|x|) for x > 0, Phi(-|x|) otherwise, with
 *   Phi(-a) = 2^(-b^2) M(b),  b = a sqrt(log2(e) / 2)
 * (so 2^(-b^2) = e^(-a^2/2)): 2^(-b^2) from rint and a degree-5
 * polynomial on [-1/2, 1/2] (relative error 9.1e-8), M a (3, 4) rational
 * in b fitted to Phi(-a) e^(a^2/2) (a scaled Mills ratio, smooth and
 * positive) with relative error < 3.2e-7 for a in [0, 12.5]; a is capped
 * there (Phi(-12.5) = 3.7e-36, still a normal float).  No cancellation
 * in the left tail (GELU's tiny values keep their relative accuracy), one
 * reciprocal estimate and a Newton step, no division: about 19 multiplies
 * or FMAs per vector against 26 for the erfc fit of Numerical Recipes
 * before it.  Coefficients from a Lawson-weighted linearised least-squares
 * fit; measured GELU error: docs/cpu.md §4. */
static LLVMValueRef phi(cpu_cg *c, LLVMValueRef x) {
  static const double P[4] = {0.02715332448747618, 0.16328537280500788, 0.42259364362660473, 0.4999998405083059};
  static const double Q[5] = {0.08014999573676121, 0.48153210982220596, 1.310128263047814, 1.7846056289795786, 1.0};
  static const double E[6] = {1.326472726646227e-3, 9.671512768490695e-3, 5.5507337442727296e-2,
                              0.24022242083387899, 0.6931469775978852, 1.0};
  LLVMValueRef ax = cg_call_intr(c, "llvm.fabs", LLVMTypeOf(x), &x, 1);
  LLVMValueRef b = fmin_(c, LLVMBuildFMul(c->b, ax, K(c, x, 0.8493218002880191), ""), K(c, x, 10.616522503600239));
  LLVMValueRef y = LLVMBuildFNeg(c->b, LLVMBuildFMul(c->b, b, b, ""), ""); /* -b^2 */
  LLVMValueRef n = cg_call_intr(c, "llvm.rint", LLVMTypeOf(y), &y, 1);
  LLVMValueRef g = times_pow2(c, poly(c, LLVMBuildFSub(c->b, y, n, ""), E, 6), n);
  LLVMValueRef m = LLVMBuildFMul(c->b, poly(c, b, P, 4), cg_recip(c, poly(c, b, Q, 5)), "");
  LLVMValueRef tail = LLVMBuildFMul(c->b, g, m, "");
  LLVMValueRef pos = LLVMBuildFCmp(c->b, LLVMRealOGT, x, K(c, x, 0.0), "");
  return LLVMBuildSelect(c->b, pos, LLVMBuildFSub(c->b, K(c, x, 1.0), tail, ""), tail, "phi");
}

LLVMValueRef cg_gelu(cpu_cg *c, LLVMValueRef x, bool tanh_approx) {
  if (!tanh_approx) return LLVMBuildFMul(c->b, x, phi(c, x), "gelu");
  /* 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), written as
   * x / (1 + e^(-2u)): the same value, no cancellation in the left tail,
   * and vectorisable (tanhf from libm is not); the division is a
   * reciprocal estimate and a Newton step. */
  LLVMValueRef x3 = LLVMBuildFMul(c->b, LLVMBuildFMul(c->b, x, x, ""), x, "");
  LLVMValueRef u = cg_fma(c, x3, K(c, x, 0.044715), x);
  LLVMValueRef v = LLVMBuildFMul(c->b, u, K(c, x, -2.0 * 0.7978845608028654), "");
  LLVMValueRef e = exp_le88(c, fmin_(c, cg_fmax(c, v, K(c, x, -87.0)), K(c, x, 88.0)));
  return LLVMBuildFMul(c->b, x, cg_recip(c, LLVMBuildFAdd(c->b, K(c, x, 1.0), e, "")), "gelu");
}

/* Through the builder's own memmove/memset (not hand-named intrinsics):
 * the overload suffixes differ between typed pointers (LLVM 14,
 * "p0i8") and opaque pointers (LLVM 15+, "p0"). */
void cg_memcpy(cpu_cg *c, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes) {
  dst = LLVMBuildBitCast(c->b, dst, c->t_i8p, "");
  src = LLVMBuildBitCast(c->b, src, c->t_i8p, "");
  LLVMBuildMemMove(c->b, dst, 1, src, 1, bytes);
}

void cg_memset0(cpu_cg *c, LLVMValueRef dst, LLVMValueRef bytes) {
  dst = LLVMBuildBitCast(c->b, dst, c->t_i8p, "");
  LLVMBuildMemSet(c->b, dst, LLVMConstInt(c->t_i8, 0, 0), bytes, 1);
}

/* A private constant global of the n elements els (type et), as a pointer of type pt. */
static LLVMValueRef const_array(cpu_cg *c, LLVMTypeRef et, LLVMValueRef *els, int64_t n, LLVMTypeRef pt,
                                const char *name, const char *ptr_name) {
  LLVMValueRef arr = LLVMConstArray(et, els, (unsigned)n);
  free(els);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(arr), name);
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 64);
  return LLVMBuildBitCast(c->b, g, pt, ptr_name);
}

LLVMValueRef cg_const_f32_array(cpu_cg *c, const float *v, int64_t n, const char *name) {
  LLVMValueRef *els = malloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  if (!els) return NULL;
  for (int64_t i = 0; i < n; i++) els[i] = LLVMConstReal(c->t_f32, v[i]);
  return const_array(c, c->t_f32, els, n, c->t_f32p, name, "tbl");
}

LLVMValueRef cg_const_i32_array(cpu_cg *c, const int32_t *v, int64_t n, const char *name) {
  LLVMValueRef *els = malloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  if (!els) return NULL;
  for (int64_t i = 0; i < n; i++) els[i] = LLVMConstInt(c->t_i32, (unsigned long long)(uint32_t)v[i], 0);
  return const_array(c, c->t_i32, els, n, c->t_i32p, name, "perm");
}

int64_t cg_numel(const fab_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

int64_t cg_lastdim(const fab_type *t) { return t->rank ? t->dims[t->rank - 1] : 1; }

int cg_norm_axis(const fab_type *t, int64_t axis) {
  if (axis < 0) axis += t->rank;
  return (int)axis;
}

void cg_axis_split(const fab_type *t, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int i = 0; i < axis; i++) *outer *= t->dims[i];
  for (int i = axis + 1; i < t->rank; i++) *inner *= t->dims[i];
  *len = t->dims[axis];
}

const fab_type *cg_operand_type(cpu_cg *c, int k) { return &c->f->ops[c->op->operands[k]].type; }

/* ---- masks ------------------------------------------------------------------ */

int64_t cg_mask_per(cpu_cg *c, int k, int64_t rows, int64_t t) {
  if (k < 0 || c->op->noperands <= k) return 0;
  const fab_type *mt = cg_operand_type(c, k);
  int64_t mrows = t > 0 ? cg_numel(mt) / t : 0;
  if (mt->dtype != FAB_I32 || mrows < 1 || rows % mrows || cg_lastdim(mt) != t) {
    CG_ERR(c, "cpu backend: the mask does not fit the op's rows");
    return -1;
  }
  return rows / mrows;
}

LLVMValueRef cg_keep(cpu_cg *c, int k, int64_t per, int64_t t, bool causal, LLVMValueRef row,
                     LLVMValueRef i, LLVMValueRef j) {
  LLVMValueRef keep = NULL;
  if (per > 0) {
    LLVMValueRef m = cg_arg_i32(c, k + 1);
    LLVMValueRef mrow = per == 1 ? row : LLVMBuildSDiv(c->b, row, cg_i64(c, per), "mrow");
    LLVMValueRef idx = cg_add(c, cg_mulc(c, mrow, t), j);
    LLVMValueRef flag = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, m, idx), "flag");
    keep = LLVMBuildICmp(c->b, LLVMIntNE, flag, cg_i32(c, 0), "keep");
  }
  if (causal) {
    LLVMValueRef cz = LLVMBuildICmp(c->b, LLVMIntSLE, j, i, "causal");
    keep = keep ? LLVMBuildAnd(c->b, keep, cz, "") : cz;
  }
  return keep;
}
