/* fab_alloc.h — fabc's allocation functions.
 *
 * Every allocation fabc's own code makes goes through these (frontend/,
 * ir/, util/, runtime/, api/, cli/ call them by name; the other libraries
 * are compiled with alloc_redirect.h force-included, which maps malloc,
 * calloc, realloc, strdup and strndup onto them).  They behave exactly
 * like the C library's, with two additions for out-of-memory handling:
 *
 *  - the size of the last allocation that failed on this thread is kept,
 *    so that an "out of memory" message can name it (fab_alloc_failure_note);
 *  - a test-only entry point, fab_alloc_test_fail_at, makes the k-th
 *    allocation from now fail, so a test can fail every allocation of a
 *    run in turn (tests/reliability oom_sweep).  It is off unless a test
 *    calls it; no environment variable turns it on.
 *
 * Memory from these functions is released with free(). */
#ifndef FAB_ALLOC_H
#define FAB_ALLOC_H

#include <stddef.h>

void *fab_malloc(size_t n);
void *fab_calloc(size_t count, size_t size);
void *fab_realloc(void *p, size_t n);
char *fab_strdup(const char *s);
char *fab_strndup(const char *s, size_t n);

/* The bytes of the last failed allocation on this thread (0: none since
 * the last fab_alloc_failure_note). */
size_t fab_alloc_failed_bytes(void);
/* Allocations that failed on this thread so far: code that treats a
 * failure as "not applicable, try another" (a sampler drawing again)
 * compares it before and after, so that out of memory stays an error. */
long fab_alloc_failure_count(void);
/* " (allocating N bytes failed)" if an allocation failed on this thread
 * since the last call, else ""; clears the record.  Appended to "out of
 * memory" messages by fab_error and fab_fail. */
const char *fab_alloc_failure_note(void);

/* ---- test hook (allocation-failure injection; tests only) ---------------- */

/* The k-th allocation through these functions from now on (any thread)
 * fails, once (k >= 1; 0 switches it off).  Returns how many were still to
 * go before this call (0: none pending, or the last one fired). */
long fab_alloc_test_fail_at(long k);
/* Whether the injected failure has fired since the last fab_alloc_test_fail_at. */
int fab_alloc_test_fired(void);
/* Called (if set) on the thread whose allocation is the injected failure,
 * with its size: the sweep prints a backtrace there. */
void fab_alloc_test_on_failure(void (*fn)(size_t bytes));
/* Allocations counted since the last fab_alloc_test_fail_at (counting runs
 * only while a failure is pending or after one fired; for the sweep's
 * report). */
long fab_alloc_test_count(void);

#endif /* FAB_ALLOC_H */
