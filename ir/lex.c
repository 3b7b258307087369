/* lex.c — tokenizer of the IR text form (see lex.h for the contract). */
#include "lex.h"
#include "fab_alloc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_alpha(int c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void lex_init(lexer *lx, const char *file, const char *text, size_t len) {
  memset(lx, 0, sizeof *lx);
  lx->file = file;
  lx->p = text;
  lx->end = text + len;
  lx->line = 1;
  lx->col = 1;
}

void lex_free(lexer *lx) {
  free(lx->sbuf);
  lx->sbuf = NULL;
}

static int peek(const lexer *lx, size_t k) {
  return (size_t)(lx->end - lx->p) > k ? (unsigned char)lx->p[k] : -1;
}

static void advance(lexer *lx, size_t n) {
  for (size_t i = 0; i < n && lx->p < lx->end; i++) {
    if (*lx->p == '\n') {
      if (lx->line < INT_MAX) lx->line++;
      lx->col = 1;
    } else if (lx->col < INT_MAX) {
      lx->col++;
    }
    lx->p++;
  }
}

static void bad(lexer *lx, const char *msg) {
  lx->tok.kind = T_BAD;
  if (lx->report) lx->report(lx->ctx, lx->tok.line, lx->tok.col, msg);
}

static bool sbuf_put(lexer *lx, char c) {
  if (lx->slen + 1 >= lx->scap) {
    size_t cap = lx->scap ? lx->scap * 2 : 256;
    char *s = fab_realloc(lx->sbuf, cap);
    if (!s) return false;
    lx->sbuf = s;
    lx->scap = cap;
  }
  lx->sbuf[lx->slen++] = c;
  lx->sbuf[lx->slen] = 0;
  return true;
}

/* A "..." string with \" \\ \n \t \xHH escapes; stops at end of line. */
static void lex_string(lexer *lx) {
  lx->slen = 0;
  if (!sbuf_put(lx, 0)) { bad(lx, "out of memory"); return; }
  lx->slen = 0;
  advance(lx, 1);
  for (;;) {
    int c = peek(lx, 0);
    if (c < 0 || c == '\n') { bad(lx, "unterminated string"); return; }
    if (c == '"') break;
    if (lx->slen >= LEX_MAX_STRING) { bad(lx, "string too long"); return; }
    if (c == '\\') {
      int e = peek(lx, 1);
      if (e == '"' || e == '\\') c = e;
      else if (e == 'n') c = '\n';
      else if (e == 't') c = '\t';
      else if (e == 'x') {
        int h = hex_value(peek(lx, 2)), l = h >= 0 ? hex_value(peek(lx, 3)) : -1;
        if (h < 0 || l < 0) { bad(lx, "\\x needs two hex digits"); return; }
        c = h * 16 + l;
        if (c == 0) { bad(lx, "\\x00 is not allowed in strings"); return; }
        advance(lx, 2);
      } else {
        { bad(lx, "unknown escape in string"); return; }
      }
      advance(lx, 1);
    } else if (c == 0) {
      { bad(lx, "NUL byte in string"); return; }
    }
    if (!sbuf_put(lx, (char)c)) { bad(lx, "out of memory"); return; }
    advance(lx, 1);
  }
  advance(lx, 1);
  lx->tok.kind = T_STRING;
}

