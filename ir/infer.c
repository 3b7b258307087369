/* infer.c — the type rule of every op in ops.def (fab_infer_op).
 *
 * Contract: given an op whose operands index ops of `f` that already carry
 * valid types, compute op->type (sources keep theirs and are only checked;
 * `output` takes its operand's type).  On any violation write one short,
 * lowercase message naming the values, prefixed with the op name, and
 * return false; op->type is then left unchanged.  Never trusts its input:
 * operand indices, ranks, dims and attribute kinds are all checked, and
 * every element count goes through fab_type_numel's overflow guard.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

typedef struct ctx {
  const fab_module *m;
  const fab_func *f;
  fab_op *op;
  const char *name; /* op keyword, prefixes every message */
  char *err;
  size_t errlen;
} ctx;

enum { TYPE_BUF = 160 };

static bool fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(ctx *c, const char *fmt, ...) {
  if (!c->err || c->errlen == 0) return false;
  int k = snprintf(c->err, c->errlen, "%s: ", c->name);
  if (k < 0 || (size_t)k >= c->errlen) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
  va_end(ap);
  return false;
}

/* "[1,2,3]": a shape without its dtype. */
static const char *shape_str(const fab_type *t, char *buf) {
  size_t k = 0;
  buf[k++] = '[';
  for (int i = 0; i < t->rank && k < TYPE_BUF - 24; i++)
    k += (size_t)snprintf(buf + k, TYPE_BUF - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  snprintf(buf + k, TYPE_BUF - k, "]");
  return buf;
}

static const char *type_str(const fab_type *t, char *buf) { return fab_type_str(t, buf, TYPE_BUF); }

static bool is_pow2(int64_t n) { return n >= 1 && (n & (n - 1)) == 0; }

static int log2_exact(int64_t n) {
  int k = 0;
  while (((int64_t)1 << k) < n) k++;
  return k;
}

/* A type anyone could have built by hand: sane dtype, rank and dims. */
static bool type_ok(ctx *c, const char *what, const fab_type *t) {
  if ((unsigned)t->dtype >= FAB_DTYPE_COUNT) return fail(c, "%s has an invalid dtype", what);
  if (t->rank < 0 || t->rank > FAB_MAX_RANK)
    return fail(c, "%s has rank %d (must be 0..%d)", what, t->rank, FAB_MAX_RANK);
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 1)
      return fail(c, "%s has dim %d of size %lld (must be >= 1)", what, i, (long long)t->dims[i]);
  if (fab_type_numel(t) < 0)
    return fail(c, "%s has more than %lld elements", what, (long long)FAB_MAX_ELEMENTS);
  return true;
}

static bool result(ctx *c, fab_type t) {
  if (!type_ok(c, "result", &t)) return false;
  c->op->type = t;
  return true;
}

/* ---- attributes --------------------------------------------------------- */

static const fab_attr *attr(ctx *c, const char *key, fab_attr_kind kind, bool required,
                            bool *ok) {
  static const char *kinds[] = {"an integer", "a float", "a string", "an integer list"};
  const fab_attr *a = fab_op_attr(c->op, key);
  *ok = true;
  if (!a) {
    if (required) *ok = fail(c, "missing attribute '%s'", key);
    return NULL;
  }
  if (a->kind != kind) {
    *ok = fail(c, "attribute '%s' must be %s", key, kinds[kind]);
    return NULL;
  }
  return a;
}

static bool get_int(ctx *c, const char *key, int64_t *v) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_INT, true, &ok);
  *v = a ? a->i : 0;
  return ok;
}

static bool opt_int(ctx *c, const char *key, int64_t dflt, int64_t *v) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_INT, false, &ok);
  *v = a ? a->i : dflt;
  return ok;
}

static bool get_float(ctx *c, const char *key, bool required, double dflt, double *v) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_FLOAT, required, &ok);
  *v = a ? a->f : dflt;
  if (ok && !isfinite(*v)) return fail(c, "%s=%g must be finite", key, *v);
  return ok;
}

static bool get_str(ctx *c, const char *key, const char **v) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_STR, true, &ok);
  *v = a && a->s ? a->s : "";
  return ok;
}

static bool get_ints(ctx *c, const char *key, const int64_t **v, int *n) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_INTS, true, &ok);
  *v = a ? a->ints : NULL;
  *n = a && a->ints ? a->nints : 0;
  return ok;
}

static bool flag01(ctx *c, const char *key, int64_t v) {
  return v == 0 || v == 1 ? true : fail(c, "%s=%lld must be 0 or 1", key, (long long)v);
}

