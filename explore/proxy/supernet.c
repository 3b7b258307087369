/* supernet.c — supernets as plain IR (no new ops): finding the choice
 * edges, masking candidates, extracting one architecture as an ordinary
 * module, and building FABNet supernets with the IR builder.
 *
 * Representation (see proxy.h and docs/explore.md): every candidate's
 * output op is annotated hint.choice_edge / hint.choice; the candidates
 * of an edge are summed with `add` and the sum scaled by 1/k in a `scale`
 * op annotated hint.choice_mix.  Masking a candidate zeroes its output,
 * so a masked supernet computes (1/k)·(sum of the kept candidates).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

bool fab_supernet_scan(const fab_module *m, fab_supernet *s, fab_diag *d) {
  memset(s, 0, sizeof *s);
  const fab_func *f = fab_module_main(m);
  if (!f) return true;
  s->edges = calloc((size_t)f->nops + 1, sizeof *s->edges);
  if (!s->edges) goto oom;
  for (int i = 0; i < f->nops; i++) {
    const char *edge = fab_op_str(&f->ops[i], "hint.choice_edge", NULL);
    const char *mix = fab_op_str(&f->ops[i], "hint.choice_mix", NULL);
    const char *name = edge ? edge : mix;
    if (!name) continue;
    int e = 0;
    while (e < s->nedges && strcmp(s->edges[e].name, name)) e++;
    fab_supernet_edge *E = &s->edges[e];
    if (e == s->nedges) {
      s->nedges++;
      E->name = name;
      E->mix_op = -1;
      E->cand = calloc((size_t)f->nops + 1, sizeof(char *));
      E->cand_op = calloc((size_t)f->nops + 1, sizeof(int));
      if (!E->cand || !E->cand_op) goto oom;
    }
    if (mix) E->mix_op = i;
    if (!edge) continue;
    const char *cand = fab_op_str(&f->ops[i], "hint.choice", NULL);
    if (!cand) {
      fab_error(d, f->ops[i].loc, "supernet: op %%%d has hint.choice_edge but no hint.choice", i);
      fab_supernet_free(s);
      return false;
    }
    E->cand[E->ncand] = cand;
    E->cand_op[E->ncand++] = i;
  }
  for (int e = 0; e < s->nedges; e++)
    if (s->edges[e].ncand < 1) {
      fab_error(d, (fab_loc){0}, "supernet: edge '%s' has no candidates", s->edges[e].name);
      fab_supernet_free(s);
      return false;
    }
  return true;
oom:
  fab_error(d, (fab_loc){0}, "supernet: out of memory");
  fab_supernet_free(s);
  return false;
}

void fab_supernet_free(fab_supernet *s) {
  for (int e = 0; s->edges && e < s->nedges; e++) {
    free(s->edges[e].cand);
    free(s->edges[e].cand_op);
  }
  free(s->edges);
  memset(s, 0, sizeof *s);
}

void fab_supernet_apply(fab_ad *ad, const fab_supernet *s, const int *choice) {
  for (int e = 0; e < s->nedges; e++)
    for (int c = 0; c < s->edges[e].ncand; c++)
      fab_ad_set_mask(ad, s->edges[e].cand_op[c], choice[e] >= 0 && choice[e] != c);
}

/* "<edge>.<cand>.<rest>" -> "<edge>.<rest>" for chosen candidates. */
static const char *plain_name(fab_module *out, const fab_supernet *s, const int *choice,
                              const char *name) {
  for (int e = 0; e < s->nedges; e++) {
    if (choice[e] < 0) continue;
    const char *edge = s->edges[e].name, *cand = s->edges[e].cand[choice[e]];
    size_t le = strlen(edge), lc = strlen(cand);
    if (!strncmp(name, edge, le) && name[le] == '.' && !strncmp(name + le + 1, cand, lc) &&
        name[le + 1 + lc] == '.')
      return fab_arena_printf(out->arena, "%s.%s", edge, name + le + 1 + lc + 1);
  }
  return name;
}

