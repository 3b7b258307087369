/* fabc-bench — how fast the CPU backend's kernels run on this machine.
 *
 *   1. fp32 FMA peak of one core (12 independent chains at the widest
 *      vector width), and of two threads;
 *   2. butterfly linear (all log2 N stages, one bfly.stages op) for
 *      N = 256, 1024, 4096 on 1024 rows: GFLOP/s counting 4 N log2 N flops
 *      per row, fraction of peak, speedup over OpenBLAS sgemm of the same
 *      rows (dense N x N), with 1 and 2 threads;
 *   3. Fourier mixing Re(FFT2) of [1024 x 256] against FFTW (r2c 2-D,
 *      FFTW_MEASURE);
 *   4. (bench_models.c) whole models vs the interpreter and PyTorch eager,
 *      scaling with sequence length (+ SVG plot), compile time split into
 *      front end / passes / LLVM, stage-fusion depth k = 1..6.
 *
 * Kernel models are built as lowered IR by hand and JIT-compiled; runs go
 * through the runtime's raw entry (no allocation per run).
 *
 *   fabc-bench [--quick] [--kernels-only | --models-only] [--model SUBSTRING]... [docs/performance.md]
 *
 * prints markdown to stdout and, with a path, rewrites the text between
 * the fabc-bench markers of that file (the whole file if it has none) and
 * writes perf-scaling.svg next to it. */
#include <cblas.h>
#include <fftw3.h>
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "cpu.h"
#include "fab_runtime.h"
#include "ir.h"

#ifndef FAB_SOURCE_DIR
#define FAB_SOURCE_DIR "."
#endif

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#define now bench_now

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_clock(int threads) { return threads == 1 ? bench_cpu_now() : bench_now(); }

static double median_of(double *t, int n) {
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void bench_stats_of(double *t, int n, bench_stats *st) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  st->min = t[0];
  st->max = t[n - 1];
  st->median = median_of(t, n);
  st->reps = n;
}

void bench_time(void (*fn)(void *), void *arg, int threads, int min_reps, int max_reps, double min_time,
                bench_stats *st) {
  enum { CAP = 4096 };
  static double t[CAP];
  if (max_reps > CAP) max_reps = CAP;
  if (min_reps > max_reps) min_reps = max_reps;
  fn(arg); /* warm up: page faults, caches, thread pool */
  int n = 0;
  double start = now();
  while (n < min_reps || (n < max_reps && now() - start < min_time)) {
    double t0 = bench_clock(threads);
    fn(arg);
    t[n++] = bench_clock(threads) - t0;
  }
  bench_stats_of(t, n, st);
}

double bench_loadavg(void) {
  double l = -1;
  FILE *la = fopen("/proc/loadavg", "r");
  if (la) {
    if (fscanf(la, "%lf", &l) != 1) l = -1;
    fclose(la);
  }
  return l;
}

/* ---- peak -------------------------------------------------------------- */

/* Twelve named accumulators (not an array: the compiler must keep them in
 * registers, or the loop measures store forwarding instead of FMAs). */
#define FMA12(op, a, m, c)                                                                        \
  a##0 = op(a##0, m, c); a##1 = op(a##1, m, c); a##2 = op(a##2, m, c); a##3 = op(a##3, m, c);    \
  a##4 = op(a##4, m, c); a##5 = op(a##5, m, c); a##6 = op(a##6, m, c); a##7 = op(a##7, m, c);    \
  a##8 = op(a##8, m, c); a##9 = op(a##9, m, c); a##10 = op(a##10, m, c); a##11 = op(a##11, m, c)