static bool gelu_approx(ctx *c) {
  const char *s;
  if (!get_str(c, "approx", &s)) return false;
  if (strcmp(s, "erf") != 0 && strcmp(s, "tanh") != 0)
    return fail(c, "approx=\"%.40s\" must be \"erf\" or \"tanh\"", s);
  return true;
}

/* ---- operand checks ----------------------------------------------------- */

static const fab_type *arg(ctx *c, int i) { return &c->f->ops[c->op->operands[i]].type; }

static bool want_dtype(ctx *c, const char *what, const fab_type *t, fab_dtype dt) {
  char b[TYPE_BUF];
  if (t->dtype == dt) return true;
  return fail(c, "%s must be %s, got %s", what, fab_dtype_name(dt), type_str(t, b));
}

static bool want_float(ctx *c, const char *what, const fab_type *t) {
  return want_dtype(c, what, t, FAB_F32);
}

static bool want_rank(ctx *c, const char *what, const fab_type *t, int min, const char *form) {
  char b[TYPE_BUF];
  if (t->rank >= min) return true;
  return fail(c, "%s must be %s, got %s", what, form, type_str(t, b));
}

/* A vector [n] of f32 (bias, gamma, beta). */
static bool want_vector(ctx *c, const char *what, const fab_type *t, int64_t n) {
  char b[TYPE_BUF];
  if (!want_float(c, what, t)) return false;
  if (t->rank == 1 && t->dims[0] == n) return true;
  return fail(c, "%s has shape %s but needs [%lld]", what, shape_str(t, b), (long long)n);
}

static bool same_type(ctx *c, const char *wa, const fab_type *a, const char *wb,
                      const fab_type *b) {
  char x[TYPE_BUF], y[TYPE_BUF];
  if (fab_type_equal(a, b)) return true;
  return fail(c, "%s is %s but %s is %s", wa, type_str(a, x), wb, type_str(b, y));
}

/* Resolves a possibly negative axis against `rank`. */
static bool axis_of(ctx *c, const fab_type *t, int *axis) {
  int64_t a;
  if (!get_int(c, "axis", &a)) return false;
  int64_t r = a < 0 ? a + t->rank : a;
  if (r < 0 || r >= t->rank)
    return fail(c, "axis %lld out of range for rank %d", (long long)a, t->rank);
  *axis = (int)r;
  return true;
}

/* ---- rules -------------------------------------------------------------- */

static bool infer_source(ctx *c) {
  fab_op *op = c->op;
  if (!type_ok(c, "declared type", &op->type)) return false;
  const char *name;
  int64_t index;
  double value;
  char a[TYPE_BUF], b[TYPE_BUF];
  switch (op->code) {
  case FAB_OP_INPUT:
    if (!get_str(c, "name", &name) || !get_int(c, "index", &index)) return false;
    if (index < 0) return fail(c, "index=%lld must be >= 0", (long long)index);
    return true;
  case FAB_OP_WEIGHT: {
    if (!get_str(c, "name", &name)) return false;
    int p = c->m ? fab_module_find_param(c->m, name) : -1;
    if (p < 0) return fail(c, "no parameter named \"%.200s\"", name);
    const fab_type *pt = &c->m->params[p].type;
    if (!fab_type_equal(pt, &op->type))
      return fail(c, "type %s does not match parameter \"%.200s\" of type %s",
                  type_str(&op->type, a), name, type_str(pt, b));
    return true;
  }
  case FAB_OP_CONST:
    if (!want_float(c, "const", &op->type)) return false;
    return get_float(c, "value", true, 0, &value);
  default: return fail(c, "not a source op");
  }
}

