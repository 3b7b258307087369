/* out_sys.c — below fab_out and fab_log: checked system calls with the
 * fault-injection test hook, temporary names and the removal of those a
 * killed process left, and the registry of temporaries that the signal
 * handlers remove.
 *
 * The registry is a fixed table of paths with an atomic state per slot, so
 * that a handler can walk it without locks or allocation: it only calls
 * kill, waitpid, unlink and raise (all async-signal-safe). */
#include "out_internal.h"
#include "fab_alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- fault injection (test hook) ---------------------------------------- */

static atomic_long io_count[FAB_IO_NKINDS];
static atomic_int fail_kind = FAB_IO_ANY;
static atomic_long fail_when;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void read_env(void) {
  static const char *const names[FAB_IO_NKINDS] = {"open", "write", "sync", "close", "rename", "any"};
  const char *s = getenv("FABC_TEST_IO_FAIL");
  const char *colon = s ? strchr(s, ':') : NULL;
  if (!colon) return;
  for (int k = 0; k < FAB_IO_NKINDS; k++)
    if (strlen(names[k]) == (size_t)(colon - s) && strncmp(s, names[k], (size_t)(colon - s)) == 0) {
      atomic_store(&fail_kind, k);
      atomic_store(&fail_when, strtol(colon + 1, NULL, 10));
    }
}

void fab_io_fail_at(fab_io_op op, long k) {
  pthread_once(&env_once, read_env);
  for (int i = 0; i < FAB_IO_NKINDS; i++) atomic_store(&io_count[i], 0);
  atomic_store(&fail_kind, (int)op);
  atomic_store(&fail_when, k);
}

/* Counts the operation; true when it is the one to fail. */
static bool injected(fab_io_op op) {
  pthread_once(&env_once, read_env);
  long n = atomic_fetch_add(&io_count[op], 1) + 1;
  long any = atomic_fetch_add(&io_count[FAB_IO_ANY], 1) + 1;
  long when = atomic_load(&fail_when);
  int kind = atomic_load(&fail_kind);
  return when > 0 && (kind == FAB_IO_ANY ? any == when : kind == (int)op && n == when);
}

/* ---- checked system calls ------------------------------------------------- */

int fab_io_open(const char *path, int flags, int *fd) {
  if (injected(FAB_IO_OPEN)) return ENOSPC;
  int f = open(path, flags | O_CLOEXEC, 0644);
  if (f < 0) return errno;
  *fd = f;
  return 0;
}

static int write_raw(int fd, const char *p, size_t len) {
  while (len > 0) {
    /* write may do less than asked (and at most ~2 GB on Linux) */
    size_t want = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
    ssize_t w = write(fd, p, want);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int fab_io_write_all(int fd, const void *data, size_t len) {
  if (injected(FAB_IO_WRITE)) {
    /* like a disk that fills up half-way through the write */
    (void)write_raw(fd, data, len / 2);
    return ENOSPC;
  }
  return write_raw(fd, data, len);
}

int fab_io_fsync(int fd) {
  if (injected(FAB_IO_SYNC)) return EIO;
  return fsync(fd) == 0 ? 0 : errno;
}

int fab_io_close(int fd) {
  bool fail = injected(FAB_IO_CLOSE);
  int rc = close(fd) == 0 ? 0 : errno;
  return fail ? EIO : rc;
}

int fab_io_rename(const char *from, const char *to) {
  if (injected(FAB_IO_RENAME)) return ENOSPC;
  return rename(from, to) == 0 ? 0 : errno;
}

void fab_io_sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? fab_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : fab_strdup(".");
  if (!dir) return;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

/* ---- temporary names ---------------------------------------------------------- */

/* The part of a file name kept in its temporaries' names: a NAME_MAX of
 * 255 leaves room for the prefix dot and ".fabc-tmp.PID.SEQ". */
#define TMP_BASE_MAX 200
static atomic_long tmp_seq;

/* Removes DIR's entries PREFIX<pid>.<seq> whose process is gone.  A PID
 * still running (or reused) keeps its file: the next run tries again. */
static void sweep_stale(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return;
  size_t plen = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, plen) != 0) continue;
    char *end;
    long pid = strtol(e->d_name + plen, &end, 10);
    if (pid <= 0 || *end != '.' || pid == (long)getpid()) continue;
    strtol(end + 1, &end, 10);
    if (*end != 0) continue;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) (void)unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

