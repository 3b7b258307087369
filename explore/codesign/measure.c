/* measure.c — latency measured by the real tools: the accelerator
 * simulator (codegen + cycle simulation) and the CPU backend's JIT.  Each
 * lowers a private copy of the module (the pipelines rewrite in place). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codesign.h"
#include "interp.h"
#include "passes.h"
#include "target.h"
#ifdef FAB_CD_HAVE_SIM
#include "codegen.h"
#include "sim.h"
#endif
#ifdef FAB_CD_HAVE_CPU
#include "cpu.h"
#endif

/* accel: the accelerator for the fpga target's cost model (NULL for cpu). */
static fab_module *lowered_copy(const fab_module *m, const char *target, const fab_fpga_config *accel, fab_diag *d) {
  char *text = fab_print_module_str(m, 0);
  if (!text) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return NULL;
  }
  fab_module *c = fab_parse_module("codesign.fir", text, strlen(text), d);
  free(text);
  if (!c) return NULL;
  fab_target_config cfg = {.accel_config = accel};
  if (!fab_target_lower(fab_target_find(target), &cfg, c, NULL, NULL, d)) {
    fab_module_free(c);
    return NULL;
  }
  return c;
}

bool fab_cd_have_sim(void) {
#ifdef FAB_CD_HAVE_SIM
  return true;
#else
  return false;
#endif
}

bool fab_cd_have_cpu(void) {
#ifdef FAB_CD_HAVE_CPU
  return true;
#else
  return false;
#endif
}

bool fab_cd_sim_latency(const fab_module *m, const fab_fpga_config *c, uint64_t *cycles,
                        double *ms, fab_diag *d) {
#ifdef FAB_CD_HAVE_SIM
  fab_module *low = lowered_copy(m, "fpga", c, d);
  if (!low) return false;
  bool ok = false;
  fab_fpga_program *prog = fab_fpga_codegen(low, c, d);
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new();
  if (prog && (!w || !in)) fab_error(d, (fab_loc){0}, "simulator: out of memory");
  if (prog && w && in && fab_bind_init_weights(m, 1, w, d) && fab_bind_init_inputs(m, 1, in, d)) {
    fab_fpga_sim_opts so = {.trace_path = NULL, .quiet = true};
    fab_fpga_report rep;
    char err[256];
    if (fab_fpga_sim_run(prog, NULL, w, in, NULL, &so, &rep, err, sizeof err) == FAB_OK) {
      *cycles = rep.total_cycles;
      *ms = rep.latency_ms;
      ok = true;
    } else {
      fab_error(d, (fab_loc){0}, "simulator: %s", err);
    }
  }
  fab_tset_free(w);
  fab_tset_free(in);
  fab_fpga_program_free(prog);
  fab_module_free(low);
  return ok;
#else
  (void)m, (void)c, (void)cycles, (void)ms;
  fab_error(d, (fab_loc){0}, "the accelerator simulator (fab_fpga_sim) is not built");
  return false;
#endif
}

#ifdef FAB_CD_HAVE_CPU
static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
#endif

bool fab_cd_cpu_latency(const fab_module *m, int threads, int warmup, int repeats,
                        double *median_ms, double *times_ms, fab_diag *d) {
#ifdef FAB_CD_HAVE_CPU
  if (repeats < 1) repeats = 1;
  fab_module *low = lowered_copy(m, "cpu", NULL, d);
  if (!low) return false;
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.threads = threads;
  bool ok = false;
  fab_cpu_jit *j = fab_cpu_jit_compile(low, &o, d);
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new();
  double *t = calloc((size_t)repeats, sizeof *t);
  if (j && w && in && t && fab_bind_init_weights(m, 1, w, d) && fab_bind_init_inputs(m, 1, in, d)) {
    ok = true;
    for (int r = -warmup - 1; r < repeats && ok; r++) {
      fab_tensor_set *out = fab_tset_new();
      double t0 = now_ms();
      /* the first, untimed run binds the weights (and runs the model's
       * prepare step); the others keep them */
      ok = out && fab_cpu_jit_run(j, r == -warmup - 1 ? w : NULL, in, out, d);
      double t1 = now_ms();
      fab_tset_free(out);
      if (r >= 0) t[r] = t1 - t0;
    }
    if (ok) {
      if (times_ms) memcpy(times_ms, t, (size_t)repeats * sizeof *t);
      qsort(t, (size_t)repeats, sizeof *t, cmp_double);
      *median_ms = repeats % 2 ? t[repeats / 2] : 0.5 * (t[repeats / 2 - 1] + t[repeats / 2]);
    }
  }
  free(t);
  fab_tset_free(w);
  fab_tset_free(in);
  if (j) fab_cpu_jit_free(j);
  fab_module_free(low);
  return ok;
#else
  (void)m, (void)threads, (void)warmup, (void)repeats, (void)median_ms, (void)times_ms;
  fab_error(d, (fab_loc){0}, "the CPU backend (fab_cpu) is not built");
  return false;
#endif
}
