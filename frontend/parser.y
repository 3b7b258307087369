/* parser.y — the fab grammar (docs/language.md has the same grammar in
 * prose).  A pure parser over the reentrant scanner of lexer.l; it builds
 * the syntax tree of ast.h in the context's arena and recovers from syntax
 * errors at `;` and `}` so that one run reports several of them. */
%require "3.8"
%define api.pure full
%define api.prefix {fe_yy}
%define parse.error custom
%locations
%expect 0

%code requires {
#include "ast.h"
#include "fab_alloc.h"
typedef void *yyscan_t;
}

%code provides {
int fe_yylex(FE_YYSTYPE *lval, FE_YYLTYPE *lloc, yyscan_t scanner);
}

%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {parse_ctx *ctx}

%code {
#include <string.h>

#define LOC(l) ((fab_loc){ctx->file, (l).first_line, (l).first_column})

static void fe_yyerror(const FE_YYLTYPE *l, yyscan_t scanner, parse_ctx *ctx, const char *msg) {
  (void)scanner;
  /* Bison's only other message is for its stack overflowing, which only
   * deeply nested input can cause. */
  if (strcmp(msg, "memory exhausted") == 0) msg = "input nested too deeply (parser stack exhausted)";
  if (!ctx->fatal) fab_error(ctx->diag, LOC(*l), "%s", msg);
}

static ast_expr *mk_expr(parse_ctx *ctx, ast_expr_kind k, fab_loc loc) {
  ast_expr *e = ast_new(ctx->arena, sizeof *e);
  e->kind = k;
  e->loc = loc;
  return e;
}

/* Sets the nesting depth of e (operators and calls: what the elaborator
 * recurses on); reports once per expression past the limit. */
static void set_depth(parse_ctx *ctx, ast_expr *e) {
  int a = e->lhs ? e->lhs->depth : 0, b = e->rhs ? e->rhs->depth : 0;
  for (int i = 0; e->args && i < e->args->n; i++) {
    const ast_arg *g = e->args->items[i];
    if (g->value->depth > b) b = g->value->depth;
  }
  for (int i = 0; e->cands && i < e->cands->n; i++) {
    const ast_expr *c = e->cands->items[i];
    if (c->depth > b) b = c->depth;
  }
  e->depth = (a > b ? a : b) + 1;
  if (e->depth == FAB_FE_MAX_EXPR_DEPTH + 1)
    fab_error(ctx->diag, e->loc, "expression too deeply nested (more than %d levels of operators and calls)",
              FAB_FE_MAX_EXPR_DEPTH);
}

static ast_expr *mk_binary(parse_ctx *ctx, int op, ast_expr *a, ast_expr *b, fab_loc loc) {
  ast_expr *e = mk_expr(ctx, E_BINARY, loc);
  e->op = op;
  e->lhs = a;
  e->rhs = b;
  set_depth(ctx, e);
  return e;
}

static ast_decl *mk_decl(parse_ctx *ctx, ast_decl_kind k, const char *name, fab_loc loc) {
  ast_decl *d = ast_new(ctx->arena, sizeof *d);
  d->kind = k;
  d->name = name;
  d->loc = loc;
  return d;
}
}

/* Every semantic value points into the context's arena, which is freed
 * as a whole; discarded values therefore need no destructor code. */
%union {
  int64_t ival;
  double fval;
  const char *str;
  ast_expr *expr;
  ast_list *list;
  ast_type *type;
  ast_param *param;
  ast_stmt *stmt;
  ast_arg *arg;
  ast_seg *seg;
}
%destructor { /* arena-owned */ } <*>

%token <str> IDENT "identifier"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token <str> STRING "string"
%token IMPORT "'import'" DIM "'dim'" BLOCK "'block'" MODEL "'model'" RETURN "'return'"
%token REPEAT "'repeat'" IN "'in'" AS "'as'" CHOOSE "'choose'" SELECT "'select'"
%token ARROW "'->'" DOTDOT "'..'"

%type <expr> expr call choose
%type <list> params params_opt exprs stmts args args_opt path cands
%type <type> type
%type <param> param
%type <stmt> stmt
%type <arg> arg
%type <seg> seg

%left '+' '-'
%left '*' '/' '%'
%precedence NEG

%%

/* program: a sequence of top-level declarations, in any order. */
program
  : %empty
  | program decl
  ;

