/* codegen_att.c — ops on the attention processor (matmul and dense on
 * the matrix unit, attention, whole or in key blocks with an online
 * softmax), the embedding gather and mean pooling through the vector
 * memory and the post-processing unit. */
#include "codegen_internal.h"

/* C[M, N] = A[M, K] B (B[K, N], or B[N, K] when tb) (+ bias[N]) for one
 * batch, tiled over N and M through one VM half per tile. */
static void gen_mm(fpga_cg *g, uint64_t A, uint64_t Bm, uint64_t C, uint64_t M, uint64_t K, uint64_t N, bool tb, int64_t bias) {
  uint64_t hs;
  (void)fpga_cg_vm_half(g, &hs);
  if (K > 4096) {
    fpga_cg_error(g, "inner dimension %llu exceeds 4096", (unsigned long long)K);
    return;
  }
  uint64_t tn = umin(N, 4096);
  while (tn > 1 && K * tn > hs / 2) tn = (tn + 1) / 2;
  for (uint64_t j0 = 0; j0 < N && !g->failed; j0 += tn) {
    uint64_t nn = umin(tn, N - j0);
    for (uint64_t i0 = 0; i0 < M && !g->failed;) {
      uint64_t base = fpga_cg_vm_half(g, &hs);
      uint64_t extra = bias >= 0 ? nn : 0;
      if (K * nn + extra >= hs) {
        fpga_cg_error(g, "matrix tile does not fit the vector memory");
        return;
      }
      uint64_t tm = umin(umin((hs - K * nn - extra) / (K + nn), 4096), M - i0);
      if (tm < 1) {
        fpga_cg_error(g, "matrix tile does not fit the vector memory");
        return;
      }
      uint64_t vb = base, va = vb + K * nn, vc = va + tm * K, vbias = vc + tm * nn;
      if (tb) fpga_cg_ld_vm(g, Bm + j0 * K, K, false, nn, K, vb);
      else fpga_cg_ld_vm(g, Bm + j0, N, false, K, nn, vb);
      fpga_cg_ld_vm(g, A + i0 * K, K, false, tm, K, va);
      fpga_cg_mm(g, va, vb, vc, tm, K, nn, tb);
      if (bias >= 0) {
        fpga_cg_ld_vm(g, (uint64_t)bias + j0, nn, false, 1, nn, vbias);
        fpga_cg_ppu(g, FAB_PPU_ADD, tm, nn, vc, vbias, true, 0);
      }
      fpga_cg_st_vm(g, C + i0 * N + j0, N, false, tm, nn, vc);
      i0 += tm;
    }
  }
}

bool fpga_cg_gen_matmul(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  const fab_type *at = ty(g, op->operands[0]), *bt = ty(g, op->operands[1]);
  bool tb = fab_op_int(op, "transpose_b", 0) != 0;
  if (op->code == FAB_OP_DENSE) tb = true;
  uint64_t K = (uint64_t)at->dims[at->rank - 1];
  uint64_t N = (uint64_t)(tb ? bt->dims[bt->rank - 2] : bt->dims[bt->rank - 1]);
  uint64_t M = op->code == FAB_OP_DENSE ? (uint64_t)cg_numel(at) / K : (uint64_t)at->dims[at->rank - 2];
  uint64_t batches = op->code == FAB_OP_DENSE ? 1 : (uint64_t)cg_numel(at) / (M * K);
  uint64_t bbatch = op->code == FAB_OP_DENSE || bt->rank == 2 ? 0 : K * N;
  int64_t bias = op->code == FAB_OP_DENSE && op->noperands == 3 ? (int64_t)addr(g, op->operands[2]) : -1;
  if (M > 8191 * 4096 || N > 8191) {
    fpga_cg_error(g, "matrix too large");
    return false;
  }
  for (uint64_t b = 0; b < batches && !g->failed; b++)
    gen_mm(g, addr(g, op->operands[0]) + b * M * K, addr(g, op->operands[1]) + b * bbatch,
           addr(g, g->cur) + b * M * N, M, K, N, tb, bias);
  return !g->failed;
}

/* An attention op's mask: flags of batch b at `flags` + (b / per) * T
 * (per = 0: no mask operand), and causal. */
typedef struct att_mask {
  uint64_t flags, per;
  bool causal;
} att_mask;

static bool masked(const att_mask *am) { return am->per || am->causal; }

