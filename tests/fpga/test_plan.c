/* test_plan.c — the fpga passes (fpga-absorb, fpga-alloc) and the code
 * generator's check of what they wrote:
 *   options: no folds (loads=0, chain=1) and no reuse (reuse=0) give other
 *     programs with bit-identical simulated outputs;
 *   diagnostics: a plan a later pass dropped, a fold mark the code generator
 *     cannot honour, overlapping regions, a bad option, and a coefficient
 *     address beyond the DMA's 32 bits are errors, never aborts or wrong code. */
#include "target.h"
#include "codegen.h"
#include "fpga_cases.h"
#include "interp.h"
#include "passes.h"

static fab_module *parse_text(const char *text, fab_diag *d) {
  return fab_parse_module("t.fir", text, strlen(text), d);
}

static bool diag_has(fab_diag *d, const char *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return false;
  fab_diag_print(d, f);
  fclose(f);
  bool r = buf && strstr(buf, s);
  if (!r) fprintf(stderr, "expected '%s' in:\n%s", s, buf ? buf : "");
  free(buf);
  return r;
}

/* Compiles case `name` with the fpga pipeline followed by `extra` (NULL:
 * none), simulates it into *out; returns the instruction count (0: failed). */
static size_t compile_run(const char *name, const char *extra, const fab_fpga_config *c, fab_tensor_set *out) {
  fab_diag *d = fab_diag_new();
  fab_module *m = parse_case(name, d);
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  fab_fpga_program *p = NULL;
  size_t ninsn = 0;
  char err[256];
  fab_pass_options po = {.verify_each = true};
  fab_target_config tcfg = {.accel_config = c};
  if (!m || !fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d)) goto out;
  if (!fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, &po, d)) goto out;
  if (extra && !fab_run_pipeline(m, extra, &po, d)) goto out;
  if (!(p = fab_fpga_codegen(m, c, d))) goto out;
  if (fab_fpga_sim_run(p, c, ws, is, out, NULL, NULL, err, sizeof err)) {
    fprintf(stderr, "%s: sim: %s\n", name, err);
    goto out;
  }
  ninsn = p->ninsn;
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_fpga_program_free(p);
  fab_tset_free(ws);
  fab_tset_free(is);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return ninsn;
}

static void test_options(void) {
  fab_fpga_config c = test_config("vcu128-be40-fp32");
  const char *cases[] = {"fabnet_small_post", "fourier_12_20", "abfly_pre"};
  for (int k = 0; k < 3; k++) {
    fab_tensor_set *o[3] = {fab_tset_new(), fab_tset_new(), fab_tset_new()};
    size_t n0 = compile_run(cases[k], NULL, &c, o[0]);
    size_t n1 = compile_run(cases[k], "fpga-absorb(loads=0,chain=1),fpga-alloc", &c, o[1]);
    size_t n2 = compile_run(cases[k], "fpga-alloc(reuse=0)", &c, o[2]);
    CHECK(n0 && n1 && n2, "%s: compiles with every option", cases[k]);
    CHECK(n1 > n0, "%s: without folds more instructions (%zu vs %zu)", cases[k], n1, n0);
    CHECK(same_tensors(o[0], o[1]), "%s: without folds the same outputs", cases[k]);
    CHECK(same_tensors(o[0], o[2]), "%s: without reuse the same outputs", cases[k]);
    for (int i = 0; i < 3; i++) fab_tset_free(o[i]);
  }
}

/* The code generator on case `name` after `pipeline`, with `tweak` applied
 * to the module first; expects an error containing `msg`. */
static void expect_error(const char *name, const char *pipeline, void (*tweak)(fab_module *), const char *msg) {
  fab_fpga_config c = test_config("vcu128-be40");
  fab_diag *d = fab_diag_new();
  fab_module *m = parse_case(name, d);
  fab_target_config tcfg = {.accel_config = &c};
  fab_fpga_program *p = NULL;
  bool ran = m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, pipeline, NULL, d);
  if (ran) {
    if (tweak) tweak(m);
    p = fab_fpga_codegen(m, &c, d);
  }
  CHECK(ran && !p && diag_has(d, msg), "%s after %s: the error '%s'", name, pipeline, msg);
  fab_fpga_program_free(p);
  if (m) fab_module_free(m);
  fab_diag_free(d);
}

/* Marks the first op (an input: nothing folds an input) folded. */
static void bad_fold(fab_module *m) { fab_op_set_int(m, &m->funcs[0]->ops[0], "fpga.fold", 1); }

/* Puts the last bfly.stages (or the end of its write-back chain, which
 * holds its result) where the value it reads lives. */
