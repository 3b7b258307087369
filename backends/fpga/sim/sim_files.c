/* sim_files.c — the simulator on files (what `fabc sim` and `fabc run
 * --backend fpga` call): .fbin, configuration, tensor files, report. */
#include "sim.h"
#include "fab_weight_map.h"

#include <stdlib.h>
#include <string.h>

/* Weights and inputs may come as F16 / BF16 / F64 (fp16 checkpoints) or
 * I64 token ids: convert to what the program binds (F32 / I32). */
static fab_status normalise(fab_tensor_set *s, char *err, size_t errlen) {
  for (int i = 0; s && i < s->count; i++) {
    fab_tensor *t = &s->items[i];
    fab_status st = FAB_OK;
    if (t->dtype == FAB_DT_F16 || t->dtype == FAB_DT_BF16 || t->dtype == FAB_DT_F64)
      st = fab_tensor_convert(t, FAB_DT_F32, err, errlen);
    else if (t->dtype == FAB_DT_I64)
      st = fab_tensor_convert(t, FAB_DT_I32, err, errlen);
    if (st) return st;
  }
  return FAB_OK;
}

fab_status fab_fpga_sim_files(const char *fbin_path, const char *config_path, const char *weights_path,
                              const char *inputs_path, const char *outputs_path, const char *trace_path,
                              FILE *report, char *err, size_t errlen) {
  return fab_fpga_sim_files_ex(fbin_path, config_path, weights_path, inputs_path, outputs_path, trace_path, NULL,
                               report, err, errlen);
}

/* The first problem the weight map reports, as the call's message. */
static void first_problem(void *ctx, int param, fab_status st, const char *msg) {
  (void)param;
  (void)st;
  char **first = ctx;
  if (!*first) *first = strdup(msg);
}

/* Renames, reshapes and drops entries of `ws` for the program's weights. */
static fab_status map_weights(const fab_fpga_program *p, const fab_weight_map *map, fab_tensor_set *ws,
                              char *err, size_t errlen) {
  fab_wmap_param *params = calloc((size_t)p->ntensors + 1, sizeof *params);
  if (!params) {
    snprintf(err, errlen, "out of memory");
    return FAB_E_NOMEM;
  }
  int n = 0;
  for (int i = 0; i < p->ntensors; i++)
    if (p->tensors[i].kind == FAB_FT_WEIGHT)
      params[n++] = (fab_wmap_param){p->tensors[i].name, p->tensors[i].rank, p->tensors[i].dims};
  char *first = NULL;
  fab_status st = fab_wmap_apply(map, ws, params, n, 0, NULL, first_problem, &first, err, errlen);
  if (st != FAB_OK && first) snprintf(err, errlen, "%s", first);
  free(first);
  free(params);
  return st;
}

fab_status fab_fpga_sim_files_ex(const char *fbin_path, const char *config_path, const char *weights_path,
                                 const char *inputs_path, const char *outputs_path, const char *trace_path,
                                 const fab_fpga_sim_opts *opts, FILE *report, char *err, size_t errlen) {
  bool timing = opts && opts->timing_only;
  if (timing) weights_path = inputs_path = outputs_path = NULL;
  fab_fpga_program *p = NULL;
  fab_tensor_set *ws = NULL, *is = NULL, *os = NULL;
  uint64_t *times = NULL;
  fab_fpga_config accel;
  fab_status st = fab_fpga_fbin_read(fbin_path, &p, err, errlen);
  if (st) return st;
  if (config_path && (st = fab_fpga_config_load(config_path, &accel, err, errlen))) goto out;
  if (weights_path && (st = fab_tensors_load(weights_path, &ws, err, errlen))) goto out;
  if (inputs_path && (st = fab_tensors_load(inputs_path, &is, err, errlen))) goto out;
  if (ws && opts && opts->weight_map && (st = map_weights(p, opts->weight_map, ws, err, errlen))) goto out;
  if ((st = normalise(ws, err, errlen)) || (st = normalise(is, err, errlen))) goto out;
  os = fab_tset_new();
  if (!os) {
    st = FAB_E_NOMEM;
    goto out;
  }
  fab_fpga_sim_opts o = {0};
  if (opts) o = *opts;
  o.mem_out = NULL;
  o.insn_start = o.insn_end = NULL;
  if (trace_path) o.trace_path = trace_path;
  if (o.report_ops) { /* checked before the run: a long simulation would be wasted */
    if (!p->insn_op && (st = fab_fpga_ops_print(p, NULL, NULL, 0, NULL, err, errlen))) goto out;
    if (!(times = malloc((2 * p->ninsn + 1) * sizeof *times))) {
      st = fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
      goto out;
    }
    o.insn_start = times;
    o.insn_end = times + p->ninsn;
  }
  fab_fpga_report rep;
  if ((st = fab_fpga_sim_run(p, config_path ? &accel : NULL, ws, is, os, &o, &rep, err, errlen))) goto out;
  if (report) fab_fpga_report_print(&rep, &p->cfg, report);
  if (report && o.report_ops &&
      (st = fab_fpga_ops_print(p, o.insn_start, o.insn_end, rep.total_cycles, report, err, errlen)))
    goto out;
  if (outputs_path) st = fab_tensors_save(outputs_path, os, err, errlen);
out:
  free(times);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(os);
  fab_fpga_program_free(p);
  return st;
}
