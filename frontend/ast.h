/* ast.h — the syntax tree of a .fab program (internal to the front end).
 *
 * Every node lives in one arena per compilation (the `fab_arena` of the
 * parse context), so a parse that stops half-way through error recovery
 * leaks nothing: the whole tree goes with one fab_arena_free.
 */
#ifndef FAB_FRONTEND_AST_H
#define FAB_FRONTEND_AST_H

#include "ir.h"

/* A growable array of node pointers, arena-allocated. */
typedef struct ast_list {
  void **items;
  int n, cap;
} ast_list;

typedef enum {
  E_INT,    /* i */
  E_FLOAT,  /* f */
  E_STR,    /* s */
  E_NAME,   /* s */
  E_BINARY, /* op, lhs, rhs: + - * / % */
  E_NEG,    /* lhs */
  E_CALL,   /* s = callee, args (ast_arg), path (optional `as` name) */
  E_CHOOSE, /* lhs = selector (NULL: a supernet edge), cands (ast_expr) */
} ast_expr_kind;

/* One segment of an instance path `layers.{i}.ffn`: a name, a literal
 * index or an integer expression in braces. */
typedef struct ast_seg {
  const char *name; /* NULL for an index */
  int64_t index;
  struct ast_expr *expr; /* `{expr}`, else NULL */
  fab_loc loc;
} ast_seg;

typedef struct ast_expr {
  ast_expr_kind kind;
  fab_loc loc;
  int64_t i;
  double f;
  const char *s;
  int op;
  int depth; /* operator and call nesting, at most FAB_FE_MAX_EXPR_DEPTH */
  struct ast_expr *lhs, *rhs;
  ast_list *args; /* of ast_arg */
  ast_list *path; /* of ast_seg, NULL without `as` */
  ast_list *cands; /* E_CHOOSE: of ast_expr */
} ast_expr;

typedef struct ast_arg {
  const char *name; /* NULL: positional */
  ast_expr *value;
  fab_loc loc;
} ast_arg;

/* `f32[seq, d]` */
typedef struct ast_type {
  const char *dtype;
  ast_list *dims; /* of ast_expr */
  bool leading;   /* `f32[.., s, d]`: any leading axes before dims */
  fab_loc loc;
} ast_type;

/* A block or model parameter: `x: f32[s, d]` or `h: dim`. */
typedef struct ast_param {
  const char *name;
  ast_type *type; /* NULL: an integer (dim) parameter */
  ast_expr *dflt; /* a dim parameter's default (blocks), or NULL */
  fab_loc loc;
} ast_param;

typedef enum { S_ASSIGN, S_RETURN, S_REPEAT } ast_stmt_kind;

typedef struct ast_stmt {
  ast_stmt_kind kind;
  fab_loc loc;
  const char *name; /* assigned name, repeat index */
  ast_expr *value;  /* assign, return; repeat: low bound */
  ast_expr *hi;     /* repeat: high bound (exclusive) */
  ast_list *body;   /* repeat: of ast_stmt */
} ast_stmt;

typedef enum { D_IMPORT, D_DIM, D_BLOCK, D_MODEL, D_SELECT, D_SELECT_DIM } ast_decl_kind;

typedef struct ast_decl {
  ast_decl_kind kind;
  fab_loc loc;
  const char *name;   /* import: the path string */
  ast_expr *value;    /* dim */
  ast_list *params;   /* of ast_param */
  ast_type *ret;      /* block */
  ast_list *outs;     /* model: of ast_param */
  ast_list *body;     /* of ast_stmt */
  fab_loc end;        /* the closing brace */
  const char *choice; /* select: the candidate's name (name: the edge) */
  int64_t dim_value;  /* select dim: the value (name: the dim) */
} ast_decl;

void ast_push(fab_arena *a, ast_list **l, void *item);
void *ast_new(fab_arena *a, size_t size);

/* Nesting limit for brackets and braces (protects the recursive
 * elaborator from stack exhaustion on hostile input). */
#define FAB_FE_MAX_NESTING 64
/* Operator chains (`a + a + ... + a`) nest without brackets; the same
 * protection for them (calls count as one level each). */
#define FAB_FE_MAX_EXPR_DEPTH 256

/* The state shared by the scanner and the parser for one file. */
typedef struct parse_ctx {
  fab_arena *arena; /* AST arena */
  fab_diag *diag;
  const char *file; /* arena copy: fab_loc.file of every node */
  ast_list *decls;  /* of ast_decl */
  int depth;        /* open brackets */
  bool fatal;       /* stop: lexer hit a limit and already reported */
  int ntokens;      /* tokens returned so far */
  int quiet_until;  /* no syntax errors up to this token (after a lexical error) */
  /* flex's live memory (lexer.l fe_yyalloc): flex loses blocks when an
   * allocation fails half way, so out of memory frees them from here */
  void **flex_blocks;
  int nflex_blocks, cap_flex_blocks;
} parse_ctx;

/* Frees every block flex still holds (after out of memory) and the table. */
void fab_fe_free_flex_blocks(parse_ctx *ctx);

/* Parses `len` bytes of `text` (need not be NUL-terminated) into
 * ctx->decls; returns false if any error was reported. */
bool fab_fe_parse(parse_ctx *ctx, const char *text, size_t len);

#endif /* FAB_FRONTEND_AST_H */
