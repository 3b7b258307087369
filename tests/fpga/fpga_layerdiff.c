/* fpga_layerdiff — a debugging tool (not a test): runs a lowered module
 * on the simulator with every intermediate kept (fpga-alloc(reuse=0)) and on
 * the reference interpreter, and prints the error of every op's value
 * relative to the value's largest magnitude, so the op where an fp16
 * error appears can be found.
 *
 *   fpga_layerdiff LOWERED.fir CONFIG.json WEIGHTS INPUTS [--all]
 *
 * LOWERED.fir: `fabc emit --ir --target fpga model.fab -o low.fir`;
 * WEIGHTS / INPUTS: `fabc init model.fab -o w.safetensors --inputs x.safetensors`. */
#include "codegen.h"
#include "passes.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "golden_case.h"
#include "interp.h"

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s LOWERED.fir CONFIG.json WEIGHTS INPUTS [--all]\n", argv[0]);
    return 2;
  }
  bool all = argc > 5 && !strcmp(argv[5], "--all");
  char err[512];
  fab_fpga_config c;
  if (fab_fpga_config_load(argv[2], &c, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  size_t n;
  char *text = golden_read_text(argv[1], &n);
  if (!text) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module(argv[1], text, n, d);
  free(text);
  fab_tensor_set *ws = NULL, *is = NULL, *ro = fab_tset_new(), *vals = fab_tset_new(), *so = fab_tset_new();
  if (!m || fab_tensors_load(argv[3], &ws, err, sizeof err) || fab_tensors_load(argv[4], &is, err, sizeof err)) {
    fab_diag_print(d, stderr);
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if (!fab_interp_run_all(m, ws, is, ro, vals, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  /* every intermediate stays readable after the run: a plan without reuse */
  if (!fab_run_pipeline(m, "fpga-absorb,fpga-alloc(reuse=0)", NULL, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  const fab_func *f = fab_module_main(m);
  uint64_t *va = calloc((size_t)f->nops + 1, sizeof *va);
  fab_fpga_codegen_opts co = {.value_addr = va};
  fab_fpga_program *p = fab_fpga_codegen_ex(m, &c, &co, d);
  if (!p) {
    fab_diag_print(d, stderr);
    return 1;
  }
  float *mem = NULL;
  fab_fpga_sim_opts so_ = {.mem_out = &mem};
  fab_fpga_report rep;
  if (fab_fpga_sim_run(p, &c, ws, is, so, &so_, &rep, err, sizeof err)) {
    fprintf(stderr, "sim: %s\n", err);
    return 1;
  }
  printf("%5s %-16s %-22s %12s %12s %10s %8s\n", "op", "kind", "type", "max|ref|", "max|err|", "rel", "nonfin");
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (va[i] == UINT64_MAX || op->type.dtype == FAB_I32 || op->code == FAB_OP_WEIGHT || op->code == FAB_OP_INPUT)
      continue;
    char nm[32];
    snprintf(nm, sizeof nm, "%%%d", i);
    const fab_tensor *t = fab_tset_find(vals, nm);
    if (!t || t->dtype != FAB_DT_F32) continue;
    int64_t cnt = fab_tensor_numel(t);
    const float *r = t->data;
    double mx = 0, e = 0;
    int64_t bad = 0;
    for (int64_t k = 0; k < cnt; k++) {
      float y = mem[va[i] + (uint64_t)k];
      if (!isfinite(y)) {
        bad++;
        continue;
      }
      mx = fmax(mx, fabs(r[k]));
      e = fmax(e, fabs((double)r[k] - y));
    }
    char ts[64];
    int o = snprintf(ts, sizeof ts, "%s[", op->type.dtype == FAB_C64 ? "c64" : "f32");
    for (int k = 0; k < op->type.rank && o < 50; k++)
      o += snprintf(ts + o, sizeof ts - (size_t)o, "%s%lld", k ? "," : "", (long long)op->type.dims[k]);
    snprintf(ts + o, sizeof ts - (size_t)o, "]");
    if (all || op->code != FAB_OP_RESHAPE)
      printf("%5d %-16s %-22s %12.5g %12.5g %10.3e %8lld\n", i, fab_opinfos[op->code].name, ts, mx, e,
             mx > 0 ? e / mx : e, (long long)bad);
  }
  free(mem);
  free(va);
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(ro);
  fab_tset_free(vals);
  fab_tset_free(so);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}
