/* codegen_data.c — data movement: pad, slice, reshape (as a copy when the
 * memplan gave it its own slot), stack, transpose, embed, meanpool, take,
 * bitrev.
 *
 * Most are copies of contiguous runs, emitted as llvm.memmove on bytes so
 * that f32, i32 and c64 share one code path. */
#include "cpu_internal.h"

static int64_t esize(fab_dtype t) { return t == FAB_C64 ? 8 : 4; }

static LLVMValueRef byte_at(cpu_cg *c, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildInBoundsGEP2(c->b, c->t_i8, p, &off, 1, "");
}

/* Few outer rows of large runs (an op along the leading axis): a parallel
 * row is then one run (o, j), so that the copy spreads over the threads
 * instead of running on one. */
static bool split_rows(int64_t outer, int64_t run_bytes) { return outer < 64 && run_bytes >= 256; }

/* Row r = (o, j) of outer o: one run of `run` bytes. */
static void split_row(cpu_cg *c, LLVMValueRef r, int64_t olen, LLVMValueRef *o, LLVMValueRef *j) {
  *o = LLVMBuildSDiv(c->b, r, cg_i64(c, olen), "o");
  *j = LLVMBuildSRem(c->b, r, cg_i64(c, olen), "j");
}

static bool gen_pad_slice_split(cpu_cg *c, int64_t outer, int64_t len, int64_t olen, int64_t run,
                                int64_t start, int64_t cn, int64_t *nrows) {
  *nrows = outer * olen;
  LLVMValueRef out = cg_arg_i8(c, 0), in = cg_arg_i8(c, 1), o, j;
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "run");
  split_row(c, r.iv, olen, &o, &j);
  LLVMValueRef dst = byte_at(c, out, cg_mulc(c, r.iv, run));
  LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "copy");
  LLVMBasicBlockRef zero = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "zero");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "next");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, j, cg_i64(c, cn), ""), copy, zero);
  LLVMPositionBuilderAtEnd(c->b, copy);
  LLVMValueRef src = byte_at(c, in, cg_mulc(c, cg_add(c, cg_mulc(c, o, len), cg_addc(c, j, start)), run));
  cg_memcpy(c, dst, src, cg_i64(c, run));
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, zero);
  cg_memset0(c, dst, cg_i64(c, run));
  LLVMBuildBr(c->b, next);
  LLVMPositionBuilderAtEnd(c->b, next);
  cg_loop_end(c, &r);
  return true;
}

/* pad / slice along `axis`: out[o, 0:cn, :] = in[o, s0:s0+cn, :] (+ zeros). */
static bool gen_pad_slice(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int axis = cg_norm_axis(it, fab_op_int(op, "axis", -1));
  if (axis < 0 || axis >= it->rank) {
    CG_ERR(c, "cpu backend: bad axis");
    return false;
  }
  int64_t outer, len, inner, es = esize(it->dtype);
  cg_axis_split(it, axis, &outer, &len, &inner);
  int64_t olen = op->type.dims[axis];
  int64_t start = op->code == FAB_OP_SLICE ? fab_op_int(op, "start", 0) : 0;
  int64_t cn = op->code == FAB_OP_SLICE ? olen : len;
  if (start < 0 || start + cn > len || cn > olen) {
    CG_ERR(c, "cpu backend: %s out of range", fab_opinfos[op->code].name);
    return false;
  }
  if (split_rows(outer, inner * es)) return gen_pad_slice_split(c, outer, len, olen, inner * es, start, cn, nrows);
  *nrows = outer;
  LLVMValueRef out = cg_arg_i8(c, 0), in = cg_arg_i8(c, 1);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef dst = byte_at(c, out, cg_mulc(c, r.iv, olen * inner * es));
  LLVMValueRef src = byte_at(c, in, cg_addc(c, cg_mulc(c, r.iv, len * inner * es), start * inner * es));
  cg_memcpy(c, dst, src, cg_i64(c, cn * inner * es));
  if (olen > cn) cg_memset0(c, byte_at(c, dst, cg_i64(c, cn * inner * es)), cg_i64(c, (olen - cn) * inner * es));
  cg_loop_end(c, &r);
  return true;
}

