/* elaborate.c — from syntax tree to high-level IR.
 *
 * Elaboration is evaluation: dims are integers computed once, blocks are
 * instantiated by running their bodies with the arguments bound (every
 * `repeat` unrolled), and each layer call appends its weights and op to
 * the one function "main".  Errors leave a poison value (V_ERROR) that
 * every consumer passes on silently, so each mistake is reported once.
 * Scopes, expressions, blocks and the model live here; building ops and
 * parameters is in build.c, `choose` and `select` (supernet edges) in
 * choose.c, the layers in builtins.c. */
#include "elab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const value poison = {.kind = V_ERROR};
static const fab_loc noloc = {0};

const char *vkind_name(vkind k) {
  switch (k) {
  case V_INT: return "an integer";
  case V_FLOAT: return "a number";
  case V_STR: return "a string";
  case V_TENSOR: return "a tensor";
  default: return "an invalid value";
  }
}

value elab_tensor(int op, fab_type t) {
  return (value){.kind = op < 0 ? V_ERROR : V_TENSOR, .op = op, .type = t};
}

/* ---- scopes ------------------------------------------------------------ */

static scope *scope_new(elab *e, scope *parent, bool frame) {
  scope *s = ast_new(e->tmp, sizeof *s);
  s->parent = parent;
  s->frame = frame;
  return s;
}

