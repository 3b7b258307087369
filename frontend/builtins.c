/* builtins.c — the built-in layers and integer helpers of the language.
 *
 * Each layer checks its operands at the source level (so that messages
 * speak of the layer, not of IR ops), declares its parameters under the
 * instance name with PyTorch's state_dict leaf names and default
 * initialisation, and appends its high-level op. */
#include "elab.h"

#include <math.h>
#include <string.h>

static const value poison = {.kind = V_ERROR};

#define BUILTIN_MAX_ARGS 10

typedef value (*builtin_fn)(elab *e, scope *s, const ast_expr *call, const value *a);

struct builtin {
  const char *name;
  builtin_fn fn;
  int nargs;
  argspec args[BUILTIN_MAX_ARGS];
};

#define REQ(n, k) {n, k, true, {0}}
#define OPT_I(n, v) {n, V_INT, false, {.kind = V_INT, .i = v}}
#define OPT_F(n, v) {n, V_FLOAT, false, {.kind = V_FLOAT, .f = v}}
#define OPT_S(n, v) {n, V_STR, false, {.kind = V_STR, .s = v}}
#define OPT_T(n) {n, V_TENSOR, false, {.kind = V_ERROR}} /* absent: V_ERROR */

/* ---- helpers ------------------------------------------------------------ */

static value int_value(int64_t i) { return (value){.kind = V_INT, .i = i}; }

/* x must be an f32 (or `dt`) tensor of rank >= minrank. */
static bool need(elab *e, const ast_expr *call, value x, fab_dtype dt, int minrank,
                 const char *shape) {
  char buf[160];
  if (x.type.dtype != dt || x.type.rank < minrank) {
    fab_error(e->d, call->loc, "%s expects %s %s, got %s", call->s, fab_dtype_name(dt), shape,
              fab_type_str(&x.type, buf, sizeof buf));
    return false;
  }
  return true;
}

static bool positive(elab *e, const ast_expr *call, const char *what, int64_t v) {
  if (v >= 1) return true;
  fab_error(e->d, call->loc, "%s: %s must be at least 1 (it is %lld)", call->s, what, (long long)v);
  return false;
}

static fab_type with_last(fab_type t, int64_t last) {
  t.dims[t.rank - 1] = last;
  return t;
}

static fab_type vec_type(int rank, const int64_t *dims) { return fab_type_make(FAB_F32, rank, dims); }

static fab_init uniform_fan_in(int64_t in) {
  double b = 1.0 / sqrt((double)in);
  return (fab_init){FAB_INIT_UNIFORM, -b, b};
}

static value finish_layer(elab *e, int idx, fab_type t) { return elab_tensor(elab_finish(e, idx), t); }