/* Whether op's edge markers (if any) belong to a decided edge. */
static bool edge_decided(const fab_supernet *s, const int *choice, const fab_op *op) {
  const char *edge = fab_op_str(op, "hint.choice_edge", NULL);
  if (!edge) edge = fab_op_str(op, "hint.choice_mix", NULL);
  for (int e = 0; edge && e < s->nedges; e++)
    if (!strcmp(s->edges[e].name, edge)) return choice[e] >= 0;
  return true;
}

/* The extraction proper: copies the live ops.  The IR builders have no
 * error channel, so it runs under an out-of-memory guard
 * (fab_oom_protect); j->out (made before) is what to free if memory runs
 * out. */
typedef struct extract_job {
  const fab_module *m;
  const fab_supernet *s;
  const int *choice, *rep;
  int *map;
  const unsigned char *live;
  const fab_tensor_set *w_in;
  fab_tensor_set *w_out;
  fab_diag *d;
  fab_module *out;
  bool ok;
} extract_job;

static void copy_live(void *arg) {
  extract_job *j = arg;
  const fab_module *m = j->m;
  const fab_supernet *s = j->s;
  const int *choice = j->choice, *rep = j->rep;
  int *map = j->map;
  const fab_func *f = fab_module_main(m);
  int n = f->nops;
  fab_module *out = j->out;
  fab_func *g = fab_module_add_func(out, f->name);
  for (int i = 0; i < n; i++) {
    map[i] = -1;
    if (!j->live[i]) continue;
    if (rep[i] != i) {
      map[i] = map[rep[i]];
      continue;
    }
    /* operands through rep: build the remap on the fly */
    const fab_op *op = &f->ops[i];
    int saved[4] = {0};
    for (int k = 0; k < op->noperands && k < 4; k++) {
      saved[k] = map[op->operands[k]];
      map[op->operands[k]] = map[rep[op->operands[k]]];
    }
    map[i] = fab_func_copy_op(out, g, op, map);
    for (int k = 0; k < op->noperands && k < 4; k++)
      if (rep[op->operands[k]] != op->operands[k]) map[op->operands[k]] = saved[k];
    /* decided edges leave no supernet markers behind (all decided: a
     * plain model); undecided ones (choice < 0) stay choice edges */
    if (edge_decided(s, choice, op)) {
      static const char *const markers[] = {"hint.choice_edge", "hint.choice", "hint.choice_mix"};
      for (int k = 0; k < 3; k++) fab_op_remove_attr(&g->ops[map[i]], markers[k]);
    }
    if (op->code == FAB_OP_WEIGHT) {
      const char *old = fab_op_str(op, "name", "");
      const char *nn = plain_name(out, s, choice, old);
      fab_op_set_str(out, &g->ops[map[i]], "name", nn);
      int p = fab_module_find_param(m, old);
      if (p < 0 || fab_module_add_param(out, nn, m->params[p].type, m->params[p].init,
                                        m->params[p].loc, j->d) < 0) {
        j->ok = false;
        return;
      }
      if (j->w_in && j->w_out) {
        const fab_tensor *t = fab_tset_find(j->w_in, old);
        fab_tensor *u = t ? fab_tset_add(j->w_out, nn, t->dtype, t->rank, t->dims) : NULL;
        if (t && !u) {
          fab_error(j->d, (fab_loc){0}, "supernet: out of memory for weight '%s'", nn);
          j->ok = false;
          return;
        }
        if (u) memcpy(u->data, t->data, t->nbytes);
      }
    }
  }
}

