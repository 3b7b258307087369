/* bench_models.c — fabc-bench's whole-model part.
 *
 *   1. whole models (examples/fabnet_text.fab; examples/fabnet_base.fab at
 *      seq 128 and 512): latency of the CPU backend (JIT, raw entry) vs the
 *      reference interpreter vs PyTorch eager (scripts/bench/torch_eager.py
 *      through /usr/bin/python3, the golden generator's reference modules),
 *      1 and all threads, and the compile time split into front end
 *      (fab_frontend_compile_*), passes (fab_run_pipeline) and LLVM
 *      (fab_cpu_jit_compile: IR building, O3, code generation);
 *   2. scaling: latency against sequence length 256..4096 for an all-FBfly,
 *      an all-ABfly and a vanilla Transformer model of the same width (table
 *      + SVG plot), and compile time against depth (layers 1..24);
 *   3. stage-fusion depth: a 1024-point butterfly layer on 1024 rows with
 *      fuse-stages(k=K), K = 1..6, chain merging switched off and register
 *      groups of K (cpu-chain-bfly(chain=0,group=K)), so each op of K
 *      stages is one pass over memory with its own transposes.
 *
 * Models are compiled from .fab text the same way `fabc run --backend cpu`
 * does (front end, default cpu pipeline, JIT). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cpu.h"
#include "fab_runtime.h"
#include "frontend.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "target.h"

/* ---- compiling ------------------------------------------------------------ */

typedef struct compiled {
  fab_module *hl;  /* high-level, for the interpreter (NULL unless asked) */
  fab_module *low; /* lowered by the pipeline */
  fab_cpu_jit *jit;
  double t_front, t_pass, t_llvm;
} compiled;

static void compiled_free(compiled *c) {
  fab_cpu_jit_free(c->jit);
  fab_module_free(c->low);
  fab_module_free(c->hl);
  memset(c, 0, sizeof *c);
}

static fab_module *front(const bench_cfg *cfg, const char *src, const char *name, fab_diag *d) {
  char inc[1024];
  snprintf(inc, sizeof inc, "%s/examples", cfg->srcdir);
  const char *incs[1] = {inc};
  fab_frontend_options fo = {.include_dirs = incs, .ninclude_dirs = 1};
  return fab_frontend_compile_string(name, src, strlen(src), &fo, d);
}

/* src: .fab text (imports resolve in examples/).  pipeline NULL: the cpu
 * default.  fused > 0: the backend's register groups. */
static bool compile_model(const bench_cfg *cfg, const char *name, const char *src,
                          const char *pipeline, int fused, bool want_hl, compiled *c) {
  memset(c, 0, sizeof *c);
  fab_diag *d = fab_diag_new();
  double t0 = bench_cpu_now(); /* compiling is single-threaded */
  c->low = front(cfg, src, name, d);
  double t1 = bench_cpu_now();
  bool ok = c->low != NULL;
  if (ok) {
    fab_target_config tcfg = {0};
    ok = fab_target_lower(fab_target_find("cpu"), &tcfg, c->low, pipeline, NULL, d);
  }
  double t2 = bench_cpu_now();
  if (ok) {
    fab_cpu_options o;
    fab_cpu_options_default(&o);
    c->jit = fab_cpu_jit_compile(c->low, &o, d);
    ok = c->jit != NULL;
  }
  double t3 = bench_cpu_now();
  if (ok && want_hl) ok = (c->hl = front(cfg, src, name, d)) != NULL;
  c->t_front = t1 - t0;
  c->t_pass = t2 - t1;
  c->t_llvm = t3 - t2;
  if (!ok) {
    fprintf(stderr, "bench: cannot compile %s\n", name);
    fab_diag_print(d, stderr);
    compiled_free(c);
  }
  fab_diag_free(d);
  return ok;
}

fab_module *bench_lower_fab(const bench_cfg *cfg, const char *name, const char *src) {
  fab_diag *d = fab_diag_new();
  fab_module *m = front(cfg, src, name, d);
  fab_target_config tcfg = {0};
  if (m && !fab_target_lower(fab_target_find("cpu"), &tcfg, m, NULL, NULL, d)) {
    fab_module_free(m);
    m = NULL;
  }
  if (!m) {
    fprintf(stderr, "bench: cannot compile %s\n", name);
    fab_diag_print(d, stderr);
  }
  fab_diag_free(d);
  return m;
}

/* ---- running ---------------------------------------------------------------- */

typedef struct runner {
  fab_context *ctx;
  const void *in[8];
  void *out[8];
  fab_tensor_set *w, *inputs;
} runner;

