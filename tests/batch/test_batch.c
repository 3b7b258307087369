/* test_batch.c — a batch of n samples equals n single runs, bit for bit:
 * the runtime (cpu JIT, 1 and 2 threads, sample-parallel and sequential),
 * the interpreter and the FPGA simulator, on examples/tiny.fab; and the
 * errors for inputs that are neither one sample nor [n, ...]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "cpu.h"
#include "fab_runtime.h"
#include "frontend.h"
#include "interp.h"
#include "ir.h"
#include "passes.h"
#include "target.h"
#include "sim.h"

static int failures;
#define CHECK(c, ...)                                                        \
  do {                                                                       \
    if (!(c)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      failures++;                                                            \
    }                                                                        \
  } while (0)

static fab_module *load_tiny(const char *target, fab_diag *d) {
  const char *inc[] = {FAB_ROOT "/examples"};
  fab_frontend_options fo = {.include_dirs = inc, .ninclude_dirs = 1};
  fab_module *m = fab_frontend_compile_file(FAB_ROOT "/examples/tiny.fab", &fo, d);
  if (m && target) {
    fab_target_config tcfg = {.accel = "vcu128-be40-fp32"};
    if (!fab_target_lower(fab_target_find(target), &tcfg, m, NULL, NULL, d)) {
      fab_module_free(m);
      m = NULL;
    }
  }
  if (!m) fab_diag_print(d, stderr);
  return m;
}

/* Every tensor of `a` equals sample i of the same-named tensor of `batch`. */
static void check_sample(const fab_tensor_set *batch, int64_t n, int64_t i, const fab_tensor_set *a,
                         const char *what) {
  CHECK(a->count > 0 && batch->count == a->count, "%s: %d vs %d outputs", what, batch->count, a->count);
  for (int k = 0; k < a->count; k++) {
    const fab_tensor *s = &a->items[k], *b = fab_tset_find(batch, s->name);
    CHECK(b && b->rank == s->rank + 1 && b->dims[0] == n && b->nbytes == (size_t)n * s->nbytes,
          "%s: output '%s' has no batch axis of %lld", what, s->name, (long long)n);
    if (b && b->nbytes == (size_t)n * s->nbytes)
      CHECK(memcmp((const char *)b->data + (size_t)i * s->nbytes, s->data, s->nbytes) == 0,
            "%s: sample %lld of '%s' differs from its single run", what, (long long)i, s->name);
  }
}

/* Seeded inputs for n samples; sample i alone in `one[i]`. */
static fab_tensor_set *make_inputs(const fab_module *m, int64_t n, fab_tensor_set **one, fab_diag *d) {
  fab_tensor_set *in = fab_tset_new();
  CHECK(fab_bind_init_inputs_batch(m, 3, n, in, d), "batched init");
  char err[256];
  for (int64_t i = 0; i < n; i++) {
    one[i] = fab_tset_new();
    CHECK(fab_tset_get_sample(in, i, one[i], err, sizeof err) == FAB_OK, "%s", err);
  }
  /* Different samples: the test would not see a mix-up otherwise. */
  if (n > 1) {
    const fab_tensor *t = &in->items[0];
    CHECK(memcmp(t->data, (const char *)t->data + t->nbytes / (size_t)n, t->nbytes / (size_t)n) != 0,
          "samples 0 and 1 are equal");
  }
  return in;
}

static void free_sets(fab_tensor_set **s, int64_t n) {
  for (int64_t i = 0; i < n; i++) fab_tset_free(s[i]);
}