__attribute__((target("avx512f,fma"), noinline)) static float fma_loop512(long iters) {
  __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
         a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
         a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
  for (long k = 0; k < iters; k++) {
    FMA12(_mm512_fmadd_ps, a, m, c);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                           _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx2,fma"), noinline)) static float fma_loop256(long iters) {
  __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
         a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
         a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
  for (long k = 0; k < iters; k++) {
    FMA12(_mm256_fmadd_ps, a, m, c);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

static volatile float g_sink;

typedef struct peak_arg {
  long iters;
  int lanes;
  double gflops; /* this thread's rate over its own CPU time */
} peak_arg;

static void *peak_thread(void *arg) {
  peak_arg *p = arg;
  struct timespec a, b;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  g_sink = p->lanes == 16 ? fma_loop512(p->iters) : fma_loop256(p->iters);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  double t = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
  p->gflops = (double)p->iters * 12 * p->lanes * 2 / t * 1e-9;
  return NULL;
}

/* Runs the FMA loop on `threads` threads at once, `iters` iterations
 * each; *gflops (if not NULL) gets the sum of the threads' rates, each over
 * the thread's own CPU time.  Returns the wall-clock seconds from the
 * first thread's start to the last one's end. */
static double fma_threads(int threads, int lanes, long iters, double *gflops) {
  peak_arg a[8];
  pthread_t th[8];
  if (threads > 8) threads = 8;
  double t0 = now();
  int started = 0; /* join only the threads that started */
  for (int i = 0; i < threads; i++) {
    a[i] = (peak_arg){iters, lanes, 0};
    if (pthread_create(&th[i], NULL, peak_thread, &a[i])) break;
    started++;
  }
  double sum = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(th[i], NULL);
    sum += a[i].gflops;
  }
  double wall = now() - t0;
  if (gflops) *gflops = sum;
  return wall;
}

/* The sum of the threads' rates, each over the thread's own CPU time: the
 * cores' peak even when other jobs take turns on them (wall-clock time
 * would count their turns too). */
static double peak_once(int threads, int lanes) {
  double g;
  fma_threads(threads, lanes, 20000000, &g);
  return g;
}

double bench_fma_wall(int threads, int lanes, double seconds, double gflops1) {
  long iters = (long)(seconds * gflops1 * 1e9 / (12.0 * 2 * lanes));
  return fma_threads(threads, lanes, iters > 1000 ? iters : 1000, NULL);
}

/* The best of three tries at each vector width (256 and, where the CPU has
 * it, 512 bits): the machine is shared, and the peak is a maximum.  *lanes
 * gets the width that reached it. */
static double peak_gflops(int threads, int *lanes) {
  double best = 0;
  for (int w = 8; w <= 16; w += 8) {
    if (w == 16 && !__builtin_cpu_supports("avx512f")) break;
    for (int i = 0; i < 3; i++) {
      double g = peak_once(threads, w);
      if (g > best) {
        best = g;
        *lanes = w;
      }
    }
  }
  return best;
}

/* ---- models -------------------------------------------------------------- */

static int add_input(fab_module *m, fab_func *f, const char *name, fab_dtype dt, int rank,
                     const int64_t *dims, int index) {
  int i = fab_func_append(m, f, FAB_OP_INPUT, NULL, 0, (fab_loc){0});
  fab_op_set_str(m, &f->ops[i], "name", name);
  fab_op_set_int(m, &f->ops[i], "index", index);
  f->ops[i].type = fab_type_make(dt, rank, dims);
  return i;
}

static void add_output(fab_module *m, fab_func *f, int v) {
  int i = fab_func_append(m, f, FAB_OP_OUTPUT, &v, 1, (fab_loc){0});
  fab_op_set_str(m, &f->ops[i], "name", "y");
  fab_op_set_int(m, &f->ops[i], "index", 0);
  f->ops[i].type = f->ops[v].type;
}

static fab_module *bfly_module(int64_t rows, int64_t n) {
  int L = 0;
  while (((int64_t)1 << L) < n) L++;
  fab_module *m = fab_module_new("bench_bfly");
  fab_func *f = fab_module_add_func(m, "main");
  int64_t xd[3] = {rows, 1, n}, twd[6] = {1, 1, L, n / 2, 2, 2};
  int x = add_input(m, f, "x", FAB_F32, 3, xd, 0);
  fab_type tt = fab_type_make(FAB_F32, 6, twd);
  fab_module_add_param(m, "twiddle", tt, (fab_init){FAB_INIT_NORMAL, 0, 0.7071}, (fab_loc){0}, NULL);
  int w = fab_func_append(m, f, FAB_OP_WEIGHT, NULL, 0, (fab_loc){0});
  fab_op_set_str(m, &f->ops[w], "name", "twiddle");
  f->ops[w].type = tt;
  int ops[2] = {x, w};
  int b = fab_func_append(m, f, FAB_OP_BFLY_STAGES, ops, 2, (fab_loc){0});
  int64_t st[3 * 16];
  for (int k = 0; k < L; k++) {
    st[3 * k] = 0;
    st[3 * k + 1] = k;
    st[3 * k + 2] = L - 1 - k;
  }
  fab_op_set_ints(m, &f->ops[b], "stages", st, 3 * L);
  f->ops[b].type = f->ops[x].type;
  add_output(m, f, b);
  return m;
}

typedef struct runner {
  fab_cpu_jit *jit;
  fab_context *ctx;
  float *in, *out;
} runner;

static bool runner_init(runner *r, fab_module *m, int threads, int64_t in_n, int64_t out_n) {
  fab_diag *d = fab_diag_new();
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  memset(r, 0, sizeof *r);
  r->jit = fab_cpu_jit_compile(m, &o, d);
  if (!r->jit) {
    fab_diag_print(d, stderr);
    fab_diag_free(d);
    return false;
  }
  fab_diag_free(d);
  fab_model *mod = fab_cpu_jit_model(r->jit);
  fab_tensor_set *w = fab_tset_new();
  for (int i = 0; i < fab_model_num_weights(mod); i++) {
    const fab_model_tensor_desc *wd = fab_model_weight(mod, i);
    fab_tensor *t = fab_tset_add(w, wd->name, FAB_DT_F32, wd->rank, wd->dims);
    float *p = t->data;
    for (int64_t k = 0; k < fab_tensor_numel(t); k++) p[k] = (float)((k * 7919 % 1000) / 1000.0 - 0.5);
  }
  char err[256];
  fab_status st = fab_model_bind_weights(mod, w, err, sizeof err);
  fab_tset_free(w);
  if (st == FAB_OK) r->ctx = fab_context_new(mod, threads, &st, err, sizeof err);
  if (!r->ctx) {
    fprintf(stderr, "bench: %s\n", err);
    return false;
  }
  r->in = aligned_alloc(64, (size_t)in_n * 4 + 64);
  r->out = aligned_alloc(64, (size_t)out_n * 4 + 64);
  for (int64_t k = 0; k < in_n; k++) r->in[k] = (float)((k * 104729 % 2000) / 1000.0 - 1.0);
  return true;
}

/* Best time per run over 5 rounds of at least 0.1 s (bench_clock). */
static double runner_time(runner *r, int threads) {
  const void *in[1] = {r->in};
  void *out[1] = {r->out};
  fab_context_run_raw(r->ctx, in, out); /* warm up */
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    int iters = 0;
    double t0 = bench_clock(threads), t;
    do {
      fab_context_run_raw(r->ctx, in, out);
      iters++;
      t = bench_clock(threads) - t0;
    } while (t < 0.1);
    if (t / iters < best) best = t / iters;
  }
  return best;
}

static void runner_free(runner *r) {
  fab_context_free(r->ctx);
  fab_cpu_jit_free(r->jit);
  free(r->in);
  free(r->out);
}

/* Writes `text` into path between the fabc-bench markers, keeping the
 * hand-written text around them; a file without markers is replaced. */
static void write_doc(const char *path, const char *text) {
  static const char *const B = "<!-- fabc-bench begin -->\n", *const E = "<!-- fabc-bench end -->\n";
  char *old = NULL;
  size_t olen = 0;
  FILE *f = fopen(path, "rb");
  if (f) {
    FILE *m = open_memstream(&old, &olen);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof chunk, f)) > 0) fwrite(chunk, 1, n, m);
    if (m) fclose(m);
    fclose(f);
  }
  char *b = old ? strstr(old, B) : NULL, *e = b ? strstr(b, E) : NULL;
  f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bench: cannot write %s\n", path);
    free(old);
    return;
  }
  if (b && e) {
    fwrite(old, 1, (size_t)(b - old), f);
    fprintf(f, "%s%s%s", B, text, E);
    fputs(e + strlen(E), f);
  } else {
    fprintf(f, "%s%s%s", B, text, E);
  }
  fclose(f);
  free(old);
}

