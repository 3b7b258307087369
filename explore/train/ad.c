/* ad.c — the differentiable program: compiling a function, parameters,
 * masks and liveness, tapes, and the forward / backward sweeps.
 *
 * The sweep is the plain reverse-mode recipe over the SSA op array: the
 * forward pass runs ops in index order keeping every value; the backward
 * pass visits them in reverse, each kernel adding its operands' gradients
 * (values used twice get both contributions).  Kernels live in
 * ad_linear.c and ad_nn.c.
 */
#include "ad_internal.h"

#include <stdlib.h>
#include <string.h>

#include "interp.h"

bool fab_ad_supports(int opcode) {
  switch (opcode) {
  case FAB_OP_INPUT: case FAB_OP_WEIGHT: case FAB_OP_OUTPUT: case FAB_OP_CONST:
  case FAB_OP_BFLY_LINEAR: case FAB_OP_DENSE: case FAB_OP_FOURIER_MIX: case FAB_OP_MHA:
  case FAB_OP_LAYERNORM: case FAB_OP_GELU: case FAB_OP_RELU: case FAB_OP_SOFTMAX:
  case FAB_OP_ADD: case FAB_OP_MUL: case FAB_OP_EMBED: case FAB_OP_MEANPOOL:
  case FAB_OP_TAKE: case FAB_OP_SLICE: case FAB_OP_RESHAPE: case FAB_OP_TRANSPOSE:
  case FAB_OP_SCALE: case FAB_OP_PAD: case FAB_OP_STACK: case FAB_OP_MATMUL:
  case FAB_OP_BIAS_GELU: case FAB_OP_ADD_LAYERNORM:
    return true;
  default:
    return false;
  }
}

/* Attention masks and causal attention have no gradient kernels yet: such
 * an op is refused rather than differentiated as if unmasked. */
static bool masked_op(const fab_op *op) {
  int plain = op->code == FAB_OP_MHA ? 3 : 1;
  bool maskable = op->code == FAB_OP_MHA || op->code == FAB_OP_SOFTMAX || op->code == FAB_OP_MEANPOOL;
  return maskable && (op->noperands > plain || fab_op_int(op, "causal", 0) != 0);
}

/* Live = reaches an output without passing through a masked op. */
static void compute_liveness(fab_ad *ad) {
  memset(ad->live, 0, (size_t)ad->nops);
  for (int i = ad->nops - 1; i >= 0; i--) {
    const ad_op *o = &ad->ops[i];
    if (o->code == FAB_OP_OUTPUT) ad->live[i] = 1;
    if (!ad->live[i] || ad->mask[i] || ad->override[i]) continue;
    for (int k = 0; k < o->nin; k++) ad->live[o->in[k]] = 1;
  }
}

