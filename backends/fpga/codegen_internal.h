/* codegen_internal.h — shared state of the code generator (not public). */
#ifndef FAB_FPGA_CODEGEN_INTERNAL_H
#define FAB_FPGA_CODEGEN_INTERNAL_H

#include "codegen.h"
#include "passes.h"

/* Address spaces an instruction touches, for hazard tracking. */
/* SP_AMASK / SP_PMASK: the mask registers of the attention processor and
 * the PPU (word 0), so that a mask instruction and the masked ones using
 * it keep their order in the scheduler. */
/* SP_PB: the write-back parameter buffer; SP_WB: the write-back
 * registers (word 0), set by wbp and read by stp. */
enum { SP_EXT, SP_CB, SP_VM, SP_BEA, SP_BEB, SP_AMASK, SP_PMASK, SP_PB, SP_WB, CG_NSPACES };
/* how far back token derivation scans for conflicts (codegen.c) */
#define CG_WINDOW 1024

typedef struct cg_acc {
  int space;
  bool write;
  uint64_t lo, hi;
} cg_acc;

typedef struct cg_insn {
  fab_fpga_insn in;
  int op; /* the IR op that emitted it */
  int nacc;
  cg_acc acc[5];
  /* step[k] > 0: access k touches only columns [lo mod step, lo mod step
   * + cols) of each step-word row within [lo, hi) (a column chunk of
   * strided rows; fpga_cg_cols) */
  uint64_t step[5], cols[5];
} cg_insn;

typedef struct cg_val {
  bool ok;
  uint64_t addr; /* word address of element 0 */
} cg_val;

/* The state of one compilation.  Which ops run folded into their user
 * (fpga.fold) and where every value lives (plan.*) come from the IR: the
 * passes fpga-absorb and fpga-alloc decided, fab_fpga_plan_check checked. */
typedef struct fpga_cg {
  size_t max_insns; /* the program's length limit (fab_fpga_codegen_opts) */
  const fab_module *m;
  const fab_func *f;
  const fab_fpga_config *c;
  fab_diag *d;
  fab_fpga_program *p;
  cg_val *vals;
  cg_insn *ins;
  size_t n, cap;
  size_t waited[FAB_Q_COUNT][FAB_Q_COUNT]; /* 1 + index of the last producer waited for */
  size_t touch[FAB_Q_COUNT][CG_NSPACES];   /* 1 + index of the last instruction of a queue touching a space */
  size_t *qidx[FAB_Q_COUNT], nqidx[FAB_Q_COUNT], capqidx[FAB_Q_COUNT]; /* instruction indices per queue */
  int cur;                                 /* op being compiled */
  bool failed;
  unsigned vm_half, be_half, cb_half, pb_half; /* ping-pong selectors */
  int pair_b1, pair_e1, pair_e2; /* 1 + fc1's bfly and chain end and its fc2's chain end, waiting for
                                  * that fc2 (codegen_be.c), 0 none */
  int be_op;                               /* 1 + the op whose tiles be_half last placed (0: none) */
} fpga_cg;

