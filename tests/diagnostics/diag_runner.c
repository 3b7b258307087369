/* diag_runner.c — compiles one .fab file of the diagnostics corpus and
 * prints the front end's messages to stdout, with paths relative to the
 * corpus folder (the runner changes into it first).
 *
 *   diag_runner <corpus-dir> <file.fab>
 *
 * A first line `// ARGS: -Dname=value -Idir ...` adds driver options.
 * Exit status: 0 if the file compiled, 1 if errors were reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

enum { MAX_OPTS = 16 };

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: diag_runner <corpus-dir> <file.fab>\n");
    return 2;
  }
  if (chdir(argv[1]) != 0) {
    perror(argv[1]);
    return 2;
  }
  fab_define defs[MAX_OPTS];
  const char *incs[MAX_OPTS];
  int ndefs = 0, nincs = 0;
  char line[512] = "", *save = NULL;
  FILE *f = fopen(argv[2], "rb");
  if (f) {
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    fclose(f);
  }
  if (strncmp(line, "// ARGS:", 8) == 0) {
    for (char *tok = strtok_r(line + 8, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
      char *eq = strchr(tok, '=');
      if (strncmp(tok, "-D", 2) == 0 && eq && ndefs < MAX_OPTS) {
        *eq = 0;
        defs[ndefs++] = (fab_define){tok + 2, strtoll(eq + 1, NULL, 10)};
      } else if (strncmp(tok, "-I", 2) == 0 && nincs < MAX_OPTS) {
        incs[nincs++] = tok + 2;
      }
    }
  }
  fab_frontend_options opt = {defs, ndefs, incs, nincs};
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_file(argv[2], &opt, d);
  fab_diag_print(d, stdout);
  int errors = fab_diag_error_count(d);
  if ((m != NULL) == (errors > 0)) printf("runner: module %s but %d errors\n", m ? "returned" : "NULL", errors);
  fab_module_free(m);
  fab_diag_free(d);
  return errors ? 1 : 0;
}
