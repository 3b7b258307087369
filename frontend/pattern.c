/* pattern.c — a declared tensor type as the user wrote it, for messages
 * ("f32[.., s, d]", "f32[s, (d * 2)]"). */
#include "elab.h"

#include <stdio.h>
#include <string.h>

/* Appends dim expression x as written (names, integers, arithmetic). */
static void expr_text(const ast_expr *x, char *buf, size_t n) {
  size_t at = strlen(buf);
  if (at + 1 >= n) return;
  switch (x->kind) {
  case E_INT: snprintf(buf + at, n - at, "%lld", (long long)x->i); break;
  case E_NAME: snprintf(buf + at, n - at, "%s", x->s); break;
  case E_NEG:
    snprintf(buf + at, n - at, "-");
    expr_text(x->lhs, buf, n);
    break;
  case E_BINARY:
    snprintf(buf + at, n - at, "(");
    expr_text(x->lhs, buf, n);
    at = strlen(buf);
    snprintf(buf + at, n - at, " %c ", x->op);
    expr_text(x->rhs, buf, n);
    at = strlen(buf);
    snprintf(buf + at, n - at, ")");
    break;
  default: snprintf(buf + at, n - at, "?"); break;
  }
}

/* The declared type as written: "f32[.., s, d]". */
const char *elab_pattern_text(const ast_type *t, char *buf, size_t n) {
  snprintf(buf, n, "%s[%s", t->dtype, t->leading ? ".." : "");
  for (int i = 0; i < t->dims->n; i++) {
    size_t at = strlen(buf);
    snprintf(buf + at, n - at, "%s", i || t->leading ? ", " : "");
    expr_text(t->dims->items[i], buf, n);
  }
  size_t at = strlen(buf);
  snprintf(buf + at, n - at, "]");
  return buf;
}
