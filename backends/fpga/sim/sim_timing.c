/* sim_timing.c — the simulator's driver: binds tensors to off-chip memory,
 * runs the five queues concurrently with their dependency tokens, and
 * accounts cycles.
 *
 * Timing model (docs/fpga.md): each queue executes one instruction at a
 * time, in program order; an instruction starts when its queue is free and
 * every token it waits for has been pushed (a token carries the completion
 * time of its producer).  Per-instruction costs: ../cycles.c
 * (fab_fpga_insn_cycles), shared with the code generator's scheduler.
 * Functional execution happens when an instruction is scheduled, in order
 * of start time, so the data seen is the data the hardware would see. */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t max2(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Cycles of one instruction (cycles.c); adds its off-chip bytes to the report. */
static uint64_t cost(const fab_fpga_config *c, const fab_fpga_insn *in, fab_fpga_report *r) {
  uint64_t bytes = fab_fpga_insn_bits(c, in) / 8;
  if (in->op == FAB_I_ST || in->op == FAB_I_STP) r->bytes_out += bytes;
  if (in->op == FAB_I_STP && in->f[FAB_F_EWB_FN] < FAB_WB_COUNT && fab_fpga_wbfn_residual[in->f[FAB_F_EWB_FN]])
    r->bytes_in += bytes; /* the residual stream */
  else if (fab_fpga_insn_coef_port(in)) r->bytes_coef += bytes;
  else if (in->op == FAB_I_LD || in->op == FAB_I_LDP || in->op == FAB_I_GATHER || in->op == FAB_I_AMASK || in->op == FAB_I_PMASK)
    r->bytes_in += bytes;
  return fab_fpga_insn_cycles(c, in);
}

/* ---- binding ------------------------------------------------------------------ */

static fab_status bind(simst *s, const fab_tensor_set *ws, const fab_tensor_set *is, char *err,
                       size_t errlen) {
  for (int i = 0; i < s->p->ntensors; i++) {
    const fab_fpga_tensor *t = &s->p->tensors[i];
    if (t->kind == FAB_FT_OUTPUT) continue;
    if (t->kind == FAB_FT_CONST) {
      fab_status st = fab_fpga_const_fill(t, s->mem + t->addr, err, errlen);
      if (st) return st;
      continue;
    }
    const fab_tensor_set *set = t->kind == FAB_FT_WEIGHT ? ws : is;
    const char *what = t->kind == FAB_FT_WEIGHT ? "weight" : "input";
    const fab_tensor *x = set ? fab_tset_find(set, t->name) : NULL;
    if (!x) return fab_fpga_fail(err, errlen, FAB_E_MISSING, "%s '%s' is missing", what, t->name);
    if (t->dtype == FAB_FD_C64)
      return fab_fpga_fail(err, errlen, FAB_E_DTYPE, "%s '%s': complex weights and inputs are not supported", what, t->name);
    fab_tensor_dtype want = t->dtype == FAB_FD_I32 ? FAB_DT_I32 : FAB_DT_F32;
    if (x->dtype != want)
      return fab_fpga_fail(err, errlen, FAB_E_DTYPE, "%s '%s' must be %s", what, t->name, want == FAB_DT_I32 ? "I32" : "F32");
    bool same = x->rank == t->rank;
    for (int d = 0; same && d < t->rank; d++) same = x->dims[d] == t->dims[d];
    if (!same || x->nbytes != t->words * 4)
      return fab_fpga_fail(err, errlen, FAB_E_SHAPE, "%s '%s' has the wrong shape", what, t->name);
    memcpy(s->mem + t->addr, x->data, t->words * 4);
  }
  return FAB_OK;
}

static fab_status unbind(simst *s, fab_tensor_set *out, char *err, size_t errlen) {
  for (int i = 0; i < s->p->ntensors; i++) {
    const fab_fpga_tensor *t = &s->p->tensors[i];
    if (t->kind != FAB_FT_OUTPUT) continue;
    int64_t dims[FAB_TENSOR_MAX_RANK + 1];
    int rank = t->rank;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)rank);
    if (t->dtype == FAB_FD_C64) dims[rank++] = 2;
    fab_tensor *x = fab_tset_add(out, t->name, t->dtype == FAB_FD_I32 ? FAB_DT_I32 : FAB_DT_F32,
                                 rank > FAB_TENSOR_MAX_RANK ? FAB_TENSOR_MAX_RANK : rank, dims);
    if (!x || x->nbytes != t->words * 4)
      return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "cannot make output '%s'", t->name);
    memcpy(x->data, s->mem + t->addr, t->words * 4);
  }
  return FAB_OK;
}