fab_module *fab_supernet_extract(const fab_module *m, const fab_supernet *s, const int *choice,
                                 const fab_tensor_set *w_in, fab_tensor_set *w_out, fab_diag *d) {
  const fab_func *f = fab_module_main(m);
  int n = f->nops;
  int *rep = malloc(sizeof(int) * (size_t)(n + 1)), *map = malloc(sizeof(int) * (size_t)(n + 1));
  unsigned char *zero = calloc((size_t)n + 1, 1), *live = calloc((size_t)n + 1, 1),
                *single = calloc((size_t)n + 1, 1);
  fab_module *out = NULL;
  if (!rep || !map || !zero || !live || !single) {
    fab_error(d, (fab_loc){0}, "supernet: out of memory");
    goto done;
  }
  for (int e = 0; e < s->nedges; e++) {
    for (int c = 0; c < s->edges[e].ncand; c++)
      if (choice[e] >= 0 && choice[e] != c) zero[s->edges[e].cand_op[c]] = 1;
    if (choice[e] >= 0 && s->edges[e].mix_op >= 0) single[s->edges[e].mix_op] = 1;
  }
  /* rep[i]: the op that stands for i once zero candidates are dropped from
   * the mixing adds (-1: i is identically zero) */
  for (int i = 0; i < n; i++) {
    const fab_op *op = &f->ops[i];
    rep[i] = i;
    if (zero[i]) rep[i] = -1;
    else if (op->code == FAB_OP_ADD && (rep[op->operands[0]] < 0 || rep[op->operands[1]] < 0))
      rep[i] = rep[op->operands[0]] < 0 ? rep[op->operands[1]] : rep[op->operands[0]];
    else if (single[i]) rep[i] = rep[op->operands[0]]; /* 1/k mixing of one op: drop */
    else
      for (int k = 0; k < op->noperands; k++)
        if (rep[op->operands[k]] < 0) {
          fab_error(d, op->loc, "supernet: a masked candidate feeds op %%%d outside its mixing sum", i);
          goto done;
        }
  }
  for (int i = n - 1; i >= 0; i--) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_OUTPUT) live[i] = 1;
    if (!live[i]) continue;
    if (rep[i] != i) {
      if (rep[i] >= 0) live[rep[i]] = 1;
      continue;
    }
    for (int k = 0; k < op->noperands; k++) live[rep[op->operands[k]]] = 1;
  }
  /* made outside the guard: a failure inside fab_module_new would lose
   * its arena on the way to the guard */
  extract_job j = {m, s, choice, rep, map, live, w_in, w_out, d, fab_module_new(m->name), true};
  if (!j.out || !fab_oom_protect(copy_live, &j)) {
    fab_module_free(j.out);
    fab_error(d, (fab_loc){0}, "supernet: out of memory");
    goto done;
  }
  out = j.out;
  if (!j.ok) goto fail;
  if (!fab_verify(out, d)) goto fail;
  goto done;
fail:
  fab_error(d, (fab_loc){0}, "supernet: cannot extract the architecture");
  fab_module_free(out);
  out = NULL;
done:
  free(rep);
  free(map);
  free(zero);
  free(live);
  free(single);
  return out;
}

/* ---- building FABNet supernets ---------------------------------------------- */

typedef struct bld {
  fab_module *m;
  fab_func *f;
  fab_diag *d;
  bool ok;
  const char *prefix; /* "layers.0.fbfly" */
} bld;

static int infer(bld *b, int i) {
  char err[256];
  if (b->ok && !fab_infer_op(b->m, b->f, &b->f->ops[i], err, sizeof err)) {
    fab_error(b->d, (fab_loc){0}, "supernet: %s", err);
    b->ok = false;
  }
  return i;
}

static int op(bld *b, fab_opcode code, int n, int a0, int a1, int a2) {
  int ops[3] = {a0, a1, a2};
  return fab_func_append(b->m, b->f, code, ops, n, (fab_loc){0});
}

static int weight(bld *b, const char *name, fab_type t, fab_init init) {
  const char *full = b->prefix ? fab_arena_printf(b->m->arena, "%s.%s", b->prefix, name) : name;
  if (fab_module_add_param(b->m, full, t, init, (fab_loc){0}, b->d) < 0) b->ok = false;
  int i = op(b, FAB_OP_WEIGHT, 0, 0, 0, 0);
  fab_op_set_str(b->m, &b->f->ops[i], "name", full);
  b->f->ops[i].type = t;
  return i;
}

static fab_type vec(int64_t n) { return fab_type_make(FAB_F32, 1, &n); }

