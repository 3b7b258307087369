/* test_codegen.c — every golden model (tests/golden/cases/ *.fir): the
 * fpga pipeline, the code generator, the .fbin round trip and the
 * simulator against the reference interpreter on the original module.
 * fp32: rtol 1e-4 of the output's largest magnitude; fp16: 5e-2 (the
 * documented bound for these shallow models, docs/fpga.md).  fourier_12_20
 * (non-power-of-two axes) runs the exact `dft` on the matrix unit.  Also
 * resources for every configuration. */
#include <dirent.h>

#include "codegen.h"
#include "fpga_test.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

/* Called on the bound inputs before a run, when set (the masks model). */
static void (*g_tweak_inputs)(fab_tensor_set *is);

/* Returns the max |sim - ref| / max |ref| over outputs, or -1 on failure. */
static double run_case(const char *path, const fab_fpga_config *c, fab_fpga_report *rep, bool print) {
  size_t n;
  char *text = fpga_test_slurp(path, &n);
  if (!text) return -1;
  fab_diag *d = fab_diag_new();
  fab_module *ref = fab_parse_module(path, text, n, d), *low = fab_parse_module(path, text, n, d);
  free(text);
  double worst = -1;
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *ro = fab_tset_new(), *so = fab_tset_new();
  fab_fpga_program *p = NULL, *q = NULL;
  if (!ref || !low) goto out;
  if (!fab_bind_init_weights(ref, 1, ws, d) || !fab_bind_init_inputs(ref, 2, is, d)) goto out;
  if (g_tweak_inputs) g_tweak_inputs(is);
  if (!fab_interp_run(ref, ws, is, ro, d)) goto out;
  fab_target_config tcfg = {.accel_config = c};
  if (!fab_target_lower(fab_target_find("fpga"), &tcfg, low, NULL, NULL, d)) goto out;
  p = fab_fpga_codegen(low, c, d);
  if (!p) goto out;
  uint8_t *bin;
  size_t blen;
  char err[256];
  if (fab_fpga_fbin_to_mem(p, &bin, &blen, err, sizeof err)) goto out;
  fab_status st = fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err);
  free(bin);
  if (st) {
    fprintf(stderr, "%s: fbin: %s\n", path, err);
    goto out;
  }
  { /* objdump -> as reproduces the program (constant tensors included) */
    err[0] = 0;
    char *txt = NULL;
    size_t tl = 0;
    FILE *mf = open_memstream(&txt, &tl);
    fab_fpga_program *a = NULL;
    if (mf) {
      fab_fpga_objdump(q, mf);
      fclose(mf);
    }
    bool same = txt && !fab_fpga_assemble(txt, tl, &a, err, sizeof err) && a->ninsn == q->ninsn &&
                a->ntensors == q->ntensors && !memcmp(a->code, q->code, q->ninsn * FAB_FPGA_INSN_BYTES);
    for (int i = 0; same && i < q->ntensors; i++)
      same = a->tensors[i].kind == q->tensors[i].kind && !strcmp(a->tensors[i].name, q->tensors[i].name);
    CHECK(same, "%s: objdump -> as round trip differs (%s)", path, err);
    fab_fpga_program_free(a);
    free(txt);
  }
  if ((st = fab_fpga_sim_run(q, c, ws, is, so, NULL, rep, err, sizeof err))) {
    fprintf(stderr, "%s: sim: %s\n", path, err);
    goto out;
  }
  worst = 0;
  for (int i = 0; i < ro->count; i++) {
    fab_tensor *a = &ro->items[i], *b = fab_tset_find(so, a->name);
    if (!b || b->nbytes != a->nbytes) {
      fprintf(stderr, "%s: output %s missing or misshaped\n", path, a->name);
      worst = -1;
      goto out;
    }
    const float *x = a->data, *y = b->data;
    double mx = 1e-30, e = 0;
    for (int64_t k = 0; k < fab_tensor_numel(a); k++) {
      mx = fmax(mx, fabs(x[k]));
      e = fmax(e, fabs((double)x[k] - y[k]));
    }
    worst = fmax(worst, e / mx);
  }
  if (print)
    printf("%-28s %-6s mem %8llu  insns %6zu  cycles %9llu  latency %.4f ms  engine util %5.1f%%  BU util %5.1f%%  "
           "rel err %.2e\n", strrchr(path, '/') + 1, c->fp16 ? "fp16" : "fp32", (unsigned long long)q->mem_words, q->ninsn,
           (unsigned long long)rep->total_cycles, rep->latency_ms, 100 * rep->engine_util, 100 * rep->bu_util, worst);
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_fpga_program_free(p);
  fab_fpga_program_free(q);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_tset_free(ro);
  fab_tset_free(so);
  if (ref) fab_module_free(ref);
  if (low) fab_module_free(low);
  fab_diag_free(d);
  return worst;
}