/* Reports an error at the current op ("<op kind> %<index>: ..."). */
void fpga_cg_error(fpga_cg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends an instruction with the address ranges it reads and writes. */
void fpga_cg_emit(fpga_cg *g, fab_fpga_insn in, int nacc, const cg_acc *acc);
/* Marks access k of the instruction just emitted as columns
 * [lo mod step, + cols) of step-word rows (tokens and the scheduler then
 * order it only against accesses to the same columns). */
void fpga_cg_cols(fpga_cg *g, int k, uint64_t step, uint64_t cols);
/* Reorders the instructions (codegen_sched.c): conflicting pairs keep
 * their order; otherwise by estimated start time.  Keeps the new order if
 * its estimate beats the emitted order's, or always if `always`. */
bool fpga_cg_schedule(fpga_cg *g, bool always);
/* The dependency tokens of instruction `at` (codegen.c); called in order
 * for every instruction of the final sequence. */
bool fpga_cg_derive_tokens(fpga_cg *g, size_t at);

/* Two column chunks of rows with the same step whose columns do not
 * meet. */
static inline bool fpga_cg_cols_apart(const cg_insn *a, int i, const cg_insn *b, int j) {
  uint64_t st = a->step[i];
  if (!st || st != b->step[j] || a->cols[i] > st || b->cols[j] > st) return false;
  /* circular column intervals [ca, ca + cols) mod st */
  uint64_t ca = a->acc[i].lo % st, cb = b->acc[j].lo % st;
  return (cb + st - ca) % st >= a->cols[i] && (ca + st - cb) % st >= b->cols[j];
}

static inline bool fpga_cg_conflicts(const cg_insn *a, const cg_insn *b) {
  for (int i = 0; i < a->nacc; i++)
    for (int j = 0; j < b->nacc; j++) {
      const cg_acc *x = &a->acc[i], *y = &b->acc[j];
      if (x->space == y->space && (x->write || y->write) && x->lo < y->hi && y->lo < x->hi &&
          !fpga_cg_cols_apart(a, i, b, j))
        return true;
    }
  return false;
}
/* The word address fpga-alloc gave value v (plan.offset); false after
 * fpga_cg_error if it has none. */
bool fpga_cg_planned(fpga_cg *g, int v, uint64_t *addr);
/* Checks the DMA's field widths (external address, stride, rows, length);
 * false after fpga_cg_error. */
bool fpga_cg_dma_fits(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t rows, uint64_t len);
/* A ld/st/ldc instruction's common DMA fields (buffer, external address,
 * stride, transpose, rows, length, on-chip address). */
fab_fpga_insn fpga_cg_dma_insn(fab_fpga_opcode op, int buf, uint64_t ext, uint64_t stride, bool trans, uint64_t rows,
                               uint64_t len, uint64_t addr);

/* Element-copy of `rows` x `len` f32 words from (src, sstride, strans) to
 * (dst, dstride) through the vector memory. */
void fpga_cg_copy2d(fpga_cg *g, uint64_t src, uint64_t sstride, bool strans, uint64_t dst, uint64_t dstride,
               uint64_t rows, uint64_t len);
void fpga_cg_copy_contig(fpga_cg *g, uint64_t src, uint64_t dst, uint64_t words);

/* VM half base address and size. */
uint64_t fpga_cg_vm_half(fpga_cg *g, uint64_t *size);

/* DMA instruction builders with their hazard accesses. */
void fpga_cg_ld_vm(fpga_cg *g, uint64_t ext, uint64_t stride, bool trans, uint64_t rows, uint64_t len, uint64_t vm);
void fpga_cg_st_vm(fpga_cg *g, uint64_t ext, uint64_t stride, bool trans, uint64_t rows, uint64_t len, uint64_t vm);
/* Any VM transfer; cplx: 2-word (re, im) elements on both sides. */
void fpga_cg_dma_vm(fpga_cg *g, fab_fpga_opcode opc, uint64_t ext, uint64_t stride, bool trans, bool cplx, uint64_t rows,
                    uint64_t len, uint64_t vm);
/* A load of rows x len weight words into the VM through the coefficient
 * port (ld cp=1): weights a post-processing pass reads. */
void fpga_cg_ld_vm_weight(fpga_cg *g, uint64_t ext, uint64_t rows, uint64_t len, uint64_t vm);
/* mm: C[M, N] (VM at c) = A[M, K] (at a) B (at b: [K, N], or [N, K] when tb). */
void fpga_cg_mm(fpga_cg *g, uint64_t a, uint64_t b, uint64_t c, uint64_t M, uint64_t K, uint64_t N, bool tb);
void fpga_cg_ppu(fpga_cg *g, int fn, uint64_t rows, uint64_t len, uint64_t a, uint64_t b, bool bc, float param);
/* Masks: amask (att) or pmask loading n flags at ext, causal cz with
 * origin (r0, c0); a PPU softmax or mean with mk = 1. */
void fpga_cg_mask(fpga_cg *g, bool att, uint64_t ext, uint64_t n, bool cz, uint64_t r0, uint64_t c0);
void fpga_cg_ppu_masked(fpga_cg *g, int fn, uint64_t rows, uint64_t len, uint64_t a, uint64_t b, float param);

/* Row-wise PPU work: x[R, d] (plus extra operands) through `steps` into out. */
enum { EX_FULL, EX_BCAST, EX_SUFFIX };
typedef struct extra {
  uint64_t addr;
  int kind;
  uint64_t brows; /* EX_SUFFIX: rows of the operand (repeats every brows rows) */
  bool weight;    /* a weight (or a block of one): loaded through the coefficient port */
} extra;
typedef struct step {
  int fn;
  float param;
  int ex; /* operand index for b, -1 none */
} step;
void fpga_cg_gen_rows(fpga_cg *g, uint64_t R, uint64_t d, uint64_t x, uint64_t out, int nex, const extra *ex,
                 int nsteps, const step *st);

/* gather: rows i0 .. i0 + t of the embedding lookup (ids value ids_v in
 * table value table_v, a [V, d] weight) into the VM at base; false after
 * fpga_cg_error. */
bool fpga_cg_gather(fpga_cg *g, int ids_v, int table_v, uint64_t i0, uint64_t t, uint64_t base);

/* Attaches the op map to g->p (codegen_opmap.c); false after an error. */
bool fpga_cg_attach_op_map(fpga_cg *g);

/* op handlers; each returns false after fpga_cg_error */
bool fpga_cg_op(fpga_cg *g, const fab_op *op);                          /* codegen_be.c: dispatch */
bool fpga_cg_define(fpga_cg *g, const fab_op *op);                      /* result region in the arena */
bool fpga_cg_gen_source(fpga_cg *g, const fab_op *op, fab_fpga_tkind kind);
bool fpga_cg_gen_elementwise(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_const(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_move(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_dft(fpga_cg *g, const fab_op *op);                     /* codegen_dft.c */
/* codegen_att.c: matmul and dense, attention (or the head merge that
 * absorbed it, g->cur), embed, meanpool */
bool fpga_cg_gen_matmul(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_attention(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_embed(fpga_cg *g, const fab_op *op);
bool fpga_cg_gen_meanpool(fpga_cg *g, const fab_op *op);
/* The FFT of every row of x[rows, m] (f32 or c64, m a power of two) into
 * out (c64): bit reversal on the load, every stage, on the engines. */
void fpga_cg_fft_rows(fpga_cg *g, uint64_t rows, uint64_t m, bool cplx_in, uint64_t x, uint64_t out);
/* Mixed-radix FFTs on the engines (codegen_fft.c): the product of an
 * fft.stages' odd radices (1 without), the checks of lower-fourier's plan
 * (false after fpga_cg_error), and the fftq instructions of the radices
 * for nrows rows of n per engine at baddr. */
uint64_t fpga_cg_radix_product(const fab_attr *rq);
bool fpga_cg_digits_ok(fpga_cg *g, const fab_op *op, uint64_t A);
bool fpga_cg_fft_plan_ok(fpga_cg *g, const fab_op *op, uint64_t A);
void fpga_cg_fftq(fpga_cg *g, uint64_t ne, uint64_t nrows, uint64_t baddr, uint64_t n, const fab_attr *rq, bool rin);
/* Operand v of the op being compiled, if fpga-absorb folded it into
 * this op with the given opcode (the op reads v's operand instead). */
static inline bool fpga_cg_folded_in(fpga_cg *g, int v, fab_opcode code) {
  return g->f->ops[v].code == code && fab_fpga_folded(&g->f->ops[v]);
}

/* ---- the engines' write-back (codegen_wb.c) ---- */
/* What a bfly's engines do on the way in and out: rows of m <= n elements
 * loaded with zero fill (a folded pad), and the first w elements of each
 * row stored through write-back function fn (-1: a plain st). */
typedef struct bfly_io {
  uint64_t x, xstride, xstack, m;
  uint64_t out, ostride, ostack, w;
  int fn;
  int64_t bias, gamma, beta, res; /* off-chip addresses, -1 none */
  float eps;
  uint64_t pb; /* parameter-buffer half holding bias, then gamma and beta */
} bfly_io;
/* The rows bfly op reads (through a folded stack and pad) and where it
 * stores them: plainly (end < 0), or through the write-back chain ending
 * at op `end` (its parameters loaded); false after fpga_cg_error. */
bool fpga_cg_bfly_io(fpga_cg *g, const fab_op *op, int end, uint64_t n, uint64_t S, bfly_io *io);
/* The value whose rows bfly op loads: its operand, or what a folded stack
 * or reshape, then a folded pad, take; *stacked and *padded (each may be
 * NULL) say whether it passed a stack and a pad. */
int fpga_cg_bfly_src(fpga_cg *g, const fab_op *op, bool *stacked, bool *padded);
/* The bfly a write-back chain ending at op v starts from, -1 if none. */
int fpga_cg_wb_bfly(fpga_cg *g, int v);
bool fpga_cg_fft_wb_io(fpga_cg *g, int b, int end, uint64_t n, bfly_io *io);
/* ldp: t rows of m elements into engine rows of pitch 2^L, zeros after m. */
void fpga_cg_ldp(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t t, uint64_t m, int L, uint64_t ne,
                 uint64_t baddr, int bank);
/* ldp of a tile, in column chunks where its rows fill a bank, chunk
 * `first` first (the earlier ones last: they wait for a store of them). */
void fpga_cg_ldp_tile(fpga_cg *g, uint64_t ext, uint64_t stride, uint64_t t, uint64_t m, int L, uint64_t ne,
                      uint64_t baddr, int bank, uint64_t first);
/* wbp + stp: a tile's t rows (from row r0, stack s) through the write-back
 * lanes into off-chip memory; stream: in column chunks where the function
 * allows (see be_dma_tile in codegen_be.c). */
void fpga_cg_stp(fpga_cg *g, const bfly_io *io, uint64_t r0, uint64_t s, uint64_t t, int L, uint64_t ne,
                 uint64_t baddr, int bank, bool stream);
/* Column chunks of a streaming store of bank-filling rows. */
#define FPGA_STREAM_CHUNKS 4
/* How many column chunks a tile's transfer of rows of `row` bank words
 * (`cols` of them moved) takes: FPGA_STREAM_CHUNKS when streaming applies
 * (one row per engine, rows filling more than half a bank), else 1. */
static inline uint64_t fpga_stream_chunks(const fpga_cg *g, bool stream, uint64_t rows, uint64_t ne, uint64_t row,
                                          uint64_t cols) {
  bool fills = stream && rows <= ne && 2 * row > (uint64_t)fab_fpga_bank_words(g->c);
  return fills && cols % FPGA_STREAM_CHUNKS == 0 ? FPGA_STREAM_CHUNKS : 1;
}

static inline int64_t cg_numel(const fab_type *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

static inline const fab_type *ty(fpga_cg *g, int v) { return &g->f->ops[v].type; }
static inline uint64_t addr(fpga_cg *g, int v) { return g->vals[v].addr; }
static inline uint64_t umin(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline int ilog2(uint64_t n) {
  int l = 0;
  while ((1ull << l) < n) l++;
  return l;
}
static inline uint64_t words_of(const fab_type *t) {
  return (uint64_t)cg_numel(t) * (t->dtype == FAB_C64 ? 2 : 1);
}
static inline int norm_axis(const fab_type *t, int64_t a) { return (int)(a < 0 ? a + t->rank : a); }
/* Splits t around axis a: outer * A * inner. */
static inline void around(const fab_type *t, int a, uint64_t *outer, uint64_t *A, uint64_t *inner) {
  *outer = *inner = 1;
  for (int i = 0; i < a; i++) *outer *= (uint64_t)t->dims[i];
  for (int i = a + 1; i < t->rank; i++) *inner *= (uint64_t)t->dims[i];
  *A = (uint64_t)t->dims[a];
}

#endif
