/* module.c — a whole model as one LLVM module: buffers, one kernel
 * function per op, the entry function and the descriptor the runtime
 * loads; then verification and the O3 pipeline.
 *
 * Buffers: inputs and weights come from the entry's pointer arrays;
 * reshape aliases its operand (same bytes, row-major); every other value
 * gets a slot in the scratch arena — the memplan's `plan.offset` when every
 * value carries one, else a first-fit allocation over value lifetimes. */
#include "cpu_internal.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BUF_NONE, BUF_INPUT, BUF_WEIGHT, BUF_SCRATCH, BUF_ALIAS };

typedef struct buf {
  int kind;
  int64_t index;  /* input index, param index, alias target */
  int64_t offset; /* scratch */
  int64_t bytes;
  int last_use;
} buf;

fab_tensor_dtype cg_tensor_dtype(fab_dtype t) { return t == FAB_I32 ? FAB_DT_I32 : FAB_DT_F32; }

static int64_t elem_size(fab_dtype t) { return t == FAB_C64 ? 8 : 4; }

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
  return h;
}

uint64_t cg_model_hash(const fab_module *m) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < m->nparams; i++) {
    h = fnv(h, m->params[i].name, strlen(m->params[i].name));
    h = fnv(h, m->params[i].type.dims, sizeof(int64_t) * (size_t)m->params[i].type.rank);
  }
  const fab_func *f = fab_module_main(m);
  for (int i = 0; f && i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    h = fnv(h, &op->code, sizeof op->code);
    h = fnv(h, op->operands, sizeof(int) * (size_t)op->noperands);
    h = fnv(h, op->type.dims, sizeof(int64_t) * (size_t)op->type.rank);
    for (int a = 0; a < op->nattrs; a++) {
      const fab_attr *at = &op->attrs[a];
      /* the model, not how this backend runs it */
      if (!strncmp(at->key, "cpu.", 4)) continue;
      h = fnv(h, at->key, strlen(at->key));
      h = fnv(h, &at->i, sizeof at->i);
      h = fnv(h, &at->f, sizeof at->f);
      if (at->s) h = fnv(h, at->s, strlen(at->s));
      if (at->ints) h = fnv(h, at->ints, sizeof(int64_t) * (size_t)at->nints);
    }
  }
  return h;
}

/* ---- buffers ------------------------------------------------------------- */

static int root_of(const buf *bufs, int i) {
  while (bufs[i].kind == BUF_ALIAS) i = (int)bufs[i].index;
  return i;
}

