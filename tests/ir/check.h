/* check.h — the tiny assertion helper shared by the ir.* tests: count
 * failures, print file:line and the values, exit non-zero at the end. */
#ifndef FAB_TESTS_IR_CHECK_H
#define FAB_TESTS_IR_CHECK_H

#include <stdio.h>
#include <string.h>

#include "ir.h"

static int check_failures;

#define CHECK(c)                                                                 \
  do {                                                                           \
    if (!(c)) {                                                                  \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);      \
      check_failures++;                                                          \
    }                                                                            \
  } while (0)

#define CHECK_STR(got, want)                                                     \
  do {                                                                           \
    const char *g_ = (got), *w_ = (want);                                        \
    if (!g_ || strcmp(g_, w_) != 0) {                                            \
      fprintf(stderr, "%s:%d: got  \"%s\"\n%*s want \"%s\"\n", __FILE__, __LINE__, \
              g_ ? g_ : "(null)", (int)strlen(__FILE__) + 6, "", w_);            \
      check_failures++;                                                          \
    }                                                                            \
  } while (0)

static inline int check_report(const char *name) {
  if (check_failures) fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
  else printf("%s: ok\n", name);
  return check_failures ? 1 : 0;
}

/* Everything fab_diag_print writes for d (malloc'd). */
static inline char *diag_text(const fab_diag *d) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  fab_diag_print(d, out);
  fclose(out);
  return buf;
}

#endif