static int64_t next_pow2(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

/* ---- masks ----------------------------------------------------------------- */

/* The optional `mask` argument m of a layer on x: absent (*op = -1) or an
 * i32 tensor of one flag per token (1 = token, 0 = padding).  Its shape
 * is x's first `nlead` axes then `t` (exact), or with `prefix` any prefix
 * of them then t. */
static bool mask_arg(elab *e, const ast_expr *call, value m, value x, int nlead, int64_t t,
                     bool prefix, int *op) {
  char got[160], want[160], xs[160];
  *op = -1;
  if (m.kind != V_TENSOR) return true;
  fab_type w = x.type;
  w.dtype = FAB_I32;
  w.rank = nlead;
  w.dims[w.rank++] = t;
  bool ok = m.type.dtype == FAB_I32 && m.type.rank >= 1 && m.type.dims[m.type.rank - 1] == t &&
            (prefix ? m.type.rank <= w.rank : m.type.rank == w.rank);
  for (int i = 0; ok && i < m.type.rank - 1; i++) ok = m.type.dims[i] == x.type.dims[i];
  if (ok) {
    *op = m.op;
    return true;
  }
  fab_type_str(&m.type, got, sizeof got);
  fab_type_str(&w, want, sizeof want);
  if (prefix)
    fab_error(e->d, call->loc, "%s: mask is %s but needs i32[.., %lld] (one flag per column, 1 = keep, "
              "0 = mask) whose leading axes begin those of x %s", call->s, got, (long long)t,
              fab_type_str(&x.type, xs, sizeof xs));
  else
    fab_error(e->d, call->loc, "%s: mask is %s but needs %s (one flag per token, 1 = token, "
              "0 = padding)", call->s, got, want);
  return false;
}

static bool causal_arg(elab *e, const ast_expr *call, int64_t causal) {
  if (causal == 0 || causal == 1) return true;
  fab_error(e->d, call->loc, "%s: causal must be 0 or 1 (it is %lld)", call->s, (long long)causal);
  return false;
}

/* Appends the mask operand (if any) to ops[n]; returns the new count. */
static int with_mask(int *ops, int n, int mask) {
  if (mask >= 0) ops[n++] = mask;
  return n;
}

/* ---- linear layers ---------------------------------------------------------- */

/* torch_butterfly Butterfly(in, out, bias, increasing_stride, nblocks):
 * twiddle [nstacks, nblocks, log2 n, n/2, 2, 2], n = next pow2 of in. */
static value bfly_layer(elab *e, const ast_expr *call, value x, int64_t out, int64_t bias,
                        int64_t increasing, int64_t nblocks, const char *path) {
  int64_t in = x.type.dims[x.type.rank - 1];
  if (in < 2) {
    fab_error(e->d, call->loc, "a butterfly layer needs at least 2 input features (got %lld)",
              (long long)in);
    return poison;
  }
  if (!positive(e, call, "the output size", out) || !positive(e, call, "nblocks", nblocks))
    return poison;
  fab_type y = with_last(x.type, out);
  if (!elab_check_type(e, call->loc, &y)) return poison;
  int64_t n = next_pow2(in), log2n = 0;
  while (((int64_t)1 << log2n) < n) log2n++;
  int64_t tw[6] = {(out + n - 1) / n, nblocks, log2n, n / 2, 2, 2};
  int ops[3] = {x.op, -1, -1};
  ops[1] = elab_weight(e, elab_join(e, path, "twiddle"), vec_type(6, tw),
                       (fab_init){FAB_INIT_NORMAL, 0.0, 0.70710678118654752440}, call->loc);
  if (ops[1] < 0) return poison; /* one message per layer, not per weight */
  if (bias) ops[2] = elab_weight(e, elab_join(e, path, "bias"), vec_type(1, &out),
                                 uniform_fan_in(in), call->loc);
  if (ops[1] < 0 || (bias && ops[2] < 0)) return poison;
  static const char *const keys[] = {"in", "out", "increasing", "nblocks"};
  int64_t vals[] = {in, out, increasing != 0, nblocks};
  int idx = elab_emit(e, FAB_OP_BFLY_LINEAR, ops, bias ? 3 : 2, call->loc, y, keys, vals, 4);
  return elab_tensor(idx, y);
}

/* The weight and bias of a dense layer: their state_dict names and
 * initialisation (nn.Linear's, or nn.MultiheadAttention's packed ones). */
typedef struct dense_params {
  const char *weight, *bias;
  fab_init winit, binit;
} dense_params;

static dense_params linear_params(elab *e, const char *path, int64_t in) {
  return (dense_params){elab_join(e, path, "weight"), elab_join(e, path, "bias"),
                        uniform_fan_in(in), uniform_fan_in(in)};
}

/* nn.Linear(in, out, bias): weight [out, in], bias [out]. */
static value dense_layer(elab *e, const ast_expr *call, value x, int64_t out, int64_t bias,
                         dense_params p) {
  int64_t in = x.type.dims[x.type.rank - 1];
  if (!positive(e, call, "the output size", out)) return poison;
  fab_type y = with_last(x.type, out);
  if (!elab_check_type(e, call->loc, &y)) return poison;
  int64_t w[2] = {out, in};
  int ops[3] = {x.op, -1, -1};
  ops[1] = elab_weight(e, p.weight, vec_type(2, w), p.winit, call->loc);
  if (ops[1] < 0) return poison;
  if (bias) ops[2] = elab_weight(e, p.bias, vec_type(1, &out), p.binit, call->loc);
  if (ops[1] < 0 || (bias && ops[2] < 0)) return poison;
  return elab_tensor(elab_emit(e, FAB_OP_DENSE, ops, bias ? 3 : 2, call->loc, y, NULL, NULL, 0), y);
}

/* bfly(x, out, bias = true, increasing = true, nblocks = 1) as name:
 * torch_butterfly's Butterfly(in, out) with the library's defaults. */
static value f_bfly(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, "bfly");
  if (!path || !need(e, call, a[0], FAB_F32, 1, "[.., in]")) return poison;
  return bfly_layer(e, call, a[0], a[1].i, a[2].i, a[3].i, a[4].i, path);
}