char *fab_tmp_name(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dlen = (size_t)(base - path), blen = strlen(base);
  if (blen > TMP_BASE_MAX) blen = TMP_BASE_MAX;
  char *dir = dlen ? fab_strndup(path, dlen) : fab_strdup(".");
  char *prefix = fab_malloc(blen + 16);
  if (!dir || !prefix) {
    free(dir);
    free(prefix);
    return NULL;
  }
  snprintf(prefix, blen + 16, ".%.*s.fabc-tmp.", (int)blen, base);
  sweep_stale(dir, prefix);
  size_t n = dlen + strlen(prefix) + 48;
  char *tmp = fab_malloc(n);
  if (tmp)
    snprintf(tmp, n, "%.*s%s%ld.%ld", (int)dlen, path, prefix, (long)getpid(),
             atomic_fetch_add(&tmp_seq, 1) + 1);
  free(dir);
  free(prefix);
  return tmp;
}

/* ---- the registry of temporaries, and the signal handlers ------------------------ */

enum { SLOT_FREE, SLOT_FILLING, SLOT_READY, SLOT_REMOVING };
#define TMP_SLOTS 32
#define TMP_PATH_MAX 4096
#define MAX_CHILDREN 4

static struct {
  atomic_int state;
  char path[TMP_PATH_MAX];
} slots[TMP_SLOTS];
static atomic_int children[MAX_CHILDREN];

int fab_tmp_claim(const char *path) {
  size_t n = strlen(path);
  if (n >= TMP_PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (int i = 0; i < TMP_SLOTS; i++) {
    int expect = SLOT_FREE;
    if (atomic_compare_exchange_strong(&slots[i].state, &expect, SLOT_FILLING)) {
      memcpy(slots[i].path, path, n + 1);
      atomic_store(&slots[i].state, SLOT_READY);
      return i;
    }
  }
  errno = EMFILE;
  return -1;
}

void fab_tmp_release(int slot) {
  if (slot < 0 || slot >= TMP_SLOTS) return;
  int expect = SLOT_READY;
  if (!atomic_compare_exchange_strong(&slots[slot].state, &expect, SLOT_FREE))
    for (;;) pause(); /* a handler on another thread is removing it: the process is ending */
}

void fab_out_track_child(pid_t pid) {
  for (int i = 0; i < MAX_CHILDREN; i++) {
    int expect = 0;
    if (atomic_compare_exchange_strong(&children[i], &expect, (int)pid)) return;
  }
}

void fab_out_untrack_child(pid_t pid) {
  for (int i = 0; i < MAX_CHILDREN; i++) {
    int expect = (int)pid;
    atomic_compare_exchange_strong(&children[i], &expect, 0);
  }
}

static void on_signal(int sig) {
  int saved = errno;
  /* first the children, which may still be writing a temporary */
  for (int i = 0; i < MAX_CHILDREN; i++) {
    int pid = atomic_exchange(&children[i], 0);
    if (pid > 0 && kill(-pid, SIGTERM) == 0) /* its process group: the driver and the linker */
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
  }
  for (int i = 0; i < TMP_SLOTS; i++) {
    int expect = SLOT_READY;
    if (atomic_compare_exchange_strong(&slots[i].state, &expect, SLOT_REMOVING)) unlink(slots[i].path);
  }
  errno = saved;
  raise(sig); /* SA_RESETHAND: delivered, with the default action, on return */
}

void fab_out_cleanup_on_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old, sa;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(sigs[i], &sa, NULL);
  }
}
