/* jit.c — compiling a model in process with ORC LLJIT.
 *
 * The module is built in the LLJIT's thread-safe context, optimised like
 * the AOT one, added to the main JITDylib (with the process's symbols for
 * libm) and its descriptor looked up: from there on a JIT-compiled model
 * is a runtime fab_model like any loaded .so. */
#include "cpu_internal.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <stdlib.h>

struct fab_cpu_jit {
  LLVMOrcLLJITRef jit;
  fab_model *model;
  fab_context *ctx; /* for fab_cpu_jit_run, made on first use */
  int threads;
};

static bool jit_error(fab_diag *d, LLVMErrorRef e, const char *what) {
  char *msg = LLVMGetErrorMessage(e);
  fab_error(d, (fab_loc){0}, "cpu backend: %s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return false;
}

fab_cpu_jit *fab_cpu_jit_compile(const fab_module *lowered, const fab_cpu_options *o,
                                 fab_diag *d) {
  fab_cpu_options dflt;
  if (!o) {
    fab_cpu_options_default(&dflt);
    o = &dflt;
  }
  cg_target t;
  if (!cg_target_init(&t, o, d)) return NULL;
  fab_cpu_jit *j = calloc(1, sizeof *j);
  if (!j) {
    cg_target_dispose(&t);
    return NULL;
  }
  j->threads = o->threads;
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  LLVMModuleRef mod = cg_build_model(LLVMOrcThreadSafeContextGetContext(tsc), lowered, o, &t, d);
  if (!mod) goto fail_tsc;

  /* The JIT takes its own target machine with the same cpu/features. */
  LLVMTargetRef target;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(t.triple, &target, &msg)) {
    fab_error(d, (fab_loc){0}, "cpu backend: %s", msg ? msg : "no target");
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(mod);
    goto fail_tsc;
  }
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, t.triple, t.cpu, t.features,
                                                    LLVMCodeGenLevelAggressive, LLVMRelocDefault,
                                                    LLVMCodeModelJITDefault);
  LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->jit, jb);
  if (e) {
    jit_error(d, e, "cannot create the JIT");
    LLVMDisposeModule(mod);
    goto fail_tsc;
  }
  LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(j->jit);
  LLVMOrcDefinitionGeneratorRef gen;
  e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
  if (e) {
    jit_error(d, e, "cannot search the process for symbols");
    LLVMDisposeModule(mod);
    goto fail_jit;
  }
  LLVMOrcJITDylibAddGenerator(jd, gen);
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  e = LLVMOrcLLJITAddLLVMIRModule(j->jit, jd, tsm);
  if (e) { /* the JIT owns tsm even on failure */
    jit_error(d, e, "cannot add the module");
    goto fail_jit;
  }
  LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps it alive */
  tsc = NULL;
  LLVMOrcExecutorAddress addr = 0;
  e = LLVMOrcLLJITLookup(j->jit, &addr, FAB_MODEL_SYMBOL);
  if (e) {
    jit_error(d, e, "cannot compile the model");
    goto fail_jit;
  }
  char err[512];
  fab_status st;
  j->model = fab_model_from_desc((const fab_model_desc *)(uintptr_t)addr, &st, err, sizeof err);
  if (!j->model) {
    fab_error(d, (fab_loc){0}, "cpu backend: internal: bad descriptor: %s", err);
    goto fail_jit;
  }
  cg_target_dispose(&t);
  return j;

fail_jit:
  LLVMOrcDisposeLLJIT(j->jit);
  j->jit = NULL;
fail_tsc:
  if (tsc) LLVMOrcDisposeThreadSafeContext(tsc);
  cg_target_dispose(&t);
  free(j);
  return NULL;
}

fab_model *fab_cpu_jit_model(fab_cpu_jit *j) { return j ? j->model : NULL; }

/* Repeated runs (latency measurements) pay for neither copying the
 * weights (bound by reference: the set must stay alive and unchanged until
 * the next binding, since a run with weights NULL reads it again) nor
 * creating threads (one cached context); with weights NULL, not even the
 * binding and its prepare step. */
bool fab_cpu_jit_run(fab_cpu_jit *j, const fab_tensor_set *weights, const fab_tensor_set *inputs,
                     fab_tensor_set *outputs, fab_diag *d) {
  char err[512];
  fab_status st;
  if (!j) return false;
  if (weights) {
    st = fab_model_bind_weights_ref(j->model, weights, err, sizeof err);
    if (st != FAB_OK) {
      fab_error(d, (fab_loc){0}, "%s", err);
      return false;
    }
  }
  if (!j->ctx) j->ctx = fab_context_new(j->model, j->threads, &st, err, sizeof err);
  if (!j->ctx) {
    fab_error(d, (fab_loc){0}, "%s", err);
    return false;
  }
  st = fab_context_run(j->ctx, inputs, outputs, err, sizeof err);
  if (st != FAB_OK) {
    fab_error(d, (fab_loc){0}, "%s", err);
    return false;
  }
  return true;
}

void fab_cpu_jit_free(fab_cpu_jit *j) {
  if (!j) return;
  fab_context_free(j->ctx);
  fab_model_free(j->model);
  if (j->jit) LLVMOrcDisposeLLJIT(j->jit);
  free(j);
}
