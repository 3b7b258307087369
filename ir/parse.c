/* parse.c — recursive-descent parser of the IR text form (docs/ir.md).
 *
 * Contract: fab_parse_module reads what print.c writes (and a little more:
 * any %name for values, optional loc(...), comments).  Every error is
 * reported as file:line:col through the fab_diag; after an error the
 * parser skips to the next line and goes on, so one run reports many.
 * After each op is built its type is inferred (fab_infer_op) and compared
 * with the printed one.  Returns NULL if anything was reported.  Never
 * crashes: all lengths are bounded (lex.h and the limits below) and
 * numbers are checked for overflow.
 */
#include "ir.h"
#include "fab_alloc.h"
#include "lex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
  MAX_OPERANDS = 16,
  MAX_ATTRS = 64,
  MAX_INTS = 1 << 16, /* entries of one integer list */
};

/* Value names of the current function: open addressing, name -> op index
 * (POISONED for a line that failed, so its users fail silently). */
enum { POISONED = -2 };
typedef struct slot {
  char *name;
  int index;
} slot;

typedef struct names {
  slot *slots;
  size_t cap, count;
} names;

typedef struct parser {
  lexer lx;
  fab_diag *d;
  fab_module *m;
  const char *file; /* in the module arena */
  bool line_failed; /* an error was reported on this line: stay quiet */
  bool poisoned;    /* the line used a poisoned value: fail silently */
  names vals;
  int64_t *ints; /* scratch for integer lists */
  size_t ints_cap;
} parser;

/* ---- errors -------------------------------------------------------------- */

