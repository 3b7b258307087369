/* cd_test.h — the check macro and space loader shared by the codesign
 * test programs (test_codesign.c, test_accuracy.c). */
#ifndef CD_TEST_H
#define CD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Samples n points of s (simulated if sim) into a fresh temporary file
 * whose name is left in path (at least 24 bytes); prints the diagnostics
 * on failure. */
static inline bool cd_sample_file(const fab_cd_space *s, int n, bool sim, char *path) {
  snprintf(path, 24, "/tmp/fab_cd_dsXXXXXX");
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) return false;
  fab_cd_sample_options o;
  fab_cd_sample_options_default(&o);
  o.count = n;
  o.fpga_sim = sim;
  bool ok = fab_cd_sample(s, &o, f, d);
  fclose(f);
  if (!ok) fab_diag_print(d, stderr);
  return ok;
}

/* A test program's main: argv[1] the spaces folder, argv[2] the test's
 * name in `cases`; the test's status (77: skipped), 1 after a failed
 * CHECK, 2 for an unknown name. */
typedef struct cd_test_case {
  const char *name;
  int (*run)(void);
} cd_test_case;
static inline int cd_test_main(int argc, char **argv, const cd_test_case *cases, size_t ncases) {
  if (argc < 3) return 2;
  dir = argv[1];
  d = fab_diag_new();
  int rc = 2;
  for (size_t i = 0; i < ncases && rc == 2; i++)
    if (!strcmp(argv[2], cases[i].name)) rc = cases[i].run();
  if (rc == 2) fprintf(stderr, "unknown test %s\n", argv[2]);
  fab_diag_free(d);
  if (fails) fprintf(stderr, "%d check(s) failed\n", fails);
  return fails ? 1 : rc;
}

#endif
