/* entry.c — the model's entry function as a loop over constant tables.
 *
 * Straight-line entry code (one call per op) grew with depth, and LLVM's
 * inliner copied the small kernels into it once per op: compile time
 * tripled from 1 to 12 layers.  Here the entry is the same few basic
 * blocks for every model; what differs is data:
 *   fab_args    {space, index, off}: where each step argument lives;
 *   fab_steps   {kernel, nrows, rows per unit, aux, first arg, nargs, kind};
 *   fab_regions {first step, steps, units} (schedule.c).
 * fab_model_run walks the regions: a kernel region is one
 * parallel_for(fab_region, n units); fab_region runs each of the
 * region's steps on the rows of its units.  Check and copy steps run on
 * the caller.  fab_model_prepare (the descriptor's prepare step) calls the
 * prepare kernels of the steps that have one, once per weight binding. */
#include "cpu_internal.h"

#include <stdlib.h>

typedef struct tables {
  LLVMTypeRef arg_t, step_t, region_t, ctx_t;
  LLVMValueRef args, steps, regions;
  int max_args;
} tables;

/* field numbers of the table rows and of the run context */
enum { ARG_SPACE, ARG_INDEX, ARG_OFF };
enum { STEP_FN, STEP_NROWS, STEP_RPU, STEP_AUX, STEP_ARG0, STEP_NARGS, STEP_KIND };
enum { REGION_FIRST, REGION_STEPS, REGION_UNITS };
enum { CTX_TABS, CTX_SCRATCH, CTX_REGION };

static LLVMValueRef const_global(cpu_cg *c, LLVMTypeRef et, LLVMValueRef *els, int n, const char *name) {
  LLVMValueRef arr = LLVMConstArray(et, els, (unsigned)n);
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(arr), name);
  LLVMSetInitializer(g, arr);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

static bool make_tables(cpu_cg *c, tables *t, const cg_step *steps, int nsteps, const cg_loc *args,
                        int nargs, const cg_block *blocks, int nblocks) {
  LLVMTypeRef af[3] = {c->t_i32, c->t_i64, c->t_i64};
  t->arg_t = LLVMStructTypeInContext(c->ctx, af, 3, 0);
  LLVMTypeRef sf[7] = {c->t_kernelp, c->t_i64, c->t_i64, c->t_i64, c->t_i32, c->t_i32, c->t_i32};
  t->step_t = LLVMStructTypeInContext(c->ctx, sf, 7, 0);
  LLVMTypeRef rf[3] = {c->t_i32, c->t_i32, c->t_i64};
  t->region_t = LLVMStructTypeInContext(c->ctx, rf, 3, 0);
  LLVMTypeRef cf[3] = {LLVMArrayType(c->t_i8pp, 4), c->t_i8p, c->t_i64};
  t->ctx_t = LLVMStructTypeInContext(c->ctx, cf, 3, 0);
  int n = nargs > nsteps ? nargs : nsteps;
  if (nblocks > n) n = nblocks;
  LLVMValueRef *els = calloc((size_t)(n > 0 ? n : 1), sizeof *els);
  if (!els) return false;
  for (int i = 0; i < nargs; i++) {
    LLVMValueRef f[3] = {cg_i32(c, args[i].space), cg_i64(c, args[i].index), cg_i64(c, args[i].off)};
    els[i] = LLVMConstStructInContext(c->ctx, f, 3, 0);
  }
  t->args = const_global(c, t->arg_t, els, nargs, "fab_args");
  t->max_args = 1;
  for (int i = 0; i < nsteps; i++) {
    const cg_step *s = &steps[i];
    LLVMValueRef f[7] = {s->fn ? s->fn : LLVMConstNull(c->t_kernelp), cg_i64(c, s->nrows), cg_i64(c, s->rpu),
                         cg_i64(c, s->aux), cg_i32(c, s->arg0), cg_i32(c, s->nargs), cg_i32(c, (int32_t)s->kind)};
    els[i] = LLVMConstStructInContext(c->ctx, f, 7, 0);
    if (s->nargs > t->max_args) t->max_args = s->nargs;
  }
  t->steps = const_global(c, t->step_t, els, nsteps, "fab_steps");
  for (int i = 0; i < nblocks; i++) {
    LLVMValueRef f[3] = {cg_i32(c, blocks[i].first), cg_i32(c, blocks[i].n), cg_i64(c, blocks[i].nunits)};
    els[i] = LLVMConstStructInContext(c->ctx, f, 3, 0);
  }
  t->regions = const_global(c, t->region_t, els, nblocks, "fab_regions");
  free(els);
  return true;
}

