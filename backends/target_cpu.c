/* target_cpu.c — native code through LLVM (backends/cpu/) as a target:
 * the JIT for runs, shared libraries, objects, LLVM IR and assembly for
 * builds.  Runs on one model proceed in parallel: each borrows a context
 * (scratch memory + workers) from a small pool. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "target.h"

enum { POOL_MAX = 64 };

struct fab_compiled {
  const fab_module *lowered;
  fab_cpu_options opts;
  char *cpu, *features, *codegen; /* owned copies for opts (llvm_pipeline points into codegen) */
  fab_cpu_jit *jit;
  pthread_mutex_t pool_lock;
  fab_context *pool[POOL_MAX];
  int npool;
};

/* `codegen` is the text the options point into (cfg->codegen or a copy). */
static bool options(const fab_target_config *cfg, const char *codegen, fab_cpu_options *o, fab_diag *d) {
  fab_cpu_options_default(o);
  o->cpu = cfg->cpu;
  o->features = cfg->features;
  o->opt_level = cfg->opt_level >= 0 && cfg->opt_level <= 3 ? cfg->opt_level : 3;
  o->threads = cfg->threads > 0 ? cfg->threads : 1;
  char msg[256];
  if (!fab_cpu_codegen_options_parse(o, codegen, msg, sizeof msg)) {
    fab_error(d, (fab_loc){0}, "--codegen: %s", msg);
    return false;
  }
  return true;
}

static bool check_config(const fab_target_config *cfg, fab_diag *d) {
  fab_cpu_options o;
  return options(cfg, cfg->codegen, &o, d);
}

/* The machine's SIMD width and register file (from --cpu/--features or the
 * host), its L2 per core; radix-2^k fusion up to 6 stages (the register
 * file caps it further: passes/manager.c pass_default_fuse_k). */
static bool cost_model(const fab_target_config *cfg, fab_target_info *out, fab_diag *d) {
  fab_cpu_options o;
  fab_cpu_target t;
  if (!options(cfg, cfg->codegen, &o, d) || !fab_cpu_target_info(&o, &t, d)) return false;
  *out = (fab_target_info){.name = "cpu",
                           .vector_lanes = t.vector_lanes,
                           .vector_registers = t.vector_registers,
                           .fast_memory_bytes = t.fast_memory_bytes,
                           .max_fused_stages = 6,
                           .max_vector_length = 0};
  return true;
}

static void release(fab_compiled *c) {
  if (!c) return;
  for (int i = 0; i < c->npool; i++) fab_context_free(c->pool[i]);
  fab_cpu_jit_free(c->jit);
  free(c->cpu);
  free(c->features);
  free(c->codegen);
  pthread_mutex_destroy(&c->pool_lock);
  free(c);
}

static char *dup_or_null(const char *s, bool *ok) {
  char *r = s ? strdup(s) : NULL;
  if (s && !r) *ok = false;
  return r;
}

/* The JIT, unless the model will only be built (cfg->build_only). */
static fab_compiled *compile(const fab_module *lowered, const fab_target_config *cfg, fab_diag *d) {
  fab_compiled *c = fab_target_calloc(sizeof *c, d);
  if (!c) return NULL;
  pthread_mutex_init(&c->pool_lock, NULL);
  c->lowered = lowered;
  bool ok = true;
  c->cpu = dup_or_null(cfg->cpu, &ok);
  c->features = dup_or_null(cfg->features, &ok);
  c->codegen = dup_or_null(cfg->codegen, &ok);
  ok = ok && options(cfg, c->codegen, &c->opts, d);
  c->opts.cpu = c->cpu;
  c->opts.features = c->features;
  if (ok && !cfg->build_only && !(c->jit = fab_cpu_jit_compile(lowered, &c->opts, d))) ok = false;
  if (!ok) {
    if (fab_diag_error_count(d) == 0) fab_error(d, (fab_loc){0}, "out of memory");
    release(c);
    return NULL;
  }
  return c;
}