static void runner_free(runner *r) {
  fab_context_free(r->ctx);
  for (int i = 0; i < 8; i++) free(r->out[i]);
  fab_tset_free(r->inputs);
  fab_tset_free(r->w);
  memset(r, 0, sizeof *r);
}

/* Seeded weights and inputs (the interpreter's draws) bound to the model. */
static bool runner_bind(runner *r, compiled *c, char *err, size_t errlen) {
  fab_diag *d = fab_diag_new();
  fab_model *mod = fab_cpu_jit_model(c->jit);
  r->w = fab_tset_new();
  r->inputs = fab_tset_new();
  bool ok = fab_bind_init_weights(c->low, 7, r->w, d) && fab_bind_init_inputs(c->low, 11, r->inputs, d);
  if (!ok) fab_diag_print(d, stderr);
  fab_diag_free(d);
  if (ok) ok = fab_model_bind_weights_ref(mod, r->w, err, errlen) == FAB_OK;
  if (ok && (fab_model_num_inputs(mod) > 8 || fab_model_num_outputs(mod) > 8)) ok = false;
  for (int i = 0; ok && i < fab_model_num_inputs(mod); i++) {
    fab_tensor *t = fab_tset_find(r->inputs, fab_model_input(mod, i)->name);
    if (!t) ok = false;
    else r->in[i] = t->data;
  }
  return ok;
}

/* A context with its own outputs.  share NULL: seeded weights and inputs
 * of its own; else share's (bound already, owned by share). */
static bool runner_init(runner *r, compiled *c, int threads, const runner *share) {
  memset(r, 0, sizeof *r);
  fab_model *mod = fab_cpu_jit_model(c->jit);
  char err[256] = "";
  fab_status st = FAB_OK;
  bool ok = true;
  if (share) memcpy(r->in, share->in, sizeof r->in);
  else ok = runner_bind(r, c, err, sizeof err);
  for (int i = 0; ok && i < fab_model_num_outputs(mod); i++)
    ok = (r->out[i] = aligned_alloc(64, ((size_t)fab_model_output(mod, i)->nbytes + 63) / 64 * 64)) != NULL;
  if (ok) ok = (r->ctx = fab_context_new(mod, threads, &st, err, sizeof err)) != NULL;
  if (!ok) {
    fprintf(stderr, "bench: cannot set up a run: %s\n", err);
    runner_free(r);
  }
  return ok;
}

static void run_fabc(void *arg) {
  runner *r = arg;
  fab_context_run_raw(r->ctx, r->in, r->out);
}

typedef struct interp_arg {
  compiled *c;
  runner *r;
} interp_arg;

static void run_interp(void *arg) {
  interp_arg *a = arg;
  fab_diag *d = fab_diag_new();
  fab_tensor_set *out = fab_tset_new();
  if (!fab_interp_run(a->c->hl, a->r->w, a->r->inputs, out, d)) fab_diag_print(d, stderr);
  fab_tset_free(out);
  fab_diag_free(d);
}

/* PyTorch eager forms (scripts/bench/torch_eager.py): dense nn.Linear,
 * torch_butterfly's reshape-based butterfly as written, and the same with
 * contiguous twiddles and two-output stages; all with torch.fft.fft2. */
enum { NFORMS = 3 };
static const char *const torch_forms[NFORMS] = {"dense", "butterfly", "butterfly-pairs"};

/* Median ms of each form (-1: missing); `describe` gets the script's
 * sentence on torch's version and BLAS when asked. */
static void torch_ms(const bench_cfg *cfg, const char *args, int threads, int min_reps, double ms[NFORMS],
                     char *describe, size_t dn) {
  const char *py = "/usr/bin/python3";
  char cmd[2048];
  for (int i = 0; i < NFORMS; i++) ms[i] = -1;
  /* OMP_WAIT_POLICY=PASSIVE: with the default spin-waiting, 2 OpenMP
   * threads on 2 vCPUs shared with other jobs ran 5-10x slower than 1.
   * OPENBLAS_CORETYPE, when the bench set it, is inherited. */
  snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=PASSIVE %s %s/scripts/bench/torch_eager.py %s --threads %d --min-reps %d "
           "--min-time 1 --forms dense,butterfly,butterfly-pairs%s 2>/dev/null", py, cfg->srcdir, args, threads,
           min_reps, describe ? " --describe" : "");
  FILE *p = popen(cmd, "r");
  if (!p) return;
  char line[2048] = "";
  while (fgets(line, sizeof line, p)) {
    if (describe && !strncmp(line, "describe: ", 10)) {
      size_t n = strcspn(line + 10, "\n");
      if (n >= dn) n = dn - 1;
      memcpy(describe, line + 10, n);
      describe[n] = 0;
      continue;
    }
    const char *k = strstr(line, "\"ms_median\":");
    for (int i = 0; k && i < NFORMS; i++) {
      char key[64];
      snprintf(key, sizeof key, "\"form\": \"%s\"", torch_forms[i]);
      if (!strstr(line, key)) continue;
      ms[i] = strtod(k + 12, NULL);
    }
  }
  pclose(p);
}

