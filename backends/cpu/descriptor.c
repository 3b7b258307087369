/* descriptor.c — the one exported symbol of a compiled model: a constant
 * fab_model_desc (runtime/fab_runtime.h) laid out exactly as the C struct,
 * with the input / output / weight tables, the scratch size, the entry
 * function, the prepare step and, optionally, the weights themselves. */
#include "cpu_internal.h"

#include <stdlib.h>
#include <string.h>

static LLVMValueRef const_str(cpu_cg *c, const char *s) {
  LLVMValueRef init = LLVMConstStringInContext(c->ctx, s, (unsigned)strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), "str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return LLVMConstBitCast(g, c->t_i8p);
}

typedef struct tdesc {
  const char *name;
  const fab_type *type;
} tdesc;

static LLVMValueRef tensor_table(cpu_cg *c, LLVMTypeRef tt, const tdesc *ts, int n, const char *name) {
  if (n == 0) return LLVMConstNull(LLVMPointerType(tt, 0));
  LLVMValueRef *els = calloc((size_t)n, sizeof *els);
  if (!els) return NULL;
  for (int i = 0; i < n; i++) {
    LLVMValueRef dims[FAB_TENSOR_MAX_RANK];
    for (int k = 0; k < FAB_TENSOR_MAX_RANK; k++)
      dims[k] = cg_i64(c, k < ts[i].type->rank ? ts[i].type->dims[k] : 0);
    LLVMValueRef fs[5] = {
        const_str(c, ts[i].name ? ts[i].name : "?"),
        cg_i32(c, cg_tensor_dtype(ts[i].type->dtype)), cg_i32(c, ts[i].type->rank),
        LLVMConstArray(c->t_i64, dims, FAB_TENSOR_MAX_RANK),
        cg_i64(c, cg_numel(ts[i].type) * 4)};
    els[i] = LLVMConstNamedStruct(tt, fs, 5);
  }
  LLVMValueRef arr = LLVMConstArray(tt, els, (unsigned)n);
  free(els);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(arr), name);
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return LLVMConstBitCast(g, LLVMPointerType(tt, 0));
}

static LLVMValueRef embedded_weights(cpu_cg *c) {
  const fab_module *m = c->m;
  const fab_tensor_set *ws = c->opts ? c->opts->weights : NULL;
  if (!ws) {
    fab_error(c->d, (fab_loc){0}, "cpu backend: --embed-weights needs the weights");
    return NULL;
  }
  LLVMValueRef *els = calloc((size_t)m->nparams + 1, sizeof *els);
  for (int i = 0; i < m->nparams; i++) {
    const fab_param *p = &m->params[i];
    const fab_tensor *t = fab_tset_find(ws, p->name);
    bool ok = t && t->dtype == FAB_DT_F32 && t->rank == p->type.rank;
    for (int k = 0; ok && k < t->rank; k++) ok = t->dims[k] == p->type.dims[k];
    if (!ok) {
      fab_error(c->d, p->loc, "cpu backend: cannot embed weight '%s': %s", p->name,
                t ? "wrong shape or dtype (need F32)" : "missing");
      free(els);
      return NULL;
    }
    /* Raw bytes as an i8 array: fast to build even for large weights. */
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, t->data, (unsigned)t->nbytes, 1);
    LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), "weight");
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetAlignment(g, 64);
    els[i] = LLVMConstBitCast(g, c->t_i8p);
  }
  LLVMValueRef arr = LLVMConstArray(c->t_i8p, els, (unsigned)m->nparams);
  free(els);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(arr), "weight_table");
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return LLVMConstBitCast(g, c->t_i8pp);
}