static void drain_pool(fab_compiled *c) {
  for (int i = 0; i < c->npool; i++) fab_context_free(c->pool[i]);
  c->npool = 0;
}

static bool bind_weights(fab_compiled *c, const fab_tensor_set *w, fab_diag *d) {
  char msg[512];
  if (!c->jit) {
    fab_error(d, (fab_loc){0}, "cpu: this model was compiled to be built, not run");
    return false;
  }
  if (fab_model_bind_weights_ref(fab_cpu_jit_model(c->jit), w, msg, sizeof msg) != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", msg);
    return false;
  }
  drain_pool(c); /* contexts made for the old weights */
  return true;
}

static fab_context *take_context(fab_compiled *c, fab_diag *d) {
  fab_context *x = NULL;
  pthread_mutex_lock(&c->pool_lock);
  if (c->npool > 0) x = c->pool[--c->npool];
  pthread_mutex_unlock(&c->pool_lock);
  if (x) return x;
  char msg[512];
  fab_status st;
  x = fab_context_new(fab_cpu_jit_model(c->jit), c->opts.threads, &st, msg, sizeof msg);
  if (!x) fab_error(d, (fab_loc){0}, "%s", msg);
  return x;
}

static void give_back_context(fab_compiled *c, fab_context *x) {
  pthread_mutex_lock(&c->pool_lock);
  if (c->npool < POOL_MAX)
    c->pool[c->npool++] = x;
  else
    fab_context_free(x);
  pthread_mutex_unlock(&c->pool_lock);
}

static bool run(fab_compiled *c, const fab_tensor_set *in, fab_tensor_set *out, fab_target_run *r, fab_diag *d) {
  (void)r;
  if (!c->jit) {
    fab_error(d, (fab_loc){0}, "cpu: this model was compiled to be built, not run");
    return false;
  }
  fab_context *x = take_context(c, d);
  if (!x) return false;
  char msg[512];
  fab_status st = fab_context_run(x, in, out, msg, sizeof msg);
  give_back_context(c, x);
  if (st != FAB_OK) fab_error(d, (fab_loc){0}, "%s", msg);
  return st == FAB_OK;
}

static bool build(fab_compiled *c, const char *kind, const char *path, const fab_tensor_set *embed, fab_diag *d) {
  static const struct {
    const char *name;
    fab_cpu_emit_kind kind;
  } kinds[] = {{"so", FAB_CPU_EMIT_SHARED},
               {"obj", FAB_CPU_EMIT_OBJ},
               {"llvm", FAB_CPU_EMIT_LLVM_IR},
               {"asm", FAB_CPU_EMIT_ASM}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kind, kinds[i].name) == 0) {
      fab_cpu_options o = c->opts;
      o.embed_weights = embed != NULL;
      o.weights = embed;
      return fab_cpu_emit(c->lowered, &o, kinds[i].kind, path, d);
    }
  fab_error(d, (fab_loc){0}, "cpu: cannot build '%s' (so, obj, llvm, asm)", kind);
  return false;
}

const fab_target fab_target_cpu = {
    .name = "cpu",
    .summary = "native code for this machine or --cpu NAME (LLVM): JIT runs, .so/.o/.ll/.s builds",
    /* cpu-chain-bfly alone decides how the CPU groups butterfly stages
     * (it merges whole chains), so fuse-stages is not part of it. */
    .pipeline = "canonicalize,lower-bfly,lower-fourier,lower-bluestein,lower-mha,canonicalize,fuse-elementwise,"
                "attention-block,memplan,cpu-chain-bfly(chain=1,group=3),"
                "cpu-fold-fft-loads(fold=1,hermitian=1),cpu-fold-embed,cpu-fuse-ffn(ffn=1)",
    .build_kinds = "so,obj,llvm,asm",
    .check_config = check_config,
    .cost_model = cost_model,
    .compile = compile,
    .release = release,
    .bind_weights = bind_weights,
    .run = run,
    .build = build,
};
