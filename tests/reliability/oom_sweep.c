/* oom_sweep.c — out-of-memory injection through the whole `fabc` command.
 *
 *   oom_sweep [--verbose] [--output FILE] [--known DIR/]... [--step S] [--from K] [--to K] -- check examples/tiny.fab ...
 *
 * This binary is fabc itself (the cli/ sources, with fabc's main renamed
 * fabc_cli_main) plus this driver.  For k = 1, 2, ... it forks; the child
 * arms util/fab_alloc.h's test hook so that the k-th allocation made by
 * fabc's code fails (fab_malloc / fab_calloc / fab_realloc / fab_strdup /
 * fab_strndup: fabc's own code; LLVM's and jansson's allocations are
 * outside, docs/reliability.md),
 * runs the command and exits with its status.  The parent checks each run:
 *
 *   - the injected failure fired: the command must exit 1 with a message
 *     that names the size that failed ("out of memory ... (allocating N
 *     bytes failed)") and, under ASan, no sanitizer report (LeakSanitizer
 *     checks the child at exit);
 *   - it did not fire (k is past the run's last allocation): the command
 *     must succeed, and the sweep ends.
 *
 * A run that fired but still exited 0 recovered from the failure (a
 * cache, a retry with less memory): counted and listed, and its standard
 * output (and the file named by --output) must equal the undisturbed
 * run's.  Anything else —
 * a signal, an abort, a leak, exit 1 without the size — is a
 * failure and its stderr is printed, with the failed allocation's
 * backtrace.  --known backends/cpu/ counts failures whose allocation was
 * made in that folder as known gaps instead (listed, not failing: the
 * folders whose unchecked allocations are still to fix,
 * docs/reliability.md).  Every run after the first --from is
 * checked unless --step skips (for a quick run by hand). */
#include "fab_alloc.h"

#include <execinfo.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int fabc_cli_main(int argc, char **argv);

typedef struct run_result {
  int status;   /* waitpid status */
  int fired;    /* the injected failure happened (-1: the child died before telling) */
  long count;   /* allocations counted (with k = 0: the whole run) */
  char *err;    /* the child's stderr */
  char *out;    /* the child's stdout */
} run_result;

static size_t slurped; /* the length of slurp's last result */

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return strdup("");
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n < 2) {
      char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "oom_sweep: out of memory reading %s\n", path);
    exit(2);
  }
  buf[n] = 0;
  slurped = n;
  return buf;
}

/* Where the injected failure happened, in the child's stderr (shown
 * with a failing run; addr2line turns the addresses into lines). */
static void print_site(size_t bytes) {
  void *frames[24];
  int n = backtrace(frames, 24);
  fflush(stderr);
  dprintf(2, "[oom_sweep: injected failure of %zu bytes at]\n", bytes);
  backtrace_symbols_fd(frames + 2, n > 2 ? n - 2 : 0, 2);
  dprintf(2, "[end]\n");
}

/* Runs the command with allocation k failing (0: none) in a child. */
static run_result run_once(long k, int argc, char **argv, const char *dir) {
  char out[4096], err[4096], note[4096];
  snprintf(out, sizeof out, "%s/stdout", dir);
  snprintf(err, sizeof err, "%s/stderr", dir);
  snprintf(note, sizeof note, "%s/fired", dir);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("oom_sweep: fork");
    exit(2);
  }
  if (pid == 0) {
    if (!freopen(out, "wb", stdout) || !freopen(err, "wb", stderr)) _exit(98);
    fab_alloc_test_on_failure(print_site);
    fab_alloc_test_fail_at(k > 0 ? k : LONG_MAX); /* LONG_MAX: count, never fail */
    int rc = fabc_cli_main(argc, argv);
    int fired = fab_alloc_test_fired();
    long count = fab_alloc_test_count();
    fab_alloc_test_fail_at(0);
    FILE *f = fopen(note, "wb");
    if (f) {
      fprintf(f, "%d %ld\n", fired, count);
      fclose(f);
    }
    exit(rc); /* exit, not _exit: LeakSanitizer runs at exit */
  }
  run_result r = {0};
  while (waitpid(pid, &r.status, 0) < 0) {
  }
  char *n = slurp(note);
  int fired = 0;
  if (sscanf(n, "%d %ld", &fired, &r.count) != 2) fired = -1;
  r.fired = fired;
  free(n);
  remove(note);
  r.err = slurp(err);
  r.out = slurp(out);
  return r;
}

static void free_result(run_result *r) {
  free(r->err);
  free(r->out);
}

/* Prints the child's stderr with the backtrace's own-binary frames
 * (`exe(+0xOFFSET)`) turned into functions and lines by addr2line. */
static void print_err(const char *err) {
  const char *b = strstr(err, "[oom_sweep: injected failure");
  const char *e = b ? strstr(b, "[end]\n") : NULL;
  if (!b || !e) {
    fputs(err, stderr);
    return;
  }
  fwrite(err, 1, (size_t)(b - err), stderr);
  char cmd[8192];
  int n = snprintf(cmd, sizeof cmd, "addr2line -f -i -p -e /proc/%d/exe", (int)getpid());
  for (const char *p = b; p < e && (p = strstr(p, "(+0x")) && p < e && n < 8000; p++) {
    unsigned long off = strtoul(p + 2, NULL, 16);
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, " 0x%lx", off > 0 ? off - 1 : off);
  }
  fprintf(stderr, "%.*s", (int)(strchr(b, '\n') + 1 - b), b);
  fflush(stderr);
  if (system(cmd) != 0) fprintf(stderr, "(addr2line failed)\n");
  fputs(e + 6, stderr);
}