/* The instruction scheduler only reorders: the same case compiled in the
 * emitted order and in the scheduled order (forced, so it is exercised even
 * where its estimate would keep the emitted order) gives bit-identical
 * outputs.  Returns 1 if the orders differ, 0 if not, -1 on a failure. */
static int schedule_same(const char *path, const fab_fpga_config *c) {
  size_t n;
  char *text = fpga_test_slurp(path, &n);
  if (!text) return -1;
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module(path, text, n, d);
  free(text);
  int result = -1;
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *out[2] = {fab_tset_new(), fab_tset_new()};
  fab_fpga_program *p[2] = {NULL, NULL};
  fab_target_config tcfg = {.accel = "vcu128-be40"};
  char err[256];
  if (!m || !fab_bind_init_weights(m, 1, ws, d) || !fab_bind_init_inputs(m, 2, is, d) ||
      !fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d))
    goto out;
  for (int k = 0; k < 2; k++) {
    fab_fpga_codegen_opts o = {.schedule = k ? 1 : -1};
    p[k] = fab_fpga_codegen_ex(m, c, &o, d);
    if (!p[k] || fab_fpga_sim_run(p[k], c, ws, is, out[k], NULL, NULL, err, sizeof err)) goto out;
  }
  bool same = out[0]->count == out[1]->count;
  for (int i = 0; same && i < out[0]->count; i++) {
    const fab_tensor *a = &out[0]->items[i], *b = fab_tset_find(out[1], a->name);
    same = b && a->nbytes == b->nbytes && !memcmp(a->data, b->data, a->nbytes);
  }
  CHECK(same, "%s: the scheduled program computes different outputs", path);
  result = p[0]->ninsn == p[1]->ninsn && memcmp(p[0]->code, p[1]->code, p[0]->ninsn * FAB_FPGA_INSN_BYTES);
out:
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  for (int k = 0; k < 2; k++) {
    fab_fpga_program_free(p[k]);
    fab_tset_free(out[k]);
  }
  fab_tset_free(ws);
  fab_tset_free(is);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return result;
}

/* Ops the golden models do not reach: relu, scale, mul, softmax, plain
 * matmul, transpose, const, pad, take, meanpools longer than a VM half
 * (chunked; 4096 x 256 needs means of groups of chunk means on `small`),
 * and the dft kinds: complex rows along the last axis ("dft.c" table, the
 * complex is used twice so it is not folded), mixed radix 96 = 3 x 32 on
 * real (folded) and complex rows, dense real rows of odd length 7, and
 * attention whose keys do not fit a VM half of `small` (2 x 1000 x 32:
 * key blocks of 128 through attns/attnm, a short last block, two query
 * tiles per head). */
