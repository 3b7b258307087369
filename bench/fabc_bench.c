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
 *   fabc-bench [--quick] [--kernels-only] [docs/performance.md]
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

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void bench_time(void (*fn)(void *), void *arg, int min_reps, int max_reps, double min_time,
                bench_stats *st) {
  enum { CAP = 4096 };
  static double t[CAP];
  if (max_reps > CAP) max_reps = CAP;
  if (min_reps > max_reps) min_reps = max_reps;
  fn(arg); /* warm up: page faults, caches, thread pool */
  int n = 0;
  double start = now();
  while (n < min_reps || (n < max_reps && now() - start < min_time)) {
    double t0 = now();
    fn(arg);
    t[n++] = now() - t0;
  }
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  st->min = t[0];
  st->max = t[n - 1];
  st->median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  st->reps = n;
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
static int g_lanes;

static void *peak_thread(void *arg) {
  long iters = *(long *)arg;
  g_sink = g_lanes == 16 ? fma_loop512(iters) : fma_loop256(iters);
  return NULL;
}

/* "AMD EPYC ..." from /proc/cpuinfo, and the online CPU count. */
static void cpu_model(char *buf, size_t n, long *ncpu) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!strncmp(line, "model name", 10) && colon) {
      snprintf(buf, n, "%s", colon + 2);
      buf[strcspn(buf, "\n")] = 0;
      break;
    }
  }
  if (f) fclose(f);
  *ncpu = sysconf(_SC_NPROCESSORS_ONLN);
}

static double peak_once(int threads);

/* The best of three: the machine is shared, and the peak is a maximum. */
static double peak_gflops(int threads) {
  double best = 0;
  for (int i = 0; i < 3; i++) {
    double g = peak_once(threads);
    if (g > best) best = g;
  }
  return best;
}

static double peak_once(int threads) {
  long iters = 20000000;
  pthread_t th[8];
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, peak_thread, &iters);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double t = now() - t0;
  return (double)threads * (double)iters * 12 * g_lanes * 2 / t * 1e-9;
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

/* Re(FFT over d, then over s) of x[s, d], lowered by hand. */
static fab_module *fourier_module(int64_t s, int64_t d) {
  fab_module *m = fab_module_new("bench_fourier");
  fab_func *f = fab_module_add_func(m, "main");
  int64_t xd[2] = {s, d};
  int v = add_input(m, f, "x", FAB_F32, 2, xd, 0);
  fab_type ct = fab_type_make(FAB_C64, 2, xd), rt = fab_type_make(FAB_F32, 2, xd);
  v = fab_func_append(m, f, FAB_OP_COMPLEX, &v, 1, (fab_loc){0});
  f->ops[v].type = ct;
  for (int axis = 1; axis >= 0; axis--) {
    int64_t len = xd[axis], st[32];
    int ns = 0;
    for (int64_t k = 2; k <= len; k *= 2, ns++) st[ns] = ns + 1;
    v = fab_func_append(m, f, FAB_OP_BITREV, &v, 1, (fab_loc){0});
    fab_op_set_int(m, &f->ops[v], "axis", axis);
    f->ops[v].type = ct;
    v = fab_func_append(m, f, FAB_OP_FFT_STAGES, &v, 1, (fab_loc){0});
    fab_op_set_int(m, &f->ops[v], "axis", axis);
    fab_op_set_ints(m, &f->ops[v], "stages", st, ns);
    if (axis == 0) fab_op_set_int(m, &f->ops[v], "real_out", 1);
    f->ops[v].type = axis == 0 ? rt : ct;
  }
  add_output(m, f, v);
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

static double runner_time(runner *r) {
  const void *in[1] = {r->in};
  void *out[1] = {r->out};
  fab_context_run_raw(r->ctx, in, out); /* warm up */
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    int iters = 0;
    double t0 = now(), t;
    do {
      fab_context_run_raw(r->ctx, in, out);
      iters++;
      t = now() - t0;
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

/* The baselines run in a child process (fork, result through a pipe):
 * after OpenBLAS had run with 2 threads in this process, every later
 * 2-thread fabc measurement here was slow (Fourier mix at 2 threads 0.53
 * ms instead of 0.22; the same with OpenBLAS's threads stopped by
 * blas_thread_shutdown_, fast with OPENBLAS_NUM_THREADS=1; the mechanism
 * is not understood).  A child leaves nothing behind. */
static double in_child(double (*fn)(int64_t, int64_t, int), int64_t a, int64_t b, int threads) {
  int fd[2];
  if (pipe(fd) != 0) return fn(a, b, threads);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    return fn(a, b, threads);
  }
  if (pid == 0) {
    close(fd[0]);
    double t = fn(a, b, threads);
    ssize_t w = write(fd[1], &t, sizeof t);
    _exit(w == (ssize_t)sizeof t ? 0 : 1);
  }
  close(fd[1]);
  double t = -1;
  ssize_t r = read(fd[0], &t, sizeof t);
  close(fd[0]);
  int status;
  waitpid(pid, &status, 0);
  return r == (ssize_t)sizeof t ? t : -1;
}

static double sgemm_time(int64_t rows, int64_t n, int threads) {
  openblas_set_num_threads(threads);
  float *a = aligned_alloc(64, (size_t)(rows * n) * 4), *b = aligned_alloc(64, (size_t)(n * n) * 4),
        *c = aligned_alloc(64, (size_t)(rows * n) * 4);
  for (int64_t i = 0; i < rows * n; i++) a[i] = (float)(i % 17) * 0.01f;
  for (int64_t i = 0; i < n * n; i++) b[i] = (float)(i % 13) * 0.01f;
  double best = 1e30;
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, (int)n, 1.0f, a,
                (int)n, b, (int)n, 0.0f, c, (int)n);
    double t = now() - t0;
    if (t < best) best = t;
  }
  free(a);
  free(b);
  free(c);
  return best;
}

