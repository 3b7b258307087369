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

/* x86-64 CPUs LLVM 14 knows, with the f32 lanes of their widest vector
 * (16: AVX-512, 8: AVX/AVX2, 4: SSE).  An unknown name makes LLVM fall back
 * to a 32-bit subtarget and abort in code generation, so names are
 * checked here first. */
static const struct known_cpu {
  const char *name;
  int lanes;
} known_cpus[] = {
    {"x86-64", 4}, {"x86-64-v2", 4}, {"x86-64-v3", 8}, {"x86-64-v4", 16}, {"generic", 4},
    {"core2", 4}, {"penryn", 4}, {"nehalem", 4}, {"corei7", 4}, {"westmere", 4},
    {"sandybridge", 8}, {"corei7-avx", 8}, {"ivybridge", 8}, {"core-avx-i", 8}, {"haswell", 8},
    {"core-avx2", 8}, {"broadwell", 8}, {"skylake", 8}, {"skylake-avx512", 16}, {"skx", 16},
    {"cascadelake", 16}, {"cooperlake", 16}, {"cannonlake", 16}, {"icelake-client", 16},
    {"icelake-server", 16}, {"tigerlake", 16}, {"sapphirerapids", 16}, {"alderlake", 8},
    {"rocketlake", 16}, {"knl", 16}, {"knm", 16}, {"atom", 4}, {"bonnell", 4}, {"silvermont", 4},
    {"slm", 4}, {"goldmont", 4}, {"goldmont-plus", 4}, {"tremont", 4}, {"btver1", 4},
    {"btver2", 8}, {"bdver1", 8}, {"bdver2", 8}, {"bdver3", 8}, {"bdver4", 8}, {"znver1", 8},
    {"znver2", 8}, {"znver3", 8}, {"k8", 4}, {"opteron", 4}, {"athlon64", 4}, {"amdfam10", 4},
    {"barcelona", 4}, {NULL, 0}};

/* The named CPU's lanes, 0 if the name is unknown. */
static int known_cpu_lanes(const char *cpu) {
  for (int i = 0; known_cpus[i].name; i++)
    if (strcmp(cpu, known_cpus[i].name) == 0) return known_cpus[i].lanes;
  return 0;
}

/* has_feature for "-f" (explicitly disabled). */
static bool lacks_feature(const char *features, const char *f) {
  size_t n = strlen(f);
  for (const char *p = features; p && (p = strstr(p, f)); p += n) {
    bool start = p >= features + 1 && p[-1] == '-' && (p == features + 1 || p[-2] == ',');
    if (start && (p[n] == ',' || p[n] == 0)) return true;
  }
  return false;
}

/* The vector width the kernels use: the CPU's (by name, or the host's
 * features), then what the feature string adds or takes away. */
static int target_lanes(int named_lanes, const char *features) {
  int lanes = named_lanes;
  if (has_feature(features, "avx512f")) lanes = 16;
  else if (lacks_feature(features, "avx512f") && lanes > 8) lanes = 8;
  if (lacks_feature(features, "avx")) lanes = 4;
  else if (lanes < 8 && (has_feature(features, "avx") || has_feature(features, "avx2") ||
                         has_feature(features, "fma")))
    lanes = 8;
  return lanes;
}

/* The features of FAB_MODEL_CPU_FEATURES the feature string enables, plus
 * what a named CPU's vector width implies (its own features are LLVM's
 * and not listed here): AVX-512 for 16 lanes, AVX for 8. */
static void required_features(cg_target *t, int isa_lanes) {
  char list[] = FAB_MODEL_CPU_FEATURES;
  size_t used = 0;
  t->required[0] = 0;
  for (char *save = NULL, *f = strtok_r(list, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    bool need = has_feature(t->features, f) || (isa_lanes >= 16 && !strcmp(f, "avx512f")) ||
                (isa_lanes >= 8 && !strcmp(f, "avx"));
    if (need && used + strlen(f) + 3 < sizeof t->required)
      used += (size_t)snprintf(t->required + used, sizeof t->required - used, "%s+%s", used ? "," : "", f);
  }
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
    if (!known_cpu_lanes(o->cpu) || !strstr(t->triple, "x86_64")) {
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
  /* the host: its features say it all; znver4: AVX-512 (its features
   * above); a named CPU: its table entry, adjusted by --features */
  int named = is_host(o ? o->cpu : NULL) ? 4 : !strcmp(o->cpu, "znver4") ? 16 : known_cpu_lanes(o->cpu);
  int isa_lanes = target_lanes(named, t->features);
  t->lanes = o && o->vector_lanes > 0 ? o->vector_lanes : isa_lanes;
  required_features(t, isa_lanes);
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
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", t.cpu);
  out->vector_lanes = t.lanes;
  out->vector_registers = t.lanes == 16 ? 32 : 16;
  /* The host: sysconf knows its caches (glibc).  A CPU named with --cpu
   * gets 32 KiB L1d and 1 MiB L2 per core (Zen 4, recent Xeons have 32-48
   * KiB and 1-2 MiB): never the build machine's, so that the same command
   * builds the same code on any host. */
  long l1 = 0, l2 = 0;
#ifdef _SC_LEVEL1_DCACHE_SIZE
  if (is_host(o ? o->cpu : NULL)) {
    l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE);
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  }
#endif
  out->l1d_bytes = l1 > 0 ? l1 : 32768;
  out->fast_memory_bytes = l2 > 0 ? l2 : 1 << 20;
  /* A tile of `lanes` rows of length n must fit in L2: n * lanes * 4 bytes. */
  out->max_vector_length = out->fast_memory_bytes / (4 * t.lanes) / 2;
  cg_target_dispose(&t);
  return true;
}