static bool infer_bfly_linear(ctx *c) {
  fab_op *op = c->op;
  int64_t in, out, nblocks, inc;
  if (!get_int(c, "in", &in) || !get_int(c, "out", &out) || !get_int(c, "nblocks", &nblocks) ||
      !get_int(c, "increasing", &inc))
    return false;
  if (in < 1 || in > FAB_MAX_ELEMENTS) return fail(c, "in=%lld must be in 1..2^34", (long long)in);
  if (out < 1 || out > FAB_MAX_ELEMENTS)
    return fail(c, "out=%lld must be in 1..2^34", (long long)out);
  if (nblocks < 1 || nblocks > 1024)
    return fail(c, "nblocks=%lld must be in 1..1024", (long long)nblocks);
  if (!flag01(c, "increasing", inc)) return false;
  if (in < 2) return fail(c, "in=1 gives a butterfly of size 1 with no stages (needs in >= 2)");
  const fab_type *x = arg(c, 0), *tw = arg(c, 1);
  char b[TYPE_BUF], e[TYPE_BUF];
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 1, "[.., in]")) return false;
  if (x->dims[x->rank - 1] != in)
    return fail(c, "x has shape %s but in=%lld", shape_str(x, b), (long long)in);
  int64_t n = 1;
  while (n < in) n *= 2;
  int64_t nstacks = (out + n - 1) / n;
  int64_t want_dims[6] = {nstacks, nblocks, log2_exact(n), n / 2, 2, 2};
  fab_type want = fab_type_make(FAB_F32, 6, want_dims);
  if (!want_float(c, "twiddle", tw)) return false;
  if (!fab_type_equal(tw, &want)) {
    shape_str(tw, b);
    shape_str(&want, e);
    if (tw->rank != 6 || tw->dims[2] != want_dims[2] || tw->dims[3] != want_dims[3])
      return fail(c, "twiddle has shape %s but in=%lld needs %s", b, (long long)in, e);
    if (tw->dims[0] != nstacks)
      return fail(c, "twiddle has shape %s but out=%lld needs %s", b, (long long)out, e);
    if (tw->dims[1] != nblocks)
      return fail(c, "twiddle has shape %s but nblocks=%lld needs %s", b, (long long)nblocks, e);
    return fail(c, "twiddle has shape %s but needs %s", b, e);
  }
  if (op->noperands == 3 && !want_vector(c, "bias", arg(c, 2), out)) return false;
  fab_type r = *x;
  r.dims[r.rank - 1] = out;
  return result(c, r);
}

static bool infer_dense(ctx *c) {
  const fab_type *x = arg(c, 0), *w = arg(c, 1);
  char b[TYPE_BUF];
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 1, "[.., in]")) return false;
  if (!want_float(c, "w", w)) return false;
  int64_t in = x->dims[x->rank - 1];
  if (w->rank != 2 || w->dims[1] != in)
    return fail(c, "w has shape %s but x has %lld features (needs [out, %lld])", shape_str(w, b),
                (long long)in, (long long)in);
  if (c->op->noperands == 3 && !want_vector(c, "b", arg(c, 2), w->dims[0])) return false;
  fab_type r = *x;
  r.dims[r.rank - 1] = w->dims[0];
  return result(c, r);
}

/* q[.., s, d], k[.., t, d], v[.., t, d] (mha, attention; the result is
 * q's type, set by the caller after its own checks) */
static bool attention_shapes(ctx *c) {
  const fab_type *q = arg(c, 0), *k = arg(c, 1), *v = arg(c, 2);
  char a[TYPE_BUF], b[TYPE_BUF];
  if (!want_float(c, "q", q) || !want_float(c, "k", k) || !want_float(c, "v", v)) return false;
  if (!want_rank(c, "q", q, 2, "[.., s, d]")) return false;
  if (!same_type(c, "k", k, "v", v)) return false;
  bool lead_ok = q->rank == k->rank;
  for (int i = 0; lead_ok && i < q->rank - 2; i++) lead_ok = q->dims[i] == k->dims[i];
  if (!lead_ok || q->dims[q->rank - 1] != k->dims[k->rank - 1])
    return fail(c, "q has shape %s but k, v have shape %s (needs the same leading axes and d)",
                shape_str(q, a), shape_str(k, b));
  return true;
}

/* The optional mask operand (operand `mi`, when present): i32 [p.., t]
 * with p.. the first `nlead` axes of x (exact) or a prefix of them; and
 * the optional causal flag, which needs as many rows `s` as columns t. */
static bool mask_rule(ctx *c, int mi, const fab_type *x, int nlead, int64_t s, int64_t t, bool exact) {
  int64_t causal;
  if (!opt_int(c, "causal", 0, &causal) || !flag01(c, "causal", causal)) return false;
  if (causal && s != t)
    return fail(c, "causal=1 needs as many queries as keys (got %lld and %lld)", (long long)s,
                (long long)t);
  if (c->op->noperands <= mi) return true;
  const fab_type *m = arg(c, mi);
  char a[TYPE_BUF], b[TYPE_BUF];
  if (!want_dtype(c, "mask", m, FAB_I32)) return false;
  bool ok = m->rank >= 1 && m->rank - 1 <= nlead && (!exact || m->rank - 1 == nlead) &&
            m->dims[m->rank - 1] == t;
  for (int i = 0; ok && i < m->rank - 1; i++) ok = m->dims[i] == x->dims[i];
  if (ok) return true;
  fab_type lead = *x;
  lead.rank = nlead;
  if (exact) {
    lead.dims[lead.rank++] = t;
    return fail(c, "mask has shape %s but needs %s (one flag per token)", shape_str(m, a),
                shape_str(&lead, b));
  }
  return fail(c, "mask has shape %s but needs [p.., %lld] with p.. a prefix of the leading axes %s",
              shape_str(m, a), (long long)t, shape_str(&lead, b));
}