/* stack x[.., n] {count} -> [.., count, n]. */
static void gen_stack(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int64_t n = cg_lastdim(it), count = fab_op_int(op, "count", 1), es = esize(it->dtype);
  *nrows = cg_numel(it) / n;
  LLVMValueRef out = cg_arg_i8(c, 0), in = cg_arg_i8(c, 1);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef src = byte_at(c, in, cg_mulc(c, r.iv, n * es));
  cg_loop k = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, count), "k");
  LLVMValueRef dst = byte_at(c, out, cg_mulc(c, cg_add(c, cg_mulc(c, r.iv, count), k.iv), n * es));
  cg_memcpy(c, dst, src, cg_i64(c, n * es));
  cg_loop_end(c, &k);
  cg_loop_end(c, &r);
}

/* transpose: nested loops over the result's axes; the innermost copies one
 * element (i32- or i64-sized) from the strided source. */
static bool gen_transpose(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  const fab_attr *pa = fab_op_attr(op, "perm");
  int rank = it->rank;
  if (!pa || pa->kind != FAB_ATTR_INTS || pa->nints != rank || rank < 1) {
    CG_ERR(c, "cpu backend: bad transpose perm");
    return false;
  }
  int64_t istride[FAB_MAX_RANK];
  istride[rank - 1] = 1;
  for (int i = rank - 2; i >= 0; i--) istride[i] = istride[i + 1] * it->dims[i + 1];
  LLVMTypeRef et = it->dtype == FAB_C64 ? c->t_i64 : c->t_i32;
  LLVMTypeRef etp = LLVMPointerType(et, 0);
  LLVMValueRef out = LLVMBuildBitCast(c->b, cg_arg_i8(c, 0), etp, "");
  LLVMValueRef in = LLVMBuildBitCast(c->b, cg_arg_i8(c, 1), etp, "");
  *nrows = op->type.dims[0];
  cg_loop loops[FAB_MAX_RANK];
  LLVMValueRef ioff = cg_i64(c, 0), ooff = cg_i64(c, 0);
  for (int i = 0; i < rank; i++) {
    int64_t p = pa->ints[i];
    if (p < 0 || p >= rank) {
      CG_ERR(c, "cpu backend: bad transpose perm");
      return false;
    }
    loops[i] = i == 0 ? cg_loop_begin(c, c->begin, c->end, "t")
                      : cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, op->type.dims[i]), "t");
    ioff = cg_add(c, ioff, cg_mulc(c, loops[i].iv, istride[p]));
    ooff = cg_add(c, cg_mulc(c, ooff, op->type.dims[i]), loops[i].iv);
  }
  LLVMValueRef v = LLVMBuildLoad2(c->b, et, cg_gep(c, et, in, ioff), "");
  LLVMBuildStore(c->b, v, cg_gep(c, et, out, ooff));
  for (int i = rank - 1; i >= 0; i--) cg_loop_end(c, &loops[i]);
  return true;
}

/* embed ids[..], table[V, d]: ids were range-checked by the entry. */
static void gen_embed(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *idt = cg_operand_type(c, 0), *tt = cg_operand_type(c, 1);
  int64_t d = tt->dims[tt->rank - 1];
  *nrows = cg_numel(idt);
  LLVMValueRef out = cg_arg_i8(c, 0), ids = cg_arg_i32(c, 1), tab = cg_arg_i8(c, 2);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "tok");
  LLVMValueRef id = LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, ids, r.iv), "id");
  id = LLVMBuildZExt(c->b, id, c->t_i64, "");
  cg_memcpy(c, byte_at(c, out, cg_mulc(c, r.iv, d * 4)), byte_at(c, tab, cg_mulc(c, id, d * 4)),
            cg_i64(c, d * 4));
  cg_loop_end(c, &r);
  (void)op;
}

