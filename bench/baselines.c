/* baselines.c — what fabc-bench compares against, measured honestly:
 *
 *   - the machine (lscpu's model name, cores, SIMD flags from /proc/cpuinfo);
 *   - which OpenBLAS kernel runs.  Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH)
 *     falls back to its "Prescott" SSE kernels on CPUs it does not know
 *     (e.g. Emerald Rapids: sgemm 31 GFLOP/s instead of 117).  When the
 *     auto-detected kernel uses a narrower ISA than the CPU offers, the bench
 *     sets OPENBLAS_CORETYPE to the CPU's best core and re-executes itself
 *     (OpenBLAS reads the variable once, when it loads).  The variable only
 *     concerns the baseline library; fabc's code never reads it;
 *   - OpenBLAS sgemm and FFTW r2c (FFTW_MEASURE, one thread), each in a
 *     child process;
 *   - the read + write bandwidth of a given footprint (the roofline's
 *     memory side). */
#include <cblas.h>
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

/* ---- the machine ---------------------------------------------------------- */

static bool has_flag(const char *flags, const char *f) {
  size_t n = strlen(f);
  for (const char *p = flags; (p = strstr(p, f)) != NULL; p += n)
    if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0)) return true;
  return false;
}

/* SIMD level of a flags line: 1 SSE, 2 AVX, 3 AVX2 + FMA, 4 AVX-512 (F, BW, VL, DQ). */
static int simd_level(const char *flags) {
  if (has_flag(flags, "avx512f") && has_flag(flags, "avx512bw") && has_flag(flags, "avx512vl") &&
      has_flag(flags, "avx512dq"))
    return 4;
  if (has_flag(flags, "avx2") && has_flag(flags, "fma")) return 3;
  return has_flag(flags, "avx") ? 2 : 1;
}

void bench_machine(bench_machine_info *mi) {
  static const char *const simd[] = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                                     "avx512dq", "avx512_vnni", "avx512_bf16", "amx_tile"};
  memset(mi, 0, sizeof *mi);
  snprintf(mi->model, sizeof mi->model, "unknown");
  char *flags = calloc(1, 8192);
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[8192];
  bool got_model = false, got_flags = false;
  while (f && flags && fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    char *v = colon + (colon[1] == ' ' ? 2 : 1);
    v[strcspn(v, "\n")] = 0;
    if (!got_model && !strncmp(line, "model name", 10)) {
      snprintf(mi->model, sizeof mi->model, "%s", v);
      got_model = true;
    } else if (!strncmp(line, "vendor_id", 9)) {
      mi->amd = strstr(v, "AMD") != NULL;
    } else if (!strncmp(line, "cpu family", 10)) {
      mi->family = atoi(v);
    } else if (!strncmp(line, "model\t", 6)) {
      mi->model_no = atoi(v);
    } else if (!got_flags && !strncmp(line, "flags", 5)) {
      snprintf(flags, 8192, "%s", v);
      got_flags = true;
    }
  }
  if (f) fclose(f);
  mi->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (flags) {
    mi->simd_level = simd_level(flags);
    mi->hypervisor = has_flag(flags, "hypervisor");
    size_t n = 0;
    for (size_t i = 0; i < sizeof simd / sizeof *simd; i++)
      if (has_flag(flags, simd[i]) && n < sizeof mi->simd)
        n += (size_t)snprintf(mi->simd + n, sizeof mi->simd - n, "%s%s", n ? " " : "", simd[i]);
  }
  free(flags);
}

/* ---- which OpenBLAS kernel ------------------------------------------------ */

/* SIMD level of an OpenBLAS core name (openblas_get_corename). */
static int core_level(const char *core) {
  static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char *const avx2[] = {"haswell", "zen"};
  static const char *const avx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"};
  for (size_t i = 0; i < 3; i++)
    if (!strcasecmp(core, avx512[i])) return 4;
  for (size_t i = 0; i < 2; i++)
    if (!strcasecmp(core, avx2[i])) return 3;
  for (size_t i = 0; i < 5; i++)
    if (!strcasecmp(core, avx[i])) return 2;
  return 1; /* Prescott, Core2, Nehalem, Barcelona, ...: SSE kernels */
}

static const char *best_core(const bench_machine_info *mi) {
  switch (mi->simd_level) {
  case 4: return "SkylakeX";
  case 3: return mi->amd ? "Zen" : "Haswell";
  case 2: return "Sandybridge";
  default: return NULL;
  }
}

#define AUTO_ENV "FABC_BENCH_OPENBLAS_AUTODETECTED"

void bench_openblas_check(char **argv, bench_blas_info *bi) {
  memset(bi, 0, sizeof *bi);
  bench_machine_info mi;
  bench_machine(&mi);
  const char *core = openblas_get_corename(), *autod = getenv(AUTO_ENV), *forced = getenv("OPENBLAS_CORETYPE");
  snprintf(bi->config, sizeof bi->config, "%s", openblas_get_config());
  snprintf(bi->core, sizeof bi->core, "%s", core);
  if (autod) { /* the re-executed bench: this process runs the core we set */
    snprintf(bi->detected, sizeof bi->detected, "%s", autod);
    snprintf(bi->how, sizeof bi->how,
             "OpenBLAS auto-detected `%s` (a narrower ISA than this CPU's); the bench set "
             "`OPENBLAS_CORETYPE=%s` and re-executed itself, so OpenBLAS (and PyTorch's BLAS) ran `%s`",
             autod, forced ? forced : "?", core);
    return;
  }
  snprintf(bi->detected, sizeof bi->detected, "%s", core);
  if (forced) {
    snprintf(bi->how, sizeof bi->how, "`OPENBLAS_CORETYPE=%s` was set by the caller; OpenBLAS ran `%s`", forced, core);
    return;
  }
  const char *best = best_core(&mi);
  if (best && core_level(core) < mi.simd_level) {
    fprintf(stderr, "bench: OpenBLAS auto-detected the %s kernels on a CPU with %s; re-running with "
                    "OPENBLAS_CORETYPE=%s\n", core, mi.simd, best);
    setenv(AUTO_ENV, core, 1);
    setenv("OPENBLAS_CORETYPE", best, 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "bench: cannot re-execute /proc/self/exe; OpenBLAS keeps %s\n", core);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(AUTO_ENV);
  }
  snprintf(bi->how, sizeof bi->how, "OpenBLAS auto-detected and ran `%s`, which uses this CPU's widest vectors", core);
}

