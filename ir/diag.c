/* diag.c — collected diagnostics, printed as file:line:col with the source
 * line and a caret.  Library code reports here and returns; only the
 * driver decides to exit. */
#include "ir.h"
#include "fab_alloc.h"

#include <stdlib.h>
#include <string.h>

typedef struct message {
  fab_severity sev;
  fab_loc loc;
  char *text;
} message;

typedef struct source {
  char *file, *text;
  size_t len;
} source;

struct fab_diag {
  message *msgs;
  int nmsgs, cap;
  int errors, limit, dropped;
  /* the first error that could not be stored (out of memory): printed
   * anyway, so a failed command never ends without a message */
  char lost[512];
  source *srcs;
  int nsrcs;
};

static void free_all(fab_diag *d);

/* When even the diagnostics cannot be allocated, this thread's fallback
 * stands in (never freed), so callers need no NULL check and the failure
 * still has its message. */
static _Thread_local fab_diag fallback;

fab_diag *fab_diag_new(void) {
  fab_diag *d = fab_calloc(1, sizeof *d);
  if (!d) {
    d = &fallback;
    free_all(d);
    snprintf(d->lost, sizeof d->lost, "fabc: error: out of memory%s", fab_alloc_failure_note());
    d->errors = 1;
  }
  d->limit = 50;
  return d;
}

static void free_messages(fab_diag *d) {
  for (int i = 0; i < d->nmsgs; i++) {
    free((char *)d->msgs[i].loc.file);
    free(d->msgs[i].text);
  }
  free(d->msgs);
  d->msgs = NULL;
  d->nmsgs = d->cap = d->errors = d->dropped = 0;
  d->lost[0] = 0;
}

void fab_diag_clear(fab_diag *d) { free_messages(d); }

static void free_all(fab_diag *d) {
  free_messages(d);
  for (int i = 0; i < d->nsrcs; i++) {
    free(d->srcs[i].file);
    free(d->srcs[i].text);
  }
  free(d->srcs);
  d->srcs = NULL;
  d->nsrcs = 0;
}

void fab_diag_free(fab_diag *d) {
  if (!d) return;
  free_all(d);
  if (d != &fallback) free(d);
}

