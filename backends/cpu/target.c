/* target.c — the host (or requested) CPU: name, features, TargetMachine and
 * the numbers the passes' cost model wants.
 *
 * The features matter as much as the code: without AVX-512 in the target
 * features LLVM emits SSE and the butterfly kernel runs 4x slower. */
#include "cpu_internal.h"

#include <llvm-c/Target.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void init_llvm_once(void) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  LLVMInitializeNativeAsmParser();
}

void fab_cpu_options_default(fab_cpu_options *o) {
  memset(o, 0, sizeof *o);
  o->opt_level = 3;
  o->threads = 1;
}

static bool is_host(const char *cpu) {
  return !cpu || !*cpu || strcmp(cpu, "native") == 0 || strcmp(cpu, "host") == 0;
}

static bool has_feature(const char *features, const char *f) {
  /* features is "+a,-b,+c": look for ",+f," with the ends padded. */
  size_t n = strlen(f);
  for (const char *p = features; p && (p = strstr(p, f)); p += n) {
    bool start = p >= features + 1 && p[-1] == '+' && (p == features + 1 || p[-2] == ',');
    bool stop = p[n] == ',' || p[n] == 0;
    if (start && stop) return true;
  }
  return false;
}

/* x86-64 CPUs LLVM 14 knows.  An unknown name makes LLVM fall back to a
 * 32-bit subtarget and abort in code generation, so names are checked
 * here first. */
static const char *const known_cpus[] = {
    "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "generic", "core2", "penryn", "nehalem",
    "corei7", "westmere", "sandybridge", "corei7-avx", "ivybridge", "core-avx-i", "haswell",
    "core-avx2", "broadwell", "skylake", "skylake-avx512", "skx", "cascadelake", "cooperlake",
    "cannonlake", "icelake-client", "icelake-server", "tigerlake", "sapphirerapids", "alderlake",
    "rocketlake", "knl", "knm", "atom", "bonnell", "silvermont", "slm", "goldmont",
    "goldmont-plus", "tremont", "btver1", "btver2", "bdver1", "bdver2", "bdver3", "bdver4",
    "znver1", "znver2", "znver3", "k8", "opteron", "athlon64", "amdfam10", "barcelona", NULL};

static bool known_cpu(const char *cpu) {
  for (int i = 0; known_cpus[i]; i++)
    if (strcmp(cpu, known_cpus[i]) == 0) return true;
  return false;
}

bool cg_target_init(cg_target *t, const fab_cpu_options *o, fab_diag *d) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, init_llvm_once);
  memset(t, 0, sizeof *t);
  t->triple = LLVMGetDefaultTargetTriple();
  if (is_host(o ? o->cpu : NULL)) {
    t->cpu = LLVMGetHostCPUName();
    t->features = o && o->features ? LLVMCreateMessage(o->features) : LLVMGetHostCPUFeatures();
  } else if (!strcmp(o->cpu, "znver4")) {
    /* Zen 4 is newer than LLVM 14: Zen 3 scheduling plus its AVX-512. */
    t->cpu = LLVMCreateMessage("znver3");
    t->features = LLVMCreateMessage(
        o->features ? o->features
                    : "+avx512f,+avx512dq,+avx512bw,+avx512vl,+avx512cd,+avx512vnni,+avx512bf16,"
                      "+avx512ifma,+avx512vbmi,+avx512vbmi2,+avx512bitalg,+avx512vpopcntdq,+gfni,"
                      "+vaes,+vpclmulqdq");
  } else {
    if (!known_cpu(o->cpu) || !strstr(t->triple, "x86_64")) {
      fab_error(d, (fab_loc){0}, "cpu backend: unknown cpu '%s' (try native, x86-64-v3, "
                "skylake-avx512, znver3, haswell, ...)", o->cpu);
      LLVMDisposeMessage(t->triple);
      t->triple = NULL;
      return false;
    }
    t->cpu = LLVMCreateMessage(o->cpu);
    t->features = LLVMCreateMessage(o->features ? o->features : "");
  }
  LLVMTargetRef target;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &target, &msg)) {
    fab_error(d, (fab_loc){0}, "cpu backend: no LLVM target for '%s': %s", t->triple,
              msg ? msg : "?");
    LLVMDisposeMessage(msg);
    cg_target_dispose(t);
    return false;
  }
  int ol = o ? o->opt_level : 3;
  LLVMCodeGenOptLevel cgl = ol <= 0   ? LLVMCodeGenLevelNone
                            : ol == 1 ? LLVMCodeGenLevelLess
                            : ol == 2 ? LLVMCodeGenLevelDefault
                                      : LLVMCodeGenLevelAggressive;
  /* PIC: the same object serves the .so and static linking. */
  t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features, cgl, LLVMRelocPIC,
                                  LLVMCodeModelDefault);
  if (!t->tm) {
    fab_error(d, (fab_loc){0}, "cpu backend: cannot create a target machine for cpu '%s'", t->cpu);
    cg_target_dispose(t);
    return false;
  }
  if (o && o->vector_lanes > 0) t->lanes = o->vector_lanes;
  else if (has_feature(t->features, "avx512f")) t->lanes = 16;
  else if (has_feature(t->features, "avx")) t->lanes = 8;
  else t->lanes = 4;
  /* Cross-targeting a named CPU without features: trust its defaults. */
  if (!is_host(o ? o->cpu : NULL) && !(o && o->features) && !(o && o->vector_lanes > 0) &&
      strcmp(o->cpu, "znver4") != 0) {
    const char *c = t->cpu;
    if (strstr(c, "avx512") || strstr(c, "znver4") || strstr(c, "skylake-avx512") ||
        strstr(c, "icelake") || strstr(c, "sapphirerapids") || strstr(c, "cascadelake"))
      t->lanes = 16;
    else if (strstr(c, "haswell") || strstr(c, "znver") || strstr(c, "skylake") ||
             strstr(c, "broadwell") || strstr(c, "x86-64-v3"))
      t->lanes = 8;
  }
  return true;
}

void cg_target_dispose(cg_target *t) {
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  if (t->triple) LLVMDisposeMessage(t->triple);
  if (t->cpu) LLVMDisposeMessage(t->cpu);
  if (t->features) LLVMDisposeMessage(t->features);
  memset(t, 0, sizeof *t);
}

bool fab_cpu_target_info(const fab_cpu_options *o, fab_cpu_target *out, fab_diag *d) {
  cg_target t;
  if (!cg_target_init(&t, o, d)) return false;
  static char name[64];
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  snprintf(name, sizeof name, "%s", t.cpu);
  pthread_mutex_unlock(&mu);
  memset(out, 0, sizeof *out);
  out->name = name;
  out->vector_lanes = t.lanes;
  out->vector_registers = t.lanes == 16 ? 32 : 16;
  /* Zen 4 / recent Xeons: 32-48 KiB L1d, 1-2 MiB L2 per core.  sysconf
   * knows the real values on glibc. */
  long l1 = 0, l2 = 0;
#ifdef _SC_LEVEL1_DCACHE_SIZE
  l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
  l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
  out->fast_memory_bytes = l1 > 0 ? l1 : 32768;
  out->l2_bytes = l2 > 0 ? l2 : 1 << 20;
  out->max_fused_stages = o && o->max_fused_stages > 0 ? o->max_fused_stages : 3;
  /* A tile of `lanes` rows of length n must fit in L2: n * lanes * 4 bytes. */
  out->max_vector_length = out->l2_bytes / (4 * t.lanes) / 2;
  cg_target_dispose(&t);
  return true;
}