/* amask for query rows [i0, ..) and key rows [j0, j0 + t) of batch b. */
static void att_mask_regs(fpga_cg *g, const att_mask *am, uint64_t b, uint64_t T, uint64_t i0, uint64_t j0, uint64_t t) {
  if (!masked(am)) return;
  uint64_t ext = am->per ? am->flags + (b / am->per) * T + j0 : 0;
  fpga_cg_mask(g, true, ext, am->per ? t : 0, am->causal, i0, j0);
}

static void emit_attn(fpga_cg *g, fab_fpga_opcode opc, uint64_t vq, uint64_t vo, uint64_t s, uint64_t t, uint64_t D,
                      float scale, bool mk) {
  fab_fpga_insn in = fab_fpga_insn_make(opc);
  FAB_SET(&in, ATTN_Q, vq);
  FAB_SET(&in, ATTN_O, vo);
  FAB_SET(&in, ATTN_S, s);
  FAB_SET(&in, ATTN_T, t);
  FAB_SET(&in, ATTN_DH, D);
  FAB_SET(&in, ATTN_SCALE, fab_fpga_f32_bits(scale));
  FAB_SET(&in, ATTN_MK, mk);
  uint64_t state = opc == FAB_I_ATTN ? 0 : 2 * s;
  /* (attnm also reads O and its state: a write access orders both ways) */
  cg_acc acc[3] = {{SP_VM, false, vq, vq + (s + 2 * t) * D}, {SP_VM, true, vo, vo + s * D + state},
                   {SP_AMASK, false, 0, 1}};
  if (!g->failed) fpga_cg_emit(g, in, mk ? 3 : 2, acc);
}

/* Rows [r0, r0 + rows) of batch b of attention operand k ([.., L, D]) into
 * the VM at vm.  A head split fpga-absorb folded (the transpose of
 * [.., L, H, D] to [.., H, L, D]) is read in place: the rows of head h are
 * D-element pieces H*D apart. */
static void att_ld(fpga_cg *g, const fab_op *op, int k, uint64_t b, uint64_t L, uint64_t D, uint64_t r0,
                   uint64_t rows, uint64_t vm) {
  int v = op->operands[k];
  if (fpga_cg_folded_in(g, v, FAB_OP_TRANSPOSE)) {
    const fab_type *t = ty(g, v);
    uint64_t H = (uint64_t)t->dims[t->rank - 3], o = b / H, h = b % H;
    uint64_t src = addr(g, g->f->ops[v].operands[0]);
    fpga_cg_ld_vm(g, src + (o * L + r0) * H * D + h * D, H * D, false, rows, D, vm);
    return;
  }
  fpga_cg_ld_vm(g, addr(g, v) + (b * L + r0) * D, D, false, rows, D, vm);
}

/* Stores O rows [i0, i0 + s) of batch b from the VM at vo: into the
 * attention's result, or, compiled as the head merge that absorbed it (a
 * transpose of [.., H, S, D] to [.., S, H, D]), in the merge's layout. */
static void att_st(fpga_cg *g, uint64_t b, uint64_t S, uint64_t D, uint64_t i0, uint64_t s, uint64_t vo) {
  const fab_op *cur = &g->f->ops[g->cur];
  if (cur->code == FAB_OP_TRANSPOSE) {
    uint64_t H = (uint64_t)cur->type.dims[cur->type.rank - 2], o = b / H, h = b % H;
    fpga_cg_st_vm(g, addr(g, g->cur) + (o * S + i0) * H * D + h * D, H * D, false, s, D, vo);
    return;
  }
  fpga_cg_st_vm(g, addr(g, g->cur) + (b * S + i0) * D, D, false, s, D, vo);
}

/* Keys and values that fit one VM half beside a query tile: one attn per
 * query tile, K and V loaded whole. */
static void attention_whole(fpga_cg *g, const fab_op *op, uint64_t batches, uint64_t S, uint64_t T, uint64_t D,
                            float scale, uint64_t hs, const att_mask *am) {
  uint64_t ts = umin(umin((hs / D - 2 * T) / 2, S), 4096);
  for (uint64_t b = 0; b < batches && !g->failed; b++)
    for (uint64_t i0 = 0; i0 < S && !g->failed; i0 += ts) {
      uint64_t base = fpga_cg_vm_half(g, &hs), s = umin(ts, S - i0);
      uint64_t vq = base, vk = vq + s * D, vv = vk + T * D, vo = vv + T * D;
      att_ld(g, op, 0, b, S, D, i0, s, vq);
      att_ld(g, op, 1, b, T, D, 0, T, vk);
      att_ld(g, op, 2, b, T, D, 0, T, vv);
      att_mask_regs(g, am, b, T, i0, 0, T);
      emit_attn(g, FAB_I_ATTN, vq, vo, s, T, D, scale, masked(am));
      att_st(g, b, S, D, i0, s, vo);
    }
}