static binding *scope_find1(const scope *s, const char *name) {
  for (binding *b = s->names; b; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  return NULL;
}

/* Looks `name` up from `s` outwards; with `frame_only`, stops after the
 * innermost frame (block-local names only). */
static binding *scope_find(const scope *s, const char *name, bool frame_only) {
  for (; s; s = s->parent) {
    binding *b = scope_find1(s, name);
    if (b) return b;
    if (frame_only && s->frame) break;
  }
  return NULL;
}

static void scope_bind(elab *e, scope *s, const char *name, value v, fab_loc loc) {
  binding *b = ast_new(e->tmp, sizeof *b);
  b->name = name;
  b->v = v;
  b->loc = loc;
  b->next = s->names;
  s->names = b;
}

/* `name = v`: rebinds a local found up to the frame, else binds in `s`. */
static void assign(elab *e, scope *s, const char *name, value v, fab_loc loc) {
  binding *b = scope_find(s, name, true);
  if (b) {
    b->v = v;
    return;
  }
  if (scope_find1(e->globals, name)) {
    fab_error(e->d, loc, "cannot assign to dim '%s'", name);
    return;
  }
  scope_bind(e, s, name, v, loc);
}

/* ---- expressions ---------------------------------------------------------- */

static bool int_arith(elab *e, fab_loc loc, int op, int64_t a, int64_t b, int64_t *r) {
  bool ovf = false;
  switch (op) {
  case '+': ovf = __builtin_add_overflow(a, b, r); break;
  case '-': ovf = __builtin_sub_overflow(a, b, r); break;
  case '*': ovf = __builtin_mul_overflow(a, b, r); break;
  case '/':
  case '%':
    if (b == 0) {
      fab_error(e->d, loc, "division by zero");
      return false;
    }
    if (a == INT64_MIN && b == -1) {
      ovf = true;
      break;
    }
    *r = op == '/' ? a / b : a % b;
    break;
  }
  if (ovf) fab_error(e->d, loc, "integer overflow");
  return !ovf;
}

/* Tensor `+` (add) and `*` (mul): equal shapes, or one shape a suffix of
 * the other (the smaller operand is broadcast over leading rows). */
static value tensor_binary(elab *e, const ast_expr *x, value a, value b) {
  char sa[160], sb[160];
  if (x->op != '+' && x->op != '*') {
    fab_error(e->d, x->loc, "operator '%c' is not defined on tensors (only + and *)", x->op);
    return poison;
  }
  if (a.type.dtype != FAB_F32 || b.type.dtype != FAB_F32) {
    fab_error(e->d, x->loc, "operator '%c' needs f32 tensors, got %s and %s", x->op,
              fab_type_str(&a.type, sa, sizeof sa), fab_type_str(&b.type, sb, sizeof sb));
    return poison;
  }
  if (b.type.rank > a.type.rank) {
    value t = a;
    a = b;
    b = t;
  }
  int off = a.type.rank - b.type.rank;
  for (int i = 0; i < b.type.rank; i++)
    if (a.type.dims[off + i] != b.type.dims[i]) {
      fab_error(e->d, x->loc, "shape mismatch: %s %c %s", fab_type_str(&a.type, sa, sizeof sa),
                x->op, fab_type_str(&b.type, sb, sizeof sb));
      return poison;
    }
  int ops[2] = {a.op, b.op};
  int idx = elab_emit(e, x->op == '+' ? FAB_OP_ADD : FAB_OP_MUL, ops, 2, x->loc, a.type, NULL,
                      NULL, 0);
  return elab_tensor(idx, a.type);
}

static value binary(elab *e, scope *s, const ast_expr *x) {
  value a = elab_expr(e, s, x->lhs);
  value b = elab_expr(e, s, x->rhs);
  if (a.kind == V_ERROR || b.kind == V_ERROR) return poison;
  if (a.kind == V_INT && b.kind == V_INT) {
    value r = {.kind = V_INT};
    return int_arith(e, x->loc, x->op, a.i, b.i, &r.i) ? r : poison;
  }
  if (a.kind == V_TENSOR && b.kind == V_TENSOR) return tensor_binary(e, x, a, b);
  bool na = a.kind == V_INT || a.kind == V_FLOAT, nb = b.kind == V_INT || b.kind == V_FLOAT;
  if (na && nb && x->op != '%') {
    double p = a.kind == V_INT ? (double)a.i : a.f, q = b.kind == V_INT ? (double)b.i : b.f;
    value r = {.kind = V_FLOAT};
    switch (x->op) {
    case '+': r.f = p + q; break;
    case '-': r.f = p - q; break;
    case '*': r.f = p * q; break;
    default:
      if (q == 0) {
        fab_error(e->d, x->loc, "division by zero");
        return poison;
      }
      r.f = p / q;
    }
    return r;
  }
  fab_error(e->d, x->loc, "operator '%c' cannot combine %s and %s", x->op, vkind_name(a.kind),
            vkind_name(b.kind));
  return poison;
}

static const ast_decl *find_block(const elab *e, const char *name) {
  for (int i = 0; e->blocks && i < e->blocks->n; i++) {
    const ast_decl *b = e->blocks->items[i];
    if (strcmp(b->name, name) == 0) return b;
  }
  return NULL;
}

static bool eval_dtype(elab *e, const ast_type *t, fab_dtype *dt) {
  if (strcmp(t->dtype, "f32") == 0) *dt = FAB_F32;
  else if (strcmp(t->dtype, "i32") == 0) *dt = FAB_I32;
  else {
    fab_error(e->d, t->loc, "unknown element type '%s' (expected f32 or i32)", t->dtype);
    return false;
  }
  if (t->dims->n > FAB_MAX_RANK) {
    fab_error(e->d, t->loc, "a tensor has at most %d dimensions", FAB_MAX_RANK);
    return false;
  }
  return true;
}

/* The leading axes `..` stands for when `v` meets `t` in frame `s`
 * (*nlead = 0 without `..`).  With `bind`, the first `..` binds them;
 * later ones (and the result's) must see the same axes. */
static bool match_leading(elab *e, scope *s, const ast_type *t, value v, bool bind, fab_loc loc,
                          const char *what, int *nlead) {
  char a[160], b[200];
  int ndims = t->dims->n;
  *nlead = 0;
  if (!t->leading) {
    if (v.type.rank == ndims) return true;
    char hint[240] = "";
    if (v.type.rank > ndims) {
      ast_type with = *t;
      with.leading = true;
      char c[200];
      snprintf(hint, sizeof hint, "; %s would take the leading axes", elab_pattern_text(&with, c, sizeof c));
    }
    fab_error(e->d, loc, "%s has type %s, expected %s (rank %d, not %d%s)", what,
              fab_type_str(&v.type, a, sizeof a), elab_pattern_text(t, b, sizeof b), ndims, v.type.rank,
              hint);
    return false;
  }
  if (v.type.rank < ndims) {
    fab_error(e->d, loc, "%s has type %s, expected %s (rank at least %d)", what,
              fab_type_str(&v.type, a, sizeof a), elab_pattern_text(t, b, sizeof b), ndims);
    return false;
  }
  int k = v.type.rank - ndims;
  if (!s->lead_bound) {
    if (!bind) {
      fab_error(e->d, t->loc, "`..` in the type of %s is unbound: no parameter type has `..`", what);
      return false;
    }
    s->lead_bound = true;
    s->nlead = k;
    for (int i = 0; i < k; i++) s->lead[i] = v.type.dims[i];
  }
  bool same = k == s->nlead;
  for (int i = 0; same && i < k; i++) same = v.type.dims[i] == s->lead[i];
  if (!same) {
    fab_type lead = {.dtype = v.type.dtype, .rank = s->nlead};
    for (int i = 0; i < s->nlead; i++) lead.dims[i] = s->lead[i];
    char c[160];
    fab_type_str(&lead, c, sizeof c);
    fab_error(e->d, loc, "%s has type %s, expected %s with `..` = %s (bound by an earlier parameter)",
              what, fab_type_str(&v.type, a, sizeof a), elab_pattern_text(t, b, sizeof b),
              strchr(c, '[') ? strchr(c, '[') : c);
    return false;
  }
  *nlead = k;
  return true;
}

/* Matches tensor `v` against the declared type `t`, evaluated in `s`.
 * With `bind`, a bare name not yet bound in the frame is a pattern: it is
 * bound to the actual size (`x: f32[s, d]` binds s and d), and a `..`
 * binds the leading axes (`x: f32[.., s, d]` takes [s, d] and [b, s, d]). */
static bool match_type(elab *e, scope *s, const ast_type *t, value v, bool bind, fab_loc loc,
                       const char *what) {
  fab_dtype dt;
  int nlead;
  if (!eval_dtype(e, t, &dt)) return false;
  if (!match_leading(e, s, t, v, bind, loc, what, &nlead)) return false;
  fab_type want = {.dtype = dt, .rank = nlead + t->dims->n};
  for (int i = 0; i < nlead; i++) want.dims[i] = v.type.dims[i];
  bool ok = true;
  for (int i = 0; i < t->dims->n; i++) {
    const ast_expr *x = t->dims->items[i];
    int at = nlead + i;
    if (bind && x->kind == E_NAME && !scope_find(s, x->s, true)) {
      int64_t k = v.type.dims[at];
      scope_bind(e, s, x->s, (value){.kind = V_INT, .i = k}, x->loc);
      want.dims[at] = k;
      continue;
    }
    value d = elab_expr(e, s, x);
    if (d.kind == V_INT) want.dims[at] = d.i;
    else {
      if (d.kind != V_ERROR)
        fab_error(e->d, x->loc, "a dimension must be an integer, got %s", vkind_name(d.kind));
      ok = false;
    }
  }
  if (!ok) return false;
  if (!fab_type_equal(&want, &v.type)) {
    char a[160], b[160], c[200];
    if (t->leading)
      fab_error(e->d, loc, "%s has type %s, expected %s (%s)", what, fab_type_str(&v.type, a, sizeof a),
                fab_type_str(&want, b, sizeof b), elab_pattern_text(t, c, sizeof c));
    else
      fab_error(e->d, loc, "%s has type %s, expected %s", what, fab_type_str(&v.type, a, sizeof a),
                fab_type_str(&want, b, sizeof b));
    return false;
  }
  return true;
}

/* Evaluates a declared type (model inputs and outputs) in `s`. */
static bool eval_type(elab *e, scope *s, const ast_type *t, fab_type *out) {
  fab_dtype dt;
  if (!eval_dtype(e, t, &dt)) return false;
  if (t->leading) {
    fab_error(e->d, t->loc,
              "a model's inputs and outputs have a fixed shape per sample: drop `..` (a batch of "
              "samples is a leading axis given at run time)");
    return false;
  }
  *out = (fab_type){.dtype = dt, .rank = t->dims->n};
  bool ok = true;
  for (int i = 0; i < out->rank; i++) {
    const ast_expr *x = t->dims->items[i];
    value d = elab_expr(e, s, x);
    if (d.kind == V_INT) out->dims[i] = d.i;
    else {
      if (d.kind != V_ERROR)
        fab_error(e->d, x->loc, "a dimension must be an integer, got %s", vkind_name(d.kind));
      ok = false;
    }
  }
  return ok && elab_check_type(e, t->loc, out);
}

bool elab_bind_args(elab *e, scope *s, const ast_expr *call, const char *what, int n,
                    const argspec *spec, value *out) {
  bool set[32] = {0}, ok = true;
  FAB_ASSERT(n <= 32);
  int pos = 0;
  for (int i = 0; call->args && i < call->args->n; i++) {
    const ast_arg *a = call->args->items[i];
    int k = -1;
    if (a->name) {
      for (int j = 0; j < n; j++)
        if (strcmp(spec[j].name, a->name) == 0) k = j;
      if (k < 0) {
        fab_error(e->d, a->loc, "%s has no parameter named '%s'", what, a->name);
        ok = false;
        continue;
      }
    } else {
      k = pos++;
      if (k >= n) {
        fab_error(e->d, a->loc, "too many arguments to %s (it takes %d)", what, n);
        ok = false;
        break;
      }
    }
    if (set[k]) {
      fab_error(e->d, a->loc, "argument '%s' of %s is given twice", spec[k].name, what);
      ok = false;
      continue;
    }
    set[k] = true;
    value v = elab_expr(e, s, a->value);
    if (v.kind == V_ERROR) {
      ok = false;
      continue;
    }
    if (spec[k].kind == V_FLOAT && v.kind == V_INT) v = (value){.kind = V_FLOAT, .f = (double)v.i};
    if (spec[k].kind != V_ERROR && v.kind != spec[k].kind) {
      fab_error(e->d, a->value->loc, "argument '%s' of %s must be %s, got %s", spec[k].name, what,
                vkind_name(spec[k].kind), vkind_name(v.kind));
      ok = false;
      continue;
    }
    out[k] = v;
  }
  for (int j = 0; j < n; j++) {
    if (set[j]) continue;
    if (spec[j].required) {
      fab_error(e->d, call->loc, "%s: missing argument '%s'", what, spec[j].name);
      ok = false;
    }
    out[j] = spec[j].dflt;
  }
  return ok;
}

static void exec_stmts(elab *e, scope *s, const ast_list *body, value *ret);

/* A dim parameter's default (`increasing: dim = 1`), evaluated over the
 * global dims like any declaration at the top level. */
static bool block_default(elab *e, const ast_param *p, const char *what, argspec *spec) {
  value v = elab_expr(e, e->globals, p->dflt);
  if (v.kind == V_ERROR) return false;
  if (v.kind != V_INT) {
    fab_error(e->d, p->dflt->loc, "the default of '%s' in %s must be an integer, got %s", p->name,
              what, vkind_name(v.kind));
    return false;
  }
  spec->required = false;
  spec->dflt = v;
  return true;
}

/* Instantiates block `b` for `call`: binds the arguments in a new frame
 * over the globals, runs the body under the call's instance prefix and
 * checks the returned tensor against the declared result type. */
static value call_block(elab *e, scope *s, const ast_decl *b, const ast_expr *call) {
  /* A block that failed once would repeat the same messages for every
   * other instance (a `repeat` of 24 layers): report the first only. */
  for (int i = 0; e->failed && i < e->failed->n; i++)
    if (e->failed->items[i] == b) return poison;
  for (int i = 0; i < e->depth; i++)
    if (e->stack[i] == b) {
      fab_error(e->d, call->loc, "block '%s' instantiates itself (recursion is not allowed)",
                b->name);
      return poison;
    }
  if (e->depth == FAB_FE_MAX_CALL_DEPTH) {
    fab_error(e->d, call->loc, "blocks nested too deeply (more than %d levels)",
              FAB_FE_MAX_CALL_DEPTH);
    return poison;
  }
  int n = b->params ? b->params->n : 0;
  const char *what = fab_arena_printf(e->tmp, "block '%s'", b->name);
  if (n > 32) {
    fab_error(e->d, b->loc, "%s has more than 32 parameters", what);
    return poison;
  }
  argspec spec[32];
  value args[32];
  for (int i = 0; i < n; i++) {
    const ast_param *p = b->params->items[i];
    spec[i] = (argspec){p->name, p->type ? V_TENSOR : V_INT, true, poison};
    if (p->dflt && !block_default(e, p, what, &spec[i])) return poison;
  }
  if (!elab_bind_args(e, s, call, what, n, spec, args)) return poison;
  const char *prefix = elab_path(e, s, call, NULL);
  if (!prefix) return poison;
  scope *fr = scope_new(e, e->globals, true);
  for (int i = 0; i < n; i++) {
    const ast_param *p = b->params->items[i];
    if (p->type) {
      const char *w = fab_arena_printf(e->tmp, "argument '%s' of %s", p->name, what);
      if (!match_type(e, fr, p->type, args[i], true, call->loc, w)) return poison;
    }
    scope_bind(e, fr, p->name, args[i], p->loc);
  }
  const char *saved = e->prefix;
  int errors = fab_diag_error_count(e->d);
  e->prefix = prefix;
  e->stack[e->depth++] = b;
  value r = poison;
  exec_stmts(e, fr, b->body, &r);
  e->depth--;
  e->prefix = saved;
  if (fab_diag_error_count(e->d) != errors) {
    /* Like a C++ "required from here": where the failing instance is. */
    if (prefix[0])
      fab_note(e->d, call->loc, "in block '%s' instantiated here as '%s'", b->name, prefix);
    else
      fab_note(e->d, call->loc, "in block '%s' instantiated here", b->name);
    ast_push(e->tmp, &e->failed, (void *)b);
    return poison;
  }
  if (r.kind == V_ERROR) return poison;
  const char *w = fab_arena_printf(e->tmp, "the result of %s", what);
  if (!match_type(e, fr, b->ret, r, false, call->loc, w)) return poison;
  return r;
}

value elab_expr(elab *e, scope *s, const ast_expr *x) {
  if (e->stop) return poison;
  switch (x->kind) {
  case E_INT: return (value){.kind = V_INT, .i = x->i};
  case E_FLOAT: return (value){.kind = V_FLOAT, .f = x->f};
  case E_STR: return (value){.kind = V_STR, .s = x->s};
  case E_NAME: {
    const binding *b = scope_find(s, x->s, false);
    if (b) return b->v;
    if (find_block(e, x->s) || builtin_find(x->s))
      fab_error(e->d, x->loc, "'%s' is a layer or block: call it as %s(...)", x->s, x->s);
    else fab_error(e->d, x->loc, "unknown name '%s'", x->s);
    return poison;
  }
  case E_NEG: {
    value v = elab_expr(e, s, x->lhs);
    if (v.kind == V_INT && v.i != INT64_MIN) return (value){.kind = V_INT, .i = -v.i};
    if (v.kind == V_FLOAT) return (value){.kind = V_FLOAT, .f = -v.f};
    if (v.kind == V_INT) fab_error(e->d, x->loc, "integer overflow");
    else if (v.kind != V_ERROR) fab_error(e->d, x->loc, "cannot negate %s", vkind_name(v.kind));
    return poison;
  }
  case E_BINARY: return binary(e, s, x);
  case E_CHOOSE: return elab_choose(e, s, x);
  case E_CALL: {
    const builtin *bi = builtin_find(x->s);
    if (bi) return builtin_call(e, s, bi, x);
    const ast_decl *b = find_block(e, x->s);
    if (b) return call_block(e, s, b, x);
    fab_error(e->d, x->loc, "unknown layer or block '%s'", x->s);
    return poison;
  }
  }
  return poison;
}

/* ---- statements ----------------------------------------------------------- */

static void exec_repeat(elab *e, scope *s, const ast_stmt *st, value *ret) {
  value lo = elab_expr(e, s, st->value), hi = elab_expr(e, s, st->hi);
  if (lo.kind == V_ERROR || hi.kind == V_ERROR) return;
  if (lo.kind != V_INT || hi.kind != V_INT) {
    fab_error(e->d, st->loc, "repeat bounds must be integers, got %s and %s", vkind_name(lo.kind),
              vkind_name(hi.kind));
    return;
  }
  if (lo.i < 0 || lo.i > hi.i) {
    fab_error(e->d, st->loc, "bad repeat range %lld..%lld (need 0 <= start <= end)",
              (long long)lo.i, (long long)hi.i);
    return;
  }
  if (hi.i - lo.i > FAB_FE_MAX_REPEAT) {
    fab_error(e->d, st->loc, "repeat of %lld iterations is too long (the limit is %d)",
              (long long)(hi.i - lo.i), FAB_FE_MAX_REPEAT);
    return;
  }
  for (int64_t i = lo.i; i < hi.i && !e->stop; i++) {
    scope *in = scope_new(e, s, false);
    scope_bind(e, in, st->name, (value){.kind = V_INT, .i = i}, st->loc);
    exec_stmts(e, in, st->body, ret);
  }
}

/* Runs a statement list; `return` (checked to be last by check_body)
 * stores its value in *ret. */
static void exec_stmts(elab *e, scope *s, const ast_list *body, value *ret) {
  for (int i = 0; body && i < body->n && !e->stop; i++) {
    const ast_stmt *st = body->items[i];
    if (++e->steps > FAB_FE_MAX_STEPS) {
      fab_error(e->d, st->loc, "model too large: more than %d statements after unrolling",
                FAB_FE_MAX_STEPS);
      e->stop = true;
      return;
    }
    switch (st->kind) {
    case S_ASSIGN: assign(e, s, st->name, elab_expr(e, s, st->value), st->loc); break;
    case S_RETURN: *ret = elab_expr(e, s, st->value); break;
    case S_REPEAT: exec_repeat(e, s, st, ret); break;
    }
  }
}

/* Static shape of a body: `return` only as the last statement of a block
 * (never in a model or a repeat), and a block must end with one. */
static bool check_body(elab *e, const ast_decl *d, const ast_list *body, bool top) {
  bool ok = true;
  for (int i = 0; body && i < body->n; i++) {
    const ast_stmt *st = body->items[i];
    if (st->kind == S_REPEAT) ok &= check_body(e, d, st->body, false);
    if (st->kind != S_RETURN) continue;
    if (d->kind == D_MODEL) {
      fab_error(e->d, st->loc, "`return` in a model: assign the outputs by name instead");
      ok = false;
    } else if (!top || i != body->n - 1) {
      fab_error(e->d, st->loc, "`return` must be the last statement of a block");
      ok = false;
    }
  }
  if (top && d->kind == D_BLOCK &&
      (!body || !body->n || ((const ast_stmt *)body->items[body->n - 1])->kind != S_RETURN)) {
    fab_error(e->d, d->end, "block '%s' must end with `return`", d->name);
    ok = false;
  }
  return ok;
}

/* Parameter names of a block or model must be distinct. */
static void check_params(elab *e, const ast_list *a, const ast_list *b) {
  int na = a ? a->n : 0, nb = b ? b->n : 0;
  for (int i = 0; i < na + nb; i++) {
    const ast_param *p = i < na ? a->items[i] : b->items[i - na];
    for (int j = 0; j < i; j++) {
      const ast_param *q = j < na ? a->items[j] : b->items[j - na];
      if (strcmp(p->name, q->name) == 0) {
        fab_error(e->d, p->loc, "'%s' is declared twice", p->name);
        break;
      }
    }
  }
}

/* ---- the program ---------------------------------------------------------- */

static bool declares_dim(const ast_list *decls, const char *name) {
  for (int i = 0; decls && i < decls->n; i++) {
    const ast_decl *d = decls->items[i];
    if (d->kind == D_DIM && strcmp(d->name, name) == 0) return true;
  }
  return false;
}

/* The value a dim takes instead of its default: the last `-D` of its name
 * (marked used), else the last `select dim` of its name, else none. */
static bool dim_override(const ast_list *decls, const ast_decl *dim, const fab_frontend_options *opt,
                         bool *define_used, int64_t *v) {
  int nd = opt ? opt->ndefines : 0, def = -1, sel = -1;
  for (int j = 0; j < nd; j++)
    if (strcmp(opt->defines[j].name, dim->name) == 0) {
      def = j; /* the last -D wins */
      if (j < 256) define_used[j] = true;
    }
  for (int i = 0; decls && i < decls->n; i++) {
    const ast_decl *d = decls->items[i];
    if (d->kind == D_SELECT_DIM && strcmp(d->name, dim->name) == 0) sel = i; /* the last one wins */
  }
  if (def >= 0) *v = opt->defines[def].value;
  else if (sel >= 0) *v = ((const ast_decl *)decls->items[sel])->dim_value;
  return def >= 0 || sel >= 0;
}

static void elab_dims(elab *e, const ast_list *decls, const fab_frontend_options *opt) {
  int nd = opt ? opt->ndefines : 0, ndecls = decls ? decls->n : 0;
  bool define_used[256] = {0};
  for (int i = 0; i < ndecls; i++) {
    const ast_decl *d = decls->items[i];
    if (d->kind != D_DIM) continue;
    const binding *old = scope_find1(e->globals, d->name);
    if (old) {
      fab_error(e->d, d->loc, "redefinition of dim '%s'", d->name);
      fab_note(e->d, old->loc, "previous definition is here");
      continue;
    }
    value v = poison;
    int64_t set;
    if (dim_override(decls, d, opt, define_used, &set)) {
      v = (value){.kind = V_INT, .i = set};
    } else {
      v = elab_expr(e, e->globals, d->value);
      if (v.kind != V_INT && v.kind != V_ERROR) {
        fab_error(e->d, d->value->loc, "dim '%s' must be an integer, got %s", d->name,
                  vkind_name(v.kind));
        v = poison;
      }
    }
    scope_bind(e, e->globals, d->name, v, d->loc);
  }
  for (int j = 0; j < nd && j < 256; j++)
    if (!define_used[j])
      fab_error(e->d, noloc, "-D %s: the program declares no dim of that name",
                opt->defines[j].name);
  for (int i = 0; i < ndecls; i++) {
    const ast_decl *d = decls->items[i];
    if (d->kind == D_SELECT_DIM && !declares_dim(decls, d->name))
      fab_error(e->d, d->loc, "select dim %s: the program declares no dim of that name", d->name);
  }
}

static void elab_model(elab *e, const ast_decl *md) {
  e->m->name = fab_arena_strdup(e->m->arena, md->name);
  e->f = fab_module_add_func(e->m, "main");
  scope *fr = scope_new(e, e->globals, true);
  for (int i = 0; md->params && i < md->params->n; i++) {
    const ast_param *p = md->params->items[i];
    fab_type t;
    if (!p->type) {
      fab_error(e->d, p->loc, "model inputs must be tensors; '%s' is a dim", p->name);
      continue;
    }
    value v = poison;
    if (eval_type(e, e->globals, p->type, &t)) {
      int idx = elab_op(e, FAB_OP_INPUT, NULL, 0, p->loc, t);
      if (idx >= 0) {
        fab_op_set_str(e->m, &e->f->ops[idx], "name", p->name);
        fab_op_set_int(e->m, &e->f->ops[idx], "index", i);
      }
      v = elab_tensor(elab_finish(e, idx), t);
    }
    scope_bind(e, fr, p->name, v, p->loc);
  }
  value dummy = poison;
  exec_stmts(e, fr, md->body, &dummy);
  if (e->stop) return;
  for (int i = 0; md->outs && i < md->outs->n; i++) {
    const ast_param *p = md->outs->items[i];
    if (!p->type) {
      fab_error(e->d, p->loc, "model outputs must be tensors; '%s' is a dim", p->name);
      continue;
    }
    const binding *b = scope_find1(fr, p->name);
    if (!b) {
      fab_error(e->d, p->loc, "output '%s' is never assigned", p->name);
      continue;
    }
    if (b->v.kind == V_ERROR) continue;
    const char *w = fab_arena_printf(e->tmp, "output '%s'", p->name);
    fab_type t;
    if (!eval_type(e, e->globals, p->type, &t)) continue;
    if (!match_type(e, fr, p->type, b->v, false, p->loc, w)) continue;
    int idx = elab_op(e, FAB_OP_OUTPUT, &b->v.op, 1, p->loc, b->v.type);
    if (idx < 0) return;
    fab_op_set_str(e->m, &e->f->ops[idx], "name", p->name);
    fab_op_set_int(e->m, &e->f->ops[idx], "index", i);
    elab_finish(e, idx);
  }
}

bool elab_program(elab *e, const ast_list *decls, const fab_frontend_options *opt) {
  int errors = fab_diag_error_count(e->d);
  e->globals = scope_new(e, NULL, true);
  e->prefix = "";
  const ast_decl *md = NULL;
  for (int i = 0; decls && i < decls->n; i++) {
    const ast_decl *d = decls->items[i];
    if (d->kind == D_BLOCK) {
      const ast_decl *old = find_block(e, d->name);
      if (builtin_find(d->name)) {
        fab_error(e->d, d->loc, "'%s' is a built-in layer and cannot be redefined", d->name);
      } else if (old) {
        fab_error(e->d, d->loc, "redefinition of block '%s'", d->name);
        fab_note(e->d, old->loc, "previous definition is here");
      } else {
        ast_push(e->tmp, &e->blocks, (void *)d);
      }
      check_params(e, d->params, NULL);
      check_body(e, d, d->body, true);
    } else if (d->kind == D_MODEL) {
      if (md) {
        fab_error(e->d, d->loc, "a program has one model; '%s' is the second", d->name);
        fab_note(e->d, md->loc, "the first model is here");
        continue;
      }
      md = d;
      check_params(e, d->params, d->outs);
      check_body(e, d, d->body, true);
    }
  }
  elab_collect_selects(e, decls);
  elab_dims(e, decls, opt);
  if (!md) {
    fab_error(e->d, noloc, "no model declared (write `model name(...) -> (...) { ... }`)");
    return false;
  }
  elab_model(e, md);
  elab_check_selects(e, errors);
  return fab_diag_error_count(e->d) == errors;
}
