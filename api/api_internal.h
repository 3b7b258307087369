/* api_internal.h — what the files of libfabc share: error messages and
 * diagnostics turned into the API's malloc'd strings. */
#ifndef FABC_API_INTERNAL_H
#define FABC_API_INTERNAL_H

#include "fab_tensor.h"
#include "fabc.h"
#include "ir.h"

#pragma GCC visibility push(hidden)

/* Stores a formatted message in *err (when err is not NULL); returns st. */
fabc_status api_fail(char **err, fabc_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Stores the diagnostics' text (as `fabc` prints them) in *err, or
 * `fallback` when there are none; returns st. */
fabc_status api_fail_diag(char **err, fabc_status st, const fab_diag *d, const char *fallback);
fabc_status api_status(fab_status s);
/* Text written by `print` into a memory stream, malloc'd; NULL if out of memory. */
char *api_capture(void (*print)(FILE *f, const void *arg), const void *arg);

/* The front end (or the IR parser for .fir) on the options' source; NULL
 * after storing the diagnostics in *err.  The source is registered with d,
 * so that later stages reporting into d show its lines and carets. */
fab_module *api_load_module(const fabc_options *o, fab_diag *d, char **err);

#pragma GCC visibility pop

#endif
