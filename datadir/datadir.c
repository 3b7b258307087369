/* datadir.c — fabc's data folder, found from the running executable
 * (/proc/self/exe), with the source tree as the build tree's fallback. */
#include "fab_datadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The running executable's folder, resolved (no trailing slash). */
static bool exe_dir(char *buf, size_t len) {
  char link[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
  if (n <= 0) return false;
  link[n] = 0;
  char *slash = strrchr(link, '/');
  if (!slash) return false;
  *slash = 0;
  return (size_t)snprintf(buf, len, "%s", link[0] ? link : "/") < len;
}

/* True if `path` lies inside the folder `root` (both resolved here). */
static bool inside(const char *path, const char *root) {
  char rp[PATH_MAX], rr[PATH_MAX];
  if (!realpath(path, rp) || !realpath(root, rr)) return false;
  size_t n = strlen(rr);
  return strncmp(rp, rr, n) == 0 && (rp[n] == '/' || rp[n] == 0);
}

static bool put(char *buf, size_t len, const char *a, const char *b) {
  if ((size_t)snprintf(buf, len, "%s%s", a, b) >= len || !is_dir(buf)) {
    if (len) buf[0] = 0;
    return false;
  }
  return true;
}

bool fab_data_dir(fab_data_kind kind, char *buf, size_t len) {
  static const char *installed[] = {[FAB_DATA_IMPORTS] = "", [FAB_DATA_CONFIGS] = "/configs"};
  static const char *in_source[] = {[FAB_DATA_IMPORTS] = "/examples", [FAB_DATA_CONFIGS] = "/configs"};
  char exe[PATH_MAX], share[PATH_MAX + sizeof FAB_DATA_FROM_BIN + 1];
  if (len) buf[0] = 0;
  if (!exe_dir(exe, sizeof exe)) return false;
  snprintf(share, sizeof share, "%s/%s", exe, FAB_DATA_FROM_BIN); /* "../share/fabc" */
  if (is_dir(share)) {
    char resolved[PATH_MAX];
    return put(buf, len, realpath(share, resolved) ? resolved : share, installed[kind]);
  }
  /* Set by datadir/CMakeLists.txt at configure time. */
  if (inside(exe, FAB_BUILD_TREE)) return put(buf, len, FAB_SOURCE_TREE, in_source[kind]);
  return false;
}