/* table[i].field f, of type ft */
static LLVMValueRef load_field(cpu_cg *c, LLVMValueRef table, LLVMValueRef i, int f, LLVMTypeRef ft) {
  LLVMValueRef idx[3] = {cg_i64(c, 0), i, cg_i32(c, f)};
  LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, LLVMGlobalGetValueType(table), table, idx, 3, "");
  return LLVMBuildLoad2(c->b, ft, p, "");
}

static LLVMValueRef ctx_field(cpu_cg *c, const tables *t, LLVMValueRef ctx, int f) {
  return LLVMBuildStructGEP2(c->b, t->ctx_t, ctx, (unsigned)f, "");
}

/* The pointer argument a (an i64 index into fab_args) stands for. */
static LLVMValueRef resolve(cpu_cg *c, const tables *t, LLVMValueRef ctx, LLVMValueRef a) {
  LLVMValueRef space = load_field(c, t->args, a, ARG_SPACE, c->t_i32);
  LLVMValueRef index = load_field(c, t->args, a, ARG_INDEX, c->t_i64);
  LLVMValueRef off = load_field(c, t->args, a, ARG_OFF, c->t_i64);
  LLVMValueRef slot = cg_alloca(c, c->t_i8p, "ptr");
  LLVMValueRef scratch = LLVMBuildLoad2(c->b, c->t_i8p, ctx_field(c, t, ctx, CTX_SCRATCH), "scratch");
  LLVMBuildStore(c->b, LLVMBuildGEP2(c->b, c->t_i8, scratch, &off, 1, ""), slot);
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntNE, space, cg_i32(c, CG_LOC_SCRATCH), ""));
  LLVMValueRef tabs = ctx_field(c, t, ctx, CTX_TABS);
  LLVMValueRef ti[2] = {cg_i64(c, 0), LLVMBuildZExt(c->b, space, c->t_i64, "")};
  LLVMValueRef tab = LLVMBuildLoad2(c->b, c->t_i8pp,
                                    LLVMBuildInBoundsGEP2(c->b, LLVMArrayType(c->t_i8pp, 4), tabs, ti, 2, ""), "");
  LLVMValueRef base = LLVMBuildLoad2(c->b, c->t_i8p, cg_gep(c, c->t_i8p, tab, index), "");
  LLVMBuildStore(c->b, LLVMBuildGEP2(c->b, c->t_i8, base, &off, 1, ""), slot); /* off: prepared data */
  cg_if_end(c, join);
  return LLVMBuildLoad2(c->b, c->t_i8p, slot, "");
}