static const char *ops_text =
    "module @ops\n"
    "param @\"w\" : f32[8,16] = normal(0.0, 1.0)\n"
    "func @main {\n"
    "  %0 = input {index = 0, name = \"x\"} : f32[2,4,8]\n"
    "  %1 = relu %0 : f32[2,4,8]\n"
    "  %2 = scale %1 {factor = 0.5} : f32[2,4,8]\n"
    "  %3 = mul %2, %0 : f32[2,4,8]\n"
    "  %4 = softmax %3 {scale = 2.0} : f32[2,4,8]\n"
    "  %5 = weight {name = \"w\"} : f32[8,16]\n"
    "  %6 = reshape %4 {shape = [8, 8]} : f32[8,8]\n"
    "  %7 = matmul %6, %5 : f32[8,16]\n"
    "  %8 = transpose %7 {perm = [1, 0]} : f32[16,8]\n"
    "  %9 = const {value = 0.25} : f32[16,8]\n"
    "  %10 = add %8, %9 : f32[16,8]\n"
    "  %11 = pad %10 {axis = 1, size = 12} : f32[16,12]\n"
    "  %12 = reshape %11 {shape = [2, 8, 12]} : f32[2,8,12]\n"
    "  %13 = take %12 {index = 3} : f32[2,12]\n"
    "  %14 = meanpool %12 : f32[2,12]\n"
    "  %15 = input {index = 1, name = \"z\"} : f32[1,1024,64]\n"
    "  %16 = meanpool %15 : f32[1,64]\n"
    "  %17 = input {index = 2, name = \"u\"} : f32[6,10]\n"
    "  %18 = complex %17 : c64[6,10]\n"
    "  %19 = dft %18 {axis = 1} : c64[6,10]\n"
    "  %20 = dft %19 {axis = 0} : c64[6,10]\n"
    "  %21 = real %20 : f32[6,10]\n"
    "  %22 = real %18 : f32[6,10]\n"
    "  %23 = add %21, %22 : f32[6,10]\n"
    "  output %13 {index = 0, name = \"a\"}\n"
    "  output %14 {index = 1, name = \"b\"}\n"
    "  output %16 {index = 2, name = \"c\"}\n"
    "  %24 = input {index = 3, name = \"z2\"} : f32[1,4096,256]\n"
    "  %25 = meanpool %24 : f32[1,256]\n"
    "  output %23 {index = 3, name = \"d\"}\n"
    "  %26 = input {index = 4, name = \"v\"} : f32[5,96]\n"
    "  %27 = complex %26 : c64[5,96]\n"
    "  %28 = dft %27 {axis = 1} : c64[5,96]\n"
    "  %29 = real %28 : f32[5,96]\n"
    "  %30 = complex %29 : c64[5,96]\n"
    "  %31 = dft %30 {axis = 1} : c64[5,96]\n"
    "  %32 = real %31 : f32[5,96]\n"
    "  %33 = real %30 : f32[5,96]\n"
    "  %34 = add %32, %33 : f32[5,96]\n"
    "  %35 = input {index = 5, name = \"w7\"} : f32[3,7]\n"
    "  %36 = complex %35 : c64[3,7]\n"
    "  %37 = dft %36 {axis = 1} : c64[3,7]\n"
    "  %38 = real %37 : f32[3,7]\n"
    "  output %25 {index = 4, name = \"e\"}\n"
    "  output %34 {index = 5, name = \"f\"}\n"
    "  output %38 {index = 6, name = \"g\"}\n"
    "  %39 = input {index = 6, name = \"aq\"} : f32[2,300,32]\n"
    "  %40 = input {index = 7, name = \"ak\"} : f32[2,1000,32]\n"
    "  %41 = input {index = 8, name = \"av\"} : f32[2,1000,32]\n"
    "  %42 = attention %39, %40, %41 {block = 1, scale = 0.17} : f32[2,300,32]\n"
    "  output %42 {index = 7, name = \"h\"}\n"
    "}\n";

/* Masks (docs/fpga.md): pmask + masked PPU softmax (mask, causal, both),
 * amask + masked attn (whole keys, mask and causal), attns/attnm key
 * blocks with a mask, and causal key blocks that stop at the diagonal.
 * The first row of every mask is all padding (g_tweak_inputs), so rows
 * with no key left (zeros) are exercised too. */
static const char *masks_text =
    "module @masks\n"
    "func @main {\n"
    "  %0 = input {index = 0, name = \"x\"} : f32[2,3,6,6]\n"
    "  %1 = input {index = 1, name = \"m6\"} : i32[2,6]\n"
    "  %2 = softmax %0, %1 {causal = 1, scale = 0.5} : f32[2,3,6,6]\n"
    "  %3 = softmax %0, %1 {scale = 2.0} : f32[2,3,6,6]\n"
    "  %4 = softmax %0 {causal = 1} : f32[2,3,6,6]\n"
    "  %5 = input {index = 2, name = \"aq\"} : f32[2,300,32]\n"
    "  %6 = input {index = 3, name = \"ak\"} : f32[2,1000,32]\n"
    "  %7 = input {index = 4, name = \"m1000\"} : i32[2,1000]\n"
    "  %8 = attention %5, %6, %6, %7 {block = 1, scale = 0.17} : f32[2,300,32]\n"
    "  %9 = input {index = 5, name = \"cq\"} : f32[1,2,1000,32]\n"
    "  %10 = input {index = 6, name = \"mc\"} : i32[1,1000]\n"
    "  %11 = attention %9, %9, %9, %10 {block = 1000, causal = 1, scale = 0.2} : f32[1,2,1000,32]\n"
    "  %12 = input {index = 7, name = \"wq\"} : f32[2,2,8,16]\n"
    "  %13 = input {index = 8, name = \"m8\"} : i32[2,8]\n"
    "  %14 = attention %12, %12, %12, %13 {block = 8, causal = 1, scale = 0.25} : f32[2,2,8,16]\n"
    "  %15 = attention %12, %12, %12 {block = 8, causal = 1, scale = 0.25} : f32[2,2,8,16]\n"
    "  output %2 {index = 0, name = \"a\"}\n"
    "  output %3 {index = 1, name = \"b\"}\n"
    "  output %4 {index = 2, name = \"c\"}\n"
    "  output %8 {index = 3, name = \"d\"}\n"
    "  output %11 {index = 4, name = \"e\"}\n"
    "  output %14 {index = 5, name = \"f\"}\n"
    "  output %15 {index = 6, name = \"g\"}\n"
    "}\n";