/* linear(x, out, bias = true) as name */
static value f_linear(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, "linear");
  if (!path || !need(e, call, a[0], FAB_F32, 1, "[.., in]")) return poison;
  int64_t in = a[0].type.dims[a[0].type.rank - 1];
  return dense_layer(e, call, a[0], a[1].i, a[2].i, linear_params(e, path, in));
}

/* ---- attention ----------------------------------------------------------- */

/* How an attention layer's projections are built and named: fabc's short
 * names (p.q, p.k, p.v, p.o), Hugging Face's (p.q_proj, ..., p.out_proj),
 * or nn.MultiheadAttention's packed in_proj_weight [3d, d] and out_proj. */
typedef enum { NAMES_SHORT, NAMES_HF, NAMES_PACKED } proj_names;

typedef struct proj_opts {
  bool bfly;
  proj_names names;
  int64_t bias, increasing, nblocks;
} proj_opts;

static const char *const proj_leaf[2][4] = {{"q", "k", "v", "o"},
                                            {"q_proj", "k_proj", "v_proj", "out_proj"}};

static bool parse_proj_opts(elab *e, const ast_expr *call, const value *a, proj_opts *o) {
  const char *proj = a[0].s, *names = a[1].s;
  o->bfly = strcmp(proj, "bfly") == 0;
  if (!o->bfly && strcmp(proj, "dense") != 0) {
    fab_error(e->d, call->loc, "mha: proj must be \"bfly\" or \"dense\", not \"%s\"", proj);
    return false;
  }
  if (!strcmp(names, "short")) o->names = NAMES_SHORT;
  else if (!strcmp(names, "hf")) o->names = NAMES_HF;
  else if (!strcmp(names, "packed")) o->names = NAMES_PACKED;
  else {
    fab_error(e->d, call->loc, "mha: names must be \"short\", \"hf\" or \"packed\", not \"%s\"",
              names);
    return false;
  }
  if (o->names == NAMES_PACKED && o->bfly) {
    fab_error(e->d, call->loc,
              "mha: names = \"packed\" is nn.MultiheadAttention's layout, which needs proj = \"dense\"");
    return false;
  }
  o->bias = a[2].i;
  o->increasing = a[3].i;
  o->nblocks = a[4].i;
  for (int i = 0; !o->bfly && call->args && i < call->args->n; i++) {
    const ast_arg *arg = call->args->items[i];
    if (arg->name && (!strcmp(arg->name, "increasing") || !strcmp(arg->name, "nblocks"))) {
      fab_error(e->d, arg->loc, "mha: '%s' is a butterfly option; proj = \"dense\" has none",
                arg->name);
      return false;
    }
  }
  return true;
}

/* One d -> d projection of attention, `which` = 0..3 for q, k, v, out. */
static value project(elab *e, const ast_expr *call, value x, const proj_opts *o, int which,
                     const char *path) {
  int64_t d = x.type.dims[x.type.rank - 1];
  const char *p = elab_join(e, path, proj_leaf[o->names != NAMES_SHORT][which]);
  if (o->bfly) return bfly_layer(e, call, x, d, o->bias, o->increasing, o->nblocks, p);
  dense_params dp = linear_params(e, p, d);
  /* nn.MultiheadAttention zeroes its out_proj bias (_reset_parameters). */
  if (o->names == NAMES_PACKED) dp.binit = (fab_init){FAB_INIT_ZEROS, 0, 0};
  return dense_layer(e, call, x, d, o->bias, dp);
}

/* nn.MultiheadAttention's input projection: one dense layer d -> 3d with
 * in_proj_weight (Xavier-uniform) and in_proj_bias (zeros), sliced into
 * q, k and v along the last axis as PyTorch's chunk does. */
static bool packed_qkv(elab *e, const ast_expr *call, value x, int64_t bias, const char *path,
                       int qkv[3]) {
  int64_t d = x.type.dims[x.type.rank - 1];
  double bound = sqrt(6.0 / (double)(4 * d));
  dense_params p = {elab_join(e, path, "in_proj_weight"), elab_join(e, path, "in_proj_bias"),
                    {FAB_INIT_UNIFORM, -bound, bound}, {FAB_INIT_ZEROS, 0, 0}};
  value y = dense_layer(e, call, x, 3 * d, bias, p);
  if (y.kind == V_ERROR) return false;
  static const char *const keys[] = {"axis", "start", "size"};
  for (int i = 0; i < 3; i++) {
    int64_t vals[] = {x.type.rank - 1, i * d, d};
    qkv[i] = elab_emit(e, FAB_OP_SLICE, &y.op, 1, call->loc, x.type, keys, vals, 3);
    if (qkv[i] < 0) return false;
  }
  return true;
}

