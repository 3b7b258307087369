/* fabc.c — the API's plumbing: messages, tensor sets, reading a model,
 * statistics.  Models themselves are in model.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "fab_alloc.h"
#include "frontend.h"
#include "stats.h"

void fabc_free(void *p) { free(p); }
int fabc_api_version(void) { return FABC_API_VERSION; }
const char *fabc_version(void) { return FAB_VERSION; }

fabc_status api_fail(char **err, fabc_status st, const char *fmt, ...) {
  if (!err) return st;
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  free(*err);
  *err = s;
  return st;
}

char *api_capture(void (*print)(FILE *f, const void *arg), const void *arg) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  print(f, arg);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

static void print_diag(FILE *f, const void *d) { fab_diag_print(d, f); }

fabc_status api_fail_diag(char **err, fabc_status st, const fab_diag *d, const char *fallback) {
  if (!err) return st;
  char *text = fab_diag_count(d) > 0 ? api_capture(print_diag, d) : NULL;
  if (text && *text) {
    /* Drop the final newline: the caller decides how to show it. */
    size_t n = strlen(text);
    if (text[n - 1] == '\n') text[n - 1] = 0;
    free(*err);
    *err = text;
    return st;
  }
  free(text);
  return api_fail(err, st, "%s", fallback);
}

fabc_status api_status(fab_status s) {
  switch (s) {
  case FAB_OK: return FABC_OK;
  case FAB_E_IO: return FABC_E_IO;
  case FAB_E_NOMEM: return FABC_E_NOMEM;
  case FAB_E_ARG: return FABC_E_ARG;
  case FAB_E_RUNTIME: return FABC_E_RUN;
  default: return FABC_E_TENSOR;
  }
}

/* ---- tensor sets ------------------------------------------------------------ */

fabc_tensors *fabc_tensors_new(void) { return fab_tset_new(); }
void fabc_tensors_free(fabc_tensors *s) { fab_tset_free(s); }
int fabc_tensors_count(const fabc_tensors *s) { return s ? s->count : 0; }

fabc_status fabc_tensors_add(fabc_tensors *s, const char *name, int dtype, int rank, const int64_t *dims,
                             const void *data, size_t nbytes, char **err) {
  if (!s || !name || !*name) return api_fail(err, FABC_E_ARG, "a tensor needs a set and a name");
  if (dtype < 0 || dtype >= FAB_DT_COUNT) return api_fail(err, FABC_E_ARG, "tensor '%s': unknown dtype %d", name, dtype);
  if (rank < 0 || rank > FAB_TENSOR_MAX_RANK || (rank > 0 && !dims))
    return api_fail(err, FABC_E_ARG, "tensor '%s': rank %d (0..%d)", name, rank, FAB_TENSOR_MAX_RANK);
  for (int k = 0; k < rank; k++)
    if (dims[k] < 0) return api_fail(err, FABC_E_ARG, "tensor '%s': negative dimension", name);
  fab_tensor *t = fab_tset_add(s, name, (fab_tensor_dtype)dtype, rank, dims);
  if (!t) return api_fail(err, FABC_E_NOMEM, "tensor '%s': out of memory or too large", name);
  if (nbytes != t->nbytes) {
    fab_tset_remove(s, name);
    return api_fail(err, FABC_E_ARG, "tensor '%s': %zu bytes of data for a shape of %zu bytes", name, nbytes,
                    t->nbytes);
  }
  if (nbytes) memcpy(t->data, data, nbytes);
  return FABC_OK;
}

fabc_status fabc_tensors_get(const fabc_tensors *s, int i, const char **name, int *dtype, int *rank,
                             const int64_t **dims, const void **data, size_t *nbytes) {
  if (!s || i < 0 || i >= s->count) return FABC_E_ARG;
  const fab_tensor *t = &s->items[i];
  if (name) *name = t->name;
  if (dtype) *dtype = (int)t->dtype;
  if (rank) *rank = t->rank;
  if (dims) *dims = t->dims;
  if (data) *data = t->data;
  if (nbytes) *nbytes = t->nbytes;
  return FABC_OK;
}

