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

  /* Prepared data (runtime/fab_runtime.h: computed once per bind from the
   * weights): a kernel that reads some sets prep_bytes (its size per op)
   * and receives it as argument cg_prepared_arg; module.c then emits the
   * op's prepare kernel (cg_gen_prepare).  weight_root[i]: op i's value
   * is a weight's bytes (through aliases), readable at prepare time. */
  int64_t prep_bytes;
  const bool *weight_root;
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
/* 1 / d: reciprocal estimate + Newton step for full vectors, else fdiv. */
LLVMValueRef cg_recip(cpu_cg *c, LLVMValueRef d);
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
bool cg_gen_embed_add(cpu_cg *c, const fab_op *op, int64_t *nrows);   /* codegen_data.c */
bool cg_gen_linalg(cpu_cg *c, const fab_op *op, int64_t *nrows);      /* codegen_linalg.c */
bool cg_gen_fft(cpu_cg *c, const fab_op *op, int64_t *nrows);         /* codegen_fft.c */
bool cg_gen_fft_chirp(cpu_cg *c, const fab_op *op, int64_t *nrows);   /* codegen_fft_chirp.c */
/* Extra scratch an op needs while it runs (passed as args[noperands+1]). */
int64_t cg_workspace_bytes(const fab_func *f, const fab_op *op);
/* The argument that holds the op's prepared data: after the result, the
 * operands and the workspace. */
int cg_prepared_arg(const cpu_cg *c, const fab_op *op);
/* Fills the body of the current function, a prepare kernel with the
 * arguments of op's kernel (only the weights and the prepared data are
 * set: other pointers are NULL). */
bool cg_gen_prepare(cpu_cg *c, const fab_op *op);
bool cg_gen_bfly(cpu_cg *c, const fab_op *op, int64_t *nrows);        /* kernel_bfly.c */
/* kernel_bfly.c: rows-as-lanes tiles.  Column j of V rows (x + base +
 * r * rs + j) <-> vector j * bstride of buf; nvalid rows are real. */
void cg_tile_copy(cpu_cg *c, LLVMValueRef x, LLVMValueRef base, int64_t rs, int64_t n,
                  LLVMValueRef buf, int64_t bstride, LLVMValueRef nvalid, bool to_buf);
/* Transposes V vectors of V lanes in place (shufflevector network). */
void cg_transpose_vv(cpu_cg *c, LLVMValueRef *r, int V);
/* A butterfly's stages (b, k, l triples) and register groups, checked
 * against its twiddle tt [S, B, L, n/2, 2, 2]: cg_bfly_run emits every
 * group over a lane buffer of n vectors, twiddle block s (i64 value).
 * The optional epilogue runs on the last group's outputs before they are
 * stored: apply may rewrite the G vectors e[m] (columns pidx[m], i64). */
typedef struct cg_bfly_stage {
  int64_t b, k, l;
} cg_bfly_stage;
typedef struct cg_bfly_plan {
  cg_bfly_stage *st;
  int *groups, ngroups;
  int64_t n, B, L;
  LLVMValueRef factored; /* cg_bfly_factor's table for cg_bfly_run; NULL: the twiddles */
} cg_bfly_plan;
typedef struct cg_bfly_epi cg_bfly_epi;
struct cg_bfly_epi {
  void (*apply)(cpu_cg *c, const cg_bfly_epi *epi, LLVMValueRef *e, const LLVMValueRef *pidx, int G);
  const void *state; /* the caller's, for apply */
};
bool cg_bfly_plan_init(cpu_cg *c, cg_bfly_plan *p, const fab_attr *stages, const fab_attr *groups,
                       const fab_type *tt, int64_t S, int64_t n);
void cg_bfly_plan_free(cg_bfly_plan *p);
/* The plan's stages: the sum of its groups. */
int cg_bfly_plan_stages(const cg_bfly_plan *p);
/* Only the first `need` output vectors are computed for sure (n: all).
 * src: where the first group reads (NULL: buf, in place); it holds `have`
 * vectors (n: all), and the rest of the input is zeros that are not
 * stored (a zero-padded input, no copy and no memset). */
void cg_bfly_run(cpu_cg *c, const cg_bfly_plan *p, LLVMValueRef buf, LLVMValueRef src, int64_t have,
                 LLVMValueRef tw, LLVMValueRef s, const cg_bfly_epi *epi, int64_t need);
/* Factors the plan's S blocks of twiddles tw into one FMA per output
 * (kernel_bfly.c): the factors into ft (S * stages * n floats, the
 * layout p->factored has in cg_bfly_run), the final scales into dg (S x n
 * floats: the factored run's output at position j of block s times
 * dg[s * n + j] is the plain run's).  *bad (i32) becomes nonzero when
 * a scale or factor leaves the safe range (the caller runs the plain
 * twiddles instead).  Emitted in prepare kernels: once per bind. */