static char *dupn(const char *s, size_t n) {
  char *p = fab_malloc(n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

void fab_diag_add_source(fab_diag *d, const char *file, const char *text, size_t len) {
  for (int i = 0; i < d->nsrcs; i++)
    if (strcmp(d->srcs[i].file, file) == 0) return;
  source *s = fab_realloc(d->srcs, sizeof(source) * (size_t)(d->nsrcs + 1));
  if (!s) return;
  d->srcs = s;
  s[d->nsrcs].file = dupn(file, strlen(file));
  s[d->nsrcs].text = dupn(text, len);
  s[d->nsrcs].len = len;
  if (s[d->nsrcs].file && s[d->nsrcs].text) {
    d->nsrcs++;
  } else { /* out of memory: no caret lines for this file */
    free(s[d->nsrcs].file);
    free(s[d->nsrcs].text);
  }
}

void fab_diag_set_limit(fab_diag *d, int max_errors) { d->limit = max_errors; }

/* A message that found no memory: the first error is kept in a fixed
 * buffer (with its location as text) and the print says memory ran out. */
static void keep_lost(fab_diag *d, fab_severity sev, fab_loc loc, const char *text) {
  if (sev != FAB_SEV_ERROR || d->lost[0]) return;
  if (loc.file && loc.line > 0)
    snprintf(d->lost, sizeof d->lost, "%s:%d:%d: error: %s", loc.file, loc.line, loc.col, text);
  else
    snprintf(d->lost, sizeof d->lost, "fabc: error: %s", text);
}

void fab_diag_vreport(fab_diag *d, fab_severity sev, fab_loc loc, const char *fmt, va_list ap) {
  if (sev == FAB_SEV_ERROR) {
    d->errors++;
    if (d->errors > d->limit) {
      d->dropped++;
      return;
    }
  }
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  /* an allocation failed since the last message: name its size */
  if (fab_alloc_failed_bytes() && sev == FAB_SEV_ERROR) {
    size_t len = strlen(buf);
    snprintf(buf + len, sizeof buf - len, "%s", fab_alloc_failure_note());
  }
  if (d->nmsgs == d->cap) {
    int cap = d->cap ? d->cap * 2 : 16;
    message *m = fab_realloc(d->msgs, sizeof(message) * (size_t)cap);
    if (!m) {
      keep_lost(d, sev, loc, buf);
      return;
    }
    d->msgs = m;
    d->cap = cap;
  }
  message *m = &d->msgs[d->nmsgs];
  m->sev = sev;
  m->loc = loc;
  m->loc.file = loc.file ? dupn(loc.file, strlen(loc.file)) : NULL;
  m->text = dupn(buf, strlen(buf));
  if (m->text && (m->loc.file || !loc.file)) {
    d->nmsgs++;
  } else {
    free((char *)m->loc.file);
    free(m->text);
    keep_lost(d, sev, loc, buf);
  }
}

void fab_diag_report(fab_diag *d, fab_severity sev, fab_loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fab_diag_vreport(d, sev, loc, fmt, ap);
  va_end(ap);
}

int fab_diag_error_count(const fab_diag *d) { return d->errors; }
int fab_diag_count(const fab_diag *d) { return d->nmsgs; }
const char *fab_diag_message(const fab_diag *d, int i) {
  return i >= 0 && i < d->nmsgs ? d->msgs[i].text : NULL;
}

static const source *find_source(const fab_diag *d, const char *file) {
  for (int i = 0; i < d->nsrcs; i++)
    if (strcmp(d->srcs[i].file, file) == 0) return &d->srcs[i];
  return NULL;
}

/* Prints line `line` of the source and a caret under column `col`; tabs
 * are kept in the caret line so that it lines up. */
static void print_source_line(FILE *out, const source *s, int line, int col) {
  const char *p = s->text, *end = s->text + s->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n') l++;
  if (p >= end && line > 1) return;
  const char *eol = memchr(p, '\n', (size_t)(end - p));
  if (!eol) eol = end;
  if (eol > p && eol[-1] == '\r') eol--;
  fprintf(out, "    %.*s\n    ", (int)(eol - p), p);
  for (int c = 1; c < col && p + c - 1 < eol; c++) fputc(p[c - 1] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

void fab_diag_print(const fab_diag *d, FILE *out) {
  static const char *names[] = {"error", "warning", "note"};
  if (d->lost[0]) fprintf(out, "%s\n(out of memory: this message could not be stored%s)\n", d->lost, fab_alloc_failure_note());
  for (int i = 0; i < d->nmsgs; i++) {
    const message *m = &d->msgs[i];
    if (m->loc.file && m->loc.line > 0) {
      fprintf(out, "%s:%d:%d: %s: %s\n", m->loc.file, m->loc.line, m->loc.col, names[m->sev], m->text);
      const source *s = find_source(d, m->loc.file);
      if (s) print_source_line(out, s, m->loc.line, m->loc.col);
    } else if (m->loc.file) {
      fprintf(out, "%s: %s: %s\n", m->loc.file, names[m->sev], m->text);
    } else {
      fprintf(out, "fabc: %s: %s\n", names[m->sev], m->text);
    }
  }
  if (d->dropped) fprintf(out, "fabc: note: %d more errors not shown\n", d->dropped);
}

static _Thread_local fab_oom_guard *oom_top;

void fab_oom_push(fab_oom_guard *g) {
  g->prev = oom_top;
  oom_top = g;
}

void fab_oom_pop(fab_oom_guard *g) {
  if (oom_top == g) oom_top = g->prev;
}

bool fab_oom_guarded(void) { return oom_top != NULL; }

bool fab_oom_protect(void (*fn)(void *arg), void *arg) {
  fab_oom_guard g;
  if (setjmp(g.jb)) return false; /* fab_out_of_memory popped g */
  fab_oom_push(&g);
  fn(arg);
  fab_oom_pop(&g);
  return true;
}

void fab_out_of_memory(const char *file, int line) {
  fab_oom_guard *g = oom_top;
  if (!g) fab_internal_error(file, line, "out of memory");
  oom_top = g->prev;
  longjmp(g->jb, 1);
}

void fab_internal_error(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fabc: internal error at %s:%d: ", file, line);
  vfprintf(stderr, fmt, ap);
  fputs("\nThis is a bug in fabc; please report it with the input that caused it.\n", stderr);
  va_end(ap);
  abort();
}
