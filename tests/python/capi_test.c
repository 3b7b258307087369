/* capi_test.c — libfabc's C API without Python (also runs under ASan):
 * compile errors carry diagnostics, the three targets agree with each
 * other on a small model, bad weights and inputs are errors naming the
 * tensor, several threads run one CPU model at once, simulate's report,
 * stats and build. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fabc.h"

static int failures;
#define CHECK(c)                                                         \
  do {                                                                   \
    if (!(c)) {                                                          \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static const char *model_src =
    "dim d = 8;\n"
    "model tiny(x: f32[4, d]) -> (y: f32[4, d]) {\n"
    "  y = layernorm(x + linear(gelu(linear(x, 16) as fc1), d) as fc2) as norm;\n"
    "}\n";

static fabc_model *compile_tiny(const char *target, const char *accel) {
  fabc_options o = {.source_text = model_src, .source_path = "tiny.fab", .target = target, .accel_path = accel,
                    .threads = 1, .opt_level = 3};
  fabc_model *m = NULL;
  char *err = NULL;
  fabc_status st = fabc_compile(&o, &m, &err);
  if (st != FABC_OK) fprintf(stderr, "compile %s: %s\n", target, err ? err : "?");
  fabc_free(err);
  CHECK(st == FABC_OK && m);
  if (m) CHECK(fabc_model_init_weights(m, 1, NULL) == FABC_OK);
  return m;
}

static fabc_tensors *inputs(float base) {
  fabc_tensors *in = fabc_tensors_new();
  float x[32];
  for (int i = 0; i < 32; i++) x[i] = base + 0.1f * (float)(i % 7) - 0.3f * (float)(i % 3);
  int64_t dims[2] = {4, 8};
  CHECK(fabc_tensors_add(in, "x", FABC_F32, 2, dims, x, sizeof x, NULL) == FABC_OK);
  return in;
}

static void output(const fabc_tensors *out, float y[32]) {
  const void *data = NULL;
  size_t n = 0;
  const char *name = NULL;
  CHECK(fabc_tensors_count(out) == 1);
  CHECK(fabc_tensors_get(out, 0, &name, NULL, NULL, NULL, &data, &n) == FABC_OK);
  CHECK(name && strcmp(name, "y") == 0 && n == 32 * sizeof(float));
  if (data && n == 32 * sizeof(float)) memcpy(y, data, n);
}

static void run(fabc_model *m, float base, float y[32]) {
  fabc_tensors *in = inputs(base), *out = fabc_tensors_new();
  char *err = NULL;
  CHECK(fabc_model_run(m, in, out, &err) == FABC_OK);
  if (err) fprintf(stderr, "run: %s\n", err);
  fabc_free(err);
  output(out, y);
  fabc_tensors_free(in);
  fabc_tensors_free(out);
}

static void test_errors(void) {
  fabc_options o = {.source_text = "model m(x: f32[4]) -> (y: f32[4]) {\n  y = nosuch(x);\n}\n",
                    .source_path = "bad.fab"};
  fabc_model *m = NULL;
  char *err = NULL;
  CHECK(fabc_compile(&o, &m, &err) == FABC_E_SOURCE && !m);
  CHECK(err && strstr(err, "bad.fab:2:") && strstr(err, "nosuch") && strstr(err, "^"));
  fabc_free(err);
  err = NULL;
  o.source_text = model_src;
  o.target = "gpu";
  CHECK(fabc_compile(&o, &m, &err) == FABC_E_ARG && err && strstr(err, "unknown target 'gpu'"));
  fabc_free(err);
  err = NULL;
  o.target = "fpga";
  CHECK(fabc_compile(&o, &m, &err) == FABC_E_ARG && err && strstr(err, "accelerator configuration"));
  fabc_free(err);

  m = compile_tiny("cpu", NULL);
  if (!m) return;
  fabc_tensors *w = fabc_tensors_new();
  float bad[3] = {0};
  int64_t dims[1] = {3};
  fabc_tensors_add(w, "fc1.bias", FABC_F32, 1, dims, bad, sizeof bad, NULL);
  err = NULL;
  CHECK(fabc_model_bind_weights(m, w, 0, &err) == FABC_E_TENSOR && err && strstr(err, "fc1.bias"));
  fabc_free(err);
  err = NULL;
  CHECK(fabc_tensors_add(w, "z", FABC_F32, 1, dims, bad, 4, &err) == FABC_E_ARG && err);
  fabc_free(err);
  fabc_tensors_free(w);
  fabc_tensors *in = fabc_tensors_new(), *out = fabc_tensors_new();
  err = NULL;
  CHECK(fabc_model_run(m, in, out, &err) == FABC_E_TENSOR && err && strstr(err, "'x'"));
  fabc_free(err);
  err = NULL;
  CHECK(fabc_model_simulate(m, in, out, 0, NULL, &err) == FABC_E_ARG && err);
  fabc_free(err);
  fabc_tensors_free(in);
  fabc_tensors_free(out);
  fabc_model_free(m);
}

typedef struct job {
  fabc_model *m;
  int id, bad;
  float want[8][32];
} job;

static void *worker(void *arg) {
  job *j = arg;
  for (int r = 0; r < 25; r++) {
    int k = (j->id + r) % 8;
    float y[32];
    run(j->m, (float)k, y);
    if (memcmp(y, j->want[k], sizeof y) != 0) j->bad++;
  }
  return NULL;
}

static void test_targets_and_threads(const char *accel) {
  fabc_model *ref = compile_tiny("interp", NULL), *cpu = compile_tiny("cpu", NULL),
             *fpga = compile_tiny("fpga", accel);
  if (!ref || !cpu || !fpga) return;
  CHECK(fabc_model_count(cpu, FABC_WEIGHTS) == 6 && fabc_model_count(cpu, FABC_INPUTS) == 1);
  float a[32], b[32], c[32];
  run(ref, 0.5f, a);
  run(cpu, 0.5f, b);
  run(fpga, 0.5f, c);
  for (int i = 0; i < 32; i++) {
    CHECK(b[i] - a[i] < 1e-4f && a[i] - b[i] < 1e-4f);
    CHECK(c[i] - a[i] < 1e-4f && a[i] - c[i] < 1e-4f);
  }
  /* Threads: every thread's results equal the single-threaded ones. */
  static job jobs[4];
  for (int k = 0; k < 8; k++) run(cpu, (float)k, jobs[0].want[k]);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    jobs[i].m = cpu;
    jobs[i].id = i;
    jobs[i].bad = 0;
    if (i) memcpy(jobs[i].want, jobs[0].want, sizeof jobs[0].want);
    pthread_create(&t[i], NULL, worker, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK(jobs[i].bad == 0);
  }
  /* The simulator's report. */
  fabc_tensors *in = inputs(0.5f), *out = fabc_tensors_new();
  char *rep = NULL, *err = NULL;
  CHECK(fabc_model_simulate(fpga, in, out, 0, &rep, &err) == FABC_OK);
  CHECK(rep && strstr(rep, "\"total_cycles\"") && strstr(rep, "\"text\""));
  fabc_free(rep);
  rep = NULL;
  CHECK(fabc_model_simulate(fpga, NULL, NULL, 1, &rep, &err) == FABC_OK && rep);
  fabc_free(rep);
  fabc_free(err);
  /* build */
  char dir[] = "/tmp/fabc-capi-XXXXXX";
  if (mkdtemp(dir)) {
    char path[256];
    snprintf(path, sizeof path, "%s/tiny.fbin", dir);
    CHECK(fabc_model_build(fpga, path, 0, NULL) == FABC_OK && access(path, R_OK) == 0);
    unlink(path);
    CHECK(fabc_model_build(ref, path, 0, NULL) == FABC_E_ARG);
    rmdir(dir);
  }
  fabc_tensors_free(in);
  fabc_tensors_free(out);
  fabc_model_free(ref);
  fabc_model_free(cpu);
  fabc_model_free(fpga);
}

