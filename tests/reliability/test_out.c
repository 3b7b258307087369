/* test_out.c — the writer (runtime/fab_out.h): every injected I/O failure of
 * an atomic write leaves the old file and no temporary; a failed log write
 * cuts the log back to its last whole line; a log left empty is removed;
 * temporaries of dead processes are swept, live ones kept; SIGTERM removes
 * the temporaries being written.  ctest: reliability.writer. */
#include "check.h" /* tests/weights: CHECK */
#include "fab_out.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int check_failures;
const char *check_tmpdir; /* unused: this test has its own folder */

static char dir[4096];

static const char *in_dir(const char *name) {
  static char buf[2][4200];
  static int k;
  k ^= 1;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *s = calloc(1, 1 << 20);
  size_t n = s ? fread(s, 1, (1 << 20) - 1, f) : 0;
  (void)n;
  fclose(f);
  return s;
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (f) fputs(text, f), fclose(f);
}

static int temporaries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".fabc-tmp.")) n++;
  if (d) closedir(d);
  return n;
}

static bool file_is(const char *path, const char *want) {
  char *got = slurp(path);
  bool same = got && strcmp(got, want) == 0;
  free(got);
  return same;
}

/* Writes `text` to `path` through a stream and direct writes. */
static fab_status write_out(const char *path, char *err, size_t errlen) {
  fab_out *o = fab_out_open(path, err, errlen);
  if (!o) return FAB_E_IO;
  FILE *f = fab_out_file(o);
  for (int i = 0; i < 2000; i++) fprintf(f, "line %d\n", i); /* several buffers */
  fab_out_printf(o, "%s", "");
  fab_out_write(o, "end\n", 4);
  return fab_out_commit(o, err, errlen);
}

static void test_atomic_every_failure(void) {
  const char *path = in_dir("out.txt");
  put(path, "old\n");
  char err[512];
  int k = 1;
  for (;; k++) {
    fab_io_fail_at(FAB_IO_ANY, k);
    fab_status st = write_out(path, err, sizeof err);
    if (st == FAB_OK) break;
    CHECK(st == FAB_E_IO);
    CHECK(strstr(err, "out.txt") != NULL);
    CHECK(file_is(path, "old\n"));
    CHECK(temporaries() == 0);
    if (k > 100) break;
  }
  fab_io_fail_at(FAB_IO_ANY, 0);
  CHECK(k > 5); /* open, writes, fsync, close, rename were all counted */
  char *got = slurp(path);
  CHECK(got && strstr(got, "line 1999\nend\n"));
  free(got);
  CHECK(temporaries() == 0);
}

static void test_log(void) {
  const char *path = in_dir("log.jsonl");
  char err[512];
  unlink(path);
  fab_log *l = fab_log_open(path, -1, err, sizeof err);
  CHECK(l != NULL);
  if (!l) return;
  FILE *f = fab_log_file(l);
  fputs("{\"a\":1}\n{\"a\":2}\n", f);
  CHECK(fflush(f) == 0);
  /* a long third line that fails half-way through its second write */
  fab_io_fail_at(FAB_IO_WRITE, 2);
  for (int i = 0; i < 3000; i++) fputs("xxxxxxxx", f);
  fputs("\n", f);
  CHECK(fflush(f) != 0);
  fputs("{\"a\":4}\n", f);
  CHECK(fflush(f) != 0); /* nothing is written after a failure */
  fab_io_fail_at(FAB_IO_ANY, 0);
  CHECK(fab_log_close(l, err, sizeof err) == FAB_E_IO);
  CHECK(strstr(err, "log.jsonl") != NULL);
  CHECK(file_is(path, "{\"a\":1}\n{\"a\":2}\n"));

  /* keep: cut a torn tail, then append */
  put(path, "{\"a\":1}\n{\"a\":");
  l = fab_log_open(path, 8, err, sizeof err);
  CHECK(l != NULL);
  if (l) {
    fputs("{\"b\":2}\n", fab_log_file(l));
    CHECK(fab_log_close(l, err, sizeof err) == FAB_OK);
  }
  CHECK(file_is(path, "{\"a\":1}\n{\"b\":2}\n"));

  /* a new log whose first write fails is removed: no empty file */
  unlink(path);
  l = fab_log_open(path, 0, err, sizeof err);
  CHECK(l != NULL);
  if (l) {
    fab_io_fail_at(FAB_IO_WRITE, 1);
    fputs("{\"a\":1}\n", fab_log_file(l));
    CHECK(fflush(fab_log_file(l)) != 0);
    fab_io_fail_at(FAB_IO_ANY, 0);
    CHECK(fab_log_close(l, err, sizeof err) == FAB_E_IO);
  }
  struct stat st;
  CHECK(stat(path, &st) != 0);
}

/* A PID that is certainly not running: a child that has exited. */
static pid_t dead_pid(void) {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, NULL, 0);
  return p;
}

static void test_sweep(void) {
  char dead[4400], live[4400], other[4400];
  snprintf(dead, sizeof dead, "%s/.m.so.fabc-tmp.%ld.1", dir, (long)dead_pid());
  snprintf(live, sizeof live, "%s/.m.so.fabc-tmp.%ld.1", dir, (long)getppid());
  snprintf(other, sizeof other, "%s/.n.so.fabc-tmp.%ld.1", dir, (long)dead_pid());
  put(dead, "x"), put(live, "x"), put(other, "x");
  char err[512];
  fab_out *o = fab_out_open(in_dir("m.so"), err, sizeof err);
  CHECK(o != NULL);
  fab_out_abort(o);
  CHECK(access(dead, F_OK) != 0);  /* its process is gone */
  CHECK(access(live, F_OK) == 0);  /* still running: kept */
  CHECK(access(other, F_OK) == 0); /* another output's */
  unlink(live), unlink(other);
}

static void test_signal(void) {
  const char *path = in_dir("sig.txt");
  put(path, "old\n");
  int fds[2];
  CHECK(pipe(fds) == 0);
  pid_t p = fork();
  if (p == 0) {
    fab_out_cleanup_on_signals();
    char err[512];
    fab_out *o = fab_out_open(path, err, sizeof err);
    if (!o) _exit(3);
    fab_out_write(o, "new\n", 4);
    if (write(fds[1], "x", 1) != 1) _exit(4);
    for (;;) pause(); /* killed here, mid-write */
  }
  char c;
  CHECK(read(fds[0], &c, 1) == 1);
  CHECK(temporaries() == 1);
  kill(p, SIGTERM);
  int status = 0;
  waitpid(p, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM); /* dies of the signal, as before */
  CHECK(temporaries() == 0);
  CHECK(file_is(path, "old\n"));
  close(fds[0]), close(fds[1]);
}

int main(int argc, char **argv) {
  snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : "/tmp/fab-test-out");
  mkdir(dir, 0755);
  test_atomic_every_failure();
  test_log();
  test_sweep();
  test_signal();
  if (check_failures) fprintf(stderr, "%d checks failed\n", check_failures);
  else printf("ok\n");
  return check_failures ? 1 : 0;
}
