/* interp.c — the interpreter's driver: dispatch, values, sources, sinks.
 *
 * Runs the entry function op by op.  Every kernel computes its result
 * shape from its operands and attributes; when the IR carries a type for
 * the op (rank > 0), the two must agree, so a wrong type inference or a
 * wrong pass shows up here.  Values are freed after their last use unless
 * the caller asked for every intermediate.
 */
#include "interp_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Generated from ir/op_targets.def: an op marked FAB_IMPL_INTERP without
 * its interp_run_ID kernel is a link error, never a run-time surprise. */
static const run_fn dispatch[FAB_OP_COUNT] = {
#define FAB_OP_IMPL(id, impls) [FAB_OP_##id] = ((impls) & FAB_IMPL_INTERP) ? interp_run_##id : NULL,
#include "op_targets.def"
#undef FAB_OP_IMPL
};

bool fab_interp_supports(int code) {
  return code >= 0 && code < FAB_OP_COUNT && dispatch[code] != NULL;
}

/* ---- helpers shared by the kernels -------------------------------------- */

bool interp_err(ictx *c, const fab_op *op, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fab_error(c->d, op->loc, "interp: %%%d '%s': %s", c->cur, fab_opinfos[op->code].name, msg);
  return false;
}

const ival *interp_arg(ictx *c, const fab_op *op, int i) { return &c->vals[op->operands[i]]; }

char *interp_shape_str(const fab_type *t, char *buf, size_t n) { return fab_type_str(t, buf, n); }

int64_t interp_dims_prod(const int64_t *dims, int lo, int hi) {
  int64_t p = 1;
  for (int i = lo; i < hi; i++) p *= dims[i];
  return p;
}

bool interp_alloc(ictx *c, const fab_op *op, ival *out, fab_dtype dt, int rank,
                const int64_t *dims) {
  if (rank < 0 || rank > FAB_MAX_RANK) return interp_err(c, op, "result rank %d out of range", rank);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 1) return interp_err(c, op, "result dimension %d is %lld", i, (long long)dims[i]);
  out->type = fab_type_make(dt, rank, dims);
  out->n = fab_type_numel(&out->type);
  if (out->n < 0) return interp_err(c, op, "result too large");
  size_t per = dt == FAB_C64 ? 2 : 1;
  out->d = calloc((size_t)out->n * per, sizeof(double));
  if (!out->d) return interp_err(c, op, "out of memory (%lld elements)", (long long)out->n);
  return true;
}

bool interp_alloc_like(ictx *c, const fab_op *op, ival *out, const ival *like) {
  return interp_alloc(c, op, out, like->type.dtype, like->type.rank, like->type.dims);
}

bool interp_want_dtype(ictx *c, const fab_op *op, int i, fab_dtype dt) {
  const ival *v = interp_arg(c, op, i);
  if (v->type.dtype == dt) return true;
  return interp_err(c, op, "operand %d is %s, expected %s", i, fab_dtype_name(v->type.dtype),
              fab_dtype_name(dt));
}

bool interp_want_rank(ictx *c, const fab_op *op, int i, int r) {
  const ival *v = interp_arg(c, op, i);
  if (v->type.rank >= r) return true;
  char b[128];
  return interp_err(c, op, "operand %d %s needs rank >= %d", i, interp_shape_str(&v->type, b, sizeof b), r);
}

bool interp_norm_axis(ictx *c, const fab_op *op, int64_t axis, int rank, int *out) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) return interp_err(c, op, "axis %lld out of range for rank %d", (long long)axis, rank);
  *out = (int)a;
  return true;
}

bool interp_req_int(ictx *c, const fab_op *op, const char *key, int64_t *v) {
  const fab_attr *a = fab_op_attr(op, key);
  if (!a || a->kind != FAB_ATTR_INT) return interp_err(c, op, "missing integer attribute '%s'", key);
  *v = a->i;
  return true;
}

bool interp_req_float(ictx *c, const fab_op *op, const char *key, double *v) {
  const fab_attr *a = fab_op_attr(op, key);
  if (!a || (a->kind != FAB_ATTR_FLOAT && a->kind != FAB_ATTR_INT))
    return interp_err(c, op, "missing float attribute '%s'", key);
  *v = a->kind == FAB_ATTR_FLOAT ? a->f : (double)a->i;
  return true;
}

/* ---- reading host tensors ------------------------------------------------ */