/* ---- baselines in a child process ---------------------------------------- */

/* The baselines run in a child process (fork, result through a pipe):
 * after OpenBLAS had run with 2 threads in this process, every later
 * 2-thread fabc measurement here was slow (Fourier mix at 2 threads 0.53
 * ms instead of 0.22; the same with OpenBLAS's threads stopped by
 * blas_thread_shutdown_, fast with OPENBLAS_NUM_THREADS=1; the mechanism
 * is not understood).  A child leaves nothing behind. */
double bench_in_child(double (*fn)(int64_t, int64_t, int), int64_t a, int64_t b, int threads) {
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

/* Best time of `fn` over 5 rounds of at least 0.1 s each (bench_clock). */
static double best_time(void (*fn)(void *), void *arg, int threads) {
  fn(arg);
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    int iters = 0;
    double t0 = bench_clock(threads), t;
    do {
      fn(arg);
      iters++;
      t = bench_clock(threads) - t0;
    } while (t < 0.1);
    if (t / iters < best) best = t / iters;
  }
  return best;
}

typedef struct gemm_arg {
  int rows, n;
  float *a, *b, *c;
} gemm_arg;

static void run_sgemm(void *p) {
  gemm_arg *g = p;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->rows, g->n, g->n, 1.0f, g->a, g->n, g->b, g->n, 0.0f,
              g->c, g->n);
}

/* rows x N times a dense N x N, `threads` OpenBLAS threads. */
double bench_sgemm_time(int64_t rows, int64_t n, int threads) {
  openblas_set_num_threads(threads);
  gemm_arg g = {(int)rows, (int)n, aligned_alloc(64, (size_t)(rows * n) * 4), aligned_alloc(64, (size_t)(n * n) * 4),
                aligned_alloc(64, (size_t)(rows * n) * 4)};
  for (int64_t i = 0; i < rows * n; i++) g.a[i] = (float)(i % 17) * 0.01f;
  for (int64_t i = 0; i < n * n; i++) g.b[i] = (float)(i % 13) * 0.01f;
  double t = best_time(run_sgemm, &g, threads);
  free(g.a);
  free(g.b);
  free(g.c);
  return t;
}

static void run_fftw(void *p) { fftwf_execute(*(fftwf_plan *)p); }

/* Re(FFT2) of a real [s x d] as FFTW computes it best: r2c 2-D (the half
 * spectrum holds every real part), FFTW_MEASURE, one thread. */
double bench_fftw_time(int64_t s, int64_t d, int threads) {
  (void)threads; /* one thread */
  float *in = fftwf_alloc_real((size_t)(s * d));
  fftwf_complex *out = fftwf_alloc_complex((size_t)(s * (d / 2 + 1)));
  fftwf_plan p = fftwf_plan_dft_r2c_2d((int)s, (int)d, in, out, FFTW_MEASURE);
  for (int64_t i = 0; i < s * d; i++) in[i] = (float)(i % 31) * 0.03f;
  double t = best_time(run_fftw, &p, 1);
  fftwf_destroy_plan(p);
  fftwf_free(in);
  fftwf_free(out);
  return t;
}

/* ---- bandwidth -------------------------------------------------------------- */

typedef struct copy_arg {
  float *src, *dst;
  size_t n;
} copy_arg;

typedef float v16sf __attribute__((vector_size(64)));

/* dst = k * src in 64-byte vectors: one zmm op with AVX-512, two ymm with
 * AVX (the clone that runs is chosen when the bench loads). */
__attribute__((target_clones("avx512f", "avx", "default"))) static void scale_copy(void *p) {
  copy_arg *c = p;
  const v16sf k = {1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f,
                   1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f, 1.0001f};
  const v16sf *src = (const v16sf *)c->src;
  v16sf *dst = (v16sf *)c->dst;
  for (size_t i = 0; i < c->n / 16; i++) dst[i] = k * src[i];
}

/* Bytes per second of a one-thread read + write stream (dst = k * src)
 * whose two buffers together take `footprint` bytes, repeated over the same
 * buffers as a benchmarked kernel repeats over its rows (so it measures the
 * cache level that footprint lives in). */
double bench_bandwidth(int64_t footprint) {
  size_t n = (size_t)(footprint / 8 + 63) / 64 * 64;
  copy_arg c = {aligned_alloc(64, n * 4), aligned_alloc(64, n * 4), n};
  if (!c.src || !c.dst) {
    free(c.src);
    free(c.dst);
    return -1;
  }
  for (size_t i = 0; i < n; i++) c.src[i] = c.dst[i] = (float)(i % 7);
  double t = best_time(scale_copy, &c, 1);
  free(c.src);
  free(c.dst);
  return (double)(2 * n * 4) / t;
}