bool cg_gen_descriptor(cpu_cg *c, LLVMValueRef entry, int64_t scratch, LLVMValueRef prepare,
                       int64_t prepared) {
  const fab_func *f = c->f;
  LLVMTypeRef tt = LLVMStructCreateNamed(c->ctx, "fab_model_tensor_desc");
  LLVMTypeRef tf[5] = {c->t_i8p, c->t_i32, c->t_i32, LLVMArrayType(c->t_i64, FAB_TENSOR_MAX_RANK), c->t_i64};
  LLVMStructSetBody(tt, tf, 5, 0);
  int nin = 0, nout = 0;
  for (int i = 0; i < f->nops; i++) {
    if (f->ops[i].code == FAB_OP_INPUT) nin++;
    if (f->ops[i].code == FAB_OP_OUTPUT) nout++;
  }
  tdesc *ins = calloc((size_t)nin + 1, sizeof *ins), *outs = calloc((size_t)nout + 1, sizeof *outs);
  tdesc *ws = calloc((size_t)c->m->nparams + 1, sizeof *ws);
  bool ok = true;
  if (!ins || !outs || !ws) {
    free(ins);
    free(outs);
    free(ws);
    fab_error(c->d, (fab_loc){0}, "cpu backend: out of memory");
    return false;
  }
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_INPUT && op->code != FAB_OP_OUTPUT) continue;
    bool in = op->code == FAB_OP_INPUT;
    int64_t idx = fab_op_int(op, "index", -1);
    tdesc *tab = in ? ins : outs;
    if (idx < 0 || idx >= (in ? nin : nout) || tab[idx].type) {
      fab_error(c->d, op->loc, "cpu backend: %s index %lld is out of range or repeated",
                in ? "input" : "output", (long long)idx);
      ok = false;
      continue;
    }
    tab[idx].name = fab_op_str(op, "name", "?");
    tab[idx].type = in ? &op->type : &f->ops[op->operands[0]].type;
    if (tab[idx].type->dtype == FAB_C64) {
      fab_error(c->d, op->loc, "cpu backend: complex %ss are not supported ('%s'; the runtime's "
                "tensors are f32 and i32)", in ? "input" : "output", tab[idx].name);
      ok = false;
    }
  }
  for (int i = 0; i < c->m->nparams; i++) {
    ws[i] = (tdesc){c->m->params[i].name, &c->m->params[i].type};
    if (ws[i].type->dtype == FAB_C64) {
      fab_error(c->d, (fab_loc){0}, "cpu backend: complex weights are not supported ('%s')", ws[i].name);
      ok = false;
    }
  }
  LLVMValueRef wdata = LLVMConstNull(c->t_i8pp);
  bool embed = c->opts && c->opts->embed_weights;
  if (ok && embed) {
    wdata = embedded_weights(c);
    ok = wdata != NULL;
  }
  LLVMValueRef name = NULL, tables[3] = {NULL, NULL, NULL};
  if (ok) {
    /* the model's name first, then the tables: the order the strings are
     * laid out in the .so */
    name = const_str(c, c->m->name ? c->m->name : "model");
    tables[0] = tensor_table(c, tt, ins, nin, "inputs");
    tables[1] = tensor_table(c, tt, outs, nout, "outputs");
    tables[2] = tensor_table(c, tt, ws, c->m->nparams, "weights");
    ok = tables[0] && tables[1] && tables[2];
    if (!ok) fab_error(c->d, (fab_loc){0}, "cpu backend: out of memory");
  }
  if (ok) {
    LLVMTypeRef ttp = LLVMPointerType(tt, 0);
    LLVMTypeRef pt = LLVMFunctionType(c->t_i32, (LLVMTypeRef[]){c->t_i8pp, c->t_i8p}, 2, 0);
    LLVMTypeRef df[18] = {c->t_i64, c->t_i32, c->t_i32, c->t_i64, c->t_i8p, c->t_i32, c->t_i32,
                          c->t_i32, c->t_i32, ttp, ttp, ttp, c->t_i64,
                          LLVMPointerType(LLVMGlobalGetValueType(entry), 0), c->t_i8pp, c->t_i8p,
                          c->t_i64, LLVMPointerType(pt, 0)};
    LLVMTypeRef dt = LLVMStructCreateNamed(c->ctx, "fab_model_desc");
    LLVMStructSetBody(dt, df, 18, 0);
    char target[1024];
    snprintf(target, sizeof target, "%s %s%s%s", c->tgt->triple, c->tgt->cpu,
             c->tgt->required[0] ? " " : "", c->tgt->required);
    LLVMValueRef fv[18] = {
        LLVMConstInt(c->t_i64, FAB_MODEL_MAGIC, 0), cg_i32(c, FAB_MODEL_ABI_VERSION),
        cg_i32(c, (int32_t)sizeof(fab_model_desc)), LLVMConstInt(c->t_i64, cg_model_hash(c->m), 0),
        name, cg_i32(c, nin), cg_i32(c, nout),
        cg_i32(c, c->m->nparams), cg_i32(c, embed ? 1 : 0),
        tables[0], tables[1], tables[2], cg_i64(c, scratch), entry, wdata,
        const_str(c, target), cg_i64(c, prepare ? prepared : 0),
        prepare ? prepare : LLVMConstNull(LLVMPointerType(pt, 0))};
    LLVMValueRef g = LLVMAddGlobal(c->mod, dt, FAB_MODEL_SYMBOL);
    LLVMSetInitializer(g, LLVMConstNamedStruct(dt, fv, 18));
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMExternalLinkage);
    LLVMSetAlignment(g, 8);
  }
  free(ins);
  free(outs);
  free(ws);
  return ok;
}

