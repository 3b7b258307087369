/* codegen_sched.c — orders the emitted instructions before their tokens
 * are derived.
 *
 * Op handlers emit their tiles op after op, and each of the five queues
 * runs in program order.  So an instruction of op k+1 that is ready early
 * waits behind a late one of op k in the same queue: on LRA-ListOps a
 * butterfly layer's first tile stores queued behind the previous layer
 * norm's last store, which waited 3,000 cycles for the PPU, and the
 * engines stalled for want of a free buffer half.
 *
 * List scheduling over a window of the first 32 or 64 instructions not
 * yet placed (program order).  A candidate may be placed next if it
 * conflicts (RAW, WAR, WAW on an address range) with no earlier unplaced
 * instruction, so every conflicting pair keeps its order and the tokens
 * derived afterwards describe the same data flow.  Among those the one
 * with the earliest estimated start wins (its lane free, and the estimated
 * ends of the placed instructions it conflicts with), ties in program
 * order.  Estimates use the simulator's per-instruction costs (cycles.c);
 * they only steer the order, never its correctness.  The new order is kept
 * only if its estimated makespan beats the emitted order's: short models
 * whose queues never block gain nothing and can lose a little to hoisted
 * loads.  The makespans compared (each window's order, the emitted one)
 * are estimated as the simulator runs the queues: a token from another
 * queue carries its queue's retirement time, so a consumer of a short
 * coefficient load placed behind a long zero-filling ldp on the input
 * channel waits for the ldp (FABNet-Base seq 1024 on vcu128-be120: the
 * greedy's estimate, which missed that, kept the 32-candidate order, 2.6 %
 * slower than the 64-candidate one). */
#include "codegen_internal.h"

#include <stdlib.h>
#include <string.h>

#define SCHED_WINDOW_MAX 64 /* candidates; a bit mask of slots must fit 64 bits */
#define SCHED_LOOKBACK 256 /* placed instructions checked for a new candidate's ready time */

/* Lanes of the estimate: the five queues, the ld queue's coefficient
 * channel apart from its input channel (they overlap, docs/isa.md), and
 * the engines' serial write port (loads into the engines and keeping
 * stores, one at a time, as the simulator has it). */
enum { LANE_COEF = FAB_Q_COUNT, LANE_WPORT, NLANES };

static int lane_of(const fab_fpga_insn *in) {
  int q = fab_fpga_ops[in->op].queue;
  if (fab_fpga_insn_coef_port(in)) return LANE_COEF;
  return q;
}

typedef struct slot {
  size_t idx;      /* program-order index of the candidate */
  uint64_t ready;  /* estimated end of the placed instructions it conflicts with */
  uint64_t before; /* slots holding earlier candidates it conflicts with */
} slot;

/* The latest of the last SCHED_LOOKBACK instructions of seq[0, n) that
 * conflict with x (0 if none): x's earliest start.  Without ret, when they
 * end; with it (ret[k]: when seq[k]'s queue had retired every instruction
 * up to it), when their tokens arrive: the simulator retires each queue in
 * order, and within a queue program order needs no token. */
static uint64_t ready_after(const cg_insn *x, const cg_insn *seq, const uint64_t *end, const uint64_t *ret, size_t n) {
  uint64_t ready = 0;
  int q = fab_fpga_ops[x->in.op].queue;
  for (size_t k = n > SCHED_LOOKBACK ? n - SCHED_LOOKBACK : 0; k < n; k++) {
    uint64_t t = ret && (int)fab_fpga_ops[seq[k].in.op].queue != q && ret[k] > end[k] ? ret[k] : end[k];
    if (t > ready && fpga_cg_conflicts(x, &seq[k])) ready = t;
  }
  return ready;
}

/* The estimated start of x, ready at `ready`: its lane free and, as the
 * simulator issues each queue in program order, not before the previous
 * instruction of its queue started (a coefficient load waiting for its
 * CB half holds up the input loads behind it). */
static uint64_t est_start(const cg_insn *x, uint64_t ready, const uint64_t *lane_free, const uint64_t *qstart) {
  uint64_t st = ready > lane_free[lane_of(&x->in)] ? ready : lane_free[lane_of(&x->in)];
  if (fab_fpga_insn_wport(&x->in) && lane_free[LANE_WPORT] > st) st = lane_free[LANE_WPORT];
  uint64_t q = qstart[fab_fpga_ops[x->in.op].queue];
  return st > q ? st : q;
}

/* Estimated makespan of the instructions seq[0, g->n) in that order, its
 * tokens arriving when their queue retired (end, ret: scratch). */
static uint64_t estimate_in_order(const fpga_cg *g, const cg_insn *seq, uint64_t *end, uint64_t *ret) {
  uint64_t lane_free[NLANES] = {0}, qstart[FAB_Q_COUNT] = {0}, qret[FAB_Q_COUNT] = {0}, span = 0;
  for (size_t i = 0; i < g->n; i++) {
    const cg_insn *ci = &seq[i];
    int ln = lane_of(&ci->in), q = fab_fpga_ops[ci->in.op].queue;
    uint64_t st = est_start(ci, ready_after(ci, seq, end, ret, i), lane_free, qstart);
    qstart[q] = st;
    end[i] = st + fab_fpga_insn_cycles(g->c, &ci->in);
    if (end[i] > qret[q]) qret[q] = end[i];
    ret[i] = qret[q];
    lane_free[ln] = end[i];
    if (fab_fpga_insn_wport(&ci->in)) lane_free[LANE_WPORT] = end[i];
    if (end[i] > span) span = end[i];
  }
  return span;
}