/* -?digits(.digits*)?([eE][+-]?digits)?  or -inf */
static void lex_number(lexer *lx) {
  size_t n = 0;
  bool neg = peek(lx, 0) == '-';
  if (neg) n++;
  if (!is_digit(peek(lx, n))) {
    if (neg && peek(lx, 1) == 'i' && peek(lx, 2) == 'n' && peek(lx, 3) == 'f' &&
        !is_ident_char(peek(lx, 4))) {
      advance(lx, 4);
      lx->tok.kind = T_FLOAT;
      lx->tok.f = -(double)INFINITY;
      return;
    }
    advance(lx, 1);
    { bad(lx, "expected a digit after '-'"); return; }
  }
  bool is_float = false;
  while (is_digit(peek(lx, n))) n++;
  if (peek(lx, n) == '.') {
    is_float = true;
    n++;
    while (is_digit(peek(lx, n))) n++;
  }
  if (peek(lx, n) == 'e' || peek(lx, n) == 'E') {
    size_t k = n + 1;
    if (peek(lx, k) == '+' || peek(lx, k) == '-') k++;
    if (is_digit(peek(lx, k))) {
      is_float = true;
      n = k;
      while (is_digit(peek(lx, n))) n++;
    }
  }
  if (is_ident_char(peek(lx, n))) {
    advance(lx, n);
    { bad(lx, "malformed number"); return; }
  }
  if (n > LEX_MAX_NUMBER) {
    advance(lx, n);
    { bad(lx, "number too long"); return; }
  }
  char buf[LEX_MAX_NUMBER + 1];
  memcpy(buf, lx->p, n);
  buf[n] = 0;
  lx->tok.f = strtod(buf, NULL);
  lx->tok.kind = is_float ? T_FLOAT : T_INT;
  if (!is_float) {
    /* Accumulate as a negative number so that INT64_MIN fits. */
    int64_t v = 0;
    bool over = false;
    for (size_t i = neg; i < n; i++) {
      int d = buf[i] - '0';
      if (v < (INT64_MIN + d) / 10) over = true;
      else v = v * 10 - d;
    }
    if (!neg) {
      if (v == INT64_MIN) over = true;
      else v = -v;
    }
    lx->tok.i = over ? 0 : v;
    lx->tok.overflow = over;
  }
  advance(lx, n);
}

void lex_next(lexer *lx) {
  for (;;) {
    int c = peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\r') advance(lx, 1);
    else if (c == '/' && peek(lx, 1) == '/')
      while (peek(lx, 0) >= 0 && peek(lx, 0) != '\n') advance(lx, 1);
    else break;
  }
  token *t = &lx->tok;
  memset(t, 0, sizeof *t);
  t->line = lx->line;
  t->col = lx->col;
  t->start = lx->p;
  int c = peek(lx, 0);
  if (c < 0) {
    t->kind = T_EOF;
  } else if (c == '\n') {
    t->kind = T_NL;
    advance(lx, 1);
  } else if (is_alpha(c)) {
    size_t n = 1;
    while (is_ident_char(peek(lx, n))) n++;
    advance(lx, n);
    t->kind = T_IDENT;
  } else if (c == '%') {
    size_t n = 1;
    while (is_ident_char(peek(lx, n))) n++;
    advance(lx, n);
    if (n == 1) bad(lx, "expected a value name after '%'");
    else if (n - 1 > LEX_MAX_NAME) bad(lx, "value name too long");
    else t->kind = T_VALUE;
  } else if (c == '@') {
    advance(lx, 1);
    if (peek(lx, 0) == '"') {
      lex_string(lx);
      if (t->kind == T_STRING) t->kind = T_AT;
    } else if (is_alpha(peek(lx, 0))) {
      lx->slen = 0;
      while (is_ident_char(peek(lx, 0))) {
        if (lx->slen >= LEX_MAX_STRING) { bad(lx, "name too long"); return; }
        if (!sbuf_put(lx, (char)peek(lx, 0))) { bad(lx, "out of memory"); return; }
        advance(lx, 1);
      }
      t->kind = T_AT;
    } else {
      bad(lx, "expected a name or a string after '@'");
    }
  } else if (c == '-' || is_digit(c)) {
    lex_number(lx);
  } else if (c == '"') {
    lex_string(lx);
  } else if (strchr("=,{}[]():", c) && c != 0) {
    t->kind = T_PUNCT;
    t->punct = (char)c;
    advance(lx, 1);
  } else {
    char msg[64];
    if (c >= 0x21 && c < 0x7f) snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    else snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
    advance(lx, 1);
    bad(lx, msg);
  }
  t->len = (size_t)(lx->p - t->start);
}