static void test_stats(void) {
  fabc_options o = {.source_text = model_src};
  char *json = NULL, *err = NULL;
  CHECK(fabc_stats(&o, &json, &err) == FABC_OK && json && strstr(json, "\"total\""));
  fabc_free(json);
  fabc_free(err);
}

/* ---- API version 2: stages, IR, maps, run options, emit kinds ---------------- */

static bool contains(const char *text, const char *what) { return text && strstr(text, what); }

static void test_table_and_ir(void) {
  CHECK(fabc_api_version() == 2);
  CHECK(fabc_target_name(0) && strcmp(fabc_target_name(0), "interp") == 0);
  CHECK(fabc_target_name(1) && fabc_target_name(2) && !fabc_target_name(3) && fabc_target_summary(2));
  CHECK(!fabc_target_simulates(0) && !fabc_target_simulates(1) && fabc_target_simulates(2) && !fabc_target_simulates(3));
  /* The IR stage: no backend, the pipeline's result and its memory plan. */
  fabc_options o = {.source_text = model_src, .source_path = "tiny.fab", .target = "cpu", .stage = FABC_STAGE_IR};
  fabc_model *m = NULL;
  char *err = NULL, *text = NULL;
  CHECK(fabc_compile(&o, &m, &err) == FABC_OK && m);
  CHECK(fabc_model_op_count(m) > 0 && fabc_model_count(m, FABC_WEIGHTS) == 6);
  CHECK(fabc_model_ir(m, 1, 0, &text, NULL) == FABC_OK && contains(text, "plan.offset"));
  fabc_free(text);
  CHECK(fabc_model_ir(m, 0, 0, &text, NULL) == FABC_OK && contains(text, "param @") && !contains(text, "plan."));
  fabc_free(text);
  int64_t planned = 0, unplanned = 0;
  CHECK(fabc_model_memplan(m, &planned, &unplanned, NULL) == FABC_OK && planned > 0 && planned <= unplanned);
  fabc_tensors *in = inputs(0.f), *out = fabc_tensors_new();
  CHECK(fabc_model_init_weights(m, 1, NULL) == FABC_OK);
  CHECK(fabc_model_run(m, in, out, &err) == FABC_E_ARG && contains(err, "stopped at the IR"));
  fabc_free(err);
  err = NULL;
  fabc_model_free(m);
  /* No target: the generic cost model, the given passes only. */
  o.target = NULL;
  o.passes = "lower-bfly,memplan";
  CHECK(fabc_compile(&o, &m, NULL) == FABC_OK && fabc_model_target(m) == NULL);
  fabc_model_free(m);
  o.target = "gpu";
  CHECK(fabc_compile(&o, &m, &err) == FABC_E_ARG && contains(err, "available: interp, cpu, fpga"));
  fabc_free(err);
  err = NULL;
  /* print_after goes to the given stream. */
  char *dump = NULL;
  size_t dlen = 0;
  FILE *f = open_memstream(&dump, &dlen);
  fabc_options p = {.source_text = model_src, .source_path = "tiny.fab", .target = "fpga", .stage = FABC_STAGE_IR,
                    .print_after = "fuse-stages", .print_stream = f};
  CHECK(fabc_compile(&p, &m, NULL) == FABC_OK);
  fclose(f);
  CHECK(contains(dump, "IR Dump After fuse-stages"));
  free(dump);
  fabc_model_free(m);
  fabc_tensors_free(in);
  fabc_tensors_free(out);
}

