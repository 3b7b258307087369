/* frontend_unit.c — unit tests of the fab front end through its public
 * API: weight names and shapes, -D overrides, imports, every layer kind's
 * attributes, error recovery.  Usage: frontend_unit <examples-dir> [test] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

static int failures;
static const char *examples;

#define CHECK(c)                                                             \
  do {                                                                       \
    if (!(c)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      failures++;                                                            \
    }                                                                        \
  } while (0)

/* Compiles source text; prints diagnostics on failure when `expect_ok`. */
static fab_module *compile(const char *src, const fab_frontend_options *opt, fab_diag *d,
                           bool expect_ok) {
  fab_module *m = fab_frontend_compile_string("test.fab", src, strlen(src), opt, d);
  if (expect_ok && !m) fab_diag_print(d, stderr);
  return m;
}

static fab_module *compile_example(const char *name, const fab_frontend_options *opt,
                                   fab_diag *d) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", examples, name);
  fab_module *m = fab_frontend_compile_file(path, opt, d);
  if (!m) fab_diag_print(d, stderr);
  return m;
}

/* The parameter's type as text, or "" if absent. */
static const char *ptype(const fab_module *m, const char *name) {
  static char buf[128];
  int i = fab_module_find_param(m, name);
  if (i < 0) return "";
  return fab_type_str(&m->params[i].type, buf, sizeof buf);
}

static int count_ops(const fab_module *m, fab_opcode code) {
  const fab_func *f = fab_module_main(m);
  int n = 0;
  for (int i = 0; f && i < f->nops; i++) n += f->ops[i].code == code;
  return n;
}

static const fab_op *first_op(const fab_module *m, fab_opcode code) {
  const fab_func *f = fab_module_main(m);
  for (int i = 0; f && i < f->nops; i++)
    if (f->ops[i].code == code) return &f->ops[i];
  return NULL;
}