/* ---- kernels ------------------------------------------------------------- */

/* Butterfly linear, N = 256, 1024, 4096 on 1024 rows: fabc against the
 * roofline (1 thread: max of flops at the FMA peak and bytes at the
 * measured bandwidth of that footprint) and against sgemm of a dense N x N. */
static bool kernels_bfly(FILE *out, const bench_cfg *cfg) {
  fprintf(out, "| N | rows | threads | time (ms) | GFLOP/s | %% of FMA peak | roofline bound (ms) | "
               "bound: compute / memory (ms) | %% of roofline | OpenBLAS sgemm (ms) | sgemm GFLOP/s | vs sgemm |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  const int64_t rows = 1024, ns[3] = {256, 1024, 4096};
  bench_results *res = cfg->res;
  for (int k = 0; k < 3; k++) {
    int64_t n = ns[k];
    int L = 0;
    while (((int64_t)1 << L) < n) L++;
    double flops = 4.0 * (double)n * L * (double)rows;
    double bytes = 2.0 * (double)(rows * n) * 4 + 8.0 * L * (double)n; /* x, y and the twiddles */
    double t_mem = bytes / bench_bandwidth((int64_t)bytes), t_cmp = flops / (cfg->peak1 * 1e9);
    double bound = t_mem > t_cmp ? t_mem : t_cmp;
    fab_module *m = bfly_module(rows, n);
    for (int th = 1; th <= cfg->threads; th = th < cfg->threads ? cfg->threads : th + 1) {
      fprintf(stderr, "bench: butterfly linear N %lld, %d thread(s)\n", (long long)n, th);
      runner r;
      if (!runner_init(&r, m, th, rows * n, rows * n)) return false;
      double t = runner_time(&r, th);
      runner_free(&r);
      double g = flops / t * 1e-9, ts = bench_in_child(bench_sgemm_time, rows, n, th);
      double sg = 2.0 * (double)rows * (double)n * (double)n / ts * 1e-9;
      if (th == 1) {
        fprintf(out, "| %lld | %lld | 1 | %.3f | %.1f | %.0f%% | %.3f | %.3f / %.3f | %.0f%% | %.3f | %.1f | %.1fx |\n",
                (long long)n, (long long)rows, t * 1e3, g, 100 * g / cfg->peak1, bound * 1e3, t_cmp * 1e3,
                t_mem * 1e3, 100 * bound / t, ts * 1e3, sg, ts / t);
        if (res->nbfly < BENCH_MAX_ROWS) {
          res->bfly[res->nbfly].n = n;
          res->bfly[res->nbfly].t = t;
          res->bfly[res->nbfly++].roofline = bound;
        }
      } else {
        fprintf(out, "| %lld | %lld | %d | %.3f | %.1f | %.0f%% | - | - | - | %.3f | %.1f | %.1fx |\n", (long long)n,
                (long long)rows, th, t * 1e3, g, 100 * g / cfg->peak2, ts * 1e3, sg, ts / t);
      }
    }
    fab_module_free(m);
  }
  fprintf(out, "\nGFLOP/s count 4·N·log2 N flops per row (two multiply-adds per output and stage).  "
               "Memory side of the roofline: x and y (4 bytes a value) and the twiddles, at the bandwidth "
               "a one-thread read + write stream reaches over a footprint of that size (measured just before).  "
               "sgemm: OpenBLAS `cblas_sgemm` of the same rows with a dense N × N matrix, same threads, "
               "in a child process.\n\n");
  return true;
}

/* Re(FFT2) of a real [s x d], compiled from `fourier(x)` by the cpu
 * pipeline, against FFTW r2c (FFTW_MEASURE, one thread). */
static bool kernels_fourier(FILE *out, const bench_cfg *cfg) {
  static const int64_t shapes[][2] = {{128, 768}, {1024, 256}, {512, 768}};
  fprintf(out, "| Re(FFT2) shape | threads | fabc (ms) | FFTW r2c, 1 thread (ms) | fabc time / FFTW time |\n"
               "|---|---|---|---|---|\n");
  bench_results *res = cfg->res;
  for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
    int64_t s = shapes[k][0], d = shapes[k][1];
    char src[256];
    snprintf(src, sizeof src, "model mix(x: f32[%lld, %lld]) -> (y: f32[%lld, %lld]) {\n  y = fourier(x);\n}\n",
             (long long)s, (long long)d, (long long)s, (long long)d);
    fab_module *m = bench_lower_fab(cfg, "fourier", src);
    if (!m) return false;
    double tf = bench_in_child(bench_fftw_time, s, d, 1);
    for (int th = 1; th <= cfg->threads; th = th < cfg->threads ? cfg->threads : th + 1) {
      fprintf(stderr, "bench: Re(FFT2) %lld x %lld, %d thread(s)\n", (long long)s, (long long)d, th);
      runner r;
      if (!runner_init(&r, m, th, s * d, s * d)) return false;
      double t = runner_time(&r, th);
      runner_free(&r);
      fprintf(out, "| %lld × %lld | %d | %.3f | %.3f | %.2f |\n", (long long)s, (long long)d, th, t * 1e3,
              tf * 1e3, t / tf);
      if (th == 1 && res->nfft < BENCH_MAX_ROWS) {
        res->fft[res->nfft].s = s;
        res->fft[res->nfft].d = d;
        res->fft[res->nfft].t = t;
        res->fft[res->nfft++].fftw = tf;
      }
    }
    fab_module_free(m);
  }
  fprintf(out, "\nfabc: `y = fourier(x)` compiled by the default cpu pipeline (what a model's mixing runs).  "
               "FFTW: `fftwf_plan_dft_r2c_2d` (its half spectrum holds every real part), FFTW_MEASURE, one "
               "thread, in a child process.\n\n");
  return true;
}