/* mha(x, heads, proj = "bfly", names = "short", bias = true,
 *     increasing = true, nblocks = 1, mask = none, causal = 0) as name:
 * the q, k, v projections (d -> d), the mha op (with the key-padding mask
 * i32[.., seq] and the causal flag), and the output projection. */
enum { MHA_MASK = 7, MHA_CAUSAL = 8 }; /* the last two of mha's arguments (table below) */
static value f_mha(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, "mha");
  if (!path || !need(e, call, a[0], FAB_F32, 2, "[.., seq, d]")) return poison;
  int64_t d = a[0].type.dims[a[0].type.rank - 1], heads = a[1].i;
  proj_opts o;
  if (!parse_proj_opts(e, call, a + 2, &o) || !positive(e, call, "heads", heads)) return poison;
  if (d % heads != 0) {
    fab_error(e->d, call->loc, "mha: hidden size %lld is not divisible by %lld heads",
              (long long)d, (long long)heads);
    return poison;
  }
  int qkv[3];
  int mask;
  int64_t causal = a[MHA_CAUSAL].i;
  if (!mask_arg(e, call, a[MHA_MASK], a[0], a[0].type.rank - 2, a[0].type.dims[a[0].type.rank - 2], false,
                &mask) || !causal_arg(e, call, causal))
    return poison; /* before the projections declare their weights */
  if (o.names == NAMES_PACKED) {
    if (!packed_qkv(e, call, a[0], o.bias, path, qkv)) return poison;
  } else {
    for (int i = 0; i < 3; i++) {
      value v = project(e, call, a[0], &o, i, path);
      if (v.kind == V_ERROR) return poison;
      qkv[i] = v.op;
    }
  }
  int mops[4] = {qkv[0], qkv[1], qkv[2], -1};
  int64_t hv[2] = {heads, causal};
  static const char *const hk[] = {"heads", "causal"};
  int idx = elab_emit(e, FAB_OP_MHA, mops, with_mask(mops, 3, mask), call->loc, a[0].type, hk, hv,
                      causal ? 2 : 1);
  if (idx < 0) return poison;
  /* Parameter-free layers are named for statistics and profiles. */
  fab_op_set_str(e->m, &e->f->ops[idx], "hint.name", path);
  return project(e, call, elab_tensor(idx, a[0].type), &o, 3, path);
}

/* ---- tensor algebra: attention written by hand ------------------------------ */

/* An axis argument, negative counting from the end as in PyTorch. */
static bool axis_arg(elab *e, const ast_expr *call, const fab_type *t, int64_t ax, int *out) {
  if (ax < -(int64_t)t->rank || ax >= t->rank) {
    fab_error(e->d, call->loc, "%s: axis %lld is outside [%d, %d] for a rank-%d tensor", call->s,
              (long long)ax, -t->rank, t->rank - 1, t->rank);
    return false;
  }
  *out = (int)(ax < 0 ? ax + t->rank : ax);
  return true;
}

static value emit_transpose(elab *e, const ast_expr *call, value x, int a0, int a1) {
  int64_t perm[FAB_MAX_RANK];
  fab_type y = x.type;
  for (int i = 0; i < x.type.rank; i++) perm[i] = i;
  perm[a0] = a1;
  perm[a1] = a0;
  y.dims[a0] = x.type.dims[a1];
  y.dims[a1] = x.type.dims[a0];
  int idx = elab_op(e, FAB_OP_TRANSPOSE, &x.op, 1, call->loc, y);
  if (idx >= 0) fab_op_set_ints(e->m, &e->f->ops[idx], "perm", perm, x.type.rank);
  return finish_layer(e, idx, y);
}

static value emit_reshape(elab *e, const ast_expr *call, value x, fab_type y) {
  int idx = elab_op(e, FAB_OP_RESHAPE, &x.op, 1, call->loc, y);
  if (idx >= 0) fab_op_set_ints(e->m, &e->f->ops[idx], "shape", y.dims, y.rank);
  return finish_layer(e, idx, y);
}

