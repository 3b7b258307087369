/* fuzz_ir.c — the IR text parser and verifier.
 *
 * parse -> verify; a module that verifies is printed, parsed again,
 * verified again and printed again: both texts must be identical (the
 * printer writes exactly what the parser reads, docs/ir.md). */
#include "fuzz_util.h"
#include "ir.h"

#include <string.h>

static FILE *sink(void) {
  static FILE *f;
  if (!f) f = fopen("/dev/null", "w");
  return f ? f : stderr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("fuzz.fir", (const char *)data, size, d);
  if (m && fab_verify(m, d)) {
    char *t1 = fab_print_module_str(m, FAB_PRINT_LOCS);
    FUZZ_CHECK(t1 != NULL, "print failed");
    fab_diag *d2 = fab_diag_new();
    fab_module *m2 = fab_parse_module("fuzz2.fir", t1, strlen(t1), d2);
    if (!m2) fab_diag_print(d2, stderr);
    FUZZ_CHECK(m2 != NULL, "printed IR does not parse:\n%s", t1);
    bool ok = fab_verify(m2, d2);
    if (!ok) fab_diag_print(d2, stderr);
    FUZZ_CHECK(ok, "printed IR does not verify:\n%s", t1);
    char *t2 = fab_print_module_str(m2, FAB_PRINT_LOCS);
    FUZZ_CHECK(t2 && strcmp(t1, t2) == 0, "round trip differs:\n%s\n---\n%s", t1, t2 ? t2 : "");
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