/* add with cpu.embed_in (fold.c): out[r] = table[ids[r]] + y[r], rows of
 * d, in one pass (ids range-checked by the entry, as for embed).  With
 * cpu.slice_in, y is the sliced weight itself, read from the slice's
 * first row. */
bool cg_gen_embed_add(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *idt = cg_operand_type(c, 0), *tt = cg_operand_type(c, 1);
  int64_t d = tt->dims[tt->rank - 1], V = c->lanes;
  if (tt->dtype != FAB_F32 || cg_numel(idt) * d != cg_numel(&op->type)) {
    CG_ERR(c, "cpu backend: add cpu.embed_in: the table's rows do not fit the result");
    return false;
  }
  *nrows = cg_numel(idt);
  LLVMValueRef out = cg_arg_f32(c, 0), ids = cg_arg_i32(c, 1), tab = cg_arg_f32(c, 2), y = cg_arg_f32(c, 3);
  if (fab_op_int(op, "cpu.slice_in", 0)) {
    const fab_op *sl = &c->f->ops[c->f->ops[c->op_index].operands[1]];
    const fab_type *wt = &c->f->ops[sl->operands[0]].type;
    y = cg_gep(c, c->t_f32, y, cg_i64(c, fab_op_int(sl, "start", 0) * (cg_numel(wt) / wt->dims[0])));
  }
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "tok");
  LLVMValueRef id = LLVMBuildZExt(c->b, LLVMBuildLoad2(c->b, c->t_i32, cg_gep(c, c->t_i32, ids, r.iv), "id"), c->t_i64, "");
  LLVMValueRef src = cg_mulc(c, id, d), dst = cg_mulc(c, r.iv, d);
  int64_t nv = d / V;
  if (nv > 0) {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, nv), "jv");
    LLVMValueRef o = cg_mulc(c, j.iv, V);
    LLVMValueRef v = LLVMBuildFAdd(c->b, cg_vload(c, tab, cg_add(c, src, o), 4), cg_vload(c, y, cg_add(c, dst, o), 4), "");
    cg_vstore(c, v, out, cg_add(c, dst, o), 4);
    cg_loop_end(c, &j);
  }
  for (int64_t k = nv * V; k < d; k++) {
    LLVMValueRef v = LLVMBuildFAdd(c->b, cg_loadf(c, tab, cg_addc(c, src, k)), cg_loadf(c, y, cg_addc(c, dst, k)), "");
    cg_storef(c, v, out, cg_addc(c, dst, k));
  }
  cg_loop_end(c, &r);
  return true;
}

/* meanpool x[.., s, d] (, mask[.., s]) -> [.., d]: accumulate the rows
 * (the kept ones with a mask), then scale (none kept: zeros).  A parallel
 * row is a block of MEANPOOL_COLS columns of one outer row, summed in
 * registers, so a single pooled row still spreads over the threads; when
 * that width does not divide d (or V does not divide it), a parallel row
 * is a whole outer row, summed in out.  Every column adds its rows in
 * order from 0 either way: the same bits whatever the split. */
