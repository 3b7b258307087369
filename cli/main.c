/* main.c — the fabc driver: finds the subcommand, parses its options from
 * its table, prints help, and runs it. */
#include "cli.h"
#include "fab_alloc.h"
#include "fab_out.h"
#include "fab_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FAB_VERSION
#define FAB_VERSION "0.0.0"
#endif

static const char *prog = "fabc";

static void print_global_help(FILE *out) {
  fprintf(out,
          "fabc — a compiler for butterfly-sparse attention networks (FABNet)\n\n"
          "usage: fabc COMMAND [options]   (fabc COMMAND --help for its options)\n\n"
          "commands:\n");
  for (int i = 0; i < cli_ncommands; i++)
    fprintf(out, "  %-10s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
  fprintf(out,
          "\nexit codes: 0 ok, 1 error in the input (with a message), 2 usage error\n"
          "docs: docs/language.md (the .fab language), docs/ir.md (the IR), README.md\n");
}

static void print_cmd_help(FILE *out, const cli_cmd *c) {
  fprintf(out, "usage: %s %s %s\n\n%s\n", prog, c->name, c->usage, c->summary);
  if (c->details) fprintf(out, "\n%s\n", c->details);
  fprintf(out, "\noptions:\n");
  for (int i = 0; i < c->nopts; i++) {
    const opt_spec *o = &c->opts[i];
    char left[64];
    bool shortname = strlen(o->name) == 1;
    if (o->kind == OPT_FLAG)
      snprintf(left, sizeof left, "%s%s", shortname ? "-" : "--", o->name);
    else
      snprintf(left, sizeof left, "%s%s %s", shortname ? "-" : "--", o->name, o->metavar ? o->metavar : "VALUE");
    fprintf(out, "  %-26s %s\n", left, o->help);
  }
  fprintf(out, "  %-26s %s\n", "-h, --help", "show this help");
}

static int find_opt(const cli_cmd *c, const char *name, size_t len) {
  for (int i = 0; i < c->nopts; i++)
    if (strlen(c->opts[i].name) == len && strncmp(c->opts[i].name, name, len) == 0) return i;
  return -1;
}

int cli_usage_error(const cli_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s%s%s: error: ", prog, a && a->cmd ? " " : "", a && a->cmd ? a->cmd->name : "");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(run '%s%s%s --help' for usage)\n", prog, a && a->cmd ? " " : "",
          a && a->cmd ? a->cmd->name : "");
  return EXIT_USAGE;
}

int cli_user_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: error: ", prog);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", fab_alloc_failure_note()); /* the size, if an allocation failed */
  return EXIT_USER;
}

/* Options: --name, --name=value, --name value, -name=value (LLVM style, for
 * -passes=), -o value, -oVALUE, -D name=value, -Dname=value; `--` ends
 * options. */
static int parse_args(const cli_cmd *c, int argc, char **argv, cli_args *a) {
  memset(a, 0, sizeof *a);
  a->cmd = c;
  bool only_pos = false;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (only_pos || arg[0] != '-' || arg[1] == 0) {
      if (a->npos == CLI_MAX_POS) return cli_usage_error(a, "too many arguments");
      a->pos[a->npos++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_pos = true;
      continue;
    }
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const char *inline_value = eq ? eq + 1 : NULL;
    int k = find_opt(c, name, len);
    /* Short options glued to their value: -ofile, -Dseq=128, -Idir. */
    if (k < 0 && arg[1] != '-' && strlen(name) > 1) {
      int s = find_opt(c, name, 1);
      if (s >= 0 && c->opts[s].kind != OPT_FLAG) {
        k = s;
        inline_value = name + 1;
      }
    }
    if (k < 0) return cli_usage_error(a, "unknown option '%s'", arg);
    const opt_spec *o = &c->opts[k];
    opt_value *v = &a->values[k];
    if (o->kind == OPT_FLAG) {
      if (inline_value) return cli_usage_error(a, "option '--%s' takes no value", o->name);
      v->set = true;
      continue;
    }
    const char *value = inline_value;
    if (!value) {
      if (i + 1 >= argc) return cli_usage_error(a, "option '%s' needs a value (%s)", arg, o->metavar ? o->metavar : "VALUE");
      value = argv[++i];
    }
    if (o->kind == OPT_LIST) {
      if (v->nlist == CLI_MAX_LIST) return cli_usage_error(a, "option '%s' given too often", arg);
      v->list[v->nlist++] = value;
    }
    v->set = true;
    v->value = value;
  }
  if (a->npos < c->min_pos)
    return cli_usage_error(a, "expected %s", c->usage);
  if (a->npos > c->max_pos) return cli_usage_error(a, "unexpected argument '%s'", a->pos[c->max_pos]);
  return EXIT_OK;
}