/* One list-scheduling pass over a window of `window` candidates: the
 * order into out (end: scratch; its choices see when a dependence ends,
 * estimate_in_order then times the order). */
static void schedule_window(const fpga_cg *g, int window, cg_insn *out, uint64_t *end) {
  size_t n = g->n;
  uint64_t full = window >= 64 ? ~0ull : (1ull << window) - 1;
  slot sl[SCHED_WINDOW_MAX];
  uint64_t used = 0, lane_free[NLANES] = {0}, qstart[FAB_Q_COUNT] = {0};
  size_t next = 0, placed = 0;
  while (placed < n) {
    /* fill the window in program order */
    while (next < n && used != full) {
      int s = __builtin_ctzll(~used);
      slot *c = &sl[s];
      c->idx = next;
      c->ready = ready_after(&g->ins[next], out, end, NULL, placed);
      c->before = 0;
      for (int t = 0; t < window; t++)
        if ((used >> t & 1u) && fpga_cg_conflicts(&g->ins[next], &g->ins[sl[t].idx])) c->before |= 1ull << t;
      used |= 1ull << s;
      next++;
    }
    /* the eligible candidate with the earliest estimated start */
    int best = -1;
    uint64_t best_start = 0;
    for (int t = 0; t < window; t++) {
      if (!(used >> t & 1u) || (sl[t].before & used)) continue;
      uint64_t st = est_start(&g->ins[sl[t].idx], sl[t].ready, lane_free, qstart);
      if (best < 0 || st < best_start || (st == best_start && sl[t].idx < sl[best].idx)) {
        best = t;
        best_start = st;
      }
    }
    /* the earliest unplaced candidate is always eligible: best >= 0 */
    const cg_insn *ci = &g->ins[sl[best].idx];
    uint64_t e = best_start + fab_fpga_insn_cycles(g->c, &ci->in);
    lane_free[lane_of(&ci->in)] = e;
    if (fab_fpga_insn_wport(&ci->in)) lane_free[LANE_WPORT] = e;
    qstart[fab_fpga_ops[ci->in.op].queue] = best_start;
    used &= ~(1ull << best);
    for (int t = 0; t < window; t++) {
      if (!(used >> t & 1u)) continue;
      sl[t].before &= ~(1ull << best);
      if (e > sl[t].ready && fpga_cg_conflicts(&g->ins[sl[t].idx], ci)) sl[t].ready = e;
    }
    out[placed] = *ci;
    end[placed] = e;
    placed++;
  }
}

/* Windows tried, smallest first.  A wider window lets loads and stores
 * pass more of the instructions before them (FABNet-Large seq 128 on
 * vcu128-be120 24.5K cycles shorter, FABNet-Base seq 768 on vcu128-be40
 * 212K), but its greedy choices are not always better.  A wider window's
 * order replaces a narrower one's only where its estimate is shorter by
 * more than 1/2048 of the makespan: on zynq7045-be20 the estimate misses the
 * simulator by a few per cent, and FABNet-Base seq 128 estimated 0.03 %
 * shorter with 64 candidates simulates 0.7 % longer. */
static const int sched_windows[] = {32, SCHED_WINDOW_MAX};

bool fpga_cg_schedule(fpga_cg *g, bool always) {
  size_t n = g->n;
  if (n < 2) return true;
  cg_insn *out = malloc(n * sizeof *out), *best = malloc(n * sizeof *best);
  uint64_t *end = malloc(n * sizeof *end); /* estimated end, by placed position */
  uint64_t *ret = malloc(n * sizeof *ret); /* when its queue had retired up to it */
  if (!out || !best || !end || !ret) {
    free(out);
    free(best);
    free(end);
    free(ret);
    fpga_cg_error(g, "out of memory");
    return false;
  }
  /* the emitted order's estimate only when it may be kept */
  uint64_t before_span = always ? UINT64_MAX : estimate_in_order(g, g->ins, end, ret), best_span = UINT64_MAX;
  for (size_t w = 0; w < sizeof sched_windows / sizeof *sched_windows; w++) {
    if (w && (size_t)sched_windows[w - 1] >= n) break; /* a window over every instruction: the same order */
    schedule_window(g, sched_windows[w], out, end);
    uint64_t span = estimate_in_order(g, out, end, ret);
    if (best_span == UINT64_MAX || span + best_span / 2048 < best_span) {
      best_span = span;
      cg_insn *t = best;
      best = out;
      out = t;
    }
  }
  if (always || best_span < before_span) memcpy(g->ins, best, n * sizeof *best);
  free(out);
  free(best);
  free(end);
  free(ret);
  return true;
}