/* The fastest form's time, or -1. */
static double fastest(const double ms[NFORMS]) {
  double best = -1;
  for (int i = 0; i < NFORMS; i++)
    if (ms[i] > 0 && (best < 0 || ms[i] < best)) best = ms[i];
  return best;
}

static void fmt_ms(char *buf, size_t n, double ms) {
  if (ms > 0) snprintf(buf, n, "%.1f", ms);
  else snprintf(buf, n, "n/a");
}

/* ---- model sources ------------------------------------------------------------ */

/* A FABNet-style classifier of `layers` layers of one kind (f: FBfly,
 * a: ABfly, t: vanilla Transformer); post-LN, mean pooling. */
static void model_src(char *buf, size_t n, char kind, int64_t seq, int64_t d, int64_t h,
                      int64_t heads, int layers, int64_t vocab) {
  /* FABNet's decreasing-stride butterflies, as the documented numbers were measured. */
  const char *call = kind == 'f'   ? "fbfly(x, h, increasing = 0)"
                     : kind == 'a' ? "abfly(x, h, heads, increasing = 0)"
                                   : "transformer(x, h, heads)";
  snprintf(buf, n,
           "import \"lib/blocks.fab\";\n"
           "dim seq = %lld; dim d = %lld; dim h = %lld; dim heads = %lld; dim vocab = %lld;\n"
           "model m(tokens: i32[seq]) -> (logits: f32[2]) {\n"
           "  x = embed(tokens, vocab, d) as embed + posembed(seq, d) as pos;\n"
           "  repeat i in 0..%d { x = %s as layers.{i}; }\n"
           "  logits = linear(meanpool(x), 2) as head;\n"
           "}\n",
           (long long)seq, (long long)d, (long long)h, (long long)heads, (long long)vocab, layers, call);
}

/* An example file with `dim NAME = V;` lines replaced (what -D does). */
static char *example_src(const bench_cfg *cfg, const char *file, const char *dname, int64_t v) {
  char path[1024];
  snprintf(path, sizeof path, "%s/examples/%s", cfg->srcdir, file);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = calloc(1, 1 << 16);
  size_t len = text ? fread(text, 1, (1 << 16) - 256, f) : 0;
  fclose(f);
  if (!text || !len) {
    free(text);
    return NULL;
  }
  if (dname) {
    char key[128];
    snprintf(key, sizeof key, "dim %s = ", dname);
    char *p = strstr(text, key);
    if (p) {
      char *end = strchr(p, ';');
      char repl[160];
      snprintf(repl, sizeof repl, "dim %s = %lld", dname, (long long)v);
      size_t rl = strlen(repl), tail = strlen(end);
      memmove(p + rl, end, tail + 1);
      memcpy(p, repl, rl);
    }
  }
  return text;
}

/* ---- 1. whole models ------------------------------------------------------------ */

typedef struct whole {
  const char *label, *file, *dname;
  int64_t dval;
  const char *torch_args;
  int torch_reps, interp_reps;
} whole;

static const whole models[] = {
    {"fabnet_text (LRA Text: 2 FBfly, d 256, seq 1024)", "fabnet_text.fab", NULL, 0,
     "--layers 2 --seq 1024 --d 256 --h 512 --vocab 256 --pool mean", 3, 3},
    {"fabnet_base seq 128 (12 FBfly, d 768)", "fabnet_base.fab", "seq", 128,
     "--layers 12 --seq 128 --maxlen 512 --d 768 --h 3072 --vocab 30522 --pool cls", 2, 1},
    {"fabnet_base seq 512 (12 FBfly, d 768)", "fabnet_base.fab", "seq", 512,
     "--layers 12 --seq 512 --maxlen 512 --d 768 --h 3072 --vocab 30522 --pool cls", 1, 1},
};
enum { NMODELS = sizeof models / sizeof *models };

/* Whether the run includes models[k]: --model picks by label; without it
 * every model (--quick: the first only). */
static bool selected(const bench_cfg *cfg, int k) {
  if (cfg->nonly == 0) return !cfg->quick || k == 0;
  for (int i = 0; i < cfg->nonly; i++)
    if (strcasestr(models[k].label, cfg->only[i]) != NULL) return true;
  return false;
}