/* matmul(a, b, transpose_b = false): batched a[.., m, k] @ b[.., k, n]
 * (torch.matmul with equal leading axes; transpose_b takes b as [.., n, k]). */
static value f_matmul(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 2, "[.., m, k]") || !need(e, call, a[1], FAB_F32, 2, "[.., k, n]"))
    return poison;
  fab_type y = a[0].type;
  const fab_type *b = &a[1].type;
  y.dims[y.rank - 1] = b->dims[b->rank - (a[2].i ? 2 : 1)];
  int ops[2] = {a[0].op, a[1].op};
  static const char *const keys[] = {"transpose_b"};
  int64_t tb = a[2].i != 0;
  return elab_tensor(elab_emit(e, FAB_OP_MATMUL, ops, 2, call->loc, y, keys, &tb, tb ? 1 : 0), y);
}

/* transpose(x, dim0, dim1): swaps two axes (torch.transpose). */
static value f_transpose(elab *e, scope *s, const ast_expr *call, const value *a) {
  int a0, a1;
  if (!need(e, call, a[0], FAB_F32, 1, "tensor") || !axis_arg(e, call, &a[0].type, a[1].i, &a0) ||
      !axis_arg(e, call, &a[0].type, a[2].i, &a1))
    return poison;
  return emit_transpose(e, call, a[0], a0, a1);
}

/* split_heads(x, heads): [.., s, d] -> [.., heads, s, d / heads], i.e.
 * x.view(.., s, heads, d / heads).transpose(-2, -3). */
static value f_split_heads(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 2, "[.., seq, d]") || !positive(e, call, "heads", a[1].i))
    return poison;
  fab_type y = a[0].type;
  int64_t d = y.dims[y.rank - 1], heads = a[1].i;
  if (d % heads != 0 || y.rank == FAB_MAX_RANK) {
    if (d % heads != 0)
      fab_error(e->d, call->loc, "split_heads: hidden size %lld is not divisible by %lld heads",
                (long long)d, (long long)heads);
    else
      fab_error(e->d, call->loc, "split_heads: the result would have more than %d dimensions",
                FAB_MAX_RANK);
    return poison;
  }
  y.dims[y.rank - 1] = heads;
  y.dims[y.rank++] = d / heads;
  value v = emit_reshape(e, call, a[0], y);
  return v.kind == V_ERROR ? v : emit_transpose(e, call, v, y.rank - 3, y.rank - 2);
}

/* merge_heads(x): [.., heads, s, dh] -> [.., s, heads * dh], the inverse. */
static value f_merge_heads(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 3, "[.., heads, seq, dh]")) return poison;
  int r = a[0].type.rank;
  value v = emit_transpose(e, call, a[0], r - 3, r - 2);
  if (v.kind == V_ERROR) return v;
  fab_type y = v.type;
  y.dims[r - 2] = y.dims[r - 2] * y.dims[r - 1];
  y.rank--;
  return emit_reshape(e, call, v, y);
}

/* ---- normalisation and activations ------------------------------------------ */

/* layernorm(x, eps = 1e-5, affine = true) as name: name.weight (ones) and
 * name.bias (zeros); without affine, constant ones and zeros. */
static value f_layernorm(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, a[2].i ? "layernorm" : NULL);
  if (!path || !need(e, call, a[0], FAB_F32, 1, "[.., d]")) return poison;
  if (!(a[1].f > 0)) {
    fab_error(e->d, call->loc, "layernorm: eps must be positive");
    return poison;
  }
  int64_t d = a[0].type.dims[a[0].type.rank - 1];
  fab_type v = vec_type(1, &d);
  int ops[3] = {a[0].op, -1, -1};
  if (a[2].i) {
    ops[1] = elab_weight(e, elab_join(e, path, "weight"), v, (fab_init){FAB_INIT_ONES, 0, 0}, call->loc);
    if (ops[1] < 0) return poison;
    ops[2] = elab_weight(e, elab_join(e, path, "bias"), v, (fab_init){FAB_INIT_ZEROS, 0, 0}, call->loc);
  } else {
    for (int i = 1; i <= 2; i++) {
      ops[i] = elab_op(e, FAB_OP_CONST, NULL, 0, call->loc, v);
      if (ops[i] >= 0) fab_op_set_float(e->m, &e->f->ops[ops[i]], "value", i == 1 ? 1.0 : 0.0);
      ops[i] = elab_finish(e, ops[i]);
    }
  }
  if (ops[1] < 0 || ops[2] < 0) return poison;
  int idx = elab_op(e, FAB_OP_LAYERNORM, ops, 3, call->loc, a[0].type);
  if (idx >= 0) fab_op_set_float(e->m, &e->f->ops[idx], "eps", a[1].f);
  return finish_layer(e, idx, a[0].type);
}