#define MEANPOOL_COLS 64
#define MEANPOOL_MAX_VECS 16
static bool gen_meanpool(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int64_t d = cg_lastdim(it), s = it->rank >= 2 ? it->dims[it->rank - 2] : 1, V = c->lanes;
  bool blocks = d % MEANPOOL_COLS == 0 && MEANPOOL_COLS % V == 0 && MEANPOOL_COLS / V <= MEANPOOL_MAX_VECS;
  int64_t outer = cg_numel(it) / (d * s), w = blocks ? MEANPOOL_COLS : d, nblk = d / w, nv = w / V;
  *nrows = outer * nblk;
  int64_t per = cg_mask_per(c, 1, outer, s);
  if (per < 0) return false;
  LLVMValueRef out = cg_arg_f32(c, 0), x = cg_arg_f32(c, 1), cnt = cg_alloca(c, c->t_f32, "count");
  LLVMValueRef acc[MEANPOOL_MAX_VECS];
  for (int k = 0; blocks && k < nv; k++) acc[k] = cg_alloca(c, c->t_vf, "acc"); /* promoted to registers */
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "block");
  LLVMValueRef o = LLVMBuildSDiv(c->b, r.iv, cg_i64(c, nblk), "outer");
  LLVMValueRef j0 = cg_mulc(c, LLVMBuildSRem(c->b, r.iv, cg_i64(c, nblk), ""), w);
  LLVMValueRef ob = cg_add(c, cg_mulc(c, o, d), j0); /* out[o, j0] */
  if (blocks)
    for (int k = 0; k < nv; k++) LLVMBuildStore(c->b, LLVMConstNull(c->t_vf), acc[k]);
  else
    cg_memset0(c, cg_gep(c, c->t_f32, out, ob), cg_i64(c, w * 4));
  LLVMBuildStore(c->b, cg_f32(c, 0), cnt);
  cg_loop t = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, s), "t");
  LLVMBasicBlockRef join = NULL;
  if (per > 0) { /* skip padded rows */
    join = cg_if_begin(c, cg_keep(c, 1, per, s, false, o, NULL, t.iv));
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->t_f32, cnt, ""), cg_f32(c, 1), ""), cnt);
  }
  LLVMValueRef xb = cg_add(c, cg_mulc(c, cg_add(c, cg_mulc(c, o, s), t.iv), d), j0);
  if (blocks) {
    for (int k = 0; k < nv; k++) {
      LLVMValueRef a = LLVMBuildLoad2(c->b, c->t_vf, acc[k], "");
      LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, a, cg_vload(c, x, cg_addc(c, xb, k * V), 4), ""), acc[k]);
    }
  } else {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, w), "j");
    LLVMValueRef oi = cg_add(c, ob, j.iv);
    cg_storef(c, LLVMBuildFAdd(c->b, cg_loadf(c, out, oi), cg_loadf(c, x, cg_add(c, xb, j.iv)), ""), out, oi);
    cg_loop_end(c, &j);
  }
  if (join) cg_if_end(c, join);
  cg_loop_end(c, &t);
  LLVMValueRef inv = cg_f32(c, 1.0 / (double)s);
  if (per > 0) {
    LLVMValueRef n = LLVMBuildLoad2(c->b, c->t_f32, cnt, "");
    inv = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, n, cg_f32(c, 0), ""),
                          LLVMBuildFDiv(c->b, cg_f32(c, 1), n, ""), cg_f32(c, 0), "");
  }
  if (blocks) {
    LLVMValueRef vinv = cg_vsplat(c, inv, (int)V);
    for (int k = 0; k < nv; k++)
      cg_vstore(c, LLVMBuildFMul(c->b, LLVMBuildLoad2(c->b, c->t_vf, acc[k], ""), vinv, ""), out,
                cg_addc(c, ob, k * V), 4);
  } else {
    cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, w), "j");
    LLVMValueRef oi = cg_add(c, ob, j.iv);
    cg_storef(c, LLVMBuildFMul(c->b, cg_loadf(c, out, oi), inv, ""), out, oi);
    cg_loop_end(c, &j);
  }
  cg_loop_end(c, &r);
  (void)op;
  return true;
}

static bool gen_take(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int64_t d = cg_lastdim(it), s = it->rank >= 2 ? it->dims[it->rank - 2] : 1, es = esize(it->dtype);
  int64_t index = fab_op_int(op, "index", 0);
  if (index < 0) index += s;
  if (index < 0 || index >= s) {
    CG_ERR(c, "cpu backend: take index out of range");
    return false;
  }
  *nrows = cg_numel(it) / (d * s);
  LLVMValueRef out = cg_arg_i8(c, 0), x = cg_arg_i8(c, 1);
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  LLVMValueRef src = byte_at(c, x, cg_addc(c, cg_mulc(c, r.iv, s * d * es), index * d * es));
  cg_memcpy(c, byte_at(c, out, cg_mulc(c, r.iv, d * es)), src, cg_i64(c, d * es));
  cg_loop_end(c, &r);
  return true;
}