static double half_to_double(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
  double v;
  if (e == 0) v = ldexp((double)f, -24);
  else if (e == 31) v = f ? NAN : INFINITY;
  else v = ldexp((double)(f | 1024), e - 25);
  return s ? -v : v;
}

/* Element i of a host tensor as a double (any supported dtype). */
static double tensor_get(const fab_tensor *t, int64_t i) {
  switch (t->dtype) {
  case FAB_DT_F32: return ((const float *)t->data)[i];
  case FAB_DT_F64: return ((const double *)t->data)[i];
  case FAB_DT_I32: return ((const int32_t *)t->data)[i];
  case FAB_DT_I64: return (double)((const int64_t *)t->data)[i];
  case FAB_DT_F16: return half_to_double(((const uint16_t *)t->data)[i]);
  case FAB_DT_BF16: {
    uint32_t u = (uint32_t)((const uint16_t *)t->data)[i] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
  }
  default: return 0;
  }
}

static bool tensor_is_float(fab_tensor_dtype dt) {
  return dt == FAB_DT_F32 || dt == FAB_DT_F64 || dt == FAB_DT_F16 || dt == FAB_DT_BF16;
}

/* Loads host tensor `t` as a value of type `want`, checking shape/dtype. */
static bool load_tensor(ictx *c, const fab_op *op, const char *what, const fab_tensor *t,
                        const fab_type *want, ival *out) {
  char b1[128], b2[128];
  bool shape_ok = t->rank == want->rank;
  for (int i = 0; shape_ok && i < t->rank; i++) shape_ok = t->dims[i] == want->dims[i];
  if (!shape_ok) {
    fab_type got = {.dtype = want->dtype, .rank = t->rank};
    for (int i = 0; i < t->rank && i < FAB_MAX_RANK; i++) got.dims[i] = t->dims[i];
    return interp_err(c, op, "%s '%s' has shape %s, expected %s", what, t->name,
                interp_shape_str(&got, b1, sizeof b1), interp_shape_str(want, b2, sizeof b2));
  }
  bool dt_ok = want->dtype == FAB_F32 ? tensor_is_float(t->dtype)
               : want->dtype == FAB_I32 ? (t->dtype == FAB_DT_I32 || t->dtype == FAB_DT_I64)
                                        : false;
  if (!dt_ok)
    return interp_err(c, op, "%s '%s' has dtype %s, expected %s", what, t->name,
                fab_dtype_safetensors_name(t->dtype), fab_dtype_name(want->dtype));
  if (!interp_alloc(c, op, out, want->dtype, want->rank, want->dims)) return false;
  for (int64_t i = 0; i < out->n; i++) out->d[i] = tensor_get(t, i);
  return true;
}

/* ---- sources and sinks ------------------------------------------------------ */

bool interp_run_INPUT(ictx *c, const fab_op *op, ival *out) {
  const char *name = fab_op_str(op, "name", NULL);
  if (!name) return interp_err(c, op, "missing attribute 'name'");
  const fab_tensor *t = c->inputs ? fab_tset_find(c->inputs, name) : NULL;
  if (!t) return interp_err(c, op, "no input tensor named '%s'", name);
  return load_tensor(c, op, "input", t, &op->type, out);
}

bool interp_run_WEIGHT(ictx *c, const fab_op *op, ival *out) {
  const char *name = fab_op_str(op, "name", NULL);
  if (!name) return interp_err(c, op, "missing attribute 'name'");
  int p = fab_module_find_param(c->m, name);
  if (p < 0) return interp_err(c, op, "no parameter named '%s' in the module", name);
  const fab_tensor *t = c->weights ? fab_tset_find(c->weights, name) : NULL;
  if (!t) return interp_err(c, op, "no weight tensor named '%s'", name);
  return load_tensor(c, op, "weight", t, &c->m->params[p].type, out);
}

bool interp_run_CONST(ictx *c, const fab_op *op, ival *out) {
  double v;
  if (!interp_req_float(c, op, "value", &v)) return false;
  if (op->type.dtype == FAB_C64) return interp_err(c, op, "complex constants are not supported");
  if (!interp_alloc(c, op, out, op->type.dtype, op->type.rank, op->type.dims)) return false;
  if (op->type.dtype == FAB_I32) v = trunc(v);
  for (int64_t i = 0; i < out->n; i++) out->d[i] = v;
  return true;
}

