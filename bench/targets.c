/* targets.c — issue 15's targets, judged from this run's numbers.  A
 * target whose measurement did not run (--quick, --kernels-only) is left
 * out. */
#include "bench_util.h"

static const char *verdict(bool met) { return met ? "**met**" : "not met"; }

/* The thread target asks for an idle machine: it is judged only when the
 * host probe ran the threads at >= 95 % of N times one thread, the host
 * took at most 1 % of the CPUs' time (steal) during the window, and the
 * 1-thread runs' wall-clock time was within 10 % of their CPU time. */
static void threads_row(FILE *out, const bench_results *r, int i) {
  double s = r->model[i].speedup, host = r->model[i].host, share = r->model[i].wall1 / r->model[i].t1;
  double need = 0.95 * r->threads;
  char status[160];
  if (host < need)
    snprintf(status, sizeof status, "not judged: machine not idle (host probe %.2f× < %.2f×)", host, need);
  else if (r->model[i].steal > 0.01)
    snprintf(status, sizeof status, "not judged: machine not idle (the host took %.1f %% of the CPUs' time)",
             100 * r->model[i].steal);
  else if (share > 1.1)
    snprintf(status, sizeof status, "not judged: machine not idle (1 thread's wall-clock time %.2f× its CPU time)",
             share);
  else snprintf(status, sizeof status, "%s", verdict(s >= 1.85));
  fprintf(out, "| %s: %d threads ≥ 1.85× 1 thread (idle machine) | %.2f× (host probe: %d threads at %.2f× 1 thread) "
               "| %s |\n", r->model[i].label, r->threads, s, r->threads, host, status);
}

static void models(FILE *out, const bench_results *r) {
  for (int i = 0; i < r->nmodels; i++) {
    double t = r->model[i].t1, tp = r->model[i].torch1, b = r->model[i].bound1;
    if (tp > 0)
      fprintf(out, "| %s, 1 thread: ≥ 10× the fastest PyTorch eager form | %.1f× (%.2f ms vs %.1f ms) | %s |\n",
              r->model[i].label, tp / t, t * 1e3, tp * 1e3, verdict(tp / t >= 10));
    fprintf(out, "| %s, 1 thread: within 3× of the compute bound | %.1f× the bound (%.2f ms vs %.2f ms) | %s |\n",
            r->model[i].label, t / b, t * 1e3, b * 1e3, verdict(t / b <= 3));
  }
  for (int i = 0; i < r->nmodels; i++)
    if (r->model[i].speedup > 0) threads_row(out, r, i);
}

void bench_targets(FILE *out, const bench_results *r) {
  fprintf(out, "### Issue 15's targets, from this run\n\n| target | measured | status |\n|---|---|---|\n");
  models(out, r);
  for (int i = 0; i < r->nbfly; i++)
    fprintf(out, "| butterfly linear N = %lld × 1024 rows: ≥ 60%% of the roofline bound | %.0f%% | %s |\n",
            (long long)r->bfly[i].n, 100 * r->bfly[i].roofline / r->bfly[i].t,
            verdict(r->bfly[i].roofline / r->bfly[i].t >= 0.6));
  for (int i = 0; i < r->nfft; i++)
    fprintf(out, "| Re(FFT2) %lld × %lld: within 1.2× of FFTW r2c (1 thread) | %.2f× FFTW's time | %s |\n",
            (long long)r->fft[i].s, (long long)r->fft[i].d, r->fft[i].t / r->fft[i].fftw,
            verdict(r->fft[i].t / r->fft[i].fftw <= 1.2));
  if (r->compile24 > 0 && r->compile1 > 0)
    fprintf(out, "| fabnet_base 24 layers compiles in < 1 s and ≤ 1.5× 1 layer | %.2f s, %.2f× | %s |\n",
            r->compile24, r->compile24 / r->compile1, verdict(r->compile24 < 1 && r->compile24 / r->compile1 <= 1.5));
  fprintf(out, "\n");
  if (r->nmodels > 0 && r->model[0].speedup > 0)
    fprintf(out, "The thread target is judged only on an idle machine: a host probe of at least 95 %% of %d× "
               "one thread, at most 1 %% steal time and 1-thread wall-clock time within 10 %% of its CPU time "
               "(whole-model table).  ", r->threads);
  fprintf(out, "Compile time here is the in-process front end + passes + LLVM JIT (the compile-time tables); "
               "`fabc build` also writes the shared object.\n\n");
}