/* Longer keys: each query tile streams K and V in key blocks through two
 * slots (the next block loads while the current one computes), attns on
 * the first block and attnm on the rest (online softmax, isa.def).  The
 * attention processor finds K at q + s*dh, so each slot holds its own copy
 * of the query tile:  [O | m, l | slot 0: Q K V | slot 1: Q K V].
 * Key blocks take half the half; query tiles the rest, so K and V are
 * re-read ceil(S / s) times.  Causal attention stops at the last key
 * block a row of the query tile can see. */
static void attention_blocked(fpga_cg *g, const fab_op *op, uint64_t batches, uint64_t S, uint64_t T, uint64_t D,
                              float scale, uint64_t hs, const att_mask *am) {
  uint64_t tk = umin(umin(T, 4096), hs / (8 * D));
  uint64_t ts = tk ? umin(umin((hs - 4 * tk * D) / (3 * D + 2), S), 4096) : 0;
  if (!tk || !ts) {
    fpga_cg_error(g, "a head width of %llu leaves no room for a key block in the attention processor's memory",
                  (unsigned long long)D);
    return;
  }
  for (uint64_t b = 0; b < batches && !g->failed; b++)
    for (uint64_t i0 = 0; i0 < S && !g->failed; i0 += ts) {
      uint64_t base = fpga_cg_vm_half(g, &hs), s = umin(ts, S - i0);
      uint64_t vo = base, slot[2] = {vo + s * D + 2 * s, vo + s * D + 2 * s + (s + 2 * tk) * D};
      for (int sl = 0; sl < 2 && sl * tk < T; sl++)
        att_ld(g, op, 0, b, S, D, i0, s, slot[sl]);
      uint64_t tend = am->causal ? umin(T, i0 + s) : T;
      for (uint64_t j0 = 0, blk = 0; j0 < tend && !g->failed; j0 += tk, blk++) {
        uint64_t t = umin(tk, T - j0), vq = slot[blk & 1];
        att_ld(g, op, 1, b, T, D, j0, t, vq + s * D);
        att_ld(g, op, 2, b, T, D, j0, t, vq + (s + t) * D);
        att_mask_regs(g, am, b, T, i0, j0, t);
        emit_attn(g, blk ? FAB_I_ATTNM : FAB_I_ATTNS, vq, vo, s, t, D, scale, masked(am));
      }
      att_st(g, b, S, D, i0, s, vo);
    }
}

bool fpga_cg_gen_attention(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  const fab_type *qt = ty(g, op->operands[0]), *kt = ty(g, op->operands[1]);
  uint64_t S = (uint64_t)qt->dims[qt->rank - 2], D = (uint64_t)qt->dims[qt->rank - 1];
  uint64_t T = (uint64_t)kt->dims[kt->rank - 2], batches = (uint64_t)cg_numel(qt) / (S * D);
  float scale = (float)fab_op_float(op, "scale", 1);
  uint64_t hs;
  (void)fpga_cg_vm_half(g, &hs);
  if (D > 8191) {
    fpga_cg_error(g, "head width %llu exceeds the attention processor's 8191", (unsigned long long)D);
    return false;
  }
  att_mask am = {0, 0, fab_op_int(op, "causal", 0) != 0};
  if (op->noperands > 3) {
    uint64_t mrows = (uint64_t)cg_numel(ty(g, op->operands[3])) / T;
    am.flags = addr(g, op->operands[3]);
    am.per = mrows && batches % mrows == 0 ? batches / mrows : 0;
    if (!am.per) {
      fpga_cg_error(g, "the mask does not match the attention's leading axes");
      return false;
    }
  }
  if (T <= 8191 && 2 * T * D + 2 * D <= hs) attention_whole(g, op, batches, S, T, D, scale, hs, &am);
  else attention_blocked(g, op, batches, S, T, D, scale, hs, &am);
  return !g->failed;
}

bool fpga_cg_gen_embed(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  const fab_type *tt = ty(g, op->operands[1]);
  uint64_t d = tt->rank == 2 ? (uint64_t)tt->dims[1] : 1, N = (uint64_t)cg_numel(ty(g, op->operands[0]));
  uint64_t out = addr(g, g->cur);
  for (uint64_t i0 = 0; i0 < N && !g->failed;) {
    uint64_t hs, base = fpga_cg_vm_half(g, &hs), t = umin(umin(hs / d, 4096), N - i0);
    if (!fpga_cg_gather(g, op->operands[0], op->operands[1], i0, t, base)) return false;
    fpga_cg_st_vm(g, out + i0 * d, d, false, t, d, base);
    i0 += t;
  }
  return !g->failed;
}