/* ---- the queue machine --------------------------------------------------------- */

typedef struct chan {
  uint64_t *t; /* push times, FIFO */
  size_t head, tail;
} chan;

/* The five instruction queues: each holds its instructions' indices in
 * program order and, decoded, only its head (a program may hold millions
 * of words); ch[src][dst] carries the tokens src pushes for dst. */
typedef struct queues {
  const fab_fpga_program *p;
  fab_fpga_insn head[FAB_Q_COUNT];
  size_t *list[FAB_Q_COUNT], len[FAB_Q_COUNT], next[FAB_Q_COUNT];
  chan ch[FAB_Q_COUNT][FAB_Q_COUNT];
  /* per queue: when each DMA channel (0 input, 1 coefficients) is free,
   * when the last instruction started, when everything issued completed */
  uint64_t chfree[FAB_Q_COUNT][2], issue[FAB_Q_COUNT], retire[FAB_Q_COUNT];
  /* when the engines' serial write port is free: loads into the engine
   * buffers and keeping stores (stp keep) take it one at a time */
  uint64_t wport;
} queues;

typedef struct trace {
  fab_fpga_event *ev;
  size_t n, cap;
} trace;

static void decode_at(const fab_fpga_program *p, size_t i, fab_fpga_insn *out) {
  fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, out, NULL, 0);
}

/* The load queue's coefficient loads use their own DMA channel. */
static int dma_channel(int q, const fab_fpga_insn *in) {
  return q == FAB_Q_LD && fab_fpga_insn_coef_port(in);
}

/* Decodes the program (rejecting bad words), distributes it to the queues
 * and sizes the token FIFOs. */
static fab_status queues_build(queues *qs, const fab_fpga_program *p, char *err, size_t errlen) {
  memset(qs, 0, sizeof *qs);
  qs->p = p;
  size_t npush[FAB_Q_COUNT][FAB_Q_COUNT] = {{0}};
  fab_fpga_insn in;
  for (size_t i = 0; i < p->ninsn; i++) {
    char m[128];
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, m, sizeof m))
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "instruction %zu: %s", i, m);
    int q = fab_fpga_ops[in.op].queue;
    qs->len[q]++;
    for (int d = 0; d < FAB_Q_COUNT; d++)
      if (in.sig & (1u << d)) npush[q][d]++;
  }
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    qs->list[q] = malloc((qs->len[q] ? qs->len[q] : 1) * sizeof(size_t));
    if (!qs->list[q]) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    qs->len[q] = 0;
    for (int d = 0; d < FAB_Q_COUNT; d++) {
      qs->ch[q][d].t = malloc((npush[q][d] ? npush[q][d] : 1) * sizeof(uint64_t));
      if (!qs->ch[q][d].t) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    }
  }
  for (size_t i = 0; i < p->ninsn; i++) {
    decode_at(p, i, &in);
    int q = fab_fpga_ops[in.op].queue;
    qs->list[q][qs->len[q]++] = i;
  }
  for (int q = 0; q < FAB_Q_COUNT; q++)
    if (qs->len[q]) decode_at(p, qs->list[q][0], &qs->head[q]);
  return FAB_OK;
}

static void queues_free(queues *qs) {
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    free(qs->list[q]);
    for (int d = 0; d < FAB_Q_COUNT; d++) free(qs->ch[q][d].t);
  }
}