static void pad_first_rows(fab_tensor_set *is) {
  for (int i = 0; i < is->count; i++) {
    fab_tensor *t = &is->items[i];
    if (t->dtype != FAB_DT_I32 || t->rank < 1) continue;
    int64_t n = t->dims[t->rank - 1];
    for (int64_t j = 0; j < n; j++) ((int32_t *)t->data)[j] = 0;
  }
}

/* The masks model through sim vs interp (fp32 and fp16), and .fbin
 * versions: 2 with mask instructions, 1 without, and a version-1 file
 * holding mask instructions is refused. */
static void test_masks(void) {
  FILE *f = fopen("fpga_masks.fir", "w");
  if (f) {
    fputs(masks_text, f);
    fclose(f);
  }
  fab_fpga_config c = test_config("small"), h = c;
  h.fp16 = 1;
  fab_fpga_report rep;
  g_tweak_inputs = pad_first_rows;
  double r32 = run_case("./fpga_masks.fir", &c, &rep, true), r16 = run_case("./fpga_masks.fir", &h, &rep, true);
  g_tweak_inputs = NULL;
  CHECK(r32 >= 0 && r32 < 1e-4, "masks model fp32: rel error %g", r32);
  CHECK(r16 >= 0 && r16 < 5e-2, "masks model fp16: rel error %g", r16);
  const char *texts[2] = {masks_text, ops_text};
  for (int k = 0; k < 2; k++) {
    fab_diag *d = fab_diag_new();
    fab_module *m = fab_parse_module("t.fir", texts[k], strlen(texts[k]), d);
    fab_target_config tcfg = {.accel_config = &c};
    fab_fpga_program *p = m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d) ? fab_fpga_codegen(m, &c, d) : NULL;
    uint8_t *bin = NULL;
    size_t blen = 0;
    char err[256];
    CHECK(p && !fab_fpga_fbin_to_mem(p, &bin, &blen, err, sizeof err), "masks: compile %d", k);
    if (bin) {
      CHECK(bin[8] == (k == 0 ? 2 : 1), "masks: .fbin version %d for %s", bin[8], k ? "no masks" : "masks");
      if (k == 0) {
        bin[8] = 1;
        uint32_t crc = fab_fpga_crc32(bin, blen - 4);
        memcpy(bin + blen - 4, &crc, 4);
        fab_fpga_program *q = NULL;
        fab_status st = fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err);
        CHECK(st == FAB_E_VERSION && strstr(err, "mask"), "masks: version 1 with masks read as %d (%s)", st, err);
        fab_fpga_program_free(q);
      }
    }
    free(bin);
    fab_fpga_program_free(p);
    if (m) fab_module_free(m);
    if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
    fab_diag_free(d);
  }
  remove("fpga_masks.fir");
}

/* A program longer than the code generator's limit (the .fbin's 2^24
 * instructions; lowered here through the options) is an error naming the
 * limit, before the arrays grow: a model of 54 attention layers at seq 4096
 * used to take over 16 GB while compiling.  The same model compiles
 * without the low limit, and its length is what the limit is checked
 * against. */