/* void fab_region(i8 **ctx, i64 ub, i64 ue): the region's steps on units [ub, ue). */
static LLVMValueRef gen_region_fn(cpu_cg *c, const tables *t) {
  LLVMValueRef fn = cg_new_fn(c, "fab_region", c->t_kernel, false);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  LLVMValueRef ctx = LLVMBuildBitCast(c->b, LLVMGetParam(fn, 0), LLVMPointerType(t->ctx_t, 0), "ctx");
  LLVMValueRef ub = LLVMGetParam(fn, 1), ue = LLVMGetParam(fn, 2);
  LLVMValueRef argv = cg_alloca(c, LLVMArrayType(c->t_i8p, (unsigned)t->max_args), "argv");
  LLVMValueRef argp = LLVMBuildBitCast(c->b, argv, c->t_i8pp, "");
  LLVMValueRef r = LLVMBuildLoad2(c->b, c->t_i64, ctx_field(c, t, ctx, CTX_REGION), "region");
  LLVMValueRef first = LLVMBuildSExt(c->b, load_field(c, t->regions, r, REGION_FIRST, c->t_i32), c->t_i64, "");
  LLVMValueRef n = LLVMBuildSExt(c->b, load_field(c, t->regions, r, REGION_STEPS, c->t_i32), c->t_i64, "");
  cg_loop s = cg_loop_begin(c, first, cg_add(c, first, n), "step");
  LLVMValueRef k = load_field(c, t->steps, s.iv, STEP_FN, c->t_kernelp);
  LLVMValueRef nrows = load_field(c, t->steps, s.iv, STEP_NROWS, c->t_i64);
  LLVMValueRef rpu = load_field(c, t->steps, s.iv, STEP_RPU, c->t_i64);
  LLVMValueRef a0 = LLVMBuildSExt(c->b, load_field(c, t->steps, s.iv, STEP_ARG0, c->t_i32), c->t_i64, "");
  LLVMValueRef na = LLVMBuildSExt(c->b, load_field(c, t->steps, s.iv, STEP_NARGS, c->t_i32), c->t_i64, "");
  cg_loop a = cg_loop_begin(c, cg_i64(c, 0), na, "arg");
  LLVMValueRef p = resolve(c, t, ctx, cg_add(c, a0, a.iv));
  LLVMBuildStore(c->b, p, cg_gep(c, c->t_i8p, argp, a.iv));
  cg_loop_end_nounroll(c, &a);
  LLVMValueRef lo = cg_mul(c, ub, rpu), hi = cg_mul(c, ue, rpu);
  hi = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, hi, nrows, ""), hi, nrows, "hi");
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntSLT, lo, hi, ""));
  LLVMValueRef ka[3] = {argp, lo, hi};
  LLVMBuildCall2(c->b, c->t_kernel, k, ka, 3, "");
  cg_if_end(c, join);
  cg_loop_end_nounroll(c, &s);
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  return fn;
}

/* Token ids must index the table: checked serially before the embedding
 * kernel runs, so that kernels never fail. */
static void gen_check_ids(cpu_cg *c, const tables *t, LLVMValueRef ctx, LLVMValueRef st) {
  LLVMValueRef a0 = LLVMBuildSExt(c->b, load_field(c, t->steps, st, STEP_ARG0, c->t_i32), c->t_i64, "");
  LLVMValueRef n = load_field(c, t->steps, st, STEP_NROWS, c->t_i64);
  LLVMValueRef vocab = LLVMBuildTrunc(c->b, load_field(c, t->steps, st, STEP_AUX, c->t_i64), c->t_i32, "");
  LLVMValueRef ids = LLVMBuildBitCast(c->b, resolve(c, t, ctx, a0), c->t_i32p, "ids");
  cg_loop l = cg_loop_begin(c, cg_i64(c, 0), n, "ids");
  LLVMValueRef id = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, ids, l.iv), "");
  /* unsigned compare: negative ids are huge */
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntUGE, id, vocab, ""));
  LLVMBuildRet(c->b, cg_i32(c, FAB_RUN_E_TOKEN));
  LLVMPositionBuilderAtEnd(c->b, join);
  cg_loop_end(c, &l);
}

static void gen_copy(cpu_cg *c, const tables *t, LLVMValueRef ctx, LLVMValueRef st) {
  LLVMValueRef a0 = LLVMBuildSExt(c->b, load_field(c, t->steps, st, STEP_ARG0, c->t_i32), c->t_i64, "");
  LLVMValueRef bytes = load_field(c, t->steps, st, STEP_NROWS, c->t_i64);
  LLVMValueRef dst = resolve(c, t, ctx, a0), src = resolve(c, t, ctx, cg_addc(c, a0, 1));
  cg_memcpy(c, dst, src, bytes);
}

