/* aot.c — ahead-of-time output: LLVM IR text, assembly, an object, or a
 * shared library linked by the system C compiler, plus the model header.
 *
 * The .so is linked with `cc -shared` run directly (posix_spawnp, no
 * shell), so paths with spaces or quotes are safe. */
#include "cpu_internal.h"
#include "fab_out.h"

#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Writes the module as `kind` (IR text, assembly or an object) to o.  Code
 * is generated into memory, so that a disk error is ours to report (by
 * fab_out_commit), not LLVM's to abort on; messages name `shown`. */
static bool emit_to(fab_out *o, LLVMModuleRef mod, const cg_target *t, fab_cpu_emit_kind kind,
                    const char *shown, fab_diag *d) {
  if (kind == FAB_CPU_EMIT_LLVM_IR) {
    char *text = LLVMPrintModuleToString(mod);
    if (!text) {
      fab_error(d, (fab_loc){0}, "cpu backend: out of memory printing '%s'", shown);
      return false;
    }
    fab_out_write(o, text, strlen(text));
    LLVMDisposeMessage(text);
    return true;
  }
  char *msg = NULL;
  LLVMMemoryBufferRef buf = NULL;
  LLVMCodeGenFileType ft = kind == FAB_CPU_EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile;
  if (LLVMTargetMachineEmitToMemoryBuffer(t->tm, mod, ft, &msg, &buf)) {
    fab_error(d, (fab_loc){0}, "cpu backend: cannot generate '%s': %s", shown, msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return false;
  }
  fab_out_write(o, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf));
  LLVMDisposeMemoryBuffer(buf);
  return true;
}

/* Links obj into out with the driver `cc` (--codegen linker=, else "cc");
 * messages name `shown`.  No environment variable chooses it: the same
 * command builds the same library. */
static bool run_cc(const char *cc, const char *obj, const char *out, const char *shown, fab_diag *d) {
  if (!cc || !*cc) cc = "cc";
  char *argv[] = {(char *)cc, "-shared", "-o", (char *)out, (char *)obj, "-lm", NULL};
  /* Its own process group, so that a signal handler can stop the driver
   * and the linker it runs (fab_out_track_child) before removing their
   * output. */
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, cc, NULL, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    fab_error(d, (fab_loc){0}, "cpu backend: cannot run the linker '%s'", cc);
    return false;
  }
  fab_out_track_child(pid);
  int status = 0;
  bool waited;
  while (!(waited = waitpid(pid, &status, 0) == pid) && errno == EINTR) {
  }
  fab_out_untrack_child(pid);
  if (!waited || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fab_error(d, (fab_loc){0}, "cpu backend: '%s -shared -o %s' failed", cc, shown);
    return false;
  }
  return true;
}

/* out_path with its extension replaced by ".h" (or ".h" appended). */
static char *header_path(const char *out) {
  size_t n = strlen(out);
  const char *slash = strrchr(out, '/'), *dot = strrchr(out, '.');
  size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - out) : n;
  char *p = malloc(stem + 3);
  if (!p) return NULL;
  memcpy(p, out, stem);
  memcpy(p + stem, ".h", 3);
  return p;
}

/* ---- model.h --------------------------------------------------------------- */

typedef struct sbuf {
  char *s;
  size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = (b->cap + (size_t)n + 1) * 2;
    char *s = realloc(b->s, cap);
    if (!s) return;
    b->s = s;
    b->cap = cap;
  }
}

static void c_ident(const char *name, char *out, size_t n) {
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < n; p++)
    out[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? (*p >= 'a' && *p <= 'z' ? *p - 32 : *p) : '_');
  out[k] = 0;
}

static void sb_tensor(sbuf *b, const char *kind, int index, const char *name, const fab_type *t) {
  char id[128], ty[128];
  c_ident(name, id, sizeof id);
  sb_printf(b, "/* %s %d: \"%s\" %s */\n", kind, index, name, fab_type_str(t, ty, sizeof ty));
  sb_printf(b, "#define FAB_MODEL_%s_%s_INDEX %d\n", kind, id, index);
  sb_printf(b, "#define FAB_MODEL_%s_%s_NAME \"%s\"\n", kind, id, name);
}

char *fab_cpu_header_text(const fab_module *m, fab_diag *d) {
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "cpu backend: the module has no function");
    return NULL;
  }
  sbuf b = {0};
  sb_printf(&b, "/* Generated by fabc (cpu backend) for model \"%s\", IR hash %016llx.\n"
                " * Load the .so with fab_model_load() (runtime/fab_runtime.h), or link the\n"
                " * object and pass &fab_model_v1 to fab_model_from_desc(). */\n",
            m->name ? m->name : "model", (unsigned long long)cg_model_hash(m));
  sb_printf(&b, "#ifndef FAB_MODEL_H\n#define FAB_MODEL_H\n\n#include \"fab_runtime.h\"\n\n");
  sb_printf(&b, "#define FAB_MODEL_HASH 0x%016llxull\n", (unsigned long long)cg_model_hash(m));
  sb_printf(&b, "extern const fab_model_desc fab_model_v1;\n\n");
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_INPUT)
      sb_tensor(&b, "INPUT", (int)fab_op_int(op, "index", 0), fab_op_str(op, "name", "?"), &op->type);
  }
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_OUTPUT)
      sb_tensor(&b, "OUTPUT", (int)fab_op_int(op, "index", 0), fab_op_str(op, "name", "?"),
                &f->ops[op->operands[0]].type);
  }
  sb_printf(&b, "\n#define FAB_MODEL_NUM_WEIGHTS %d\n", m->nparams);
  for (int i = 0; i < m->nparams; i++) {
    char ty[128];
    sb_printf(&b, "/* weight %d: \"%s\" %s */\n", i, m->params[i].name,
              fab_type_str(&m->params[i].type, ty, sizeof ty));
  }
  sb_printf(&b, "\n#endif /* FAB_MODEL_H */\n");
  return b.s;
}

