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
  if (in->op == FAB_I_ST) r->bytes_out += bytes;
  else if (in->op == FAB_I_LD && in->f[FAB_F_DMA_BUF] == FAB_BUF_CB) r->bytes_coef += bytes;
  else if (in->op == FAB_I_LD || in->op == FAB_I_GATHER || in->op == FAB_I_AMASK || in->op == FAB_I_PMASK)
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

fab_status fab_fpga_sim_run_one(const fab_fpga_program *p, const fab_fpga_config *accel,
                            const fab_tensor_set *weights, const fab_tensor_set *inputs,
                            fab_tensor_set *outputs, const fab_fpga_sim_opts *opts,
                            fab_fpga_report *rep, char *err, size_t errlen) {
  char what[64];
  if (accel && !fab_fpga_config_equal(&p->cfg, accel, what, sizeof what))
    return fab_fpga_fail(err, errlen, FAB_E_VERSION,
                 "program was compiled for configuration '%s', the accelerator is '%s' (field '%s' differs)",
                 p->cfg.name, accel->name, what);
  fab_status st = fab_fpga_program_check(p, err, errlen);
  if (st) return st;
  if (!(opts && opts->timing_only) && p->mem_words > FAB_FPGA_SIM_MAX_MEM)
    return fab_fpga_fail(err, errlen, FAB_E_LIMIT, "program needs %llu off-chip words (simulator limit %llu)",
                 (unsigned long long)p->mem_words, (unsigned long long)FAB_FPGA_SIM_MAX_MEM);
  fab_fpga_report local;
  fab_fpga_report *r = rep ? rep : &local;
  memset(r, 0, sizeof *r);
  const fab_fpga_config *c = &p->cfg;
  simst s = {.p = p, .c = c, .f16 = c->fp16 != 0, .mem_words = p->mem_words};
  bool func = !(opts && opts->timing_only);
  s.bank = (uint64_t)fab_fpga_bank_words(c);
  if (func) {
    s.mem = calloc(p->mem_words ? p->mem_words : 1, sizeof(float));
    s.be = calloc((size_t)c->p_be * 2 * s.bank, sizeof(float));
    s.cb = calloc((size_t)c->cb_depth, sizeof(float));
    s.vm = calloc((size_t)c->vm_words, sizeof(float));
    s.tmp = calloc(8192, sizeof(float));
    s.amask = calloc(2, sizeof *s.amask);
    s.pmask = s.amask ? s.amask + 1 : NULL;
  }
  size_t n = p->ninsn;
  /* decoded instructions are kept only at the queue heads (a program may
   * hold millions of words) */
  fab_fpga_insn *heads = calloc(FAB_Q_COUNT, sizeof *heads), tmp;
  size_t *qlist[FAB_Q_COUNT] = {0}, qn[FAB_Q_COUNT] = {0}, qh[FAB_Q_COUNT] = {0};
  chan ch[FAB_Q_COUNT][FAB_Q_COUNT];
  memset(ch, 0, sizeof ch);
  fab_fpga_event *ev = NULL;
  size_t nev = 0, evcap = 0;
  if ((func && (!s.mem || !s.be || !s.cb || !s.vm || !s.tmp || !s.amask)) || !heads) {
    st = fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    goto out;
  }
  if (func && (st = bind(&s, weights, inputs, err, errlen))) goto out;
  /* decode, distribute to queues, size the token FIFOs */
  size_t npush[FAB_Q_COUNT][FAB_Q_COUNT] = {{0}};
  for (size_t i = 0; i < n; i++) {
    char m[128];
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &tmp, m, sizeof m)) {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "instruction %zu: %s", i, m);
      goto out;
    }
    int q = fab_fpga_ops[tmp.op].queue;
    qn[q]++;
    for (int d = 0; d < FAB_Q_COUNT; d++)
      if (tmp.sig & (1u << d)) npush[q][d]++;
  }
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    qlist[q] = malloc((qn[q] ? qn[q] : 1) * sizeof(size_t));
    if (!qlist[q]) {
      st = FAB_E_NOMEM;
      goto out;
    }
    qn[q] = 0;
    for (int d = 0; d < FAB_Q_COUNT; d++) {
      ch[q][d].t = malloc((npush[q][d] ? npush[q][d] : 1) * sizeof(uint64_t));
      if (!ch[q][d].t) {
        st = FAB_E_NOMEM;
        goto out;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &tmp, NULL, 0);
    int q = fab_fpga_ops[tmp.op].queue;
    qlist[q][qn[q]++] = i;
  }
  for (int q = 0; q < FAB_Q_COUNT; q++)
    if (qn[q]) fab_fpga_decode(p->code + qlist[q][0] * FAB_FPGA_INSN_BYTES, &heads[q], NULL, 0);
  if (opts && opts->trace_path) {
    evcap = 2 * n + 16;
    ev = malloc(evcap * sizeof *ev);
    if (!ev) {
      st = FAB_E_NOMEM;
      goto out;
    }
  }
  /* Each queue issues in program order.  The load queue drives two DMA
   * channels (input stream and coefficient stream, as the authors' design
   * has separate ports), so a coefficient load overlaps an input load; a
   * token is pushed when its instruction and every earlier one of the
   * queue have completed (in-order retirement), which keeps "waited for
   * the latest producer" implying "waited for every earlier one". */
  uint64_t chfree[FAB_Q_COUNT][2] = {{0}}, qissue[FAB_Q_COUNT] = {0}, retire[FAB_Q_COUNT] = {0};
  r->p_be = c->p_be;
  uint64_t bfly_engine_cycles = 0;
  for (size_t done = 0; done < n; done++) {
    int best = -1;
    uint64_t bstart = 0;
    for (int q = 0; q < FAB_Q_COUNT; q++) {
      if (qh[q] == qn[q]) continue;
      const fab_fpga_insn *in = &heads[q];
      int chn = q == FAB_Q_LD && in->op == FAB_I_LD && in->f[FAB_F_DMA_BUF] == FAB_BUF_CB;
      uint64_t start = max2(chfree[q][chn], qissue[q]);
      bool ready = true;
      for (int src = 0; src < FAB_Q_COUNT && ready; src++)
        if (in->wait & (1u << src)) {
          chan *k = &ch[src][q];
          if (k->head == k->tail) ready = false;
          else start = max2(start, k->t[k->head]);
        }
      if (ready && (best < 0 || start < bstart)) {
        best = q;
        bstart = start;
      }
    }
    if (best < 0) {
      /* every queue with work waits for a token nobody will push */
      char msg[512];
      size_t k = 0;
      for (int q = 0; q < FAB_Q_COUNT; q++) {
        if (qh[q] == qn[q]) continue;
        size_t i = qlist[q][qh[q]];
        int w = snprintf(msg + k, sizeof msg - k, "%s%s waits at instruction %zu (%s)", k ? "; " : "",
                         fab_fpga_queue_names[q], i, fab_fpga_ops[heads[q].op].mnemonic);
        if (w > 0 && (size_t)w < sizeof msg - k) k += (size_t)w;
      }
      st = fab_fpga_fail(err, errlen, FAB_E_RUNTIME, "token deadlock after %zu of %zu instructions: %s", done, n, msg);
      goto out;
    }
    size_t i = qlist[best][qh[best]++];
    fab_fpga_insn cur = heads[best];
    const fab_fpga_insn *in = &cur;
    if (qh[best] < qn[best])
      fab_fpga_decode(p->code + qlist[best][qh[best]] * FAB_FPGA_INSN_BYTES, &heads[best], NULL, 0);
    for (int src = 0; src < FAB_Q_COUNT; src++)
      if (in->wait & (1u << src)) ch[src][best].head++;
    uint64_t cyc = cost(c, in, r), end = bstart + cyc, done = end;
    if (opts && opts->max_cycles && end > opts->max_cycles) {
      st = fab_fpga_fail(err, errlen, FAB_E_LIMIT, "simulation budget of %llu cycles exceeded at instruction %zu",
                 (unsigned long long)opts->max_cycles, i);
      goto out;
    }
    if (func && (st = fab_fpga_sim_exec(&s, in, i, err, errlen))) goto out;
    int chn = best == FAB_Q_LD && in->op == FAB_I_LD && in->f[FAB_F_DMA_BUF] == FAB_BUF_CB;
    uint64_t ready = max2(chfree[best][chn], qissue[best]);
    r->stall[best] += bstart - ready;
    if (chn) r->coef_busy += cyc;
    if (!chn) r->busy[best] += cyc;
    r->insns[best]++;
    if (best == FAB_Q_BE) {
      uint64_t ne = in->f[FAB_F_BE_NE];
      for (uint64_t e = 0; e < (uint64_t)c->p_be; e++) {
        if (e < ne) r->engine_busy[e] += cyc;
        else r->engine_stall[e] += cyc;
        r->engine_stall[e] += bstart - ready;
      }
      if (in->op != FAB_I_ZERO) {
        r->bfly_cycles += cyc;
        bfly_engine_cycles += cyc * ne;
        r->butterflies += ne * in->f[FAB_F_BE_NROWS] * ((1ull << in->f[FAB_F_BE_LOGN]) / 2) * in->f[FAB_F_BE_NST];
      }
    }
    if (opts && opts->insn_start) opts->insn_start[i] = bstart;
    if (opts && opts->insn_end) opts->insn_end[i] = end;
    chfree[best][chn] = end;
    qissue[best] = bstart;
    retire[best] = max2(retire[best], end);
    end = retire[best]; /* token time */
    for (int d = 0; d < FAB_Q_COUNT; d++)
      if (in->sig & (1u << d)) {
        chan *k = &ch[best][d];
        k->t[k->tail++] = end;
      }
    if (ev) {
      /* one event on the queue's track, and one per engine used */
      size_t need = nev + 1 + (best == FAB_Q_BE ? (size_t)in->f[FAB_F_BE_NE] : 0);
      if (need > evcap) {
        size_t cap = evcap * 2 > need ? evcap * 2 : need;
        fab_fpga_event *q = realloc(ev, cap * sizeof *ev);
        if (!q) {
          st = fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory for the trace");
          goto out;
        }
        ev = q;
        evcap = cap;
      }
      ev[nev++] = (fab_fpga_event){best, (uint32_t)i, bstart, done};
      if (best == FAB_Q_BE)
        for (uint64_t e = 0; e < in->f[FAB_F_BE_NE]; e++)
          ev[nev++] = (fab_fpga_event){5 + (int)e, (uint32_t)i, bstart, done};
    }
  }
  for (int q = 0; q < FAB_Q_COUNT; q++) r->total_cycles = max2(r->total_cycles, retire[q]);
  r->latency_ms = (double)r->total_cycles / (c->clock_mhz * 1e3) / c->efficiency;
  if (r->total_cycles) {
    double sum = 0;
    for (int e = 0; e < c->p_be; e++) sum += (double)r->engine_busy[e];
    r->engine_util = sum / ((double)c->p_be * (double)r->total_cycles);
  }
  if (r->bfly_cycles) r->bu_util = (double)bfly_engine_cycles / ((double)c->p_be * (double)r->bfly_cycles);
  r->model_cycles = p->model_cycles;
  if (func && outputs && (st = unbind(&s, outputs, err, errlen))) goto out;
  if (func && opts && opts->mem_out) {
    *opts->mem_out = s.mem;
    s.mem = NULL;
  }
  if (ev && (st = fab_fpga_trace_write(opts->trace_path, p, ev, nev, err, errlen))) goto out;
out:
  free(s.mem);
  free(s.be);
  free(s.cb);
  free(s.vm);
  free(s.tmp);
  free(s.amask);
  free(heads);
  free(ev);
  for (int q = 0; q < FAB_Q_COUNT; q++) {
    free(qlist[q]);
    for (int d = 0; d < FAB_Q_COUNT; d++) free(ch[q][d].t);
  }
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
  fprintf(out, "off-chip bytes    input %llu  coefficients %llu  output %llu\n",
          (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_coef, (unsigned long long)r->bytes_out);
  if (r->model_cycles)
    fprintf(out, "authors' model    %llu cycles for the butterfly/FFT layers (%.6f ms)\n",
            (unsigned long long)r->model_cycles,
            (double)r->model_cycles / (c->clock_mhz * 1e3) / c->efficiency);
}
