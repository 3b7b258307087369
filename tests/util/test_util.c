/* test_util.c — util/: strict decimal integers, typed JSON fields, the
 * hash index and the sparse pointer map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_util.h"

static int failures;
#define CHECK(c)                                                                                   \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);                        \
      failures++;                                                                                  \
    }                                                                                              \
  } while (0)

static fab_int_status parse(const char *s, int64_t *v) {
  *v = 12345;
  return fab_parse_int64(s, v);
}

static void test_decimal(void) {
  int64_t v;
  CHECK(parse("0", &v) == FAB_INT_OK && v == 0);
  CHECK(parse("010", &v) == FAB_INT_OK && v == 10); /* decimal, not octal */
  CHECK(parse("-42", &v) == FAB_INT_OK && v == -42);
  CHECK(parse("+7", &v) == FAB_INT_OK && v == 7);
  CHECK(parse("9223372036854775807", &v) == FAB_INT_OK && v == INT64_MAX);
  CHECK(parse("-9223372036854775808", &v) == FAB_INT_OK && v == INT64_MIN);
  CHECK(parse("9223372036854775808", &v) == FAB_INT_OVERFLOW && v == 12345);
  CHECK(parse("-9223372036854775809", &v) == FAB_INT_OVERFLOW);
  CHECK(parse("99999999999999999999", &v) == FAB_INT_OVERFLOW);
  CHECK(parse("99999999999999999999x", &v) == FAB_INT_SYNTAX);
  const char *bad[] = {"", "-", "+", "0x10", "12abc", " 3", "3 ", "1e3", "1.0", "--1", "٣"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(parse(bad[i], &v) == FAB_INT_SYNTAX);
  CHECK(strcmp(fab_int_status_text(FAB_INT_OVERFLOW), "does not fit in 64 bits") == 0);
}

static bool json_int(const char *text, int64_t lo, int64_t hi, int64_t *v, char *err, size_t n) {
  json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
  bool ok = fab_json_int(j, "model.seq", lo, hi, v, err, n);
  json_decref(j);
  return ok;
}

static void test_json(void) {
  int64_t v;
  char err[200];
  CHECK(json_int("1024", 1, 1 << 20, &v, err, sizeof err) && v == 1024);
  CHECK(json_int("1024.0", 1, 1 << 20, &v, err, sizeof err) && v == 1024);
  CHECK(!json_int("\"fp32\"", 1, 1 << 20, &v, err, sizeof err));
  CHECK(strcmp(err, "\"model.seq\" must be an integer in [1, 1048576], got \"fp32\"") == 0);
  CHECK(!json_int("[1]", 1, 100, &v, err, sizeof err) && strstr(err, "got [1]"));
  CHECK(!json_int("3.7", 1, 100, &v, err, sizeof err) && strstr(err, "got 3.7"));
  CHECK(!json_int("1e10", 1, 100, &v, err, sizeof err));
  CHECK(!json_int("1e300", INT64_MIN, INT64_MAX, &v, err, sizeof err)); /* no UB cast */
  CHECK(!json_int("9.3e18", INT64_MIN, INT64_MAX, &v, err, sizeof err));
  CHECK(!json_int("0", 1, 100, &v, err, sizeof err));
  CHECK(!json_int("true", 0, 1, &v, err, sizeof err));
  CHECK(!json_int("null", 0, 1, &v, err, sizeof err));
  double d;
  json_t *o = json_loads("{\"a\": 2.5, \"b\": \"x\", \"c\": 5}", 0, NULL);
  CHECK(fab_json_member_number(o, "top", "a", 0, 10, 0, &d, err, sizeof err) && d == 2.5);
  CHECK(fab_json_member_number(o, "top", "absent", 0, 10, 7, &d, err, sizeof err) && d == 7);
  CHECK(!fab_json_member_number(o, "top", "b", 0, 10, 0, &d, err, sizeof err) &&
        strstr(err, "\"top.b\" must be a number"));
  CHECK(!fab_json_member_int(o, NULL, "c", 0, 4, 0, &v, err, sizeof err) &&
        strcmp(err, "\"c\" must be an integer in [0, 4], got 5") == 0);
  json_decref(o);
}

static bool named(const void *table, int i, const void *key) {
  return strcmp(((const char *const *)table)[i], key) == 0;
}

static void test_index(void) {
  enum { N = 100000 };
  char **names = malloc(N * sizeof *names);
  fab_index x = {0};
  CHECK(fab_index_find(&x, fab_hash_str("a"), named, names, "a") == -1);
  for (int i = 0; i < N; i++) {
    names[i] = malloc(16);
    snprintf(names[i], 16, "n.%d", i % (N / 2)); /* every name twice */
    CHECK(fab_index_add(&x, fab_hash_str(names[i]), i));
  }
  for (int i = 0; i < N; i++) CHECK(fab_index_find(&x, fab_hash_str(names[i]), named, names, names[i]) == i % (N / 2));
  CHECK(fab_index_find(&x, fab_hash_str("n.-1"), named, names, "n.-1") == -1);
  fab_index_free(&x);
  fab_index y = {0};
  CHECK(fab_index_reserve(&y, 1000) && y.cap >= 2000);
  fab_index_free(&y);
  for (int i = 0; i < N; i++) free(names[i]);
  free(names);

  fab_ptrmap m = {0};
  int vals[3];
  CHECK(!fab_ptrmap_get(&m, 5));
  for (int64_t k = 0; k < 3000; k++) CHECK(fab_ptrmap_put(&m, k * ((int64_t)1 << 40), &vals[k % 3]));
  CHECK(fab_ptrmap_put(&m, 0, &vals[2]) && m.n == 3000); /* replace */
  CHECK(fab_ptrmap_get(&m, 0) == &vals[2] && fab_ptrmap_get(&m, (int64_t)1 << 40) == &vals[1]);
  CHECK(!fab_ptrmap_get(&m, 1));
  fab_ptrmap_free(&m, NULL);
}

int main(void) {
  test_decimal();
  test_json();
  test_index();
  if (failures) fprintf(stderr, "%d failures\n", failures);
  return failures != 0;
}
