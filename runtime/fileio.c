/* fileio.c — reading untrusted files, atomic writes, load/save by extension.
 *
 * Contract: reads never go past the size the file had when opened (a file
 * that shrinks meanwhile is an I/O error, not a short buffer).  Writes go
 * through fab_out (fab_out.h): a temporary file in the destination's
 * folder, fsync'ed and renamed over the destination, so readers see the
 * old file or the whole new one; on any failure the temporary is removed
 * and the old file is untouched. */
#include "fab_out.h"
#include "fab_tensor_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fab_status fab_rfile_open(fab_rfile *f, const char *path, char *err, size_t errlen) {
  f->fd = -1;
  f->size = 0;
  f->path = path;
  if (!path) return fab_fail(err, errlen, FAB_E_ARG, "no file name given");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fab_fail(err, errlen, FAB_E_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fab_fail(err, errlen, FAB_E_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return fab_fail(err, errlen, FAB_E_IO, "%s: not a regular file", path);
  }
  f->fd = fd;
  f->size = (uint64_t)st.st_size;
  return FAB_OK;
}

void fab_rfile_close(fab_rfile *f) {
  if (f->fd >= 0) close(f->fd);
  f->fd = -1;
}

fab_status fab_rfile_read(const fab_rfile *f, uint64_t off, void *dst, size_t len, char *err,
                          size_t errlen) {
  if (off > f->size || len > f->size - off)
    return fab_fail(err, errlen, FAB_E_FORMAT, "%s: read of %zu bytes at offset %llu is past the end (%llu bytes)",
                    f->path, len, (unsigned long long)off, (unsigned long long)f->size);
  char *p = dst;
  while (len > 0) {
    /* pread may return less than asked (and at most ~2 GB on Linux). */
    size_t want = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
    ssize_t r = pread(f->fd, p, want, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fab_fail(err, errlen, FAB_E_IO, "%s: read error: %s", f->path, strerror(errno));
    }
    if (r == 0)
      return fab_fail(err, errlen, FAB_E_IO, "%s: file shrank while being read", f->path);
    p += r;
    off += (uint64_t)r;
    len -= (size_t)r;
  }
  return FAB_OK;
}

fab_status fab_write_chunks_atomic(const char *path, const fab_chunk *chunks, int n, char *err,
                                   size_t errlen) {
  fab_out *o = fab_out_open(path, err, errlen);
  if (!o) return path && *path ? FAB_E_IO : FAB_E_ARG;
  for (int i = 0; i < n; i++) fab_out_write(o, chunks[i].data, chunks[i].len);
  return fab_out_commit(o, err, errlen);
}

fab_status fab_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                                 size_t errlen) {
  if (len && !data) return fab_fail(err, errlen, FAB_E_ARG, "%s: no data given", path ? path : "?");
  fab_chunk c = {data, len};
  return fab_write_chunks_atomic(path, &c, 1, err, errlen);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

fab_status fab_tensors_load(const char *path, fab_tensor_set **out, char *err, size_t errlen) {
  if (!path || !out) return fab_fail(err, errlen, FAB_E_ARG, "fab_tensors_load: no path or output");
  *out = NULL;
  if (ends_with(path, ".safetensors")) return fab_safetensors_read(path, out, err, errlen);
  if (ends_with(path, ".npy")) return fab_npy_read(path, NULL, out, err, errlen);
  return fab_fail(err, errlen, FAB_E_ARG, "%s: unknown tensor file type (want .safetensors or .npy)",
                  path);
}

fab_status fab_tensors_save(const char *path, const fab_tensor_set *s, char *err, size_t errlen) {
  if (!path || !s) return fab_fail(err, errlen, FAB_E_ARG, "fab_tensors_save: no path or tensors");
  if (ends_with(path, ".safetensors")) return fab_safetensors_write(path, s, err, errlen);
  if (ends_with(path, ".npy")) {
    if (s->count != 1)
      return fab_fail(err, errlen, FAB_E_ARG, "%s: a .npy file holds exactly one tensor, not %d",
                      path, s->count);
    return fab_npy_write(path, &s->items[0], err, errlen);
  }
  return fab_fail(err, errlen, FAB_E_ARG, "%s: unknown tensor file type (want .safetensors or .npy)",
                  path);
}