/* gelu(x, approx = "erf" | "tanh") */
static value f_gelu(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 1, "tensor")) return poison;
  if (strcmp(a[1].s, "erf") != 0 && strcmp(a[1].s, "tanh") != 0) {
    fab_error(e->d, call->loc, "gelu: approx must be \"erf\" or \"tanh\", not \"%s\"", a[1].s);
    return poison;
  }
  int idx = elab_op(e, FAB_OP_GELU, &a[0].op, 1, call->loc, a[0].type);
  if (idx >= 0) fab_op_set_str(e->m, &e->f->ops[idx], "approx", a[1].s);
  return finish_layer(e, idx, a[0].type);
}

static value f_relu(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 1, "tensor")) return poison;
  return elab_tensor(elab_emit(e, FAB_OP_RELU, &a[0].op, 1, call->loc, a[0].type, NULL, NULL, 0),
                     a[0].type);
}

/* softmax(x, scale = 1.0, mask = none, causal = 0): over the last axis of
 * scale * x, leaving out masked columns (and, causal, those after the
 * row's index on axis -2) */
static value f_softmax(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 1, "tensor")) return poison;
  int ops[2] = {a[0].op, -1}, mask, r = a[0].type.rank;
  if (!mask_arg(e, call, a[2], a[0], r - 1, a[0].type.dims[r - 1], true, &mask) ||
      !causal_arg(e, call, a[3].i))
    return poison;
  if (a[3].i && (r < 2 || a[0].type.dims[r - 2] != a[0].type.dims[r - 1])) {
    char b[160];
    fab_error(e->d, call->loc, "softmax: causal = 1 needs square scores [.., s, s] (rows on axis -2), got %s",
              fab_type_str(&a[0].type, b, sizeof b));
    return poison;
  }
  int idx = elab_op(e, FAB_OP_SOFTMAX, ops, with_mask(ops, 1, mask), call->loc, a[0].type);
  if (idx >= 0 && a[1].f != 1.0) fab_op_set_float(e->m, &e->f->ops[idx], "scale", a[1].f);
  if (idx >= 0 && a[3].i) fab_op_set_int(e->m, &e->f->ops[idx], "causal", 1);
  return finish_layer(e, idx, a[0].type);
}

/* scale(x, factor) */
static value f_scale(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 1, "tensor")) return poison;
  int idx = elab_op(e, FAB_OP_SCALE, &a[0].op, 1, call->loc, a[0].type);
  if (idx >= 0) fab_op_set_float(e->m, &e->f->ops[idx], "factor", a[1].f);
  return finish_layer(e, idx, a[0].type);
}

/* fourier(x): Re(FFT2) over the last two axes (sequence, hidden). */
static value f_fourier(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 2, "[.., seq, d]")) return poison;
  int idx = elab_emit(e, FAB_OP_FOURIER_MIX, &a[0].op, 1, call->loc, a[0].type, NULL, NULL, 0);
  /* Parameter-free layers are named for statistics and profiles. */
  const char *path = idx >= 0 ? elab_path(e, s, call, NULL) : NULL;
  if (path) fab_op_set_str(e->m, &e->f->ops[idx], "hint.name", elab_join(e, path, "mix"));
  return elab_tensor(idx, a[0].type);
}

/* ---- embeddings and pooling ---------------------------------------------- */

/* embed(ids, vocab, dim) as name: nn.Embedding, name.weight [vocab, dim] */
static value f_embed(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, "embed");
  if (!path || !need(e, call, a[0], FAB_I32, 1, "token ids [.., seq]")) return poison;
  if (!positive(e, call, "the vocabulary size", a[1].i) || !positive(e, call, "dim", a[2].i))
    return poison;
  if (a[0].type.rank == FAB_MAX_RANK) {
    fab_error(e->d, call->loc, "embed: the result would have more than %d dimensions", FAB_MAX_RANK);
    return poison;
  }
  fab_type y = a[0].type;
  y.dtype = FAB_F32;
  y.dims[y.rank++] = a[2].i;
  if (!elab_check_type(e, call->loc, &y)) return poison;
  int64_t w[2] = {a[1].i, a[2].i};
  int ops[2] = {a[0].op, elab_weight(e, elab_join(e, path, "weight"), vec_type(2, w),
                                     (fab_init){FAB_INIT_NORMAL, 0, 1}, call->loc)};
  if (ops[1] < 0) return poison;
  return elab_tensor(elab_emit(e, FAB_OP_EMBED, ops, 2, call->loc, y, NULL, NULL, 0), y);
}

