/* num.c — strict decimal integers for options and -D. */
#include "fab_util.h"

fab_int_status fab_parse_int64(const char *s, int64_t *out) {
  bool neg = *s == '-';
  if (*s == '-' || *s == '+') s++;
  if (*s < '0' || *s > '9') return FAB_INT_SYNTAX;
  /* accumulate negatively: -2^63 is representable, 2^63 is not */
  int64_t v = 0;
  bool overflow = false;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, *s - '0', &v)) overflow = true;
  }
  if (*s) return FAB_INT_SYNTAX;
  if (overflow || (!neg && v == INT64_MIN)) return FAB_INT_OVERFLOW;
  *out = neg ? v : -v;
  return FAB_INT_OK;
}

const char *fab_int_status_text(fab_int_status st) {
  switch (st) {
  case FAB_INT_OK: return "";
  case FAB_INT_SYNTAX: return "is not a decimal integer";
  default: return "does not fit in 64 bits";
  }
}
