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
 * List scheduling over a window of the first SCHED_WINDOW instructions not
 * yet placed (program order).  A candidate may be placed next if it
 * conflicts (RAW, WAR, WAW on an address range) with no earlier unplaced
 * instruction, so every conflicting pair keeps its order and the tokens
 * derived afterwards describe the same data flow.  Among those the one
 * with the earliest estimated start wins (its lane free, and the estimated
 * ends of the placed instructions it conflicts with), ties in program
 * order.  Estimates use the simulator's per-instruction costs (cycles.c);
 * they only steer the order, never its correctness.  The new order is kept
 * only if its estimated makespan beats the emitted order's (estimated the
 * same way): short models whose queues never block gain nothing and can
 * lose a little to hoisted loads. */
#include "codegen_internal.h"

#include <stdlib.h>
#include <string.h>

#define SCHED_WINDOW 32  /* candidates; a bit mask of slots must fit 64 bits */
#define SCHED_LOOKBACK 256 /* placed instructions checked for a new candidate's ready time */

/* Lanes of the estimate: the five queues, the ld queue's coefficient
 * channel apart from its input channel (they overlap, docs/isa.md). */
enum { LANE_COEF = FAB_Q_COUNT, NLANES };

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

/* The estimated end of the latest of the last SCHED_LOOKBACK instructions of
 * seq[0, n) that conflict with x (0 if none): x's earliest start. */
static uint64_t ready_after(const cg_insn *x, const cg_insn *seq, const uint64_t *end, size_t n) {
  uint64_t ready = 0;
  for (size_t k = n > SCHED_LOOKBACK ? n - SCHED_LOOKBACK : 0; k < n; k++)
    if (end[k] > ready && fpga_cg_conflicts(x, &seq[k])) ready = end[k];
  return ready;
}

/* The estimated start of x, ready at `ready`: its lane free and, as the
 * simulator issues each queue in program order, not before the previous
 * instruction of its queue started (a coefficient load waiting for its
 * CB half holds up the input loads behind it). */
static uint64_t est_start(const cg_insn *x, uint64_t ready, const uint64_t *lane_free, const uint64_t *qstart) {
  uint64_t st = ready > lane_free[lane_of(&x->in)] ? ready : lane_free[lane_of(&x->in)];
  uint64_t q = qstart[fab_fpga_ops[x->in.op].queue];
  return st > q ? st : q;
}

/* Estimated makespan of the instructions in their current order. */
static uint64_t estimate_in_order(const fpga_cg *g, uint64_t *end) {
  uint64_t lane_free[NLANES] = {0}, qstart[FAB_Q_COUNT] = {0}, span = 0;
  for (size_t i = 0; i < g->n; i++) {
    const cg_insn *ci = &g->ins[i];
    int ln = lane_of(&ci->in);
    uint64_t st = est_start(ci, ready_after(ci, g->ins, end, i), lane_free, qstart);
    qstart[fab_fpga_ops[ci->in.op].queue] = st;
    end[i] = st + fab_fpga_insn_cycles(g->c, &ci->in);
    lane_free[ln] = end[i];
    if (end[i] > span) span = end[i];
  }
  return span;
}

bool fpga_cg_schedule(fpga_cg *g, bool always) {
  size_t n = g->n;
  if (n < 2) return true;
  cg_insn *out = malloc(n * sizeof *out);
  uint64_t *end = malloc(n * sizeof *end); /* estimated end, by placed position */
  if (!out || !end) {
    free(out);
    free(end);
    fpga_cg_error(g, "out of memory");
    return false;
  }
  uint64_t before_span = estimate_in_order(g, end), span = 0;
  slot sl[SCHED_WINDOW];
  uint64_t used = 0, lane_free[NLANES] = {0}, qstart[FAB_Q_COUNT] = {0};
  size_t next = 0, placed = 0;
  while (placed < n) {
    /* fill the window in program order */
    while (next < n && used != (SCHED_WINDOW >= 64 ? ~0ull : (1ull << SCHED_WINDOW) - 1)) {
      int s = __builtin_ctzll(~used);
      slot *c = &sl[s];
      c->idx = next;
      c->ready = ready_after(&g->ins[next], out, end, placed);
      c->before = 0;
      for (int t = 0; t < SCHED_WINDOW; t++)
        if ((used >> t & 1u) && fpga_cg_conflicts(&g->ins[next], &g->ins[sl[t].idx])) c->before |= 1ull << t;
      used |= 1ull << s;
      next++;
    }
    /* the eligible candidate with the earliest estimated start */
    int best = -1;
    uint64_t best_start = 0;
    for (int t = 0; t < SCHED_WINDOW; t++) {
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
    qstart[fab_fpga_ops[ci->in.op].queue] = best_start;
    used &= ~(1ull << best);
    for (int t = 0; t < SCHED_WINDOW; t++) {
      if (!(used >> t & 1u)) continue;
      sl[t].before &= ~(1ull << best);
      if (e > sl[t].ready && fpga_cg_conflicts(&g->ins[sl[t].idx], ci)) sl[t].ready = e;
    }
    out[placed] = *ci;
    end[placed] = e;
    if (e > span) span = e;
    placed++;
  }
  if (always || span < before_span) memcpy(g->ins, out, n * sizeof *out);
  free(out);
  free(end);
  return true;
}