/* The queue whose head can start first (its channel free, every token it
 * waits for pushed), and that start time; -1 if none can. */
static int queues_pick(const queues *qs, uint64_t *start_out) {
  int best = -1;
  uint64_t bstart = 0;
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    if (qs->next[q] == qs->len[q]) continue;
    const fab_fpga_insn *in = &qs->head[q];
    uint64_t start = max2(qs->chfree[q][dma_channel(q, in)], qs->issue[q]);
    if (fab_fpga_insn_wport(in)) start = max2(start, qs->wport);
    bool ready = true;
    for (int src = 0; src < FAB_Q_COUNT && ready; src++)
      if (in->wait & (1u << src)) {
        const chan *k = &qs->ch[src][q];
        if (k->head == k->tail) ready = false;
        else start = max2(start, k->t[k->head]);
      }
    if (ready && (best < 0 || start < bstart)) {
      best = q;
      bstart = start;
    }
  }
  *start_out = bstart;
  return best;
}

/* Every queue with work waits for a token nobody will push. */
static fab_status deadlock(const queues *qs, size_t issued, char *err, size_t errlen) {
  char msg[512];
  size_t k = 0;
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    if (qs->next[q] == qs->len[q]) continue;
    size_t i = qs->list[q][qs->next[q]];
    int w = snprintf(msg + k, sizeof msg - k, "%s%s waits at instruction %zu (%s)", k ? "; " : "",
                     fab_fpga_queue_names[q], i, fab_fpga_ops[qs->head[q].op].mnemonic);
    if (w > 0 && (size_t)w < sizeof msg - k) k += (size_t)w;
  }
  return fab_fpga_fail(err, errlen, FAB_E_RUNTIME, "token deadlock after %zu of %zu instructions: %s", issued,
                       qs->p->ninsn, msg);
}

/* Takes queue q's head into *in (consuming the tokens it waited for) and
 * decodes the next one; returns the instruction's index. */
static size_t queues_pop(queues *qs, int q, fab_fpga_insn *in) {
  size_t i = qs->list[q][qs->next[q]++];
  *in = qs->head[q];
  if (qs->next[q] < qs->len[q]) decode_at(qs->p, qs->list[q][qs->next[q]], &qs->head[q]);
  for (int src = 0; src < FAB_Q_COUNT; src++)
    if (in->wait & (1u << src)) qs->ch[src][q].head++;
  return i;
}

/* Books the instruction's channel and completion; its tokens carry the
 * queue's retirement time (in-order retirement, so that "waited for the
 * latest producer" implies "waited for every earlier one"). */
static void queues_retire(queues *qs, int q, const fab_fpga_insn *in, uint64_t start, uint64_t end) {
  qs->chfree[q][dma_channel(q, in)] = end;
  if (fab_fpga_insn_wport(in)) qs->wport = end;
  qs->issue[q] = start;
  qs->retire[q] = max2(qs->retire[q], end);
  for (int d = 0; d < FAB_Q_COUNT; d++)
    if (in->sig & (1u << d)) {
      chan *k = &qs->ch[q][d];
      k->t[k->tail++] = qs->retire[q];
    }
}

/* Busy, stall and butterfly counters of one instruction on queue q that
 * became ready at `ready` and started at `start`. */
static void account(fab_fpga_report *r, const fab_fpga_config *c, int q, const fab_fpga_insn *in,
                    uint64_t ready, uint64_t start, uint64_t cyc, uint64_t *bfly_engine_cycles) {
  r->stall[q] += start - ready;
  if (dma_channel(q, in)) r->coef_busy += cyc;
  else r->busy[q] += cyc;
  r->insns[q]++;
  if (q != FAB_Q_BE) return;
  uint64_t ne = in->f[FAB_F_BE_NE];
  for (uint64_t e = 0; e < (uint64_t)c->p_be; e++) {
    if (e < ne) r->engine_busy[e] += cyc;
    else r->engine_stall[e] += cyc;
    r->engine_stall[e] += start - ready;
  }
  if (in->op != FAB_I_ZERO) {
    r->bfly_cycles += cyc;
    *bfly_engine_cycles += cyc * ne;
    r->butterflies += fab_fpga_insn_butterflies(in);
  }
}