/* decl: `import "f.fab";`, `dim n = expr;`, a block or the model.  After
 * a syntax error, skip to the next `;` or `}`. */
decl
  : IMPORT STRING ';' {
      ast_push(ctx->arena, &ctx->decls, mk_decl(ctx, D_IMPORT, $2, LOC(@2)));
    }
  /* `select "layers.0" = "abfly";` fixes a supernet edge to one candidate
   * (what `fabc select` writes after the supernet's source). */
  | SELECT STRING '=' STRING ';' {
      ast_decl *d = mk_decl(ctx, D_SELECT, $2, LOC(@2));
      d->choice = $4;
      ast_push(ctx->arena, &ctx->decls, d);
    }
  /* `select dim seq = 32;` sets a dim as `-D seq=32` does (what `fabc
   * select` writes for the -D values it was run with). */
  | SELECT DIM IDENT '=' INT ';' {
      ast_decl *d = mk_decl(ctx, D_SELECT_DIM, $3, LOC(@3));
      d->dim_value = $5;
      ast_push(ctx->arena, &ctx->decls, d);
    }
  | SELECT DIM IDENT '=' '-' INT ';' {
      ast_decl *d = mk_decl(ctx, D_SELECT_DIM, $3, LOC(@3));
      d->dim_value = -$6;
      ast_push(ctx->arena, &ctx->decls, d);
    }
  | DIM IDENT '=' expr ';' {
      ast_decl *d = mk_decl(ctx, D_DIM, $2, LOC(@2));
      d->value = $4;
      ast_push(ctx->arena, &ctx->decls, d);
    }
  | BLOCK IDENT '(' params_opt ')' ARROW type '{' stmts '}' {
      ast_decl *d = mk_decl(ctx, D_BLOCK, $2, LOC(@2));
      d->params = $4;
      d->ret = $7;
      d->body = $9;
      d->end = LOC(@10);
      ast_push(ctx->arena, &ctx->decls, d);
    }
  | MODEL IDENT '(' params_opt ')' ARROW '(' params ')' '{' stmts '}' {
      ast_decl *d = mk_decl(ctx, D_MODEL, $2, LOC(@2));
      d->params = $4;
      d->outs = $8;
      d->body = $11;
      d->end = LOC(@12);
      ast_push(ctx->arena, &ctx->decls, d);
    }
  | error ';'
  | error '}'
  ;

/* params: comma-separated `name: type`, `name: dim` or `name: dim = expr`
 * (a default, blocks only). */
params_opt
  : %empty { $$ = NULL; }
  | params
  ;
params
  : param { $$ = NULL; ast_push(ctx->arena, &$$, $1); }
  | params ',' param { $$ = $1; ast_push(ctx->arena, &$$, $3); }
  ;
param
  : IDENT ':' type {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->name = $1;
      $$->type = $3;
      $$->loc = LOC(@1);
    }
  | IDENT ':' DIM {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->name = $1;
      $$->loc = LOC(@1);
    }
  | IDENT ':' DIM '=' expr {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->name = $1;
      $$->dflt = $5;
      $$->loc = LOC(@1);
    }
  ;

/* type: element type and shape, `f32[seq, d]`; in a block, `f32[.., s, d]`
 * also takes any number of leading axes (`..`), the same in the result. */
type
  : IDENT '[' exprs ']' {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->dtype = $1;
      $$->dims = $3;
      $$->loc = LOC(@1);
    }
  | IDENT '[' DOTDOT ',' exprs ']' {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->dtype = $1;
      $$->dims = $5;
      $$->leading = true;
      $$->loc = LOC(@1);
    }
  ;
exprs
  : expr { $$ = NULL; ast_push(ctx->arena, &$$, $1); }
  | exprs ',' expr { $$ = $1; ast_push(ctx->arena, &$$, $3); }
  ;

/* stmts: the body of a block, model or repeat. */
stmts
  : %empty { $$ = NULL; }
  | stmts stmt { $$ = $1; if ($2) ast_push(ctx->arena, &$$, $2); }
  ;

/* stmt: `x = expr;` (binds or rebinds a name), `return expr;` (blocks),
 * `repeat i in lo..hi { ... }` (unrolled, hi exclusive). */
