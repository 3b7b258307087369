/* choose.c — `choose` expressions and `select` declarations.
 *
 * `choose (k)` picks one candidate; a `choose` without a selector is a
 * supernet edge whose candidates are all elaborated and mixed, unless a
 * `select "edge" = "cand";` fixes it to one.  Kept apart from
 * elaborate.c because it is the design-space part of the language, the
 * one that architecture search (explore/proxy, docs/explore.md) reads;
 * it needs nothing of elaborate.c beyond the interface in elab.h. */
#include "elab.h"

#include <string.h>

static const value poison = {.kind = V_ERROR};

/* ---- choose expressions ------------------------------------------------- */

/* The name of candidate k of a supernet edge: the last segment of its
 * `as` path, else "c<k>". */
static const char *candidate_name(elab *e, const ast_expr *c, int k) {
  if (c->path && c->path->n) {
    const ast_seg *g = c->path->items[c->path->n - 1];
    if (g->name) return g->name;
  }
  return fab_arena_printf(e->m->arena, "c%d", k);
}

/* A supernet edge fixed by `select "edge" = "cand";`: only that candidate
 * is elaborated, under the edge's own name (its weights are edge.*, the
 * names the plain model and fab_supernet_extract use). */
static value selected_candidate(elab *e, scope *s, const ast_expr *x, const char *edge,
                                const ast_decl *sel) {
  for (int k = 0; k < x->cands->n; k++) {
    const ast_expr *c = x->cands->items[k];
    bool is_identity = c->kind == E_NAME && !c->path;
    const char *name = is_identity ? "identity" : candidate_name(e, c, k);
    if (strcmp(name, sel->choice) != 0) continue;
    ast_expr unnamed = *c; /* the candidate without its own `as` segment */
    unnamed.path = NULL;
    const char *saved = e->prefix;
    e->prefix = edge;
    value v = elab_expr(e, s, &unnamed);
    e->prefix = saved;
    return v;
  }
  fab_error(e->d, sel->loc, "select: edge '%s' has no candidate '%s'", edge, sel->choice);
  fab_note(e->d, x->loc, "the edge is here");
  return poison;
}

/* choose { c0 as a; c1 as b; ... } as edge: a supernet edge.  Every
 * candidate is elaborated under the edge's prefix (its weights are named
 * edge.<candidate>.*), its result is tagged hint.choice_edge / hint.choice,
 * and the results are summed and scaled by 1/k (hint.choice_mix): the
 * representation explore/proxy's Zero-Cost-PT reads (docs/explore.md). */
static value supernet_edge(elab *e, scope *s, const ast_expr *x) {
  const char *edge = elab_path(e, s, x, "a supernet edge (choose without a selector)");
  if (!edge) return poison;
  for (int i = 0; e->selects && i < e->selects->n; i++) {
    const ast_decl *sel = e->selects->items[i];
    if (strcmp(sel->name, edge) == 0) {
      e->select_used[i] = true;
      return selected_candidate(e, s, x, edge, sel);
    }
  }
  const char *saved = e->prefix;
  e->prefix = edge;
  value sum = poison;
  int n = x->cands->n;
  for (int k = 0; k < n; k++) {
    const ast_expr *c = x->cands->items[k];
    int before = e->f->nops;
    value v = elab_expr(e, s, c);
    if (v.kind == V_ERROR) {
      sum = poison;
      break;
    }
    if (v.kind != V_TENSOR) {
      fab_error(e->d, c->loc, "choose: a candidate must be a tensor, got %s", vkind_name(v.kind));
      sum = poison;
      break;
    }
    /* A candidate that creates no op (the identity) gets its own result
     * op so that it can carry its tag; canonicalize removes it later. */
    bool identity = v.op < before;
    if (identity) {
      int idx = elab_op(e, FAB_OP_SCALE, &v.op, 1, c->loc, v.type);
      if (idx >= 0) fab_op_set_float(e->m, &e->f->ops[idx], "factor", 1.0);
      v = elab_tensor(elab_finish(e, idx), v.type);
      if (v.kind == V_ERROR) break;
    }
    fab_op_set_str(e->m, &e->f->ops[v.op], "hint.choice_edge", edge);
    fab_op_set_str(e->m, &e->f->ops[v.op], "hint.choice",
                   identity ? "identity" : candidate_name(e, c, k));
    if (k == 0) {
      sum = v;
      continue;
    }
    if (!fab_type_equal(&v.type, &sum.type)) {
      char a[96], b[96];
      fab_error(e->d, c->loc, "choose: candidate %d gives %s but candidate 0 gives %s", k,
                fab_type_str(&v.type, a, sizeof a), fab_type_str(&sum.type, b, sizeof b));
      sum = poison;
      break;
    }
    int ops[2] = {sum.op, v.op};
    sum = elab_tensor(elab_emit(e, FAB_OP_ADD, ops, 2, x->loc, sum.type, NULL, NULL, 0), sum.type);
    if (sum.kind == V_ERROR) break;
  }
  e->prefix = saved;
  if (sum.kind == V_ERROR || n == 1) return sum;
  int idx = elab_op(e, FAB_OP_SCALE, &sum.op, 1, x->loc, sum.type);
  if (idx < 0) return poison;
  fab_op_set_float(e->m, &e->f->ops[idx], "factor", 1.0 / n);
  fab_op_set_str(e->m, &e->f->ops[idx], "hint.choice_mix", edge);
  return elab_tensor(elab_finish(e, idx), sum.type);
}

value elab_choose(elab *e, scope *s, const ast_expr *x) {
  if (!x->lhs) return supernet_edge(e, s, x);
  if (x->path) {
    fab_error(e->d, x->loc, "choose (k) picks one candidate: name the candidate, not the choose");
    return poison;
  }
  value k = elab_expr(e, s, x->lhs);
  if (k.kind == V_ERROR) return poison;
  if (k.kind != V_INT) {
    fab_error(e->d, x->lhs->loc, "a choose selector must be an integer, got %s", vkind_name(k.kind));
    return poison;
  }
  if (k.i < 0 || k.i >= x->cands->n) {
    fab_error(e->d, x->lhs->loc, "choose: candidate %lld does not exist (there are %d)",
              (long long)k.i, x->cands->n);
    return poison;
  }
  return elab_expr(e, s, x->cands->items[k.i]);
}

/* ---- select declarations ------------------------------------------------ */

void elab_collect_selects(elab *e, const ast_list *decls) {
  int nsel = 0;
  for (int i = 0; decls && i < decls->n; i++)
    if (((const ast_decl *)decls->items[i])->kind == D_SELECT) {
      ast_push(e->tmp, &e->selects, decls->items[i]);
      nsel++;
    }
  if (nsel) e->select_used = fab_arena_alloc(e->tmp, sizeof(bool) * (size_t)nsel);
}

void elab_check_selects(elab *e, int errors) {
  int nsel = e->selects ? e->selects->n : 0;
  for (int i = 0; i < nsel && fab_diag_error_count(e->d) == errors; i++)
    if (!e->select_used[i]) {
      const ast_decl *sel = e->selects->items[i];
      fab_error(e->d, sel->loc, "select: no supernet edge is named '%s'", sel->name);
    }
}
