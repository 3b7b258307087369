/* test_cpu_prepare.c — the runtime's side of the prepare step
 * (runtime/fab_runtime.h, fab_model_desc.prepare) on hand-written
 * descriptors: the prepared buffer reaches run as weights[nweights] and is
 * remade by every bind variant; a failing prepare is an error from bind
 * that leaves the model unbound, and one at load (embedded weights) an
 * error from the load; a descriptor of the size before the
 * prepare step (FAB_MODEL_DESC_SIZE_V1) still loads and runs, its
 * trailing fields never read; prepared bytes without a prepare function
 * are a format error.
 *
 *   test_cpu_prepare */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_runtime.h"
#include "fab_tensor.h"

static int failures;
#define CHECK(c, ...)                                                        \
  do {                                                                       \
    if (!(c)) {                                                              \
      fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__);                  \
      fprintf(stderr, __VA_ARGS__);                                          \
      fputc('\n', stderr);                                                   \
      failures++;                                                            \
    }                                                                        \
  } while (0)

enum { N = 8 };
static int prepares; /* calls of toy_prepare */

/* prepared[0..N) = 2 w[i]; 64 bytes of them.  A negative weight fails
 * (code 3), as a prepare step may on data it cannot handle. */
static int32_t toy_prepare(const void *const *w, void *prepared) {
  prepares++;
  const float *x = w[0];
  float *p = prepared;
  for (int i = 0; i < N; i++) {
    if (x[i] < 0) return 3;
    p[i] = 2 * x[i];
  }
  return 0;
}

/* y = the prepared values + 1 (or, without a prepared buffer, w + 1). */
static int32_t toy_run(const void *const *w, const void *const *in, void *const *out, void *scratch,
                       const fab_parallel *par) {
  (void)in, (void)scratch, (void)par;
  const float *src = w[1] ? w[1] : w[0];
  for (int i = 0; i < N; i++) ((float *)out[0])[i] = src[i] + 1;
  return FAB_RUN_OK;
}

static const fab_model_tensor_desc toy_weights[] = {{"w", FAB_DT_F32, 1, {N}, 4 * N}};
static const fab_model_tensor_desc toy_out[] = {{"y", FAB_DT_F32, 1, {N}, 4 * N}};

static fab_model_desc toy_desc(void) {
  return (fab_model_desc){.magic = FAB_MODEL_MAGIC, .abi_version = FAB_MODEL_ABI_VERSION,
                          .desc_size = sizeof(fab_model_desc), .name = "toy", .noutputs = 1,
                          .nweights = 1, .outputs = toy_out, .weights = toy_weights, .run = toy_run,
                          .prepared_bytes = 64, .prepare = toy_prepare};
}

static fab_tensor_set *weights_of(float v) {
  fab_tensor_set *s = fab_tset_new();
  int64_t dims[1] = {N};
  fab_tensor *t = s ? fab_tset_add(s, "w", FAB_DT_F32, 1, dims) : NULL;
  for (int i = 0; t && i < N; i++) ((float *)t->data)[i] = v + (float)i;
  return s;
}

/* y[1] of one run, NAN when the context or run fails (message in err). */
static float run_y1(fab_model *m, char *err, size_t errlen) {
  fab_status st;
  fab_context *c = fab_context_new(m, 1, &st, err, errlen);
  fab_tensor_set *in = fab_tset_new(), *out = fab_tset_new();
  float y = __builtin_nanf("");
  if (c && fab_context_run(c, in, out, err, errlen) == FAB_OK) y = ((const float *)out->items[0].data)[1];
  fab_context_free(c);
  fab_tset_free(in);
  fab_tset_free(out);
  return y;
}