static void error_at(parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void error_at(parser *p, int line, int col, const char *fmt, ...) {
  if (p->line_failed) return;
  p->line_failed = true;
  va_list ap;
  va_start(ap, fmt);
  fab_diag_vreport(p->d, FAB_SEV_ERROR, (fab_loc){p->file, line, col}, fmt, ap);
  va_end(ap);
}

static void lex_report(void *ctx, int line, int col, const char *msg) {
  error_at(ctx, line, col, "%s", msg);
}

/* Describes the current token for "expected X, got Y" messages. */
static const char *tok_desc(const token *t, char *buf, size_t n) {
  switch (t->kind) {
  case T_EOF: return "end of file";
  case T_NL: return "end of line";
  case T_PUNCT: snprintf(buf, n, "'%c'", t->punct); return buf;
  case T_IDENT:
  case T_VALUE:
  case T_INT:
  case T_FLOAT: snprintf(buf, n, "'%.*s'", t->len > 32 ? 32 : (int)t->len, t->start); return buf;
  case T_STRING: return "a string";
  case T_AT: return "an @name";
  case T_BAD: return "an invalid token";
  }
  return "?";
}

static bool expected(parser *p, const char *what) {
  char buf[48];
  if (p->lx.tok.kind != T_BAD)
    error_at(p, p->lx.tok.line, p->lx.tok.col, "expected %s, got %s", what,
             tok_desc(&p->lx.tok, buf, sizeof buf));
  p->line_failed = true;
  return false;
}

/* ---- token helpers ------------------------------------------------------- */

static void next(parser *p) { lex_next(&p->lx); }
static token *tok(parser *p) { return &p->lx.tok; }

static bool is_punct(parser *p, char c) { return tok(p)->kind == T_PUNCT && tok(p)->punct == c; }

static bool is_word(parser *p, const char *w) {
  size_t n = strlen(w);
  return tok(p)->kind == T_IDENT && tok(p)->len == n && memcmp(tok(p)->start, w, n) == 0;
}

static bool eat_punct(parser *p, char c) {
  char what[8] = {'\'', c, '\'', 0};
  if (!is_punct(p, c)) return expected(p, what);
  next(p);
  return true;
}

static bool at_line_end(parser *p) { return tok(p)->kind == T_NL || tok(p)->kind == T_EOF; }

static bool end_line(parser *p) { return at_line_end(p) ? true : expected(p, "end of line"); }

/* Skips the rest of a failed line; the next line starts fresh. */
static void skip_line(parser *p) {
  while (!at_line_end(p)) next(p);
}

/* Resets the per-line state before lexing the next line's first token, so
 * that a lexical error there is reported. */
static void new_line(parser *p) {
  p->line_failed = false;
  p->poisoned = false;
  if (tok(p)->kind == T_NL) next(p);
}

static void skip_blank_lines(parser *p) {
  while (tok(p)->kind == T_NL) new_line(p);
}

static char *arena_string(parser *p) {
  char *s = fab_arena_strndup(p->m->arena, p->lx.sbuf ? p->lx.sbuf : "", p->lx.slen);
  if (!s) fab_out_of_memory(__FILE__, __LINE__);
  return s;
}

/* @name or @"name"; the result lives in the module arena. */
static char *parse_at_name(parser *p) {
  if (tok(p)->kind != T_AT) return expected(p, "'@' and a name"), NULL;
  char *s = arena_string(p);
  next(p);
  return s;
}

/* A number for param initialisers: integer or float token, inf or nan. */
static bool parse_number(parser *p, double *v) {
  if (tok(p)->kind == T_INT || tok(p)->kind == T_FLOAT) *v = tok(p)->f;
  else if (is_word(p, "inf")) *v = (double)INFINITY;
  else if (is_word(p, "nan")) *v = (double)NAN;
  else return expected(p, "a number");
  next(p);
  return true;
}

static bool parse_int(parser *p, int64_t *v) {
  if (tok(p)->kind != T_INT) return expected(p, "an integer");
  if (tok(p)->overflow) {
    error_at(p, tok(p)->line, tok(p)->col, "integer %.*s does not fit in 64 bits",
             tok(p)->len > 40 ? 40 : (int)tok(p)->len, tok(p)->start);
    return false;
  }
  *v = tok(p)->i;
  next(p);
  return true;
}

/* TYPE := (f32|i32|c64) '[' (dim (',' dim)*)? ']' */
static bool parse_type(parser *p, fab_type *t) {
  static const char *names_[] = {"f32", "i32", "c64"};
  memset(t, 0, sizeof *t);
  int dt = -1;
  for (int i = 0; i < FAB_DTYPE_COUNT; i++)
    if (is_word(p, names_[i])) dt = i;
  if (dt < 0) return expected(p, "a type (f32, i32 or c64)");
  t->dtype = (fab_dtype)dt;
  next(p);
  if (!eat_punct(p, '[')) return false;
  if (!is_punct(p, ']')) {
    for (;;) {
      int line = tok(p)->line, col = tok(p)->col;
      int64_t dim = 0;
      if (!parse_int(p, &dim)) return false;
      if (t->rank == FAB_MAX_RANK) {
        error_at(p, line, col, "type has more than %d dimensions", FAB_MAX_RANK);
        return false;
      }
      if (dim < 1) {
        error_at(p, line, col, "dimension %lld must be >= 1", (long long)dim);
        return false;
      }
      t->dims[t->rank++] = dim;
      if (fab_type_numel(t) < 0) {
        error_at(p, line, col, "type has more than %lld elements", (long long)FAB_MAX_ELEMENTS);
        return false;
      }
      if (!is_punct(p, ',')) break;
      next(p);
    }
  }
  return eat_punct(p, ']');
}

/* ---- value names ----------------------------------------------------------- */

static size_t hash_name(const char *s, size_t n) {
  size_t h = 1469598103934665603u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

static void names_clear(names *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->slots[i].name);
  free(t->slots);
  memset(t, 0, sizeof *t);
}

static slot *names_find(names *t, const char *s, size_t n) {
  if (!t->cap) return NULL;
  for (size_t i = hash_name(s, n) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    slot *sl = &t->slots[i];
    if (!sl->name) return sl;
    if (strlen(sl->name) == n && memcmp(sl->name, s, n) == 0) return sl;
  }
}

static void names_put(names *t, const char *s, size_t n, int index) {
  if ((t->count + 1) * 2 > t->cap) {
    names old = *t;
    t->cap = old.cap ? old.cap * 2 : 64;
    t->slots = fab_calloc(t->cap, sizeof(slot));
    if (!t->slots) {
      *t = old; /* the table stays whole for the cleanup */
      fab_out_of_memory(__FILE__, __LINE__);
    }
    t->count = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.slots[i].name) {
        *names_find(t, old.slots[i].name, strlen(old.slots[i].name)) = old.slots[i];
        t->count++;
      }
    free(old.slots);
  }
  slot *sl = names_find(t, s, n);
  if (!sl->name) {
    sl->name = fab_malloc(n + 1);
    if (!sl->name) fab_out_of_memory(__FILE__, __LINE__);
    memcpy(sl->name, s, n);
    sl->name[n] = 0;
    t->count++;
  }
  sl->index = index;
}

