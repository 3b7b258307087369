/* codegen.h — lowered IR -> accelerator program, and the resource model.
 *
 * Part of fab_fpga (depends on the IR, fab_passes and fab_fpga_isa).  The
 * code generator takes a module in lowered form (every op FAB_OPF_LOW, the
 * output of the fpga target's pipeline,
 * backends/target_fpga.c), whose ops fpga-absorb marked
 * (fpga.fold: folded into their user) and fpga-alloc placed (plan.*), and
 * follows both (checked first: fab_fpga_plan_check).  It emits an
 * instruction stream over off-chip tensors: weights by state_dict name,
 * inputs, outputs and intermediates.  Whatever the accelerator cannot do
 * is a compile error naming the op (its location and kind).
 */
#ifndef FAB_FPGA_CODEGEN_H
#define FAB_FPGA_CODEGEN_H

#include "fbin.h"
#include "ir.h"

/* Returns a checked program (fab_fpga_program_check passed), or NULL
 * after reporting errors into d. */
fab_fpga_program *fab_fpga_codegen(const fab_module *m, const fab_fpga_config *cfg, fab_diag *d);

/* Options for debugging and experiments.  (To keep every intermediate
 * readable after a run, plan with `fpga-alloc(reuse=0)`.) */
typedef struct fab_fpga_codegen_opts {
  uint64_t *value_addr;  /* if not NULL: [nops of the entry function] receives the word address of
                          * each op's value (UINT64_MAX: not materialised, e.g. folded into its user) */
  int schedule;          /* instruction scheduling (codegen_sched.c): 0 when estimated faster than the
                          * emitted order (default), -1 never, 1 always (tests) */
  size_t *op_insn_lo, *op_insn_hi; /* if not NULL: [nops] the span [lo, hi) of the instructions each op
                                    * emitted, 0, 0 for none (scheduling interleaves ops: see insn_op) */
  int **insn_op;         /* if not NULL: receives a malloc'ed [ninsn] array, the op that emitted each
                          * instruction (caller frees; for per-layer timing with fab_fpga_sim_opts) */
  bool op_map;           /* attach the op map to the program (fbin.h; `--codegen op-map`) */
  size_t max_insns;      /* a program longer than this is an error (0: FAB_FBIN_MAX_INSNS, what a
                          * .fbin holds; lower in tests) */
} fab_fpga_codegen_opts;
fab_fpga_program *fab_fpga_codegen_ex(const fab_module *m, const fab_fpga_config *cfg,
                                      const fab_fpga_codegen_opts *o, fab_diag *d);

/* ---- resource model (resources.c; per-unit costs in docs/fpga.md) ---- */
typedef struct fab_fpga_res {
  const char *name;
  double lut, ff, dsp, bram36;
} fab_fpga_res;

#define FAB_FPGA_RES_MAX 8
typedef struct fab_fpga_resources {
  int n;
  fab_fpga_res part[FAB_FPGA_RES_MAX]; /* per component */
  fab_fpga_res total;
  fab_fpga_res limit;                  /* the device (0: unknown device) */
  bool fits;
} fab_fpga_resources;

void fab_fpga_resources_estimate(const fab_fpga_config *c, fab_fpga_resources *r);
void fab_fpga_resources_print(const fab_fpga_resources *r, const fab_fpga_config *c, FILE *out);

#endif /* FAB_FPGA_CODEGEN_H */