/* par->parallel_for(pool, fab_region, ctx, units), or on the caller. */
static void gen_region_call(cpu_cg *c, LLVMValueRef region_fn, LLVMValueRef par, LLVMValueRef ctx,
                            LLVMValueRef units) {
  LLVMTypeRef pft_ps[4] = {c->t_i8p, c->t_kernelp, c->t_i8pp, c->t_i64};
  LLVMTypeRef pft = LLVMFunctionType(c->t_void, pft_ps, 4, 0);
  LLVMTypeRef pfp = LLVMPointerType(pft, 0);
  LLVMTypeRef fields[3] = {c->t_i8p, pfp, c->t_i64};
  LLVMTypeRef part = LLVMStructTypeInContext(c->ctx, fields, 3, 0);
  LLVMValueRef cargs = LLVMBuildBitCast(c->b, ctx, c->t_i8pp, "");
  LLVMValueRef slot = cg_alloca(c, pfp, "pf");
  LLVMBuildStore(c->b, LLVMConstNull(pfp), slot);
  LLVMBasicBlockRef join = cg_if_begin(c, LLVMBuildIsNotNull(c->b, par, ""));
  LLVMValueRef sp = LLVMBuildBitCast(c->b, par, LLVMPointerType(part, 0), "");
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, pfp, LLVMBuildStructGEP2(c->b, part, sp, 1, ""), "pf"), slot);
  cg_if_end(c, join);
  LLVMValueRef pf = LLVMBuildLoad2(c->b, pfp, slot, "");
  LLVMValueRef threaded = LLVMBuildAnd(c->b, LLVMBuildIsNotNull(c->b, pf, ""),
                                       LLVMBuildICmp(c->b, LLVMIntSGT, units, cg_i64(c, 1), ""), "");
  LLVMBasicBlockRef pbb = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "threads");
  LLVMBasicBlockRef sbb = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "caller");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
  LLVMBuildCondBr(c->b, threaded, pbb, sbb);
  LLVMPositionBuilderAtEnd(c->b, pbb);
  LLVMValueRef sp2 = LLVMBuildBitCast(c->b, par, LLVMPointerType(part, 0), "");
  LLVMValueRef pool = LLVMBuildLoad2(c->b, c->t_i8p, LLVMBuildStructGEP2(c->b, part, sp2, 0, ""), "pool");
  LLVMValueRef pa[4] = {pool, region_fn, cargs, units};
  LLVMBuildCall2(c->b, pft, pf, pa, 4, "");
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, sbb);
  LLVMValueRef sa[3] = {cargs, cg_i64(c, 0), units};
  LLVMBuildCall2(c->b, c->t_kernel, region_fn, sa, 3, "");
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
}

LLVMValueRef cg_gen_entry(cpu_cg *c, const cg_step *steps, int nsteps, const cg_loc *args, int nargs,
                          const cg_block *blocks, int nblocks) {
  tables t;
  if (!make_tables(c, &t, steps, nsteps, args, nargs, blocks, nblocks)) {
    fab_error(c->d, (fab_loc){0}, "cpu backend: out of memory");
    return NULL;
  }
  LLVMValueRef region_fn = gen_region_fn(c, &t);
  LLVMTypeRef ps[5] = {c->t_i8pp, c->t_i8pp, c->t_i8pp, c->t_i8p, c->t_i8p};
  LLVMValueRef fn = cg_new_fn(c, "fab_model_run", LLVMFunctionType(c->t_i32, ps, 5, 0), false);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  LLVMValueRef ctx = cg_alloca(c, t.ctx_t, "ctx");
  LLVMValueRef tabs = ctx_field(c, &t, ctx, CTX_TABS);
  LLVMValueRef vals[4] = {LLVMConstNull(c->t_i8pp), LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), LLVMGetParam(fn, 2)};
  _Static_assert(CG_LOC_WEIGHT == 1 && CG_LOC_INPUT == 2 && CG_LOC_OUTPUT == 3, "ctx tabs order");
  for (int i = 0; i < 4; i++) {
    LLVMValueRef ti[2] = {cg_i64(c, 0), cg_i64(c, i)};
    LLVMBuildStore(c->b, vals[i], LLVMBuildInBoundsGEP2(c->b, LLVMArrayType(c->t_i8pp, 4), tabs, ti, 2, ""));
  }
  LLVMBuildStore(c->b, LLVMGetParam(fn, 3), ctx_field(c, &t, ctx, CTX_SCRATCH));
  LLVMValueRef par = LLVMGetParam(fn, 4);
  cg_loop r = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, nblocks), "region");
  LLVMValueRef first = LLVMBuildSExt(c->b, load_field(c, t.regions, r.iv, REGION_FIRST, c->t_i32), c->t_i64, "");
  LLVMValueRef units = load_field(c, t.regions, r.iv, REGION_UNITS, c->t_i64);
  LLVMValueRef kind = load_field(c, t.steps, first, STEP_KIND, c->t_i32);
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->ctx, fn, "next");
  LLVMBasicBlockRef kb = LLVMAppendBasicBlockInContext(c->ctx, fn, "kernels");
  LLVMBasicBlockRef cb = LLVMAppendBasicBlockInContext(c->ctx, fn, "check");
  LLVMBasicBlockRef mb = LLVMAppendBasicBlockInContext(c->ctx, fn, "copy");
  LLVMValueRef sw = LLVMBuildSwitch(c->b, kind, mb, 2);
  LLVMAddCase(sw, cg_i32(c, CG_STEP_KERNEL), kb);
  LLVMAddCase(sw, cg_i32(c, CG_STEP_CHECK_IDS), cb);
  LLVMPositionBuilderAtEnd(c->b, kb);
  LLVMBuildStore(c->b, r.iv, ctx_field(c, &t, ctx, CTX_REGION));
  gen_region_call(c, region_fn, par, ctx, units);
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, cb);
  gen_check_ids(c, &t, ctx, first);
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, mb);
  gen_copy(c, &t, ctx, first);
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, next);
  cg_loop_end_nounroll(c, &r);
  LLVMBuildRet(c->b, cg_i32(c, FAB_RUN_OK));
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  return fn;
}

