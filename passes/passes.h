/* passes.h — the pass manager and the IR-to-IR passes of fabc.
 *
 * A pipeline is a string of pass names with optional options, run in
 * order over every function of a module:
 *
 *   canonicalize,lower-bfly,lower-fourier,lower-mha,fuse-stages(k=3),
 *   fuse-elementwise,tile(buffer=4096),memplan
 *
 * Every pass is registered once (passes/manager.c) with its contract: the
 * IR properties it requires (checked by the manager before it runs) and
 * those it establishes (checked after it when verify_each is on).
 *
 * Passes rewrite a function by building a new op array in the module's
 * arena and swapping it in; nothing is freed per node.  Errors (a bad
 * pipeline string, a contract violation, IR a pass cannot handle) are
 * reported through fab_diag and make fab_run_pipeline return false; the
 * module is then left valid but possibly partially transformed.
 *
 * Annotations a pass adds outside an op's schema use `plan.*` keys (the
 * memory plan) or `hint.*` keys (tiling decisions); interpreters ignore
 * them, backends may use them.
 */
#ifndef FAB_PASSES_H
#define FAB_PASSES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

/* The cost model a target supplies (backends/target.h fills it from the
 * machine or the accelerator configuration). */
typedef struct fab_target_info {
  const char *name;          /* "cpu", "fpga", "generic" */
  int vector_lanes;          /* f32 lanes per SIMD register (cpu: 16 with AVX-512) */
  int vector_registers;      /* 32 with AVX-512 */
  int64_t fast_memory_bytes; /* cpu: L2 per core; fpga: engine buffer bytes */
  int max_fused_stages;      /* upper bound for radix-2^k fusion */
  int64_t max_vector_length; /* fpga: longest butterfly the engine takes; 0 = unlimited */
  int engines;               /* fpga: butterfly engines (0 = no board given) */
  int post_lanes;            /* fpga: the post-processing unit's lanes (0 = no board given) */
  int wb_share;              /* fpga: engines per write-back lane (0 = no board given: 2) */
} fab_target_info;

/* The cost model of no particular machine (`fabc opt` without --target). */
const fab_target_info *fab_generic_target(void);

typedef struct fab_pass_options {
  const fab_target_info *target; /* NULL: fab_generic_target() */
  const char *print_before;      /* pass name, comma list, or "all" */
  const char *print_after;
  const char *stop_after;        /* stop after the first run of this pass */
  bool verify_each;              /* fab_verify + contract check after every pass */
  bool time_passes;              /* print a timing table at the end */
  FILE *print_out;               /* where --print-* and --time-passes go (stderr if NULL) */
  const char *reproducer_dir;    /* on failure write <dir>/fabc-repro.fir + .pipeline */
} fab_pass_options;

/* Parses `pipeline` (all of it, before running anything: an unknown pass
 * or option is an error listing the valid ones) and runs it on m.
 * opt may be NULL (generic target, no printing, no verification). */
bool fab_run_pipeline(fab_module *m, const char *pipeline, const fab_pass_options *opt,
                      fab_diag *d);

/* Only parses and checks a pipeline string. */
bool fab_pipeline_check(const char *pipeline, fab_diag *d);

typedef struct fab_pass_info {
  const char *name;        /* "lower-bfly" */
  const char *summary;     /* one line */
  const char *requires;    /* comma list of IR properties, "" if none */
  const char *establishes; /* comma list of IR properties */
  const char *options;     /* "k=<int>: ...; ..." or "" */
} fab_pass_info;

int fab_pass_count(void);
const fab_pass_info *fab_pass_get(int i); /* NULL if out of range */
const fab_pass_info *fab_pass_find(const char *name);

/* The IR properties a contract may name:
 *   no-bfly-linear, no-fourier-mix, no-mha  (the high-level op is gone)
 *   lowered     every op is FAB_OPF_LOW
 *   planned     every planned value carries plan.offset / plan.size
 * Returns false and names the first offending op in `why` if m lacks it. */
bool fab_ir_has_property(const fab_module *m, const char *property, char *why, size_t whylen);

/* The memory plan written by `memplan`: peak bytes of the planned arena
 * and the sum of all planned values' sizes (one buffer each).  False if
 * no function of m carries a plan. */
bool fab_memplan_stats(const fab_module *m, int64_t *planned, int64_t *unplanned);

/* The memory plan's per-value bytes for a type (64-byte rounded). */
int64_t fab_memplan_value_bytes(const fab_type *t);

/* ---- the fpga target's passes (fpga-absorb, fpga-alloc; docs/fpga.md) ---- */

/* Row-wise ops one post-processing pass of the accelerator runs. */
#define FAB_FPGA_MAX_CHAIN 4
/* The largest odd radix the engines' fftq and digit-reversing loads take
 * (FAB_FPGA_MAX_RADIX in backends/fpga/fbin.h; codegen_fft.c checks they
 * agree): fpga-absorb folds such bit reversals, lower-fourier(max-radix)
 * keeps lengths with larger primes as dft. */
#define FAB_FPGA_ENGINE_RADIX 15
/* The widest padding (words per row) the code generator zeroes itself (a
 * PPU row); a wider pad needs a fresh, zeroed region from fpga-alloc. */
#define FAB_FPGA_FILL_MAX 4096
/* fpga-absorb marked op folded into its single user (fpga.fold = 1). */
bool fab_fpga_folded(const fab_op *op);
/* fpga-absorb marked op whose value the engines' write-back produces: the
 * end of a write-back chain from a bfly.stages (fpga.wb = 1). */
bool fab_fpga_wb_end(const fab_op *op);
/* A softmax with a mask operand or causal = 1 (its own tiles on the PPU). */
bool fab_fpga_masked_softmax(const fab_op *op);
/* The operand slot through which value v enters the chain at its user u
 * (x, or either side of add / mul / add.layernorm), -1 if none. */
int fab_fpga_chain_pos(const fab_op *u, int v);
/* What the fpga code generator relies on, checked: every fpga.fold mark is
 * one it can honour, every value it materialises carries a plan
 * (plan.offset, plan.size; a dft's plan.table and, split, plan.scratch)
 * and no two regions live at the same time overlap.  Reports the first
 * problem at its op and returns false. */
bool fab_fpga_plan_check(const fab_func *f, fab_diag *d);

#endif /* FAB_PASSES_H */