void cg_bfly_factor(cpu_cg *c, const cg_bfly_plan *p, LLVMValueRef tw, int64_t S, LLVMValueRef bad,
                    LLVMValueRef ft, LLVMValueRef dg);
/* kernel_bfly_rows.c: the stages on rows as they lie (no transposes),
 * for rows of at least 4 V positions; a parallel row is a block of
 * CG_BFLY_BLOCK_ROWS rows. */
enum { CG_BFLY_BLOCK_ROWS = 4 };
bool cg_bfly_rows_ok(const cpu_cg *c, const cg_bfly_plan *p);
bool cg_gen_bfly_rows(cpu_cg *c, const cg_bfly_plan *p, int64_t S, int64_t rows, int64_t *nrows);
/* Its prepare kernel (weight twiddles) and the lane kernel's dispatch to
 * it (kernel_bfly.c: a bfly.stages op that reads prepared data). */
void cg_gen_bfly_rows_prepare(cpu_cg *c, const cg_bfly_plan *p, int64_t S);
bool cg_gen_bfly_prepare(cpu_cg *c, const fab_op *op);
/* A 64-byte aligned stack buffer of nvec vectors; the valid rows of the
 * tile starting at row r0 of R (min(V, R - r0)). */
LLVMValueRef cg_lane_buffer(cpu_cg *c, int64_t nvec, const char *name);
LLVMValueRef cg_tile_rows(cpu_cg *c, LLVMValueRef r0, int64_t R);
/* kernel_ffn.c: an add.layernorm with cpu.ffn and the block fold.c put
 * into its eff op (operands x, fc1 twiddle, fc1 bias, fc2 twiddle, fc2
 * bias, gamma, beta). */
bool cg_gen_ffn(cpu_cg *c, const fab_op *op, int64_t *nrows);
bool cg_gen_ffn_prepare(cpu_cg *c, const fab_op *op);
LLVMValueRef cg_vload(cpu_cg *c, LLVMValueRef fp, LLVMValueRef idx, unsigned align);
void cg_vstore(cpu_cg *c, LLVMValueRef v, LLVMValueRef fp, LLVMValueRef idx, unsigned align);

/* ---- fold.c: ops run inside their consumer's kernel ---------------------- */
/* Fills eff (the ops as kernels see them, following the cpu.* attributes
 * of passes/cpu_fold.c) and absorbed; *owned (nowned entries, each to be
 * freed, then the array) holds eff's rewritten operand and attribute
 * arrays.  False after reporting (out of memory, a malformed attribute). */
bool cg_fold_ops(const fab_func *f, fab_op *eff, bool *absorbed, void ***owned, int *nowned,
                 fab_diag *d);
/* fold_ffn.c: add.layernorm j with cpu.ffn takes over its feed-forward
 * block (eff[j] gets the block's operands and cpu.ffn.* attributes; the
 * block's ops are absorbed).  uses: readers per value. */
bool cg_fold_ffn(const fab_func *f, int j, const int *uses, fab_op *eff, bool *absorbed, void **owned,
                 int *nowned, fab_diag *d);
/* cg_util.c: the low `bits` bits of v (i64) reversed; the same of a
 * constant; ceil(log2 v); a prefetch towards L2 of the float at offset i
 * of fp. */
LLVMValueRef cg_bitrev(cpu_cg *c, LLVMValueRef v, int bits);
int64_t cg_rev_const(int64_t v, int bits);
int cg_log2i(int64_t v);
void cg_prefetch_l2(cpu_cg *c, LLVMValueRef fp, LLVMValueRef i);

/* ---- schedule.c: the steps of a run and their parallel regions ---------- */
/* Where a step argument lives.  SCRATCH: byte `off` of the arena; OUTPUT:
 * the caller's output `index`; WEIGHT / INPUT: read-only pointer `index`
 * (WEIGHT nweights: the prepared data, byte `off` of it). */
enum { CG_LOC_SCRATCH, CG_LOC_WEIGHT, CG_LOC_INPUT, CG_LOC_OUTPUT };
typedef struct cg_loc {
  int space;
  int64_t index, off, bytes;
  int buf; /* the op whose value this is (after aliases), -1: a fixed place */
} cg_loc;

/* The values' places, which cg_schedule may change. */
typedef struct cg_places {
  cg_loc *loc;          /* per op: where its value lives (ops that have one) */
  const int *last_use;  /* per op: the last op reading it */
  const int *parent;    /* per op: the operand it overwrites in place, or -1 */
  int64_t arena;        /* in: the arena's bytes; out: with the moved values */
} cg_places;