static int bfly_layer(bld *b, const char *name, int x, int64_t in, int64_t out) {
  int L = 0;
  while (((int64_t)1 << L) < in) L++;
  int64_t n = (int64_t)1 << L, dims[6] = {(out + n - 1) / n, 1, L, n / 2, 2, 2};
  double bound = 1.0 / sqrt((double)in);
  char nm[128];
  snprintf(nm, sizeof nm, "%s.twiddle", name);
  int tw = weight(b, nm, fab_type_make(FAB_F32, 6, dims), (fab_init){FAB_INIT_NORMAL, 0, 1.0 / sqrt(2.0)});
  snprintf(nm, sizeof nm, "%s.bias", name);
  int bi = weight(b, nm, vec(out), (fab_init){FAB_INIT_UNIFORM, -bound, bound});
  int y = op(b, FAB_OP_BFLY_LINEAR, 3, x, tw, bi);
  fab_op_set_int(b->m, &b->f->ops[y], "in", in);
  fab_op_set_int(b->m, &b->f->ops[y], "out", out);
  fab_op_set_int(b->m, &b->f->ops[y], "increasing", 0);
  fab_op_set_int(b->m, &b->f->ops[y], "nblocks", 1);
  return infer(b, y);
}

static int dense_layer(bld *b, const char *name, int x, int64_t in, int64_t out) {
  double bound = 1.0 / sqrt((double)in);
  int64_t wd[2] = {out, in};
  char nm[128];
  snprintf(nm, sizeof nm, "%s.weight", name);
  int w = weight(b, nm, fab_type_make(FAB_F32, 2, wd), (fab_init){FAB_INIT_UNIFORM, -bound, bound});
  snprintf(nm, sizeof nm, "%s.bias", name);
  int bi = weight(b, nm, vec(out), (fab_init){FAB_INIT_UNIFORM, -bound, bound});
  return infer(b, op(b, FAB_OP_DENSE, 3, x, w, bi));
}

static int linear(bld *b, bool bfly, const char *name, int x, int64_t in, int64_t out) {
  return bfly ? bfly_layer(b, name, x, in, out) : dense_layer(b, name, x, in, out);
}

static int norm(bld *b, const char *name, int x, int64_t dm) {
  char g[64], be[64];
  snprintf(g, sizeof g, "%s.weight", name);
  snprintf(be, sizeof be, "%s.bias", name);
  int gi = weight(b, g, vec(dm), (fab_init){FAB_INIT_ONES, 0, 0});
  int bi = weight(b, be, vec(dm), (fab_init){FAB_INIT_ZEROS, 0, 0});
  int y = op(b, FAB_OP_LAYERNORM, 3, x, gi, bi);
  fab_op_set_float(b->m, &b->f->ops[y], "eps", 1e-5);
  return infer(b, y);
}

static int add(bld *b, int x, int y) { return infer(b, op(b, FAB_OP_ADD, 2, x, y, 0)); }

/* One post-LN block: x = norm1(x + mix(x)); x = norm2(x + ffn(x)). */
static int block(bld *b, const char *kind, int x, const fab_supernet_options *o) {
  bool fourier = !strcmp(kind, "fbfly") || !strcmp(kind, "fdense");
  bool bfly_attn = !strcmp(kind, "abfly") || !strcmp(kind, "abfly_dffn");
  bool bfly_ffn = !strcmp(kind, "fbfly") || !strcmp(kind, "abfly");
  int mix;
  if (fourier) {
    mix = infer(b, op(b, FAB_OP_FOURIER_MIX, 1, x, 0, 0));
  } else {
    int q = linear(b, bfly_attn, "attn.q", x, o->d, o->d);
    int k = linear(b, bfly_attn, "attn.k", x, o->d, o->d);
    int v = linear(b, bfly_attn, "attn.v", x, o->d, o->d);
    int a = op(b, FAB_OP_MHA, 3, q, k, v);
    fab_op_set_int(b->m, &b->f->ops[a], "heads", o->heads);
    mix = linear(b, bfly_attn, "attn.o", infer(b, a), o->d, o->d);
  }
  x = norm(b, "norm1", add(b, x, mix), o->d);
  int h = linear(b, bfly_ffn, "ffn.fc1", x, o->d, o->h);
  int gl = op(b, FAB_OP_GELU, 1, h, 0, 0);
  fab_op_set_str(b->m, &b->f->ops[gl], "approx", "erf");
  int y = linear(b, bfly_ffn, "ffn.fc2", infer(b, gl), o->h, o->d);
  return norm(b, "norm2", add(b, x, y), o->d);
}

static bool known_block(const char *k) {
  return !strcmp(k, "fbfly") || !strcmp(k, "abfly") || !strcmp(k, "abfly_dffn") ||
         !strcmp(k, "transformer") || !strcmp(k, "fdense");
}