static void header(FILE *out, const bench_machine_info *mi, const fab_cpu_target *ti, const bench_blas_info *bi,
                   double load0) {
  fprintf(out, "## fabc-bench results\n\n"
               "Machine: **%s** (lscpu model name; family %d, model %d), %ld CPUs online%s.  SIMD: %s.  "
               "LLVM cpu `%s`, %d f32 lanes per vector, L1d %lld KiB, L2 %lld KiB.\n\n",
          mi->model, mi->family, mi->model_no, mi->ncpu, mi->hypervisor ? ", a virtual machine (hypervisor flag)" : "",
          mi->simd, ti->name, ti->vector_lanes, (long long)ti->l1d_bytes / 1024,
          (long long)ti->fast_memory_bytes / 1024);
  fprintf(out, "Load average (1 min) at start: %.2f.  Clocks: every time with one thread (fabc, the "
               "interpreter, PyTorch, OpenBLAS, FFTW, compiling) is the process's CPU time per run, which equals "
               "wall-clock time on an idle machine and hardly moves when other jobs take turns on the cores; times "
               "with more threads are wall-clock times and do move with the load.\n\n", load0);
  fprintf(out, "OpenBLAS: %s; %s.\n\n", bi->config, bi->how);
}

static const char usage[] =
    "usage: fabc-bench [--quick] [--kernels-only | --models-only] [--model SUBSTRING]... [out.md]\n";