static bool plan_buffers(cpu_cg *c, buf *bufs, int64_t *scratch) {
  const fab_func *f = c->f;
  bool planned = false; /* memplan ran: values carry plan.offset */
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    buf *b = &bufs[i];
    b->bytes = cg_numel(&op->type) * elem_size(op->type.dtype);
    b->last_use = i;
    if (c->absorbed[i]) {
      b->kind = BUF_NONE; /* runs inside a later op's kernel (fold.c) */
      continue;
    }
    switch (op->code) {
    case FAB_OP_INPUT: b->kind = BUF_INPUT; b->index = fab_op_int(op, "index", -1); break;
    case FAB_OP_WEIGHT: {
      const char *name = fab_op_str(op, "name", "");
      b->kind = BUF_WEIGHT;
      b->index = fab_module_find_param(c->m, name);
      if (b->index < 0) {
        fab_error(c->d, op->loc, "cpu backend: weight '%s' is not a parameter", name);
        return false;
      }
      break;
    }
    case FAB_OP_OUTPUT: b->kind = BUF_NONE; break;
    case FAB_OP_RESHAPE:
      if (!fab_op_attr(op, "plan.offset")) {
        b->kind = BUF_ALIAS;
        b->index = op->operands[0];
        break;
      }
      /* a planned reshape is a copy into its own slot */
      __attribute__((fallthrough));
    default:
      b->kind = BUF_SCRATCH;
      if (fab_op_attr(op, "plan.offset")) planned = true;
      break;
    }
  }
  for (int i = 0; i < f->nops; i++)
    for (int k = 0; k < c->eff[i].noperands; k++) {
      int r = root_of(bufs, c->eff[i].operands[k]);
      if (bufs[r].last_use < i) bufs[r].last_use = i;
    }
  int64_t top = 0;
  if (planned) {
    for (int i = 0; i < f->nops; i++) {
      if (bufs[i].kind != BUF_SCRATCH) continue;
      const fab_op *op = &f->ops[i];
      if (!fab_op_attr(op, "plan.offset")) continue; /* consts: placed after the arena */
      int64_t off = fab_op_int(op, "plan.offset", -1);
      if (off < 0 || off % 4) {
        fab_error(c->d, op->loc, "cpu backend: bad plan.offset %lld", (long long)off);
        return false;
      }
      bufs[i].offset = off;
      if (off + bufs[i].bytes > top) top = off + bufs[i].bytes;
    }
    for (int i = 0; i < f->nops; i++) {
      if (bufs[i].kind != BUF_SCRATCH || fab_op_attr(&f->ops[i], "plan.offset")) continue;
      top = (top + 63) / 64 * 64;
      bufs[i].offset = top;
      top += bufs[i].bytes;
    }
  } else {
    /* First fit over live intervals, 64-byte aligned slots. */
    for (int i = 0; i < f->nops; i++) {
      if (bufs[i].kind != BUF_SCRATCH) continue;
      int64_t need = (bufs[i].bytes + 63) / 64 * 64, off = 0;
      for (bool moved = true; moved;) {
        moved = false;
        for (int j = 0; j < i; j++) {
          if (bufs[j].kind != BUF_SCRATCH || bufs[j].last_use < i) continue;
          int64_t jb = (bufs[j].bytes + 63) / 64 * 64;
          if (off < bufs[j].offset + jb && bufs[j].offset < off + need) {
            off = bufs[j].offset + jb;
            moved = true;
          }
        }
      }
      bufs[i].offset = off;
      if (off + need > top) top = off + need;
    }
  }
  *scratch = top;
  return true;
}

/* ---- kernels ------------------------------------------------------------- */

static void add_fn_attrs(cpu_cg *c, LLVMValueRef fn) {
  const char *kv[][2] = {{"target-cpu", c->tgt->cpu},
                         {"target-features", c->tgt->features},
                         {"prefer-vector-width", c->lanes >= 16 ? "512" : c->lanes >= 8 ? "256" : "128"},
                         {"min-legal-vector-width", c->lanes >= 16 ? "512" : "0"},
                         {"frame-pointer", "none"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
    LLVMAttributeRef a = LLVMCreateStringAttribute(c->ctx, kv[i][0], (unsigned)strlen(kv[i][0]),
                                                   kv[i][1], (unsigned)strlen(kv[i][1]));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
  }
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->ctx, nounwind, 0));
}

static LLVMValueRef new_fn(cpu_cg *c, const char *name, LLVMTypeRef fty, bool exported) {
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, fty);
  LLVMSetLinkage(fn, exported ? LLVMExternalLinkage : LLVMInternalLinkage);
  add_fn_attrs(c, fn);
  c->fn = fn;
  c->entry_bb = LLVMAppendBasicBlockInContext(c->ctx, fn, "entry");
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  return fn;
}

_Static_assert(FAB_OP_LACKS(FAB_IMPL_CPU, BFLY_LINEAR) && FAB_OP_LACKS(FAB_IMPL_CPU, FOURIER_MIX) &&
                   FAB_OP_LACKS(FAB_IMPL_CPU, MHA),
               "gen_kernel has no kernel for an op that ir/op_targets.def marks FAB_IMPL_CPU");