const opt_value *cli_opt(const cli_args *a, const char *name) {
  int k = find_opt(a->cmd, name, strlen(name));
  return k >= 0 ? &a->values[k] : NULL;
}

bool cli_flag(const cli_args *a, const char *name) {
  const opt_value *v = cli_opt(a, name);
  return v && v->set;
}

const char *cli_str(const cli_args *a, const char *name, const char *dflt) {
  const opt_value *v = cli_opt(a, name);
  return v && v->set ? v->value : dflt;
}

bool cli_int(const cli_args *a, const char *name, int64_t dflt, int64_t lo, int64_t hi, int64_t *out) {
  const char *s = cli_str(a, name, NULL);
  if (!s) {
    *out = dflt;
    return true;
  }
  int64_t v;
  fab_int_status st = fab_parse_int64(s, &v);
  if (st == FAB_INT_OVERFLOW) {
    cli_usage_error(a, "--%s: '%s' does not fit in 64 bits", name, s);
    return false;
  }
  if (st != FAB_INT_OK || v < lo || v > hi) {
    cli_usage_error(a, "--%s expects a decimal integer in [%lld, %lld], got '%s'", name, (long long)lo, (long long)hi, s);
    return false;
  }
  *out = v;
  return true;
}

bool cli_double(const cli_args *a, const char *name, double dflt, double lo, double hi, double *out) {
  const char *s = cli_str(a, name, NULL);
  if (!s) {
    *out = dflt;
    return true;
  }
  char *end;
  double v = strtod(s, &end);
  if (*s == 0 || *end != 0 || !(v >= lo && v <= hi)) {
    cli_usage_error(a, "--%s expects a number in [%g, %g], got '%s'", name, lo, hi, s);
    return false;
  }
  *out = v;
  return true;
}

/* Output to standard output that did not reach it (a full disk) is an
 * error, not a success. */
static int check_stdout(int rc) {
  if ((fflush(stdout) != 0 || ferror(stdout)) && rc == EXIT_OK)
    return cli_user_error("cannot write the standard output: %s", strerror(errno ? errno : EIO));
  return rc;
}

int main(int argc, char **argv) {
  fab_out_cleanup_on_signals(); /* SIGINT/SIGTERM remove the temporaries being written */
  if (argc < 2) {
    print_global_help(stderr);
    return EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    if (argc > 2 && strcmp(name, "help") == 0) {
      for (int i = 0; i < cli_ncommands; i++)
        if (strcmp(cli_commands[i]->name, argv[2]) == 0) {
          print_cmd_help(stdout, cli_commands[i]);
          return EXIT_OK;
        }
    }
    print_global_help(stdout);
    return EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) {
    printf("fabc %s\n", FAB_VERSION);
    return EXIT_OK;
  }
  const cli_cmd *cmd = NULL;
  for (int i = 0; i < cli_ncommands; i++)
    if (strcmp(cli_commands[i]->name, name) == 0) cmd = cli_commands[i];
  if (!cmd) {
    fprintf(stderr, "fabc: error: unknown command '%s'\n\n", name);
    print_global_help(stderr);
    return EXIT_USAGE;
  }
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_cmd_help(stdout, cmd);
      return EXIT_OK;
    }
  }
  cli_args a;
  int rc = parse_args(cmd, argc - 2, argv + 2, &a);
  if (rc != EXIT_OK) return rc;
  return check_stdout(cmd->run(&a));
}
