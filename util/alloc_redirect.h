/* alloc_redirect.h — force-included (-include) into the libraries that do
 * not call fab_alloc.h by name (backends/, passes/, interp/, explore/,
 * datadir/): their malloc, calloc, realloc, strdup and strndup become
 * fabc's allocation functions, so out-of-memory injection and the
 * failed-size note cover them without editing their sources.  The C
 * library's headers come first so their declarations keep their names. */
#ifndef FAB_ALLOC_REDIRECT_H
#define FAB_ALLOC_REDIRECT_H
#include <stdlib.h>
#include <string.h>

#include "fab_alloc.h"

#define malloc(n) fab_malloc(n)
#define calloc(n, size) fab_calloc(n, size)
#define realloc(p, n) fab_realloc(p, n)
#define strdup(s) fab_strdup(s)
#define strndup(s, n) fab_strndup(s, n)
#endif