static bool infer_mha(ctx *c) {
  int64_t heads;
  if (!get_int(c, "heads", &heads)) return false;
  if (heads < 1) return fail(c, "heads=%lld must be >= 1", (long long)heads);
  if (!attention_shapes(c)) return false;
  int64_t d = arg(c, 0)->dims[arg(c, 0)->rank - 1];
  if (d % heads != 0)
    return fail(c, "d=%lld is not divisible by heads=%lld", (long long)d, (long long)heads);
  const fab_type *q = arg(c, 0), *k = arg(c, 1);
  return mask_rule(c, 3, q, q->rank - 2, q->dims[q->rank - 2], k->dims[k->rank - 2], true) &&
         result(c, *q);
}

static bool infer_attention(ctx *c) {
  double scale;
  int64_t block;
  if (!get_float(c, "scale", true, 1, &scale) || !get_int(c, "block", &block)) return false;
  if (block < 1) return fail(c, "block=%lld must be >= 1", (long long)block);
  if (!attention_shapes(c)) return false;
  const fab_type *q = arg(c, 0), *k = arg(c, 1);
  return mask_rule(c, 3, q, q->rank - 2, q->dims[q->rank - 2], k->dims[k->rank - 2], false) &&
         result(c, *q);
}

/* x[.., d] with gamma[d], beta[d] at operands g, g+1. */
static bool norm_params(ctx *c, int g) {
  const fab_type *x = arg(c, 0);
  double eps;
  if (!get_float(c, "eps", true, 0, &eps)) return false;
  if (eps < 0) return fail(c, "eps=%g must be >= 0", eps);
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 1, "[.., d]")) return false;
  int64_t d = x->dims[x->rank - 1];
  return want_vector(c, "gamma", arg(c, g), d) && want_vector(c, "beta", arg(c, g + 1), d);
}

static bool infer_unary_f32(ctx *c) {
  const fab_type *x = arg(c, 0);
  if (!want_float(c, "x", x)) return false;
  return result(c, *x);
}

static bool infer_binary(ctx *c) {
  const fab_type *a = arg(c, 0), *b = arg(c, 1);
  char x[TYPE_BUF], y[TYPE_BUF];
  if (a->dtype == FAB_I32) return want_float(c, "a", a);
  if (a->dtype != b->dtype)
    return fail(c, "a is %s but b is %s (dtypes differ)", type_str(a, x), type_str(b, y));
  bool suffix = b->rank <= a->rank;
  for (int i = 0; suffix && i < b->rank; i++)
    suffix = b->dims[b->rank - 1 - i] == a->dims[a->rank - 1 - i];
  if (!suffix)
    return fail(c, "b has shape %s, which is not a suffix of a's shape %s", shape_str(b, y),
                shape_str(a, x));
  return result(c, *a);
}

static bool infer_embed(ctx *c) {
  const fab_type *ids = arg(c, 0), *table = arg(c, 1);
  char b[TYPE_BUF];
  if (!want_dtype(c, "ids", ids, FAB_I32) || !want_rank(c, "ids", ids, 1, "[.., s]")) return false;
  if (!want_float(c, "table", table)) return false;
  if (table->rank != 2) return fail(c, "table has shape %s but needs [V, d]", shape_str(table, b));
  if (ids->rank + 1 > FAB_MAX_RANK) return fail(c, "result rank %d exceeds %d", ids->rank + 1, FAB_MAX_RANK);
  fab_type r = *ids;
  r.dtype = FAB_F32;
  r.dims[r.rank++] = table->dims[1];
  return result(c, r);
}