/* i32 fab_model_prepare(i8 **weights, i8 *prepared): each step with a
 * prepare kernel gets it called once on an argument array holding its
 * weights and its prepared data (other arguments NULL: they do not exist
 * yet).  Straight-line code: one call per such step. */
LLVMValueRef cg_gen_prepare_entry(cpu_cg *c, const cg_step *steps, int nsteps, const cg_loc *args) {
  int max_args = 0;
  for (int i = 0; i < nsteps; i++)
    if (steps[i].prep && steps[i].nargs > max_args) max_args = steps[i].nargs;
  if (max_args == 0) return NULL;
  LLVMTypeRef ps[2] = {c->t_i8pp, c->t_i8p};
  LLVMValueRef fn = cg_new_fn(c, "fab_model_prepare", LLVMFunctionType(c->t_i32, ps, 2, 0), false);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(c->b, body);
  LLVMValueRef argv = LLVMBuildBitCast(c->b, cg_alloca(c, LLVMArrayType(c->t_i8p, (unsigned)max_args), "argv"),
                                       c->t_i8pp, "");
  LLVMValueRef weights = LLVMGetParam(fn, 0), prepared = LLVMGetParam(fn, 1);
  for (int i = 0; i < nsteps; i++) {
    const cg_step *s = &steps[i];
    if (!s->prep) continue;
    for (int k = 0; k < s->nargs; k++) {
      const cg_loc *l = &args[s->arg0 + k];
      LLVMValueRef p = LLVMConstNull(c->t_i8p);
      if (l->space == CG_LOC_WEIGHT && l->index == c->m->nparams) {
        LLVMValueRef off = cg_i64(c, l->off);
        p = LLVMBuildGEP2(c->b, c->t_i8, prepared, &off, 1, "");
      } else if (l->space == CG_LOC_WEIGHT) {
        p = LLVMBuildLoad2(c->b, c->t_i8p, cg_gep(c, c->t_i8p, weights, cg_i64(c, l->index)), "");
      }
      LLVMBuildStore(c->b, p, cg_gep(c, c->t_i8p, argv, cg_i64(c, k)));
    }
    LLVMValueRef ka[3] = {argv, cg_i64(c, 0), cg_i64(c, 1)};
    LLVMBuildCall2(c->b, c->t_kernel, s->prep, ka, 3, "");
  }
  LLVMBuildRet(c->b, cg_i32(c, 0));
  LLVMPositionBuilderAtEnd(c->b, c->entry_bb);
  LLVMBuildBr(c->b, body);
  return fn;
}
