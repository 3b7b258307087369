/* sim.h — the accelerator simulator: functional (bit-exact datapath in fp32
 * or fp16) and timing (cycle-level queues, engines, DMA bandwidths and
 * dependency tokens) in one run.
 *
 * Reads only .fbin programs and configurations (fbin.h) and host tensors
 * (fab_tensor.h): never the compiler or its IR.  Programs are untrusted:
 * fab_fpga_sim_run re-checks them, and run-time faults (token deadlock, an
 * embedding id outside its table, a configuration mismatch) return a
 * status with a message; nothing here exits or aborts.
 */
#ifndef FAB_FPGA_SIM_H
#define FAB_FPGA_SIM_H

#include "fbin.h"

#define FAB_FPGA_MAX_ENGINES 128
/* The simulator refuses programs needing more off-chip memory (words). */
#define FAB_FPGA_SIM_MAX_MEM ((uint64_t)1 << 26)

typedef struct fab_fpga_sim_opts {
  const char *trace_path; /* Chrome trace JSON (chrome://tracing, Perfetto); NULL: none */
  bool quiet;
  uint64_t max_cycles;    /* stop with FAB_E_LIMIT past this many cycles (0: no limit): a
                           * work budget for untrusted programs (fuzzing, services) */
  bool timing_only;       /* the same cycle model without arithmetic or data movement: no off-chip
                           * memory, weights and inputs are not needed (NULL ok), no outputs, no
                           * run-time data checks (gather ids); for large design sweeps */
  float **mem_out;        /* if not NULL (and not timing_only): receives the final off-chip memory
                           * (program->mem_words words, malloc'd; the caller frees it), for
                           * debugging with fab_fpga_codegen_opts.value_addr */
  uint64_t *insn_start, *insn_end; /* if not NULL: [ninsn] receive each instruction's start and
                                    * completion cycle */
  const struct fab_weight_map *weight_map; /* fab_fpga_sim_files_ex: renames, reshapes and unused
                                            * entries of the weights file (fab_weight_map.h) */
  bool report_ops;        /* fab_fpga_sim_files_ex: after the report, the per-op view
                           * (fab_fpga_ops_print; the program needs an op map) */
} fab_fpga_sim_opts;

typedef struct fab_fpga_report {
  uint64_t total_cycles;
  double latency_ms;                   /* cycles / clock / efficiency */
  uint64_t insns[FAB_Q_COUNT];
  uint64_t busy[FAB_Q_COUNT];          /* cycles each queue executed (ld: input channel) */
  uint64_t coef_busy;                  /* cycles of the load queue's coefficient channel */
  uint64_t stall[FAB_Q_COUNT];         /* cycles a queue had work but waited for a token */
  int p_be;
  uint64_t engine_busy[FAB_FPGA_MAX_ENGINES];
  uint64_t engine_stall[FAB_FPGA_MAX_ENGINES]; /* waiting for tokens or idle inside a BE instruction */
  double engine_util;                  /* mean engine busy / total */
  uint64_t bfly_cycles;                /* BE cycles in bfly/fft */
  double bu_util;                      /* butterfly units active during bfly/fft */
  uint64_t bytes_in, bytes_coef, bytes_out; /* off-chip traffic per stream */
  uint64_t model_cycles;               /* the authors' analytical model (from the .fbin) */
  uint64_t butterflies;                /* radix-2 butterflies executed (bfly and fft, all engines) */
  /* The butterfly layers (layers.c: runs of bfly/fft instructions of one
   * row length): their count, summed span, summed bound (max of the
   * engines' instruction time and the transfers, at most the span), the
   * span of the layers whose bound is the engines' instruction time, the
   * ideal compute (butterflies / (P_be P_bu)), utilisation = compute /
   * span, roofline = compute / bound (the most the bounds allow). */
  uint64_t bl_layers, bl_span, bl_bound, bl_span_waves, bl_span_stq;
  double bl_compute, bl_util, bl_roofline;
  /* A batch runs its samples one after another; every figure above is
   * one sample's (the first; the cycle model does not depend on the data) */
  uint64_t samples;                    /* 1 without a batch axis */
  uint64_t batch_cycles;               /* the sum of every sample's total_cycles */
  double batch_latency_ms;
} fab_fpga_report;