/* meanpool and take: [.., s, d] -> [.., d] */
static bool infer_pool(ctx *c, bool take) {
  const fab_type *x = arg(c, 0);
  if (!want_rank(c, "x", x, 2, "[.., s, d]")) return false;
  if (!take && !want_float(c, "x", x)) return false;
  int64_t s = x->dims[x->rank - 2];
  if (take) {
    int64_t index;
    if (!get_int(c, "index", &index)) return false;
    if (index < 0 || index >= s)
      return fail(c, "index=%lld out of range for an axis of size %lld", (long long)index,
                  (long long)s);
  }
  if (!take && !mask_rule(c, 1, x, x->rank - 2, s, s, true)) return false;
  fab_type r = *x;
  r.dims[r.rank - 2] = r.dims[r.rank - 1];
  r.rank--;
  return result(c, r);
}

static bool infer_pad(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0;
  int64_t size;
  if (!axis_of(c, &r, &axis) || !get_int(c, "size", &size)) return false;
  if (size < r.dims[axis])
    return fail(c, "size=%lld is smaller than axis %d of size %lld", (long long)size, axis,
                (long long)r.dims[axis]);
  if (size > FAB_MAX_ELEMENTS) return fail(c, "size=%lld is too large", (long long)size);
  r.dims[axis] = size;
  return result(c, r);
}

static bool infer_slice(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0;
  int64_t start, size;
  if (!axis_of(c, &r, &axis) || !get_int(c, "start", &start) || !get_int(c, "size", &size))
    return false;
  int64_t dim = r.dims[axis];
  if (start < 0 || size < 1 || start > dim || size > dim - start)
    return fail(c, "start=%lld size=%lld out of range for axis %d of size %lld", (long long)start,
                (long long)size, axis, (long long)dim);
  r.dims[axis] = size;
  return result(c, r);
}

static bool infer_reshape(ctx *c) {
  const fab_type *x = arg(c, 0);
  const int64_t *shape;
  int n;
  char b[TYPE_BUF], e[TYPE_BUF];
  if (!get_ints(c, "shape", &shape, &n)) return false;
  if (n > FAB_MAX_RANK) return fail(c, "shape has rank %d (must be 0..%d)", n, FAB_MAX_RANK);
  fab_type r = {.dtype = x->dtype, .rank = n};
  for (int i = 0; i < n; i++) {
    if (shape[i] < 1) return fail(c, "shape dim %d is %lld (must be >= 1)", i, (long long)shape[i]);
    r.dims[i] = shape[i];
  }
  int64_t want = fab_type_numel(x), got = fab_type_numel(&r);
  if (got != want)
    return fail(c, "shape %s does not have the %lld elements of %s", shape_str(&r, e),
                (long long)want, shape_str(x, b));
  return result(c, r);
}

static bool infer_transpose(ctx *c) {
  const fab_type *x = arg(c, 0);
  const int64_t *perm;
  int n;
  if (!get_ints(c, "perm", &perm, &n)) return false;
  if (n != x->rank) return fail(c, "perm has %d entries but x has rank %d", n, x->rank);
  bool seen[FAB_MAX_RANK] = {false};
  fab_type r = *x;
  for (int i = 0; i < n; i++) {
    if (perm[i] < 0 || perm[i] >= n || seen[perm[i]])
      return fail(c, "perm is not a permutation of 0..%d (entry %d is %lld)", n - 1, i,
                  (long long)perm[i]);
    seen[perm[i]] = true;
    r.dims[i] = x->dims[perm[i]];
  }
  return result(c, r);
}

static bool infer_stack(ctx *c) {
  const fab_type *x = arg(c, 0);
  int64_t count;
  if (!get_int(c, "count", &count)) return false;
  if (count < 1) return fail(c, "count=%lld must be >= 1", (long long)count);
  if (!want_rank(c, "x", x, 1, "[.., n]")) return false;
  if (x->rank + 1 > FAB_MAX_RANK) return fail(c, "result rank %d exceeds %d", x->rank + 1, FAB_MAX_RANK);
  fab_type r = *x;
  r.dims[r.rank] = r.dims[r.rank - 1];
  r.dims[r.rank - 1] = count;
  r.rank++;
  return result(c, r);
}

static bool infer_scale(ctx *c) {
  const fab_type *x = arg(c, 0);
  double factor;
  if (!get_float(c, "factor", true, 1, &factor)) return false;
  if (x->dtype == FAB_I32) return want_float(c, "x", x);
  return result(c, *x);
}

