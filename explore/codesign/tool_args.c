/* tool_args.c — integer options of the fab-codesign drivers: decimal
 * only, range-checked, overflow reported (docs/reliability.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

int64_t tool_int(int argc, char **argv, const char *name, const char *dflt, int64_t lo, int64_t hi) {
  const char *s = dflt;
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) s = argv[i + 1];
  int64_t v = 0;
  fab_int_status st = fab_parse_int64(s, &v);
  if (st == FAB_INT_OK && v >= lo && v <= hi) return v;
  if (st == FAB_INT_OVERFLOW) fprintf(stderr, "fab-codesign: %s: '%s' does not fit in 64 bits\n", name, s);
  else fprintf(stderr, "fab-codesign: %s expects a decimal integer in [%lld, %lld], got '%s'\n", name,
               (long long)lo, (long long)hi, s);
  exit(2);
}