/* One event on the queue's track, and one per engine used. */
static fab_status trace_add(trace *t, int q, size_t i, const fab_fpga_insn *in, uint64_t start, uint64_t end,
                            char *err, size_t errlen) {
  size_t need = t->n + 1 + (q == FAB_Q_BE ? (size_t)in->f[FAB_F_BE_NE] : 0);
  if (need > t->cap) {
    size_t cap = t->cap * 2 > need ? t->cap * 2 : need;
    fab_fpga_event *ev = realloc(t->ev, cap * sizeof *ev);
    if (!ev) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory for the trace");
    t->ev = ev;
    t->cap = cap;
  }
  t->ev[t->n++] = (fab_fpga_event){q, (uint32_t)i, start, end};
  if (q == FAB_Q_BE)
    for (uint64_t e = 0; e < in->f[FAB_F_BE_NE]; e++) t->ev[t->n++] = (fab_fpga_event){5 + (int)e, (uint32_t)i, start, end};
  return FAB_OK;
}

/* Issues every instruction in start-time order: each queue in program
 * order; the load queue drives two DMA channels (input stream and
 * coefficient stream, as the authors' design has separate ports), so a
 * coefficient load overlaps an input load.  Functional execution (func)
 * happens at issue, so the data seen is the data the hardware would see. */
static fab_status run_queues(queues *qs, simst *s, bool func, const fab_fpga_sim_opts *opts, fab_fpga_report *r,
                             trace *t, uint64_t *bfly_engine_cycles, char *err, size_t errlen) {
  const fab_fpga_config *c = s->c;
  for (size_t issued = 0; issued < qs->p->ninsn; issued++) {
    uint64_t start;
    int q = queues_pick(qs, &start);
    if (q < 0) return deadlock(qs, issued, err, errlen);
    fab_fpga_insn in;
    size_t i = queues_pop(qs, q, &in);
    uint64_t cyc = cost(c, &in, r), end = start + cyc;
    if (opts && opts->max_cycles && end > opts->max_cycles)
      return fab_fpga_fail(err, errlen, FAB_E_LIMIT, "simulation budget of %llu cycles exceeded at instruction %zu",
                           (unsigned long long)opts->max_cycles, i);
    fab_status st;
    if (func && (st = fab_fpga_sim_exec(s, &in, i, err, errlen))) return st;
    account(r, c, q, &in, max2(qs->chfree[q][dma_channel(q, &in)], qs->issue[q]), start, cyc, bfly_engine_cycles);
    if (opts && opts->insn_start) opts->insn_start[i] = start;
    if (opts && opts->insn_end) opts->insn_end[i] = end;
    queues_retire(qs, q, &in, start, end);
    if (t->ev && (st = trace_add(t, q, i, &in, start, end, err, errlen))) return st;
  }
  return FAB_OK;
}

/* Totals and utilisations once every instruction has retired. */
static void report_finish(fab_fpga_report *r, const fab_fpga_program *p, const queues *qs,
                          uint64_t bfly_engine_cycles) {
  const fab_fpga_config *c = &p->cfg;
  for (int q = 0; q < FAB_Q_COUNT; q++) r->total_cycles = max2(r->total_cycles, qs->retire[q]);
  r->latency_ms = (double)r->total_cycles / (c->clock_mhz * 1e3) / c->efficiency;
  if (r->total_cycles) {
    double sum = 0;
    for (int e = 0; e < c->p_be; e++) sum += (double)r->engine_busy[e];
    r->engine_util = sum / ((double)c->p_be * (double)r->total_cycles);
  }
  if (r->bfly_cycles) r->bu_util = (double)bfly_engine_cycles / ((double)c->p_be * (double)r->bfly_cycles);
  r->model_cycles = p->model_cycles;
}