static void test_maps_and_runs(const char *accel) {
  fabc_model *m = compile_tiny("fpga", accel);
  if (!m) return;
  /* Weights under other names come in through a JSON map. */
  fabc_tensors *w = fabc_tensors_new();
  for (int i = 0; i < fabc_model_count(m, FABC_WEIGHTS); i++) {
    const char *name;
    int dtype, rank;
    const int64_t *dims;
    CHECK(fabc_model_tensor_info(m, FABC_WEIGHTS, i, &name, &dtype, &rank, &dims) == FABC_OK);
    int64_t n = 1;
    for (int k = 0; k < rank; k++) n *= dims[k];
    float *v = calloc((size_t)n, sizeof *v);
    for (int64_t k = 0; k < n; k++) v[k] = 0.01f * (float)(k % 13);
    char renamed[128];
    snprintf(renamed, sizeof renamed, "model.%s", name);
    CHECK(fabc_tensors_add(w, renamed, dtype, rank, dims, v, (size_t)n * sizeof *v, NULL) == FABC_OK);
    free(v);
  }
  char *err = NULL;
  CHECK(fabc_model_bind_weights(m, w, 0, &err) == FABC_E_TENSOR);
  fabc_free(err);
  err = NULL;
  CHECK(fabc_model_bind_weights_json(m, w, "{\"rename\": {\"model.\": \"\"}}", &err) == FABC_OK);
  fabc_free(err);
  err = NULL;
  CHECK(fabc_model_bind_weights_json(m, w, "{\"renme\": {}}", &err) == FABC_E_ARG && contains(err, "renme"));
  fabc_free(err);
  err = NULL;
  /* Seeded inputs for 3 samples; the run's report and trace. */
  fabc_tensors *in = fabc_tensors_new(), *out = fabc_tensors_new();
  CHECK(fabc_model_init_inputs(m, 5, 3, in, NULL) == FABC_OK && fabc_tensors_count(in) == 1);
  char trace[] = "/tmp/fabc-capi-trace-XXXXXX";
  int fd = mkstemp(trace);
  if (fd >= 0) close(fd);
  fabc_run_options ro = {.want_report = 1, .trace_path = trace};
  CHECK(fabc_model_run_ex(m, in, out, &ro, &err) == FABC_OK);
  CHECK(contains(ro.report_text, "cycles") && contains(ro.report_json, "\"samples\": 3"));
  fabc_free(ro.report_text);
  fabc_free(ro.report_json);
  FILE *tf = fopen(trace, "rb");
  CHECK(tf && fgetc(tf) != EOF);
  if (tf) fclose(tf);
  unlink(trace);
  /* Emit kinds: the target's own, and a clear error for another's. */
  char path[] = "/tmp/fabc-capi-emit-XXXXXX";
  fd = mkstemp(path);
  if (fd >= 0) close(fd);
  CHECK(fabc_model_emit(m, "llvm", path, 0, &err) == FABC_E_ARG && contains(err, "builds fbin"));
  fabc_free(err);
  err = NULL;
  CHECK(fabc_model_emit(m, NULL, path, 0, NULL) == FABC_OK);
  unlink(path);
  fabc_model_free(m);
  m = compile_tiny("interp", NULL);
  ro = (fabc_run_options){.want_report = 1};
  CHECK(fabc_model_run_ex(m, in, out, &ro, &err) == FABC_E_ARG && contains(err, "interp target has none"));
  fabc_free(err);
  fabc_model_free(m);
  fabc_tensors_free(w);
  fabc_tensors_free(in);
  fabc_tensors_free(out);
}

