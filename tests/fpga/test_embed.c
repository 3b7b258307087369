/* test_embed.c — the embedding in one post-processing pass (fpga-absorb
 * folds an embed into the row-wise op whose x it is, the gather being that
 * pass's load, and a contiguous slice such as the position table's first
 * rows into the pass that reads it): on the golden models with an
 * embedding + positions, in fp16 and fp32, the outputs are byte-identical
 * to the same program with those two folds taken back (the separate
 * gather, copy and add), with fewer off-chip bytes and cycles; on
 * zynq7045-be20 the position rows come through the coefficient port
 * (ld cp=1: version 5, VM loads only, timed on the coefficient stream). */
#include "fpga_case_run.h"

/* Counts the embed and position-slice folds (into ctx[0]) and, if ctx[1],
 * takes them back (the three-pass embedding; fpga-alloc plans again). */
static void count_unfold(fab_module *m, void *ctx) {
  int *k = ctx;
  fab_func *f = fab_module_main(m);
  for (int i = 0; i < f->nops; i++) {
    fab_op *op = &f->ops[i];
    bool pos = op->code == FAB_OP_SLICE && f->ops[op->operands[0]].code == FAB_OP_WEIGHT; /* not a store's truncation */
    if ((op->code == FAB_OP_EMBED || pos) && fab_fpga_folded(op)) {
      k[0]++;
      if (k[1]) fab_op_remove_attr(op, "fpga.fold");
    }
  }
}

/* Compiles case `name` (unfold: with the embedding's folds taken back),
 * simulates it into out; the program, NULL if it failed. */
static fab_fpga_program *compile_run(const char *name, bool unfold, const fab_fpga_config *c, fab_tensor_set *out,
                                     fab_fpga_report *rep, int *folds) {
  int k[2] = {0, unfold};
  fab_fpga_program *p = fpga_case_run(name, count_unfold, k, unfold ? "fpga-alloc" : NULL, c, out, rep);
  *folds = k[0];
  return p;
}

/* Loads with cp = 1 (through the coefficient port) in p. */
static size_t coef_port_loads(const fab_fpga_program *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (!fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) && in.op == FAB_I_LD && in.f[FAB_F_DMA_CP])
      n++;
  }
  return n;
}

/* ld cp=1: version 5, a VM load only, timed on the coefficient stream. */
static void coef_port_insn(void) {
  fab_fpga_config c = test_config("zynq7045-be20");
  fab_fpga_insn ld = fab_fpga_insn_make(FAB_I_LD);
  FAB_SET(&ld, DMA_BUF, FAB_BUF_VM);
  FAB_SET(&ld, DMA_ROWS, 4);
  FAB_SET(&ld, DMA_LEN, 64);
  FAB_SET(&ld, DMA_STRIDE, 64);
  FAB_SET(&ld, DMA_CP, 1);
  CHECK(fab_fpga_insn_cycles(&c, &ld) == 4 * 64 * 16 / (uint64_t)c.bw_coef, "ld cp=1: %llu cycles",
        (unsigned long long)fab_fpga_insn_cycles(&c, &ld));
  fab_fpga_program *p = fab_fpga_program_new(&c);
  p->mem_words = 4096;
  fab_fpga_program_push(p, &ld);
  char err[256] = "";
  CHECK(!fab_fpga_program_check(p, err, sizeof err), "ld cp=1 into the VM refused: %s", err);
  fpga_expect_version(p, 5, "coefficient port");
  fab_fpga_insn st = ld;
  st.op = FAB_I_ST;
  p = fab_fpga_program_new(&c);
  p->mem_words = 4096;
  fab_fpga_program_push(p, &st);
  fpga_expect_check(p, "cp (the coefficient port) is a feature of loads into the vector memory");
  FAB_SET(&ld, DMA_BUF, FAB_BUF_CB);
  p = fab_fpga_program_new(&c);
  p->mem_words = 4096;
  fab_fpga_program_push(p, &ld);
  fpga_expect_check(p, "cp (the coefficient port) is a feature of loads into the vector memory");
}

int main(void) {
  coef_port_insn();
  const char *cases[] = {"fabnet_small_post", "fabnet_small_pre", "fabnet_padded"};
  const char *configs[] = {"vcu128-be40", "vcu128-be40-fp32", "zynq7045-be20"};
  for (int k = 0; k < 3; k++)
    for (int ci = 0; ci < 3; ci++) {
      fab_fpga_config c = test_config(configs[ci]);
      fab_tensor_set *o[2] = {fab_tset_new(), fab_tset_new()};
      fab_fpga_report r[2];
      int folds[2];
      fab_fpga_program *p = compile_run(cases[k], false, &c, o[0], &r[0], &folds[0]);
      fab_fpga_program *q = compile_run(cases[k], true, &c, o[1], &r[1], &folds[1]);
      CHECK(p && q, "%s on %s: compiles with and without the embedding's folds", cases[k], configs[ci]);
      if (p && q) {
        CHECK(folds[0] == 2, "%s: %d embed/slice folds, expected the embed and the position slice", cases[k],
              folds[0]);
        CHECK(same_tensors(o[0], o[1]), "%s on %s: the embedding in one pass changes the outputs", cases[k],
              configs[ci]);
        /* the position rows through the coefficient port on the Zynq's DDR3
         * (as fast as its input port), not on the HBM boards (8x slower) */
        CHECK((coef_port_loads(p) > 0) == (ci == 2) && coef_port_loads(q) == 0, "%s on %s: %zu loads with cp=1",
              cases[k], configs[ci], coef_port_loads(p));
        uint64_t b0 = r[0].bytes_in + r[0].bytes_out, b1 = r[1].bytes_in + r[1].bytes_out;
        CHECK(b0 < b1 && r[0].total_cycles < r[1].total_cycles,
              "%s on %s: off-chip bytes %llu, cycles %llu in one pass; %llu, %llu in three", cases[k], configs[ci],
              (unsigned long long)b0, (unsigned long long)r[0].total_cycles, (unsigned long long)b1,
              (unsigned long long)r[1].total_cycles);
        printf("%-18s %-16s cycles %7llu -> %7llu  off-chip bytes %8llu -> %8llu\n", cases[k], configs[ci],
               (unsigned long long)r[1].total_cycles, (unsigned long long)r[0].total_cycles, (unsigned long long)b1,
               (unsigned long long)b0);
      }
      fab_fpga_program_free(p);
      fab_fpga_program_free(q);
      fab_tset_free(o[0]);
      fab_tset_free(o[1]);
    }
  if (g_fail) fprintf(stderr, "%d failure(s)\n", g_fail);
  return g_fail ? 1 : 0;
}