/* ---- ops ------------------------------------------------------------------ */

typedef struct pending_attr {
  char *key;
  fab_attr_kind kind;
  int64_t i;
  double f;
  char *s;
  int64_t *ints;
  int nints;
} pending_attr;

/* '[' (int (',' int)*)? ']' into the module arena */
static bool parse_int_list(parser *p, pending_attr *a) {
  size_t n = 0;
  next(p); /* '[' */
  if (!is_punct(p, ']')) {
    for (;;) {
      if (n == MAX_INTS) {
        error_at(p, tok(p)->line, tok(p)->col, "integer list longer than %d", MAX_INTS);
        return false;
      }
      if (n == p->ints_cap) {
        size_t cap = p->ints_cap ? p->ints_cap * 2 : 64;
        int64_t *v = fab_realloc(p->ints, cap * sizeof *v);
        if (!v) {
          error_at(p, tok(p)->line, tok(p)->col, "out of memory");
          return false;
        }
        p->ints = v;
        p->ints_cap = cap;
      }
      if (!parse_int(p, &p->ints[n])) return false;
      n++;
      if (!is_punct(p, ',')) break;
      next(p);
    }
  }
  if (!eat_punct(p, ']')) return false;
  a->kind = FAB_ATTR_INTS;
  a->nints = (int)n;
  a->ints = fab_arena_alloc(p->m->arena, sizeof(int64_t) * (n ? n : 1));
  if (!a->ints) {
    error_at(p, tok(p)->line, tok(p)->col, "out of memory");
    return false;
  }
  if (n) memcpy(a->ints, p->ints, n * sizeof(int64_t));
  return true;
}

/* ATTRS := '{' (key '=' value (',' key '=' value)*)? '}' */
static bool parse_attrs(parser *p, pending_attr *attrs, int *nattrs) {
  next(p); /* '{' */
  if (is_punct(p, '}')) {
    next(p);
    return true;
  }
  for (;;) {
    int line = tok(p)->line, col = tok(p)->col;
    char *key;
    if (tok(p)->kind == T_IDENT) key = fab_arena_strndup(p->m->arena, tok(p)->start, tok(p)->len);
    else if (tok(p)->kind == T_STRING) key = arena_string(p);
    else return expected(p, "an attribute name");
    next(p);
    for (int i = 0; i < *nattrs; i++)
      if (strcmp(attrs[i].key, key) == 0) {
        error_at(p, line, col, "duplicate attribute '%.100s'", key);
        return false;
      }
    if (*nattrs == MAX_ATTRS) {
      error_at(p, line, col, "more than %d attributes", MAX_ATTRS);
      return false;
    }
    pending_attr *a = &attrs[(*nattrs)++];
    memset(a, 0, sizeof *a);
    a->key = key;
    if (!eat_punct(p, '=')) return false;
    if (tok(p)->kind == T_INT) {
      a->kind = FAB_ATTR_INT;
      if (!parse_int(p, &a->i)) return false;
    } else if (tok(p)->kind == T_FLOAT || is_word(p, "inf") || is_word(p, "nan")) {
      a->kind = FAB_ATTR_FLOAT;
      if (!parse_number(p, &a->f)) return false;
    } else if (tok(p)->kind == T_STRING) {
      a->kind = FAB_ATTR_STR;
      a->s = arena_string(p);
      next(p);
    } else if (is_punct(p, '[')) {
      if (!parse_int_list(p, a)) return false;
    } else {
      return expected(p, "an attribute value");
    }
    if (is_punct(p, '}')) break;
    if (!eat_punct(p, ',')) return false;
  }
  next(p); /* '}' */
  return true;
}

