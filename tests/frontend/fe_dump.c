/* fe_dump.c — compiles a .fab file and prints its IR (a debugging aid for
 * the front-end tests): fe_dump file.fab [-Dname=value ...] */
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

int main(int argc, char **argv) {
  fab_define defs[16];
  int n = 0;
  for (int i = 2; i < argc && n < 16; i++) {
    char *eq = strchr(argv[i], '=');
    if (strncmp(argv[i], "-D", 2) != 0 || !eq) continue;
    *eq = 0;
    defs[n++] = (fab_define){argv[i] + 2, strtoll(eq + 1, NULL, 10)};
  }
  fab_frontend_options opt = {.defines = defs, .ndefines = n};
  fab_diag *d = fab_diag_new();
  fab_module *m = argc > 1 ? fab_frontend_compile_file(argv[1], &opt, d) : NULL;
  fab_diag_print(d, stderr);
  if (m) fab_print_module(stdout, m, 0);
  fab_module_free(m);
  fab_diag_free(d);
  return m ? 0 : 1;
}