fab_ad *fab_ad_new(const fab_module *m, fab_diag *d) {
  const fab_func *f = m ? fab_module_main(m) : NULL;
  if (!f) {
    fab_error(d, (fab_loc){0}, "differentiation: the module has no function");
    return NULL;
  }
  fab_ad *ad = calloc(1, sizeof *ad);
  if (!ad) goto oom;
  ad->m = m;
  ad->f = f;
  ad->nops = f->nops;
  ad->nparams = m->nparams;
  ad->ops = calloc((size_t)f->nops + 1, sizeof *ad->ops);
  ad->mask = calloc((size_t)f->nops + 1, 1);
  ad->live = calloc((size_t)f->nops + 1, 1);
  ad->override = calloc((size_t)f->nops + 1, sizeof *ad->override);
  ad->params = calloc((size_t)m->nparams + 1, sizeof *ad->params);
  ad->pnumel = calloc((size_t)m->nparams + 1, sizeof *ad->pnumel);
  ad->inputs = calloc((size_t)f->nops + 1, sizeof(int));
  ad->outputs = calloc((size_t)f->nops + 1, sizeof(int));
  if (!ad->ops || !ad->mask || !ad->live || !ad->override || !ad->params || !ad->pnumel ||
      !ad->inputs || !ad->outputs)
    goto oom;
  for (int p = 0; p < m->nparams; p++) {
    int64_t n = fab_type_numel(&m->params[p].type);
    if (n < 0) {
      fab_error(d, m->params[p].loc, "parameter '%s' is too large", m->params[p].name);
      goto fail;
    }
    ad->pnumel[p] = n;
    ad->params[p] = calloc((size_t)n + 1, sizeof(double));
    if (!ad->params[p]) goto oom;
  }
  bool ok = true;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    ad_op *o = &ad->ops[i];
    o->code = op->code;
    o->nin = op->noperands;
    o->type = op->type;
    o->param = -1;
    if (!fab_ad_supports(op->code) || op->noperands > 4 || masked_op(op)) {
      fab_error(d, op->loc, "differentiation: op %%%d '%s'%s is not supported", i,
                fab_opinfos[op->code].name, masked_op(op) ? " with a mask or causal" : "");
      ok = false;
      continue;
    }
    for (int k = 0; k < op->noperands; k++) {
      if (op->operands[k] < 0 || op->operands[k] >= i) {
        fab_error(d, op->loc, "differentiation: op %%%d uses a later value", i);
        ok = false;
      }
      o->in[k] = op->operands[k];
    }
    if (op->code == FAB_OP_OUTPUT) {
      int64_t idx = fab_op_int(op, "index", ad->noutputs);
      if (idx != ad->noutputs) {
        fab_error(d, op->loc, "differentiation: outputs must be listed in index order");
        ok = false;
      }
      ad->outputs[ad->noutputs++] = op->noperands ? op->operands[0] : 0;
      continue;
    }
    o->n = fab_type_numel(&op->type);
    if (o->n < 1) {
      fab_error(d, op->loc, "differentiation: op %%%d has no valid type", i);
      ok = false;
      continue;
    }
    if (op->code == FAB_OP_INPUT) {
      int64_t idx = fab_op_int(op, "index", ad->ninputs);
      if (idx != ad->ninputs) {
        fab_error(d, op->loc, "differentiation: inputs must be listed in index order");
        ok = false;
      }
      ad->inputs[ad->ninputs++] = i;
    } else if (op->code == FAB_OP_WEIGHT) {
      o->param = fab_module_find_param(m, fab_op_str(op, "name", ""));
      if (o->param < 0 || ad->pnumel[o->param] != o->n) {
        fab_error(d, op->loc, "differentiation: weight '%s' is not a parameter of this shape",
                  fab_op_str(op, "name", ""));
        ok = false;
      }
    } else if (ok && !ad_prepare_op(ad, i, d)) {
      ok = false;
    }
  }
  if (!ok) goto fail;
  compute_liveness(ad);
  return ad;
oom:
  fab_error(d, (fab_loc){0}, "differentiation: out of memory");
fail:
  fab_ad_free(ad);
  return NULL;
}

void fab_ad_free(fab_ad *ad) {
  if (!ad) return;
  if (ad->ops)
    for (int i = 0; i < ad->nops; i++) {
      free(ad->ops[i].cos_s);
      free(ad->ops[i].sin_s);
      free(ad->ops[i].cos_d);
      free(ad->ops[i].sin_d);
    }
  if (ad->params)
    for (int p = 0; p < ad->nparams; p++) free(ad->params[p]);
  free(ad->params);
  free(ad->pnumel);
  free(ad->ops);
  free(ad->mask);
  free(ad->live);
  free(ad->override);
  free(ad->inputs);
  free(ad->outputs);
  free(ad);
}

const fab_module *fab_ad_module(const fab_ad *ad) { return ad->m; }
const fab_func *fab_ad_func(const fab_ad *ad) { return ad->f; }
int fab_ad_nparams(const fab_ad *ad) { return ad->nparams; }
double *fab_ad_param(fab_ad *ad, int p) { return ad->params[p]; }
int64_t fab_ad_param_numel(const fab_ad *ad, int p) { return ad->pnumel[p]; }
int fab_ad_ninputs(const fab_ad *ad) { return ad->ninputs; }
int fab_ad_noutputs(const fab_ad *ad) { return ad->noutputs; }
int fab_ad_input_op(const fab_ad *ad, int k) { return ad->inputs[k]; }
int fab_ad_output_op(const fab_ad *ad, int k) { return ad->outputs[k]; }
int64_t fab_ad_numel(const fab_ad *ad, int op) { return ad->ops[op].n; }

