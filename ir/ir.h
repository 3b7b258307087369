/* ir.h — the butterfly IR: the one header every part of fabc speaks.
 *
 * A module holds named parameters (state_dict entries) and functions.  A
 * function is a straight-line SSA dataflow graph: an array of ops in
 * topological order, where op i defines value %i (every op has exactly one
 * result, except those flagged FAB_OPF_NORESULT, such as `output`).  An
 * operand is the index of the op that defines it, always smaller than the
 * user's own index.  There is no control flow: blocks and `repeat` are
 * unrolled by the front end, and rows are data-parallel.
 *
 * Memory: everything a module points to lives in the module's arena and is
 * freed by fab_module_free.  Passes build new op arrays in the same arena.
 *
 * Errors: functions that can fail on user input take a fab_diag and return
 * false / -1 / NULL after recording a message; they never exit or abort.
 *
 * This header depends only on the C library.
 */
#ifndef FAB_IR_H
#define FAB_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fab_util.h"

/* ======================================================================
 * Arena
 * ==================================================================== */

typedef struct fab_arena fab_arena;

fab_arena *fab_arena_new(void);
void fab_arena_free(fab_arena *a);
/* Zeroed, 16-byte aligned; returns NULL only if the system is out of
 * memory or the request overflows. */
void *fab_arena_alloc(fab_arena *a, size_t size);
/* Grow an arena array: copies `old_count` elements of `elem` bytes into a
 * fresh block of `new_count` elements (the old block is abandoned). */
void *fab_arena_grow(fab_arena *a, void *old, size_t elem, size_t old_count,
                     size_t new_count);