bool bench_check_models(const bench_cfg *cfg) {
  bool ok = true;
  for (int i = 0; i < cfg->nonly; i++) {
    bool hit = false;
    for (int k = 0; k < NMODELS; k++) hit = hit || strcasestr(models[k].label, cfg->only[i]) != NULL;
    if (hit) continue;
    fprintf(stderr, "fabc-bench: --model '%s' matches no whole model; they are:\n", cfg->only[i]);
    for (int k = 0; k < NMODELS; k++) fprintf(stderr, "  %s\n", models[k].label);
    ok = false;
  }
  return ok;
}

/* Seconds of interleaved 1- and N-thread runs per model, and rounds of
 * the host probe on each side of them. */
static double pair_window(const bench_cfg *cfg) { return cfg->quick ? 0.2 : 2.0; }
static int probe_rounds(const bench_cfg *cfg) { return cfg->quick ? 2 : 5; }

/* Everything one model's two rows show. */
typedef struct model_times {
  bench_pair pair;
  bench_host host;
  int host_before; /* rounds of host.ratio probed before the pair */
  double load0, load1, interp, flops;
  double steal; /* the stolen share of the CPUs' time during the pair (-1: unknown) */
  double torch[2][NFORMS]; /* 1 thread, N threads */
} model_times;

static void fmt_host(char *buf, size_t n, const bench_host *h) {
  bench_stats st, rtt;
  bench_host_stats(h, &st, &rtt);
  snprintf(buf, n, "%.2fx (%.2f..%.2f); line %.0f ns (%.0f..%.0f)", st.median, st.min, st.max, rtt.median, rtt.min,
           rtt.max);
}

/* Progress on stderr: the host probe before and after, the pair. */
static void report_pair(const bench_cfg *cfg, const whole *w, const model_times *mt) {
  bench_host before = mt->host, after = {.n = mt->host.n - mt->host_before};
  before.n = mt->host_before;
  for (int i = 0; i < after.n; i++) {
    after.ratio[i] = mt->host.ratio[mt->host_before + i];
    after.rtt[i] = mt->host.rtt[mt->host_before + i];
  }
  char hb[96], ha[96];
  fmt_host(hb, sizeof hb, &before);
  fmt_host(ha, sizeof ha, &after);
  const bench_pair *p = &mt->pair;
  fprintf(stderr, "bench: %s: host: %d threads ran at %s one thread before, %s after; load average %.2f -> %.2f; "
          "steal %.1f %%\n", w->label, cfg->threads, hb, ha, mt->load0, mt->load1, 100 * mt->steal);
  fprintf(stderr, "bench: %s: %d rounds: 1 thread %.3f ms CPU / %.3f ms wall, %d threads %.3f ms: %.2fx "
          "(CPU over wall: %.2fx)\n", w->label, p->rounds, p->one.median * 1e3, p->one_wall.median * 1e3,
          cfg->threads, p->many.median * 1e3, p->speedup, p->one.median / p->many.median);
}

/* One model's 1- and N-thread fabc times (interleaved, between host
 * probes) and its interpreter time. */
static bool time_fabc(const bench_cfg *cfg, const whole *w, compiled *c, model_times *mt) {
  runner one, many;
  if (!runner_init(&one, c, 1, NULL)) return false;
  if (!runner_init(&many, c, cfg->threads, &one)) {
    runner_free(&one);
    return false;
  }
  int probes = probe_rounds(cfg);
  mt->load0 = bench_loadavg();
  fprintf(stderr, "bench: %s: host probe, then fabc on 1 and %d threads interleaved, then host probe\n", w->label,
          cfg->threads);
  bench_host_probe(cfg, probes, &mt->host);
  mt->host_before = mt->host.n;
  bench_ticks t0, t1;
  bench_cpu_ticks(&t0);
  bench_interleave(run_fabc, &one, &many, pair_window(cfg), 1000, &mt->pair);
  bench_cpu_ticks(&t1);
  mt->steal = bench_steal_share(&t0, &t1);
  bench_host_probe(cfg, probes, &mt->host);
  mt->load1 = bench_loadavg();
  report_pair(cfg, w, mt);
  fprintf(stderr, "bench: %s: interpreter\n", w->label);
  interp_arg ia = {c, &one};
  bench_stats si;
  bench_time(run_interp, &ia, 1, cfg->quick ? 1 : w->interp_reps, w->interp_reps, 0, &si);
  mt->interp = si.median;
  runner_free(&many);
  runner_free(&one);
  return true;
}