void fab_ad_set_mask(fab_ad *ad, int op, bool masked) {
  if (op < 0 || op >= ad->nops) return;
  ad->mask[op] = masked;
  compute_liveness(ad);
}
bool fab_ad_masked(const fab_ad *ad, int op) { return ad->mask[op] != 0; }
bool fab_ad_live(const fab_ad *ad, int op) { return ad->live[op] != 0; }
void fab_ad_clear_masks(fab_ad *ad) {
  memset(ad->mask, 0, (size_t)ad->nops);
  compute_liveness(ad);
}
void fab_ad_set_override(fab_ad *ad, int op, const double *vals) {
  if (op < 0 || op >= ad->nops) return;
  ad->override[op] = vals;
  compute_liveness(ad);
}

bool fab_ad_load_weights(fab_ad *ad, const fab_tensor_set *w, fab_diag *d) {
  bool ok = true;
  for (int p = 0; p < ad->nparams; p++) {
    const fab_param *pp = &ad->m->params[p];
    const fab_tensor *t = fab_tset_find(w, pp->name);
    if (!t) {
      fab_error(d, pp->loc, "weights: missing tensor '%s'", pp->name);
      ok = false;
      continue;
    }
    if (fab_tensor_numel(t) != ad->pnumel[p] || t->rank != pp->type.rank ||
        (t->dtype != FAB_DT_F32 && t->dtype != FAB_DT_F64)) {
      fab_error(d, pp->loc, "weights: tensor '%s' has the wrong shape or dtype", pp->name);
      ok = false;
      continue;
    }
    for (int k = 0; k < t->rank; k++)
      if (t->dims[k] != pp->type.dims[k]) {
        fab_error(d, pp->loc, "weights: tensor '%s' has the wrong shape", pp->name);
        ok = false;
        break;
      }
    if (!ok) continue;
    for (int64_t j = 0; j < ad->pnumel[p]; j++)
      ad->params[p][j] =
          t->dtype == FAB_DT_F32 ? (double)((const float *)t->data)[j] : ((const double *)t->data)[j];
  }
  return ok;
}

bool fab_ad_store_weights(const fab_ad *ad, fab_tensor_set *w, fab_diag *d) {
  for (int p = 0; p < ad->nparams; p++) {
    const fab_param *pp = &ad->m->params[p];
    fab_tensor *t = fab_tset_add(w, pp->name, FAB_DT_F32, pp->type.rank, pp->type.dims);
    if (!t) {
      fab_error(d, pp->loc, "weights: cannot store '%s' (out of memory)", pp->name);
      return false;
    }
    float *dst = t->data;
    for (int64_t j = 0; j < ad->pnumel[p]; j++) dst[j] = (float)ad->params[p][j];
  }
  return true;
}

bool fab_ad_init_params(fab_ad *ad, uint64_t seed, fab_diag *d) {
  fab_tensor_set *w = fab_tset_new();
  if (!w) {
    fab_error(d, (fab_loc){0}, "weights: out of memory");
    return false;
  }
  bool ok = fab_bind_init_weights(ad->m, seed, w, d) && fab_ad_load_weights(ad, w, d);
  fab_tset_free(w);
  return ok;
}

/* ---- tapes ------------------------------------------------------------- */

