/* cpu_internal.h — shared state of the CPU backend's code generator.
 *
 * One cpu_cg struct holds the LLVM context, module, builder and cached
 * types, plus the kernel being emitted.  Op families live in codegen_*.c and
 * kernel_*.c; each exports one `cg_gen_<family>` entry used by module.c. */
#ifndef FAB_CPU_INTERNAL_H
#define FAB_CPU_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "cpu.h"

typedef struct cg_target {
  LLVMTargetMachineRef tm;
  char *triple;   /* LLVM-disposed message strings */
  char *cpu;
  char *features;
  int lanes;      /* f32 lanes of the widest vector */
  /* "+f1,+f2,...": the FAB_MODEL_CPU_FEATURES the code may use, for the
   * descriptor's target (the runtime refuses the model without them) */
  char required[512];
} cg_target;

/* target.c */
bool cg_target_init(cg_target *t, const fab_cpu_options *o, fab_diag *d);
void cg_target_dispose(cg_target *t);

typedef struct cpu_cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  const fab_module *m;
  const fab_func *f;
  fab_diag *d;
  const cg_target *tgt;
  const fab_cpu_options *opts;
  int lanes;

  /* cached types */
  LLVMTypeRef t_void, t_i1, t_i8, t_i32, t_i64, t_f32, t_f64;
  LLVMTypeRef t_i8p, t_i8pp, t_f32p, t_i32p, t_vf, t_vfp;
  LLVMTypeRef t_kernel;  /* void (i8**, i64, i64) */
  LLVMTypeRef t_kernelp;

  /* ops as the kernels see them: f->ops, except where a consumer took
   * over ops before it (absorbed[i]; fold.c) */
  const fab_op *eff;
  const bool *absorbed;

  /* the kernel being emitted */
  LLVMValueRef fn;
  LLVMBasicBlockRef entry_bb; /* allocas go here */
  LLVMValueRef args, begin, end;
  const fab_op *op;
  int op_index;
} cpu_cg;

/* ---- cg_util.c: types, constants, loops, intrinsics ---------------------- */
void cg_init_types(cpu_cg *c);
LLVMValueRef cg_i64(cpu_cg *c, int64_t v);
LLVMValueRef cg_i32(cpu_cg *c, int32_t v);
LLVMValueRef cg_f32(cpu_cg *c, double v);
LLVMValueRef cg_vsplat(cpu_cg *c, LLVMValueRef scalar, int lanes);
/* Pointer argument k of the current kernel, as f32* / i32* / i8*. */
LLVMValueRef cg_arg_f32(cpu_cg *c, int k);
LLVMValueRef cg_arg_i8(cpu_cg *c, int k);
LLVMValueRef cg_arg_i32(cpu_cg *c, int k);
/* &p[i] for f32* / i32* p, i an i64 value. */
LLVMValueRef cg_gep(cpu_cg *c, LLVMTypeRef elem, LLVMValueRef p, LLVMValueRef i);
LLVMValueRef cg_loadf(cpu_cg *c, LLVMValueRef p, LLVMValueRef i);
void cg_storef(cpu_cg *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef i);
LLVMValueRef cg_add(cpu_cg *c, LLVMValueRef a, LLVMValueRef b); /* i64 */
LLVMValueRef cg_mul(cpu_cg *c, LLVMValueRef a, LLVMValueRef b); /* i64 */
LLVMValueRef cg_addc(cpu_cg *c, LLVMValueRef a, int64_t k);
LLVMValueRef cg_mulc(cpu_cg *c, LLVMValueRef a, int64_t k);
/* A stack slot in the kernel's entry block (promoted by mem2reg). */
LLVMValueRef cg_alloca(cpu_cg *c, LLVMTypeRef t, const char *name);

/* for (iv = start; iv < end; iv++) { ... }: cg_loop_begin positions the
 * builder in the body; cg_loop_end closes it and continues after. */