/* The builders have no error channel: run under an out-of-memory guard
 * (fab_oom_protect); j->b.m (made before) is what to free if memory
 * runs out. */
typedef struct fabnet_job {
  const fab_supernet_options *o;
  bld b;
} fabnet_job;

static void build_fabnet(void *arg) {
  fabnet_job *j = arg;
  bld *b = &j->b;
  const fab_supernet_options *o = j->o;
  b->f = fab_module_add_func(b->m, "main");
  int64_t sq = o->seq, ed[2] = {o->vocab, o->d}, pd[2] = {o->seq, o->d};
  int tok = op(b, FAB_OP_INPUT, 0, 0, 0, 0);
  fab_op_set_str(b->m, &b->f->ops[tok], "name", "tokens");
  fab_op_set_int(b->m, &b->f->ops[tok], "index", 0);
  b->f->ops[tok].type = fab_type_make(FAB_I32, 1, &sq);
  int emb = weight(b, "embed.weight", fab_type_make(FAB_F32, 2, ed), (fab_init){FAB_INIT_NORMAL, 0, 1});
  int pos = weight(b, "pos.weight", fab_type_make(FAB_F32, 2, pd), (fab_init){FAB_INIT_NORMAL, 0, 1});
  int x = add(b, infer(b, op(b, FAB_OP_EMBED, 2, tok, emb, 0)), pos);
  for (int l = 0; l < o->layers && b->ok; l++) {
    const char *edge = fab_arena_printf(b->m->arena, "layers.%d", l);
    int sum = -1;
    for (int c = 0; c < o->ncands; c++) {
      b->prefix = fab_arena_printf(b->m->arena, "%s.%s", edge, o->cands[c]);
      int y = block(b, o->cands[c], x, o);
      fab_op_set_str(b->m, &b->f->ops[y], "hint.choice_edge", edge);
      fab_op_set_str(b->m, &b->f->ops[y], "hint.choice", o->cands[c]);
      sum = sum < 0 ? y : add(b, sum, y);
    }
    b->prefix = NULL;
    int mix = op(b, FAB_OP_SCALE, 1, sum, 0, 0);
    fab_op_set_float(b->m, &b->f->ops[mix], "factor", 1.0 / o->ncands);
    fab_op_set_str(b->m, &b->f->ops[mix], "hint.choice_mix", edge);
    x = infer(b, mix);
  }
  int pooled = infer(b, op(b, FAB_OP_MEANPOOL, 1, x, 0, 0));
  int logits = dense_layer(b, "head", pooled, o->d, o->classes);
  int out = op(b, FAB_OP_OUTPUT, 1, logits, 0, 0);
  fab_op_set_str(b->m, &b->f->ops[out], "name", "logits");
  fab_op_set_int(b->m, &b->f->ops[out], "index", 0);
  b->f->ops[out].type = b->f->ops[logits].type;
}

fab_module *fab_supernet_fabnet(const fab_supernet_options *o, fab_diag *d) {
  if (o->seq < 2 || o->d < 2 || o->h < 2 || o->heads < 1 || o->d % o->heads || o->vocab < 2 ||
      o->classes < 2 || o->layers < 1 || o->layers > 64 || o->ncands < 1) {
    fab_error(d, (fab_loc){0}, "supernet: bad sizes");
    return NULL;
  }
  for (int c = 0; c < o->ncands; c++)
    if (!known_block(o->cands[c])) {
      fab_error(d, (fab_loc){0}, "supernet: unknown block kind '%s'", o->cands[c]);
      return NULL;
    }
  /* the module is made outside the guard (see fab_supernet_extract) */
  fabnet_job j = {o, {fab_module_new("fabnet_supernet"), NULL, d, true, NULL}};
  if (!j.b.m || !fab_oom_protect(build_fabnet, &j)) {
    fab_module_free(j.b.m);
    fab_error(d, (fab_loc){0}, "supernet: out of memory");
    return NULL;
  }
  if (!j.b.ok || !fab_verify(j.b.m, d)) {
    fab_module_free(j.b.m);
    return NULL;
  }
  return j.b.m;
}