typedef enum {
  CG_STEP_KERNEL,    /* fn(args, rows...) over nrows parallel rows */
  CG_STEP_CHECK_IDS, /* args[0]: nrows i32 token ids, each must be < aux */
  CG_STEP_COPY,      /* memmove(args[0], args[1], nrows bytes) */
} cg_step_kind;

/* One entry of the run table.  A kernel's args are its result, then its
 * operands (as c->eff sees them), then its workspace if any. */
typedef struct cg_step {
  cg_step_kind kind;
  int op;           /* index into c->eff */
  LLVMValueRef fn;  /* KERNEL */
  int64_t nrows;    /* see cg_step_kind */
  int64_t aux;
  int arg0, nargs;  /* into the cg_loc array */
  bool workspace;   /* the last arg is the shared workspace */
  LLVMValueRef prep; /* KERNEL: its prepare kernel (the last arg is its prepared data), or NULL */
  int64_t rpu;      /* filled by cg_schedule: parallel rows per block unit */
} cg_step;

/* A parallel region: steps [first, first + n) run unit by unit over
 * nunits units (one parallel_for: one fork/join); unit u of step s is its
 * rows [u * rpu, min((u + 1) * rpu, nrows)).  CHECK and COPY steps are
 * regions of their own, run on the caller. */
typedef struct cg_block {
  int first, n;
  int64_t nunits;
} cg_block;

/* Groups consecutive kernel steps into regions whose rows stay on one
 * thread from step to step (docs/cpu.md §6): steps join a region when
 * each reads the region's earlier results only at its own rows of the
 * leading axis and no two steps touch shared bytes at different rows.
 * A result whose planned bytes would clash within its region moves to
 * bytes after the arena (pl->arena grows).  Rewrites args to the final
 * places, fills rpu of every step and blocks (at most nsteps); returns
 * the number of blocks, -1 when out of memory. */
int cg_schedule(const cpu_cg *c, cg_step *steps, int nsteps, cg_loc *args, cg_places *pl,
                cg_block *blocks);

/* entry.c: the run tables and fab_model_run, which walks them. */
LLVMValueRef cg_gen_entry(cpu_cg *c, const cg_step *steps, int nsteps, const cg_loc *args,
                          int nargs, const cg_block *blocks, int nblocks);
/* entry.c: fab_model_prepare(weights, prepared), which calls every step's
 * prepare kernel (NULL when no step has one). */
LLVMValueRef cg_gen_prepare_entry(cpu_cg *c, const cg_step *steps, int nsteps, const cg_loc *args);
/* module.c: a new internal function with the target's attributes; the
 * builder is placed in its (empty) entry block. */
LLVMValueRef cg_new_fn(cpu_cg *c, const char *name, LLVMTypeRef fty, bool exported);
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
/* codegen_fft.c: every radix-2 stage of `stages` on a lane buffer of len
 * complex V-lane vectors (re, im; cg_lane_buffer(c, 2 len, ..)), twiddle
 * table tab of the largest stage M. */
void cg_fft_all_stages(cpu_cg *c, LLVMValueRef buf, LLVMValueRef tab, int64_t M, int64_t len,
                       const fab_attr *stages);
/* codegen_fft_cols.c: fft.stages across a middle axis with V | inner. */
void cg_gen_fft_columns(cpu_cg *c, const fab_op *op, LLVMValueRef tab, int64_t M, int64_t outer,
                        int64_t len, int64_t inner, bool real_out, bool hermitian,
                        const cg_fft_perm *perm, int64_t *nrows);

/* ---- module.c: the whole model ------------------------------------------ */
/* Builds the model module (kernels, entry, descriptor) in ctx, verifies and
 * optimises it.  Returns NULL after reporting. */
LLVMModuleRef cg_build_model(LLVMContextRef ctx, const fab_module *m, const fab_cpu_options *o,
                             const cg_target *t, fab_diag *d);
uint64_t cg_model_hash(const fab_module *m);
/* descriptor.c: emits FAB_MODEL_SYMBOL pointing at `entry` and at
 * `prepare` (NULL: none) with its buffer of `prepared` bytes. */
bool cg_gen_descriptor(cpu_cg *c, LLVMValueRef entry, int64_t scratch, LLVMValueRef prepare,
                       int64_t prepared);
fab_tensor_dtype cg_tensor_dtype(fab_dtype t);

#define CG_ERR(c, ...) fab_error((c)->d, (c)->op ? (c)->op->loc : (fab_loc){0}, __VA_ARGS__)

#endif /* FAB_CPU_INTERNAL_H */
