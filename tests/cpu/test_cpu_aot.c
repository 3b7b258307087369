/* test_cpu_aot.c — ahead-of-time output and the runtime loader:
 *   cpu.aot_so        .so + header, loaded by the runtime, vs the interpreter
 *   cpu.aot_emit      LLVM IR / assembly / object files
 *   cpu.aot_embed     weights embedded in the .so
 *   cpu.aot_threads   two contexts on one model in two threads (and 2-thread pools)
 *   cpu.aot_errors    missing/misshaped weights and inputs, bad token ids,
 *                     truncated / corrupt / foreign / other-version .so files */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_test_util.h"
#include "cpu_test_models.h"
#include "fab_runtime.h"

static char g_dir[256];

static void path_in(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", g_dir, name); }

typedef struct fixture {
  tb t;
  fab_tensor_set *w, *in, *want;
} fixture;

static bool fixture_init(fixture *f) {
  build_model(&f->t);
  f->w = fab_tset_new();
  f->in = fab_tset_new();
  f->want = fab_tset_new();
  bool ok = fab_verify(f->t.m, f->t.d) && fab_bind_init_weights(f->t.m, 3, f->w, f->t.d) &&
            fab_bind_init_inputs(f->t.m, 5, f->in, f->t.d) &&
            fab_interp_run(f->t.m, f->w, f->in, f->want, f->t.d);
  CHECK(ok, "fixture");
  return ok;
}

static void fixture_free(fixture *f) {
  fab_tset_free(f->w);
  fab_tset_free(f->in);
  fab_tset_free(f->want);
  tb_free(&f->t);
}

static bool emit_so(fixture *f, const char *name, bool embed, char *out, size_t n) {
  path_in(out, n, name);
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.embed_weights = embed;
  o.weights = f->w;
  bool ok = fab_cpu_emit(f->t.m, &o, FAB_CPU_EMIT_SHARED, out, f->t.d);
  CHECK(ok, "emit %s", name);
  if (!ok) fab_diag_print(f->t.d, stderr);
  return ok;
}

static void run_and_compare(fab_model *m, fixture *f, int threads, const char *what) {
  char err[256];
  fab_status st;
  fab_context *ctx = fab_context_new(m, threads, &st, err, sizeof err);
  CHECK(ctx, "context: %s", err);
  if (!ctx) return;
  fab_tensor_set *got = fab_tset_new();
  st = fab_context_run(ctx, f->in, got, err, sizeof err);
  CHECK(st == FAB_OK, "run: %s", err);
  if (st == FAB_OK) close_sets(what, got, f->want, 1e-4);
  fab_tset_free(got);
  fab_context_free(ctx);
}

static void test_so(void) {
  fixture f;
  char so[512], hdr[512];
  if (!fixture_init(&f) || !emit_so(&f, "model.so", false, so, sizeof so)) goto done;
  path_in(hdr, sizeof hdr, "model.h");
  struct stat sb;
  CHECK(stat(hdr, &sb) == 0 && sb.st_size > 0, "header written");
  char err[256];
  fab_status st;
  fab_model *m = fab_model_load(so, &st, err, sizeof err);
  CHECK(m, "load: %s", err);
  if (!m) goto done;
  CHECK(fab_model_num_inputs(m) == 2 && fab_model_num_outputs(m) == 1 && fab_model_num_weights(m) == 5,
        "introspection");
  CHECK(!strcmp(fab_model_input(m, 0)->name, "x") && fab_model_input(m, 1)->dtype == FAB_DT_I32,
        "input descriptors");
  CHECK(fab_model_output(m, 0)->dims[1] == 64, "output dims");
  /* no weights bound yet */
  CHECK(!fab_context_new(m, 1, &st, err, sizeof err) && st == FAB_E_MISSING, "unbound: %s", err);
  st = fab_model_bind_weights(m, f.w, err, sizeof err);
  CHECK(st == FAB_OK, "bind: %s", err);
  run_and_compare(m, &f, 1, "aot .so");
  run_and_compare(m, &f, 2, "aot .so 2 threads");
  fab_model_free(m);
done:
  fixture_free(&f);
}

static void test_emit(void) {
  fixture f;
  if (!fixture_init(&f)) goto done;
  const struct {
    fab_cpu_emit_kind k;
    const char *name, *needle;
  } kinds[] = {{FAB_CPU_EMIT_LLVM_IR, "model.ll", "fab_model_v1"},
               {FAB_CPU_EMIT_ASM, "model.s", "fab_model_v1"},
               {FAB_CPU_EMIT_OBJ, "model.o", NULL}};
  for (size_t i = 0; i < 3; i++) {
    char p[512];
    path_in(p, sizeof p, kinds[i].name);
    bool ok = fab_cpu_emit(f.t.m, NULL, kinds[i].k, p, f.t.d);
    CHECK(ok, "emit %s", kinds[i].name);
    FILE *fp = fopen(p, "rb");
    CHECK(fp, "%s exists", p);
    if (!fp) continue;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    CHECK(n > 100, "%s non-empty", p);
    if (kinds[i].needle) CHECK(strstr(buf, kinds[i].needle), "%s mentions %s", p, kinds[i].needle);
  }
  /* the AVX-512 kernel uses zmm registers when the host has them */
  char features[64] = "";
  fab_cpu_target ti;
  if (fab_cpu_target_info(NULL, &ti, f.t.d)) {
    snprintf(features, sizeof features, "%s", ti.name);
    CHECK(ti.vector_lanes >= 4 && ti.fast_memory_bytes > 0, "target info");
  }
  /* the kernels' vector width for named CPUs and feature strings */
  static const struct {
    const char *cpu, *features;
    int lanes;
  } widths[] = {{"x86-64-v4", NULL, 16}, {"skx", NULL, 16},     {"alderlake", NULL, 8},
                {"x86-64-v3", NULL, 8},  {"x86-64", NULL, 4},    {"x86-64", "+avx2,+fma", 8},
                {"skx", "-avx512f", 8},  {"znver4", NULL, 16},   {"haswell", "-avx", 4}};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
    fab_cpu_options wo;
    fab_cpu_options_default(&wo);
    wo.cpu = widths[i].cpu;
    wo.features = widths[i].features;
    fab_cpu_target wt = {0};
    CHECK(fab_cpu_target_info(&wo, &wt, f.t.d) && wt.vector_lanes == widths[i].lanes,
          "lanes of --cpu %s --features %s: %d, want %d", widths[i].cpu,
          widths[i].features ? widths[i].features : "(default)", wt.vector_lanes, widths[i].lanes);
  }
  /* cross-targeting a named CPU without AVX-512 */
  fab_cpu_options o;
  fab_cpu_options_default(&o);
  o.cpu = "haswell";
  char p[512];
  path_in(p, sizeof p, "haswell.s");
  CHECK(fab_cpu_emit(f.t.m, &o, FAB_CPU_EMIT_ASM, p, f.t.d), "emit for haswell");
  o.cpu = "no-such-cpu-xyz";
  path_in(p, sizeof p, "bad.s");
  CHECK(!fab_cpu_emit(f.t.m, &o, FAB_CPU_EMIT_ASM, p, f.t.d) && fab_diag_error_count(f.t.d) > 0,
        "unknown cpu is an error, not an LLVM abort");
  fab_diag_clear(f.t.d);
done:
  fixture_free(&f);
}

