/* ops.c — the per-op view of a run (`fabc sim --ops`): for every op of a
 * program built with an op map (`--codegen op-map`), its instructions'
 * span, the cycles each queue spent on them, the engines' and butterfly
 * units' utilisation over the span and the off-chip bytes it moved. */
#include "sim.h"

#include <stdlib.h>

typedef struct op_stat {
  uint64_t insns, lo, hi, busy[FAB_Q_COUNT], eng, bflies, in, coef, out;
} op_stat;

static void add_insn(const fab_fpga_config *c, const fab_fpga_insn *in, uint64_t s, uint64_t e, op_stat *o) {
  const uint64_t *f = in->f;
  int q = fab_fpga_ops[in->op].queue;
  if (!o->insns || s < o->lo) o->lo = s;
  if (e > o->hi) o->hi = e;
  o->insns++;
  o->busy[q] += e - s;
  if (q == FAB_Q_BE) o->eng += (e - s) * (f[FAB_F_BE_NE] ? f[FAB_F_BE_NE] : 1);
  o->bflies += fab_fpga_insn_butterflies(in);
  uint64_t bytes = fab_fpga_insn_bits(c, in) / 8;
  if (in->op == FAB_I_ST) o->out += bytes;
  else if (in->op == FAB_I_STP) {
    o->out += bytes;
    if (f[FAB_F_EWB_FN] < FAB_WB_COUNT && fab_fpga_wbfn_residual[f[FAB_F_EWB_FN]]) o->in += bytes;
  } else if (fab_fpga_insn_coef_port(in)) o->coef += bytes;
  else o->in += bytes;
}

static double pct(double a, double b) { return b > 0 ? 100.0 * a / b : 0; }

fab_status fab_fpga_ops_print(const fab_fpga_program *p, const uint64_t *start, const uint64_t *end,
                              uint64_t total_cycles, FILE *out, char *err, size_t errlen) {
  if (!p->insn_op)
    return fab_fpga_fail(err, errlen, FAB_E_ARG,
                         "the program has no op map: build it with `fabc build --target fpga --codegen op-map`");
  const fab_fpga_config *c = &p->cfg;
  op_stat *st = calloc(p->nops + 1, sizeof *st); /* [nops]: instructions of no op */
  if (!st) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0)) continue;
    add_insn(c, &in, start[i], end[i], &st[p->insn_op[i] == FAB_FPGA_NO_OP ? p->nops : p->insn_op[i]]);
  }
  fprintf(out, "per op (%llu cycles in all; start and span: first instruction's start to last one's end, "
               "overlapping other ops; ld be att ppu st: cycles each queue spent on the op; engines, BUs: "
               "utilisation over the span; off-chip KB in / coefficients / out)\n",
          (unsigned long long)total_cycles);
  fprintf(out, "%-48s %6s %9s %9s %8s %8s %8s %8s %8s %7s %5s %9s %9s %9s\n", "op", "insns", "start", "span", "ld",
          "be", "att", "ppu", "st", "engines", "BUs", "in", "coef", "out");
  for (uint32_t k = 0; k <= p->nops; k++) {
    const op_stat *o = &st[k];
    if (!o->insns) continue;
    double span = (double)(o->hi - o->lo);
    fprintf(out, "%-48.48s %6llu %9llu %9llu %8llu %8llu %8llu %8llu %8llu %6.1f%% %4.0f%% %9.1f %9.1f %9.1f\n",
            k < p->nops ? p->op_labels[k] : "(no op)", (unsigned long long)o->insns, (unsigned long long)o->lo,
            (unsigned long long)(o->hi - o->lo), (unsigned long long)o->busy[FAB_Q_LD],
            (unsigned long long)o->busy[FAB_Q_BE], (unsigned long long)o->busy[FAB_Q_ATT],
            (unsigned long long)o->busy[FAB_Q_PPU], (unsigned long long)o->busy[FAB_Q_ST],
            pct((double)o->eng, span * c->p_be), pct((double)o->bflies, span * c->p_be * c->p_bu),
            o->in / 1024.0, o->coef / 1024.0, o->out / 1024.0);
  }
  free(st);
  return FAB_OK;
}