/* output ops are handled by the driver; this entry only marks support. */
bool interp_run_OUTPUT(ictx *c, const fab_op *op, ival *out) {
  (void)out;
  if (op->noperands != 1) return interp_err(c, op, "needs one operand");
  return true;
}

/* Copies value v into a new host tensor `name` of `set` (c64 as f32 with a
 * trailing axis of 2: re, im). */
static bool export_value(ictx *c, const fab_op *op, const ival *v, const char *name,
                         fab_tensor_set *set) {
  int64_t dims[FAB_TENSOR_MAX_RANK + 1];
  int rank = v->type.rank;
  for (int i = 0; i < rank; i++) dims[i] = v->type.dims[i];
  if (v->type.dtype == FAB_C64) {
    if (rank >= FAB_TENSOR_MAX_RANK) return interp_err(c, op, "complex value of rank %d cannot be exported", rank);
    dims[rank++] = 2;
  }
  fab_tensor_dtype dt = v->type.dtype == FAB_I32 ? FAB_DT_I32 : FAB_DT_F32;
  fab_tensor *t = fab_tset_add(set, name, dt, rank, dims);
  if (!t) return interp_err(c, op, "cannot create tensor '%s'", name);
  int64_t n = v->n * (v->type.dtype == FAB_C64 ? 2 : 1);
  if (dt == FAB_DT_I32)
    for (int64_t i = 0; i < n; i++) ((int32_t *)t->data)[i] = (int32_t)v->d[i];
  else
    for (int64_t i = 0; i < n; i++) ((float *)t->data)[i] = (float)v->d[i];
  return true;
}

/* ---- the driver ---------------------------------------------------------- */

static int cmp_output(const void *a, const void *b) {
  const fab_op *x = *(const fab_op *const *)a, *y = *(const fab_op *const *)b;
  int64_t i = fab_op_int(x, "index", 0), j = fab_op_int(y, "index", 0);
  return i < j ? -1 : i > j;
}

bool fab_interp_run_all(const fab_module *m, const fab_tensor_set *weights,
                        const fab_tensor_set *inputs, fab_tensor_set *outputs,
                        fab_tensor_set *values, fab_diag *d) {
  const fab_func *f = m ? fab_module_main(m) : NULL;
  if (!f) {
    fab_error(d, (fab_loc){0}, "interp: the module has no function to run");
    return false;
  }
  /* every op with a kernel: dispatch[] is generated from the same table */
  if (!fab_check_target_support(m, FAB_IMPL_INTERP, "interp", d)) return false;
  ictx c = {.m = m, .f = f, .weights = weights, .inputs = inputs, .d = d};
  int n = f->nops;
  c.vals = calloc((size_t)(n ? n : 1), sizeof(ival));
  int *last = malloc(sizeof(int) * (size_t)(n ? n : 1));
  const fab_op **outs = malloc(sizeof(fab_op *) * (size_t)(n ? n : 1));
  bool ok = c.vals && last && outs;
  if (!ok) fab_error(d, (fab_loc){0}, "interp: out of memory");
  int nouts = 0;
  /* Structural checks and last uses first. */
  for (int i = 0; ok && i < n; i++) {
    const fab_op *op = &f->ops[i];
    last[i] = i;
    c.cur = i;
    if ((int)op->code < 0 || op->code >= FAB_OP_COUNT) {
      fab_error(d, op->loc, "interp: %%%d has an invalid opcode %d", i, (int)op->code);
      ok = false;
      break;
    }
    const fab_opinfo *info = &fab_opinfos[op->code];
    if (op->noperands < info->min_operands || op->noperands > info->max_operands) {
      fab_error(d, op->loc, "interp: %%%d '%s' has %d operands, expected %d to %d", i, info->name,
                op->noperands, info->min_operands, info->max_operands);
      ok = false;
    }
    for (int k = 0; k < op->noperands; k++) {
      int a = op->operands[k];
      if (a < 0 || a >= i || (fab_opinfos[f->ops[a].code].flags & FAB_OPF_NORESULT)) {
        fab_error(d, op->loc, "interp: %%%d operand %d refers to %%%d, not an earlier value", i, k, a);
        ok = false;
      } else if (last[a] < i) {
        last[a] = i;
      }
    }
    if (op->code == FAB_OP_OUTPUT) {
      outs[nouts++] = op;
      if (op->noperands == 1 && op->operands[0] >= 0 && op->operands[0] < i)
        last[op->operands[0]] = n; /* kept until exported */
    }
  }
  for (int i = 0; ok && i < n; i++) {
    const fab_op *op = &f->ops[i];
    c.cur = i;
    if (!dispatch[op->code](&c, op, &c.vals[i])) {
      ok = false;
      break;
    }
    if (fab_opinfos[op->code].flags & FAB_OPF_NORESULT) continue;
    ival *v = &c.vals[i];
    if (op->type.rank > 0 && !fab_type_equal(&op->type, &v->type)) {
      char b1[128], b2[128];
      ok = interp_err(&c, op, "computed type %s differs from the IR's %s", interp_shape_str(&v->type, b1, sizeof b1),
                interp_shape_str(&op->type, b2, sizeof b2));
      break;
    }
    if (values) {
      char name[32];
      snprintf(name, sizeof name, "%%%d", i);
      if (!(ok = export_value(&c, op, v, name, values))) break;
    }
    if (!values) {
      if (last[i] == i) { /* never used */
        free(v->d);
        v->d = NULL;
      }
      for (int k = 0; k < op->noperands; k++) {
        int a = op->operands[k];
        if (last[a] == i) {
          free(c.vals[a].d);
          c.vals[a].d = NULL;
        }
      }
    }
  }
  if (ok && outputs) {
    qsort(outs, (size_t)nouts, sizeof *outs, cmp_output);
    for (int k = 0; ok && k < nouts; k++) {
      const fab_op *op = outs[k];
      c.cur = (int)(op - f->ops);
      const char *name = fab_op_str(op, "name", NULL);
      char buf[32];
      if (!name) {
        snprintf(buf, sizeof buf, "output%d", k);
        name = buf;
      }
      ok = export_value(&c, op, &c.vals[op->operands[0]], name, outputs);
    }
  }
  if (c.vals)
    for (int i = 0; i < n; i++) free(c.vals[i].d);
  free(c.vals);
  free(last);
  free(outs);
  return ok;
}