static void help(void) {
  fputs(usage, stdout);
  fputs("\nTimes the CPU backend on this machine and prints markdown to stdout (progress on stderr).\n"
        "With out.md, rewrites the text between its fabc-bench markers (the whole file if it has\n"
        "none) and writes perf-scaling.svg next to it.\n\n"
        "  --quick             smoke run: fewer sizes, shorter windows, one whole model unless --model\n"
        "  --kernels-only      FMA peak, butterfly linear and Fourier mixing only\n"
        "  --models-only       FMA peak and the whole models only (no kernels, scaling, compile\n"
        "                      time against depth, fusion depth)\n"
        "  --model SUBSTRING   run only the whole models whose label contains SUBSTRING (any case;\n"
        "                      repeatable: a model matching any of them runs)\n"
        "  -h, --help          this text\n", stdout);
}

/* False (after a message) on a bad command line; *exit_now for --help. */
static bool parse_args(int argc, char **argv, bench_cfg *cfg, bool *models, const char **doc, bool *exit_now) {
  static const char *only[16];
  cfg->only = only;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--quick")) cfg->quick = true;
    else if (!strcmp(a, "--kernels-only")) *models = false;
    else if (!strcmp(a, "--models-only")) cfg->models_only = true;
    else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      help();
      *exit_now = true;
      return true;
    } else if (!strcmp(a, "--model")) {
      if (i + 1 >= argc) return fprintf(stderr, "fabc-bench: --model needs a SUBSTRING\n%s", usage), false;
      if (cfg->nonly == 16) return fprintf(stderr, "fabc-bench: at most 16 --model options\n"), false;
      only[cfg->nonly++] = argv[++i];
    } else if (a[0] == '-') {
      return fprintf(stderr, "fabc-bench: unknown option '%s'\n%s(--help says what each does)\n", a, usage), false;
    } else if (*doc) {
      return fprintf(stderr, "fabc-bench: more than one output file ('%s', '%s')\n%s", *doc, a, usage), false;
    } else *doc = a;
  }
  if (!*models && (cfg->models_only || cfg->nonly))
    return fprintf(stderr, "fabc-bench: --kernels-only runs no whole model (it excludes --models-only and "
                           "--model)\n"), false;
  return bench_check_models(cfg);
}