/* What must hold before anything is allocated. */
static fab_status sim_check(const fab_fpga_program *p, const fab_fpga_config *accel, bool func, char *err,
                            size_t errlen) {
  char what[64];
  if (accel && !fab_fpga_config_equal(&p->cfg, accel, what, sizeof what))
    return fab_fpga_fail(err, errlen, FAB_E_VERSION,
                         "program was compiled for configuration '%s', the accelerator is '%s' (field '%s' differs)",
                         p->cfg.name, accel->name, what);
  fab_status st = fab_fpga_program_check(p, err, errlen);
  if (st) return st;
  if (func && p->mem_words > FAB_FPGA_SIM_MAX_MEM)
    return fab_fpga_fail(err, errlen, FAB_E_LIMIT, "program needs %llu off-chip words (simulator limit %llu)",
                         (unsigned long long)p->mem_words, (unsigned long long)FAB_FPGA_SIM_MAX_MEM);
  return FAB_OK;
}

/* Off-chip memory and the on-chip buffers (functional simulation only). */
static fab_status sim_alloc(simst *s, char *err, size_t errlen) {
  const fab_fpga_config *c = s->c;
  s->mem = calloc(s->mem_words ? s->mem_words : 1, sizeof(float));
  s->be = calloc((size_t)c->p_be * 2 * s->bank, sizeof(float));
  s->cb = calloc((size_t)c->cb_depth, sizeof(float));
  s->pb = calloc((size_t)fab_fpga_pb_words(c), sizeof(float));
  s->wbp = fab_fpga_insn_make(FAB_I_WBP);
  s->vm = calloc((size_t)c->vm_words, sizeof(float));
  s->tmp = calloc(8192, sizeof(float));
  s->amask = calloc(2, sizeof *s->amask);
  s->pmask = s->amask ? s->amask + 1 : NULL;
  if (!s->mem || !s->be || !s->cb || !s->pb || !s->vm || !s->tmp || !s->amask)
    return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  return FAB_OK;
}

static void sim_free(simst *s) {
  free(s->mem);
  free(s->be);
  free(s->cb);
  free(s->pb);
  free(s->vm);
  free(s->tmp);
  free(s->amask);
}

fab_status fab_fpga_sim_run_one(const fab_fpga_program *p, const fab_fpga_config *accel,
                            const fab_tensor_set *weights, const fab_tensor_set *inputs,
                            fab_tensor_set *outputs, const fab_fpga_sim_opts *opts,
                            fab_fpga_report *rep, char *err, size_t errlen) {
  bool func = !(opts && opts->timing_only);
  fab_status st = sim_check(p, accel, func, err, errlen);
  if (st) return st;
  fab_fpga_report local;
  fab_fpga_report *r = rep ? rep : &local;
  memset(r, 0, sizeof *r);
  const fab_fpga_config *c = &p->cfg;
  simst s = {.p = p, .c = c, .f16 = c->fp16 != 0, .mem_words = p->mem_words};
  s.bank = (uint64_t)fab_fpga_bank_words(c);
  queues qs = {0};
  trace t = {0};
  uint64_t bfly_engine_cycles = 0, *times = NULL;
  if (func && ((st = sim_alloc(&s, err, errlen)) || (st = bind(&s, weights, inputs, err, errlen)))) goto out;
  if ((st = queues_build(&qs, p, err, errlen))) goto out;
  if (opts && opts->trace_path) {
    t.cap = 2 * p->ninsn + 16;
    t.ev = malloc(t.cap * sizeof *t.ev);
    if (!t.ev) {
      st = fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory for the trace");
      goto out;
    }
  }
  r->p_be = c->p_be;
  /* every instruction's start and end, for the butterfly layers' figures */
  fab_fpga_sim_opts o = opts ? *opts : (fab_fpga_sim_opts){0};
  if (!o.insn_start || !o.insn_end) {
    times = malloc((2 * p->ninsn + 1) * sizeof *times);
    if (!times) {
      st = fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory for the instruction times");
      goto out;
    }
    o.insn_start = times;
    o.insn_end = times + p->ninsn;
  }
  if ((st = run_queues(&qs, &s, func, &o, r, &t, &bfly_engine_cycles, err, errlen))) goto out;
  report_finish(r, p, &qs, bfly_engine_cycles);
  fab_fpga_layers_measure(p, o.insn_start, o.insn_end, r);
  if (func && outputs && (st = unbind(&s, outputs, err, errlen))) goto out;
  if (func && opts && opts->mem_out) {
    *opts->mem_out = s.mem;
    s.mem = NULL;
  }
  if (t.ev && (st = fab_fpga_trace_write(opts->trace_path, p, t.ev, t.n, err, errlen))) goto out;
out:
  sim_free(&s);
  queues_free(&qs);
  free(t.ev);
  free(times);
  return st;
}