static void test_embed(void) {
  fixture f;
  char so[512];
  if (!fixture_init(&f) || !emit_so(&f, "embedded.so", true, so, sizeof so)) goto done;
  char err[256];
  fab_status st;
  fab_model *m = fab_model_load(so, &st, err, sizeof err);
  CHECK(m, "load: %s", err);
  if (m) {
    CHECK(fab_model_descriptor(m)->embedded_weights == 1, "embedded flag");
    run_and_compare(m, &f, 1, "embedded weights");
    fab_model_free(m);
  }
done:
  fixture_free(&f);
}

typedef struct thr {
  fab_model *m;
  const fab_tensor_set *in;
  fab_tensor_set *out;
  int threads;
  fab_status st;
} thr;

static void *thread_main(void *arg) {
  thr *a = arg;
  char err[256];
  fab_context *ctx = fab_context_new(a->m, a->threads, &a->st, err, sizeof err);
  if (!ctx) return NULL;
  for (int i = 0; i < 20 && a->st == FAB_OK; i++) a->st = fab_context_run(ctx, a->in, a->out, err, sizeof err);
  fab_context_free(ctx);
  return NULL;
}

static void test_threads(void) {
  fixture f;
  char so[512];
  if (!fixture_init(&f) || !emit_so(&f, "threads.so", false, so, sizeof so)) goto done;
  char err[256];
  fab_status st;
  fab_model *m = fab_model_load(so, &st, err, sizeof err);
  CHECK(m && fab_model_bind_weights(m, f.w, err, sizeof err) == FAB_OK, "load+bind: %s", err);
  if (!m) goto done;
  thr a[2] = {{m, f.in, fab_tset_new(), 1, FAB_OK}, {m, f.in, fab_tset_new(), 2, FAB_OK}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_main, &a[i]);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  CHECK(a[0].st == FAB_OK && a[1].st == FAB_OK, "both runs ok");
  fab_tensor *o0 = fab_tset_find(a[0].out, "out"), *o1 = fab_tset_find(a[1].out, "out");
  CHECK(o0 && o1 && o0->nbytes == o1->nbytes && !memcmp(o0->data, o1->data, o0->nbytes),
        "identical results from two contexts");
  if (o0) close_sets("threads", a[0].out, f.want, 1e-4);
  fab_tset_free(a[0].out);
  fab_tset_free(a[1].out);
  fab_model_free(m);
done:
  fixture_free(&f);
}