char *fab_arena_strdup(fab_arena *a, const char *s);
char *fab_arena_strndup(fab_arena *a, const char *s, size_t n);
char *fab_arena_printf(fab_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t fab_arena_bytes(const fab_arena *a);

/* ======================================================================
 * Source locations and diagnostics
 * ==================================================================== */

typedef struct fab_loc {
  const char *file; /* NULL: no location */
  int line, col;    /* 1-based */
} fab_loc;

typedef enum { FAB_SEV_ERROR, FAB_SEV_WARNING, FAB_SEV_NOTE } fab_severity;

typedef struct fab_diag fab_diag;

/* A diagnostics sink.  Messages are collected in order; sources registered
 * with fab_diag_add_source are used to print the line and a caret. */
fab_diag *fab_diag_new(void);
void fab_diag_free(fab_diag *d);
/* Registers the text of a file so that messages in it show their line.
 * The text is copied. */
void fab_diag_add_source(fab_diag *d, const char *file, const char *text,
                         size_t len);
void fab_diag_report(fab_diag *d, fab_severity sev, fab_loc loc,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void fab_diag_vreport(fab_diag *d, fab_severity sev, fab_loc loc,
                      const char *fmt, va_list ap);
#define fab_error(d, loc, ...) fab_diag_report((d), FAB_SEV_ERROR, (loc), __VA_ARGS__)
#define fab_note(d, loc, ...) fab_diag_report((d), FAB_SEV_NOTE, (loc), __VA_ARGS__)
int fab_diag_error_count(const fab_diag *d);
int fab_diag_count(const fab_diag *d);
/* Stop collecting after this many errors (default 50); more are counted
 * but not stored, and a final "too many errors" note is printed. */
void fab_diag_set_limit(fab_diag *d, int max_errors);
/* Writes every message as
 *   file:line:col: error: message
 *       source line
 *       ^
 * (messages without a location print just "fabc: error: message"). */
void fab_diag_print(const fab_diag *d, FILE *out);
/* The i-th message text alone (no location), for tests. */
const char *fab_diag_message(const fab_diag *d, int i);
void fab_diag_clear(fab_diag *d);

/* Internal invariant failure (a bug in fabc, never a user error). */
void fab_internal_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define FAB_ASSERT(c)                                                          \
  do {                                                                         \
    if (!(c)) fab_internal_error(__FILE__, __LINE__, "assertion %s", #c);     \
  } while (0)

/* Out of memory where the caller has no error channel (the IR builders,
 * the AST, a pass's scratch arrays): in the style of Lua's error recovery,
 * the library entry point that started the work (fab_frontend_compile_*,
 * fab_parse_module, each pass of fab_run_pipeline) holds a guard, and
 * fab_out_of_memory longjmps to the innermost one, which frees what it owns
 * and reports "out of memory" through its fab_diag.  Without a guard it is
 * an internal error.  Guards are per thread.
 *
 *   fab_oom_guard g;
 *   if (setjmp(g.jb)) { fab_oom_pop(&g); ...free, report...; return NULL; }
 *   fab_oom_push(&g);
 *   ...work...
 *   fab_oom_pop(&g);
 *
 * Locals of the guarding function written after setjmp must not be read
 * in the recovery branch (C's setjmp rule): keep state behind pointers set
 * before it. */
#include <setjmp.h>
typedef struct fab_oom_guard {
  jmp_buf jb;
  struct fab_oom_guard *prev;
} fab_oom_guard;
void fab_oom_push(fab_oom_guard *g);
void fab_oom_pop(fab_oom_guard *g);
void fab_out_of_memory(const char *file, int line) __attribute__((noreturn));
/* Runs fn(arg) under a guard of its own: false if memory ran out inside
 * it.  For code that holds malloc'd state across work that may run out:
 * free it, then pass the failure on with fab_out_of_memory. */
bool fab_oom_protect(void (*fn)(void *arg), void *arg);
/* Whether a guard is active on this thread: the arena then never returns
 * NULL (it recovers through the guard instead). */
bool fab_oom_guarded(void);
/* Test hook (allocation-failure injection): the n-th fab_arena_alloc from
 * now on this thread fails (n >= 1; 0 switches it off).  Returns how many
 * were still to go before this call (0: the last one fired).  Tests only. */
long fab_arena_test_fail_at(long n);

/* ======================================================================
 * Types
 * ==================================================================== */

typedef enum {
  FAB_F32, /* activations, weights */
  FAB_I32, /* token ids */
  FAB_C64, /* complex: two f32 (FFT intermediates) */
  FAB_DTYPE_COUNT
} fab_dtype;

#define FAB_MAX_RANK 8
/* Refuse shapes whose element count exceeds this (absurd-size guard). */
#define FAB_MAX_ELEMENTS ((int64_t)1 << 34)
/* Parameter names: bytes in one name, and in all names of a module
 * (docs/reliability.md).  They bound the memory a short program with a
 * long name inside a long `repeat` can ask for. */
#define FAB_MAX_NAME_LEN 4096
#define FAB_MAX_NAME_BYTES ((int64_t)64 << 20)

typedef struct fab_type {
  fab_dtype dtype;
  int rank;                    /* 0..FAB_MAX_RANK */
  int64_t dims[FAB_MAX_RANK];  /* each >= 1 */
} fab_type;

const char *fab_dtype_name(fab_dtype t); /* "f32", "i32", "c64" */
/* Element count; -1 on overflow past FAB_MAX_ELEMENTS. */
int64_t fab_type_numel(const fab_type *t);
bool fab_type_equal(const fab_type *a, const fab_type *b);
fab_type fab_type_make(fab_dtype dt, int rank, const int64_t *dims);
/* "f32[128,64]" into buf; returns buf. */
char *fab_type_str(const fab_type *t, char *buf, size_t n);

/* ======================================================================
 * The op table (ir/ops.def)
 * ==================================================================== */

enum {
  FAB_OPF_HIGH = 1u << 0,
  FAB_OPF_LOW = 1u << 1,
  FAB_OPF_ELEMENTWISE = 1u << 2,
  FAB_OPF_NORESULT = 1u << 3,
  FAB_OPF_SOURCE = 1u << 4,
};

typedef enum {
#define FAB_OP(id, text, mn, mx, schema, flags) FAB_OP_##id,
#include "ops.def"
#undef FAB_OP
  FAB_OP_COUNT
} fab_opcode;

typedef struct fab_opinfo {
  const char *name;   /* textual keyword, e.g. "bfly.linear" */
  int min_operands, max_operands;
  const char *schema; /* attribute schema, see ops.def */
  unsigned flags;
} fab_opinfo;

extern const fab_opinfo fab_opinfos[FAB_OP_COUNT];
/* Opcode by keyword; -1 if unknown. */
int fab_opcode_lookup(const char *name);

/* Who implements an op (ir/op_targets.def): one bit per implementation.
 * FAB_OP_IMPLS_<ID> is an op's set as a constant expression, so that a
 * backend can assert at compile time what it leaves out. */
enum {
  FAB_IMPL_INTERP = 1u << 0,
  FAB_IMPL_CPU = 1u << 1,
  FAB_IMPL_FPGA = 1u << 2,
  FAB_IMPL_ALL = FAB_IMPL_INTERP | FAB_IMPL_CPU | FAB_IMPL_FPGA,
};
enum {
#define FAB_OP_IMPL(id, impls) FAB_OP_IMPLS_##id = (impls),
#include "op_targets.def"
#undef FAB_OP_IMPL
};
extern const unsigned fab_op_impls[FAB_OP_COUNT];
/* True (a constant) when op ID lacks implementation `impl`. */
#define FAB_OP_LACKS(impl, id) (!(FAB_OP_IMPLS_##id & (impl)))

/* ======================================================================
 * Attributes
 * ==================================================================== */

typedef enum { FAB_ATTR_INT, FAB_ATTR_FLOAT, FAB_ATTR_STR, FAB_ATTR_INTS } fab_attr_kind;

typedef struct fab_attr {
  const char *key;
  fab_attr_kind kind;
  int64_t i;
  double f;
  const char *s;
  const int64_t *ints;
  int nints;
} fab_attr;

/* ======================================================================
 * Ops, functions, modules
 * ==================================================================== */

typedef struct fab_op {
  fab_opcode code;
  int noperands;
  int *operands;   /* op indices of the defining ops */
  int nattrs;
  fab_attr *attrs; /* kept sorted by key (printing order) */
  fab_type type;   /* the result type (operand type for NORESULT ops) */
  fab_loc loc;     /* where the front end made it; may be empty */
} fab_op;

typedef struct fab_func {
  const char *name;
  fab_op *ops;
  int nops, cap;
} fab_func;

/* How a parameter is initialised when no weights file is given.  The
 * distributions are PyTorch's defaults for the equivalent module. */
typedef enum {
  FAB_INIT_ZEROS,
  FAB_INIT_ONES,
  FAB_INIT_UNIFORM, /* U(a, b) */
  FAB_INIT_NORMAL,  /* N(a, b^2): mean a, std b */
} fab_init_kind;

typedef struct fab_init {
  fab_init_kind kind;
  double a, b;
} fab_init;

typedef struct fab_param {
  const char *name; /* state_dict name, e.g. "layers.3.ffn.fc1.twiddle" */
  fab_type type;
  fab_init init;
  fab_loc loc;
} fab_param;

typedef struct fab_module {
  fab_arena *arena;
  const char *name;
  fab_param *params;
  int nparams, params_cap;
  fab_index param_index; /* by name (fab_module_find_param) */
  int64_t name_bytes;    /* sum of parameter name lengths */
  fab_func **funcs;
  int nfuncs, funcs_cap;
  fab_index func_index; /* by name (fab_module_find_func) */
} fab_module;

fab_module *fab_module_new(const char *name);
void fab_module_free(fab_module *m);
/* A deep copy in an arena of its own (for a pipeline that must leave the
 * original as it was); NULL when memory runs out. */
fab_module *fab_module_clone(const fab_module *m);

/* Adds a parameter; returns its index, or -1 (with a diagnostic) if the name
 * exists with a different type or is past FAB_MAX_NAME_LEN /
 * FAB_MAX_NAME_BYTES.  An identical redeclaration returns the old index
 * (weight tying).  Lookups by name take O(1) expected time. */
int fab_module_add_param(fab_module *m, const char *name, fab_type type,
                         fab_init init, fab_loc loc, fab_diag *d);
int fab_module_find_param(const fab_module *m, const char *name);
/* NULL if `name` (of length `len`) can be added, else why not: "is longer
 * than ..." or "would take the module's parameter names past ...". */
const char *fab_module_name_limit(const fab_module *m, size_t len);
fab_func *fab_module_add_func(fab_module *m, const char *name);
fab_func *fab_module_find_func(const fab_module *m, const char *name);
/* The entry function: "main" if present, else the first. */
fab_func *fab_module_main(const fab_module *m);

/* ---- building ops ---------------------------------------------------- */

/* Appends an op with the given operands and no attributes; the result
 * type is left for fab_infer_op (or set by the caller for input/weight/
 * const).  Returns the new op's index. */
int fab_func_append(fab_module *m, fab_func *f, fab_opcode code,
                    const int *operands, int noperands, fab_loc loc);
void fab_op_set_int(fab_module *m, fab_op *op, const char *key, int64_t v);
void fab_op_set_float(fab_module *m, fab_op *op, const char *key, double v);
void fab_op_set_str(fab_module *m, fab_op *op, const char *key, const char *v);
void fab_op_set_ints(fab_module *m, fab_op *op, const char *key,
                     const int64_t *v, int n);
/* Drops attribute `key` (false if the op has none). */
bool fab_op_remove_attr(fab_op *op, const char *key);
const fab_attr *fab_op_attr(const fab_op *op, const char *key);
int64_t fab_op_int(const fab_op *op, const char *key, int64_t dflt);
double fab_op_float(const fab_op *op, const char *key, double dflt);
const char *fab_op_str(const fab_op *op, const char *key, const char *dflt);

/* Copies op `src` (operands remapped through `map`, which maps old op
 * indices to new ones) onto the end of `dst`; returns its index.  The
 * basic step of every rewriting pass. */
int fab_func_copy_op(fab_module *m, fab_func *dst, const fab_op *src,
                     const int *map);

/* ======================================================================
 * Mixed-radix FFT plans (ir/fft.c)
 * ==================================================================== */

/* The largest radix an fft.stages radix stage or a digit reversal takes. */
#define FAB_FFT_MAX_RADIX 4096
/* The input index that the digit reversal of `radices` (product n, r1
 * first) puts at position pos: bitrev {radices}'s permutation. */
int64_t fab_fft_digitrev(int64_t pos, const int64_t *radices, int nradices);
/* n's prime factors, the 2s first, then ascending (768 -> 2 x 8, 3);
 * returns their count, or -1 if more than max. */
int fab_fft_factor(int64_t n, int64_t *radices, int max);
/* The size of radix stage t of an fft.stages along an axis of length n
 * with radix list radix[0..nradix): n over the radices after t. */
int64_t fab_fft_radix_size(int64_t n, const int64_t *radix, int nradix, int t);

/* Bluestein's algorithm (fft.chirp, passes/lower_bluestein.c).  The
 * largest n a chirp takes (t^2 for t < 2n stays exact in int64). */
#define FAB_FFT_MAX_CHIRP ((int64_t)1 << 24)
/* The smallest power of two >= 2n - 1: the length a length-n DFT is padded
 * to. */
int64_t fab_fft_bluestein_len(int64_t n);
/* exp(i pi j^2 / n) with the angle reduced exactly (j^2 mod 2n): factor j
 * of fft.chirp {n}. */
void fab_fft_chirp(int64_t n, int64_t j, double *re, double *im);
/* The M factors of fft.chirp {n, spectrum = 1} (out: 2M doubles, re and im
 * interleaved), computed in double with an FFT.  False (out untouched) unless
 * M is a power of two >= 2n - 1. */
bool fab_fft_chirp_spectrum(int64_t n, int64_t M, double *out);

/* ======================================================================
 * Type inference and verification (ir/infer.c, ir/verify.c)
 * ==================================================================== */

/* Computes op->type from its operands and attributes (except for sources,
 * whose type is given).  On a type/shape error writes a message into `err`
 * (without location) and returns false. */
bool fab_infer_op(const fab_module *m, const fab_func *f, fab_op *op,
                  char *err, size_t errlen);

/* Checks the whole module: op table arity and attribute schema, SSA order,
 * parameter references and types, every op's type equal to the inferred
 * one, input/output indices.  Reports every problem it finds. */
bool fab_verify(const fab_module *m, fab_diag *d);

/* Checks that the target implements every op of the entry function (the
 * function a backend compiles): each op whose fab_op_impls lacks
 * `impl_bit` (FAB_IMPL_CPU, ...) is reported at its location, once per
 * opcode, as "not supported on the <target_name> target: <op>".  Call it
 * before code generation; returns false if anything was reported. */
bool fab_check_target_support(const fab_module *m, unsigned impl_bit, const char *target_name,
                              fab_diag *d);

/* ======================================================================
 * Text form (ir/print.c, ir/parse.c)
 * ==================================================================== */

enum { FAB_PRINT_LOCS = 1u << 0 };
void fab_print_module(FILE *out, const fab_module *m, unsigned flags);
char *fab_print_module_str(const fab_module *m, unsigned flags); /* malloc'd */
void fab_print_op(FILE *out, const fab_func *f, int index, unsigned flags);

/* Parses the text form.  `file` names the source for diagnostics.
 * Returns NULL after reporting every error it can. */
fab_module *fab_parse_module(const char *file, const char *text, size_t len,
                             fab_diag *d);

#endif /* FAB_IR_H */