void fab_fpga_report_print(const fab_fpga_report *r, const fab_fpga_config *c, FILE *out) {
  fprintf(out, "accelerator %s (%s, %d x %d BUs, %s, %.0f MHz, efficiency %.2f)\n", c->name, c->device,
          c->p_be, c->p_bu, c->fp16 ? "fp16" : "fp32", c->clock_mhz, c->efficiency);
  if (r->samples > 1)
    fprintf(out, "samples           %llu, run one after another (batch: %llu cycles, %.6f ms); "
                 "the figures below are per sample\n",
            (unsigned long long)r->samples, (unsigned long long)r->batch_cycles, r->batch_latency_ms);
  fprintf(out, "total cycles      %llu\nlatency           %.6f ms\n", (unsigned long long)r->total_cycles,
          r->latency_ms);
  fprintf(out, "queue   insns        busy       stall   util\n");
  for (int q = 0; q < FAB_Q_COUNT; q++)
    fprintf(out, "%-5s %7llu %11llu %11llu  %5.1f%%\n", fab_fpga_queue_names[q], (unsigned long long)r->insns[q],
            (unsigned long long)r->busy[q], (unsigned long long)r->stall[q],
            r->total_cycles ? 100.0 * (double)r->busy[q] / (double)r->total_cycles : 0.0);
  fprintf(out, "ldc   (coefficient DMA channel) busy %llu\n", (unsigned long long)r->coef_busy);
  fprintf(out, "engines: mean utilisation %.1f%%", 100 * r->engine_util);
  int shown = r->p_be < 8 ? r->p_be : 8;
  for (int e = 0; e < shown; e++)
    fprintf(out, "%s be%d busy %llu stall %llu", e ? "," : " (", e, (unsigned long long)r->engine_busy[e],
            (unsigned long long)r->engine_stall[e]);
  fprintf(out, "%s)\n", r->p_be > shown ? ", ..." : "");
  fprintf(out, "butterfly layers: %llu cycles, BU utilisation %.1f%%, %llu butterflies\n",
          (unsigned long long)r->bfly_cycles, 100 * r->bu_util, (unsigned long long)r->butterflies);
  if (r->bl_layers)
    fprintf(out, "  over the layers %.1f%% (%llu layers, %llu cycles); roofline %.1f%%, bound by the engines' "
                 "waves of rows in %.0f%% of the span, by the store queue in %.0f%%, by the streams and serial "
                 "ports in the rest\n",
            100 * r->bl_util, (unsigned long long)r->bl_layers, (unsigned long long)r->bl_span,
            100 * r->bl_roofline, 100.0 * (double)r->bl_span_waves / (double)r->bl_span,
            100.0 * (double)r->bl_span_stq / (double)r->bl_span);
  fprintf(out, "off-chip bytes    input %llu  coefficients %llu  output %llu\n",
          (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_coef, (unsigned long long)r->bytes_out);
  if (r->model_cycles)
    fprintf(out, "authors' model    %llu cycles for the butterfly/FFT layers (%.6f ms; their simulator's "
                 "accounting: no pipeline drain, no post-processing; docs/fpga.md section 5)\n",
            (unsigned long long)r->model_cycles,
            (double)r->model_cycles / (c->clock_mhz * 1e3) / c->efficiency);
}
