/* fir_roundtrip.c — `fir-roundtrip FILE...`: for each IR text file, parse,
 * verify, print, re-parse, re-print, and fail on any error or on any
 * difference between the two prints.  Exit status 0 only if every file
 * passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      char *b = realloc(buf, cap);
      if (!b) break;
      buf = b;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Prints the first line where the two texts differ. */
static void show_difference(const char *a, const char *b) {
  int line = 1;
  const char *la = a, *lb = b;
  while (*a && *a == *b) {
    if (*a == '\n') {
      line++;
      la = a + 1;
      lb = b + 1;
    }
    a++;
    b++;
  }
  fprintf(stderr, "  first difference at printed line %d:\n  first:  %.*s\n  second: %.*s\n", line,
          (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

static bool check_file(const char *path) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) {
    fprintf(stderr, "%s: cannot read\n", path);
    return false;
  }
  fab_diag *d = fab_diag_new();
  bool ok = false;
  fab_module *m = fab_parse_module(path, text, len, d), *m2 = NULL;
  char *s1 = NULL, *s2 = NULL;
  if (m && fab_verify(m, d)) {
    s1 = fab_print_module_str(m, 0);
    m2 = s1 ? fab_parse_module("<printed>", s1, strlen(s1), d) : NULL;
    s2 = m2 ? fab_print_module_str(m2, 0) : NULL;
    if (s2 && strcmp(s1, s2) == 0) ok = true;
    else if (s2) {
      fprintf(stderr, "%s: print(parse(print)) differs from print\n", path);
      show_difference(s1, s2);
    }
  }
  fab_diag_print(d, stderr);
  if (ok) {
    int nops = 0;
    for (int i = 0; i < m->nfuncs; i++) nops += m->funcs[i]->nops;
    printf("%s: ok (%d params, %d funcs, %d ops)\n", path, m->nparams, m->nfuncs, nops);
  } else {
    printf("%s: FAILED\n", path);
  }
  free(s1);
  free(s2);
  fab_module_free(m);
  fab_module_free(m2);
  fab_diag_free(d);
  free(text);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: fir-roundtrip FILE...\n");
    return 2;
  }
  int failed = 0;
  for (int i = 1; i < argc; i++) failed += !check_file(argv[i]);
  return failed ? 1 : 0;
}