static bool gen_kernel(cpu_cg *c, int i, LLVMValueRef *out_fn, int64_t *nrows) {
  const fab_op *op = &c->eff[i];
  char name[96];
  snprintf(name, sizeof name, "fab_k%d_%s", i, fab_opinfos[op->code].name);
  for (char *p = name; *p; p++)
    if (*p == '.') *p = '_';
  LLVMValueRef fn = new_fn(c, name, c->t_kernel, false);
  c->args = LLVMGetParam(fn, 0);
  c->begin = LLVMGetParam(fn, 1);
  c->end = LLVMGetParam(fn, 2);
  c->op = op;
  c->op_index = i;
  /* Allocas stay in `entry`; the code starts in its own block. */
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  bool ok = false;
  *nrows = 1;
  switch (op->code) { /* names every op (-Wswitch): a new op must be placed */
  case FAB_OP_CONST: case FAB_OP_LAYERNORM: case FAB_OP_GELU: case FAB_OP_RELU:
  case FAB_OP_SOFTMAX: case FAB_OP_ADD: case FAB_OP_MUL: case FAB_OP_SCALE:
  case FAB_OP_COMPLEX: case FAB_OP_REAL: case FAB_OP_BIAS_GELU: case FAB_OP_ADD_LAYERNORM:
    ok = cg_gen_elementwise(c, op, nrows);
    break;
  case FAB_OP_PAD: case FAB_OP_SLICE: case FAB_OP_RESHAPE: case FAB_OP_TRANSPOSE:
  case FAB_OP_STACK: case FAB_OP_EMBED: case FAB_OP_MEANPOOL: case FAB_OP_TAKE:
  case FAB_OP_BITREV:
    ok = cg_gen_data(c, op, nrows);
    break;
  case FAB_OP_DENSE: case FAB_OP_MATMUL: case FAB_OP_ATTENTION:
    ok = cg_gen_linalg(c, op, nrows);
    break;
  case FAB_OP_FFT_STAGES: case FAB_OP_DFT:
    ok = cg_gen_fft(c, op, nrows);
    break;
  case FAB_OP_BFLY_STAGES:
    ok = cg_gen_bfly(c, op, nrows);
    break;
  /* No kernel: sources and outputs are buffers; the ops without
   * FAB_IMPL_CPU are rejected by fab_check_target_support beforehand. */
  case FAB_OP_INPUT: case FAB_OP_WEIGHT: case FAB_OP_OUTPUT:
  case FAB_OP_BFLY_LINEAR: case FAB_OP_FOURIER_MIX: case FAB_OP_MHA: case FAB_OP_COUNT:
    fab_error(c->d, op->loc, "cpu backend: op '%s' is not lowered (run the lowering pipeline)",
              fab_opinfos[op->code].name);
    ok = false;
  }
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  *out_fn = fn;
  return ok;
}

/* ---- sharing kernels ------------------------------------------------------ */

/* What a kernel's code depends on: the op (code, attributes except the
 * memory plan's, result type) and its operands' types and op codes (the
 * dft reads whether its operand is `complex`).  Buffers arrive through the
 * argument array, so ops with equal signatures can share one function:
 * the 12 layers of fabnet_base then compile one set of kernels instead of
 * twelve, and LLVM time (almost all of compile time) stops growing with
 * depth.  Returns a malloc'd string, NULL if out of memory. */
static char *kernel_signature(const cpu_cg *c, const fab_op *op) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  fprintf(f, "%d|", (int)op->code);
  const fab_type *ts[1 + 8];
  int codes[1 + 8], nt = 0;
  ts[nt] = &op->type;
  codes[nt++] = -1;
  for (int k = 0; k < op->noperands && nt < 9; k++) {
    ts[nt] = &c->f->ops[op->operands[k]].type;
    codes[nt++] = (int)c->f->ops[op->operands[k]].code;
  }
  if (op->noperands > 8) fprintf(f, "n%d|", op->noperands);
  for (int t = 0; t < nt; t++) {
    fprintf(f, "%d,%d:", codes[t], (int)ts[t]->dtype);
    for (int r = 0; r < ts[t]->rank; r++) fprintf(f, "%lld,", (long long)ts[t]->dims[r]);
    fputc('|', f);
  }
  for (int a = 0; a < op->nattrs; a++) {
    const fab_attr *at = &op->attrs[a];
    if (!strncmp(at->key, "plan.", 5)) continue;
    fprintf(f, "%s=%d:%lld:%a:%s:", at->key, (int)at->kind, (long long)at->i, at->f, at->s ? at->s : "");
    for (int k = 0; k < at->nints; k++) fprintf(f, "%lld,", (long long)at->ints[k]);
    fputc('|', f);
  }
  if (fclose(f)) {
    free(text);
    return NULL;
  }
  return text;
}