static int test_cpu(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = load_tiny("cpu", d);
  if (!m) return 1;
  fab_tensor_set *w = fab_tset_new();
  CHECK(fab_bind_init_weights(m, 1, w, d), "weights");
  for (int threads = 1; threads <= 2; threads++) {
    fab_cpu_options o;
    fab_cpu_options_default(&o);
    o.threads = threads;
    fab_cpu_jit *j = fab_cpu_jit_compile(m, &o, d);
    CHECK(j, "jit");
    if (!j) break;
    fab_model *mod = fab_cpu_jit_model(j);
    char err[512];
    CHECK(fab_model_bind_weights(mod, w, err, sizeof err) == FAB_OK, "%s", err);
    fab_status st;
    fab_context *single = fab_context_new(mod, 1, &st, err, sizeof err);
    fab_context *ctx = fab_context_new(mod, threads, &st, err, sizeof err);
    CHECK(single && ctx, "%s", err);
    const int64_t ns[] = {1, 3, 8};
    for (int k = 0; k < 3 && ctx; k++) {
      int64_t n = ns[k];
      fab_tensor_set *one[8];
      fab_tensor_set *in = make_inputs(m, n, one, d), *out = fab_tset_new();
      /* run twice: the second reuses the context's worker scratch */
      for (int rep = 0; rep < 2; rep++)
        CHECK(fab_context_run(ctx, in, out, err, sizeof err) == FAB_OK, "n=%lld: %s", (long long)n, err);
      for (int64_t i = 0; i < n; i++) {
        fab_tensor_set *o1 = fab_tset_new();
        CHECK(fab_context_run(single, one[i], o1, err, sizeof err) == FAB_OK, "%s", err);
        char what[64];
        snprintf(what, sizeof what, "cpu threads=%d n=%lld", threads, (long long)n);
        check_sample(out, n, i, o1, what);
        fab_tset_free(o1);
      }
      /* the bare batched entry gives the same bytes */
      const fab_tensor *tok = fab_tset_find(in, "tokens");
      const fab_tensor *lg = fab_tset_find(out, "logits");
      if (tok && lg) {
        float *raw = calloc(lg->nbytes / 4 + 1, 4);
        const void *ip[1] = {tok->data};
        void *op[1] = {raw};
        CHECK(fab_context_run_batch_raw(ctx, n, ip, op, err, sizeof err) == FAB_OK, "%s", err);
        CHECK(memcmp(raw, lg->data, lg->nbytes) == 0, "raw batch differs");
        free(raw);
      }
      /* the single form still gives outputs without a batch axis */
      if (n == 1) {
        fab_tensor_set *o1 = fab_tset_new();
        CHECK(fab_context_run(ctx, one[0], o1, err, sizeof err) == FAB_OK, "%s", err);
        CHECK(fab_tset_find(o1, "logits") && fab_tset_find(o1, "logits")->rank == 1, "single rank");
        fab_tset_free(o1);
      }
      /* a bad token id names its sample */
      if (n == 8 && tok) {
        ((int32_t *)tok->data)[5 * 16 + 2] = 1000;
        CHECK(fab_context_run(ctx, in, out, err, sizeof err) == FAB_E_RUNTIME && strstr(err, "sample 5"),
              "bad token: %s", err);
      }
      free_sets(one, n);
      fab_tset_free(in);
      fab_tset_free(out);
    }
    fab_context_free(single);
    fab_context_free(ctx);
    fab_cpu_jit_free(j);
  }
  fab_tset_free(w);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}

static int test_interp(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = load_tiny(NULL, d);
  if (!m) return 1;
  fab_tensor_set *w = fab_tset_new();
  CHECK(fab_bind_init_weights(m, 1, w, d), "weights");
  const int64_t n = 3;
  fab_tensor_set *one[3];
  fab_tensor_set *in = make_inputs(m, n, one, d), *out = fab_tset_new();
  CHECK(fab_bind_check_inputs(m, in, d), "batched inputs refused");
  CHECK(fab_interp_run(m, w, in, out, d), "batched run");
  for (int64_t i = 0; i < n; i++) {
    fab_tensor_set *o1 = fab_tset_new();
    CHECK(fab_interp_run(m, w, one[i], o1, d), "single run");
    check_sample(out, n, i, o1, "interp");
    fab_tset_free(o1);
  }
  if (fab_diag_count(d)) fab_diag_print(d, stderr);
  free_sets(one, n);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(w);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}

static int test_fpga(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = load_tiny("fpga", d);
  if (!m) return 1;
  fab_fpga_config c;
  char err[512];
  CHECK(fab_fpga_config_load(FAB_ROOT "/configs/vcu128-be40-fp32.json", &c, err, sizeof err) == FAB_OK,
        "%s", err);
  fab_fpga_program *p = fab_fpga_codegen(m, &c, d);
  CHECK(p, "codegen");
  fab_tensor_set *w = fab_tset_new();
  CHECK(fab_bind_init_weights(m, 1, w, d), "weights");
  const int64_t n = 3;
  fab_tensor_set *one[3];
  fab_tensor_set *in = make_inputs(m, n, one, d), *out = fab_tset_new();
  fab_fpga_report rep, rep1;
  CHECK(p && fab_fpga_sim_run(p, NULL, w, in, out, NULL, &rep, err, sizeof err) == FAB_OK, "%s", err);
  CHECK(rep.samples == (uint64_t)n && rep.batch_cycles == (uint64_t)n * rep.total_cycles,
        "report: %llu samples, %llu batch cycles, %llu per sample", (unsigned long long)rep.samples,
        (unsigned long long)rep.batch_cycles, (unsigned long long)rep.total_cycles);
  for (int64_t i = 0; p && i < n; i++) {
    fab_tensor_set *o1 = fab_tset_new();
    CHECK(fab_fpga_sim_run(p, NULL, w, one[i], o1, NULL, &rep1, err, sizeof err) == FAB_OK, "%s", err);
    CHECK(rep1.samples == 1 && rep1.total_cycles == rep.total_cycles, "per-sample cycles");
    check_sample(out, n, i, o1, "fpga");
    fab_tset_free(o1);
  }
  fab_fpga_program_free(p);
  free_sets(one, n);
  fab_tset_free(in);
  fab_tset_free(out);
  fab_tset_free(w);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}

