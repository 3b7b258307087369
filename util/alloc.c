/* alloc.c — fabc's allocation functions (fab_alloc.h): the C library's,
 * plus the failed size for messages and the test-only failure injection. */
#include "fab_alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local size_t failed_bytes;
static _Thread_local long failure_count;
static atomic_long fail_countdown; /* > 0: allocations to go before the injected failure */
static atomic_long counted;
static atomic_int fired;
static void (*on_failure)(size_t bytes);

/* Whether this allocation is the injected failure (one atomic load when off). */
static int injected(void) {
  if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) <= 0) {
    if (atomic_load_explicit(&fired, memory_order_relaxed)) atomic_fetch_add(&counted, 1);
    return 0;
  }
  atomic_fetch_add(&counted, 1);
  if (atomic_fetch_sub(&fail_countdown, 1) != 1) return 0;
  atomic_store(&fired, 1);
  return 1;
}

static void *failed(size_t n) {
  failed_bytes = n ? n : 1;
  failure_count++;
  errno = ENOMEM;
  return NULL;
}

static void *injected_failure(size_t n) {
  if (on_failure) on_failure(n);
  return failed(n);
}

void *fab_malloc(size_t n) {
  if (injected()) return injected_failure(n);
  void *p = malloc(n);
  return p || n == 0 ? p : failed(n);
}

void *fab_calloc(size_t count, size_t size) {
  size_t n = size && count > SIZE_MAX / size ? SIZE_MAX : count * size;
  if (injected()) return injected_failure(n);
  void *p = calloc(count, size);
  return p || n == 0 ? p : failed(n);
}

void *fab_realloc(void *p, size_t n) {
  if (injected()) return injected_failure(n);
  void *q = realloc(p, n);
  return q || n == 0 ? q : failed(n);
}

char *fab_strndup(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  char *p = fab_malloc(len + 1);
  if (!p) return NULL;
  memcpy(p, s, len);
  p[len] = 0;
  return p;
}

char *fab_strdup(const char *s) { return fab_strndup(s, SIZE_MAX); }

size_t fab_alloc_failed_bytes(void) { return failed_bytes; }

long fab_alloc_failure_count(void) { return failure_count; }

const char *fab_alloc_failure_note(void) {
  static _Thread_local char note[64];
  if (!failed_bytes) return "";
  if (failed_bytes == SIZE_MAX)
    snprintf(note, sizeof note, " (allocating more than %zu bytes failed)", SIZE_MAX - 1);
  else
    snprintf(note, sizeof note, " (allocating %zu bytes failed)", failed_bytes);
  failed_bytes = 0;
  return note;
}

long fab_alloc_test_fail_at(long k) {
  long left = atomic_exchange(&fail_countdown, k > 0 ? k : 0);
  atomic_store(&counted, 0);
  atomic_store(&fired, 0);
  return left > 0 ? left : 0;
}

void fab_alloc_test_on_failure(void (*fn)(size_t bytes)) { on_failure = fn; }

int fab_alloc_test_fired(void) { return atomic_load(&fired); }

long fab_alloc_test_count(void) { return atomic_load(&counted); }
