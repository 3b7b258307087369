/* codegen_fft.c — mixed-radix FFTs on the engines: lower-fourier's
 * `bitrev {radices}` and `fft.stages {stages, radix}` for a length
 * n = 2^k q1 q2 .. (odd primes ascending, each <= FAB_FPGA_MAX_RADIX;
 * FABNet-Base's 768 = 3 * 256).
 *
 * A line of n points sits in one engine (bank A real, bank B imaginary):
 *   the load digit-reverses it (ld brev, len = n: group b of 2^k holds
 *     x[Q j + b] in bit-reversed order, Q = n / 2^k);
 *   the radix-2 stages 1..k run as one fft over the Q groups of 2^k of each
 *     line (nrows x Q rows of 2^k);
 *   each odd radix is one fftq of stage size m_i = 2^k q1 .. q_i with the
 *     twiddles w_m^(j p) folded in: per group of q points 4 (q - 1) + 2 (q - 1)^2
 *     real products (cycles.c), 8/3 radix-2 passes for q = 3.
 * The dense `dft` on the matrix unit (codegen_dft.c) stays for what the
 * engines do not take: lengths with a prime factor above
 * FAB_FPGA_MAX_RADIX (lower-fourier(max-radix)). */
#include "codegen_internal.h"

#include <string.h>

_Static_assert(FAB_FPGA_ENGINE_RADIX == FAB_FPGA_MAX_RADIX, "fpga-absorb and the ISA take the same radices");

uint64_t fpga_cg_radix_product(const fab_attr *rq) {
  uint64_t Q = 1;
  for (int i = 0; rq && i < rq->nints; i++) Q *= (uint64_t)rq->ints[i];
  return Q;
}

/* Are the radices of a bitrev along an axis of A the load's digit
 * reversal (2s first, then the odd primes ascending, each <= the engines'
 * largest radix)? */
bool fpga_cg_digits_ok(fpga_cg *g, const fab_op *op, uint64_t A) {
  const fab_attr *ra = fab_op_attr(op, "radices");
  if (!ra) return (A & (A - 1)) == 0;
  int64_t want[64];
  int n = fab_fft_factor((int64_t)A, want, 64);
  bool ok = ra->kind == FAB_ATTR_INTS && n == ra->nints && fab_fpga_digitrev_ok(A);
  for (int i = 0; ok && i < n; i++) ok = ra->ints[i] == want[i];
  if (!ok)
    fpga_cg_error(g, "the engines' loads reverse the digits of 2^k q1 q2 .. (odd primes ascending, at most %d; "
                     "lower-fourier's order), not these radices of %llu",
                  FAB_FPGA_MAX_RADIX, (unsigned long long)A);
  return ok;
}

/* fft.stages along an axis of A: radix-2 stages inside the power-of-two
 * part, and for a mixed radix exactly lower-fourier's plan (stages 1..k,
 * the odd radices after them) with radices the engines take. */
bool fpga_cg_fft_plan_ok(fpga_cg *g, const fab_op *op, uint64_t A) {
  const fab_attr *sa = fab_op_attr(op, "stages"), *rq = fab_op_attr(op, "radix");
  if (!rq || !rq->nints) return true; /* be_lines checks the radix-2 stages */
  uint64_t Q = fpga_cg_radix_product(rq), p2 = Q && A % Q == 0 ? A / Q : 0;
  bool ok = rq->kind == FAB_ATTR_INTS && p2 && (p2 & (p2 - 1)) == 0 && sa && sa->nints == ilog2(p2);
  for (int i = 0; ok && i < rq->nints; i++)
    ok = rq->ints[i] >= 3 && rq->ints[i] <= FAB_FPGA_MAX_RADIX && rq->ints[i] % 2 == 1;
  for (int i = 0; ok && i < sa->nints; i++) ok = sa->ints[i] == i + 1;
  if (!ok)
    fpga_cg_error(g, "the engines run mixed-radix fft.stages as lower-fourier emits them: stages 1..k of the "
                     "2^k part, then odd radices of at most %d",
                  FAB_FPGA_MAX_RADIX);
  return ok;
}

void fpga_cg_fftq(fpga_cg *g, uint64_t ne, uint64_t nrows, uint64_t baddr, uint64_t n, const fab_attr *rq,
                  bool rin) {
  for (int i = 0; rq && i < rq->nints && !g->failed; i++) {
    fab_fpga_insn in = fab_fpga_insn_make(FAB_I_FFTQ);
    FAB_SET(&in, BE_NE, ne);
    FAB_SET(&in, BE_NROWS, nrows);
    FAB_SET(&in, BE_ADDR, baddr);
    FAB_SET(&in, BE_RIN, rin && i == 0);
    FAB_SET(&in, BE_RQ, (uint64_t)rq->ints[i]);
    FAB_SET(&in, BE_RM, (uint64_t)fab_fft_radix_size((int64_t)n, rq->ints, rq->nints, i));
    FAB_SET(&in, BE_RN, n);
    uint64_t hi = baddr + nrows * n;
    cg_acc a[2] = {{SP_BEA, true, baddr, hi}, {SP_BEB, true, baddr, hi}};
    fpga_cg_emit(g, in, 2, a);
  }
}
