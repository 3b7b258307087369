/* targets.c — issue 15's targets, judged from this run's numbers.  A
 * target whose measurement did not run (--quick, --kernels-only) is left
 * out. */
#include "bench_util.h"

static const char *verdict(bool met) { return met ? "**met**" : "not met"; }

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
    if (r->model[i].speedup > 0)
      fprintf(out, "| %s: %d threads ≥ 1.85× 1 thread | %.2f× (host probe: %d threads at %.2f× 1 thread) | %s |\n",
              r->model[i].label, r->threads, r->model[i].speedup, r->threads, r->model[i].host,
              verdict(r->model[i].speedup >= 1.85));
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
  fprintf(out, "\nCompile time here is the in-process front end + passes + LLVM JIT (the compile-time tables); "
               "`fabc build` also writes the shared object.\n\n");
}