/* posembed(len, dim, maxlen = len) as name: a learned positional table
 * name.weight [maxlen, dim] (nn.Embedding); its first `len` rows. */
static value f_posembed(elab *e, scope *s, const ast_expr *call, const value *a) {
  const char *path = elab_path(e, s, call, "posembed");
  if (!path) return poison;
  int64_t len = a[0].i, dim = a[1].i, maxlen = a[2].i ? a[2].i : len;
  if (!positive(e, call, "len", len) || !positive(e, call, "dim", dim)) return poison;
  if (maxlen < len) {
    fab_error(e->d, call->loc, "posembed: maxlen %lld is shorter than the sequence (%lld)",
              (long long)maxlen, (long long)len);
    return poison;
  }
  int64_t w[2] = {maxlen, dim}, r[2] = {len, dim};
  int idx = elab_weight(e, elab_join(e, path, "weight"), vec_type(2, w),
                        (fab_init){FAB_INIT_NORMAL, 0, 1}, call->loc);
  if (idx < 0 || maxlen == len) return elab_tensor(idx, vec_type(2, w));
  static const char *const keys[] = {"axis", "start", "size"};
  int64_t vals[] = {0, 0, len};
  return elab_tensor(elab_emit(e, FAB_OP_SLICE, &idx, 1, call->loc, vec_type(2, r), keys, vals, 3),
                     vec_type(2, r));
}

/* meanpool(x, mask = none): mean over the sequence axis (over the tokens
 * whose flag is 1), [.., seq, d] -> [.., d] */
static value f_meanpool(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (!need(e, call, a[0], FAB_F32, 2, "[.., seq, d]")) return poison;
  int ops[2] = {a[0].op, -1}, mask, r = a[0].type.rank;
  if (!mask_arg(e, call, a[1], a[0], r - 2, a[0].type.dims[r - 2], false, &mask)) return poison;
  fab_type y = a[0].type;
  y.dims[y.rank - 2] = y.dims[y.rank - 1];
  y.rank--;
  return elab_tensor(elab_emit(e, FAB_OP_MEANPOOL, ops, with_mask(ops, 1, mask), call->loc, y, NULL, NULL, 0), y);
}

/* take(x, index): one token, [.., seq, d] -> [.., d]; cls(x) = take(x, 0) */
static value take(elab *e, const ast_expr *call, value x, int64_t index) {
  if (!need(e, call, x, FAB_F32, 2, "[.., seq, d]")) return poison;
  int64_t seq = x.type.dims[x.type.rank - 2];
  if (index < 0 || index >= seq) {
    fab_error(e->d, call->loc, "%s: index %lld is outside the sequence [0, %lld)", call->s,
              (long long)index, (long long)seq);
    return poison;
  }
  fab_type y = x.type;
  y.dims[y.rank - 2] = y.dims[y.rank - 1];
  y.rank--;
  static const char *const keys[] = {"index"};
  return elab_tensor(elab_emit(e, FAB_OP_TAKE, &x.op, 1, call->loc, y, keys, &index, 1), y);
}

static value f_take(elab *e, scope *s, const ast_expr *call, const value *a) {
  return take(e, call, a[0], a[1].i);
}

static value f_cls(elab *e, scope *s, const ast_expr *call, const value *a) {
  return take(e, call, a[0], 0);
}

/* ---- integer helpers ------------------------------------------------------- */

/* log2(n): n must be a power of two. */
static value f_log2(elab *e, scope *s, const ast_expr *call, const value *a) {
  int64_t n = a[0].i;
  if (n < 1 || (n & (n - 1))) {
    fab_error(e->d, call->loc, "log2: %lld is not a power of two", (long long)n);
    return poison;
  }
  int64_t k = 0;
  while (((int64_t)1 << k) < n) k++;
  return int_value(k);
}