static void test_tiny_names(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = compile_example("tiny.fab", NULL, d);
  CHECK(m);
  if (m) {
    static const char *want[][2] = {
        {"embed.weight", "f32[32,16]"},
        {"pos.weight", "f32[16,16]"},
        {"layers.0.norm1.weight", "f32[16]"},
        {"layers.0.norm1.bias", "f32[16]"},
        {"layers.0.ffn.fc1.twiddle", "f32[2,1,4,8,2,2]"},
        {"layers.0.ffn.fc1.bias", "f32[32]"},
        {"layers.0.ffn.fc2.twiddle", "f32[1,1,5,16,2,2]"},
        {"layers.0.ffn.fc2.bias", "f32[16]"},
        {"layers.0.norm2.weight", "f32[16]"},
        {"layers.0.norm2.bias", "f32[16]"},
        {"layers.1.attn.q.twiddle", "f32[1,1,4,8,2,2]"},
        {"layers.1.attn.k.bias", "f32[16]"},
        {"layers.1.attn.v.twiddle", "f32[1,1,4,8,2,2]"},
        {"layers.1.attn.o.bias", "f32[16]"},
        {"layers.1.ffn.fc2.twiddle", "f32[1,1,5,16,2,2]"},
        {"layers.1.norm2.bias", "f32[16]"},
        {"head.weight", "f32[4,16]"},
        {"head.bias", "f32[4]"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
      if (strcmp(ptype(m, want[i][0]), want[i][1]) != 0)
        fprintf(stderr, "  %s: got '%s', want %s\n", want[i][0], ptype(m, want[i][0]), want[i][1]);
      CHECK(strcmp(ptype(m, want[i][0]), want[i][1]) == 0);
    }
    CHECK(m->nparams == 28);
    CHECK(strcmp(m->name, "tiny") == 0);
    CHECK(count_ops(m, FAB_OP_MHA) == 1);
    CHECK(count_ops(m, FAB_OP_BFLY_LINEAR) == 8);
    CHECK(count_ops(m, FAB_OP_FOURIER_MIX) == 1);
    CHECK(count_ops(m, FAB_OP_LAYERNORM) == 4);
    const fab_op *in = first_op(m, FAB_OP_INPUT), *out = first_op(m, FAB_OP_OUTPUT);
    CHECK(in && strcmp(fab_op_str(in, "name", ""), "tokens") == 0 && in->type.dtype == FAB_I32);
    CHECK(out && strcmp(fab_op_str(out, "name", ""), "logits") == 0 && fab_op_int(out, "index", -1) == 0);
    const fab_op *att = first_op(m, FAB_OP_MHA);
    CHECK(att && fab_op_int(att, "heads", 0) == 2);
    CHECK(att && att->loc.line == 34 && strstr(att->loc.file, "lib/blocks.fab"));
    CHECK(fab_verify(m, d));
    /* every op carries the place in the source that made it */
    const fab_func *f = fab_module_main(m);
    int located = 0;
    for (int i = 0; f && i < f->nops; i++) located += f->ops[i].loc.file && f->ops[i].loc.line > 0;
    CHECK(f && located == f->nops);
  }
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_preln_and_transformer(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = compile_example("tiny_preln.fab", NULL, d);
  CHECK(m && strcmp(ptype(m, "norm.weight"), "f32[16]") == 0);
  CHECK(m && strcmp(ptype(m, "layers.1.attn.q.twiddle"), "f32[1,1,4,8,2,2]") == 0);
  fab_module_free(m);
  m = compile_example("transformer_text.fab", NULL, d);
  CHECK(m && strcmp(ptype(m, "layers.1.attn.q.weight"), "f32[64,64]") == 0);
  CHECK(m && strcmp(ptype(m, "layers.0.ffn.fc1.weight"), "f32[128,64]") == 0);
  CHECK(m && strcmp(ptype(m, "layers.0.ffn.fc2.bias"), "f32[64]") == 0);
  CHECK(m && count_ops(m, FAB_OP_BFLY_LINEAR) == 0 && count_ops(m, FAB_OP_DENSE) == 2 * 6 + 1);
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_defines(void) {
  fab_diag *d = fab_diag_new();
  fab_define defs[] = {{"d", 32}, {"seq", 8}};
  fab_frontend_options opt = {.defines = defs, .ndefines = 2};
  fab_module *m = compile_example("tiny.fab", &opt, d);
  CHECK(m && strcmp(ptype(m, "embed.weight"), "f32[32,32]") == 0);
  CHECK(m && strcmp(ptype(m, "pos.weight"), "f32[8,32]") == 0);
  fab_module_free(m);
  /* -D of an unknown dim is an error */
  fab_define bad[] = {{"nosuch", 3}};
  opt = (fab_frontend_options){.defines = bad, .ndefines = 1};
  m = compile_example("tiny.fab", &opt, d);
  CHECK(!m && fab_diag_error_count(d) == 1);
  CHECK(d && strstr(fab_diag_message(d, 0), "nosuch"));
  fab_diag_free(d);
  /* the BERT variant switch: last two layers ABfly */
  d = fab_diag_new();
  fab_define ab[] = {{"abfly_layers", 2}, {"seq", 256}};
  opt = (fab_frontend_options){.defines = ab, .ndefines = 2};
  m = compile_example("fabnet_base.fab", &opt, d);
  CHECK(m && count_ops(m, FAB_OP_MHA) == 2 && count_ops(m, FAB_OP_FOURIER_MIX) == 10);
  CHECK(m && strcmp(ptype(m, "layers.11.attn.o.twiddle"), "f32[1,1,10,512,2,2]") == 0);
  CHECK(m && strcmp(ptype(m, "layers.9.ffn.fc1.twiddle"), "f32[3,1,10,512,2,2]") == 0);
  CHECK(m && strcmp(ptype(m, "pos.weight"), "f32[512,768]") == 0 && count_ops(m, FAB_OP_SLICE) == 1);
  CHECK(m && count_ops(m, FAB_OP_TAKE) == 1);
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_import_include_dirs(void) {
  char lib[1024];
  snprintf(lib, sizeof lib, "%s/lib", examples);
  const char *dirs[] = {"/nonexistent", lib};
  fab_frontend_options opt = {.include_dirs = dirs, .ninclude_dirs = 2};
  fab_diag *d = fab_diag_new();
  /* imported twice (directly and again): read once, no redefinition */
  fab_module *m = compile("import \"blocks.fab\";\nimport \"blocks.fab\";\n"
                          "dim s = 8;\n"
                          "model m(x: f32[s, 16]) -> (y: f32[s, 16]) {\n"
                          "  y = fbfly(x, 16) as l;\n"
                          "  y = fabnet_layer(y, 32, 2, 1) as l2;\n"
                          "}\n",
                          &opt, d, true);
  CHECK(m && strcmp(ptype(m, "l.ffn.fc1.twiddle"), "f32[1,1,4,8,2,2]") == 0);
  CHECK(m && strcmp(ptype(m, "l2.attn.q.twiddle"), "f32[1,1,4,8,2,2]") == 0);
  CHECK(m && strcmp(ptype(m, "l2.ffn.fc1.twiddle"), "f32[2,1,4,8,2,2]") == 0);
  fab_module_free(m);
  m = compile("import \"blocks.fab\";\nmodel m(x: f32[2]) -> (y: f32[2]) { y = x; }\n", NULL, d, false);
  CHECK(!m && fab_diag_error_count(d) == 1 && strstr(fab_diag_message(d, 0), "cannot find"));
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_layer_kinds(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = compile(
      "dim s = 4;\n"
      "model m(x: f32[s, 12], t: i32[s]) -> (a: f32[s, 10], b: f32[s, 20], c: f32[12], e: f32[s, 12], f: f32[s, 6]) {\n"
      "  a = bfly(x, 10, increasing = true, nblocks = 2) as p;\n"
      "  b = bfly(relu(x), 20, bias = false) as q;\n"
      "  c = take(softmax(x, scale = 0.5), 3);\n"
      "  e = layernorm(gelu(x, approx = \"tanh\"), eps = 1e-6, affine = false) * scale(x, 2);\n"
      "  f = linear(x - 0 * 1 + x, 6, bias = false) as r;\n"
      "}\n",
      NULL, d, false);
  /* x - 0 * 1 mixes a tensor and an integer: one error, nothing else */
  CHECK(!m && fab_diag_error_count(d) == 1 && strstr(fab_diag_message(d, 0), "cannot combine"));
  fab_diag_clear(d);
  m = compile("dim s = 4;\n"
              "model m(x: f32[s, 12], t: i32[s]) -> (a: f32[s, 10], b: f32[s, 20], c: f32[12], e: f32[s, 12], f: f32[s, 6], g: f32[s, 8]) {\n"
              "  a = bfly(x, 10, increasing = true, nblocks = 2) as p;\n"
              "  b = bfly(relu(x), 20, bias = false) as q;\n"
              "  c = take(softmax(x, scale = 0.5), 3);\n"
              "  e = layernorm(gelu(x, approx = \"tanh\"), eps = 1e-6, affine = false) * scale(x, 2);\n"
              "  f = linear(x + x, 6, bias = false) as r;\n"
              "  g = embed(t, 100, 8) as emb.{2 * 3}.z;\n"
              "}\n",
              NULL, d, true);
  CHECK(m);
  if (m) {
    CHECK(strcmp(ptype(m, "p.twiddle"), "f32[1,2,4,8,2,2]") == 0);
    CHECK(strcmp(ptype(m, "p.bias"), "f32[10]") == 0);
    CHECK(strcmp(ptype(m, "q.twiddle"), "f32[2,1,4,8,2,2]") == 0);
    CHECK(fab_module_find_param(m, "q.bias") < 0);
    CHECK(strcmp(ptype(m, "r.weight"), "f32[6,12]") == 0 && fab_module_find_param(m, "r.bias") < 0);
    CHECK(strcmp(ptype(m, "emb.6.z.weight"), "f32[100,8]") == 0);
    const fab_op *b = first_op(m, FAB_OP_BFLY_LINEAR);
    CHECK(b && fab_op_int(b, "increasing", -1) == 1 && fab_op_int(b, "nblocks", -1) == 2 &&
          fab_op_int(b, "in", -1) == 12 && fab_op_int(b, "out", -1) == 10);
    const fab_op *g = first_op(m, FAB_OP_GELU);
    CHECK(g && strcmp(fab_op_str(g, "approx", ""), "tanh") == 0);
    const fab_op *sm = first_op(m, FAB_OP_SOFTMAX);
    CHECK(sm && fab_op_float(sm, "scale", 0) == 0.5);
    const fab_op *ln = first_op(m, FAB_OP_LAYERNORM);
    CHECK(ln && fab_op_float(ln, "eps", 0) == 1e-6);
    CHECK(count_ops(m, FAB_OP_CONST) == 2 && count_ops(m, FAB_OP_MUL) == 1);
    CHECK(count_ops(m, FAB_OP_OUTPUT) == 6);
  }
  fab_module_free(m);
  fab_diag_free(d);
}

/* mask = m and causal = 1 on mha, meanpool and softmax: the i32 mask
 * input becomes the ops' last operand, causal their attribute. */
static void test_masks(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = compile("model m(x: f32[2, 8, 16], mask: i32[2, 8], s: f32[2, 8, 8])\n"
                          "    -> (y: f32[2, 16], z: f32[2, 8, 16], w: f32[2, 8, 8]) {\n"
                          "  y = meanpool(mha(x, 2, mask = mask, causal = 1) as att, mask = mask);\n"
                          "  z = mha(x, 2, proj = \"dense\") as plain;\n"
                          "  w = softmax(s, 0.5, mask = mask, causal = 1);\n"
                          "}\n",
                          NULL, d, true);
  CHECK(m);
  if (m) {
    const fab_func *f = fab_module_main(m);
    int masked_mha = 0, plain_mha = 0;
    for (int i = 0; i < f->nops; i++) {
      const fab_op *o = &f->ops[i];
      bool mask_last = o->noperands > 0 && f->ops[o->operands[o->noperands - 1]].type.dtype == FAB_I32;
      if (o->code == FAB_OP_MHA && o->noperands == 4 && mask_last && fab_op_int(o, "causal", 0) == 1) masked_mha++;
      if (o->code == FAB_OP_MHA && o->noperands == 3 && fab_op_int(o, "causal", 0) == 0) plain_mha++;
      if (o->code == FAB_OP_MEANPOOL) CHECK(o->noperands == 2 && mask_last);
      if (o->code == FAB_OP_SOFTMAX)
        CHECK(o->noperands == 2 && mask_last && fab_op_int(o, "causal", 0) == 1 && fab_op_float(o, "scale", 0) == 0.5);
    }
    CHECK(masked_mha == 1 && plain_mha == 1);
    CHECK(count_ops(m, FAB_OP_MEANPOOL) == 1 && count_ops(m, FAB_OP_SOFTMAX) == 1);
  }
  fab_module_free(m);
  fab_diag_free(d);
}

/* choose (k) elaborates candidate k only: its layers, its names. */
static void test_choose(void) {
  const char *src = "dim kind = 0;\n"
                    "block ffn(x: f32[s, d]) -> f32[s, d] {\n"
                    "  return choose (kind) { bfly(x, d) as fc; linear(x, d) as fc; relu(x); };\n"
                    "}\n"
                    "model m(x: f32[4, 8]) -> (y: f32[4, 8]) { y = ffn(x) as ffn; }\n";
  fab_diag *d = fab_diag_new();
  fab_module *m = compile(src, NULL, d, true);
  CHECK(m && strcmp(ptype(m, "ffn.fc.twiddle"), "f32[1,1,3,4,2,2]") == 0 && m->nparams == 2);
  fab_module_free(m);
  fab_define k1[] = {{"kind", 1}};
  fab_frontend_options opt = {.defines = k1, .ndefines = 1};
  m = compile(src, &opt, d, true);
  CHECK(m && strcmp(ptype(m, "ffn.fc.weight"), "f32[8,8]") == 0 && count_ops(m, FAB_OP_BFLY_LINEAR) == 0);
  fab_module_free(m);
  fab_define k2[] = {{"kind", 2}};
  opt.defines = k2;
  m = compile(src, &opt, d, true);
  CHECK(m && m->nparams == 0 && count_ops(m, FAB_OP_RELU) == 1);
  fab_module_free(m);
  fab_diag_free(d);
}

static void test_recovery(void) {
  fab_diag *d = fab_diag_new();
  fab_module *m = compile("dim a = ;\n"
                          "dim b = 3 +* 2;\n"
                          "block f(x: f32[n]) -> f32[n] { y = ; return x; }\n"
                          "model m(x: f32[4]) -> (y: f32[4]) { y = relu(x) }\n",
                          NULL, d, false);
  CHECK(!m && fab_diag_error_count(d) == 4);
  fab_module_free(m);
  fab_diag_free(d);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: frontend_unit <examples-dir> [test]\n");
    return 2;
  }
  examples = argv[1];
  static const struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {
      {"names", test_tiny_names},       {"preln", test_preln_and_transformer},
      {"defines", test_defines},        {"import", test_import_include_dirs},
      {"layers", test_layer_kinds},     {"recovery", test_recovery},
      {"choose", test_choose},          {"masks", test_masks},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
    if (argc < 3 || strcmp(argv[2], tests[i].name) == 0) tests[i].fn();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