/* The sample count of `inputs` (0: no batch axis), or -1 after reporting
 * an input that is neither the declared shape nor [n, declared...]. */
static int64_t input_batch(const fab_func *f, const fab_tensor_set *inputs, fab_diag *d) {
  fab_batch b = FAB_BATCH_INIT;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    const fab_tensor *t = op->code == FAB_OP_INPUT ? fab_tset_find(inputs, fab_op_str(op, "name", "")) : NULL;
    char err[512];
    if (t && fab_batch_add(&b, t, op->type.rank, op->type.dims, err, sizeof err) != FAB_OK) {
      fab_error(d, op->loc, "%s", err);
      return -1;
    }
  }
  return b.n > 0 ? b.n : 0;
}

/* A batch runs sample by sample: the interpreter is the reference, and
 * each sample is then exactly a single run. */
bool fab_interp_run(const fab_module *m, const fab_tensor_set *weights,
                    const fab_tensor_set *inputs, fab_tensor_set *outputs, fab_diag *d) {
  const fab_func *f = m ? fab_module_main(m) : NULL;
  int64_t n = f && inputs ? input_batch(f, inputs, d) : 0;
  if (n < 0) return false;
  if (n == 0) return fab_interp_run_all(m, weights, inputs, outputs, NULL, d);
  fab_tensor_set *in1 = fab_tset_new(), *out1 = fab_tset_new();
  bool ok = in1 && out1;
  if (!ok) fab_error(d, (fab_loc){0}, "interp: out of memory");
  char err[512];
  for (int64_t i = 0; ok && i < n; i++) {
    if (fab_tset_get_sample(inputs, i, in1, err, sizeof err) != FAB_OK) {
      fab_error(d, (fab_loc){0}, "interp: %s", err);
      ok = false;
    } else if (!fab_interp_run_all(m, weights, in1, out1, NULL, d)) {
      fab_note(d, (fab_loc){0}, "in sample %lld of %lld", (long long)i, (long long)n);
      ok = false;
    } else if (outputs && fab_tset_put_sample(outputs, n, i, out1, err, sizeof err) != FAB_OK) {
      fab_error(d, (fab_loc){0}, "interp: %s", err);
      ok = false;
    }
  }
  fab_tset_free(in1);
  fab_tset_free(out1);
  return ok;
}