fabc_status fabc_tensors_load(const char *path, fabc_tensors **out, char **err) {
  char msg[512];
  if (!path || !out) return api_fail(err, FABC_E_ARG, "fabc_tensors_load needs a path");
  fab_status st = fab_tensors_load(path, out, msg, sizeof msg);
  return st == FAB_OK ? FABC_OK : api_fail(err, api_status(st), "%s", msg);
}

fabc_status fabc_tensors_save(const char *path, const fabc_tensors *s, char **err) {
  char msg[512];
  if (!path || !s) return api_fail(err, FABC_E_ARG, "fabc_tensors_save needs a path and a set");
  fab_status st = fab_tensors_save(path, s, msg, sizeof msg);
  return st == FAB_OK ? FABC_OK : api_fail(err, api_status(st), "%s", msg);
}

/* ---- reading a model ---------------------------------------------------------- */

fab_module *api_load_module(const fabc_options *o, fab_diag *d, char **err) {
  if (!o || (!o->source_path && !o->source_text)) {
    api_fail(err, FABC_E_ARG, "give a source path or source text");
    return NULL;
  }
  if (o->ndefines < 0 || (o->ndefines > 0 && (!o->define_names || !o->define_values)) || o->ninclude_dirs < 0 ||
      (o->ninclude_dirs > 0 && !o->include_dirs)) {
    api_fail(err, FABC_E_ARG, "defines or include dirs: counts without arrays");
    return NULL;
  }
  fab_define *defs = fab_calloc((size_t)o->ndefines + 1, sizeof *defs);
  if (!defs) {
    api_fail(err, FABC_E_NOMEM, "out of memory");
    return NULL;
  }
  for (int i = 0; i < o->ndefines; i++) defs[i] = (fab_define){o->define_names[i], o->define_values[i]};
  fab_frontend_options fo = {.defines = defs,
                             .ndefines = o->ndefines,
                             .include_dirs = o->include_dirs,
                             .ninclude_dirs = o->ninclude_dirs};
  fab_module *m = NULL;
  if (o->source_text)
    m = fab_frontend_compile_string(o->source_path ? o->source_path : "<string>", o->source_text,
                                    strlen(o->source_text), &fo, d);
  else
    m = fab_load_model_file(o->source_path, &fo, d);
  if (!m) api_fail_diag(err, FABC_E_SOURCE, d, "cannot compile the model");
  free(defs);
  return m;
}

/* ---- statistics ------------------------------------------------------------- */

typedef struct stats_print {
  const fab_module *m;
  const fab_model_stats *s;
} stats_print;

static void print_stats_json(FILE *f, const void *arg) {
  const stats_print *p = arg;
  fab_stats_print_json(f, p->m, p->s);
}

static void print_stats_table(FILE *f, const void *arg) {
  const stats_print *p = arg;
  fab_stats_print_table(f, p->m, p->s);
}

static fabc_status stats_text(const fabc_options *o, void (*print)(FILE *, const void *), char **json,
                              char **err) {
  if (!json) return api_fail(err, FABC_E_ARG, "fabc_stats needs somewhere to put the text");
  *json = NULL;
  fab_diag *d = fab_diag_new();
  fab_module *m = api_load_module(o, d, err);
  if (!m) {
    fab_diag_free(d);
    return FABC_E_SOURCE;
  }
  fab_model_stats s;
  fabc_status st = FABC_OK;
  if (!fab_stats_compute(m, &s, d)) {
    st = api_fail_diag(err, FABC_E_SOURCE, d, "cannot count the model");
  } else {
    stats_print p = {m, &s};
    *json = api_capture(print, &p);
    if (!*json) st = api_fail(err, FABC_E_NOMEM, "out of memory");
    fab_stats_free(&s);
  }
  fab_diag_free(d);
  fab_module_free(m);
  return st;
}

fabc_status fabc_stats(const fabc_options *o, char **json, char **err) {
  return stats_text(o, print_stats_json, json, err);
}

fabc_status fabc_stats_table(const fabc_options *o, char **text, char **err) {
  return stats_text(o, print_stats_table, text, err);
}
