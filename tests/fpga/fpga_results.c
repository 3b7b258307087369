/* fpga_results — the experiment driver behind scripts/fpga/results.sh (not
 * a test): compiles a .fab model for a configuration, simulates it
 * (functional, or --timing-only: the same cycle model without arithmetic)
 * and prints one RESULT line of key=value pairs, and with --layers one
 * LAYER line per butterfly / FFT / DFT layer with its roofline:
 *   span     cycles from the layer's first instruction start to its last end
 *   compute  ideal cycles: butterflies / (p_be p_bu) (DFT: MACs / att_mults)
 *   waves    the engines' instruction time: rows that do not fill the last
 *            wave of engines leave units idle (coefficients are broadcast,
 *            the engines run in lockstep); at least compute
 *   xfer     the transfer bound: max over the DMA streams of bits / bandwidth,
 *            and the engines' serial ports (one element per cycle per engine)
 *   stq      the store queue's busy time on the layer's stores (it runs one
 *            instruction at a time: an stp's write-back lanes, an st's stream)
 *   bound    max(waves, xfer, stq), at most the engines' span
 *   util     compute / span: butterfly-unit utilisation over the layer
 * RESULT's bu_util_layers and roofline_util sum over groups of layers whose
 * engine spans overlap (fc1 and fc2 of the FFN pair), each measured over
 * the union of its layers' spans.
 *
 *   fpga_results MODEL.fab CONFIG.json [-D name=value]... [--timing-only] [--layers] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen.h"
#include "frontend.h"
#include "interp.h"
#include "passes.h"
#include "target.h"
#include "sim.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct lstat {
  uint64_t lo, hi, span, elo, ehi, espan, bflies, macs, bits[3], serial, waves, stq;
} lstat;

/* A butterfly/FFT op's share of the layers' roofline: ops whose engine
 * spans overlap (the FFN pair emits fc1 and fc2 wave by wave) form one
 * group, measured over the union of their spans, so no engine cycle is
 * counted twice. */
typedef struct espan {
  uint64_t lo, hi;
  double ideal, waves, bits[3], serial, stq;
} espan;

/* The transfer bound: max over the DMA streams of bits / bandwidth and the
 * engines' serial ports. */
static double xfer_bound(const fab_fpga_config *c, const double *bits, double serial) {
  return fmax(fmax(bits[0] / c->bw_in, bits[1] / c->bw_coef), fmax(bits[2] / c->bw_out, serial));
}

static int by_lo(const void *a, const void *b) {
  uint64_t x = ((const espan *)a)->lo, y = ((const espan *)b)->lo;
  return x < y ? -1 : x > y;
}

/* Sums over the groups: span, ideal and bound (max(waves, transfer, the
 * store queue's busy time), at most the group's span). */