static void overlap(fab_module *m) {
  fab_func *f = m->funcs[0];
  for (int i = f->nops - 1; i >= 0; i--) {
    bool plain = f->ops[i].code == FAB_OP_BFLY_STAGES && !fab_fpga_folded(&f->ops[i]);
    if (!plain && !fab_fpga_wb_end(&f->ops[i])) continue;
    int b = i; /* back along the folded chain to the bfly */
    while (f->ops[b].code != FAB_OP_BFLY_STAGES) {
      int k = fab_fpga_folded(&f->ops[f->ops[b].operands[0]]) ? 0 : 1;
      b = f->ops[b].operands[k];
    }
    int x = f->ops[b].operands[0];
    while (fab_fpga_folded(&f->ops[x])) x = f->ops[x].operands[0];
    fab_op_set_int(m, &f->ops[i], "plan.offset", fab_op_int(&f->ops[x], "plan.offset", 0));
    return;
  }
}

/* twiddles placed beyond 2^32 words (after a large unused input): their
 * coefficient loads cannot be encoded */
static const char *far_twiddles =
    "module @far\n"
    "param @\"tw\" : f32[1,1,4,8,2,2] = normal(0, 1)\n"
    "func @main {\n"
    "  %0 = input {index = 0, name = \"x\"} : f32[4,1,16]\n"
    "  %1 = input {index = 1, name = \"big\"} : f32[65536,65536]\n"
    "  %2 = weight {name = \"tw\"} : f32[1,1,4,8,2,2]\n"
    "  %3 = bfly.stages %0, %2 {stages = [0, 0, 3, 0, 1, 2, 0, 2, 1, 0, 3, 0]} : f32[4,1,16]\n"
    "  output %3 {index = 0, name = \"y\"}\n"
    "}\n";

/* the fpga pipeline up to its own passes */
#define LOWER "canonicalize,lower-bfly,lower-fourier,lower-mha,canonicalize,fuse-stages,fuse-elementwise"

static void test_diagnostics(void) {
  const char *pipe = fab_target_find("fpga")->pipeline;
  char with_canon[1024];
  snprintf(with_canon, sizeof with_canon, "%s,canonicalize", pipe);
  /* a later pass drops the plan (the pass manager strips plan.*) */
  expect_error("fabnet_small_post", with_canon, NULL, "no plan.offset / plan.size");
  expect_error("fabnet_small_post", LOWER ",fpga-absorb", NULL, "no plan.offset / plan.size");
  expect_error("fabnet_small_post", pipe, bad_fold, "marked fpga.fold, but its user cannot absorb it");
  expect_error("fabnet_small_post", pipe, overlap, "overlaps the region of");

  fab_diag *d = fab_diag_new();
  fab_module *m = parse_case("fabnet_small_post", d);
  CHECK(m && !fab_run_pipeline(m, LOWER ",fpga-absorb(chain=9)", NULL, d) && diag_has(d, "chain=9 out of range"),
        "fpga-absorb(chain=9)");
  if (m) fab_module_free(m);
  fab_diag_clear(d);
  const char *bad_opts[][2] = {{LOWER ",fpga-absorb(fft-ln=2)", "fft-ln=2: 0 (the Fourier mix's layer norm"},
                               {"lower-fourier(seq-first=3)", "seq-first=3: 0 (hidden axis first)"}};
  for (int i = 0; i < 2; i++) {
    m = parse_case("fabnet_small_post", d);
    CHECK(m && !fab_run_pipeline(m, bad_opts[i][0], NULL, d) && diag_has(d, bad_opts[i][1]), "%s", bad_opts[i][0]);
    if (m) fab_module_free(m);
    fab_diag_clear(d);
  }
  /* fpga-alloc refuses a fold its user cannot take */
  m = parse_case("fabnet_small_post", d);
  bool lowered = m && fab_run_pipeline(m, LOWER, NULL, d);
  if (lowered) bad_fold(m);
  CHECK(lowered && !fab_run_pipeline(m, "fpga-alloc", NULL, d) && diag_has(d, "user cannot absorb it"),
        "fpga-alloc on a bad mark");
  if (m) fab_module_free(m);
  fab_diag_clear(d);

  fab_fpga_config c = test_config("vcu128-be40");
  m = parse_text(far_twiddles, d);
  fab_fpga_program *p = NULL;
  if (m && fab_run_pipeline(m, "fpga-absorb,fpga-alloc", NULL, d)) p = fab_fpga_codegen(m, &c, d);
  CHECK(m && !p && diag_has(d, "bfly.stages %3: transfer outside the DMA's reach (address 42949673"),
        "coefficients beyond the DMA's reach");
  fab_fpga_program_free(p);
  if (m) fab_module_free(m);
  fab_diag_free(d);
}

int main(void) {
  test_options();
  test_diagnostics();
  if (g_fail) fprintf(stderr, "%d check(s) failed\n", g_fail);
  return g_fail ? 1 : 0;
}
