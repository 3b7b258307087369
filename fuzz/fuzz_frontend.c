/* fuzz_frontend.c — the fab language front end.
 *
 * compile -> the module must verify -> print / parse / print round trip.
 * `import` reads files: the harness runs in a fresh empty temporary
 * folder (so relative imports find nothing) and skips inputs that could
 * name a path outside it (an import plus any '/'). */
#include "frontend.h"
#include "fuzz_util.h"
#include "ir.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static bool has(const uint8_t *data, size_t size, const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i + n <= size; i++)
    if (memcmp(data + i, s, n) == 0) return true;
  return false;
}

static char tmpdir[] = "/tmp/fabfuzz.XXXXXX";

static void remove_dir(void) { rmdir(tmpdir); }

static void enter_empty_dir(void) {
  static bool done;
  if (done) return;
  done = true;
  if (mkdtemp(tmpdir) && chdir(tmpdir) == 0) {
    atexit(remove_dir);
    return;
  }
  fprintf(stderr, "fuzz_frontend: cannot make an empty temporary folder\n");
}

static FILE *sink(void) {
  static FILE *f;
  if (!f) f = fopen("/dev/null", "w");
  return f ? f : stderr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enter_empty_dir();
  if (has(data, size, "import") && memchr(data, '/', size)) return 0;
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_string("fuzz.fab", (const char *)data, size, NULL, d);
  if (m) {
    bool ok = fab_verify(m, d);
    if (!ok) fab_diag_print(d, stderr);
    FUZZ_CHECK(ok, "the front end produced IR that does not verify");
    char *t1 = fab_print_module_str(m, 0);
    FUZZ_CHECK(t1 != NULL, "print failed");
    fab_diag *d2 = fab_diag_new();
    fab_module *m2 = fab_parse_module("fuzz.fir", t1, strlen(t1), d2);
    if (!m2) fab_diag_print(d2, stderr);
    FUZZ_CHECK(m2 != NULL, "printed IR does not parse:\n%s", t1);
    char *t2 = fab_print_module_str(m2, 0);
    FUZZ_CHECK(t2 && strcmp(t1, t2) == 0, "round trip differs");
    free(t2);
    free(t1);
    fab_module_free(m2);
    fab_diag_free(d2);
  }
  /* the diagnostics printer (source line and caret) sees hostile text too */
  fab_diag_print(d, sink());
  fab_module_free(m);
  fab_diag_free(d);
  return 0;
}
