/* test_roundtrip.c — print(parse(print(m))) == print(m) byte for byte for
 * a module using every op (with and without locations), the exact
 * printed form of a few lines, and special floats surviving the trip. */
#include <stdlib.h>

#include "check.h"
#include "sample.h"

/* Prints, parses, verifies, prints again; returns the first print. */
static char *round_trip(const fab_module *m, unsigned flags, fab_module **back) {
  char *s1 = fab_print_module_str(m, flags);
  fab_diag *d = fab_diag_new();
  fab_module *m2 = fab_parse_module("rt.fir", s1, strlen(s1), d);
  if (!m2 || !fab_verify(m2, d)) {
    fab_diag_print(d, stderr);
    CHECK(!"round trip parse/verify failed");
  }
  if (m2) {
    char *s2 = fab_print_module_str(m2, flags);
    CHECK(strcmp(s1, s2) == 0);
    if (strcmp(s1, s2) != 0) fprintf(stderr, "--- first\n%s--- second\n%s", s1, s2);
    free(s2);
  }
  fab_diag_free(d);
  if (back) *back = m2;
  else fab_module_free(m2);
  return s1;
}

static void test_every_op(void) {
  fab_module *m = sample_module();
  CHECK(m != NULL);
  if (!m) return;
  fab_diag *d = fab_diag_new();
  CHECK(fab_verify(m, d));
  fab_diag_print(d, stderr);
  fab_diag_free(d);
  /* Every opcode of the table is exercised. */
  bool seen[FAB_OP_COUNT] = {false};
  for (int k = 0; k < m->nfuncs; k++)
    for (int i = 0; i < m->funcs[k]->nops; i++) seen[m->funcs[k]->ops[i].code] = true;
  for (int c = 0; c < FAB_OP_COUNT; c++)
    if (!seen[c]) {
      fprintf(stderr, "sample module lacks op %s\n", fab_opinfos[c].name);
      check_failures++;
    }

  fab_module *back;
  char *s = round_trip(m, 0, &back);
  CHECK(strncmp(s, "module @small_fabnet\n\nparam @\"embed.weight\" : f32[50,64] = normal(0, 1)\n", 71) == 0);
  CHECK(strstr(s, "param @\"layers.0.ffn.fc1.twiddle\" : f32[2,1,6,32,2,2] = normal(0, 0.70710678118654757)\n"));
  CHECK(strstr(s, "param @\"layers.0.ffn.fc1.bias\" : f32[128] = uniform(-0.125, 0.125)\n"));
  CHECK(strstr(s, "param @\"norm.weight\" : f32[64] = ones\n"));
  CHECK(strstr(s, "\nfunc @main {\n  %0 = input {index = 0, name = \"tokens\"} : i32[16]\n"));
  CHECK(strstr(s, "  %5 = bfly.linear %2, %3, %4 {in = 64, increasing = 0, nblocks = 1, out = 128} : f32[16,128]\n"));
  CHECK(strstr(s, "{eps = 1.0000000000000001e-05, hint.tile = [4, 16], plan.offset = 4096} : f32[16,64]\n"));
  CHECK(strstr(s, "{factor = 2.0} : f32[16,2,64]\n"));
  CHECK(strstr(s, "{stages = [0, 0, 5, 0, 1, 4]}"));
  CHECK(strstr(s, "= const {value = -0.0} : f32[64]\n"));
  CHECK(strstr(s, "{hint.empty = [], hint.note = \"a \\\"quoted\\\"\\\\ line\\n\\twith \\x01 bytes \\xc3\\xa9\", "
                  "plan.big = -inf, plan.special = nan, plan.tiny = 4.9406564584124654e-324, value = 1.0000000000000001e+300} : f32[]\n"));
  CHECK(strstr(s, "  output %39 {index = 0, name = \"out\"}\n"));
  CHECK(strstr(s, "  %34 = fft.chirp %31 {axis = 1, n = 20, spectrum = 1} : c64[16,64]\n"));
  CHECK(strstr(s, "\nfunc @\"aux fn\" {\n  %0 = input {index = 0, name = \"a b\"} : f32[]\n"));
  CHECK(s[strlen(s) - 2] == '}' && s[strlen(s) - 1] == '\n');
  free(s);

  /* Values survive exactly (not just their text). */
  if (back) {
    fab_func *f = fab_module_main(back);
    const fab_op *c2 = &f->ops[f->nops - 4];
    CHECK(c2->code == FAB_OP_CONST);
    CHECK(fab_op_float(c2, "value", 0) == 1e300);
    CHECK(isnan(fab_op_float(c2, "plan.special", 0)));
    CHECK(fab_op_float(c2, "plan.tiny", 0) == 5e-324);
    const fab_op *c1 = &f->ops[f->nops - 5];
    CHECK(signbit(fab_op_float(c1, "value", 1)));
    CHECK(back->params[1].init.b == 0.70710678118654757);
    fab_module_free(back);
  }

  /* With locations: every op carries one, and they come back.  (An op
   * without one gets its position in the IR text when parsed.) */
  for (int k = 0; k < m->nfuncs; k++)
    for (int i = 0; i < m->funcs[k]->nops; i++)
      m->funcs[k]->ops[i].loc = (fab_loc){"models/small \"x\".fab", i + 10, 3};
  s = round_trip(m, FAB_PRINT_LOCS, &back);
  CHECK(strstr(s, "  %2 = embed %0, %1 : f32[16,64] loc(\"models/small \\\"x\\\".fab\":12:3)\n"));
  if (back) {
    const fab_op *op = &fab_module_main(back)->ops[7];
    CHECK(op->loc.file && strcmp(op->loc.file, "models/small \"x\".fab") == 0);
    CHECK(op->loc.line == 17 && op->loc.col == 3);
    fab_module_free(back);
  }
  free(s);
  fab_module_free(m);
}