stmt
  : IDENT '=' expr ';' {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->kind = S_ASSIGN;
      $$->name = $1;
      $$->value = $3;
      $$->loc = LOC(@1);
    }
  | RETURN expr ';' {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->kind = S_RETURN;
      $$->value = $2;
      $$->loc = LOC(@1);
    }
  | REPEAT IDENT IN expr DOTDOT expr '{' stmts '}' {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->kind = S_REPEAT;
      $$->name = $2;
      $$->value = $4;
      $$->hi = $6;
      $$->body = $8;
      $$->loc = LOC(@1);
    }
  | error ';' { $$ = NULL; }
  ;

/* expr: integer arithmetic on dims, tensor `+` / `*` (add, mul), calls. */
expr
  : expr '+' expr { $$ = mk_binary(ctx, '+', $1, $3, LOC(@2)); }
  | expr '-' expr { $$ = mk_binary(ctx, '-', $1, $3, LOC(@2)); }
  | expr '*' expr { $$ = mk_binary(ctx, '*', $1, $3, LOC(@2)); }
  | expr '/' expr { $$ = mk_binary(ctx, '/', $1, $3, LOC(@2)); }
  | expr '%' expr { $$ = mk_binary(ctx, '%', $1, $3, LOC(@2)); }
  | '-' expr %prec NEG { $$ = mk_expr(ctx, E_NEG, LOC(@1)); $$->lhs = $2; set_depth(ctx, $$); }
  | '(' expr ')' { $$ = $2; }
  | INT { $$ = mk_expr(ctx, E_INT, LOC(@1)); $$->i = $1; }
  | FLOAT { $$ = mk_expr(ctx, E_FLOAT, LOC(@1)); $$->f = $1; }
  | STRING { $$ = mk_expr(ctx, E_STR, LOC(@1)); $$->s = $1; }
  | IDENT { $$ = mk_expr(ctx, E_NAME, LOC(@1)); $$->s = $1; }
  | call
  | call AS path { $$ = $1; $$->path = $3; }
  | choose
  ;

/* choose: one of several candidate expressions.  `choose (k) { a; b; }`
 * elaborates candidate k only (a fixed architecture out of a search
 * space); `choose { a as x; b as y; } as edge` is a supernet edge that
 * keeps them all (docs/explore.md: their outputs are mixed with equal
 * weights, each tagged with hint.choice_edge / hint.choice). */
choose
  : CHOOSE '(' expr ')' '{' cands '}' {
      $$ = mk_expr(ctx, E_CHOOSE, LOC(@1));
      $$->lhs = $3;
      $$->cands = $6;
      set_depth(ctx, $$);
    }
  | CHOOSE '{' cands '}' {
      $$ = mk_expr(ctx, E_CHOOSE, LOC(@1));
      $$->cands = $3;
      set_depth(ctx, $$);
    }
  | CHOOSE '{' cands '}' AS path {
      $$ = mk_expr(ctx, E_CHOOSE, LOC(@1));
      $$->cands = $3;
      $$->path = $6;
      set_depth(ctx, $$);
    }
  ;
cands
  : expr ';' { $$ = NULL; ast_push(ctx->arena, &$$, $1); }
  | cands expr ';' { $$ = $1; ast_push(ctx->arena, &$$, $2); }
  ;

/* call: a layer, block or helper function, `f(a, b, key = value)`. */
call
  : IDENT '(' args_opt ')' {
      $$ = mk_expr(ctx, E_CALL, LOC(@1));
      $$->s = $1;
      $$->args = $3;
      set_depth(ctx, $$);
    }
  ;
args_opt
  : %empty { $$ = NULL; }
  | args
  ;
args
  : arg { $$ = NULL; ast_push(ctx->arena, &$$, $1); }
  | args ',' arg { $$ = $1; ast_push(ctx->arena, &$$, $3); }
  ;
arg
  : expr {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->value = $1;
      $$->loc = $1->loc;
    }
  | IDENT '=' expr {
      $$ = ast_new(ctx->arena, sizeof *$$);
      $$->name = $1;
      $$->value = $3;
      $$->loc = LOC(@1);
    }
  ;

/* path: the instance name after `as`: `fc1`, `layers.3`, `layers.{i}`. */
path
  : seg { $$ = NULL; ast_push(ctx->arena, &$$, $1); }
  | path '.' seg { $$ = $1; ast_push(ctx->arena, &$$, $3); }
  ;
