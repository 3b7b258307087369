/* model_file.c — a model from a file, whichever form it is in: .fir through
 * the IR parser (and the verifier), anything else through the front end.
 * The one reader behind `fabc` and libfabc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "fab_alloc.h"

enum { MAX_FIR_BYTES = 64 << 20 };

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static char *read_all(const char *path, size_t *len, fab_diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fab_error(d, (fab_loc){0}, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  char *text = fab_malloc(MAX_FIR_BYTES + 1);
  size_t n = text ? fread(text, 1, MAX_FIR_BYTES + 1, f) : 0;
  bool bad = !text || ferror(f) || n > MAX_FIR_BYTES;
  fclose(f);
  if (text && bad && n <= MAX_FIR_BYTES) {
    fab_error(d, (fab_loc){0}, "cannot read '%s'", path);
    free(text);
    return NULL;
  }
  if (bad) {
    free(text);
    if (!text)
      fab_error(d, (fab_loc){0}, "cannot read '%s': out of memory", path);
    else
      fab_error(d, (fab_loc){0}, "'%s' is larger than %d MiB", path, MAX_FIR_BYTES >> 20);
    return NULL;
  }
  text[n] = 0;
  *len = n;
  return text;
}

fab_module *fab_load_model_file(const char *path, const fab_frontend_options *opt, fab_diag *d) {
  if (!ends_with(path, ".fir")) return fab_frontend_compile_file(path, opt, d);
  size_t len;
  char *text = read_all(path, &len, d);
  if (!text) return NULL;
  fab_module *m = fab_parse_module(path, text, len, d);
  if (m && !fab_verify(m, d)) {
    fab_module_free(m);
    m = NULL;
  }
  free(text);
  return m;
}
