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

/* __builtin_cpu_supports takes only string literals: one call per name,
 * in the order of FAB_MODEL_CPU_FEATURES (cpu.features_table checks it). */
static int host_features(feature *f) {
  int n = 0;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
#define F(s) f[n++] = (feature){s, __builtin_cpu_supports(s) != 0}
  F("avx"), F("avx2"), F("fma"), F("f16c"), F("bmi"), F("bmi2");
  F("avx512f"), F("avx512bw"), F("avx512dq"), F("avx512vl"), F("avx512cd");
  F("avx512vnni"), F("avx512bf16"), F("avx512ifma"), F("avx512vbmi"), F("avx512vbmi2");
  F("avx512bitalg"), F("avx512vpopcntdq"), F("gfni"), F("vaes"), F("vpclmulqdq");
#undef F
#else
  (void)f;
#endif
  return n;
}

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
