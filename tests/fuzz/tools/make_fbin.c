/* make_fbin.c — writes seed .fbin programs for the fbin fuzzer:
 *   fuzz_make_fbin CONFIG.json OUT.fbin MODEL.{fab,fir}
 * compiles the model with the fpga pipeline and code generator. */
#include "codegen.h"
#include "fbin.h"
#include "frontend.h"
#include "passes.h"
#include "target.h"

#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)len + 1);
  if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
    free(s);
    s = NULL;
  }
  fclose(f);
  if (s) s[len] = '\0';
  *n = (size_t)len;
  return s;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fuzz_make_fbin CONFIG.json OUT.fbin MODEL.{fab,fir}\n");
    return 2;
  }
  fab_fpga_config c;
  char err[256];
  if (fab_fpga_config_load(argv[1], &c, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  fab_diag *d = fab_diag_new();
  fab_module *m = NULL;
  size_t n = strlen(argv[3]);
  if (n > 4 && !strcmp(argv[3] + n - 4, ".fab")) {
    m = fab_frontend_compile_file(argv[3], NULL, d);
  } else {
    char *text = slurp(argv[3], &n);
    if (text) m = fab_parse_module(argv[3], text, n, d);
    free(text);
  }
  fab_target_config tcfg = {.accel_config = &c};
  fab_fpga_program *p = NULL;
  if (m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) p = fab_fpga_codegen(m, &c, d);
  int rc = 1;
  if (p && fab_fpga_fbin_write(argv[2], p, err, sizeof err) == FAB_OK) rc = 0;
  else if (p) fprintf(stderr, "%s\n", err);
  fab_diag_print(d, stderr);
  fab_fpga_program_free(p);
  fab_module_free(m);
  fab_diag_free(d);
  return rc;
}
