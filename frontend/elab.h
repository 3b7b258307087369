/* elab.h — the elaborator's internal interface, shared by elaborate.c
 * (statements, expressions, blocks, the model), choose.c (choose and
 * select: supernet edges), builtins.c (the layer kinds) and load.c (files
 * and imports). */
#ifndef FAB_FRONTEND_ELAB_H
#define FAB_FRONTEND_ELAB_H

#include "ast.h"
#include "frontend.h"

/* Limits that turn hostile input into a message instead of a hang. */
#define FAB_FE_MAX_OPS (1 << 20)    /* ops after unrolling */
#define FAB_FE_MAX_REPEAT 100000    /* iterations of one repeat */
#define FAB_FE_MAX_CALL_DEPTH 32    /* nested block instances */
#define FAB_FE_MAX_STEPS 1000000    /* statements executed (unrolled) */

/* A value during elaboration.  V_ERROR is the poison left by an error that
 * has been reported: every consumer passes it on silently. */
typedef enum { V_ERROR, V_INT, V_FLOAT, V_STR, V_TENSOR } vkind;

typedef struct value {
  vkind kind;
  int64_t i;     /* V_INT */
  double f;      /* V_FLOAT */
  const char *s; /* V_STR */
  int op;        /* V_TENSOR: the defining op */
  fab_type type; /* V_TENSOR */
} value;

typedef struct binding {
  const char *name;
  value v;
  fab_loc loc;
  struct binding *next;
} binding;

/* A scope: globals (dims), a block or model frame, a repeat body.
 * Assignment rebinds a name found up to the nearest frame. */
typedef struct scope {
  struct scope *parent;
  bool frame;
  binding *names;
  /* a block frame's `..`: the leading axes its first `..` parameter bound */
  bool lead_bound;
  int nlead;
  int64_t lead[FAB_MAX_RANK];
} scope;

typedef struct elab {
  fab_module *m;
  fab_func *f;
  fab_diag *d;
  fab_arena *tmp; /* AST arena: scopes and temporary strings */
  scope *globals;
  ast_list *blocks;       /* of ast_decl */
  const ast_decl *stack[FAB_FE_MAX_CALL_DEPTH]; /* active block instances */
  int depth;
  const char *prefix; /* instance prefix of the current block, "" at top */
  long steps;         /* statements executed so far */
  ast_list *failed;   /* blocks whose instance reported an error */
  bool stop; /* a limit was hit: stop elaborating */
  ast_list *selects; /* of ast_decl (D_SELECT): supernet edges fixed to one candidate */
  bool *select_used; /* per entry of selects */
} elab;

/* ---- elaborate.c ------------------------------------------------------ */
value elab_expr(elab *e, scope *s, const ast_expr *x);
/* The parameter name prefix of a call: e->prefix joined with its `as`
 * path; NULL (after an error) if the path is bad, or if it is missing and
 * `what` is not NULL ("layer 'bfly' needs a name..."). */
const char *elab_path(elab *e, scope *s, const ast_expr *call, const char *what);
/* "prefix.leaf" in the module arena. */
const char *elab_join(elab *e, const char *prefix, const char *leaf);

/* Argument binding for calls: positional, then `key = value`. */
typedef struct argspec {
  const char *name;
  vkind kind;    /* V_ERROR: any kind; V_FLOAT also accepts integers */
  bool required;
  value dflt;
} argspec;
/* Fills out[0..n) from the call's arguments; false after an error (or a
 * poisoned argument, silently). */
bool elab_bind_args(elab *e, scope *s, const ast_expr *call, const char *what, int n,
                    const argspec *spec, value *out);
/* Every dimension >= 1 and at most 2^34 elements; reports at `loc`. */
bool elab_check_type(elab *e, fab_loc loc, const fab_type *t);

/* Building ops.  elab_op appends op `code` with the front end's expected
 * result type (-1 past the op limit); the caller sets attributes; then
 * elab_finish runs fab_infer_op and reports its message at the op's
 * location (-1 on error).  elab_emit does all three for integer
 * attributes `ikeys` = `ivals`. */
int elab_op(elab *e, fab_opcode code, const int *operands, int n, fab_loc loc, fab_type type);
int elab_finish(elab *e, int idx);
int elab_emit(elab *e, fab_opcode code, const int *operands, int n, fab_loc loc,
              fab_type type, const char *const *ikeys, const int64_t *ivals, int ni);
/* A tensor value defined by op `op` (poison if op < 0). */
value elab_tensor(int op, fab_type t);
/* Declares parameter `name` and emits its `weight` op; -1 on error
 * (including a name defined twice). */
int elab_weight(elab *e, const char *name, fab_type t, fab_init init, fab_loc loc);
/* "an integer", "a tensor", ... for messages. */
const char *vkind_name(vkind k);

/* ---- choose.c ---------------------------------------------------------- */
/* Evaluates a `choose` expression (E_CHOOSE). */
value elab_choose(elab *e, scope *s, const ast_expr *x);
/* Before elaboration: gathers the program's `select` declarations into
 * e->selects.  After it: reports the selects that named no supernet edge,
 * unless errors were reported since the count `errors`. */
void elab_collect_selects(elab *e, const ast_list *decls);
void elab_check_selects(elab *e, int errors);

/* ---- builtins.c -------------------------------------------------------- */
typedef struct builtin builtin;
const builtin *builtin_find(const char *name);
/* Evaluates a call of a built-in layer or helper. */
value builtin_call(elab *e, scope *s, const builtin *b, const ast_expr *call);

/* ---- elaborate.c: the model ----------------------------------------- */
/* Elaborates the program `decls` (imports already spliced in) into e->m. */
bool elab_program(elab *e, const ast_list *decls, const fab_frontend_options *opt);

/* pattern.c: the declared type `t` as written ("f32[.., s, d]"). */
const char *elab_pattern_text(const ast_type *t, char *buf, size_t n);

#endif /* FAB_FRONTEND_ELAB_H */
