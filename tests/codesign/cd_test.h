/* cd_test.h — the check macro and space loader shared by the codesign
 * test programs (test_codesign.c, test_accuracy.c). */
#ifndef CD_TEST_H
#define CD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "codesign.h"

static int fails;
#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                        \
      fails++;                                                                                     \
    }                                                                                              \
  } while (0)

static const char *dir; /* the spaces folder (argv[1]) */
static fab_diag *d;

/* A fresh empty file from a mkstemp template ("/tmp/...XXXXXX"), its
 * name left in tmpl. */
static inline bool temp_path(char *tmpl) {
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

/* Loads spaces/<name>; prints the diagnostics on failure. */
static inline bool load(const char *name, fab_cd_space *s) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  bool ok = fab_cd_space_load(path, s, d);
  if (!ok) fab_diag_print(d, stderr);
  return ok;
}

#endif