/* One table row: fabc against its compute bound, the interpreter, the
 * PyTorch forms; on the N-thread row the speed-up and the host probe. */
static void model_row(FILE *out, const bench_cfg *cfg, const whole *w, int th, const model_times *mt) {
  bool one = th == 1;
  const bench_stats *st = one ? &mt->pair.one : &mt->pair.many;
  const double *torch = mt->torch[one ? 0 : 1];
  double best = fastest(torch), bound = mt->flops / ((one ? cfg->peak1 : cfg->peak2) * 1e9);
  char ti[32] = "-", tp[NFORMS][32], vt[32] = "n/a", sp[64] = "-", host[96] = "-", load[64] = "-";
  for (int i = 0; i < NFORMS; i++) fmt_ms(tp[i], sizeof tp[i], torch[i]);
  double t = st->median * 1e3;
  if (best > 0) snprintf(vt, sizeof vt, "%.1fx", best / t);
  if (one && mt->interp > 0) snprintf(ti, sizeof ti, "%.0f", mt->interp * 1e3);
  if (!one) {
    snprintf(sp, sizeof sp, "%.2fx (%.2f / %.2f ms, %d rounds)", mt->pair.speedup, mt->pair.one_wall.median * 1e3,
             mt->pair.many.median * 1e3, mt->pair.rounds);
    fmt_host(host, sizeof host, &mt->host);
    if (mt->steal >= 0) snprintf(load, sizeof load, "%.2f → %.2f; %.1f %%", mt->load0, mt->load1, 100 * mt->steal);
    else snprintf(load, sizeof load, "%.2f → %.2f; n/a", mt->load0, mt->load1);
  }
  fprintf(out, "| %s | %d | %.2f | %.2f..%.2f | %.3f | %.2f | %.0f%% | %s | %s | %s | %s | %s | %s | %s | %s |\n",
          w->label, th, t, st->min * 1e3, st->max * 1e3, mt->flops * 1e-9, bound * 1e3, 100 * bound / st->median, ti,
          tp[0], tp[1], tp[2], vt, sp, host, load);
  fflush(out);
}

static void keep_results(const bench_cfg *cfg, const whole *w, const model_times *mt) {
  bench_results *res = cfg->res;
  int slot = res->nmodels < BENCH_MAX_ROWS ? res->nmodels++ : BENCH_MAX_ROWS - 1;
  bench_stats host, rtt;
  bench_host_stats(&mt->host, &host, &rtt);
  res->model[slot].label = w->label;
  res->model[slot].t1 = mt->pair.one.median;
  res->model[slot].t2 = mt->pair.many.median;
  res->model[slot].bound1 = mt->flops / (cfg->peak1 * 1e9);
  res->model[slot].torch1 = fastest(mt->torch[0]) * 1e-3;
  res->model[slot].speedup = cfg->threads > 1 ? mt->pair.speedup : 0; /* 0: not measured */
  res->model[slot].wall1 = mt->pair.one_wall.median;
  res->model[slot].steal = mt->steal;
  res->model[slot].host = host.median;
}

/* Times one model at 1 and cfg->threads threads; false after a failure. */
static bool whole_model(FILE *out, const bench_cfg *cfg, const whole *w, char *comp, size_t *clen, size_t csize,
                        char *describe, size_t dn) {
  char *src = example_src(cfg, w->file, w->dname, w->dval);
  compiled c;
  if (!src || !compile_model(cfg, w->file, src, NULL, 0, true, &c)) {
    free(src);
    return false;
  }
  free(src);
  *clen += (size_t)snprintf(comp + *clen, csize - *clen, "| %s | %.3f | %.3f | %.3f | %.3f |\n", w->label, c.t_front,
                            c.t_pass, c.t_llvm, c.t_front + c.t_pass + c.t_llvm);
  model_times mt = {.interp = -1, .flops = bench_model_flops(c.hl)};
  bool ok = time_fabc(cfg, w, &c, &mt);
  compiled_free(&c);
  if (!ok) return false;
  for (int i = 0; i < (cfg->threads > 1 ? 2 : 1); i++) {
    int th = i ? cfg->threads : 1;
    fprintf(stderr, "bench: %s, %d thread(s): PyTorch eager\n", w->label, th);
    torch_ms(cfg, w->torch_args, th, cfg->quick ? 1 : w->torch_reps, mt.torch[i],
             describe && !*describe ? describe : NULL, dn);
  }
  keep_results(cfg, w, &mt);
  model_row(out, cfg, w, 1, &mt);
  if (cfg->threads > 1) model_row(out, cfg, w, cfg->threads, &mt);
  return true;
}