typedef struct cg_loop {
  LLVMBasicBlockRef head, exit;
  LLVMValueRef iv, step;
  LLVMBasicBlockRef pre;
} cg_loop;
cg_loop cg_loop_begin(cpu_cg *c, LLVMValueRef start, LLVMValueRef end, const char *name);
cg_loop cg_loop_begin_step(cpu_cg *c, LLVMValueRef start, LLVMValueRef end, int64_t step,
                           const char *name);
void cg_loop_end(cpu_cg *c, cg_loop *l);
/* Same, allowing the vectoriser to reorder float reductions. */
void cg_loop_end_vec(cpu_cg *c, cg_loop *l);
/* Same, never unrolled. */
void cg_loop_end_nounroll(cpu_cg *c, cg_loop *l);
/* if (cond) { ... }: positions in the then-block; cg_if_end joins. */
LLVMBasicBlockRef cg_if_begin(cpu_cg *c, LLVMValueRef cond);
void cg_if_end(cpu_cg *c, LLVMBasicBlockRef join);

/* Intrinsics and libm calls on f32 (or vectors of f32). */
LLVMValueRef cg_call_intr(cpu_cg *c, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n);
LLVMValueRef cg_fmax(cpu_cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_exp(cpu_cg *c, LLVMValueRef x);
LLVMValueRef cg_sqrt(cpu_cg *c, LLVMValueRef x);
LLVMValueRef cg_fma(cpu_cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef acc);
LLVMValueRef cg_tanh(cpu_cg *c, LLVMValueRef x);
LLVMValueRef cg_erf(cpu_cg *c, LLVMValueRef x);
LLVMValueRef cg_gelu(cpu_cg *c, LLVMValueRef x, bool tanh_approx);
void cg_memcpy(cpu_cg *c, LLVMValueRef dst, LLVMValueRef src, LLVMValueRef bytes);
void cg_memset0(cpu_cg *c, LLVMValueRef dst, LLVMValueRef bytes);
/* A private constant f32 array. */
LLVMValueRef cg_const_f32_array(cpu_cg *c, const float *v, int64_t n, const char *name);
LLVMValueRef cg_const_i32_array(cpu_cg *c, const int32_t *v, int64_t n, const char *name);

/* Shape helpers on fab_type. */
int64_t cg_numel(const fab_type *t);
int64_t cg_lastdim(const fab_type *t);
/* Splits t around `axis`: outer (product before), len, inner (after). */
void cg_axis_split(const fab_type *t, int axis, int64_t *outer, int64_t *len, int64_t *inner);
int cg_norm_axis(const fab_type *t, int64_t axis);
const fab_type *cg_operand_type(cpu_cg *c, int k);
/* Masks: the current op's optional mask operand k (i32 [p.., t], one row
 * of t flags per `per` consecutive rows of its rows x t work).
 * cg_mask_per gives per (0: no mask operand; -1 after reporting a mask
 * that does not fit).
 * cg_keep is the i1 "column j of work row `row` (query index i) is kept"
 * for a mask (per > 0) and/or causal (j <= i), NULL when neither. */
int64_t cg_mask_per(cpu_cg *c, int k, int64_t rows, int64_t t);
LLVMValueRef cg_keep(cpu_cg *c, int k, int64_t per, int64_t t, bool causal, LLVMValueRef row,
                     LLVMValueRef i, LLVMValueRef j);

/* ---- kernels: each fills the body of the current kernel and returns the
 * number of parallel rows (>= 1) through *nrows.  args[0] is the result,
 * args[1..] the operands.  False after a diagnostic. */
bool cg_gen_elementwise(cpu_cg *c, const fab_op *op, int64_t *nrows); /* codegen_elem.c */
bool cg_gen_data(cpu_cg *c, const fab_op *op, int64_t *nrows);        /* codegen_data.c */
bool cg_gen_linalg(cpu_cg *c, const fab_op *op, int64_t *nrows);      /* codegen_linalg.c */
bool cg_gen_fft(cpu_cg *c, const fab_op *op, int64_t *nrows);         /* codegen_fft.c */
/* Extra scratch an op needs while it runs (passed as args[noperands+1]). */
int64_t cg_workspace_bytes(const fab_func *f, const fab_op *op);
bool cg_gen_bfly(cpu_cg *c, const fab_op *op, int64_t *nrows);        /* kernel_bfly.c */
/* kernel_bfly.c: rows-as-lanes tiles.  Column j of V rows (x + base +
 * r * rs + j) <-> vector j * bstride of buf; nvalid rows are real. */
void cg_tile_copy(cpu_cg *c, LLVMValueRef x, LLVMValueRef base, int64_t rs, int64_t n,
                  LLVMValueRef buf, int64_t bstride, LLVMValueRef nvalid, bool to_buf);
/* Transposes V vectors of V lanes in place (shufflevector network). */
void cg_transpose_vv(cpu_cg *c, LLVMValueRef *r, int V);
LLVMValueRef cg_vload(cpu_cg *c, LLVMValueRef fp, LLVMValueRef idx, unsigned align);
void cg_vstore(cpu_cg *c, LLVMValueRef v, LLVMValueRef fp, LLVMValueRef idx, unsigned align);

/* ---- fold.c: ops run inside their consumer's kernel ---------------------- */
/* Fills eff (the ops as kernels see them, following the cpu.* attributes
 * of passes/cpu_fold.c) and absorbed; *owned (nowned entries, each to be
 * freed, then the array) holds eff's rewritten operand and attribute
 * arrays.  False after reporting (out of memory, a malformed attribute). */
bool cg_fold_ops(const fab_func *f, fab_op *eff, bool *absorbed, void ***owned, int *nowned,
                 fab_diag *d);
/* cg_util.c: the low `bits` bits of v (i64) reversed. */
LLVMValueRef cg_bitrev(cpu_cg *c, LLVMValueRef v, int bits);

/* ---- codegen_fft_mixed.c: digit reversal and radix-q fft stages -------- */
/* The load permutation of an fft axis: bit reversal (radices NULL, len a
 * power of two) or the digit reversal of radices, from constant tables. */
typedef struct cg_fft_perm {
  int bits;
  LLVMValueRef src, dst; /* i32 tables: src[q] the input at position q; dst the inverse */
} cg_fft_perm;
bool cg_fft_perm_init(cpu_cg *c, cg_fft_perm *p, int64_t len, const int64_t *radices, int nr);
LLVMValueRef cg_fft_perm_src(cpu_cg *c, const cg_fft_perm *p, LLVMValueRef q); /* i64 -> i64 */
LLVMValueRef cg_fft_perm_dst(cpu_cg *c, const cg_fft_perm *p, LLVMValueRef i);
/* Positions of one line: position p is re at buf[base + p pstride] and im
 * imoff floats later; lanes > 1: vectors of that many lanes (aligned). */
typedef struct cg_fft_lines {
  LLVMValueRef buf, base;
  int64_t pstride, imoff;
  int lanes;
  unsigned align;
} cg_fft_lines;
/* The radix stages (fft.stages' radix list; NULL: none) on a line of len. */
bool cg_fft_radix_stages(cpu_cg *c, const cg_fft_lines *l, int64_t len, const fab_attr *radix);

/* ---- module.c: the whole model ------------------------------------------ */
/* Builds the model module (kernels, entry, descriptor) in ctx, verifies and
 * optimises it.  Returns NULL after reporting. */
LLVMModuleRef cg_build_model(LLVMContextRef ctx, const fab_module *m, const fab_cpu_options *o,
                             const cg_target *t, fab_diag *d);
uint64_t cg_model_hash(const fab_module *m);
/* descriptor.c: emits FAB_MODEL_SYMBOL pointing at `entry`. */
bool cg_gen_descriptor(cpu_cg *c, LLVMValueRef entry, int64_t scratch);
fab_tensor_dtype cg_tensor_dtype(fab_dtype t);

#define CG_ERR(c, ...) fab_error((c)->d, (c)->op ? (c)->op->loc : (fab_loc){0}, __VA_ARGS__)

#endif /* FAB_CPU_INTERNAL_H */
