/* flops.c — the arithmetic a model needs, counted on its high-level IR, for
 * the compute lower bound (flops at the measured FMA peak).  The counts are
 * of the cheapest known algorithm, so the bound is a floor:
 *
 *   bfly.linear   4 n log2 n per row, stack and block (each output of each
 *                 stage is two multiply-adds), + 1 per output for the bias
 *   dense         2 in out per row (+ bias); matmul 2 k per result element
 *   fourier.mix   2.5 N log2 N for the real 2-D FFT of N = s d values
 *                 (FFTW's convention for a real-input transform), per batch
 *   mha           4 s t d (scores and weighted sum) + 5 per score (softmax)
 *   layernorm 8, gelu 8 (a short erf polynomial), softmax 5, add / mul /
 *                 scale / relu 1 per element; meanpool 1 per input element;
 *   embed, take, slice, reshape, transpose: 0 (data movement only). */
#include <math.h>
#include <stdint.h>

#include "bench_util.h"
#include "ir.h"

static double numel(const fab_type *t) { return (double)fab_type_numel(t); }

static double last_dim(const fab_type *t) { return t->rank ? (double)t->dims[t->rank - 1] : 1; }

static double bfly_flops(const fab_op *op) {
  int64_t in = fab_op_int(op, "in", 1), out = fab_op_int(op, "out", 1), nb = fab_op_int(op, "nblocks", 1);
  int log_n = 1;
  while (((int64_t)1 << log_n) < in) log_n++;
  int64_t n = (int64_t)1 << log_n, stacks = (out + n - 1) / n;
  double rows = numel(&op->type) / (double)out;
  double fl = rows * (double)(stacks * nb) * 4.0 * (double)n * log_n;
  return fl + (op->noperands > 2 ? numel(&op->type) : 0);
}

static double op_flops(const fab_func *f, const fab_op *op) {
  const fab_type *t = &op->type;
  const fab_type *a = op->noperands ? &f->ops[op->operands[0]].type : t;
  switch (op->code) {
  case FAB_OP_BFLY_LINEAR: return bfly_flops(op);
  case FAB_OP_DENSE: return 2 * numel(t) * last_dim(a) + (op->noperands > 2 ? numel(t) : 0);
  case FAB_OP_MATMUL: return 2 * numel(t) * last_dim(a);
  case FAB_OP_FOURIER_MIX: {
    if (t->rank < 2) return 0;
    double n = (double)(t->dims[t->rank - 1] * t->dims[t->rank - 2]);
    return numel(t) / n * 2.5 * n * log2(n);
  }
  case FAB_OP_MHA: {
    if (op->noperands < 2 || a->rank < 2) return 0;
    const fab_type *k = &f->ops[op->operands[1]].type;
    double s = (double)a->dims[a->rank - 2], d = last_dim(a), tk = (double)k->dims[k->rank - 2];
    double batch = numel(a) / (s * d), heads = (double)fab_op_int(op, "heads", 1);
    return batch * (4 * s * tk * d + 5 * heads * s * tk);
  }
  case FAB_OP_LAYERNORM:
  case FAB_OP_GELU: return 8 * numel(t);
  case FAB_OP_BIAS_GELU:
  case FAB_OP_ADD_LAYERNORM: return 9 * numel(t);
  case FAB_OP_SOFTMAX: return 5 * numel(t);
  case FAB_OP_ADD:
  case FAB_OP_MUL:
  case FAB_OP_SCALE:
  case FAB_OP_RELU: return numel(t);
  case FAB_OP_MEANPOOL: return numel(a);
  default: return 0;
  }
}

double bench_model_flops(const fab_module *m) {
  double total = 0;
  for (int fi = 0; fi < m->nfuncs; fi++) {
    const fab_func *f = m->funcs[fi];
    for (int i = 0; i < f->nops; i++) total += op_flops(f, &f->ops[i]);
  }
  return total;
}