/* Whether `path` (if given) holds `want` (as slurp reads it). */
static bool same_file(const char *path, const char *want, size_t len) {
  if (!path) return true;
  char *got = slurp(path);
  bool same = slurped == len && memcmp(got, want, len) == 0;
  free(got);
  return same;
}

/* Whether the innermost fabc frame below the failed allocation (after
 * util/alloc.c) lies in one of the known folders: symbolised here. */
static bool known_gap(const char *err, const char *const *known, int nknown) {
  const char *b = strstr(err, "[oom_sweep: injected failure");
  const char *e = b ? strstr(b, "[end]") : NULL;
  if (!b || !e) return false;
  for (const char *p = b; (p = strstr(p, "(+0x")) && p < e; p++) {
    char cmd[256], line[1024] = "";
    unsigned long off = strtoul(p + 2, NULL, 16);
    snprintf(cmd, sizeof cmd, "addr2line -e /proc/%d/exe 0x%lx", (int)getpid(), off ? off - 1 : 0);
    FILE *f = popen(cmd, "r");
    if (!f) return false;
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    pclose(f);
    if (strstr(line, "util/alloc.c") || strstr(line, "??")) continue;
    for (int i = 0; i < nknown; i++)
      if (strstr(line, known[i])) return true;
    return false;
  }
  return false;
}

static const char *describe(int status, char *buf, size_t n) {
  if (WIFSIGNALED(status)) snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
  else snprintf(buf, n, "exit %d%s", WEXITSTATUS(status), WEXITSTATUS(status) == 23 ? " (leak)" : "");
  return buf;
}

int main(int argc, char **argv) {
  long step = 1, from = 1, to = -1;
  bool verbose = false;
  const char *output = NULL; /* a file the command writes: compared like stdout */
  const char *known[16];      /* --known FOLDER/: failures injected there are known gaps */
  int nknown = 0;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--verbose") == 0) {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "--step") == 0) step = atol(argv[++i]);
    else if (strcmp(argv[i], "--from") == 0) from = atol(argv[++i]);
    else if (strcmp(argv[i], "--to") == 0) to = atol(argv[++i]);
    else if (strcmp(argv[i], "--output") == 0) output = argv[++i];
    else if (strcmp(argv[i], "--known") == 0 && nknown < 16) known[nknown++] = argv[++i];
  }
  if (i >= argc || step < 1 || from < 1) {
    fprintf(stderr, "usage: oom_sweep [--verbose] [--output FILE] [--known DIR/]... [--step S] [--from K] [--to K] -- FABC-ARGS...\n");
    return 2;
  }
  /* fabc_cli_main sees argv[0] = "fabc" then the command */
  char **cargv = argv + i;
  int cargc = argc - i;
  cargv[0] = "fabc";
  char dir[] = "/tmp/fabc-oom-sweep-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("oom_sweep: mkdtemp");
    return 2;
  }

  char desc[64];
  if (output) remove(output); /* a command may continue an existing output (sample -o) */
  run_result base = run_once(0, cargc, cargv, dir);
  if (!WIFEXITED(base.status) || WEXITSTATUS(base.status) != 0) {
    fprintf(stderr, "oom_sweep: the command fails without injection (%s):\n%s", describe(base.status, desc, sizeof desc),
            base.err);
    return 1;
  }
  long total = base.count;
  char *base_file = output ? slurp(output) : NULL;
  size_t base_len = slurped;
  long runs = 0, exits1 = 0, recovered = 0, bad = 0, gaps = 0;
  long k = from;
  for (; to < 0 || k <= to; k += step) {
    if (output) remove(output);
    run_result r = run_once(k, cargc, cargv, dir);
    runs++;
    bool ok;
    /* ASan's leak report exits 1 too: a sanitizer report is a failure */
    bool sanitizer = strstr(r.err, "Sanitizer") || strstr(r.err, "runtime error:");
    if (r.fired == 0) {
      ok = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && !sanitizer;
      if (!ok) fprintf(stderr, "k=%ld (past the last allocation): %s\n%s", k, describe(r.status, desc, sizeof desc), r.err);
      free_result(&r);
      if (!ok) bad++;
      break;
    } else if (sanitizer) {
      ok = false;
    } else if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1 && strstr(r.err, "bytes failed)")) {
      /* the message names the size: "... (allocating N bytes failed)" */
      exits1++;
      ok = true;
    } else if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && strcmp(r.out, base.out) == 0 &&
               same_file(output, base_file, base_len)) {
      recovered++;
      ok = true;
      printf("k=%ld: recovered (exit 0, same output)\n", k);
      if (verbose) {
        fflush(stdout);
        print_err(r.err);
      }
    } else {
      ok = false;
    }
    if (!ok && nknown && known_gap(r.err, known, nknown)) {
      gaps++;
      printf("k=%ld: %s, a known gap (the failed allocation is in a --known folder)\n", k,
             describe(r.status, desc, sizeof desc));
    } else if (!ok) {
      bad++;
      fprintf(stderr, "k=%ld: %s\n", k, describe(r.status, desc, sizeof desc));
      print_err(r.err);
    }
    free_result(&r);
    if (bad >= 20) {
      fprintf(stderr, "oom_sweep: stopping after 20 failures\n");
      break;
    }
  }
  printf("oom_sweep:");
  for (int j = 1; j < cargc; j++) printf(" %s", cargv[j]);
  printf("\n  %ld allocations in the undisturbed run; %ld runs (k = %ld..%ld step %ld): %ld exit 1 with "
         "a message naming the size, %ld recovered, %ld known gaps, %ld failures\n",
         total, runs, from, k, step, exits1, recovered, gaps, bad);
  free_result(&base);
  free(base_file);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "oom_sweep: could not remove %s\n", dir);
  return bad ? 1 : 0;
}