fab_ad_tape *fab_ad_tape_new(const fab_ad *ad) {
  fab_ad_tape *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ad = ad;
  t->val = calloc((size_t)ad->nops + 1, sizeof(double *));
  t->grad = calloc((size_t)ad->nops + 1, sizeof(double *));
  t->pgrad = calloc((size_t)ad->nparams + 1, sizeof(double *));
  if (!t->val || !t->grad || !t->pgrad) goto fail;
  for (int p = 0; p < ad->nparams; p++)
    if (!(t->pgrad[p] = calloc((size_t)ad->pnumel[p] + 1, sizeof(double)))) goto fail;
  for (int i = 0; i < ad->nops; i++) {
    const ad_op *o = &ad->ops[i];
    if (o->code == FAB_OP_OUTPUT) continue;
    if (o->code == FAB_OP_WEIGHT) {
      t->val[i] = ad->params[o->param];
      t->grad[i] = t->pgrad[o->param];
      continue;
    }
    if (!(t->val[i] = calloc((size_t)o->n, sizeof(double)))) goto fail;
    if (o->type.dtype != FAB_I32 && !(t->grad[i] = calloc((size_t)o->n, sizeof(double))))
      goto fail;
  }
  return t;
fail:
  fab_ad_tape_free(t);
  return NULL;
}

void fab_ad_tape_free(fab_ad_tape *t) {
  if (!t) return;
  const fab_ad *ad = t->ad;
  if (t->val && t->grad)
    for (int i = 0; i < ad->nops; i++) {
      if (ad->ops[i].code == FAB_OP_WEIGHT) continue;
      free(t->val[i]);
      free(t->grad[i]);
    }
  if (t->pgrad)
    for (int p = 0; p < ad->nparams; p++) free(t->pgrad[p]);
  free(t->val);
  free(t->grad);
  free(t->pgrad);
  free(t->scratch);
  free(t);
}

double *ad_scratch(fab_ad_tape *t, size_t n) {
  if (n > t->scratch_n) {
    double *s = realloc(t->scratch, n * sizeof(double));
    if (!s) return NULL;
    t->scratch = s;
    t->scratch_n = n;
  }
  return t->scratch;
}

bool fab_ad_forward(fab_ad_tape *t, const double *const *inputs, fab_diag *d) {
  const fab_ad *ad = t->ad;
  for (int i = 0; i < ad->nops; i++) {
    const ad_op *o = &ad->ops[i];
    if (o->code == FAB_OP_OUTPUT || o->code == FAB_OP_WEIGHT || !ad->live[i]) continue;
    if (t->grad[i]) memset(t->grad[i], 0, sizeof(double) * (size_t)o->n);
    if (ad->override[i]) {
      memcpy(t->val[i], ad->override[i], sizeof(double) * (size_t)o->n);
      continue;
    }
    if (ad->mask[i]) {
      memset(t->val[i], 0, sizeof(double) * (size_t)o->n);
      continue;
    }
    if (o->code == FAB_OP_INPUT) {
      int k = 0;
      while (k < ad->ninputs && ad->inputs[k] != i) k++;
      if (!inputs || !inputs[k]) {
        fab_error(d, (fab_loc){0}, "differentiation: input %d not given", k);
        return false;
      }
      memcpy(t->val[i], inputs[k], sizeof(double) * (size_t)o->n);
      continue;
    }
    if (!ad_forward_op(t, i, d)) return false;
  }
  return true;
}

const double *fab_ad_value(const fab_ad_tape *t, int op) { return t->val[op]; }
double *fab_ad_grad(fab_ad_tape *t, int op) { return t->grad[op]; }
double *fab_ad_param_grad(fab_ad_tape *t, int p) { return t->pgrad[p]; }

void fab_ad_zero_param_grads(fab_ad_tape *t) {
  for (int p = 0; p < t->ad->nparams; p++)
    memset(t->pgrad[p], 0, sizeof(double) * (size_t)t->ad->pnumel[p]);
}

void fab_ad_backward(fab_ad_tape *t) {
  const fab_ad *ad = t->ad;
  for (int i = ad->nops - 1; i >= 0; i--) {
    const ad_op *o = &ad->ops[i];
    if (!ad->live[i] || ad->mask[i] || ad->override[i]) continue;
    switch (o->code) {
    case FAB_OP_OUTPUT: case FAB_OP_INPUT: case FAB_OP_WEIGHT: case FAB_OP_CONST:
      continue;
    default:
      if (t->grad[i]) ad_backward_op(t, i);
    }
  }
}
