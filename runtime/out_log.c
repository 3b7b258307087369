/* out_log.c — append-only logs (fab_out.h): every write is checked; a
 * failed one cuts the file back to its last complete line and makes every
 * later write fail, so the file only ever holds whole lines plus, after a
 * kill, at most one torn last line (which the readers ignore). */
#include "out_internal.h"
#include "fab_alloc.h"
#include "fab_tensor_internal.h" /* fab_fail */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fab_log {
  char *path;
  int fd;
  FILE *stream;
  off_t size;     /* bytes in the file */
  off_t boundary; /* bytes up to and including the last '\n' written */
  bool created;   /* by fab_log_open: removed again if it ends up empty */
  int err;
  const char *what;
};

static ssize_t log_write(void *cookie, const char *buf, size_t len) {
  fab_log *l = cookie;
  if (l->err) return -1;
  int e = fab_io_write_all(l->fd, buf, len);
  if (e) {
    l->err = e, l->what = "write";
    if (ftruncate(l->fd, l->boundary) == 0) l->size = l->boundary;
    return -1;
  }
  l->size += (off_t)len;
  const char *nl = memrchr(buf, '\n', len);
  if (nl) l->boundary = l->size - (off_t)(len - 1 - (size_t)(nl - buf));
  return (ssize_t)len;
}

fab_log *fab_log_open(const char *path, long long keep, char *err, size_t errlen) {
  if (!path || !*path) {
    fab_fail(err, errlen, FAB_E_ARG, "no output file name given");
    return NULL;
  }
  fab_log *l = fab_calloc(1, sizeof *l);
  if (!l || !(l->path = fab_strdup(path))) {
    free(l);
    fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  struct stat st;
  l->created = stat(path, &st) != 0;
  l->fd = -1;
  int e = fab_io_open(path, O_WRONLY | O_CREAT | O_APPEND, &l->fd);
  if (!e && keep >= 0 && ftruncate(l->fd, (off_t)keep) != 0) e = errno;
  if (!e && fstat(l->fd, &st) != 0) e = errno;
  if (!e) {
    l->size = l->boundary = st.st_size;
    cookie_io_functions_t io = {.write = log_write};
    if (!(l->stream = fopencookie(l, "a", io))) e = errno;
  }
  if (e) {
    if (l->fd >= 0) close(l->fd);
    if (l->created) unlink(path);
    fab_fail(err, errlen, FAB_E_IO, "%s: cannot write: %s", path, strerror(e));
    free(l->path);
    free(l);
    return NULL;
  }
  return l;
}

FILE *fab_log_file(fab_log *l) { return l->stream; }

fab_status fab_log_close(fab_log *l, char *err, size_t errlen) {
  if (!l) return FAB_OK;
  if ((fflush(l->stream) != 0 || ferror(l->stream)) && !l->err) l->err = EIO, l->what = "write";
  fclose(l->stream);
  int e;
  if (!l->err && (e = fab_io_fsync(l->fd))) l->err = e, l->what = "fsync";
  if ((e = fab_io_close(l->fd)) && !l->err) l->err = e, l->what = "close";
  if (l->created && l->size == 0) unlink(l->path); /* nothing in it */
  fab_status st = FAB_OK;
  if (l->err)
    st = fab_fail(err, errlen, FAB_E_IO, "%s: %s failed: %s (the file keeps its complete lines)",
                  l->path, l->what, strerror(l->err));
  free(l->path);
  free(l);
  return st;
}
