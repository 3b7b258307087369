/* test_verify.c — fab_verify: each rule gives its exact message, all
 * problems are reported in one run, locations are used. */
#include <stdlib.h>

#include "build.h"
#include "check.h"

static fab_module *M;
static fab_func *F;
static fab_diag *D;

static void fresh(void) {
  M = fab_module_new("v");
  F = fab_module_add_func(M, "main");
  D = fab_diag_new();
}

static void done(void) {
  fab_module_free(M);
  fab_diag_free(D);
}

/* Verifies and compares every message with the NULL-terminated list. */
static void expect(int line, const char *const *want) {
  bool ok = fab_verify(M, D);
  int n = 0;
  while (want[n]) n++;
  if (ok != (n == 0)) {
    fprintf(stderr, "line %d: fab_verify returned %d with %d expected messages\n", line, ok, n);
    check_failures++;
  }
  if (fab_diag_count(D) != n) {
    fprintf(stderr, "line %d: %d messages, want %d:\n", line, fab_diag_count(D), n);
    fab_diag_print(D, stderr);
    check_failures++;
    return;
  }
  for (int i = 0; i < n; i++)
    if (strcmp(fab_diag_message(D, i), want[i]) != 0) {
      fprintf(stderr, "line %d: message %d\n  got  \"%s\"\n  want \"%s\"\n", line, i,
              fab_diag_message(D, i), want[i]);
      check_failures++;
    }
}
#define EXPECT(...) expect(__LINE__, (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_OK() expect(__LINE__, (const char *const[]){NULL})

static void test_good(void) {
  fresh();
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  int y = b_op(M, F, FAB_OP_RELU, 1, x);
  fab_op_set_int(M, &F->ops[y], "plan.slot", 3);
  fab_op_set_str(M, &F->ops[y], "hint.why", "annotations are free");
  F->ops[y].type = ty(FAB_F32, 1, 4);
  b_output(M, F, y, "y", 0);
  F->ops[2].type = ty(FAB_F32, 1, 4);
  EXPECT_OK();
  done();
}

static void test_schema(void) {
  fresh();
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 2, 2, 64));
  int tw = b_weight(M, F, "tw", ty(FAB_F32, 6, 1, 1, 6, 32, 2, 2));
  int l = b_op(M, F, FAB_OP_BFLY_LINEAR, 2, x, tw);
  fab_op_set_int(M, &F->ops[l], "in", 64);
  fab_op_set_float(M, &F->ops[l], "nblocks", 1);
  fab_op_set_int(M, &F->ops[l], "increasing", 0);
  fab_op_set_int(M, &F->ops[l], "foo", 0);
  fab_op_set_int(M, &F->ops[l], "planx", 0);
  b_output(M, F, l, "y", 0);
  F->ops[3].type = ty(FAB_F32, 2, 2, 64);
  EXPECT("%2 (bfly.linear): unknown attribute 'foo'",
         "%2 (bfly.linear): attribute 'nblocks' must be an integer",
         "%2 (bfly.linear): unknown attribute 'planx'",
         "%2 (bfly.linear): missing attribute 'out'");
  done();
}

static void test_structure(void) {
  fresh();
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  int a = b_op(M, F, FAB_OP_ADD, 1, x);               /* %1 arity */
  int fwd = b_op(M, F, FAB_OP_RELU, 1, 5);            /* %2 forward reference */
  b_output(M, F, x, "y", 0);                           /* %3 */
  int out_use = b_op(M, F, FAB_OP_RELU, 1, 3);        /* %4 uses an output */
  int w = fab_func_append(M, F, FAB_OP_WEIGHT, NULL, 0, no_loc()); /* %5 */
  fab_op_set_str(M, &F->ops[w], "name", "missing");
  F->ops[w].type = ty(FAB_F32, 1, 4);
  int r = b_op(M, F, FAB_OP_RELU, 1, x);              /* %6 wrong stored type */
  F->ops[r].type = ty(FAB_F32, 1, 5);
  F->ops[3].type = ty(FAB_F32, 1, 4);
  (void)a; (void)fwd; (void)out_use;
  EXPECT("%1 (add): expects 2 operands, got 1",
         "%2 (relu): operand 0 (%5) is not defined before use",
         "%4 (relu): operand 0 (%3) is 'output', which has no result",
         "%5 (weight): no parameter named \"missing\"",
         "%6 (relu): stored type f32[5] but the inferred type is f32[4]");
  done();
}

static void test_ports(void) {
  fresh();
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  b_input(M, F, "z", 7, ty(FAB_F32, 1, 4));
  b_output(M, F, x, "o", 1);
  F->ops[3].type = ty(FAB_F32, 1, 4);
  EXPECT("%1 (input): input index 0 is also used by %0",
         "%1 (input): input name \"x\" is also used by %0",
         "%2 (input): input index 7 out of range 0..2",
         "%3 (output): output index 1 out of range 0..0");
  done();

  fresh();
  b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  EXPECT("func @main has no output");
  done();
}

/* Messages carry the op's location; fab_diag_print shows file:line:col. */
static void test_location(void) {
  fresh();
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  int a = fab_func_append(M, F, FAB_OP_MUL, (int[]){x}, 1, (fab_loc){"model.fab", 3, 5});
  b_output(M, F, x, "y", 0);
  F->ops[2].type = ty(FAB_F32, 1, 4);
  (void)a;
  EXPECT("%1 (mul): expects 2 operands, got 1");
  char *buf = diag_text(D);
  CHECK_STR(buf, "model.fab:3:5: error: %1 (mul): expects 2 operands, got 1\n");
  free(buf);
  done();
}

static void test_params(void) {
  fresh();
  fab_module_add_param(M, "u", ty(FAB_F32, 1, 4), (fab_init){FAB_INIT_UNIFORM, 1, -1}, no_loc(), NULL);
  fab_module_add_param(M, "n", ty(FAB_F32, 1, 4), (fab_init){FAB_INIT_NORMAL, 0, -2}, no_loc(), NULL);
  int x = b_input(M, F, "x", 0, ty(FAB_F32, 1, 4));
  b_output(M, F, x, "y", 0);
  F->ops[1].type = ty(FAB_F32, 1, 4);
  EXPECT("parameter \"u\" has an invalid initialiser", "parameter \"n\" has an invalid initialiser");
  done();
}

int main(void) {
  test_good();
  test_schema();
  test_structure();
  test_ports();
  test_location();
  test_params();
  return check_report("ir.verify");
}