static bool infer_bfly_stages(ctx *c) {
  const fab_type *x = arg(c, 0), *tw = arg(c, 1);
  const int64_t *st;
  int nst;
  char b[TYPE_BUF];
  if (!get_ints(c, "stages", &st, &nst)) return false;
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 2, "[.., S, n]")) return false;
  if (!want_float(c, "twiddle", tw)) return false;
  int64_t n = x->dims[x->rank - 1], S = x->dims[x->rank - 2];
  if (n < 2 || !is_pow2(n)) return fail(c, "x has row length %lld, not a power of two >= 2", (long long)n);
  int logn = log2_exact(n);
  if (tw->rank != 6 || tw->dims[0] != S || tw->dims[2] != logn || tw->dims[3] != n / 2 ||
      tw->dims[4] != 2 || tw->dims[5] != 2)
    return fail(c, "twiddle has shape %s but x [.., %lld, %lld] needs [%lld, nblocks, %d, %lld, 2, 2]",
                shape_str(tw, b), (long long)S, (long long)n, (long long)S, logn, (long long)(n / 2));
  if (nst == 0 || nst % 3 != 0)
    return fail(c, "stages has %d entries (needs a non-empty list of (block, stage, log2 stride) triples)", nst);
  for (int i = 0; i < nst; i += 3) {
    if (st[i] < 0 || st[i] >= tw->dims[1])
      return fail(c, "triple %d: block %lld out of range (nblocks=%lld)", i / 3, (long long)st[i],
                  (long long)tw->dims[1]);
    if (st[i + 1] < 0 || st[i + 1] >= logn)
      return fail(c, "triple %d: stage %lld out of range (log2 n=%d)", i / 3, (long long)st[i + 1], logn);
    if (st[i + 2] < 0 || st[i + 2] >= logn)
      return fail(c, "triple %d: log2 stride %lld out of range (log2 n=%d)", i / 3,
                  (long long)st[i + 2], logn);
  }
  return result(c, *x);
}

static bool infer_complex_real(ctx *c, fab_dtype from, fab_dtype to) {
  fab_type r = *arg(c, 0);
  if (!want_dtype(c, "x", &r, from)) return false;
  r.dtype = to;
  return result(c, r);
}

/* An optional radix list: each in 2..FAB_FFT_MAX_RADIX, product *prod. */
static bool opt_radices(ctx *c, const char *key, const int64_t **v, int *n, int64_t *prod) {
  bool ok;
  const fab_attr *a = attr(c, key, FAB_ATTR_INTS, false, &ok);
  *v = a ? a->ints : NULL;
  *n = a && a->ints ? a->nints : 0;
  *prod = 1;
  for (int i = 0; ok && i < *n; i++) {
    if ((*v)[i] < 2 || (*v)[i] > FAB_FFT_MAX_RADIX)
      return fail(c, "%s[%d] = %lld out of range 2..%d", key, i, (long long)(*v)[i], FAB_FFT_MAX_RADIX);
    if (*prod > FAB_MAX_ELEMENTS / (*v)[i]) return fail(c, "%s: product too large", key);
    *prod *= (*v)[i];
  }
  return ok;
}

static bool infer_bitrev(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0, nr;
  const int64_t *rad;
  int64_t prod;
  if (!axis_of(c, &r, &axis) || !opt_radices(c, "radices", &rad, &nr, &prod)) return false;
  if (rad && prod != r.dims[axis])
    return fail(c, "radices multiply to %lld, but axis %d has size %lld", (long long)prod, axis,
                (long long)r.dims[axis]);
  if (!rad && !is_pow2(r.dims[axis]))
    return fail(c, "axis %d has size %lld, not a power of two (digit reversal needs radices)", axis,
                (long long)r.dims[axis]);
  return result(c, r);
}

/* Radix-2 stages of size 2^k run on groups of 2^k consecutive elements:
 * every group lies inside one of the sub-transforms the radix stages
 * (product q) combine, of length n / q. */
static bool infer_fft_stages(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0, nst = 0, nq;
  int64_t real_out, q;
  const int64_t *st, *rad;
  if (!want_dtype(c, "x", &r, FAB_C64)) return false;
  if (!axis_of(c, &r, &axis) || !get_ints(c, "stages", &st, &nst) ||
      !opt_radices(c, "radix", &rad, &nq, &q) || !opt_int(c, "real_out", 0, &real_out) ||
      !flag01(c, "real_out", real_out))
    return false;
  int64_t n = r.dims[axis];
  if (n < 2) return fail(c, "axis %d has size %lld, less than 2", axis, (long long)n);
  if (n % q) return fail(c, "radix stages multiply to %lld, which does not divide axis %d of size %lld",
                         (long long)q, axis, (long long)n);
  if (nst == 0 && nq == 0) return fail(c, "stages is empty");
  for (int i = 0; i < nst; i++)
    if (st[i] < 1 || st[i] > 62 || (n / q) % ((int64_t)1 << st[i]))
      return fail(c, "stage %lld out of range: 2^stage must divide %lld (axis %d of size %lld%s)",
                  (long long)st[i], (long long)(n / q), axis, (long long)n,
                  nq ? " over the radix stages" : "");
  if (real_out) r.dtype = FAB_F32;
  return result(c, r);
}