/* The model header next to out_path, written to its temporary: committed
 * after the model itself, so that both change together unless the last
 * rename fails. */
static fab_out *open_header(const char *out_path, const fab_module *m, fab_diag *d) {
  char err[512];
  char *hp = header_path(out_path), *text = fab_cpu_header_text(m, d);
  fab_out *o = hp && text ? fab_out_open(hp, err, sizeof err) : NULL;
  if (o && (fab_out_write(o, text, strlen(text)), fab_out_flush(o, err, sizeof err) != FAB_OK)) {
    fab_out_abort(o); /* a full disk shows here, before the model is replaced */
    o = NULL;
  }
  if (!hp || (!text && fab_diag_count(d) == 0)) fab_error(d, (fab_loc){0}, "cpu backend: out of memory");
  else if (text && !o) fab_error(d, (fab_loc){0}, "cpu backend: %s", err);
  free(hp);
  free(text);
  return o;
}

static bool io_error(const char *err, fab_diag *d) {
  fab_error(d, (fab_loc){0}, "cpu backend: %s", err);
  return false;
}

/* A shared library: the object goes to a temporary that `cc -shared` links
 * into another (reserved) temporary, `out`. */
static bool link_shared(fab_out *out, LLVMModuleRef mod, const cg_target *t, const char *linker,
                        const char *out_path, fab_diag *d) {
  char err[512];
  fab_out *obj = fab_out_open(out_path, err, sizeof err);
  if (!obj) return io_error(err, d);
  bool ok = emit_to(obj, mod, t, FAB_CPU_EMIT_OBJ, out_path, d);
  if (ok && fab_out_flush(obj, err, sizeof err) != FAB_OK) ok = io_error(err, d);
  ok = ok && run_cc(linker, fab_out_temp_path(obj), fab_out_temp_path(out), out_path, d);
  fab_out_abort(obj);
  return ok;
}

/* The module as `kind` at out_path, renamed into place when complete. */
static bool write_output(LLVMModuleRef mod, const cg_target *t, const char *linker, fab_cpu_emit_kind kind,
                         const char *out_path, fab_diag *d) {
  if (kind != FAB_CPU_EMIT_LLVM_IR && kind != FAB_CPU_EMIT_ASM && kind != FAB_CPU_EMIT_OBJ &&
      kind != FAB_CPU_EMIT_SHARED) {
    fab_error(d, (fab_loc){0}, "cpu backend: unknown output kind");
    return false;
  }
  char err[512];
  bool shared = kind == FAB_CPU_EMIT_SHARED;
  fab_out *out = shared ? fab_out_reserve(out_path, err, sizeof err) : fab_out_open(out_path, err, sizeof err);
  if (!out) return io_error(err, d);
  bool ok = shared ? link_shared(out, mod, t, linker, out_path, d) : emit_to(out, mod, t, kind, out_path, d);
  if (!ok) {
    fab_out_abort(out);
    return false;
  }
  return fab_out_commit(out, err, sizeof err) == FAB_OK || io_error(err, d);
}

bool fab_cpu_emit(const fab_module *lowered, const fab_cpu_options *o, fab_cpu_emit_kind kind,
                  const char *out_path, fab_diag *d) {
  fab_cpu_options dflt;
  if (!o) {
    fab_cpu_options_default(&dflt);
    o = &dflt;
  }
  if (!out_path || !*out_path) {
    fab_error(d, (fab_loc){0}, "cpu backend: no output path");
    return false;
  }
  cg_target t;
  if (!cg_target_init(&t, o, d)) return false;
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef mod = cg_build_model(ctx, lowered, o, &t, d);
  bool ok = mod != NULL;
  /* Every output is written to a temporary next to its final name and
   * renamed into place (fab_out.h): an interrupted or failed build never
   * leaves a truncated model.so for a later run to load. */
  fab_out *hdr = NULL;
  if (ok && (kind == FAB_CPU_EMIT_OBJ || kind == FAB_CPU_EMIT_SHARED))
    ok = (hdr = open_header(out_path, lowered, d)) != NULL;
  if (ok) ok = write_output(mod, &t, o ? o->linker : NULL, kind, out_path, d);
  if (mod) LLVMDisposeModule(mod);
  LLVMContextDispose(ctx);
  cg_target_dispose(&t);
  if (hdr && !ok) fab_out_abort(hdr);
  if (hdr && ok) {
    char err[512];
    ok = fab_out_commit(hdr, err, sizeof err) == FAB_OK || io_error(err, d);
  }
  return ok;
}
