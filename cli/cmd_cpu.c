/* cmd_cpu.c — the CPU halves of build, run and emit (LLVM). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cpu.h"
#include "fab_tensor.h"
#include "ir.h"

static bool cpu_options(const cli_args *a, fab_cpu_options *o) {
  fab_cpu_options_default(o);
  o->cpu = cli_str(a, "cpu", NULL);
  o->features = cli_str(a, "features", NULL);
  int64_t v;
  if (!cli_int(a, "opt-level", 3, 0, 3, &v)) return false;
  o->opt_level = (int)v;
  if (!cli_int(a, "threads", 0, 0, 1024, &v)) return false;
  if (v == 0) v = sysconf(_SC_NPROCESSORS_ONLN);
  o->threads = (int)(v > 0 ? v : 1);
  char err[256];
  if (!fab_cpu_codegen_options_parse(o, cli_str(a, "codegen", NULL), err, sizeof err)) {
    cli_usage_error(a, "--codegen: %s", err);
    return false;
  }
  return true;
}

int cli_cpu_run(const cli_args *a, fab_module *lowered, const fab_tensor_set *w, const fab_tensor_set *in,
                fab_tensor_set *out) {
  fab_cpu_options o;
  if (!cpu_options(a, &o)) return EXIT_USAGE;
  fab_diag *d = fab_diag_new();
  int rc = EXIT_USER;
  fab_cpu_jit *j = fab_cpu_jit_compile(lowered, &o, d);
  if (j && fab_cpu_jit_run(j, w, in, out, d)) rc = EXIT_OK;
  cli_print_diag(d);
  fab_diag_free(d);
  fab_cpu_jit_free(j);
  return rc;
}

/* kind: "so", "obj", "llvm", "asm". */
int cli_cpu_emit(const cli_args *a, fab_module *lowered, const char *kind, const char *out) {
  fab_cpu_options o;
  if (!cpu_options(a, &o)) return EXIT_USAGE;
  fab_cpu_emit_kind k;
  if (strcmp(kind, "so") == 0)
    k = FAB_CPU_EMIT_SHARED;
  else if (strcmp(kind, "obj") == 0)
    k = FAB_CPU_EMIT_OBJ;
  else if (strcmp(kind, "llvm") == 0)
    k = FAB_CPU_EMIT_LLVM_IR;
  else if (strcmp(kind, "asm") == 0)
    k = FAB_CPU_EMIT_ASM;
  else
    return cli_usage_error(a, "--emit must be so, obj, llvm or asm (got '%s')", kind);
  fab_tensor_set *w = NULL;
  if (cli_flag(a, "embed-weights")) {
    w = cli_load_weights(a, lowered);
    if (!w) return EXIT_USER;
    o.embed_weights = true;
    o.weights = w;
  }
  /* Text forms go to standard output when no -o is given. */
  char tmp[] = "/tmp/fabc-emit-XXXXXX";
  int fd = -1;
  if (!out) {
    fd = mkstemp(tmp);
    if (fd < 0) {
      fab_tset_free(w);
      return cli_user_error("cannot create a temporary file");
    }
    out = tmp;
  }
  fab_diag *d = fab_diag_new();
  int rc = fab_cpu_emit(lowered, &o, k, out, d) ? EXIT_OK : EXIT_USER;
  cli_print_diag(d);
  fab_diag_free(d);
  if (fd >= 0) {
    if (rc == EXIT_OK) {
      FILE *f = fdopen(fd, "rb");
      char buf[1 << 16];
      size_t n;
      while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
      if (f) fclose(f);
      else close(fd);
    } else {
      close(fd);
    }
    unlink(tmp);
  }
  fab_tset_free(w);
  return rc;
}
