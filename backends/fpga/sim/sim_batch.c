/* sim_batch.c — fab_fpga_sim_run: one sample, or a batch of samples run
 * one after another (the accelerator runs one sample per program run). */
#include "sim_internal.h"

#include <stdio.h>
#include <string.h>

/* The sample count of the inputs (0: no batch axis). */
static fab_status input_batch(const fab_fpga_program *p, const fab_tensor_set *inputs, int64_t *n,
                              char *err, size_t errlen) {
  fab_batch b = FAB_BATCH_INIT;
  for (int i = 0; inputs && i < p->ntensors; i++) {
    const fab_fpga_tensor *t = &p->tensors[i];
    if (t->kind != FAB_FT_INPUT || !t->name || t->rank < 0 || t->rank > FAB_TENSOR_MAX_RANK)
      continue; /* the program check reports these */
    const fab_tensor *x = fab_tset_find(inputs, t->name);
    fab_status st = x ? fab_batch_add(&b, x, t->rank, t->dims, err, errlen) : FAB_OK;
    if (st) return st;
  }
  *n = b.n > 0 ? b.n : 0;
  return FAB_OK;
}

static void note_sample(int64_t i, char *err, size_t errlen) {
  if (!err || !errlen) return;
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", err);
  snprintf(err, errlen, "sample %lld: %s", (long long)i, tmp);
}

fab_status fab_fpga_sim_run(const fab_fpga_program *p, const fab_fpga_config *accel,
                            const fab_tensor_set *weights, const fab_tensor_set *inputs,
                            fab_tensor_set *outputs, const fab_fpga_sim_opts *opts,
                            fab_fpga_report *rep, char *err, size_t errlen) {
  int64_t n = 0;
  bool timing = opts && opts->timing_only;
  fab_status st = timing || !p ? FAB_OK : input_batch(p, inputs, &n, err, errlen);
  if (st) return st;
  fab_fpga_report local;
  fab_fpga_report *r = rep ? rep : &local;
  if (n == 0) {
    st = fab_fpga_sim_run_one(p, accel, weights, inputs, outputs, opts, r, err, errlen);
    r->samples = 1;
    r->batch_cycles = r->total_cycles;
    r->batch_latency_ms = r->latency_ms;
    return st;
  }
  fab_tensor_set *in1 = fab_tset_new(), *out1 = fab_tset_new();
  if (!in1 || !out1) st = FAB_E_NOMEM;
  fab_fpga_sim_opts later = opts ? *opts : (fab_fpga_sim_opts){0};
  later.trace_path = NULL;
  later.mem_out = NULL;
  later.insn_start = later.insn_end = NULL;
  uint64_t cycles = 0;
  double ms = 0;
  for (int64_t i = 0; i < n && !st; i++) {
    fab_fpga_report ri;
    if ((st = fab_tset_get_sample(inputs, i, in1, err, errlen))) break;
    st = fab_fpga_sim_run_one(p, accel, weights, in1, out1, i ? &later : opts, i ? &ri : r, err, errlen);
    if (st) {
      /* Only a run-time error (a token id) depends on the sample; a
       * missing or misshaped weight is the same for all. */
      if (st == FAB_E_RUNTIME) note_sample(i, err, errlen);
      break;
    }
    cycles += i ? ri.total_cycles : r->total_cycles;
    ms += i ? ri.latency_ms : r->latency_ms;
    if (outputs) st = fab_tset_put_sample(outputs, n, i, out1, err, errlen);
  }
  r->samples = (uint64_t)n;
  r->batch_cycles = cycles;
  r->batch_latency_ms = ms;
  fab_tset_free(in1);
  fab_tset_free(out1);
  return st;
}