static void whole_method(FILE *out, const bench_cfg *cfg) {
  fprintf(out, "Latency of one inference (batch 1) in ms, median of repeated runs (min..max), clocks as above.  fabc: "
               "JIT, raw entry.  Compute bound: the model's flops (bench/flops.c: butterflies 4·n·log2 n per row, "
               "Fourier mixing as a real FFT, 2.5·N·log2 N) at the FMA peak measured above for that thread "
               "count; `bound / fabc` is the fraction of it fabc reaches.  Interpreter: `fab_interp_run`, one "
               "thread.  PyTorch eager (`scripts/bench/torch_eager.py`, float32, `torch.inference_mode()`, "
               "`torch.fft.fft2(x).real` mixing, same threads): *dense* `nn.Linear` FFN; *butterfly* "
               "torch_butterfly's reshape-based algorithm (`butterfly_multiply_torch`) re-implemented; "
               "*butterfly, pairs* the same stages with contiguous twiddles and two-output products.  "
               "`vs PyTorch`: the fastest of the three forms over fabc.\n\n");
  int n = cfg->threads;
  fprintf(out, "fabc on 1 and %d threads: one compiled model, two contexts, timed alternately in one window of at "
               "least %.1f s (at least 5 rounds, at most 1000): each round times one run of each context, the "
               "order alternating from round to round, and each timed run follows an untimed run of the same "
               "context (its scratch in cache, its worker awake, as in back-to-back inference), so every stretch "
               "of host noise falls on both.  The 1-thread row's fabc time is the calling thread's CPU time "
               "(not the process's, unlike the other 1-thread times: the idle worker of the other context "
               "spins for a while after each job), the %d-thread row's wall-clock time.  `fabc 1 → %d threads` "
               "divides the 1-thread median wall-clock time by the %d-thread median wall-clock time of that "
               "window (the two medians are in brackets): one clock for both sides, since CPU time leaves out "
               "the moments when other jobs or the host took the vCPU away and wall-clock time does not.  When "
               "that 1-thread wall-clock median is well above the 1-thread row's CPU time, other jobs had the "
               "cores (the scheduler then gives %d threads more turns than 1) and the speed-up means little.\n\n",
          n, pair_window(cfg), n, n, n, n);
  fprintf(out, "`host`: just before and just after that window, %d rounds each of a 20 ms FMA loop (the peak loop "
               "above) on 1 thread and then on %d threads at once, wall-clock time; each round gives %d × t(1 "
               "thread) / t(%d threads), and the column shows the median (min..max) of the rounds: %d.00 when "
               "the %d threads ran in parallel all the time, 1.00 when they ran one at a time (other jobs on the "
               "machine, or a host that ran one vCPU at a time).  A low speed-up beside a host figure near %d is "
               "the model's; beside a low host figure it is the machine's.  The probe measures throughput: short "
               "stalls that hit both of its runs alike leave it near %d, while a model's run waits at each of its "
               "fork/join barriers for the slowest thread.  `load; steal`: the 1-minute load average just before "
               "and just after, and the share of all CPUs' time during the window that the host took away "
               "(/proc/stat's steal time, which this guest kernel counts when the host reports it).  `line`: in each "
               "probe round, the round trip of one cache line between two threads (ns, median of 5 batches of 4000 "
               "after 500 untimed), what every fork/join barrier pays: it grows when the host puts the vCPUs on "
               "cores that share no cache, which the FMA loop cannot see.\n\n",
          probe_rounds(cfg), n, n, n, n, n, n, n);
}

static bool whole_models(FILE *out, const bench_cfg *cfg) {
  char *table = NULL, describe[1024] = "";
  size_t tlen = 0;
  FILE *t = open_memstream(&table, &tlen);
  if (!t) return false;
  char comp[4096] = "";
  size_t clen = 0;
  bool ok = true;
  for (int k = 0; ok && k < NMODELS; k++)
    if (selected(cfg, k)) ok = whole_model(t, cfg, &models[k], comp, &clen, sizeof comp, describe, sizeof describe);
  fclose(t);
  fprintf(out, "### Whole models\n\n");
  whole_method(out, cfg);
  fprintf(out, "%s%s%s"
               "| model | threads | fabc | spread | GFLOP | compute bound | bound / fabc | interpreter | PyTorch dense | "
               "PyTorch butterfly | PyTorch butterfly, pairs | vs PyTorch | fabc 1 → %d threads | host: %d threads "
               "ran at (× 1 thread) | load; steal |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n%s\n",
          *describe ? "PyTorch: " : "", describe, *describe ? ".\n\n" : "", cfg->threads, cfg->threads,
          table ? table : "");
  free(table);
  if (!ok) return false;
  fprintf(out, "### Compile time (CPU seconds: front end, passes, LLVM)\n\n"
               "| model | front end | passes | LLVM (IR, O3, codegen) | total |\n|---|---|---|---|---|\n%s\n",
          comp);
  return true;
}

