/* out.c — files written whole or not at all (fab_out.h): a registered
 * temporary next to the destination, checked writes (direct or through a
 * stdio stream whose writes come back here), then flush, fsync, close and
 * rename. */
#include "out_internal.h"
#include "fab_alloc.h"
#include "fab_tensor_internal.h" /* fab_fail */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fab_out {
  char *path, *tmp;
  int fd;          /* -1: reserved for another program */
  int slot;        /* in the signal handlers' registry */
  FILE *stream;    /* fab_out_file's, created on demand */
  int err;         /* the first failure (errno value), 0 while all is well */
  const char *what; /* the operation that failed */
};

static void note_failure(fab_out *o, const char *what, int e) {
  if (!o->err) o->err = e ? e : EIO, o->what = what;
}

static fab_out *open_temp(const char *path, bool reserve, char *err, size_t errlen) {
  if (!path || !*path) {
    fab_fail(err, errlen, FAB_E_ARG, "no output file name given");
    return NULL;
  }
  fab_out *o = fab_calloc(1, sizeof *o);
  if (o) o->path = fab_strdup(path), o->tmp = fab_tmp_name(path);
  if (!o || !o->path || !o->tmp) {
    if (o) free(o->path), free(o->tmp);
    free(o);
    fab_fail(err, errlen, FAB_E_NOMEM, "%s: out of memory", path);
    return NULL;
  }
  o->fd = -1;
  o->slot = fab_tmp_claim(o->tmp);
  int e = o->slot < 0 ? errno : fab_io_open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, &o->fd);
  if (e == EEXIST) { /* left by a dead process that had our PID */
    unlink(o->tmp);
    e = fab_io_open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, &o->fd);
  }
  /* umask-independent, as weights and models are ordinary data */
  if (!e && fchmod(o->fd, 0644) != 0) e = errno;
  if (e) {
    if (o->fd >= 0) close(o->fd), unlink(o->tmp);
    fab_tmp_release(o->slot);
    fab_fail(err, errlen, FAB_E_IO, "%s: cannot create a temporary file next to it: %s", path,
             strerror(e));
    free(o->path), free(o->tmp), free(o);
    return NULL;
  }
  if (reserve) {
    close(o->fd);
    o->fd = -1;
  }
  return o;
}

fab_out *fab_out_open(const char *path, char *err, size_t errlen) {
  return open_temp(path, false, err, errlen);
}

fab_out *fab_out_reserve(const char *path, char *err, size_t errlen) {
  return open_temp(path, true, err, errlen);
}

const char *fab_out_temp_path(const fab_out *o) { return o->tmp; }

/* The stream's buffer holds bytes that come before direct writes. */
static bool write_raw(fab_out *o, const void *data, size_t len);

bool fab_out_write(fab_out *o, const void *data, size_t len) {
  if (o->stream && fflush(o->stream) != 0) note_failure(o, "write", EIO);
  return write_raw(o, data, len);
}

static bool write_raw(fab_out *o, const void *data, size_t len) {
  if (o->err) return false;
  if (o->fd < 0) {
    note_failure(o, "write", EBADF);
    return false;
  }
  int e = len ? fab_io_write_all(o->fd, data, len) : 0;
  if (e) note_failure(o, "write", e);
  return !e;
}

bool fab_out_printf(fab_out *o, const char *fmt, ...) {
  char buf[1024], *p = buf;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) {
    note_failure(o, "format", EINVAL);
    return false;
  }
  if ((size_t)n >= sizeof buf) {
    if (!(p = fab_malloc((size_t)n + 1))) {
      note_failure(o, "write", ENOMEM);
      return false;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  bool ok = fab_out_write(o, p, (size_t)n);
  if (p != buf) free(p);
  return ok;
}

static ssize_t stream_write(void *cookie, const char *buf, size_t len) {
  return write_raw(cookie, buf, len) ? (ssize_t)len : -1;
}

FILE *fab_out_file(fab_out *o) {
  if (!o->stream) {
    cookie_io_functions_t io = {.write = stream_write};
    o->stream = fopencookie(o, "w", io);
    if (!o->stream) note_failure(o, "write", errno);
  }
  return o->stream;
}

/* Empties the stream's buffer into the file and closes the stream. */
static void close_stream(fab_out *o) {
  if (!o->stream) return;
  if (fflush(o->stream) != 0 || ferror(o->stream)) note_failure(o, "write", EIO);
  fclose(o->stream);
  o->stream = NULL;
}

fab_status fab_out_flush(fab_out *o, char *err, size_t errlen) {
  if (o->stream && (fflush(o->stream) != 0 || ferror(o->stream))) note_failure(o, "write", EIO);
  if (!o->err && o->fd >= 0) {
    int e = fab_io_fsync(o->fd);
    if (e) note_failure(o, "fsync", e);
  }
  if (o->err)
    return fab_fail(err, errlen, FAB_E_IO, "%s: %s failed: %s (old file left untouched)", o->path,
                    o->what, strerror(o->err));
  return FAB_OK;
}

static void release(fab_out *o) {
  fab_tmp_release(o->slot);
  free(o->path);
  free(o->tmp);
  free(o);
}

void fab_out_abort(fab_out *o) {
  if (!o) return;
  note_failure(o, "abort", ECANCELED); /* fclose below writes nothing */
  if (o->stream) fclose(o->stream);
  if (o->fd >= 0) close(o->fd);
  unlink(o->tmp);
  release(o);
}

fab_status fab_out_commit(fab_out *o, char *err, size_t errlen) {
  close_stream(o);
  int e = 0;
  if (!o->err && o->fd < 0 && (e = fab_io_open(o->tmp, O_RDONLY, &o->fd))) /* written by another program */
    note_failure(o, "open", e);
  if (!o->err && (e = fab_io_fsync(o->fd))) note_failure(o, "fsync", e);
  if (o->fd >= 0) {
    e = fab_io_close(o->fd);
    o->fd = -1;
    if (e) note_failure(o, "close", e);
  }
  if (!o->err && (e = fab_io_rename(o->tmp, o->path))) note_failure(o, "rename", e);
  if (o->err) {
    fab_status st = fab_fail(err, errlen, FAB_E_IO, "%s: %s failed: %s (old file left untouched)",
                             o->path, o->what, strerror(o->err));
    unlink(o->tmp);
    release(o);
    return st;
  }
  fab_io_sync_parent(o->path);
  release(o);
  return FAB_OK;
}