static bool infer_dft(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0;
  if (!want_dtype(c, "x", &r, FAB_C64) || !axis_of(c, &r, &axis)) return false;
  return result(c, r);
}

/* n bounds t^2 for t < 2n - 1 well inside int64 (ir/fft.c); the spectrum
 * form needs its axis to be the power of two Bluestein pads to. */
static bool infer_fft_chirp(ctx *c) {
  fab_type r = *arg(c, 0);
  int axis = 0;
  int64_t n, spectrum;
  if (!want_dtype(c, "x", &r, FAB_C64) || !axis_of(c, &r, &axis) || !get_int(c, "n", &n) ||
      !opt_int(c, "spectrum", 0, &spectrum) || !flag01(c, "spectrum", spectrum))
    return false;
  if (n < 1 || n > FAB_FFT_MAX_CHIRP)
    return fail(c, "n=%lld out of range 1..%lld", (long long)n, (long long)FAB_FFT_MAX_CHIRP);
  int64_t M = r.dims[axis];
  if (spectrum && (!is_pow2(M) || M < 2 * n - 1))
    return fail(c, "spectrum = 1 needs axis %d to be a power of two >= 2n - 1 = %lld, got %lld", axis,
                (long long)(2 * n - 1), (long long)M);
  return result(c, r);
}

static bool infer_matmul(ctx *c) {
  const fab_type *a = arg(c, 0), *b = arg(c, 1);
  int64_t tb;
  char x[TYPE_BUF], y[TYPE_BUF];
  if (!opt_int(c, "transpose_b", 0, &tb) || !flag01(c, "transpose_b", tb)) return false;
  if (!want_float(c, "a", a) || !want_float(c, "b", b)) return false;
  if (!want_rank(c, "a", a, 2, "[.., m, k]")) return false;
  bool lead_ok = a->rank == b->rank;
  for (int i = 0; lead_ok && i < a->rank - 2; i++) lead_ok = a->dims[i] == b->dims[i];
  if (!lead_ok)
    return fail(c, "leading axes differ: a is %s, b is %s", shape_str(a, x), shape_str(b, y));
  int64_t k = a->dims[a->rank - 1];
  int64_t bk = b->dims[b->rank - (tb ? 1 : 2)], n = b->dims[b->rank - (tb ? 2 : 1)];
  if (bk != k)
    return fail(c, "a is %s but b is %s (inner sizes %lld and %lld differ%s)", shape_str(a, x),
                shape_str(b, y), (long long)k, (long long)bk, tb ? ", transpose_b=1" : "");
  fab_type r = *a;
  r.dims[r.rank - 1] = n;
  return result(c, r);
}

static bool infer_fourier_mix(ctx *c) {
  const fab_type *x = arg(c, 0);
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 2, "[.., s, d]")) return false;
  return result(c, *x);
}

static bool infer_layernorm(ctx *c) { return norm_params(c, 1) && result(c, *arg(c, 0)); }

static bool infer_add_layernorm(ctx *c) {
  return norm_params(c, 2) && same_type(c, "x", arg(c, 0), "r", arg(c, 1)) &&
         result(c, *arg(c, 0));
}

static bool infer_bias_gelu(ctx *c) {
  const fab_type *x = arg(c, 0);
  if (!gelu_approx(c)) return false;
  if (!want_float(c, "x", x) || !want_rank(c, "x", x, 1, "[.., d]")) return false;
  if (!want_vector(c, "b", arg(c, 1), x->dims[x->rank - 1])) return false;
  return result(c, *x);
}

static bool infer_softmax(ctx *c) {
  double scale;
  if (!get_float(c, "scale", false, 1, &scale)) return false;
  const fab_type *x = arg(c, 0);
  if (!want_rank(c, "x", x, 1, "[.., n]") || !want_float(c, "x", x)) return false;
  int64_t t = x->dims[x->rank - 1], causal;
  if (!opt_int(c, "causal", 0, &causal)) return false;
  if (causal == 1 && x->rank < 2) return fail(c, "causal=1 needs x of rank >= 2 ([.., s, t])");
  return mask_rule(c, 1, x, x->rank - 1, x->rank >= 2 ? x->dims[x->rank - 2] : t, t, false) &&
         result(c, *x);
}

