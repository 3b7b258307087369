/* fuzz_util.h — shared bits of the libFuzzer harnesses (fuzz/fuzz_KIND.c).
 *
 * Every harness defines LLVMFuzzerTestOneInput only; it is linked either
 * with libFuzzer (-fsanitize=fuzzer, fuzz/CMakeLists.txt) or with the
 * replay driver tests/fuzz/replay_main.c (any compiler, ctest
 * fuzz.replay.<kind>).  A harness treats a failed parse as a normal
 * outcome; it aborts only when the library breaks one of its own promises
 * (a round trip that does not reproduce, an "ok" result that is not). */
#ifndef FAB_FUZZ_UTIL_H
#define FAB_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: a bug for libFuzzer to report (and the replay
 * driver to fail on). */
#define FUZZ_CHECK(c, ...)                                                    \
  do {                                                                        \
    if (!(c)) {                                                               \
      fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, #c); \
      fprintf(stderr, __VA_ARGS__);                                           \
      fputc('\n', stderr);                                                    \
      abort();                                                                \
    }                                                                         \
  } while (0)

#endif /* FAB_FUZZ_UTIL_H */