static bool diag_has(fab_diag *d, const char *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fab_diag_print(d, f);
  fclose(f);
  bool ok = buf && strstr(buf, s);
  if (!ok) fprintf(stderr, "diagnostics lack \"%s\":\n%s", s, buf ? buf : "");
  free(buf);
  return ok;
}

/* Shapes that are neither one sample nor [n, ...], and disagreeing n. */
static int test_errors(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = load_tiny("cpu", d);
  if (!m) return 1;
  fab_tensor_set *w = fab_tset_new();
  CHECK(fab_bind_init_weights(m, 1, w, d), "weights");
  fab_tensor_set *bad = fab_tset_new();
  fab_tset_add(bad, "tokens", FAB_DT_I32, 2, (int64_t[]){4, 15});
  const char *want = "input 'tokens' has shape [4,15], expected [16] or [n,16]";
  /* runtime */
  fab_cpu_jit *j = fab_cpu_jit_compile(m, NULL, d);
  char err[512];
  fab_status st;
  fab_model *mod = j ? fab_cpu_jit_model(j) : NULL;
  CHECK(mod && fab_model_bind_weights(mod, w, err, sizeof err) == FAB_OK, "bind");
  fab_context *ctx = mod ? fab_context_new(mod, 2, &st, err, sizeof err) : NULL;
  fab_tensor_set *out = fab_tset_new();
  CHECK(ctx && fab_context_run(ctx, bad, out, err, sizeof err) == FAB_E_SHAPE && strstr(err, want),
        "runtime: %s", err);
  /* a rank-0 leading axis is not a batch */
  fab_tensor_set *empty = fab_tset_new();
  fab_tset_add(empty, "tokens", FAB_DT_I32, 2, (int64_t[]){0, 16});
  CHECK(ctx && fab_context_run(ctx, empty, out, err, sizeof err) == FAB_E_SHAPE, "n = 0: %s", err);
  CHECK(ctx && fab_context_run_batch_raw(ctx, 0, NULL, NULL, err, sizeof err) == FAB_E_ARG, "raw n = 0");
  fab_context_free(ctx);
  fab_cpu_jit_free(j);
  /* binding and the interpreter */
  fab_module *hl = load_tiny(NULL, d);
  fab_diag_clear(d);
  CHECK(hl && !fab_bind_check_inputs(hl, bad, d) && diag_has(d, want), "bind");
  fab_diag_clear(d);
  CHECK(hl && !fab_interp_run(hl, w, bad, out, d) && diag_has(d, want), "interp");
  fab_diag_clear(d);
  /* the simulator */
  fab_fpga_config c;
  fab_module *fm = load_tiny("fpga", d);
  CHECK(fab_fpga_config_load(FAB_ROOT "/configs/vcu128-be40-fp32.json", &c, err, sizeof err) == FAB_OK, "%s", err);
  fab_fpga_program *p = fm ? fab_fpga_codegen(fm, &c, d) : NULL;
  CHECK(p && fab_fpga_sim_run(p, NULL, w, bad, out, NULL, NULL, err, sizeof err) == FAB_E_SHAPE &&
            strstr(err, want), "sim: %s", err);
  fab_fpga_program_free(p);
  fab_module_free(fm);
  fab_module_free(hl);
  /* disagreeing sample counts (a two-input model) */
  const char *src = "model two(a: f32[4], b: f32[4]) -> (y: f32[4]) { y = a + b; }";
  fab_module *two = fab_frontend_compile_string("two.fab", src, strlen(src), NULL, d);
  CHECK(two, "two");
  fab_tensor_set *ab = fab_tset_new();
  fab_tset_add(ab, "a", FAB_DT_F32, 2, (int64_t[]){3, 4});
  fab_tset_add(ab, "b", FAB_DT_F32, 2, (int64_t[]){2, 4});
  fab_diag_clear(d);
  CHECK(two && !fab_bind_check_inputs(two, ab, d) && diag_has(d, "input 'b' has 2 samples but input 'a' has 3"),
        "mixed n");
  fab_tset_add(ab, "b", FAB_DT_F32, 1, (int64_t[]){4});
  fab_diag_clear(d);
  CHECK(two && !fab_interp_run(two, w, ab, out, d) &&
            diag_has(d, "input 'a' has a leading sample axis but input 'b' has none"),
        "batched and not");
  fab_module_free(two);
  fab_tset_free(ab);
  fab_tset_free(empty);
  fab_tset_free(out);
  fab_tset_free(bad);
  fab_tset_free(w);
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}