/* ---- entry -------------------------------------------------------------- */

bool fab_infer_op(const fab_module *m, const fab_func *f, fab_op *op, char *err, size_t errlen) {
  ctx c = {m, f, op, "op", err, errlen};
  if (err && errlen) err[0] = 0;
  if ((unsigned)op->code >= FAB_OP_COUNT) return fail(&c, "invalid opcode %d", (int)op->code);
  const fab_opinfo *info = &fab_opinfos[op->code];
  c.name = info->name;
  if (op->noperands < info->min_operands || op->noperands > info->max_operands) {
    if (info->min_operands == info->max_operands)
      return fail(&c, "expects %d operand%s, got %d", info->min_operands,
                  info->min_operands == 1 ? "" : "s", op->noperands);
    return fail(&c, "expects %d to %d operands, got %d", info->min_operands, info->max_operands,
                op->noperands);
  }
  for (int i = 0; i < op->noperands; i++) {
    int o = op->operands[i];
    if (!f || o < 0 || o >= f->nops) return fail(&c, "operand %d (%%%d) does not exist", i, o);
    if (fab_opinfos[f->ops[o].code].flags & FAB_OPF_NORESULT)
      return fail(&c, "operand %d (%%%d) is an op without a result", i, o);
    char what[32];
    snprintf(what, sizeof what, "operand %d", i);
    if (!type_ok(&c, what, &f->ops[o].type)) return false;
  }
  switch (op->code) {
  case FAB_OP_INPUT:
  case FAB_OP_WEIGHT:
  case FAB_OP_CONST: return infer_source(&c);
  case FAB_OP_OUTPUT: {
    const char *name;
    int64_t index;
    if (!get_str(&c, "name", &name) || !get_int(&c, "index", &index)) return false;
    if (index < 0) return fail(&c, "index=%lld must be >= 0", (long long)index);
    return result(&c, *arg(&c, 0));
  }
  case FAB_OP_BFLY_LINEAR: return infer_bfly_linear(&c);
  case FAB_OP_DENSE: return infer_dense(&c);
  case FAB_OP_FOURIER_MIX: return infer_fourier_mix(&c);
  case FAB_OP_MHA: return infer_mha(&c);
  case FAB_OP_LAYERNORM: return infer_layernorm(&c);
  case FAB_OP_GELU: return gelu_approx(&c) && infer_unary_f32(&c);
  case FAB_OP_RELU: return infer_unary_f32(&c);
  case FAB_OP_SOFTMAX: return infer_softmax(&c);
  case FAB_OP_ADD:
  case FAB_OP_MUL: return infer_binary(&c);
  case FAB_OP_EMBED: return infer_embed(&c);
  case FAB_OP_MEANPOOL: return infer_pool(&c, false);
  case FAB_OP_TAKE: return infer_pool(&c, true);
  case FAB_OP_PAD: return infer_pad(&c);
  case FAB_OP_SLICE: return infer_slice(&c);
  case FAB_OP_RESHAPE: return infer_reshape(&c);
  case FAB_OP_TRANSPOSE: return infer_transpose(&c);
  case FAB_OP_STACK: return infer_stack(&c);
  case FAB_OP_SCALE: return infer_scale(&c);
  case FAB_OP_BFLY_STAGES: return infer_bfly_stages(&c);
  case FAB_OP_COMPLEX: return infer_complex_real(&c, FAB_F32, FAB_C64);
  case FAB_OP_REAL: return infer_complex_real(&c, FAB_C64, FAB_F32);
  case FAB_OP_BITREV: return infer_bitrev(&c);
  case FAB_OP_FFT_STAGES: return infer_fft_stages(&c);
  case FAB_OP_DFT: return infer_dft(&c);
  case FAB_OP_FFT_CHIRP: return infer_fft_chirp(&c);
  case FAB_OP_MATMUL: return infer_matmul(&c);
  case FAB_OP_ATTENTION: return infer_attention(&c);
  case FAB_OP_BIAS_GELU: return infer_bias_gelu(&c);
  case FAB_OP_ADD_LAYERNORM: return infer_add_layernorm(&c);
  case FAB_OP_COUNT: break;
  }
  return fail(&c, "no type rule");
}