/* Runs `p`.  `accel` is the configuration of the accelerator present
 * (NULL: the program's own); a different one is refused (FAB_E_VERSION,
 * naming the field).  Weights are bound by state_dict name, inputs by
 * name; `outputs` (may be NULL) receives one F32 tensor per output (I32
 * for integer outputs).  `rep` (may be NULL) receives the timing report.
 * Inputs of shape [n, declared...] (the same n for all) run n samples one
 * after another (outputs get the leading axis n; the trace, mem_out and
 * insn_start/end describe sample 0). */
fab_status fab_fpga_sim_run(const fab_fpga_program *p, const fab_fpga_config *accel,
                            const fab_tensor_set *weights, const fab_tensor_set *inputs,
                            fab_tensor_set *outputs, const fab_fpga_sim_opts *opts,
                            fab_fpga_report *rep, char *err, size_t errlen);

/* Fills the bl_* figures of `r` from every instruction's start and end
 * cycle (layers.c). */
void fab_fpga_layers_measure(const fab_fpga_program *p, const uint64_t *start, const uint64_t *end,
                             fab_fpga_report *r);

/* The simulator on files (`fabc sim`, `fabc run --backend fpga`): reads
 * the .fbin, the accelerator configuration (NULL: the program's own),
 * weights and inputs (.safetensors or .npy; NULL: none; F16/BF16/F64 and
 * I64 converted), runs, writes the outputs (NULL: not written), a Chrome
 * trace (NULL: none) and the report (NULL: none). */
fab_status fab_fpga_sim_files(const char *fbin_path, const char *config_path, const char *weights_path,
                              const char *inputs_path, const char *outputs_path, const char *trace_path,
                              FILE *report, char *err, size_t errlen);
/* Same with options (`fabc sim --timing-only`: opts->timing_only; then no
 * weights or inputs are read and no outputs are written).  opts->trace_path
 * is overridden by trace_path when that is not NULL. */
fab_status fab_fpga_sim_files_ex(const char *fbin_path, const char *config_path, const char *weights_path,
                                 const char *inputs_path, const char *outputs_path, const char *trace_path,
                                 const fab_fpga_sim_opts *opts, FILE *report, char *err, size_t errlen);

/* Human-readable report: cycles, latency, per-queue and per-engine busy /
 * stall and utilisation, butterfly-unit utilisation, off-chip bytes, and
 * the authors' model for comparison. */
void fab_fpga_report_print(const fab_fpga_report *r, const fab_fpga_config *c, FILE *out);

/* The per-op view (ops.c, `fabc sim --ops`): per op of the program's op
 * map, its instructions' span, each queue's cycles on them, the engines'
 * and butterfly units' utilisation over the span, off-chip bytes.  start
 * and end: every instruction's (fab_fpga_sim_opts.insn_start / insn_end).
 * FAB_E_ARG if the program has no op map. */
fab_status fab_fpga_ops_print(const fab_fpga_program *p, const uint64_t *start, const uint64_t *end,
                              uint64_t total_cycles, FILE *out, char *err, size_t errlen);

/* ---- datapath primitives (sim_func.c), exposed for tests ---------------- */
/* Rounds to the nearest fp16 value (ties to even; overflow to inf). */
float fab_fpga_round_f16(float x);

/* ---- trace (trace.c) ------------------------------------------------------ */
typedef struct fab_fpga_event {
  int track;      /* 0..4 queues, 5 + e: engine e */
  uint32_t insn;
  uint64_t start, end;
} fab_fpga_event;
fab_status fab_fpga_trace_write(const char *path, const fab_fpga_program *p,
                                const fab_fpga_event *ev, size_t n, char *err, size_t errlen);

#endif /* FAB_FPGA_SIM_H */