/* ---- 2. scaling ------------------------------------------------------------------ */

#define NSEQ 5
static const int64_t seqs[NSEQ] = {256, 512, 1024, 2048, 4096};

static void write_svg(const char *path, double ms[3][NSEQ], const char *const names[3]) {
  FILE *f = fopen(path, "w");
  if (!f) return;
  const double W = 640, H = 420, L = 70, R = 160, T = 30, B = 55;
  double lo = 1e30, hi = 0;
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < NSEQ; i++)
      if (ms[k][i] > 0) {
        lo = fmin(lo, ms[k][i]);
        hi = fmax(hi, ms[k][i]);
      }
  if (hi <= 0) {
    fclose(f);
    return;
  }
  double y0 = floor(log10(lo)), y1 = ceil(log10(hi));
  if (y1 <= y0) y1 = y0 + 1;
  double x0 = log2((double)seqs[0]), x1 = log2((double)seqs[NSEQ - 1]);
#define SX(s) (L + (log2((double)(s)) - x0) / (x1 - x0) * (W - L - R))
#define SY(v) (H - B - (log10(v) - y0) / (y1 - y0) * (H - T - B))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          W, H);
  fprintf(f, "<text x=\"%.0f\" y=\"18\" text-anchor=\"middle\">fabc CPU latency vs sequence length "
             "(d 256, 2 layers, 1 thread; log-log)</text>\n", (W - R + L) / 2);
  for (double e = y0; e <= y1 + 1e-9; e++) {
    double y = SY(pow(10, e));
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, y, W - R, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, y + 4, pow(10, e));
  }
  for (int i = 0; i < NSEQ; i++) {
    double x = SX(seqs[i]);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x, T, x, H - B);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>\n", x, H - B + 16,
            (long long)seqs[i]);
  }
  fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
          L, T, W - L - R, H - T - B);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">sequence length (tokens, log scale)</text>\n",
          (W - R + L) / 2, H - 15);
  fprintf(f, "<text transform=\"translate(18 %.0f) rotate(-90)\" text-anchor=\"middle\">latency (ms, log "
             "scale)</text>\n", (H - B + T) / 2);
  static const char *const col[3] = {"#1f77b4", "#d62728", "#2ca02c"};
  for (int k = 0; k < 3; k++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col[k]);
    for (int i = 0; i < NSEQ; i++)
      if (ms[k][i] > 0) fprintf(f, "%.1f,%.1f ", SX(seqs[i]), SY(ms[k][i]));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < NSEQ; i++)
      if (ms[k][i] > 0)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", SX(seqs[i]), SY(ms[k][i]), col[k]);
    double ly = T + 20 + 22 * k;
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
            W - R + 12, ly, W - R + 36, ly, col[k]);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", W - R + 42, ly + 4, names[k]);
  }
  fprintf(f, "</svg>\n");
#undef SX
#undef SY
  fclose(f);
}

