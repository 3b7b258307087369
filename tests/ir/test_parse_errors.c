/* test_parse_errors.c — parser diagnostics: exact file:line:col messages,
 * several errors from one run (recovery at the next line), no cascades
 * from a failed line, limits on numbers and ranks. */
#include <stdlib.h>

#include "check.h"
#include "ir.h"

/* Parses `text`; returns the printed diagnostics (malloc'd) without the
 * source-line echo, so the expectations stay readable. */
static char *diagnose(const char *text, bool *parsed) {
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("t.fir", text, strlen(text), d);
  *parsed = m != NULL;
  CHECK((m == NULL) == (fab_diag_error_count(d) > 0));
  fab_module_free(m);
  char *buf = diag_text(d);
  fab_diag_free(d);
  /* Keep only the "file:line:col: error: ..." lines. */
  char *w = buf;
  for (char *line = buf; *line;) {
    char *eol = strchr(line, '\n');
    size_t n = eol ? (size_t)(eol - line + 1) : strlen(line);
    if (strncmp(line, "    ", 4) != 0) {
      memmove(w, line, n);
      w += n;
    }
    line += n;
  }
  *w = 0;
  return buf;
}

static void expect_diags(int line, const char *text, const char *want) {
  bool parsed;
  char *got = diagnose(text, &parsed);
  if (parsed || strcmp(got, want) != 0) {
    fprintf(stderr, "line %d: parsed=%d\n--- got\n%s--- want\n%s", line, parsed, got, want);
    check_failures++;
  }
  free(got);
}
#define DIAGS(text, want) expect_diags(__LINE__, text, want)

static void test_many_errors(void) {
  DIAGS("module @m\n"
        "param @\"w\" : f32[4,0] = zeros\n"
        "param @\"v\" : f32[4] = gaussian\n"
        "func @main {\n"
        "  %x = input {index = 0, name = \"x\"} : f32[4]\n"
        "  %y = frobnicate %x : f32[4]\n"
        "  %z = relu %q : f32[4]\n"
        "  %a = relu %x : f32[5]\n"
        "  %b = relu %y : f32[4]\n"
        "  %c = add %x, %x {x = \"unterminated : f32[4]\n"
        "  %x = relu %x : f32[4]\n"
        "  output %x {index = 0, name = \"x\"} : f32[4]\n"
        "}\n",
        "t.fir:2:20: error: dimension 0 must be >= 1\n"
        "t.fir:3:23: error: expected zeros, ones, uniform(a, b) or normal(mean, std), got 'gaussian'\n"
        "t.fir:6:8: error: unknown op 'frobnicate'\n"
        "t.fir:7:13: error: undefined value %q\n"
        "t.fir:8:3: error: relu: printed type f32[5] but the inferred type is f32[4]\n"
        "t.fir:10:24: error: unterminated string\n"
        "t.fir:11:3: error: value %x is already defined\n"
        "t.fir:12:37: error: expected end of line, got ':'\n");
}

static void test_structure_errors(void) {
  DIAGS("", "t.fir:1:1: error: expected 'module @name', got end of file\n"
            "t.fir:1:1: error: the module has no func\n");
  DIAGS("module @m\nfunc @f {\n  %0 = input {index = 0, name = \"x\"} : f32[1]\n",
        "t.fir:4:1: error: missing '}' at the end of function @f\n");
  DIAGS("module @m\nfunc @f {\n}\nfunc @f {\n}\nmodule @n\n",
        "t.fir:4:1: error: function @f is already defined\n"
        "t.fir:6:1: error: a file holds one module\n");
  DIAGS("module @m\nfunc @f {\n}\nparam @\"p\" : f32[1] = ones\n",
        "t.fir:4:1: error: params must come before the first func\n");
  DIAGS("module @m\nfunc @f {\n  output %0\n  %1 = output %0\n  relu\n}\n",
        "t.fir:3:10: error: undefined value %0\n"
        "t.fir:4:3: error: 'output' has no result to name\n"
        "t.fir:5:3: error: 'relu' needs a result: %N = relu ...\n");
}

static void test_limits(void) {
  DIAGS("module @m\nparam @\"p\" : f32[99999999999999999999] = ones\nfunc @f {\n}\n",
        "t.fir:2:18: error: integer 99999999999999999999 does not fit in 64 bits\n");
  DIAGS("module @m\nparam @\"p\" : f32[1,1,1,1,1,1,1,1,1] = ones\nfunc @f {\n}\n",
        "t.fir:2:34: error: type has more than 8 dimensions\n");
  DIAGS("module @m\nparam @\"p\" : f32[65536,65536,65536] = ones\nfunc @f {\n}\n",
        "t.fir:2:30: error: type has more than 17179869184 elements\n");
  DIAGS("module @m\nparam @\"p\\q\" : f32[1] = ones\nfunc @f {\n}\n",
        "t.fir:2:7: error: unknown escape in string\n");
  DIAGS("module @m\nfunc @f {\n  %0 = input {index = 0, name = \"a\\x00\"} : f32[1]\n}\n",
        "t.fir:3:33: error: \\x00 is not allowed in strings\n");
  DIAGS("module @m \x01\nfunc @f {\n}\n", "t.fir:1:11: error: unexpected byte 0x01\n");
  /* A bad first token right after a failed line is still reported. */
  DIAGS("module @m\nfunc @f {\n  %0 = nope\n\x02 %1 = relu\n}\n",
        "t.fir:3:8: error: unknown op 'nope'\n"
        "t.fir:4:1: error: unexpected byte 0x02\n");
  DIAGS("module @m\nfunc @f {\n  %0 = const {value = 1x} : f32[1]\n}\n",
        "t.fir:3:23: error: malformed number\n");
}

/* The diagnostic printer shows the source line and a caret. */
static void test_caret(void) {
  const char *text = "module @m\nfunc @f {\n  %0 = nope : f32[1]\n}\n";
  fab_diag *d = fab_diag_new();
  CHECK(fab_parse_module("c.fir", text, strlen(text), d) == NULL);
  char *buf = diag_text(d);
  CHECK_STR(buf, "c.fir:3:8: error: unknown op 'nope'\n      %0 = nope : f32[1]\n           ^\n");
  free(buf);
  fab_diag_free(d);
}

int main(void) {
  test_many_errors();
  test_structure_errors();
  test_limits();
  test_caret();
  return check_report("ir.parse_errors");
}