/* bitrev (a bit or digit reversal): out[o, j, :] = in[o, perm(j), :]. */
static bool gen_bitrev(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  const fab_type *it = cg_operand_type(c, 0);
  int axis = cg_norm_axis(it, fab_op_int(op, "axis", -1));
  if (axis < 0 || axis >= it->rank) {
    CG_ERR(c, "cpu backend: bad axis");
    return false;
  }
  int64_t outer, len, inner, es = esize(it->dtype);
  cg_axis_split(it, axis, &outer, &len, &inner);
  const fab_attr *ra = fab_op_attr(op, "radices");
  int bits = 0;
  while (((int64_t)1 << bits) < len) bits++;
  if (!ra && ((int64_t)1 << bits) != len) {
    CG_ERR(c, "cpu backend: bitrev of a non-power-of-two axis without radices");
    return false;
  }
  cg_fft_perm perm; /* a digit reversal reads a constant table */
  if (!cg_fft_perm_init(c, &perm, len, ra ? ra->ints : NULL, ra ? ra->nints : 0)) return false;
  LLVMValueRef out = cg_arg_i8(c, 0), in = cg_arg_i8(c, 1);
  if (split_rows(outer, inner * es)) {
    *nrows = outer * len;
    LLVMValueRef o, jj;
    cg_loop r = cg_loop_begin(c, c->begin, c->end, "run");
    split_row(c, r.iv, len, &o, &jj);
    LLVMValueRef src = cg_add(c, cg_mulc(c, o, len), len > 1 ? cg_fft_perm_src(c, &perm, jj) : cg_i64(c, 0));
    cg_memcpy(c, byte_at(c, out, cg_mulc(c, r.iv, inner * es)), byte_at(c, in, cg_mulc(c, src, inner * es)),
              cg_i64(c, inner * es));
    cg_loop_end(c, &r);
    return true;
  }
  *nrows = outer;
  cg_loop r = cg_loop_begin(c, c->begin, c->end, "row");
  cg_loop j = cg_loop_begin(c, cg_i64(c, 0), cg_i64(c, len), "j");
  LLVMValueRef rev = len > 1 ? cg_fft_perm_src(c, &perm, j.iv) : cg_i64(c, 0);
  LLVMValueRef rb = cg_mulc(c, r.iv, len * inner * es);
  LLVMValueRef dst = byte_at(c, out, cg_add(c, rb, cg_mulc(c, j.iv, inner * es)));
  LLVMValueRef src = byte_at(c, in, cg_add(c, rb, cg_mulc(c, rev, inner * es)));
  cg_memcpy(c, dst, src, cg_i64(c, inner * es));
  cg_loop_end(c, &j);
  cg_loop_end(c, &r);
  return true;
}

bool cg_gen_data(cpu_cg *c, const fab_op *op, int64_t *nrows) {
  switch (op->code) {
  case FAB_OP_PAD: case FAB_OP_SLICE: return gen_pad_slice(c, op, nrows);
  case FAB_OP_RESHAPE: {
    int64_t bytes = cg_numel(&op->type) * esize(op->type.dtype);
    cg_memcpy(c, cg_arg_i8(c, 0), cg_arg_i8(c, 1), cg_i64(c, bytes));
    *nrows = 1;
    return true;
  }
  case FAB_OP_STACK: gen_stack(c, op, nrows); return true;
  case FAB_OP_TRANSPOSE: return gen_transpose(c, op, nrows);
  case FAB_OP_EMBED: gen_embed(c, op, nrows); return true;
  case FAB_OP_MEANPOOL: return gen_meanpool(c, op, nrows);
  case FAB_OP_TAKE: return gen_take(c, op, nrows);
  case FAB_OP_BITREV: return gen_bitrev(c, op, nrows);
  default: CG_ERR(c, "cpu backend: internal: not a data op"); return false;
  }
}