/* void fab_dispatch(i8 *par, kernel *fn, i8 **args, i64 n): through the
 * runtime's parallel_for when there is one. */
static LLVMValueRef gen_dispatch(cpu_cg *c) {
  LLVMTypeRef pft_ps[4] = {c->t_i8p, c->t_kernelp, c->t_i8pp, c->t_i64};
  LLVMTypeRef pft = LLVMFunctionType(c->t_void, pft_ps, 4, 0);
  LLVMTypeRef pfp = LLVMPointerType(pft, 0);
  LLVMTypeRef fields[3] = {c->t_i8p, pfp, c->t_i64};
  LLVMTypeRef part = LLVMStructTypeInContext(c->ctx, fields, 3, 0);
  LLVMTypeRef ps[4] = {c->t_i8p, c->t_kernelp, c->t_i8pp, c->t_i64};
  LLVMValueRef fn = new_fn(c, "fab_dispatch", LLVMFunctionType(c->t_void, ps, 4, 0), false);
  LLVMValueRef par = LLVMGetParam(fn, 0), k = LLVMGetParam(fn, 1), args = LLVMGetParam(fn, 2),
               n = LLVMGetParam(fn, 3);
  LLVMBasicBlockRef serial = LLVMAppendBasicBlockInContext(c->ctx, fn, "serial");
  LLVMBasicBlockRef check = LLVMAppendBasicBlockInContext(c->ctx, fn, "check");
  LLVMBasicBlockRef par_bb = LLVMAppendBasicBlockInContext(c->ctx, fn, "parallel");
  LLVMBuildCondBr(c->b, LLVMBuildIsNull(c->b, par, ""), serial, check);
  LLVMPositionBuilderAtEnd(c->b, check);
  LLVMValueRef sp = LLVMBuildBitCast(c->b, par, LLVMPointerType(part, 0), "");
  LLVMValueRef pool = LLVMBuildLoad2(c->b, c->t_i8p, LLVMBuildStructGEP2(c->b, part, sp, 0, ""), "pool");
  LLVMValueRef pf = LLVMBuildLoad2(c->b, pfp, LLVMBuildStructGEP2(c->b, part, sp, 1, ""), "pf");
  LLVMBuildCondBr(c->b, LLVMBuildIsNull(c->b, pf, ""), serial, par_bb);
  LLVMPositionBuilderAtEnd(c->b, par_bb);
  LLVMValueRef cargs[4] = {pool, k, args, n};
  LLVMBuildCall2(c->b, pft, pf, cargs, 4, "");
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, serial);
  LLVMValueRef sargs[3] = {args, cg_i64(c, 0), n};
  LLVMBuildCall2(c->b, c->t_kernel, k, sargs, 3, "");
  LLVMBuildRetVoid(c->b);
  return fn;
}

/* Token ids must index the table: checked once, serially, before the
 * embedding kernel runs, so that kernels never fail. */
static void gen_embed_check(cpu_cg *c, LLVMValueRef ids, const fab_op *op) {
  const fab_type *it = &c->f->ops[op->operands[0]].type;
  const fab_type *tt = &c->f->ops[op->operands[1]].type;
  LLVMValueRef p = LLVMBuildBitCast(c->b, ids, c->t_i32p, "");
  LLVMValueRef bad = cg_alloca(c, c->t_i1, "bad");
  LLVMBuildStore(c->b, LLVMConstInt(c->t_i1, 0, 0), bad);
  cg_loop l = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, cg_numel(it)), "ids");
  LLVMValueRef id = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, p, l.iv), "");
  /* unsigned compare: negative ids are huge */
  LLVMValueRef out = LLVMBuildICmp(c->b, LLVMIntUGE, id, cg_i32(c, (int32_t)tt->dims[0]), "");
  LLVMValueRef acc = LLVMBuildOr(c->b, LLVMBuildLoad2(c->b, c->t_i1, bad, ""), out, "");
  LLVMBuildStore(c->b, acc, bad);
  cg_loop_end(c, &l);
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildLoad2(c->b, c->t_i1, bad, ""));
  LLVMBuildRet(c->b, cg_i32(c, FAB_RUN_E_TOKEN));
  LLVMPositionBuilderAtEnd(c->b, join);
}

