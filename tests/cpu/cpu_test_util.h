/* cpu_test_util.h — building small lowered modules by hand and comparing
 * the CPU backend with the reference interpreter. */
#ifndef CPU_TEST_UTIL_H
#define CPU_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "interp.h"
#include "ir.h"

static int g_failures;

#define CHECK(c, ...)                                                        \
  do {                                                                       \
    if (!(c)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #c); \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      g_failures++;                                                          \
    }                                                                        \
  } while (0)

typedef struct tb {
  fab_module *m;
  fab_func *f;
  fab_diag *d;
  int nin, nout;
} tb;

static inline tb tb_new(const char *name) {
  tb t = {0};
  t.m = fab_module_new(name);
  t.f = fab_module_add_func(t.m, "main");
  t.d = fab_diag_new();
  return t;
}

static inline void tb_free(tb *t) {
  if (fab_diag_count(t->d)) fab_diag_print(t->d, stderr);
  fab_diag_free(t->d);
  fab_module_free(t->m);
}

static inline fab_type tyof(fab_dtype dt, int rank, const int64_t *dims) { return fab_type_make(dt, rank, dims); }

static inline int tb_input(tb *t, const char *name, fab_dtype dt, int rank, const int64_t *dims) {
  int i = fab_func_append(t->m, t->f, FAB_OP_INPUT, NULL, 0, (fab_loc){0});
  fab_op_set_str(t->m, &t->f->ops[i], "name", name);
  fab_op_set_int(t->m, &t->f->ops[i], "index", t->nin++);
  t->f->ops[i].type = tyof(dt, rank, dims);
  return i;
}

static inline int tb_weight(tb *t, const char *name, int rank, const int64_t *dims, double stdev) {
  fab_type ty = tyof(FAB_F32, rank, dims);
  fab_module_add_param(t->m, name, ty, (fab_init){FAB_INIT_NORMAL, 0.0, stdev}, (fab_loc){0}, t->d);
  int i = fab_func_append(t->m, t->f, FAB_OP_WEIGHT, NULL, 0, (fab_loc){0});
  fab_op_set_str(t->m, &t->f->ops[i], "name", name);
  t->f->ops[i].type = ty;
  return i;
}

/* Appends an op; set attributes on tb_last(t), then call tb_infer. */
static inline int tb_op(tb *t, fab_opcode code, int a, int b, int c, int d) {
  int ops[4] = {a, b, c, d}, n = 0;
  while (n < 4 && ops[n] >= 0) n++;
  return fab_func_append(t->m, t->f, code, ops, n, (fab_loc){0});
}

static inline fab_op *tb_last(tb *t) { return &t->f->ops[t->f->nops - 1]; }

static inline int tb_infer(tb *t) {
  char err[256];
  fab_op *op = tb_last(t);
  if (op->code != FAB_OP_CONST && !fab_infer_op(t->m, t->f, op, err, sizeof err)) {
    fprintf(stderr, "infer %s: %s\n", fab_opinfos[op->code].name, err);
    g_failures++;
  }
  return t->f->nops - 1;
}

static inline void tb_output(tb *t, int v, const char *name) {
  int i = fab_func_append(t->m, t->f, FAB_OP_OUTPUT, &v, 1, (fab_loc){0});
  fab_op_set_str(t->m, &t->f->ops[i], "name", name);
  fab_op_set_int(t->m, &t->f->ops[i], "index", t->nout++);
  t->f->ops[i].type = t->f->ops[v].type;
}

/* max |a - b| <= rtol * (|b| + 0.05 * max|b|): relative, with a floor for
 * values near zero that come from cancellations (FFT, layernorm). */
static inline bool close_sets(const char *what, const fab_tensor_set *got, const fab_tensor_set *want,
                       double rtol) {
  bool ok = true;
  for (int i = 0; i < want->count; i++) {
    const fab_tensor *w = &want->items[i];
    const fab_tensor *g = fab_tset_find(got, w->name);
    if (!g || g->nbytes != w->nbytes || g->dtype != w->dtype) {
      fprintf(stderr, "%s: output '%s' missing or misshaped\n", what, w->name);
      g_failures++;
      ok = false;
      continue;
    }
    int64_t n = fab_tensor_numel(w);
    if (w->dtype == FAB_DT_I32) {
      if (memcmp(g->data, w->data, w->nbytes)) {
        fprintf(stderr, "%s: output '%s' differs\n", what, w->name);
        g_failures++;
        ok = false;
      }
      continue;
    }
    const float *a = g->data, *b = w->data;
    double mx = 0;
    for (int64_t k = 0; k < n; k++) mx = fmax(mx, fabs(b[k]));
    double worst = 0;
    int64_t at = -1;
    for (int64_t k = 0; k < n; k++) {
      double e = fabs((double)a[k] - b[k]) / (fabs(b[k]) + 0.05 * mx + 1e-30);
      if (!(e <= worst)) {
        worst = e;
        at = k;
      }
    }
    if (!(worst <= rtol)) {
      fprintf(stderr, "%s: output '%s' differs: rel err %.3g at %lld (got %.7g want %.7g)\n", what,
              w->name, worst, (long long)at, at >= 0 ? a[at] : 0.0, at >= 0 ? b[at] : 0.0);
      g_failures++;
      ok = false;
    }
  }
  return ok;
}

/* Runs the module through the interpreter and the JIT; compares.  edit
 * (may be NULL) changes the seeded weights before both run. */
static inline bool jit_vs_interp_edit(tb *t, const char *what, const fab_cpu_options *o, double rtol,
                                      void (*edit)(fab_tensor_set *weights)) {
  if (!fab_verify(t->m, t->d)) {
    fprintf(stderr, "%s: module does not verify\n", what);
    fab_diag_print(t->d, stderr);
    fab_diag_clear(t->d);
    g_failures++;
    return false;
  }
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *want = fab_tset_new(),
                 *got = fab_tset_new();
  bool ok = fab_bind_init_weights(t->m, 7, w, t->d);
  if (ok && edit) edit(w);
  ok = ok && fab_bind_init_inputs(t->m, 11, in, t->d) && fab_interp_run(t->m, w, in, want, t->d);
  if (!ok) {
    fprintf(stderr, "%s: interpreter failed\n", what);
    g_failures++;
  }
  fab_cpu_jit *j = ok ? fab_cpu_jit_compile(t->m, o, t->d) : NULL;
  if (ok && !j) {
    fprintf(stderr, "%s: JIT compile failed\n", what);
    g_failures++;
    ok = false;
  }
  if (j && !fab_cpu_jit_run(j, w, in, got, t->d)) {
    fprintf(stderr, "%s: JIT run failed\n", what);
    g_failures++;
    ok = false;
  }
  if (ok) ok = close_sets(what, got, want, rtol);
  if (ok && getenv("CPU_TEST_VERBOSE")) fprintf(stderr, "%s: %d outputs agree\n", what, want->count);
  if (fab_diag_count(t->d)) {
    fab_diag_print(t->d, stderr);
    fab_diag_clear(t->d);
  }
  fab_cpu_jit_free(j);
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(want);
  fab_tset_free(got);
  return ok;
}

static inline bool jit_vs_interp(tb *t, const char *what, const fab_cpu_options *o, double rtol) {
  return jit_vs_interp_edit(t, what, o, rtol, NULL);
}

#endif
