/* test_fuzz.c — hostile input: random bytes and random mutations of a
 * valid module text (seeded, so failures reproduce).  The parser must
 * never crash, must return NULL exactly when it reported an error, and
 * whatever it accepts must verify without crashing and round-trip
 * exactly.  Run it under -DFAB_SANITIZE=ON for the real guarantee. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "sample.h"

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static size_t pick(size_t n) { return n ? (size_t)(next_rand() % n) : 0; }

static int accepted, rejected;

static void try_text(const char *text, size_t len, long iter) {
  fab_diag *d = fab_diag_new();
  fab_diag_set_limit(d, 20);
  fab_module *m = fab_parse_module("fuzz.fir", text, len, d);
  if ((m == NULL) != (fab_diag_error_count(d) > 0)) {
    fprintf(stderr, "iteration %ld: result and error count disagree\n", iter);
    check_failures++;
  }
  if (m) {
    accepted++;
    fab_verify(m, d);
    char *s1 = fab_print_module_str(m, 0);
    fab_diag *d2 = fab_diag_new();
    fab_module *m2 = fab_parse_module("again.fir", s1, strlen(s1), d2);
    char *s2 = m2 ? fab_print_module_str(m2, 0) : NULL;
    if (!s2 || strcmp(s1, s2) != 0) {
      fprintf(stderr, "iteration %ld: accepted text does not round-trip:\n%s", iter, s1);
      fab_diag_print(d2, stderr);
      check_failures++;
    }
    free(s1);
    free(s2);
    fab_module_free(m2);
    fab_diag_free(d2);
    fab_module_free(m);
  } else {
    rejected++;
  }
  /* Printing the diagnostics (with source lines and carets) must be safe. */
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    fab_diag_print(d, null);
    fclose(null);
  }
  fab_diag_free(d);
}

/* Bytes drawn mostly from the IR's own alphabet, so the lexer goes deep. */
static void random_texts(int n) {
  static const char alphabet[] = "module param func @%{}[]():=,\"\\\n\n  -.e0123456789xf32i32c64"
                                 "inputweightoutputrelu add loc nan inf// \t\x01\xff";
  char buf[512];
  for (int it = 0; it < n; it++) {
    size_t len = pick(sizeof buf);
    for (size_t i = 0; i < len; i++)
      buf[i] = pick(4) == 0 ? (char)pick(256) : alphabet[pick(sizeof alphabet - 1)];
    try_text(buf, len, it);
  }
}

static void mutated_texts(const char *valid, int n) {
  static const char *snippets[] = {"99999999999999999999", "-", "1e999", "%", "@", "\"", "\\x0",
                                   "[", "]", "{", "}", "\n", "f32[0]", "-9223372036854775808",
                                   "nan", "-inf", "loc(\"a\":1:2)", "%0", "%999", ", %0",
                                   "{plan.x = []}", "output %1 {index = 0, name = \"q\"}\n"};
  size_t vlen = strlen(valid);
  char *buf = malloc(vlen * 2 + 256);
  if (!buf) return;
  for (int it = 0; it < n; it++) {
    memcpy(buf, valid, vlen);
    size_t len = vlen;
    int edits = 1 + (int)pick(4);
    for (int e = 0; e < edits; e++) {
      size_t at = pick(len + 1);
      switch (pick(4)) {
      case 0: /* overwrite a byte */
        if (at < len) buf[at] = (char)pick(256);
        break;
      case 1: { /* delete a range */
        size_t k = pick(40);
        if (at + k > len) k = len - at;
        memmove(buf + at, buf + at + k, len - at - k);
        len -= k;
        break;
      }
      case 2: { /* insert a snippet */
        const char *s = snippets[pick(sizeof snippets / sizeof *snippets)];
        size_t k = strlen(s);
        if (len + k > vlen * 2 + 200) break;
        memmove(buf + at + k, buf + at, len - at);
        memcpy(buf + at, s, k);
        len += k;
        break;
      }
      default: /* change a digit: shapes and indices go wrong */
        for (size_t i = at; i < len; i++)
          if (buf[i] >= '0' && buf[i] <= '9') {
            buf[i] = (char)('0' + pick(10));
            break;
          }
      }
    }
    try_text(buf, len, 100000 + it);
  }
  free(buf);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5000;
  if (argc > 2) rng = strtoull(argv[2], NULL, 0);
  fab_module *m = sample_module();
  CHECK(m != NULL);
  if (!m) return check_report("ir.fuzz");
  char *valid = fab_print_module_str(m, FAB_PRINT_LOCS);
  fab_module_free(m);
  try_text(valid, strlen(valid), -1);
  CHECK(accepted == 1);
  random_texts(n);
  mutated_texts(valid, n);
  free(valid);
  printf("ir.fuzz: %d texts accepted, %d rejected\n", accepted, rejected);
  CHECK(accepted > 1 && rejected > n);
  return check_report("ir.fuzz");
}