/* The FMA peak (into cfg), and unless --models-only the kernel tables. */
static bool run_kernels(FILE *out, bench_cfg *cfg) {
  fprintf(stderr, "bench: FMA peak\n");
  int lanes2 = 8;
  cfg->lanes1 = 8;
  cfg->peak1 = peak_gflops(1, &cfg->lanes1);
  cfg->peak2 = peak_gflops(cfg->threads, &lanes2);
  fprintf(out, "### Kernels\n\nfp32 FMA peak (12 independent FMA chains in registers, 256- and 512-bit vectors, "
               "best of 3 each): 1 thread %.1f GFLOP/s (%d-bit), %d threads %.1f GFLOP/s.\n\n",
          cfg->peak1, cfg->lanes1 * 32, cfg->threads, cfg->peak2);
  if (cfg->models_only) return true;
  fprintf(out, "#### Butterfly linear (one `bfly.stages` op, all log2 N stages)\n\n");
  bool ok = kernels_bfly(out, cfg);
  if (ok) fprintf(out, "#### Fourier mixing\n\n");
  return ok && kernels_fourier(out, cfg);
}

int main(int argc, char **argv) {
  bool models = true, exit_now = false;
  const char *doc = NULL;
  bench_results res = {.compile1 = -1, .compile24 = -1};
  bench_cfg cfg = {.srcdir = FAB_SOURCE_DIR, .res = &res};
  if (!parse_args(argc, argv, &cfg, &models, &doc, &exit_now)) return 2;
  if (exit_now) return 0;
  bench_blas_info bi;
  bench_openblas_check(argv, &bi); /* may re-execute the bench */
  fprintf(stderr, "bench: %s\n", bi.how);
  fab_cpu_target ti;
  fab_diag *d = fab_diag_new();
  if (!fab_cpu_target_info(NULL, &ti, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  fab_diag_free(d);
  bench_machine_info mi;
  bench_machine(&mi);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (!out) return 1;
  double load0 = bench_loadavg(), t_start = now();
  cfg.threads = res.threads = mi.ncpu > 1 ? (int)(mi.ncpu > 8 ? 8 : mi.ncpu) : 1;
  header(out, &mi, &ti, &bi, load0);
  bool ok = run_kernels(out, &cfg);
  fflush(out);
  fputs(buf, stdout);
  size_t shown = len;
  if (ok && models) {
    char svg[1024] = "";
    if (doc) {
      const char *slash = strrchr(doc, '/');
      snprintf(svg, sizeof svg, "%.*sperf-scaling.svg", slash ? (int)(slash - doc + 1) : 0, doc);
    }
    cfg.svg = doc ? svg : NULL;
    ok = bench_models(out, &cfg);
  }
  if (ok) bench_targets(out, &res);
  fprintf(out, "Load average (1 min) at end: %.2f; the whole run took %.0f s.\n", bench_loadavg(), now() - t_start);
  fclose(out);
  fputs(buf + shown, stdout);
  if (doc && ok) write_doc(doc, buf);
  free(buf);
  return ok ? 0 : 1;
}
