/* check.h — the weights tests' tiny assertion helper.  A failed CHECK
 * prints file:line and the expression and counts the failure; the test
 * keeps going so one run shows every broken case. */
#ifndef WEIGHTS_CHECK_H
#define WEIGHTS_CHECK_H

#include "fab_tensor.h"

#include <stdio.h>

extern int check_failures;
extern const char *check_tmpdir; /* a scratch folder owned by this test */

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
      check_failures++;                                                          \
    }                                                                            \
  } while (0)

/* Checks a call's status; on mismatch also prints the error message. */
#define CHECK_ST(call, want)                                                      \
  do {                                                                            \
    err[0] = '\0';                                                                \
    fab_status got_ = (call);                                                     \
    if (got_ != (want)) {                                                         \
      fprintf(stderr, "%s:%d: %s returned %s, want %s (%s)\n", __FILE__, __LINE__, \
              #call, fab_status_name(got_), fab_status_name(want), err);          \
      check_failures++;                                                           \
    }                                                                             \
  } while (0)

/* Path of a file in the scratch folder (static buffer, one at a time). */
const char *tmp_path(const char *name);
/* Writes bytes to a file (not atomically: test setup only). */
void put_file(const char *path, const void *data, size_t len);
/* Reads a whole file; returns NULL if absent.  Caller frees. */
unsigned char *get_file(const char *path, size_t *len);

/* Valid sample files, built byte by byte the way Python's safetensors and
 * NumPy write them (caller frees). */
unsigned char *sample_safetensors(size_t *len);
unsigned char *sample_npy(size_t *len);

/* Test groups (one ctest test each). */
void test_tset(void);
void test_convert(void);
void test_rng(void);
void test_atomic(void);
void test_safetensors(void);
void test_st_lies(void);
void test_npy(void);
void test_truncate(void);
void test_fuzz(void);
void test_wmap_rules(void);
void test_wmap_json(void);
void test_wmap_apply(void);
void test_wmap_suggest(void);
void test_wmap_bind(void);
void test_wmap_scale(void);

#endif /* WEIGHTS_CHECK_H */