static double fftw_time(int64_t s, int64_t d) {
  float *in = fftwf_alloc_real((size_t)(s * d));
  fftwf_complex *out = fftwf_alloc_complex((size_t)(s * (d / 2 + 1)));
  fftwf_plan p = fftwf_plan_dft_r2c_2d((int)s, (int)d, in, out, FFTW_MEASURE);
  for (int64_t i = 0; i < s * d; i++) in[i] = (float)(i % 31) * 0.03f;
  fftwf_execute(p);
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    int iters = 0;
    double t0 = now(), t;
    do {
      fftwf_execute(p);
      iters++;
      t = now() - t0;
    } while (t < 0.1);
    if (t / iters < best) best = t / iters;
  }
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
  return best;
}

static double fftw_time_child(int64_t s, int64_t d, int threads) {
  (void)threads;
  return fftw_time(s, d);
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

int main(int argc, char **argv) {
  bool quick = false, models = true;
  const char *doc = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) quick = true;
    else if (!strcmp(argv[i], "--kernels-only")) models = false;
    else if (argv[i][0] == '-') {
      fprintf(stderr, "usage: fabc-bench [--quick] [--kernels-only] [out.md]\n");
      return 2;
    } else doc = argv[i];
  }
  fab_cpu_target ti;
  fab_diag *d = fab_diag_new();
  if (!fab_cpu_target_info(NULL, &ti, d)) {
    fab_diag_print(d, stderr);
    return 1;
  }
  fab_diag_free(d);
  g_lanes = ti.vector_lanes >= 16 && __builtin_cpu_supports("avx512f") ? 16 : 8;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (!out) return 1;
#define OUT(...) fprintf(out, __VA_ARGS__)
  double load0 = bench_loadavg(), t_start = now();
  double peak1 = peak_gflops(1), peak2 = peak_gflops(2);
  char model[256];
  long ncpu;
  cpu_model(model, sizeof model, &ncpu);
  int threads = ncpu > 1 ? (int)(ncpu > 8 ? 8 : ncpu) : 1;
  OUT("## fabc-bench results\n\nMachine: %s (lscpu model name), %ld CPUs online, LLVM cpu `%s`, "
      "%d f32 lanes per vector (AVX-512: %s), L1d %lld KiB, L2 %lld KiB.\n\n",
      model, ncpu, ti.name, ti.vector_lanes, __builtin_cpu_supports("avx512f") ? "yes" : "no",
      (long long)ti.l1d_bytes / 1024, (long long)ti.fast_memory_bytes / 1024);
  OUT("Load average (1 min) at start: %.2f (other processes share these cores: numbers scale "
      "down with it).\n\n", load0);
  OUT("### Kernels\n\nfp32 FMA peak (%d-bit vectors, 12 chains, best of 3): 1 thread %.1f GFLOP/s, "
      "%d threads %.1f GFLOP/s\n\n", g_lanes * 32, peak1, 2, peak2);
  OUT("| kernel | N | rows | threads | time (ms) | GFLOP/s | %% of peak | sgemm (ms) | speedup vs sgemm |\n");
  OUT("|---|---|---|---|---|---|---|---|---|\n");
  const int64_t rows = 1024, ns[3] = {256, 1024, 4096};
  for (int k = 0; k < 3; k++) {
    int64_t n = ns[k];
    int L = 0;
    while (((int64_t)1 << L) < n) L++;
    fab_module *m = bfly_module(rows, n);
    for (int th = 1; th <= 2; th++) {
      runner r;
      if (!runner_init(&r, m, th, rows * n, rows * n)) return 1;
      double t = runner_time(&r);
      runner_free(&r);
      double flops = 4.0 * (double)n * L * (double)rows;
      double g = flops / t * 1e-9, ts = in_child(sgemm_time, rows, n, th);
      OUT("| butterfly linear | %lld | %lld | %d | %.3f | %.1f | %.0f%% | %.3f | %.1fx |\n",
          (long long)n, (long long)rows, th, t * 1e3, g, 100 * g / (th == 1 ? peak1 : peak2),
          ts * 1e3, ts / t);
    }
    fab_module_free(m);
  }
  fab_module *m = fourier_module(1024, 256);
  for (int th = 1; th <= 2; th++) {
    runner r;
    if (!runner_init(&r, m, th, 1024 * 256, 1024 * 256)) return 1;
    double t = runner_time(&r);
    runner_free(&r);
    double tf = in_child(fftw_time_child, 1024, 256, 1);
    OUT("| fourier mix Re(FFT2) | 1024x256 | - | %d | %.3f | - | - | FFTW r2c 1 thread: %.3f | %.2fx |\n",
        th, t * 1e3, tf * 1e3, tf / t);
  }
  fab_module_free(m);
  OUT("\n");
  fflush(out);
  fputs(buf, stdout);
  size_t shown = len;
  bool ok = true;
  if (models) {
    char svg[1024] = "";
    if (doc) {
      const char *slash = strrchr(doc, '/');
      snprintf(svg, sizeof svg, "%.*sperf-scaling.svg", slash ? (int)(slash - doc + 1) : 0, doc);
    }
    bench_cfg cfg = {.srcdir = FAB_SOURCE_DIR, .svg = doc ? svg : NULL, .threads = threads, .quick = quick};
    ok = bench_models(out, &cfg);
  }
  OUT("Load average (1 min) at end: %.2f; the whole run took %.0f s.\n", bench_loadavg(), now() - t_start);
  fclose(out);
  fputs(buf + shown, stdout);
  if (doc) write_doc(doc, buf);
  free(buf);
  return ok ? 0 : 1;
}
