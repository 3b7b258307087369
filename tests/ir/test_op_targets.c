/* test_op_targets.c — the op table's implementations (ir/op_targets.def)
 * and fab_check_target_support: an op a target lacks is one diagnostic per
 * opcode at its first use (file:line:col, source line, caret), in program
 * order; a module the target implements passes silently. */
#include <stdlib.h>

#include "check.h"
#include "ir.h"

/* mha twice, bfly.linear once, between ops every target implements */
static const char *high_fir =
    "module @m\n"
    "param @t : f32[1,1,3,4,2,2] = zeros\n"
    "func @main {\n"
    "  %x = input {index = 0, name = \"x\"} : f32[4,8]\n"
    "  %a = mha %x, %x, %x {heads = 2} : f32[4,8]\n"
    "  %w = weight {name = \"t\"} : f32[1,1,3,4,2,2]\n"
    "  %b = bfly.linear %a, %w {in = 8, increasing = 0, nblocks = 1, out = 8} : f32[4,8]\n"
    "  %c = mha %b, %b, %b {heads = 2} : f32[4,8]\n"
    "  %y = relu %c : f32[4,8]\n"
    "  output %y {index = 0, name = \"y\"}\n"
    "}\n";

static const char *low_fir =
    "module @m\n"
    "func @main {\n"
    "  %x = input {index = 0, name = \"x\"} : f32[4,8]\n"
    "  %y = relu %x : f32[4,8]\n"
    "  output %y {index = 0, name = \"y\"}\n"
    "}\n";

/* Parses `text` and checks it for `impl`; returns everything printed. */
static char *check_text(const char *text, unsigned impl, const char *target, bool *ok) {
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("t.fir", text, strlen(text), d);
  CHECK(m != NULL);
  *ok = m && fab_check_target_support(m, impl, target, d);
  CHECK(*ok == (fab_diag_error_count(d) == 0));
  char *buf = diag_text(d);
  fab_module_free(m);
  fab_diag_free(d);
  return buf;
}

static void test_table(void) {
  for (int c = 0; c < FAB_OP_COUNT; c++) {
    /* the interpreter is the golden model: it runs every op */
    CHECK(fab_op_impls[c] & FAB_IMPL_INTERP);
    CHECK((fab_op_impls[c] & ~(unsigned)FAB_IMPL_ALL) == 0);
  }
  CHECK(fab_op_impls[FAB_OP_ADD] == FAB_IMPL_ALL);
  CHECK(fab_op_impls[FAB_OP_BFLY_LINEAR] == FAB_IMPL_INTERP);
  CHECK(FAB_OP_LACKS(FAB_IMPL_FPGA, MHA) && !FAB_OP_LACKS(FAB_IMPL_FPGA, ATTENTION));
}

static void test_unsupported(void) {
  bool ok;
  char *got = check_text(high_fir, FAB_IMPL_FPGA, "fpga", &ok);
  CHECK(!ok);
  CHECK_STR(got,
            "t.fir:5:3: error: not supported on the fpga target: mha, a high-level op: run the target's "
            "pass pipeline to lower it (1 more use)\n"
            "      %a = mha %x, %x, %x {heads = 2} : f32[4,8]\n"
            "      ^\n"
            "t.fir:7:3: error: not supported on the fpga target: bfly.linear, a high-level op: run the "
            "target's pass pipeline to lower it\n"
            "      %b = bfly.linear %a, %w {in = 8, increasing = 0, nblocks = 1, out = 8} : f32[4,8]\n"
            "      ^\n");
  free(got);
  got = check_text(high_fir, FAB_IMPL_CPU, "cpu", &ok);
  CHECK(!ok && strstr(got, "t.fir:5:3: error: not supported on the cpu target: mha"));
  free(got);
  /* the interpreter runs high-level IR as it is */
  got = check_text(high_fir, FAB_IMPL_INTERP, "interp", &ok);
  CHECK(ok);
  CHECK_STR(got, "");
  free(got);
}

static void test_supported(void) {
  const unsigned impls[] = {FAB_IMPL_INTERP, FAB_IMPL_CPU, FAB_IMPL_FPGA};
  for (int k = 0; k < 3; k++) {
    bool ok;
    char *got = check_text(low_fir, impls[k], "t", &ok);
    CHECK(ok);
    CHECK_STR(got, "");
    free(got);
  }
  /* no module or no function: nothing to report (the code generator says so) */
  fab_diag *d = fab_diag_new();
  CHECK(fab_check_target_support(NULL, FAB_IMPL_CPU, "cpu", d));
  fab_module *m = fab_module_new("empty");
  CHECK(fab_check_target_support(m, FAB_IMPL_CPU, "cpu", d));
  CHECK(fab_diag_count(d) == 0);
  fab_module_free(m);
  fab_diag_free(d);
}

int main(void) {
  test_table();
  test_unsupported();
  test_supported();
  return check_report("ir.op_targets");
}
