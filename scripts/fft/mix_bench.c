/* mix_bench.c — Re(FFT2) mixing of x[s, d] (fabc's fourier on the cpu
 * target, one thread) against FFTW's r2c 2-D plan (FFTW_MEASURE, one
 * thread), best of N runs each.  Built and run by mix_bench.sh:
 *   mix_bench S D [RUNS]
 *   mix_bench --model FILE.fab [RUNS [PASSES]]   (a whole model, 1 thread;
 *       PASSES overrides the cpu pipeline, e.g. to compare lowerings)
 * Prints the best times and their ratio. */
#include "fabc.h"

#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The best of `runs` timed calls of fn(arg). */
static double best_of(int runs, void (*fn)(void *), void *arg) {
  double best = 1e30;
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    fn(arg);
    double t = now() - t0;
    if (t < best) best = t;
  }
  return best;
}

static void fftw_run(void *p) { fftwf_execute(*(fftwf_plan *)p); }

static double fftw_best(int s, int d, int runs) {
  float *in = fftwf_alloc_real((size_t)s * (size_t)d);
  fftwf_complex *out = fftwf_alloc_complex((size_t)s * (size_t)(d / 2 + 1));
  fftwf_plan p = fftwf_plan_dft_r2c_2d(s, d, in, out, FFTW_MEASURE);
  for (int i = 0; i < s * d; i++) in[i] = (float)(i % 7) - 3.0f;
  double best = best_of(runs, fftw_run, &p);
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
  return best;
}

typedef struct fabc_call {
  fabc_model *m;
  fabc_tensors *in, *out;
} fabc_call;

static void fabc_run(void *p) {
  fabc_call *k = p;
  char *err = NULL;
  if (fabc_model_run(k->m, k->in, k->out, &err)) {
    fprintf(stderr, "fabc run: %s\n", err ? err : "?");
    exit(1);
  }
}

static double fabc_best(const char *path, const char *text, const char *passes, int runs) {
  const char *inc[] = {"examples"};
  fabc_options o = {.source_path = path, .source_text = text, .target = "cpu", .threads = 1, .passes = passes,
                    .include_dirs = inc, .ninclude_dirs = 1};
  char *err = NULL;
  fabc_call k = {NULL, fabc_tensors_new(), fabc_tensors_new()};
  if (fabc_compile(&o, &k.m, &err) || fabc_model_init_weights(k.m, 1, &err) ||
      fabc_model_init_inputs(k.m, 1, 1, k.in, &err)) {
    fprintf(stderr, "fabc: %s\n", err ? err : "?");
    exit(1);
  }
  double best = best_of(runs, fabc_run, &k);
  fabc_tensors_free(k.in);
  fabc_tensors_free(k.out);
  fabc_model_free(k.m);
  return best;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mix_bench S D [RUNS] | mix_bench --model FILE.fab [RUNS [PASSES]]\n");
    return 2;
  }
  if (!strcmp(argv[1], "--model")) {
    int runs = argc > 3 ? atoi(argv[3]) : 10;
    double t = fabc_best(argv[2], NULL, argc > 4 ? argv[4] : NULL, runs);
    printf("%s: fabc %.3f ms (best of %d, 1 thread)\n", argv[2], t * 1e3, runs);
    return 0;
  }
  int s = atoi(argv[1]), d = atoi(argv[2]), runs = argc > 3 ? atoi(argv[3]) : 50;
  char src[256];
  snprintf(src, sizeof src, "model mix(x: f32[%d, %d]) -> (y: f32[%d, %d]) { y = fourier(x); }\n", s, d, s, d);
  double tf = fabc_best(NULL, src, NULL, runs), tw = fftw_best(s, d, runs);
  printf("%d x %d: fabc %.3f ms, fftw r2c %.3f ms, ratio %.2f\n", s, d, tf * 1e3, tw * 1e3, tf / tw);
  return 0;
}
