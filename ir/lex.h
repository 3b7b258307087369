/* lex.h — the tokenizer of the IR text form (internal to ir/, used by
 * parse.c).  Line-oriented: newlines are tokens because every op, param
 * and header lives on one line.  Hostile input is expected: every length
 * is bounded, every number checked for overflow, and errors come back as
 * T_BAD tokens after a message has been reported through `report`.
 */
#ifndef FAB_IR_LEX_H
#define FAB_IR_LEX_H

#include "ir.h"

enum {
  LEX_MAX_STRING = 1 << 16, /* decoded bytes of one string or @name */
  LEX_MAX_NAME = 256,       /* characters of a %value name */
  LEX_MAX_NUMBER = 64,      /* characters of one number */
};

typedef enum {
  T_EOF,
  T_NL,
  T_IDENT,  /* [A-Za-z_][A-Za-z0-9_.]* */
  T_VALUE,  /* %name: text in start+1 .. start+len */
  T_AT,     /* @ident or @"string": decoded into the string buffer */
  T_INT,    /* -?[0-9]+ (overflow flagged) */
  T_FLOAT,  /* with '.', exponent, or -inf */
  T_STRING, /* decoded into the string buffer */
  T_PUNCT,  /* one of = , { } [ ] ( ) : */
  T_BAD,    /* a lexical error, already reported */
} tok_kind;

typedef struct token {
  tok_kind kind;
  int line, col;
  const char *start; /* raw text */
  size_t len;
  char punct;
  int64_t i;
  bool overflow; /* T_INT does not fit int64 */
  double f;      /* numeric value of T_INT and T_FLOAT */
} token;

typedef struct lexer {
  const char *file;
  const char *p, *end;
  int line, col;
  token tok;
  char *sbuf; /* decoded text of the current T_STRING / T_AT */
  size_t slen, scap;
  /* Called on a lexical error; the parser decides whether to show it. */
  void (*report)(void *ctx, int line, int col, const char *msg);
  void *ctx;
} lexer;

void lex_init(lexer *lx, const char *file, const char *text, size_t len);
void lex_free(lexer *lx);
/* Advances to the next token (in lx->tok). */
void lex_next(lexer *lx);

#endif