static LLVMValueRef gen_entry(cpu_cg *c, const buf *bufs, LLVMValueRef *kernels, const int64_t *nrows,
                              LLVMValueRef dispatch, int64_t ws_offset) {
  LLVMTypeRef ps[5] = {c->t_i8pp, c->t_i8pp, c->t_i8pp, c->t_i8p, c->t_i8p};
  LLVMTypeRef fty = LLVMFunctionType(c->t_i32, ps, 5, 0);
  LLVMValueRef fn = new_fn(c, "fab_model_run", fty, false);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  LLVMValueRef w = LLVMGetParam(fn, 0), in = LLVMGetParam(fn, 1), out = LLVMGetParam(fn, 2),
               scratch = LLVMGetParam(fn, 3), par = LLVMGetParam(fn, 4);
  const fab_func *f = c->f;
  LLVMValueRef *ptr = calloc((size_t)f->nops, sizeof *ptr);
  /* A scratch value that is a model output is computed straight into the
   * caller's output buffer (no final copy); other outputs are copied. */
  int64_t *direct = malloc(sizeof(int64_t) * (size_t)f->nops);
  if (!ptr || !direct) {
    free(ptr);
    free(direct);
    CG_ERR(c, "cpu backend: out of memory");
    return NULL;
  }
  for (int i = 0; i < f->nops; i++) direct[i] = -1;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_OUTPUT && bufs[op->operands[0]].kind == BUF_SCRATCH &&
        direct[op->operands[0]] < 0)
      direct[op->operands[0]] = fab_op_int(op, "index", 0);
  }
  c->op = NULL;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &c->eff[i];
    const buf *b = &bufs[i];
    LLVMValueRef pp;
    switch (b->kind) {
    case BUF_INPUT:
      pp = LLVMBuildGEP2(c->b, c->t_i8p, in, (LLVMValueRef[]){cg_i64(c, b->index)}, 1, "");
      ptr[i] = LLVMBuildLoad2(c->b, c->t_i8p, pp, "in");
      break;
    case BUF_WEIGHT:
      pp = LLVMBuildGEP2(c->b, c->t_i8p, w, (LLVMValueRef[]){cg_i64(c, b->index)}, 1, "");
      ptr[i] = LLVMBuildLoad2(c->b, c->t_i8p, pp, "w");
      break;
    case BUF_ALIAS: ptr[i] = ptr[b->index]; break;
    case BUF_SCRATCH:
      if (direct[i] >= 0) {
        pp = LLVMBuildGEP2(c->b, c->t_i8p, out, (LLVMValueRef[]){cg_i64(c, direct[i])}, 1, "");
        ptr[i] = LLVMBuildLoad2(c->b, c->t_i8p, pp, "out");
        break;
      }
      ptr[i] = LLVMBuildGEP2(c->b, c->t_i8, scratch, (LLVMValueRef[]){cg_i64(c, b->offset)}, 1, "buf");
      break;
    default: break;
    }
    if (op->code == FAB_OP_OUTPUT) {
      if (direct[op->operands[0]] == fab_op_int(op, "index", 0)) continue;
      pp = LLVMBuildGEP2(c->b, c->t_i8p, out, (LLVMValueRef[]){cg_i64(c, fab_op_int(op, "index", 0))}, 1, "");
      LLVMValueRef dst = LLVMBuildLoad2(c->b, c->t_i8p, pp, "out");
      cg_memcpy(c, dst, ptr[op->operands[0]], cg_i64(c, bufs[op->operands[0]].bytes));
      continue;
    }
    if (!kernels[i]) continue;
    if (op->code == FAB_OP_EMBED) gen_embed_check(c, ptr[op->operands[0]], op);
    bool ws = cg_workspace_bytes(f, op) > 0;
    LLVMTypeRef at = LLVMArrayType(c->t_i8p, (unsigned)op->noperands + 2);
    LLVMValueRef arr = cg_alloca(c, at, "args");
    LLVMValueRef a0 = LLVMBuildBitCast(c->b, arr, c->t_i8pp, "");
    for (int k = 0; k <= op->noperands; k++) {
      LLVMValueRef v = k == 0 ? ptr[i] : ptr[op->operands[k - 1]];
      LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, c->t_i8p, a0, (LLVMValueRef[]){cg_i64(c, k)}, 1, ""));
    }
    if (ws) {
      LLVMValueRef v = LLVMBuildGEP2(c->b, c->t_i8, scratch, (LLVMValueRef[]){cg_i64(c, ws_offset)}, 1, "ws");
      LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, c->t_i8p, a0, (LLVMValueRef[]){cg_i64(c, op->noperands + 1)}, 1, ""));
    }
    LLVMValueRef dargs[4] = {par, kernels[i], a0, cg_i64(c, nrows[i])};
    LLVMBuildCall2(c->b, LLVMGlobalGetValueType(dispatch), dispatch, dargs, 4, "");
  }
  LLVMBuildRet(c->b, cg_i32(c, FAB_RUN_OK));
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  free(ptr);
  free(direct);
  return fn;
}