/* loc("file":LINE:COL) */
static bool parse_loc(parser *p, fab_loc *loc) {
  next(p); /* 'loc' */
  if (!eat_punct(p, '(')) return false;
  if (tok(p)->kind != T_STRING) return expected(p, "a file name string");
  loc->file = arena_string(p);
  next(p);
  int64_t line, col;
  if (!eat_punct(p, ':') || !parse_int(p, &line) || !eat_punct(p, ':') || !parse_int(p, &col))
    return false;
  if (line < 0 || line > INT32_MAX || col < 0 || col > INT32_MAX)
    return expected(p, "a line and column in range");
  loc->line = (int)line;
  loc->col = (int)col;
  return eat_punct(p, ')');
}

/* Looks up %name; false (reported, or silent if poisoned) when unknown. */
static bool resolve(parser *p, int *index) {
  const token *t = tok(p);
  slot *sl = names_find(&p->vals, t->start + 1, t->len - 1);
  if (!sl || !sl->name) {
    error_at(p, t->line, t->col, "undefined value %.*s", (int)t->len, t->start);
    return false;
  }
  if (sl->index == POISONED) {
    p->poisoned = true;
    p->line_failed = true;
    return false;
  }
  *index = sl->index;
  next(p);
  return true;
}

/* Builds the op, infers its type and checks it against the printed one. */
static void build_op(parser *p, fab_func *f, fab_opcode code, const int *operands, int nops,
                     const pending_attr *attrs, int nattrs, const fab_type *type, bool has_type,
                     fab_loc loc, fab_loc here) {
  int idx = fab_func_append(p->m, f, code, operands, nops, loc);
  fab_op *op = &f->ops[idx];
  for (int i = 0; i < nattrs; i++) {
    const pending_attr *a = &attrs[i];
    switch (a->kind) {
    case FAB_ATTR_INT: fab_op_set_int(p->m, op, a->key, a->i); break;
    case FAB_ATTR_FLOAT: fab_op_set_float(p->m, op, a->key, a->f); break;
    case FAB_ATTR_STR: fab_op_set_str(p->m, op, a->key, a->s); break;
    case FAB_ATTR_INTS: fab_op_set_ints(p->m, op, a->key, a->ints, a->nints); break;
    }
  }
  if (has_type) op->type = *type;
  char err[512];
  fab_op probe = *op;
  if (!fab_infer_op(p->m, f, &probe, err, sizeof err)) {
    error_at(p, here.line, here.col, "%s", err);
    return;
  }
  if (!has_type) {
    op->type = probe.type;
  } else if (!fab_type_equal(&probe.type, &op->type)) {
    char a[160], b[160];
    error_at(p, here.line, here.col, "%s: printed type %s but the inferred type is %s",
             fab_opinfos[code].name, fab_type_str(&op->type, a, sizeof a),
             fab_type_str(&probe.type, b, sizeof b));
  }
}

