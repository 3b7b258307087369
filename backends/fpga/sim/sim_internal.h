/* sim_internal.h — state shared by the simulator's files (not public). */
#ifndef FAB_FPGA_SIM_INTERNAL_H
#define FAB_FPGA_SIM_INTERNAL_H

#include "sim.h"

/* A unit's mask registers (amask / pmask): n flags (1 = keep), the causal
 * mode and its origin. */
typedef struct simmask {
  uint8_t flag[8192];
  uint64_t n, r0, c0;
  bool cz;
} simmask;

typedef struct simst {
  const fab_fpga_program *p;
  const fab_fpga_config *c;
  bool f16;
  float *mem;     /* off-chip words (i32 ids stored as their bit patterns) */
  uint64_t mem_words;
  float *be;      /* p_be engines x 2 banks x bank words */
  uint64_t bank;  /* words per bank */
  float *cb, *vm;
  float *pb;      /* write-back parameter buffer (fab_fpga_pb_words) */
  fab_fpga_insn wbp; /* the write-back registers: the last wbp executed */
  float *tmp;     /* 8192-word scratch (attention scores) */
  simmask *amask, *pmask; /* the attention processor's and the PPU's */
} simst;

static inline float *be_bank(simst *s, uint64_t e, uint64_t b) { return s->be + (e * 2 + b) * s->bank; }

/* Executes one (already range-checked) instruction's data movement and
 * arithmetic.  Fails only on data-dependent faults (gather ids). */
fab_status fab_fpga_sim_exec(simst *s, const fab_fpga_insn *in, size_t idx, char *err, size_t errlen);

/* One sample (sim_timing.c): fab_fpga_sim_run without a batch axis. */
fab_status fab_fpga_sim_run_one(const fab_fpga_program *p, const fab_fpga_config *accel,
                                const fab_tensor_set *weights, const fab_tensor_set *inputs,
                                fab_tensor_set *outputs, const fab_fpga_sim_opts *opts,
                                fab_fpga_report *rep, char *err, size_t errlen);

#endif