/* The shipped blocks take [.., s, d]: a model applying them to [3, s, d]
 * (a compile-time batch) computes what the per-sample model computes on a
 * run-time batch of 3, with the same state_dict names. */
static int test_patterns(void) {
  const char *inc[] = {FAB_ROOT "/examples"};
  fab_frontend_options fo = {.include_dirs = inc, .ninclude_dirs = 1};
  const char *one = "import \"lib/blocks.fab\";\n"
                    "model m(x: f32[8, 16]) -> (y: f32[8, 16]) {\n"
                    "  y = abfly(fbfly(x, 32) as l0, 32, 2) as l1;\n}\n";
  const char *three = "import \"lib/blocks.fab\";\n"
                      "model m(x: f32[3, 8, 16]) -> (y: f32[3, 8, 16]) {\n"
                      "  y = abfly(fbfly(x, 32) as l0, 32, 2) as l1;\n}\n";
  fab_diag *d = fab_diag_new();
  fab_module *m1 = fab_frontend_compile_string(FAB_ROOT "/examples/one.fab", one, strlen(one), &fo, d);
  fab_module *m3 = fab_frontend_compile_string(FAB_ROOT "/examples/three.fab", three, strlen(three), &fo, d);
  CHECK(m1 && m3, "compile");
  if (!m1 || !m3) {
    fab_diag_print(d, stderr);
    return 1;
  }
  CHECK(m1->nparams == m3->nparams, "%d vs %d parameters", m1->nparams, m3->nparams);
  for (int i = 0; i < m1->nparams && i < m3->nparams; i++)
    CHECK(strcmp(m1->params[i].name, m3->params[i].name) == 0 &&
              fab_type_equal(&m1->params[i].type, &m3->params[i].type),
          "parameter %s vs %s", m1->params[i].name, m3->params[i].name);
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *o1 = fab_tset_new(), *o3 = fab_tset_new();
  CHECK(fab_bind_init_weights(m1, 1, w, d) && fab_bind_init_inputs(m3, 2, in, d), "init");
  CHECK(fab_interp_run(m1, w, in, o1, d) && fab_interp_run(m3, w, in, o3, d), "runs");
  const fab_tensor *y1 = fab_tset_find(o1, "y"), *y3 = fab_tset_find(o3, "y");
  CHECK(y1 && y3 && y1->rank == 3 && y3->rank == 3 && y1->nbytes == y3->nbytes, "shapes");
  if (y1 && y3 && y1->nbytes == y3->nbytes) {
    double worst = 0;
    for (int64_t k = 0; k < fab_tensor_numel(y1); k++) {
      double a = ((const float *)y1->data)[k], b = ((const float *)y3->data)[k];
      worst = fabs(a - b) > worst ? fabs(a - b) : worst;
    }
    CHECK(worst <= 1e-5, "compile-time and run-time batches differ by %g", worst);
  }
  if (fab_diag_count(d)) fab_diag_print(d, stderr);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(o1);
  fab_tset_free(o3);
  fab_module_free(m1);
  fab_module_free(m3);
  fab_diag_free(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int rc = 2;
  if (strcmp(argv[1], "cpu") == 0) rc = test_cpu();
  else if (strcmp(argv[1], "interp") == 0) rc = test_interp();
  else if (strcmp(argv[1], "fpga") == 0) rc = test_fpga();
  else if (strcmp(argv[1], "errors") == 0) rc = test_errors();
  else if (strcmp(argv[1], "patterns") == 0) rc = test_patterns();
  if (rc == 0 && failures) rc = 1;
  printf("batch.%s: %s (%d failures)\n", argv[1], rc ? "FAILED" : "ok", failures);
  return rc;
}
