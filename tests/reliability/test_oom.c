/* test_oom.c — allocation-failure injection through the compiler's IR
 * libraries: for every k, the k-th arena allocation fails while a model is
 * read (.fab through the front end, .fir through the IR parser) and lowered
 * by each target's pipeline.  Each run must either finish (k past the
 * last allocation) or report "out of memory" and return: never crash,
 * never abort (ir.h's guards), and under ASan leave no leak.  With
 * explore/proxy: building a FABNet supernet and extracting one
 * architecture from it (the proxy's IR edits, guarded the same way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "target.h"
#ifdef FAB_HAVE_PROXY
#include "proxy.h"
#endif

static int failures;

static bool says_oom(const fab_diag *d) {
  for (int i = 0; i < fab_diag_count(d); i++)
    if (strstr(fab_diag_message(d, i), "out of memory")) return true;
  return false;
}

/* One stage with the k-th allocation failing: 1 finished, 0 failed with
 * the message, -1 failed otherwise (a test failure). */
typedef fab_module *(*stage_fn)(const char *arg, fab_diag *d);

static fab_module *g_input;

static fab_module *read_fab(const char *path, fab_diag *d) {
  const char *inc[] = {FAB_ROOT "/examples"};
  fab_frontend_options o = {.include_dirs = inc, .ninclude_dirs = 1};
  return fab_frontend_compile_file(path, &o, d);
}

static fab_module *read_fir(const char *text, fab_diag *d) { return fab_parse_module("m.fir", text, strlen(text), d); }

/* A fresh copy of g_input (made with injection off). */
static fab_module *copy_input(const char *unused, fab_diag *d) {
  (void)unused;
  char *text = fab_print_module_str(g_input, 0);
  fab_module *m = text ? fab_parse_module("m.fir", text, strlen(text), d) : NULL;
  free(text);
  return m;
}

/* Fails allocation k = 1, 2, ... of `fn` (or, with a pipeline, of the
 * pipeline run on fn's result) until a run no longer reaches k. */
static void sweep(const char *what, stage_fn fn, const char *arg, const char *pipeline) {
  int k = 1, swallowed = 0;
  for (;; k++) {
    fab_diag *d = fab_diag_new();
    fab_module *m = pipeline ? fn(arg, d) : NULL;
    fab_arena_test_fail_at(k);
    bool ok;
    if (pipeline) {
      fab_pass_options po = {.target = fab_generic_target()};
      ok = m && fab_run_pipeline(m, pipeline, &po, d);
    } else {
      ok = (m = fn(arg, d)) != NULL;
    }
    bool fired = fab_arena_test_fail_at(0) == 0;
    if (!ok && !says_oom(d)) {
      fprintf(stderr, "%s: allocation %d failed without an 'out of memory' message:\n", what, k);
      fab_diag_print(d, stderr);
      failures++;
    }
    if (ok && fired) swallowed++;
    fab_module_free(m);
    fab_diag_free(d);
    if (!fired) break;
  }
  printf("%s: %d allocations, each failed in turn: reported as out of memory (%d handled without failing)\n",
         what, k - 1, swallowed);
}

#ifdef FAB_HAVE_PROXY
static const char *const cands[] = {"fbfly", "abfly", "transformer"};

static fab_module *build_supernet(const char *unused, fab_diag *d) {
  (void)unused;
  fab_supernet_options o = {.seq = 16, .d = 16, .h = 32, .heads = 2, .vocab = 16, .classes = 10,
                            .layers = 2, .ncands = 3, .cands = cands};
  return fab_supernet_fabnet(&o, d);
}

static fab_supernet g_edges; /* of g_input */

static fab_module *extract_supernet(const char *unused, fab_diag *d) {
  (void)unused;
  int choice[2] = {0, 1};
  return fab_supernet_extract(g_input, &g_edges, choice, NULL, NULL, d);
}

static void sweep_proxy(void) {
  sweep("supernet (explore/proxy)", build_supernet, NULL, NULL);
  fab_diag *d = fab_diag_new();
  g_input = build_supernet(NULL, d);
  if (!g_input || !fab_supernet_scan(g_input, &g_edges, d)) {
    fab_diag_print(d, stderr);
    failures++;
  } else {
    sweep("supernet extraction (explore/proxy)", extract_supernet, NULL, NULL);
    fab_supernet_free(&g_edges);
  }
  fab_module_free(g_input);
  g_input = NULL;
  fab_diag_free(d);
}
#endif

int main(void) {
  const char *model = FAB_ROOT "/examples/tiny_padded.fab";
  sweep("front end (tiny_padded.fab)", read_fab, model, NULL);
  fab_diag *d = fab_diag_new();
  g_input = read_fab(model, d);
  char *text = g_input ? fab_print_module_str(g_input, 0) : NULL;
  if (!text) {
    fab_diag_print(d, stderr);
    return 1;
  }
  sweep("IR parser (.fir)", read_fir, text, NULL);
  for (int t = 0; t < fab_target_count(); t++) {
    const fab_target *tg = fab_target_get(t);
    if (!*tg->pipeline) continue;
    char what[64];
    snprintf(what, sizeof what, "%s pipeline", tg->name);
    sweep(what, copy_input, NULL, tg->pipeline);
  }
  free(text);
  fab_module_free(g_input);
  fab_diag_free(d);
#ifdef FAB_HAVE_PROXY
  sweep_proxy();
#endif
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures ? 1 : 0;
}