/* meanpool with a mask: the mean of the kept rows in one PPU pass (the
 * chunked means of long sequences would need the kept count per chunk),
 * so the whole sequence must fit one vector-memory chunk. */
static bool masked_meanpool(fpga_cg *g, const fab_op *op, uint64_t s, uint64_t d, uint64_t outer, uint64_t c) {
  if (c != s) {
    fpga_cg_error(g, "a masked mean over %llu x %llu does not fit one vector-memory half", (unsigned long long)s,
                  (unsigned long long)d);
    return false;
  }
  uint64_t flags = addr(g, op->operands[1]), mrows = (uint64_t)cg_numel(ty(g, op->operands[1])) / s;
  uint64_t per = mrows && outer % mrows == 0 ? outer / mrows : 0;
  if (!per) {
    fpga_cg_error(g, "the mask does not match the mean's leading axes");
    return false;
  }
  for (uint64_t o = 0; o < outer && !g->failed; o++) {
    uint64_t hs, base = fpga_cg_vm_half(g, &hs), res = base + s * d;
    fpga_cg_ld_vm(g, addr(g, op->operands[0]) + o * s * d, d, false, s, d, base);
    fpga_cg_mask(g, false, flags + (o / per) * s, s, false, 0, 0);
    fpga_cg_ppu_masked(g, FAB_PPU_MEAN, s, d, base, res, 0);
    fpga_cg_st_vm(g, addr(g, g->cur) + o * d, d, false, 1, d, res);
  }
  return !g->failed;
}

bool fpga_cg_gen_meanpool(fpga_cg *g, const fab_op *op) {
  fpga_cg_define(g, op);
  const fab_type *xt = ty(g, op->operands[0]);
  uint64_t d = (uint64_t)xt->dims[xt->rank - 1], s = (uint64_t)xt->dims[xt->rank - 2];
  uint64_t outer = (uint64_t)cg_numel(xt) / (s * d), hs;
  (void)fpga_cg_vm_half(g, &hs);
  /* Long sequences: means of equal chunks of c rows, means of equal groups
   * of gq chunk means, then the mean of the group means (exact for equal
   * chunks and groups).  c is the largest divisor of s for which some
   * divisor gq of the chunk count makes chunk, chunk means, group means and
   * result fit one VM half (gq = s / c: one level, as long as it fits). */
  uint64_t c = 0, gq = 0;
  for (uint64_t k = umin(s, 4096); k >= 1 && !c; k--) {
    if (s % k) continue;
    uint64_t nch = s / k;
    for (uint64_t q = umin(nch, 4096); q >= 1; q--)
      if (nch % q == 0 && nch / q <= 4096 && (k + q + (nch / q > 1 ? nch / q : 0) + 1) * d <= hs) {
        c = k, gq = q;
        break;
      }
  }
  if (!c || d > 4096) {
    fpga_cg_error(g, "sequence of %llu x %llu does not fit the vector memory", (unsigned long long)s,
             (unsigned long long)d);
    return false;
  }
  if (op->noperands > 1) return masked_meanpool(g, op, s, d, outer, c);
  uint64_t nch = s / c, ng = nch / gq;
  for (uint64_t o = 0; o < outer && !g->failed; o++) {
    uint64_t base = fpga_cg_vm_half(g, &hs), part = base + c * d, grp = part + gq * d;
    uint64_t res = grp + (ng > 1 ? ng : 0) * d;
    for (uint64_t G = 0; G < ng && !g->failed; G++) {
      uint64_t gdst = ng > 1 ? grp + G * d : res;
      for (uint64_t k = 0; k < gq && !g->failed; k++) {
        fpga_cg_ld_vm(g, addr(g, op->operands[0]) + (o * s + (G * gq + k) * c) * d, d, false, c, d, base);
        fpga_cg_ppu(g, FAB_PPU_MEAN, c, d, base, gq == 1 ? gdst : part + k * d, false, 0);
      }
      if (gq > 1) fpga_cg_ppu(g, FAB_PPU_MEAN, gq, d, part, gdst, false, 0);
    }
    if (ng > 1) fpga_cg_ppu(g, FAB_PPU_MEAN, ng, d, grp, res, false, 0);
    fpga_cg_st_vm(g, addr(g, g->cur) + o * d, d, false, 1, d, res);
  }
  return !g->failed;
}