/* OP := (%name '=')? opname (%v (',' %v)*)? ATTRS? (':' TYPE)? LOC? */
static void parse_op(parser *p, fab_func *f) {
  fab_loc here = {p->file, tok(p)->line, tok(p)->col};
  const char *rname = NULL;
  size_t rlen = 0;
  if (tok(p)->kind == T_VALUE) {
    rname = tok(p)->start + 1;
    rlen = tok(p)->len - 1;
    slot *sl = names_find(&p->vals, rname, rlen);
    if (sl && sl->name) {
      error_at(p, here.line, here.col, "value %%%.*s is already defined", (int)rlen, rname);
      return;
    }
    next(p);
    if (!eat_punct(p, '=')) goto fail;
  }
  if (tok(p)->kind != T_IDENT) {
    expected(p, rname ? "an op name" : "an op or '}'");
    goto fail;
  }
  fab_loc opname_at = {p->file, tok(p)->line, tok(p)->col};
  char opname[48];
  snprintf(opname, sizeof opname, "%.*s", tok(p)->len > 40 ? 40 : (int)tok(p)->len, tok(p)->start);
  int code = tok(p)->len > 40 ? -1 : fab_opcode_lookup(opname);
  if (code < 0) {
    error_at(p, opname_at.line, opname_at.col, "unknown op '%s'", opname);
    goto fail;
  }
  bool noresult = fab_opinfos[code].flags & FAB_OPF_NORESULT;
  if (noresult && rname) {
    error_at(p, here.line, here.col, "'%s' has no result to name", opname);
    goto fail;
  }
  if (!noresult && !rname) {
    error_at(p, here.line, here.col, "'%s' needs a result: %%N = %s ...", opname, opname);
    goto fail;
  }
  next(p);
  int operands[MAX_OPERANDS], nops = 0;
  if (tok(p)->kind == T_VALUE) {
    for (;;) {
      if (nops == MAX_OPERANDS) {
        error_at(p, tok(p)->line, tok(p)->col, "more than %d operands", MAX_OPERANDS);
        goto fail;
      }
      if (tok(p)->kind != T_VALUE) {
        expected(p, "a %value");
        goto fail;
      }
      if (!resolve(p, &operands[nops++])) goto fail;
      if (!is_punct(p, ',')) break;
      next(p);
    }
  }
  pending_attr attrs[MAX_ATTRS];
  int nattrs = 0;
  if (is_punct(p, '{') && !parse_attrs(p, attrs, &nattrs)) goto fail;
  fab_type type = {0};
  if (!noresult) {
    if (!eat_punct(p, ':') || !parse_type(p, &type)) goto fail;
  }
  fab_loc loc = here;
  if (is_word(p, "loc") && !parse_loc(p, &loc)) goto fail;
  if (!end_line(p)) goto fail;
  if (rname) names_put(&p->vals, rname, rlen, f->nops);
  build_op(p, f, (fab_opcode)code, operands, nops, attrs, nattrs, &type, !noresult, loc, here);
  return;
fail:
  if (rname) names_put(&p->vals, rname, rlen, POISONED);
}

/* FUNC := 'func' @name '{' NL (OP NL)* '}' */
static void parse_func(parser *p) {
  int line = tok(p)->line, col = tok(p)->col;
  next(p); /* 'func' */
  char *name = parse_at_name(p);
  if (!name || !eat_punct(p, '{') || !end_line(p)) {
    skip_line(p);
    name = NULL;
  }
  fab_func *f = NULL;
  if (name && fab_module_find_func(p->m, name)) {
    error_at(p, line, col, "function @%.100s is already defined", name);
  } else if (name) {
    f = fab_module_add_func(p->m, name);
  }
  if (!f) f = fab_module_add_func(p->m, ""); /* keep parsing the body for errors */
  names_clear(&p->vals);
  new_line(p);
  for (;;) {
    skip_blank_lines(p);
    if (tok(p)->kind == T_EOF) {
      error_at(p, tok(p)->line, tok(p)->col, "missing '}' at the end of function @%.100s",
               f->name);
      return;
    }
    if (is_punct(p, '}')) {
      next(p);
      if (!end_line(p)) skip_line(p);
      new_line(p);
      return;
    }
    if (is_word(p, "func") || is_word(p, "param")) {
      error_at(p, tok(p)->line, tok(p)->col, "missing '}' before '%s'",
               is_word(p, "func") ? "func" : "param");
      p->line_failed = false;
      return;
    }
    parse_op(p, f);
    skip_line(p);
    new_line(p);
  }
}