/* ---- the module ------------------------------------------------------------ */

static bool optimise(cpu_cg *c) {
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(po, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(po, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(po, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(po, 1);
  int ol = c->opts ? c->opts->opt_level : 3;
  if (ol < 0) ol = 0;
  if (ol > 3) ol = 3;
  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", ol);
  /* codegen option llvm-pipeline= replaces it (for investigating LLVM) */
  const char *alt = c->opts ? c->opts->llvm_pipeline : NULL;
  LLVMErrorRef e = LLVMRunPasses(c->mod, alt && *alt ? alt : pipeline, c->tgt->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    fab_error(c->d, (fab_loc){0}, "cpu backend: LLVM optimisation failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
  }
  return true;
}

/* LLVM reports missed optimisations ("loop not vectorized") as remarks and
 * warnings on stderr; they are not the user's business.  Errors still go
 * through the normal failure paths. */
static void quiet_diagnostics(LLVMDiagnosticInfoRef di, void *arg) {
  (void)di;
  (void)arg;
}

LLVMModuleRef cg_build_model(LLVMContextRef ctx, const fab_module *m, const fab_cpu_options *o,
                             const cg_target *t, fab_diag *d) {
  if (!fab_check_target_support(m, FAB_IMPL_CPU, "cpu", d)) return NULL;
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "cpu backend: the module has no function");
    return NULL;
  }
  if (f->nops <= 0 || f->nops >= (1 << 24)) {
    fab_error(d, (fab_loc){0}, "cpu backend: the function has %d ops", f->nops);
    return NULL;
  }
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (cg_numel(&op->type) <= 0 || op->type.rank > FAB_MAX_RANK) {
      fab_error(d, op->loc, "cpu backend: op %d (%s) has no valid type", i, fab_opinfos[op->code].name);
      return NULL;
    }
    for (int k = 0; k < op->noperands; k++)
      if (op->operands[k] < 0 || op->operands[k] >= i) {
        fab_error(d, op->loc, "cpu backend: op %d has a bad operand", i);
        return NULL;
      }
  }
  LLVMContextSetDiagnosticHandler(ctx, quiet_diagnostics, NULL);
  fab_cpu_options dflt;
  if (!o) {
    fab_cpu_options_default(&dflt);
    o = &dflt;
  }
  cpu_cg c = {0};
  c.ctx = ctx;
  c.m = m;
  c.f = f;
  c.d = d;
  c.tgt = t;
  c.opts = o;
  c.lanes = t->lanes;
  c.mod = LLVMModuleCreateWithNameInContext(m->name ? m->name : "model", ctx);
  c.b = LLVMCreateBuilderInContext(ctx);
  cg_init_types(&c);
  LLVMSetTarget(c.mod, t->triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(t->tm);
  LLVMSetModuleDataLayout(c.mod, td);
  LLVMDisposeTargetData(td);

  size_t nops = (size_t)f->nops & ((1u << 24) - 1); /* checked above */
  fab_op *eff = calloc(nops, sizeof *eff);
  bool *absorbed = calloc(nops, sizeof *absorbed);
  void **owned = NULL;
  int nowned = 0;
  if (!eff || !absorbed) fab_error(d, (fab_loc){0}, "cpu backend: out of memory");
  bool folded = eff && absorbed && cg_fold_ops(f, eff, absorbed, &owned, &nowned, d);
  c.eff = eff;
  c.absorbed = absorbed;
  buf *bufs = calloc(nops, sizeof *bufs);
  LLVMValueRef *kernels = calloc(nops, sizeof *kernels);
  int64_t *nrows = calloc(nops, sizeof *nrows);
  int64_t scratch = 0;
  bool ok = folded && bufs && kernels && nrows && plan_buffers(&c, bufs, &scratch);
  /* One workspace region after every buffer, shared by the ops that need
   * one (they run one after another). */
  int64_t ws_offset = (scratch + 63) / 64 * 64, ws_max = 0;
  for (int i = 0; ok && i < f->nops; i++) {
    int64_t w = cg_workspace_bytes(f, &f->ops[i]);
    if (w > ws_max) ws_max = w;
  }
  if (ws_max) scratch = ws_offset + ws_max;
  LLVMValueRef dispatch = ok ? gen_dispatch(&c) : NULL;
  char **sigs = calloc(nops, sizeof *sigs);
  if (ok && !sigs) { /* an error, not a silently different (unshared) model */
    CG_ERR(&c, "cpu backend: out of memory");
    ok = false;
  }
  bool share = sigs && !(o && o->no_share);
  for (int i = 0; ok && i < f->nops; i++) {
    int code = f->ops[i].code;
    if (code == FAB_OP_INPUT || code == FAB_OP_WEIGHT || code == FAB_OP_OUTPUT) continue;
    if (bufs[i].kind == BUF_ALIAS || absorbed[i]) continue;
    int same = -1;
    if (share && (sigs[i] = kernel_signature(&c, &eff[i])) != NULL)
      for (int j = 0; j < i && same < 0; j++)
        if (sigs[j] && kernels[j] && !strcmp(sigs[j], sigs[i])) same = j;
    if (same >= 0) {
      kernels[i] = kernels[same];
      nrows[i] = nrows[same];
      continue;
    }
    ok = gen_kernel(&c, i, &kernels[i], &nrows[i]);
    if (nrows[i] < 1) nrows[i] = 1;
  }
  for (size_t i = 0; sigs && i < nops; i++) free(sigs[i]);
  free(sigs);
  LLVMValueRef entry = ok ? gen_entry(&c, bufs, kernels, nrows, dispatch, ws_offset) : NULL;
  ok = ok && entry && cg_gen_descriptor(&c, entry, scratch);
  free(bufs);
  free(kernels);
  free(nrows);
  for (int i = 0; i < nowned; i++) free(owned[i]);
  free(owned);
  free(eff);
  free(absorbed);
  LLVMDisposeBuilder(c.b);
  if (ok) {
    char *msg = NULL;
    if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg)) {
      fab_error(d, (fab_loc){0}, "cpu backend: internal error: invalid LLVM module: %.2000s", msg);
      ok = false;
    }
    LLVMDisposeMessage(msg);
  }
  if (ok && getenv("FAB_CPU_DUMP_IR")) LLVMDumpModule(c.mod);
  ok = ok && optimise(&c);
  if (!ok) {
    LLVMDisposeModule(c.mod);
    return NULL;
  }
  return c.mod;
}