static bool write_file(const char *path, const void *data, size_t n) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return false;
  bool ok = fwrite(data, 1, n, fp) == n;
  return fclose(fp) == 0 && ok;
}

static bool cc_shared(const char *src_text, const char *name, char *so, size_t n) {
  char src[512], cmd[2048];
  path_in(src, sizeof src, name);
  strcat(src, ".c");
  path_in(so, n, name);
  strcat(so, ".so");
  if (!write_file(src, src_text, strlen(src_text))) return false;
  snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s'", so, src);
  return system(cmd) == 0;
}

static void expect_load_error(const char *path, fab_status want, const char *what) {
  char err[256] = "";
  fab_status st = FAB_OK;
  fab_model *m = fab_model_load(path, &st, err, sizeof err);
  CHECK(!m && st == want, "%s: status %s (want %s): %s", what, fab_status_name(st), fab_status_name(want), err);
  CHECK(err[0], "%s: has a message", what);
  fab_model_free(m);
}

static void test_errors(void) {
  fixture f;
  char so[512], p[512], err[256];
  fab_status st;
  if (!fixture_init(&f) || !emit_so(&f, "good.so", false, so, sizeof so)) goto done;
  /* truncated copy */
  FILE *fp = fopen(so, "rb");
  static char buf[1 << 22];
  size_t n = fp ? fread(buf, 1, sizeof buf, fp) : 0;
  if (fp) fclose(fp);
  path_in(p, sizeof p, "truncated.so");
  CHECK(n > 4096 && write_file(p, buf, n / 3), "write truncated");
  expect_load_error(p, FAB_E_FORMAT, "truncated .so");
  path_in(p, sizeof p, "garbage.so");
  for (size_t i = 0; i < 4096; i++) buf[i] = (char)(i * 2654435761u >> 13);
  write_file(p, buf, 4096);
  expect_load_error(p, FAB_E_FORMAT, "garbage .so");
  path_in(p, sizeof p, "does-not-exist.so");
  expect_load_error(p, FAB_E_IO, "missing file");
#if defined(__x86_64__)
  /* the runtime tests exactly the features FAB_MODEL_CPU_FEATURES lists */
  {
    char list[] = FAB_MODEL_CPU_FEATURES;
    int i = 0;
    for (char *sv = NULL, *ft = strtok_r(list, ",", &sv); ft; ft = strtok_r(NULL, ",", &sv), i++)
      CHECK(fab_cpu_feature_name(i) && !strcmp(fab_cpu_feature_name(i), ft), "runtime feature %d is %s", i, ft);
    CHECK(!fab_cpu_feature_name(i), "runtime feature table has %d entries", i);
  }
  /* a model using an instruction set this CPU lacks is refused by name
   * (FAB_RT_ASSUME_MISSING stands in for an older CPU), never run into
   * an illegal instruction; the native build uses AVX on any x86-64
   * machine with vectors of 8 or more lanes */
  if (__builtin_cpu_supports("avx")) {
    setenv("FAB_RT_ASSUME_MISSING", "avx", 1);
    st = FAB_OK;
    err[0] = 0;
    fab_model *mm = fab_model_load(so, &st, err, sizeof err);
    CHECK(!mm && st == FAB_E_VERSION && strstr(err, "uses avx") && strstr(err, "lacks"),
          "a model for a missing feature: %s: %s", fab_status_name(st), err);
    fab_model_free(mm);
    unsetenv("FAB_RT_ASSUME_MISSING");
    CHECK(fab_cpu_check_target("x86_64-pc-linux-gnu haswell +avx", err, sizeof err) == FAB_OK,
          "a present feature passes: %s", err);
    CHECK(fab_cpu_check_target("aarch64-linux-gnu x +avx", err, sizeof err) == FAB_OK &&
              fab_cpu_check_target("x86_64-pc-linux-gnu haswell", err, sizeof err) == FAB_OK &&
              fab_cpu_check_target("x86_64-pc-linux-gnu haswell +nosuchfeature", err, sizeof err) == FAB_OK,
          "other targets, no list, unknown names pass");
  }
#endif
  /* truncated at many points */
  for (size_t cut = 16; cut < n; cut = cut * 3 / 2 + 1) {
    path_in(p, sizeof p, "cut.so");
    fp = fopen(so, "rb");
    size_t got = fp ? fread(buf, 1, cut, fp) : 0;
    if (fp) fclose(fp);
    write_file(p, buf, got);
    char e2[256];
    fab_status s2;
    fab_model *mm = fab_model_load(p, &s2, e2, sizeof e2);
    CHECK(!mm && s2 == FAB_E_FORMAT, "cut at %zu: %s", cut, fab_status_name(s2));
    fab_model_free(mm);
  }
  /* a shared library without the descriptor */
  if (cc_shared("int some_function(void) { return 1; }\n", "foreign", p, sizeof p))
    expect_load_error(p, FAB_E_VERSION, "foreign .so");
  /* a descriptor of another ABI version, and one with a lying field */
  char src[2048];
  snprintf(src, sizeof src,
           "#include <stdint.h>\n"
           "struct d { uint64_t magic; uint32_t v, size; uint64_t hash; const char *name;"
           " int32_t ni, no, nw, emb; const void *in, *out, *w; int64_t scratch; void *run;"
           " const void *wd; const char *target; };\n"
           "const struct d fab_model_v1 = {%lluull, %d, sizeof(struct d), 0, \"x\", %d, 0, 0, 0,"
           " 0, 0, 0, 0, (void *)0, 0, 0};\n",
           (unsigned long long)FAB_MODEL_MAGIC, 99, 0);
  if (cc_shared(src, "version99", p, sizeof p)) expect_load_error(p, FAB_E_VERSION, "ABI 99");
  snprintf(src, sizeof src,
           "#include <stdint.h>\n"
           "static int run(void) { return 0; }\n"
           "struct d { uint64_t magic; uint32_t v, size; uint64_t hash; const char *name;"
           " int32_t ni, no, nw, emb; const void *in, *out, *w; int64_t scratch; void *run;"
           " const void *wd; const char *target; };\n"
           "const struct d fab_model_v1 = {%lluull, %d, sizeof(struct d), 0, \"x\", 1000000, 0, 0, 0,"
           " 0, 0, 0, 0, (void *)run, 0, 0};\n",
           (unsigned long long)FAB_MODEL_MAGIC, FAB_MODEL_ABI_VERSION);
  if (cc_shared(src, "lying", p, sizeof p)) expect_load_error(p, FAB_E_FORMAT, "absurd counts");

  fab_model *m = fab_model_load(so, &st, err, sizeof err);
  CHECK(m, "load good: %s", err);
  if (!m) goto done;
  /* missing and misshaped weights */
  fab_tensor_set *w = fab_tset_new();
  const int64_t d1[1] = {64};
  fab_tset_add(w, "fc.bias", FAB_DT_F32, 1, d1);
  st = fab_model_bind_weights(m, w, err, sizeof err);
  CHECK(st == FAB_E_MISSING && strstr(err, "fc.twiddle"), "missing weight: %s", err);
  for (int i = 0; i < f.w->count; i++) {
    const fab_tensor *t = &f.w->items[i];
    if (strcmp(t->name, "ln.gamma")) memcpy(fab_tset_add(w, t->name, t->dtype, t->rank, t->dims)->data, t->data, t->nbytes);
  }
  const int64_t d2[1] = {63};
  fab_tset_add(w, "ln.gamma", FAB_DT_F32, 1, d2);
  st = fab_model_bind_weights(m, w, err, sizeof err);
  CHECK(st == FAB_E_SHAPE && strstr(err, "ln.gamma"), "misshaped weight: %s", err);
  fab_tset_free(w);
  CHECK(fab_model_bind_weights(m, f.w, err, sizeof err) == FAB_OK, "bind: %s", err);
  fab_context *ctx = fab_context_new(m, 1, &st, err, sizeof err);
  CHECK(ctx, "context");
  if (ctx) {
    fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new();
    /* missing input */
    st = fab_context_run(ctx, in, out, err, sizeof err);
    CHECK(st == FAB_E_MISSING, "missing input: %s", err);
    /* token id out of range */
    for (int i = 0; i < f.in->count; i++) {
      const fab_tensor *t = &f.in->items[i];
      memcpy(fab_tset_add(in, t->name, t->dtype, t->rank, t->dims)->data, t->data, t->nbytes);
    }
    ((int32_t *)fab_tset_find(in, "ids")->data)[7] = 50;
    st = fab_context_run(ctx, in, out, err, sizeof err);
    CHECK(st == FAB_E_RUNTIME, "token out of range: %s", err);
    ((int32_t *)fab_tset_find(in, "ids")->data)[7] = -1;
    st = fab_context_run(ctx, in, out, err, sizeof err);
    CHECK(st == FAB_E_RUNTIME, "negative token: %s", err);
    /* misshaped input */
    const int64_t bad[2] = {41, 64};
    fab_tset_add(in, "x", FAB_DT_F32, 2, bad);
    st = fab_context_run(ctx, in, out, err, sizeof err);
    CHECK(st == FAB_E_SHAPE, "misshaped input: %s", err);
    fab_tset_free(in);
    fab_tset_free(out);
    fab_context_free(ctx);
  }
  fab_model_free(m);
  /* the JIT reports a high-level op instead of crashing */
  tb t = tb_new("high");
  int64_t xd[2] = {4, 8};
  int x = tb_input(&t, "x", FAB_F32, 2, xd);
  tb_op(&t, FAB_OP_FOURIER_MIX, x, -1, -1, -1);
  tb_output(&t, tb_infer(&t), "y");
  fab_cpu_jit *j = fab_cpu_jit_compile(t.m, NULL, t.d);
  CHECK(!j && fab_diag_error_count(t.d) > 0, "high-level op rejected");
  fab_cpu_jit_free(j);
  fab_diag_clear(t.d);
  tb_free(&t);
  /* a complex input would be described to the runtime as f32 of half
   * its bytes: refused by name */
  t = tb_new("complex_in");
  int z = tb_input(&t, "z", FAB_C64, 2, xd);
  tb_op(&t, FAB_OP_REAL, z, -1, -1, -1);
  tb_output(&t, tb_infer(&t), "y");
  j = fab_cpu_jit_compile(t.m, NULL, t.d);
  CHECK(!j && fab_diag_error_count(t.d) > 0 && strstr(fab_diag_message(t.d, 0), "complex inputs"),
        "complex input rejected by name");
  fab_cpu_jit_free(j);
  tb_free(&t);
done:
  fixture_free(&f);
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "all";
  snprintf(g_dir, sizeof g_dir, "/tmp/fab-cpu-test-XXXXXX");
  if (!mkdtemp(g_dir)) {
    perror("mkdtemp");
    return 2;
  }
  struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {{"aot_so", test_so},           {"aot_emit", test_emit},
               {"aot_embed", test_embed},     {"aot_threads", test_threads},
               {"aot_errors", test_errors}};
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (!strcmp(which, "all") || !strcmp(which, tests[i].name)) {
      tests[i].fn();
      ran++;
    }
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  if (!ran) {
    fprintf(stderr, "unknown test '%s'\n", which);
    return 2;
  }
  if (g_failures) fprintf(stderr, "%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