static void test_insn_limit(void) {
  fab_fpga_config c = test_config("small");
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_parse_module("t.fir", ops_text, strlen(ops_text), d);
  fab_target_config tcfg = {.accel_config = &c};
  bool ok = m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d);
  fab_fpga_program *whole = ok ? fab_fpga_codegen(m, &c, d) : NULL;
  CHECK(whole && whole->ninsn > 20, "insn limit: the model does not compile to more than 20 instructions");
  if (whole) {
    fab_fpga_codegen_opts o = {.max_insns = whole->ninsn / 2};
    fab_diag *d2 = fab_diag_new();
    fab_fpga_program *cut = fab_fpga_codegen_ex(m, &c, &o, d2);
    const char *msg = fab_diag_error_count(d2) ? fab_diag_message(d2, 0) : NULL;
    char want[96];
    snprintf(want, sizeof want, "the program needs more than %zu instructions", o.max_insns);
    CHECK(!cut && msg && strstr(msg, want), "insn limit: no error at %zu instructions: %s", o.max_insns,
          msg ? msg : "");
    fab_fpga_program_free(cut);
    fab_diag_free(d2);
    o.max_insns = whole->ninsn; /* exactly enough */
    fab_fpga_program *fit = fab_fpga_codegen_ex(m, &c, &o, d);
    CHECK(fit && fit->ninsn == whole->ninsn, "insn limit: a program of exactly the limit fails");
    fab_fpga_program_free(fit);
  }
  fab_fpga_program_free(whole);
  if (m) fab_module_free(m);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  fab_diag_free(d);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "masks")) {
    test_masks();
    return g_fail ? 1 : 0;
  }
  test_masks();
  test_insn_limit();
  {
    FILE *f = fopen("fpga_ops.fir", "w");
    if (f) {
      fputs(ops_text, f);
      fclose(f);
    }
    fab_fpga_config c0 = test_config("small");
    fab_fpga_report rep;
    double r = run_case("./fpga_ops.fir", &c0, &rep, true);
    CHECK(r >= 0 && r < 1e-4, "ops model: rel error %g", r);
    remove("fpga_ops.fir");
  }
  { /* constant tables: names and shapes are checked, contents defined */
    fab_fpga_config k = test_config("small");
    const char *names[] = {"dft.r.7", "dft.r.7", "dft.q.7", "dft.x.96", "dft.x.96", "dft.c.5x"};
    int64_t dims[][2] = {{7, 14}, {7, 13}, {7, 14}, {576, 2}, {576, 16}, {10, 10}};
    bool good[] = {true, false, false, true, false, false};
    for (int i = 0; i < 6; i++) {
      fab_fpga_program *p = fab_fpga_program_new(&k);
      char err[256];
      p->mem_words = 16384;
      fab_fpga_program_add_tensor(p, names[i], FAB_FT_CONST, FAB_FD_F32, 2, dims[i], 0);
      bool ok = fab_fpga_program_check(p, err, sizeof err) == FAB_OK;
      CHECK(ok == good[i], "constant '%s' [%lld, %lld] check %d", names[i], (long long)dims[i][0],
            (long long)dims[i][1], ok);
      if (ok && i == 0) {
        float t[98];
        CHECK(!fab_fpga_const_fill(&p->tensors[0], t, err, sizeof err), "fill");
        /* T[j, 2k] = cos(2 pi jk / 7), T[j, 2k + 1] = -sin */
        CHECK(t[0] == 1 && t[1] == 0 && fabsf(t[14 + 2] - (float)cos(2 * M_PI / 7)) < 1e-7f &&
                  fabsf(t[14 + 3] + (float)sin(2 * M_PI / 7)) < 1e-7f, "dft.r.7 contents");
      }
      fab_fpga_program_free(p);
    }
  }
  fab_fpga_config c = test_config("small"), h = c;
  h.fp16 = 1;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/golden/cases", FAB_ROOT);
  DIR *dp = opendir(dir);
  CHECK(dp != NULL, "no golden cases at %s", dir);
  int ncases = 0;
  struct dirent *e;
  static char names[256][256];
  while (dp && (e = readdir(dp)) && ncases < 256) {
    size_t l = strlen(e->d_name);
    if (l > 4 && !strcmp(e->d_name + l - 4, ".fir")) { snprintf(names[ncases], 256, "%.200s", e->d_name); ncases++; }
  }
  if (dp) closedir(dp);
  const char *only = argc > 1 ? argv[1] : NULL;
  int nmoved = 0;
  for (int i = 0; i < ncases; i++) {
    if (only && !strstr(names[i], only)) continue;
    char path[1200];
    snprintf(path, sizeof path, "%.500s/%.250s", dir, names[i]);
    fab_fpga_report rep;
    double r32 = run_case(path, &c, &rep, true);
    CHECK(r32 >= 0 && r32 < 1e-4, "%s fp32: rel error %g", names[i], r32);
    double r16 = run_case(path, &h, &rep, true);
    CHECK(r16 >= 0 && r16 < 5e-2, "%s fp16: rel error %g", names[i], r16);
    int moved = schedule_same(path, &c);
    CHECK(moved >= 0, "%s: scheduling comparison failed", names[i]);
    nmoved += moved > 0;
  }
  printf("scheduler: %d of %d golden cases reordered, outputs bit-identical\n", nmoved, ncases);
  CHECK(only || nmoved > 0, "the scheduler reordered no golden case: the comparison tests nothing");
  const char *cfgs[] = {"vcu128-be40", "vcu128-be120", "zynq7045-be20", "small"};
  for (int i = 0; i < 4; i++) {
    fab_fpga_config k = test_config(cfgs[i]);
    fab_fpga_resources r;
    fab_fpga_resources_estimate(&k, &r);
    fab_fpga_resources_print(&r, &k, stdout);
    if (i < 3) CHECK(r.fits, "%s should fit its device", cfgs[i]);
  }
  return g_fail ? 1 : 0;
}
