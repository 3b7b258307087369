/* cpu_features.c — does this machine have the instructions a compiled
 * model uses?  A model built for AVX-512 on another machine would die of
 * an illegal instruction (SIGILL) in its first kernel; the descriptor's
 * `target` names the features (fab_runtime.h, FAB_MODEL_CPU_FEATURES) and
 * the loader refuses a model whose features this CPU lacks. */
#include <stdlib.h>
#include <string.h>

#include "fab_runtime.h"
#include "fab_tensor_internal.h"

typedef struct feature {
  const char *name;
  bool present;
} feature;

/* CPUID and XGETBV directly rather than __builtin_cpu_supports: no
 * dependence on libgcc's cpu model tables, and a feature counts only if
 * the OS also saves the register state it needs (XCR0).  Order:
 * FAB_MODEL_CPU_FEATURES (cpu.aot_errors checks it). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
static int host_features(feature *f) {
  unsigned a1 = 0, b1 = 0, c1 = 0, d1 = 0, a7 = 0, b7 = 0, c7 = 0, d7 = 0, a71 = 0, b71 = 0, c71 = 0, d71 = 0;
  __get_cpuid(1, &a1, &b1, &c1, &d1);
  unsigned max = __get_cpuid_max(0, NULL);
  if (max >= 7) __cpuid_count(7, 0, a7, b7, c7, d7);
  if (max >= 7 && a7 >= 1) __cpuid_count(7, 1, a71, b71, c71, d71);
  unsigned long long xcr0 = 0;
  if (c1 & (1u << 27)) { /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((unsigned long long)hi << 32) | lo;
  }
  bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0;
#define BIT(r, k) (((r) >> (k)) & 1u)
  int n = 0;
  f[n++] = (feature){"avx", ymm && BIT(c1, 28)};
  f[n++] = (feature){"avx2", ymm && BIT(b7, 5)};
  f[n++] = (feature){"fma", ymm && BIT(c1, 12)};
  f[n++] = (feature){"f16c", ymm && BIT(c1, 29)};
  f[n++] = (feature){"bmi", BIT(b7, 3)};
  f[n++] = (feature){"bmi2", BIT(b7, 8)};
  f[n++] = (feature){"avx512f", zmm && BIT(b7, 16)};
  f[n++] = (feature){"avx512bw", zmm && BIT(b7, 30)};
  f[n++] = (feature){"avx512dq", zmm && BIT(b7, 17)};
  f[n++] = (feature){"avx512vl", zmm && BIT(b7, 31)};
  f[n++] = (feature){"avx512cd", zmm && BIT(b7, 28)};
  f[n++] = (feature){"avx512vnni", zmm && BIT(c7, 11)};
  f[n++] = (feature){"avx512bf16", zmm && BIT(a71, 5)};
  f[n++] = (feature){"avx512ifma", zmm && BIT(b7, 21)};
  f[n++] = (feature){"avx512vbmi", zmm && BIT(c7, 1)};
  f[n++] = (feature){"avx512vbmi2", zmm && BIT(c7, 6)};
  f[n++] = (feature){"avx512bitalg", zmm && BIT(c7, 12)};
  f[n++] = (feature){"avx512vpopcntdq", zmm && BIT(c7, 14)};
  f[n++] = (feature){"gfni", BIT(c7, 8)};
  f[n++] = (feature){"vaes", ymm && BIT(c7, 9)};
  f[n++] = (feature){"vpclmulqdq", ymm && BIT(c7, 10)};
#undef BIT
  (void)a1, (void)b1, (void)d1, (void)d7, (void)b71, (void)c71, (void)d71;
  return n;
}
#else
static int host_features(feature *f) {
  (void)f;
  return 0;
}
#endif

const char *fab_cpu_feature_name(int i) {
  feature f[32];
  int n = host_features(f);
  return i >= 0 && i < n ? f[i].name : NULL;
}

/* FAB_RT_ASSUME_MISSING=avx512f,... pretends those are absent (for
 * testing the refusal on machines that have them). */
static bool assumed_missing(const char *name, size_t len) {
  const char *env = getenv("FAB_RT_ASSUME_MISSING");
  for (const char *p = env; p && *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == len && !strncmp(p, name, len)) return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

fab_status fab_cpu_check_target(const char *target, char *err, size_t errlen) {
  if (!target) return FAB_OK;
  const char *sp = strchr(target, ' ');
  const char *list = sp ? strchr(sp + 1, ' ') : NULL; /* after "TRIPLE CPU " */
  if (!list || strncmp(target, "x86_64", 6) != 0) return FAB_OK;
  feature f[32];
  int n = host_features(f);
  if (n == 0) return FAB_OK; /* not an x86-64 build of the runtime: nothing to compare */
  char missing[256] = "";
  for (const char *p = list + 1; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > 1 && p[0] == '+') {
      for (int i = 0; i < n; i++)
        if (strlen(f[i].name) == len - 1 && !strncmp(f[i].name, p + 1, len - 1) &&
            (!f[i].present || assumed_missing(p + 1, len - 1))) {
          size_t used = strlen(missing);
          snprintf(missing + used, sizeof missing - used, "%s%.*s", used ? ", " : "", (int)len - 1, p + 1);
        }
    }
    if (!e) break;
    p = e + 1;
  }
  if (!missing[0]) return FAB_OK;
  char cpu[64];
  snprintf(cpu, sizeof cpu, "%.*s", (int)(list - sp - 1), sp + 1);
  return fab_fail(err, errlen, FAB_E_VERSION,
                  "the model was compiled for CPU '%s' and uses %s, which this machine lacks "
                  "(recompile it here, or for a common subset: fabc build --cpu x86-64-v3 for "
                  "AVX2 machines)", cpu, missing);
}
