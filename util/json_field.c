/* json_field.c — typed JSON fields: integers stay integers, numbers stay
 * finite and in range, and every error names the field's path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fab_util.h"

/* The offending value, compact and cut short, for the message. */
static void show(const json_t *v, char *buf, size_t n) {
  char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  if (!s) snprintf(buf, n, "%s", v ? "a value" : "nothing");
  else snprintf(buf, n, "%.60s%s", s, strlen(s) > 60 ? "..." : "");
  free(s);
}

bool fab_json_int(const json_t *v, const char *path, int64_t lo, int64_t hi, int64_t *out,
                  char *err, size_t errlen) {
  bool ok = false;
  int64_t i = 0;
  if (json_is_integer(v)) {
    i = json_integer_value(v);
    ok = i >= lo && i <= hi;
  } else if (json_is_real(v)) {
    double d = json_real_value(v);
    /* range first: converting an out-of-range double is undefined */
    ok = d == floor(d) && d >= (double)lo && d <= (double)hi && d > -9.3e18 && d < 9.2e18;
    if (ok) i = (int64_t)d;
  }
  if (ok) {
    *out = i;
    return true;
  }
  char got[80];
  show(v, got, sizeof got);
  snprintf(err, errlen, "\"%s\" must be an integer in [%lld, %lld], got %s", path, (long long)lo,
           (long long)hi, got);
  return false;
}

bool fab_json_number(const json_t *v, const char *path, double lo, double hi, double *out,
                     char *err, size_t errlen) {
  double d = json_is_number(v) ? json_number_value(v) : NAN;
  if (d >= lo && d <= hi) {
    *out = d;
    return true;
  }
  char got[80];
  show(v, got, sizeof got);
  snprintf(err, errlen, "\"%s\" must be a number in [%g, %g], got %s", path, lo, hi, got);
  return false;
}

/* Member `key` of `obj` (NULL if absent) and its path "PREFIX.key". */
static const json_t *member(const json_t *obj, const char *prefix, const char *key, char *path,
                            size_t n) {
  snprintf(path, n, "%s%s%s", prefix && *prefix ? prefix : "", prefix && *prefix ? "." : "", key);
  return json_object_get(obj, key);
}

bool fab_json_member_int(const json_t *obj, const char *prefix, const char *key, int64_t lo,
                         int64_t hi, int64_t dflt, int64_t *out, char *err, size_t errlen) {
  char path[256];
  const json_t *v = member(obj, prefix, key, path, sizeof path);
  *out = dflt;
  return !v || fab_json_int(v, path, lo, hi, out, err, errlen);
}

bool fab_json_member_number(const json_t *obj, const char *prefix, const char *key, double lo,
                            double hi, double dflt, double *out, char *err, size_t errlen) {
  char path[256];
  const json_t *v = member(obj, prefix, key, path, sizeof path);
  *out = dflt;
  return !v || fab_json_number(v, path, lo, hi, out, err, errlen);
}