static value f_pow2(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (a[0].i < 0 || a[0].i > 62) {
    fab_error(e->d, call->loc, "pow2: exponent %lld is outside [0, 62]", (long long)a[0].i);
    return poison;
  }
  return int_value((int64_t)1 << a[0].i);
}

static value f_nextpow2(elab *e, scope *s, const ast_expr *call, const value *a) {
  if (a[0].i < 1 || a[0].i > ((int64_t)1 << 62)) {
    fab_error(e->d, call->loc, "nextpow2: %lld is outside [1, 2^62]", (long long)a[0].i);
    return poison;
  }
  return int_value(next_pow2(a[0].i));
}

static value f_min(elab *e, scope *s, const ast_expr *call, const value *a) {
  return int_value(a[0].i < a[1].i ? a[0].i : a[1].i);
}

static value f_max(elab *e, scope *s, const ast_expr *call, const value *a) {
  return int_value(a[0].i > a[1].i ? a[0].i : a[1].i);
}

/* ---- the table ----------------------------------------------------------------- */

static const builtin builtins[] = {
  {"bfly", f_bfly, 5, {REQ("x", V_TENSOR), REQ("out", V_INT), OPT_I("bias", 1),
                       OPT_I("increasing", 1), OPT_I("nblocks", 1)}},
  {"linear", f_linear, 3, {REQ("x", V_TENSOR), REQ("out", V_INT), OPT_I("bias", 1)}},
  {"mha", f_mha, 9, {REQ("x", V_TENSOR), REQ("heads", V_INT), OPT_S("proj", "bfly"),
                     OPT_S("names", "short"), OPT_I("bias", 1), OPT_I("increasing", 1),
                     OPT_I("nblocks", 1), OPT_T("mask"), OPT_I("causal", 0)}},
  {"fourier", f_fourier, 1, {REQ("x", V_TENSOR)}},
  {"matmul", f_matmul, 3, {REQ("a", V_TENSOR), REQ("b", V_TENSOR), OPT_I("transpose_b", 0)}},
  {"transpose", f_transpose, 3, {REQ("x", V_TENSOR), REQ("dim0", V_INT), REQ("dim1", V_INT)}},
  {"split_heads", f_split_heads, 2, {REQ("x", V_TENSOR), REQ("heads", V_INT)}},
  {"merge_heads", f_merge_heads, 1, {REQ("x", V_TENSOR)}},
  {"layernorm", f_layernorm, 3, {REQ("x", V_TENSOR), OPT_F("eps", 1e-5), OPT_I("affine", 1)}},
  {"gelu", f_gelu, 2, {REQ("x", V_TENSOR), OPT_S("approx", "erf")}},
  {"relu", f_relu, 1, {REQ("x", V_TENSOR)}},
  {"softmax", f_softmax, 4, {REQ("x", V_TENSOR), OPT_F("scale", 1.0), OPT_T("mask"), OPT_I("causal", 0)}},
  {"scale", f_scale, 2, {REQ("x", V_TENSOR), REQ("factor", V_FLOAT)}},
  {"embed", f_embed, 3, {REQ("ids", V_TENSOR), REQ("vocab", V_INT), REQ("dim", V_INT)}},
  {"posembed", f_posembed, 3, {REQ("len", V_INT), REQ("dim", V_INT), OPT_I("maxlen", 0)}},
  {"meanpool", f_meanpool, 2, {REQ("x", V_TENSOR), OPT_T("mask")}},
  {"take", f_take, 2, {REQ("x", V_TENSOR), REQ("index", V_INT)}},
  {"cls", f_cls, 1, {REQ("x", V_TENSOR)}},
  {"log2", f_log2, 1, {REQ("n", V_INT)}},
  {"pow2", f_pow2, 1, {REQ("k", V_INT)}},
  {"nextpow2", f_nextpow2, 1, {REQ("n", V_INT)}},
  {"min", f_min, 2, {REQ("a", V_INT), REQ("b", V_INT)}},
  {"max", f_max, 2, {REQ("a", V_INT), REQ("b", V_INT)}},
};

const builtin *builtin_find(const char *name) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
  return NULL;
}

value builtin_call(elab *e, scope *s, const builtin *b, const ast_expr *call) {
  value a[BUILTIN_MAX_ARGS];
  const char *what = fab_arena_printf(e->tmp, "'%s'", b->name);
  if (!elab_bind_args(e, s, call, what, b->nargs, b->args, a)) return poison;
  return b->fn(e, s, call, a);
}