seg
  : IDENT { $$ = ast_new(ctx->arena, sizeof *$$); $$->name = $1; $$->loc = LOC(@1); }
  | INT { $$ = ast_new(ctx->arena, sizeof *$$); $$->index = $1; $$->loc = LOC(@1); }
  | '{' expr '}' { $$ = ast_new(ctx->arena, sizeof *$$); $$->expr = $2; $$->loc = LOC(@2); }
  ;

%%

#define YYSTYPE FE_YYSTYPE
#define YYLTYPE FE_YYLTYPE
#include "lexer.h"

/* "unexpected X, expected A or B": at most four alternatives are listed,
 * more would be noise; of a longer list only ';' (the usual omission) is
 * named.  A syntax error right after a lexical error is its consequence
 * and is not reported again. */
static int yyreport_syntax_error(const yypcontext_t *pc, yyscan_t scanner, parse_ctx *ctx) {
  (void)scanner;
  if (ctx->fatal || ctx->ntokens <= ctx->quiet_until) return 0;
  enum { MAX = 5, ALL = 64 };
  yysymbol_kind_t expected[ALL];
  int n = yypcontext_expected_tokens(pc, expected, ALL);
  yysymbol_kind_t tok = yypcontext_token(pc);
  char msg[512];
  int len = snprintf(msg, sizeof msg, "syntax error: unexpected %s", yysymbol_name(tok));
  if (n > 0 && n < MAX) {
    for (int i = 0; i < n && len < (int)sizeof msg; i++)
      len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s",
                      i == 0 ? ", expected " : i == n - 1 ? " or " : ", ",
                      yysymbol_name(expected[i]));
  } else {
    bool semi = false, ident = false, paren = false;
    for (int i = 0; i < n; i++) {
      const char *name = yysymbol_name(expected[i]);
      semi |= strcmp(name, "';'") == 0;
      ident |= strcmp(name, "identifier") == 0;
      paren |= strcmp(name, "'('") == 0;
    }
    if (semi) snprintf(msg + len, sizeof msg - (size_t)len, ", expected ';'");
    else if (ident && paren) snprintf(msg + len, sizeof msg - (size_t)len, ", expected an expression");
  }
  fab_error(ctx->diag, LOC(*yypcontext_location(pc)), "%s", msg);
  return 0;
}

typedef struct scan_job {
  yyscan_t scanner;
  parse_ctx *ctx;
  const char *text;
  size_t len;
  char *copy; /* the scanned copy of text: ours, so freed whatever happens */
  int rc;
} scan_job;

/* Out of memory may strike at any allocation here: the order leaves
 * nothing half made that fe_yylex_destroy would not free (flex's
 * yy_scan_bytes would leak its copy if the buffer state after it failed). */
static void scan_and_parse(void *arg) {
  scan_job *j = arg;
  fe_yy_switch_to_buffer(NULL, j->scanner); /* allocates flex's buffer stack */
  if (!(j->copy = fab_malloc(j->len + 2))) fab_out_of_memory(__FILE__, __LINE__);
  memcpy(j->copy, j->text, j->len);
  j->copy[j->len] = j->copy[j->len + 1] = 0;
  YY_BUFFER_STATE buf = fe_yy_scan_buffer(j->copy, j->len + 2, j->scanner);
  j->rc = fe_yyparse(j->scanner, j->ctx);
  fe_yy_delete_buffer(buf, j->scanner);
}

bool fab_fe_parse(parse_ctx *ctx, const char *text, size_t len) {
  scan_job j = {.ctx = ctx, .text = text, .len = len};
  if (fe_yylex_init_extra(ctx, &j.scanner)) {
    fab_fe_free_flex_blocks(ctx);
    fab_error(ctx->diag, ((fab_loc){ctx->file, 0, 0}), "out of memory");
    return false;
  }
  int errors = fab_diag_error_count(ctx->diag);
  /* Out of memory while parsing: the scanner's buffers are freed here
   * before the failure goes on to the caller's guard (ir.h). */
  bool finished = fab_oom_protect(scan_and_parse, &j);
  if (finished) fe_yylex_destroy(j.scanner); /* else flex's state may be half made */
  fab_fe_free_flex_blocks(ctx);
  free(j.copy);
  if (!finished) fab_out_of_memory(__FILE__, __LINE__);
  return j.rc == 0 && fab_diag_error_count(ctx->diag) == errors;
}