static void test_cpu_build_kinds(void) {
  fabc_options o = {.source_text = model_src, .source_path = "tiny.fab", .target = "cpu", .stage = FABC_STAGE_BUILD};
  fabc_model *m = NULL;
  CHECK(fabc_compile(&o, &m, NULL) == FABC_OK && m);
  if (!m) return;
  char path[] = "/tmp/fabc-capi-ll-XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) close(fd);
  CHECK(fabc_model_emit(m, "llvm", path, 0, NULL) == FABC_OK);
  FILE *f = fopen(path, "rb");
  static char buf[1 << 20]; /* the whole file: the run tables come before the functions */
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  buf[n] = 0;
  if (f) fclose(f);
  CHECK(contains(buf, "define"));
  unlink(path);
  char *err = NULL;
  fabc_tensors *in = inputs(0.f), *out = fabc_tensors_new();
  CHECK(fabc_model_init_weights(m, 1, NULL) == FABC_OK);
  CHECK(fabc_model_run(m, in, out, &err) != FABC_OK && contains(err, "built, not run"));
  fabc_free(err);
  fabc_tensors_free(in);
  fabc_tensors_free(out);
  fabc_model_free(m);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: capi_test CONFIG.json\n");
    return 2;
  }
  test_errors();
  test_targets_and_threads(argv[1]);
  test_stats();
  test_table_and_ir();
  test_maps_and_runs(argv[1]);
  test_cpu_build_kinds();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
