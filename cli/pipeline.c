/* pipeline.c — compiling through libfabc (api/fabc.h) from the command
 * line: the options every compiling command shares (-D, -I, the pass
 * manager's, the CPU's, --accel) become a fabc_options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fab_util.h"
#include "fabc.h"

bool cli_target_known(const cli_args *a, const char *name, const char *what) {
  for (int i = 0; fabc_target_name(i); i++)
    if (strcmp(fabc_target_name(i), name) == 0) return true;
  char names[128] = "";
  size_t k = 0;
  for (int i = 0; fabc_target_name(i) && k < sizeof names; i++)
    k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "", fabc_target_name(i));
  cli_usage_error(a, "unknown %s '%s' (available: %s)", what, name, names);
  return false;
}

int cli_api_error(const cli_args *a, int status, char *err) {
  const char *msg = err ? err : "failed";
  int rc = status == FABC_E_ARG ? EXIT_USAGE : EXIT_USER;
  /* Diagnostics come formatted (file:line:col: error: ..., source, caret). */
  if (strstr(msg, ": error: "))
    fprintf(stderr, "%s\n", msg);
  else if (rc == EXIT_USAGE)
    cli_usage_error(a, "%s", msg);
  else
    cli_user_error("%s", msg);
  fabc_free(err);
  return rc;
}

bool cli_defines(const cli_args *a, const char **names, int64_t *values, char (*buf)[128], int *n) {
  const opt_value *defs = cli_opt(a, "D");
  *n = 0;
  for (int i = 0; defs && i < defs->nlist; i++) {
    const char *s = defs->list[i], *eq = strchr(s, '=');
    int64_t v = 0;
    fab_int_status st = eq ? fab_parse_int64(eq + 1, &v) : FAB_INT_SYNTAX;
    if (!eq || eq == s || (size_t)(eq - s) >= sizeof buf[0] || st != FAB_INT_OK) {
      if (eq && st == FAB_INT_OVERFLOW)
        cli_usage_error(a, "-D %.*s: '%s' does not fit in 64 bits", (int)(eq - s), s, eq + 1);
      else
        cli_usage_error(a, "-D expects NAME=INTEGER (decimal), got '%s'", s);
      return false;
    }
    memcpy(buf[*n], s, (size_t)(eq - s));
    buf[*n][eq - s] = 0;
    names[*n] = buf[*n];
    values[*n] = v;
    (*n)++;
  }
  return true;
}

/* --threads: 0 or absent = every core. */
static bool cpu_options(const cli_args *a, fabc_options *o) {
  int64_t v;
  if (cli_opt(a, "opt-level")) {
    if (!cli_int(a, "opt-level", 3, 0, 3, &v)) return false;
    o->opt_level = (int)v;
  } else {
    o->opt_level = 3;
  }
  if (cli_opt(a, "threads")) {
    if (!cli_int(a, "threads", 0, 0, 1024, &v)) return false;
    if (v == 0) v = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = (int)(v > 0 ? v : 1);
  }
  o->cpu = cli_str(a, "cpu", NULL);
  o->features = cli_str(a, "features", NULL);
  o->codegen = cli_str(a, "codegen", NULL);
  return true;
}

fabc_model *cli_compile(const cli_args *a, const char *path, const char *target, int stage, int *rc) {
  const opt_value *incs = cli_opt(a, "I");
  const char *names[CLI_MAX_LIST];
  int64_t values[CLI_MAX_LIST];
  char buf[CLI_MAX_LIST][128];
  int ndef;
  *rc = EXIT_USAGE;
  if (!cli_defines(a, names, values, buf, &ndef)) return NULL;
  fabc_options o = {
      .source_path = path,
      .define_names = names,
      .define_values = values,
      .ndefines = ndef,
      .include_dirs = incs ? incs->list : NULL,
      .ninclude_dirs = incs ? incs->nlist : 0,
      .target = target,
      .accel_path = cli_str(a, "accel", NULL),
      .passes = cli_str(a, "passes", NULL),
      .threads = (int)sysconf(_SC_NPROCESSORS_ONLN),
      .stage = stage,
      .print_before = cli_str(a, "print-before", NULL),
      .print_after = cli_str(a, "print-after", NULL),
      .stop_after = cli_str(a, "stop-after", NULL),
      .verify_each = cli_flag(a, "verify-each"),
      .time_passes = cli_flag(a, "time-passes"),
      .reproducer_dir = cli_str(a, "reproducer-dir", "."),
      .print_stream = stderr,
  };
  if (!cpu_options(a, &o)) return NULL;
  fabc_model *m = NULL;
  char *err = NULL;
  fabc_status st = fabc_compile(&o, &m, &err);
  if (st != FABC_OK) {
    *rc = cli_api_error(a, st, err);
    return NULL;
  }
  *rc = EXIT_OK;
  return m;
}