/* Text written by hand: other value names, comments, blank lines. */
static void test_hand_written(void) {
  static const char text[] =
      "// a comment line\n"
      "module @\"hand\"   // trailing comment\n"
      "\n"
      "param @w : f32[4,8] = uniform(-1, 1)\n"
      "func @main {\n"
      "\n"
      "  %x = input {name = \"x\", index = 0} : f32[2,8]\n"
      "  %w = weight {name = \"w\"} : f32[4,8]\n"
      "  %y = dense %x, %w : f32[2,4]   // dense\n"
      "  output %y {name = \"y\", index = 0} loc(\"a.fab\":3:4)\n"
      "}\n";
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("hand.fir", text, sizeof text - 1, d);
  fab_diag_print(d, stderr);
  CHECK(m != NULL);
  if (m) {
    CHECK(fab_verify(m, d));
    char *s = fab_print_module_str(m, 0);
    CHECK_STR(s, "module @hand\n\nparam @\"w\" : f32[4,8] = uniform(-1, 1)\n\nfunc @main {\n"
                 "  %0 = input {index = 0, name = \"x\"} : f32[2,8]\n"
                 "  %1 = weight {name = \"w\"} : f32[4,8]\n"
                 "  %2 = dense %0, %1 : f32[2,4]\n"
                 "  output %2 {index = 0, name = \"y\"}\n}\n");
    free(s);
    const fab_func *f = fab_module_main(m);
    CHECK(f->ops[2].loc.line == 9 && f->ops[2].loc.col == 3);
    CHECK(f->ops[3].loc.line == 3 && f->ops[3].loc.col == 4);
    fab_module_free(m);
  }
  fab_diag_free(d);
}

/* fab_module_clone: the copy prints as the original did (locations too)
 * after the original is freed (nothing of it is shared: ASan would see a
 * use after free); out of memory at any allocation gives NULL, no leak. */
static void test_clone(void) {
  fab_module *m = sample_module();
  CHECK(m != NULL);
  if (!m) return;
  for (int i = 0; i < m->funcs[0]->nops; i++) m->funcs[0]->ops[i].loc = (fab_loc){"sample.fab", i + 1, 2};
  char *want = fab_print_module_str(m, FAB_PRINT_LOCS);
  fab_module *c = fab_module_clone(m);
  CHECK(c != NULL);
  char *mine = fab_print_module_str(m, FAB_PRINT_LOCS);
  fab_module_free(m);
  if (c) {
    char *got = fab_print_module_str(c, FAB_PRINT_LOCS);
    CHECK(strcmp(got, want) == 0 && strcmp(mine, want) == 0);
    CHECK(strstr(got, "loc(\"sample.fab\":3:2)") != NULL);
    CHECK(fab_module_find_param(c, "norm.weight") >= 0);
    free(got);
  }
  int fails = 0, n = 1;
  for (; n < 100000; n++) {
    fab_arena_test_fail_at(n);
    fab_module *c2 = fab_module_clone(c);
    long left = fab_arena_test_fail_at(0);
    fails += c2 == NULL;
    fab_module_free(c2);
    if (left > 0) break; /* the n-th allocation was never reached: every one was tried */
  }
  CHECK(fails == n - 1 && n > 10);
  fab_module_free(c);
  free(want);
  free(mine);
}

int main(void) {
  test_every_op();
  test_hand_written();
  test_clone();
  return check_report("ir.roundtrip");
}