static void group_spans(const fab_fpga_config *c, espan *e, int n, double *span, double *ideal, double *bound) {
  qsort(e, (size_t)n, sizeof *e, by_lo);
  for (int i = 0; i < n;) {
    espan g = e[i++];
    while (i < n && e[i].lo < g.hi) { /* overlaps the group */
      if (e[i].hi > g.hi) g.hi = e[i].hi;
      g.ideal += e[i].ideal;
      g.waves += e[i].waves;
      for (int k = 0; k < 3; k++) g.bits[k] += e[i].bits[k];
      g.serial += e[i].serial;
      g.stq += e[i].stq;
      i++;
    }
    double s = (double)(g.hi - g.lo);
    *span += s;
    *ideal += g.ideal;
    *bound += fmin(fmax(fmax(g.waves, xfer_bound(c, g.bits, g.serial)), g.stq), s);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL.fab CONFIG.json [-D name=value]... [--timing-only] [--layers] [--no-schedule]\n", argv[0]);
    return 2;
  }
  fab_define defs[16];
  char names[16][64];
  int nd = 0;
  bool timing = false, layers = false, no_schedule = false;
  int show = -1; /* --insns OP: every instruction of op OP with its times */
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--timing-only")) timing = true;
    else if (!strcmp(argv[i], "--layers")) layers = true;
    else if (!strcmp(argv[i], "--no-schedule")) no_schedule = true;
    else if (!strcmp(argv[i], "--insns") && i + 1 < argc) show = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-D") && i + 1 < argc && nd < 16) {
      const char *eq = strchr(argv[++i], '=');
      if (!eq || eq - argv[i] >= 63) return 2;
      memcpy(names[nd], argv[i], (size_t)(eq - argv[i]));
      names[nd][eq - argv[i]] = 0;
      defs[nd] = (fab_define){names[nd], strtoll(eq + 1, NULL, 10)};
      nd++;
    } else {
      fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  char err[512];
  fab_fpga_config c;
  if (fab_fpga_config_load(argv[2], &c, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  fab_diag *d = fab_diag_new();
  fab_frontend_options fo = {.defines = defs, .ndefines = nd};
  double t0 = now();
  fab_module *m = fab_frontend_compile_file(argv[1], &fo, d);
  fab_target_config tcfg = {.accel_config = &c}; /* the passes decide for the board simulated */
  if (!m || !fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  const fab_func *f = fab_module_main(m);
  size_t *lo = calloc((size_t)f->nops + 1, sizeof *lo), *hi = calloc((size_t)f->nops + 1, sizeof *hi);
  int *insn_op = NULL;
  fab_fpga_codegen_opts co = {.op_insn_lo = lo, .op_insn_hi = hi, .insn_op = &insn_op, .schedule = no_schedule ? -1 : 0};
  fab_fpga_program *p = fab_fpga_codegen_ex(m, &c, &co, d);
  if (!p) {
    fab_diag_print(d, stderr);
    return 1;
  }
  double t1 = now();
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  if (!timing && (!fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d))) {
    fab_diag_print(d, stderr);
    return 1;
  }
  uint64_t *st = calloc(p->ninsn + 1, sizeof *st), *en = calloc(p->ninsn + 1, sizeof *en);
  fab_fpga_sim_opts so = {.timing_only = timing, .insn_start = st, .insn_end = en};
  fab_fpga_report r;
  double t2 = now();
  if (fab_fpga_sim_run(p, &c, ws, is, NULL, &so, &r, err, sizeof err)) {
    fprintf(stderr, "sim: %s\n", err);
    return 1;
  }
  double host = now() - t2;
  /* per-layer roofline */
  double sum_espan = 0, sum_ideal = 0, sum_bound = 0;
  espan *eg = calloc((size_t)f->nops + 1, sizeof *eg);
  int neg = 0;
  for (int i = 0; i < f->nops; i++) {
    fab_opcode code = f->ops[i].code;
    bool be = code == FAB_OP_BFLY_STAGES || code == FAB_OP_FFT_STAGES;
    if ((!be && code != FAB_OP_DFT) || hi[i] <= lo[i]) continue;
    lstat L = {.lo = UINT64_MAX, .elo = UINT64_MAX};
    for (size_t k = lo[i]; k < hi[i]; k++) {
      if (insn_op && insn_op[k] != i) continue; /* scheduling interleaves neighbouring ops */
      fab_fpga_insn in;
      if (fab_fpga_decode(p->code + k * FAB_FPGA_INSN_BYTES, &in, NULL, 0)) continue;
      if (i == show) {
        char dis[256];
        fab_fpga_disasm(&in, dis, sizeof dis);
        printf("  %6zu %8llu %8llu  %s\n", k, (unsigned long long)st[k], (unsigned long long)en[k], dis);
      }
      /* span: every instruction of the layer; espan: the engines' time on
       * it (first to last engine instruction: the scheduler may hoist the
       * layer's loads ahead, into its predecessor's time) */
      if (st[k] < L.lo) L.lo = st[k];
      if (en[k] > L.hi) L.hi = en[k];
      if (!be || fab_fpga_ops[in.op].queue == FAB_Q_BE) {
        if (st[k] < L.elo) L.elo = st[k];
        if (en[k] > L.ehi) L.ehi = en[k];
      }
      const uint64_t *x = in.f;
      uint64_t wb = c.fp16 ? 16 : 32;
      /* the store queue runs one instruction at a time: the write-back
       * lanes' time of an stp, the output stream's of an st */
      if (fab_fpga_ops[in.op].queue == FAB_Q_ST) L.stq += fab_fpga_insn_cycles(&c, &in);
      switch (in.op) {
      case FAB_I_BFLY:
      case FAB_I_FFT:
        L.bflies += x[FAB_F_BE_NE] * x[FAB_F_BE_NROWS] * (1ull << x[FAB_F_BE_LOGN]) / 2 * x[FAB_F_BE_NST];
        L.waves += fab_fpga_insn_cycles(&c, &in);
        break;
      case FAB_I_MM: L.macs += x[FAB_F_MM_M] * x[FAB_F_MM_K] * x[FAB_F_MM_N]; break;
      case FAB_I_LD:
      case FAB_I_ST: {
        uint64_t bits = x[FAB_F_DMA_ROWS] * x[FAB_F_DMA_LEN] * wb * (x[FAB_F_DMA_CPLX] ? 2 : 1);
        int s = in.op == FAB_I_ST ? 2 : x[FAB_F_DMA_BUF] == FAB_BUF_CB ? 1 : 0;
        L.bits[s] += bits;
        if (x[FAB_F_DMA_BUF] == FAB_BUF_BE && in.op == FAB_I_LD)
          L.serial += (x[FAB_F_DMA_ROWS] + x[FAB_F_DMA_NE] - 1) / x[FAB_F_DMA_NE] * x[FAB_F_DMA_LEN];
        break;
      }
      case FAB_I_LDP: /* the engines' zero-filling load and write-back store */
      case FAB_I_STP: {
        uint64_t bits = x[FAB_F_EWB_ROWS] * x[FAB_F_EWB_LEN] * wb;
        L.bits[in.op == FAB_I_STP ? 2 : 0] += bits;
        if (in.op == FAB_I_STP && fab_fpga_wbfn_residual[x[FAB_F_EWB_FN]]) L.bits[0] += bits;
        if (in.op == FAB_I_LDP) L.serial += (x[FAB_F_EWB_ROWS] + x[FAB_F_EWB_NE] - 1) / x[FAB_F_EWB_NE] << x[FAB_F_EWB_LP];
        break;
      }
      default: break;
      }
    }
    L.span = L.hi - L.lo;
    L.espan = L.ehi > L.elo ? L.ehi - L.elo : 0;
    double ideal = be ? (double)L.bflies / ((double)c.p_be * c.p_bu) : (double)L.macs / c.att_mults;
    double bits[3] = {(double)L.bits[0], (double)L.bits[1], (double)L.bits[2]};
    double xfer = xfer_bound(&c, bits, (double)L.serial);
    /* roofline: how close the engines' time on the layer comes to its
     * bound, max(compute, transfer); loads the scheduler ran ahead, under
     * the previous layer, can put the span below the transfer bound: 100 % */
    double waves = be ? fmax(ideal, (double)L.waves) : ideal, stq = (double)L.stq;
    double bound = fmin(fmax(fmax(waves, xfer), stq), (double)L.espan);
    if (be && L.espan) eg[neg++] = (espan){L.elo, L.ehi, ideal, waves, {bits[0], bits[1], bits[2]}, (double)L.serial, stq};
    if (layers)
      printf("LAYER op=%d kind=%s span=%llu engine_span=%llu compute=%.0f waves=%.0f xfer=%.0f stq=%.0f bound=%s "
             "util=%.3f roofline=%.3f bytes=%llu\n",
             i, fab_opinfos[code].name, (unsigned long long)L.span, (unsigned long long)L.espan, ideal, waves, xfer, stq,
             waves >= fmax(xfer, stq) ? (waves > ideal * 1.05 ? "waves" : "compute") : stq > xfer ? "stores" : "memory",
             L.espan ? ideal / (double)L.espan : 0, L.espan ? bound / (double)L.espan : 0,
             (unsigned long long)((L.bits[0] + L.bits[1] + L.bits[2]) / 8));
  }
  group_spans(&c, eg, neg, &sum_espan, &sum_ideal, &sum_bound);
  free(eg);
  uint64_t att = r.busy[FAB_Q_ATT];
  printf("RESULT cycles=%llu latency_ms=%.4f bu_util_insn=%.3f bu_util_layers=%.3f roofline_util=%.3f attainable=%.3f "
         "bfly_cycles=%llu att_busy=%llu ppu_busy=%llu be_busy=%llu engine_util=%.3f bytes_in=%llu bytes_coef=%llu "
         "bytes_out=%llu model_cycles=%llu butterflies=%llu insns=%zu mem_words=%llu compile_s=%.4f sim_s=%.6f "
         "bfly_per_s=%.3g mode=%s\n",
         (unsigned long long)r.total_cycles, r.latency_ms, r.bu_util, sum_espan ? sum_ideal / sum_espan : 0,
         sum_espan ? sum_bound / sum_espan : 0, sum_bound ? sum_ideal / sum_bound : 0, (unsigned long long)r.bfly_cycles, (unsigned long long)att,
         (unsigned long long)r.busy[FAB_Q_PPU], (unsigned long long)r.busy[FAB_Q_BE], r.engine_util,
         (unsigned long long)r.bytes_in, (unsigned long long)r.bytes_coef, (unsigned long long)r.bytes_out,
         (unsigned long long)r.model_cycles, (unsigned long long)r.butterflies, p->ninsn,
         (unsigned long long)p->mem_words, t1 - t0, host, host > 0 ? (double)r.butterflies / host : 0,
         timing ? "timing" : "functional");
  free(st);
  free(en);
  free(lo);
  free(hi);
  free(insn_op);
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}
