/* passes_opt.c — `passes-opt`: read a .fir file, run a pipeline, print.
 *
 *   passes-opt FILE -passes=PIPELINE [-target=cpu|fpga|generic]
 *              [-verify-each] [-print-after=P] [-print-before=P]
 *              [-time-passes] [-stats] [-repro=DIR]
 *
 * Prints the resulting module on stdout (FileCheck tests read it);
 * -stats adds "// memplan: planned=N unplanned=M" after it.  Errors go to
 * stderr and make the exit status 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "fixed_targets.h"
#include "passes.h"

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  size_t k;
  while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
    n += k;
    if (n == cap) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (buf) *len = n;
  return buf;
}

int main(int argc, char **argv) {
  const char *file = NULL, *pipeline = "";
  fab_pass_options opt = {0};
  bool stats = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "-passes=", 8) == 0) pipeline = a + 8;
    else if (strncmp(a, "-target=", 8) == 0) {
      opt.target = fixed_target(a + 8);
      if (!opt.target) {
        fprintf(stderr, "passes-opt: unknown target '%s'\n", a + 8);
        return 2;
      }
    } else if (strcmp(a, "-verify-each") == 0) opt.verify_each = true;
    else if (strncmp(a, "-print-after=", 13) == 0) opt.print_after = a + 13;
    else if (strncmp(a, "-print-before=", 14) == 0) opt.print_before = a + 14;
    else if (strcmp(a, "-time-passes") == 0) opt.time_passes = true;
    else if (strcmp(a, "-stats") == 0) stats = true;
    else if (strncmp(a, "-repro=", 7) == 0) opt.reproducer_dir = a + 7;
    else if (a[0] != '-' && !file) file = a;
    else {
      fprintf(stderr, "passes-opt: unknown argument '%s'\n", a);
      return 2;
    }
  }
  if (!file) {
    fprintf(stderr, "usage: passes-opt FILE -passes=PIPELINE [-target=T] [-verify-each] ...\n");
    return 2;
  }
  size_t len = 0;
  char *text = slurp(file, &len);
  if (!text) {
    fprintf(stderr, "passes-opt: cannot read %s\n", file);
    return 1;
  }
  fab_diag *d = fab_diag_new();
  fab_diag_add_source(d, file, text, len);
  fab_module *m = fab_parse_module(file, text, len, d);
  int rc = 1;
  if (m && fab_verify(m, d) && fab_run_pipeline(m, pipeline, &opt, d)) {
    fab_print_module(stdout, m, 0);
    int64_t planned, unplanned;
    if (stats && fab_memplan_stats(m, &planned, &unplanned))
      printf("// memplan: planned=%lld unplanned=%lld\n", (long long)planned, (long long)unplanned);
    rc = 0;
  }
  fab_diag_print(d, stderr);
  fab_diag_free(d);
  fab_module_free(m);
  free(text);
  return rc;
}