static bool scaling(FILE *out, const bench_cfg *cfg) {
  static const char kinds[3] = {'f', 'a', 't'};
  static const char *const names[3] = {"all-FBfly", "all-ABfly", "Transformer"};
  double ms[3][NSEQ];
  int nseq = cfg->quick ? 2 : NSEQ;
  fprintf(out, "### Scaling with sequence length\n\n"
               "2 post-LN layers, d 256, FFN 512, 4 heads, mean pooling; fabc, 1 thread, median "
               "(min..max) in ms.  Plot: `perf-scaling.svg`.\n\n"
               "| seq | all-FBfly | all-ABfly | Transformer (dense) |\n|---|---|---|---|\n");
  for (int i = 0; i < nseq; i++) {
    fprintf(out, "| %lld |", (long long)seqs[i]);
    for (int k = 0; k < 3; k++) {
      char src[1024];
      model_src(src, sizeof src, kinds[k], seqs[i], 256, 512, 4, 2, 256);
      compiled c;
      runner r;
      ms[k][i] = -1;
      if (!compile_model(cfg, names[k], src, NULL, 0, false, &c)) return false;
      if (!runner_init(&r, &c, 1, NULL)) {
        compiled_free(&c);
        return false;
      }
      fprintf(stderr, "bench: scaling %s seq %lld\n", names[k], (long long)seqs[i]);
      bench_stats st;
      bench_time(run_fabc, &r, 1, 3, 100, cfg->quick ? 0.1 : 0.5, &st);
      ms[k][i] = st.median * 1e3;
      fprintf(out, " %.2f (%.2f..%.2f) |", st.median * 1e3, st.min * 1e3, st.max * 1e3);
      runner_free(&r);
      compiled_free(&c);
    }
    fprintf(out, "\n");
    fflush(out);
  }
  for (int i = nseq; i < NSEQ; i++)
    for (int k = 0; k < 3; k++) ms[k][i] = -1;
  if (cfg->svg) write_svg(cfg->svg, ms, names);

  static const int depths[] = {1, 3, 6, 12, 24};
  int nd = cfg->quick ? 2 : 5;
  fprintf(out, "\n### Compile time against depth\n\n"
               "fabnet_base shape (FBfly, d 768, FFN 3072, seq 128), CPU seconds.\n\n"
               "| layers | front end | passes | LLVM | total |\n|---|---|---|---|---|\n");
  for (int i = 0; i < nd; i++) {
    char *src = example_src(cfg, "fabnet_base.fab", "layers", depths[i]);
    compiled c;
    fprintf(stderr, "bench: compile time, %d layers\n", depths[i]);
    if (!src || !compile_model(cfg, "fabnet_base.fab", src, NULL, 0, false, &c)) {
      free(src);
      return false;
    }
    free(src);
    double total = c.t_front + c.t_pass + c.t_llvm;
    fprintf(out, "| %d | %.3f | %.3f | %.3f | %.3f |\n", depths[i], c.t_front, c.t_pass, c.t_llvm, total);
    if (depths[i] == 1) cfg->res->compile1 = total;
    if (depths[i] == 24) cfg->res->compile24 = total;
    fflush(out);
    compiled_free(&c);
  }
  fprintf(out, "\n");
  return true;
}

/* ---- 3. stage-fusion depth ----------------------------------------------------------- */

static bool fusion_depth(FILE *out, const bench_cfg *cfg) {
  const char *src = "model b(x: f32[1024, 1024]) -> (y: f32[1024, 1024]) {\n"
                    "  y = bfly(x, 1024, bias = 0) as l;\n}\n";
  const double flops = 4.0 * 1024 * 10 * 1024;
  fprintf(out, "### Stage-fusion depth\n\n"
               "One 1024-point butterfly layer (10 stages) on 1024 rows, 1 thread, "
               "pipeline `canonicalize,lower-bfly,canonicalize,fuse-stages(k=K),fuse-elementwise,memplan,"
               "cpu-chain-bfly(chain=0,group=K)`: no merging of bfly.stages chains and "
               "in-register groups of K stages, so each op of K stages is "
               "one pass over the rows with its own transposes in and out.  Last row: the default "
               "(k = 4 and chain merging on: one pass, groups of 3 in registers).\n\n"
               "| k | ops (passes) | time (ms) | spread (ms) | GFLOP/s |\n|---|---|---|---|---|\n");
  for (int k = 1; k <= 7; k++) {
    char pipe[256];
    bool dflt = k == 7;
    snprintf(pipe, sizeof pipe,
             "canonicalize,lower-bfly,canonicalize,fuse-stages(k=%d),fuse-elementwise,memplan,"
             "cpu-chain-bfly(chain=%d,group=%d)",
             dflt ? 4 : k, dflt, dflt ? 3 : k);
    compiled c;
    bool ok = compile_model(cfg, "fusion", src, pipe, dflt ? 0 : k, false, &c);
    if (!ok) return false;
    runner r;
    if (!runner_init(&r, &c, 1, NULL)) {
      compiled_free(&c);
      return false;
    }
    bench_stats st;
    bench_time(run_fabc, &r, 1, 5, 1000, cfg->quick ? 0.1 : 0.5, &st);
    fprintf(out, "| %s | %d | %.3f | %.3f..%.3f | %.1f |\n", dflt ? "default (4, merged)" : (char[2]){(char)('0' + k), 0},
            dflt ? 1 : (10 + k - 1) / k, st.median * 1e3, st.min * 1e3, st.max * 1e3, flops / st.median * 1e-9);
    fflush(out);
    runner_free(&r);
    compiled_free(&c);
  }
  fprintf(out, "\n");
  return true;
}

bool bench_models(FILE *out, const bench_cfg *cfg) {
  if (cfg->models_only) return whole_models(out, cfg);
  return whole_models(out, cfg) && scaling(out, cfg) && fusion_depth(out, cfg);
}
