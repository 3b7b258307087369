/* pass_internal.h — what the passes share with the pass manager (not
 * installed, not for callers of fab_passes).
 *
 * A pass is `bool run(fab_pass_ctx *cx, fab_func *f)`, called once per
 * function.  Most passes rewrite through a `rw` (rewrite.c): copy or build
 * ops onto a fresh array with an old->new index map, then commit. */
#ifndef FAB_PASS_INTERNAL_H
#define FAB_PASS_INTERNAL_H

#include "passes.h"

#define PASS_MAX_OPTS 8

typedef struct fab_pass_ctx {
  fab_module *m;
  const fab_target_info *target; /* never NULL inside a pass */
  const char *pass;              /* the running pass's name */
  int nopts;
  const char *keys[PASS_MAX_OPTS];
  int64_t vals[PASS_MAX_OPTS];
  fab_diag *d;
} fab_pass_ctx;

/* The value of option `key` if the pipeline gave it, else dflt. */
int64_t pass_opt(const fab_pass_ctx *cx, const char *key, int64_t dflt);
bool pass_has_opt(const fab_pass_ctx *cx, const char *key);
/* Reports an error prefixed with the pass name, at the op's location. */
void pass_error(fab_pass_ctx *cx, const fab_op *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- rewriting --------------------------------------------------------- */

typedef struct rw {
  fab_pass_ctx *cx;
  fab_module *m;
  fab_func *f;  /* the function being rewritten (old ops stay readable) */
  fab_func nf;  /* the new op array */
  int *map;     /* old index -> new index (-1: not yet / removed) */
  bool ok;
} rw;

void rw_init(rw *w, fab_pass_ctx *cx, fab_func *f);
/* Copies old op `i` with its operands remapped; records map[i]. */
int rw_copy(rw *w, int i);
/* Appends a new op whose operands are NEW indices; no attributes yet. */
int rw_new(rw *w, fab_opcode code, const int *operands, int n, fab_loc loc);
static inline fab_op *rw_at(rw *w, int idx) { return &w->nf.ops[idx]; }
/* Sets the type of new op idx and cross-checks it with fab_infer_op. */
bool rw_type(rw *w, int idx, fab_type t);
/* Swaps the new op array into the function (if every step succeeded). */
bool rw_commit(rw *w);

/* Convenience builders returning the new index (types computed). */
int rw_reshape(rw *w, int x, int rank, const int64_t *dims, fab_loc loc);
int rw_transpose(rw *w, int x, const int64_t *perm, fab_loc loc);

/* ---- analysis ---------------------------------------------------------- */

/* Number of users of each value of f (output ops count), arena-allocated. */
int *pass_use_counts(fab_module *m, const fab_func *f);
/* Copies of all `attrs` of op with the given key prefix removed. */
void pass_strip_attrs(fab_module *m, fab_op *op, const char *prefix);
int64_t pass_dtype_bytes(fab_dtype t);
/* log2 of a power of two, or -1. */
int pass_log2(int64_t n);

/* ---- the passes -------------------------------------------------------- */

bool pass_canonicalize(fab_pass_ctx *cx, fab_func *f);
bool pass_lower_bfly(fab_pass_ctx *cx, fab_func *f);
bool pass_lower_fourier(fab_pass_ctx *cx, fab_func *f);
bool pass_lower_bluestein(fab_pass_ctx *cx, fab_func *f);
bool pass_lower_mha(fab_pass_ctx *cx, fab_func *f);
bool pass_lower_masked_mean(fab_pass_ctx *cx, fab_func *f);
bool pass_fuse_stages(fab_pass_ctx *cx, fab_func *f);
bool pass_fuse_elementwise(fab_pass_ctx *cx, fab_func *f);
bool pass_tile(fab_pass_ctx *cx, fab_func *f);
bool pass_memplan(fab_pass_ctx *cx, fab_func *f);
bool pass_attention_block_run(fab_pass_ctx *cx, fab_func *f);
bool pass_cpu_chain_bfly(fab_pass_ctx *cx, fab_func *f);      /* cpu_fold.c */
bool pass_cpu_fold_fft_loads(fab_pass_ctx *cx, fab_func *f); /* cpu_fold.c */
bool pass_cpu_fold_embed(fab_pass_ctx *cx, fab_func *f);     /* cpu_fold.c */
bool pass_cpu_fuse_ffn(fab_pass_ctx *cx, fab_func *f);       /* cpu_ffn.c */

/* attention-block's key block for attention op (also used by tile). */
int64_t pass_attention_block(const fab_target_info *t, const fab_func *f, const fab_op *op);
bool pass_fpga_absorb(fab_pass_ctx *cx, fab_func *f);
bool pass_fpga_alloc(fab_pass_ctx *cx, fab_func *f);

/* ---- what the fpga passes share (fpga_absorb.c, fpga_alloc.c) ---------- */

/* uses[i]: the operand slots reading value i; user[i]: the last of them. */
void fpga_use_info(const fab_func *f, int *uses, int *user);
/* Can op i fold into its single user (the rules of fpga-absorb)? */
bool fpga_fold_legal(const fab_func *f, const int *uses, const int *user, int i);
/* The end of the write-back chain from bfly b (fpga_absorb.c), -1 if none. */
int fpga_wb_chain(const fab_func *f, const int *uses, const int *user, int b);
/* A dft as the fpga code generator runs it: lines [outer, A, inner] of
 * its input (the real rows of a folded complex: real_in); split into q
 * FFTs of m = 2^k points (can_split: last axis, m >= 32, 3 <= q <= 15) with
 * two scratch regions, and its constant table's name and size. */
typedef struct fpga_dft {
  uint64_t outer, A, inner, q, m;
  bool real_in, can_split;
  uint64_t scratch_words[2], table_words;
  char table[32];
} fpga_dft;
void fpga_dft_shape(const fab_func *f, const fab_op *op, fpga_dft *s);

/* fuse-stages' default k for a target (also used by tile and the docs). */
int pass_default_fuse_k(const fab_target_info *t);

#endif /* FAB_PASS_INTERNAL_H */