static void test_prepared(void) {
  char err[256] = "";
  fab_status st;
  fab_model_desc d = toy_desc();
  fab_model *m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(m && st == FAB_OK, "load: %s", err);
  if (!m) return;
  CHECK(fab_model_entry_weights(m) == NULL, "entry weights before the bind");
  fab_tensor_set *a = weights_of(1), *b = weights_of(5), *bad = weights_of(-10);
  prepares = 0;
  CHECK(fab_model_bind_weights(m, a, err, sizeof err) == FAB_OK && prepares == 1, "bind: %s", err);
  CHECK(run_y1(m, err, sizeof err) == 2 * 2 + 1, "copy bind: y[1] = %g", run_y1(m, err, sizeof err));
  const void *const *ew = fab_model_entry_weights(m);
  CHECK(ew && ew[1] && ((uintptr_t)ew[1] & 63) == 0 && ((const float *)ew[1])[1] == 4,
        "the entry's weights[nweights] is the prepared buffer, 64-byte aligned");
  /* every variant prepares again: the other weights' values */
  CHECK(fab_model_bind_weights_ref(m, b, err, sizeof err) == FAB_OK && prepares == 2, "ref bind: %s", err);
  CHECK(run_y1(m, err, sizeof err) == 2 * 6 + 1, "ref bind: y[1] = %g", run_y1(m, err, sizeof err));
  CHECK(fab_model_bind_weights_map(m, a, NULL, err, sizeof err) == FAB_OK && prepares == 3, "map bind: %s", err);
  CHECK(run_y1(m, err, sizeof err) == 2 * 2 + 1, "map bind: y[1] = %g", run_y1(m, err, sizeof err));
  CHECK(fab_model_bind_weights_map_ref(m, b, NULL, err, sizeof err) == FAB_OK && prepares == 4,
        "map ref bind: %s", err);
  CHECK(run_y1(m, err, sizeof err) == 2 * 6 + 1, "map ref bind: y[1] = %g", run_y1(m, err, sizeof err));
  /* a failing prepare: an error naming it, and the model is unbound */
  st = fab_model_bind_weights(m, bad, err, sizeof err);
  CHECK(st == FAB_E_RUNTIME && strstr(err, "the model's prepare step failed (code 3)"),
        "failing prepare: status %d, '%s'", (int)st, err);
  fab_context *c = fab_context_new(m, 1, &st, err, sizeof err);
  CHECK(!c && st == FAB_E_MISSING && strstr(err, "not bound"), "context after a failed prepare: '%s'", err);
  fab_context_free(c);
  CHECK(fab_model_bind_weights(m, a, err, sizeof err) == FAB_OK, "bind after a failure: %s", err);
  CHECK(run_y1(m, err, sizeof err) == 2 * 2 + 1, "bound again: y[1] = %g", run_y1(m, err, sizeof err));
  fab_model_free(m);
  fab_tset_free(a);
  fab_tset_free(b);
  fab_tset_free(bad);
}

/* A descriptor from before the prepare step: desc_size ends at `target`;
 * whatever follows it in memory is not the runtime's to read (here
 * nonsense that would fail every bind if it were). */
static void test_old_descriptor(void) {
  char err[256] = "";
  fab_status st;
  fab_model_desc d = toy_desc();
  d.desc_size = (uint32_t)FAB_MODEL_DESC_SIZE_V1;
  d.prepared_bytes = -5;
  prepares = 0;
  fab_model *m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(m && st == FAB_OK, "old descriptor: %s", err);
  if (!m) return;
  fab_tensor_set *a = weights_of(1);
  CHECK(fab_model_bind_weights(m, a, err, sizeof err) == FAB_OK, "old descriptor bind: %s", err);
  CHECK(prepares == 0 && fab_model_entry_weights(m)[1] == NULL, "old descriptor: no prepare, no buffer");
  CHECK(run_y1(m, err, sizeof err) == 2 + 1, "old descriptor: y[1] = %g", run_y1(m, err, sizeof err));
  fab_model_free(m);
  fab_tset_free(a);
}

static void test_bad_descriptors(void) {
  char err[256] = "";
  fab_status st;
  fab_model_desc d = toy_desc();
  d.prepare = NULL;
  fab_model *m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(!m && st == FAB_E_FORMAT && strstr(err, "prepared bytes but no prepare step"),
        "prepared bytes without prepare: '%s'", err);
  fab_model_free(m);
  d = toy_desc();
  d.prepared_bytes = -1;
  m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(!m && st == FAB_E_FORMAT && strstr(err, "prepared size -1"), "negative prepared size: '%s'", err);
  fab_model_free(m);
  d = toy_desc();
  d.desc_size = (uint32_t)FAB_MODEL_DESC_SIZE_V1 + 8;
  m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(!m && st == FAB_E_VERSION && strstr(err, "model descriptor has size"), "odd size: '%s'", err);
  fab_model_free(m);
}

/* Embedded weights are prepared at load; a failure there fails the load. */
static void test_embedded(void) {
  char err[256] = "";
  fab_status st;
  static const float good[N] = {1, 2, 3, 4, 5, 6, 7, 8}, neg[N] = {-1};
  const void *data[1] = {good};
  fab_model_desc d = toy_desc();
  d.embedded_weights = 1;
  d.weight_data = data;
  prepares = 0;
  fab_model *m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(m && prepares == 1, "embedded: %s", err);
  CHECK(m && run_y1(m, err, sizeof err) == 2 * 2 + 1, "embedded: y[1] = %g", m ? run_y1(m, err, sizeof err) : 0);
  fab_model_free(m);
  data[0] = neg;
  m = fab_model_from_desc(&d, &st, err, sizeof err);
  CHECK(!m && st == FAB_E_RUNTIME && strstr(err, "prepare step failed (code 3)"), "embedded failing: '%s'", err);
  fab_model_free(m);
}

int main(void) {
  test_prepared();
  test_embedded();
  test_old_descriptor();
  test_bad_descriptors();
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
