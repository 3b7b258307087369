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

/* A planned reshape at its operand's own offset is the same bytes: an
 * alias, not a copy. */
static bool same_slot(const cpu_cg *c, const buf *bufs, const fab_op *op) {
  int r = root_of(bufs, op->operands[0]);
  const fab_op *src = &c->f->ops[r];
  return bufs[r].kind == BUF_SCRATCH && fab_op_attr(src, "plan.offset") &&
         fab_op_int(src, "plan.offset", -1) == fab_op_int(op, "plan.offset", -2);
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
      if (!fab_op_attr(op, "plan.offset") || same_slot(c, bufs, op)) {
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

LLVMValueRef cg_new_fn(cpu_cg *c, const char *name, LLVMTypeRef fty, bool exported) {
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

/* A kernel function "fab_<prefix><i>_<op>" with the builder in its body
 * block (allocas stay in `entry`; end_kernel joins the two). */
static LLVMValueRef begin_kernel(cpu_cg *c, int i, const char *prefix) {
  const fab_op *op = &c->eff[i];
  char name[96];
  snprintf(name, sizeof name, "fab_%s%d_%s", prefix, i, fab_opinfos[op->code].name);
  for (char *p = name; *p; p++)
    if (*p == '.') *p = '_';
  LLVMValueRef fn = cg_new_fn(c, name, c->t_kernel, false);
  /* out of line: the entry calls kernels through its table, and one copy
   * per op inlined anywhere would make compile time grow with depth */
  unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->ctx, noinline, 0));
  c->args = LLVMGetParam(fn, 0);
  c->begin = LLVMGetParam(fn, 1);
  c->end = LLVMGetParam(fn, 2);
  c->op = op;
  c->op_index = i;
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  return fn;
}

static void end_kernel(cpu_cg *c, LLVMValueRef fn) {
  LLVMBuildRetVoid(c->b);
  LLVMBasicBlockRef body = LLVMGetNextBasicBlock(LLVMGetEntryBasicBlock(fn));
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
}

/* The op's kernel and, when it reads prepared data, its prepare kernel
 * (*prep_fn, else NULL) and the data's size (*prep_bytes). */
static bool gen_kernel(cpu_cg *c, int i, LLVMValueRef *out_fn, int64_t *nrows, LLVMValueRef *prep_fn,
                       int64_t *prep_bytes) {
  const fab_op *op = &c->eff[i];
  LLVMValueRef fn = begin_kernel(c, i, "k");
  bool ok = false;
  *nrows = 1;
  c->prep_bytes = 0;
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
  case FAB_OP_FFT_CHIRP:
    ok = cg_gen_fft_chirp(c, op, nrows);
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
  end_kernel(c, fn);
  *out_fn = fn;
  *prep_fn = NULL;
  *prep_bytes = c->prep_bytes;
  if (ok && c->prep_bytes > 0) {
    *prep_fn = begin_kernel(c, i, "p");
    ok = cg_gen_prepare(c, op);
    end_kernel(c, *prep_fn);
  }
  return ok;
}

int cg_prepared_arg(const cpu_cg *c, const fab_op *op) {
  return op->noperands + 1 + (cg_workspace_bytes(c->f, op) > 0);
}

bool cg_gen_prepare(cpu_cg *c, const fab_op *op) {
  if (op->code == FAB_OP_ADD_LAYERNORM) return cg_gen_ffn_prepare(c, op);
  if (op->code == FAB_OP_BFLY_STAGES) return cg_gen_bfly_prepare(c, op);
  CG_ERR(c, "cpu backend: internal error: op '%s' has no prepare step", fab_opinfos[op->code].name);
  return false;
}

/* ---- sharing kernels ------------------------------------------------------ */

/* What a kernel's code depends on: the op (code, attributes except the
 * memory plan's, result type) and its operands' types, and for a dft its
 * operands' op codes (it reads whether its operand is `complex`; no other
 * kernel looks at its operands' ops, so e.g. the first layer, fed by the
 * embedding's add, shares the kernels of the others).  Buffers arrive through the
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
    codes[nt++] = op->code == FAB_OP_DFT ? (int)c->f->ops[op->operands[k]].code : -1;
  }
  if (op->noperands > 8) fprintf(f, "n%d|", op->noperands);
  /* kernels that may read prepared data do so when their operands are weights */
  if (op->code == FAB_OP_ADD_LAYERNORM || op->code == FAB_OP_BFLY_STAGES) {
    for (int k = 0; k < op->noperands; k++) fputc(c->weight_root[op->operands[k]] ? 'w' : '-', f);
    fputc('|', f);
  }
  /* cpu.slice_in: the kernel reads the weight from the slice's first row,
   * an attribute of the slice the op's own attributes do not carry (op is
   * c->eff[i], the IR op i) */
  if (op->code == FAB_OP_ADD && fab_op_int(op, "cpu.slice_in", 0))
    fprintf(f, "s%lld|", (long long)fab_op_int(&c->f->ops[c->f->ops[op - c->eff].operands[1]], "start", 0));
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

/* Kernels for every op that needs one; ops of equal signature share one
 * (found through a hash table: linear in the op count). */
static bool gen_kernels(cpu_cg *c, const buf *bufs, LLVMValueRef *kernels, int64_t *nrows,
                        LLVMValueRef *prep_fns, int64_t *prep_bytes, bool share) {
  const fab_func *f = c->f;
  size_t cap = 16;
  while (cap < 2 * (size_t)f->nops) cap *= 2;
  int *slot = malloc(cap * sizeof *slot);
  char **sigs = calloc((size_t)f->nops, sizeof *sigs);
  uint64_t *hash = calloc((size_t)f->nops, sizeof *hash);
  if (!slot || !sigs || !hash) { /* an error, not a silently different (unshared) model */
    free(slot);
    free(sigs);
    free(hash);
    CG_ERR(c, "cpu backend: out of memory");
    return false;
  }
  for (size_t k = 0; slot && k < cap; k++) slot[k] = -1;
  bool ok = true;
  for (int i = 0; ok && i < f->nops; i++) {
    int code = f->ops[i].code;
    if (code == FAB_OP_INPUT || code == FAB_OP_WEIGHT || code == FAB_OP_OUTPUT) continue;
    if (bufs[i].kind == BUF_ALIAS || c->absorbed[i]) continue;
    size_t h = 0;
    if (share && (sigs[i] = kernel_signature(c, &c->eff[i])) != NULL) {
      hash[i] = fnv(0xcbf29ce484222325ull, sigs[i], strlen(sigs[i]));
      for (h = hash[i] & (cap - 1); slot[h] >= 0; h = (h + 1) & (cap - 1)) {
        int j = slot[h];
        if (hash[j] == hash[i] && !strcmp(sigs[j], sigs[i])) break;
      }
      if (slot[h] >= 0) {
        kernels[i] = kernels[slot[h]];
        nrows[i] = nrows[slot[h]];
        prep_fns[i] = prep_fns[slot[h]];
        prep_bytes[i] = prep_bytes[slot[h]];
        continue;
      }
    }
    ok = gen_kernel(c, i, &kernels[i], &nrows[i], &prep_fns[i], &prep_bytes[i]);
    if (nrows[i] < 1) nrows[i] = 1;
    if (sigs[i]) slot[h] = i;
  }
  for (int i = 0; sigs && i < f->nops; i++) free(sigs[i]);
  free(sigs);
  free(hash);
  free(slot);
  return ok;
}

/* ---- the run table ----------------------------------------------------------- */

typedef struct table_builder {
  const cpu_cg *c;
  const buf *bufs;
  const int64_t *direct; /* scratch values computed into output `direct[i]` */
  cg_step *steps;
  cg_loc *args;
  int nsteps, nargs;
  int64_t prepared; /* bytes of prepared data so far */
} table_builder;

static cg_loc loc_of(const table_builder *tb, int i) {
  int r = root_of(tb->bufs, i);
  const buf *b = &tb->bufs[r];
  switch (b->kind) {
  case BUF_INPUT: return (cg_loc){CG_LOC_INPUT, b->index, 0, b->bytes, -1};
  case BUF_WEIGHT: return (cg_loc){CG_LOC_WEIGHT, b->index, 0, b->bytes, -1};
  default:
    if (tb->direct[r] >= 0) return (cg_loc){CG_LOC_OUTPUT, tb->direct[r], 0, b->bytes, r};
    return (cg_loc){CG_LOC_SCRATCH, 0, b->offset, b->bytes, r};
  }
}

static bool same_loc(const cg_loc *a, const cg_loc *b) {
  return a->space == b->space && a->index == b->index && a->off == b->off && a->bytes == b->bytes;
}

/* Where every value lives before scheduling, and which operand each
 * result overwrites in place. */
static void init_places(const table_builder *tb, cg_loc *loc, int *last_use, int *parent) {
  const cpu_cg *c = tb->c;
  for (int i = 0; i < c->f->nops; i++) {
    loc[i] = loc_of(tb, i);
    last_use[i] = tb->bufs[i].last_use;
    parent[i] = -1;
    if (tb->bufs[i].kind != BUF_SCRATCH || c->absorbed[i]) continue;
    for (int k = 0; k < c->eff[i].noperands && parent[i] < 0; k++) {
      int r = root_of(tb->bufs, c->eff[i].operands[k]);
      if (r != i && tb->bufs[r].kind == BUF_SCRATCH && same_loc(&loc[r], &loc[i])) parent[i] = r;
    }
  }
}

static cg_step *add_step(table_builder *tb, cg_step_kind kind, int op, int64_t nrows) {
  cg_step *s = &tb->steps[tb->nsteps++];
  *s = (cg_step){.kind = kind, .op = op, .nrows = nrows, .arg0 = tb->nargs, .rpu = 1};
  return s;
}

static void add_arg(table_builder *tb, cg_step *s, cg_loc l) {
  tb->args[tb->nargs++] = l;
  s->nargs++;
}

/* The steps in op order: token checks before embeddings, kernels, and
 * copies of outputs that are not computed in place. */
static void build_steps(table_builder *tb, const LLVMValueRef *kernels, const int64_t *nrows,
                        const LLVMValueRef *prep_fns, const int64_t *prep_bytes, int64_t ws_offset) {
  const cpu_cg *c = tb->c;
  for (int i = 0; i < c->f->nops; i++) {
    const fab_op *op = &c->eff[i];
    if (op->code == FAB_OP_OUTPUT) {
      int src = op->operands[0];
      int64_t index = fab_op_int(op, "index", 0);
      if (tb->direct[root_of(tb->bufs, src)] == index) continue;
      cg_step *s = add_step(tb, CG_STEP_COPY, i, tb->bufs[root_of(tb->bufs, src)].bytes);
      add_arg(tb, s, (cg_loc){CG_LOC_OUTPUT, index, 0, s->nrows, -1});
      add_arg(tb, s, loc_of(tb, src));
      continue;
    }
    if (!kernels[i]) continue;
    if (op->code == FAB_OP_EMBED || fab_op_int(op, "cpu.embed_in", 0)) { /* eff: ids, table first */
      const fab_type *it = &c->f->ops[op->operands[0]].type, *tt = &c->f->ops[op->operands[1]].type;
      cg_step *s = add_step(tb, CG_STEP_CHECK_IDS, i, cg_numel(it));
      s->aux = tt->dims[0];
      add_arg(tb, s, loc_of(tb, op->operands[0]));
    }
    cg_step *s = add_step(tb, CG_STEP_KERNEL, i, nrows[i]);
    s->fn = kernels[i];
    add_arg(tb, s, loc_of(tb, i));
    for (int k = 0; k < op->noperands; k++) add_arg(tb, s, loc_of(tb, op->operands[k]));
    int64_t ws = cg_workspace_bytes(c->f, op);
    if (ws > 0) {
      s->workspace = true;
      add_arg(tb, s, (cg_loc){CG_LOC_SCRATCH, 0, ws_offset, ws, -1});
    }
    if (prep_fns[i]) { /* each op its own prepared data: its own weights */
      s->prep = prep_fns[i];
      add_arg(tb, s, (cg_loc){CG_LOC_WEIGHT, c->m->nparams, tb->prepared, prep_bytes[i], -1});
      tb->prepared += (prep_bytes[i] + 63) / 64 * 64;
    }
  }
}

/* The entry function and (*prepare, NULL: none) the prepare entry with
 * its *prepared bytes. */
static LLVMValueRef gen_run_table(cpu_cg *c, const buf *bufs, const LLVMValueRef *kernels,
                                  const int64_t *nrows, const LLVMValueRef *prep_fns,
                                  const int64_t *prep_bytes, int64_t ws_offset, int64_t *scratch,
                                  LLVMValueRef *prepare, int64_t *prepared) {
  const fab_func *f = c->f;
  size_t n = (size_t)f->nops, nargs = 0;
  for (int i = 0; i < f->nops; i++) nargs += (size_t)c->eff[i].noperands + 3;
  int64_t *direct = malloc(n * sizeof *direct);
  table_builder tb = {c, bufs, direct, calloc(2 * n, sizeof(cg_step)), calloc(nargs + 1, sizeof(cg_loc)), 0, 0, 0};
  cg_block *blocks = calloc(2 * n, sizeof *blocks);
  cg_loc *loc = calloc(n, sizeof *loc);
  int *last_use = calloc(n, sizeof *last_use), *parent = calloc(n, sizeof *parent);
  LLVMValueRef entry = NULL;
  int nblocks = -1;
  if (direct && tb.steps && tb.args && blocks && loc && last_use && parent) {
    /* A scratch value that is a model output is computed straight into
     * the caller's output buffer (no final copy); other outputs are copied. */
    for (int i = 0; i < f->nops; i++) direct[i] = -1;
    for (int i = 0; i < f->nops; i++) {
      const fab_op *op = &f->ops[i];
      if (op->code == FAB_OP_OUTPUT && bufs[op->operands[0]].kind == BUF_SCRATCH &&
          direct[op->operands[0]] < 0)
        direct[op->operands[0]] = fab_op_int(op, "index", 0);
    }
    build_steps(&tb, kernels, nrows, prep_fns, prep_bytes, ws_offset);
    init_places(&tb, loc, last_use, parent);
    cg_places pl = {loc, last_use, parent, *scratch};
    nblocks = cg_schedule(c, tb.steps, tb.nsteps, tb.args, &pl, blocks);
    *scratch = pl.arena;
  }
  if (nblocks >= 0) {
    c->op = NULL;
    entry = cg_gen_entry(c, tb.steps, tb.nsteps, tb.args, tb.nargs, blocks, nblocks);
    *prepare = cg_gen_prepare_entry(c, tb.steps, tb.nsteps, tb.args);
    *prepared = tb.prepared;
  } else {
    fab_error(c->d, (fab_loc){0}, "cpu backend: out of memory");
  }
  free(direct);
  free(tb.steps);
  free(tb.args);
  free(blocks);
  free(loc);
  free(last_use);
  free(parent);
  return entry;
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
  LLVMValueRef *kernels = calloc(nops, sizeof *kernels), *prep_fns = calloc(nops, sizeof *prep_fns);
  int64_t *nrows = calloc(nops, sizeof *nrows), *prep_bytes = calloc(nops, sizeof *prep_bytes);
  bool *weight_root = calloc(nops, sizeof *weight_root);
  int64_t scratch = 0;
  bool ok = folded && bufs && kernels && nrows && prep_fns && prep_bytes && weight_root &&
            plan_buffers(&c, bufs, &scratch);
  for (int i = 0; ok && i < f->nops; i++) weight_root[i] = bufs[root_of(bufs, i)].kind == BUF_WEIGHT;
  c.weight_root = weight_root;
  /* One workspace region after every buffer, shared by the ops that need
   * one (they run one after another). */
  int64_t ws_offset = (scratch + 63) / 64 * 64, ws_max = 0;
  for (int i = 0; ok && i < f->nops; i++) {
    int64_t w = cg_workspace_bytes(f, &f->ops[i]);
    if (w > ws_max) ws_max = w;
  }
  if (ws_max) scratch = ws_offset + ws_max;
  ok = ok && gen_kernels(&c, bufs, kernels, nrows, prep_fns, prep_bytes, !o->no_share);
  LLVMValueRef prepare = NULL;
  int64_t prepared = 0;
  LLVMValueRef entry = ok ? gen_run_table(&c, bufs, kernels, nrows, prep_fns, prep_bytes, ws_offset,
                                          &scratch, &prepare, &prepared)
                          : NULL;
  ok = entry != NULL;
  ok = ok && cg_gen_descriptor(&c, entry, scratch, prepare, prepared);
  free(bufs);
  free(kernels);
  free(nrows);
  free(prep_fns);
  free(prep_bytes);
  free(weight_root);
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