/* PARAM := 'param' @name ':' TYPE '=' INIT */
static void parse_param(parser *p) {
  fab_loc here = {p->file, tok(p)->line, tok(p)->col};
  next(p); /* 'param' */
  char *name = parse_at_name(p);
  fab_type type;
  fab_init init = {FAB_INIT_ZEROS, 0, 0};
  if (!name || !eat_punct(p, ':') || !parse_type(p, &type) || !eat_punct(p, '=')) return;
  if (is_word(p, "zeros") || is_word(p, "ones")) {
    init.kind = is_word(p, "zeros") ? FAB_INIT_ZEROS : FAB_INIT_ONES;
    next(p);
  } else if (is_word(p, "uniform") || is_word(p, "normal")) {
    init.kind = is_word(p, "uniform") ? FAB_INIT_UNIFORM : FAB_INIT_NORMAL;
    next(p);
    if (!eat_punct(p, '(') || !parse_number(p, &init.a) || !eat_punct(p, ',') ||
        !parse_number(p, &init.b) || !eat_punct(p, ')'))
      return;
  } else {
    expected(p, "zeros, ones, uniform(a, b) or normal(mean, std)");
    return;
  }
  if (!end_line(p) || p->line_failed) return;
  if (fab_module_find_param(p->m, name) >= 0) {
    error_at(p, here.line, here.col, "parameter \"%.100s\" is already declared", name);
    return;
  }
  fab_module_add_param(p->m, name, type, init, here, p->d);
}

/* MODULE := 'module' @name NL (PARAM NL)* (FUNC NL)+ */
static void parse_top(parser *p) {
  skip_blank_lines(p);
  if (!is_word(p, "module")) {
    expected(p, "'module @name'");
    skip_line(p);
  } else {
    next(p);
    char *name = parse_at_name(p);
    if (name && end_line(p)) p->m->name = name;
    skip_line(p);
  }
  new_line(p);
  for (;;) {
    skip_blank_lines(p);
    if (tok(p)->kind == T_EOF) break;
    if (is_word(p, "param")) {
      if (p->m->nfuncs)
        error_at(p, tok(p)->line, tok(p)->col, "params must come before the first func");
      parse_param(p);
    } else if (is_word(p, "func")) {
      parse_func(p);
      continue;
    } else if (is_word(p, "module")) {
      error_at(p, tok(p)->line, tok(p)->col, "a file holds one module");
    } else {
      expected(p, "'param' or 'func'");
    }
    skip_line(p);
    new_line(p);
  }
  if (p->m->nfuncs == 0)
    error_at(p, tok(p)->line, tok(p)->col, "the module has no func");
}

/* Lexes and parses into p; false when memory ran out (ir.h's guard). */
static bool parse_guarded(parser *p, const char *file, const char *text, size_t len) {
  fab_oom_guard g;
  if (setjmp(g.jb)) {
    fab_oom_pop(&g);
    return false;
  }
  fab_oom_push(&g);
  p->file = fab_arena_strdup(p->m->arena, file);
  lex_init(&p->lx, p->file, text, len);
  p->lx.report = lex_report;
  p->lx.ctx = p;
  next(p);
  parse_top(p);
  fab_oom_pop(&g);
  return true;
}

fab_module *fab_parse_module(const char *file, const char *text, size_t len, fab_diag *d) {
  if (!file) file = "<input>";
  if (!text) {
    text = "";
    len = 0;
  }
  fab_diag_add_source(d, file, text, len);
  int errors_before = fab_diag_error_count(d);
  /* On the heap: out of memory below longjmps back here (ir.h), and the
   * parser's state must still be there to be freed. */
  parser *p = fab_calloc(1, sizeof *p);
  if (p) p->d = d, p->m = fab_module_new("model");
  if (!p || !p->m) {
    free(p);
    fab_error(d, (fab_loc){0}, "out of memory");
    return NULL;
  }
  bool parsed = parse_guarded(p, file, text, len);
  lex_free(&p->lx);
  names_clear(&p->vals);
  free(p->ints);
  if (!parsed) {
    fab_module_free(p->m);
    free(p);
    fab_error(d, (fab_loc){0}, "out of memory while reading '%s'", file);
    return NULL;
  }
  fab_module *m = p->m;
  free(p);
  if (fab_diag_error_count(d) != errors_before) {
    fab_module_free(m);
    return NULL;
  }
  return m;
}
