/* test_layers.c — the report's butterfly-unit utilisation over the
 * butterfly layers and its roofline (sim/layers.c), and what keeps the
 * engines busy (issue 16): one FABNet layer compiled and simulated
 * (timing only; cycle counts, no wall clock).
 *   - the layers are the op's butterfly/FFT passes (4 per FBfly layer);
 *   - 128 rows on 120 engines: the last wave holds 8 rows, and the
 *     roofline says so (the engines' waves bound the layers near 53 %;
 *     fc1 is bound by its write-back stores, the store queue);
 *   - 4096-point rows (FABNet-Large's fc2) stream their stores: on
 *     vcu128-be40 at seq 512 the layers reach 97.3 % (85.6 % before);
 *   - the streamed tiles compute what the interpreter computes (rows that
 *     fill the `small` configuration's 512-word bank, four tiles);
 *   - the write-back's default per chain (fpga-absorb's cost rule);
 *   - FABNet-Base at seq 1024 on vcu128-be120: the scheduler times its
 *     orders with the queues' in-order retirement (codegen_sched.c). */
#include "fpga_example.h"
#include "interp.h"

static bool run(const char *version, const char *cfg, int seq, fab_fpga_report *r) {
  fab_fpga_config c;
  fab_fpga_program *p = fpga_compile_example(version, cfg, seq, 1, &c);
  char err[256];
  fab_fpga_sim_opts so = {.timing_only = true};
  bool ok = p && fab_fpga_sim_run(p, NULL, NULL, NULL, NULL, &so, r, err, sizeof err) == FAB_OK;
  CHECK(ok, "%s on %s at seq %d: %s", version, cfg, seq, p ? err : "no program");
  if (ok) {
    printf("\n== FABNet-%s, one layer, %s, seq %d ==\n", version, cfg, seq);
    fab_fpga_report_print(r, &c, stdout);
  }
  fab_fpga_program_free(p);
  return ok;
}

/* A 512 -> 512 butterfly over 16 rows on `small` (4 engines, 512-word
 * banks): one row per engine fills a bank, four tiles, streamed stores. */
static void streamed_rows_exact(void) {
  const char *text =
      "module @streamed\nparam @\"fc.twiddle\" : f32[1,1,9,256,2,2] = normal(0.0, 0.7071067811865475)\n"
      "func @main {\n  %0 = input {index = 0, name = \"x\"} : f32[1,16,512]\n"
      "  %1 = weight {name = \"fc.twiddle\"} : f32[1,1,9,256,2,2]\n"
      "  %2 = bfly.linear %0, %1 {in = 512, increasing = 0, nblocks = 1, out = 512} : f32[1,16,512]\n"
      "  output %2 {index = 0, name = \"y\"}\n}\n";
  fab_fpga_config c = test_config("small");
  fab_diag *d = fab_diag_new();
  fab_module *ref = fab_parse_module("streamed", text, strlen(text), d);
  fab_module *low = fab_parse_module("streamed", text, strlen(text), d);
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new(), *ro = fab_tset_new(), *so = fab_tset_new();
  fab_target_config tcfg = {.accel_config = &c};
  fab_fpga_program *p = NULL;
  if (ref && low && fab_bind_init_weights(ref, 1, ws, d) && fab_bind_init_inputs(ref, 2, is, d) &&
      fab_interp_run(ref, ws, is, ro, d) && fab_target_lower(fab_target_find("fpga"), &tcfg, low, NULL, NULL, d))
    p = fab_fpga_codegen(low, &c, d);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  CHECK(p != NULL, "compile the streamed butterfly");
  int chunked = 0;
  for (size_t i = 0; p && i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (!fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) && in.op == FAB_I_ST &&
        in.f[FAB_F_DMA_BUF] == FAB_BUF_BE && in.f[FAB_F_DMA_LEN] < 512)
      chunked++;
  }
  CHECK(chunked >= 8, "%d chunked stores: the tiles are not streamed", chunked);
  char err[256];
  fab_fpga_report r;
  bool ran = p && fab_fpga_sim_run(p, NULL, ws, is, so, NULL, &r, err, sizeof err) == FAB_OK;
  CHECK(ran, "sim: %s", err);
  const fab_tensor *a = ro->count ? &ro->items[0] : NULL, *b = a ? fab_tset_find(so, a->name) : NULL;
  CHECK(ran && a && b && a->nbytes == b->nbytes, "output missing or misshaped");
  if (ran && a && b && a->nbytes == b->nbytes) {
    double e = fpga_rel_error(a, b);
    printf("streamed 512-point rows on small: %d chunked stores, rel error %.2e\n", chunked, e);
    CHECK(e < 1e-5, "streamed rows: rel error %g against the interpreter", e);
  }
  fab_fpga_program_free(p);
  fab_tensor_set *sets[4] = {ws, is, ro, so};
  for (int i = 0; i < 4; i++) fab_tset_free(sets[i]);
  fab_module *mods[2] = {ref, low};
  for (int i = 0; i < 2; i++)
    if (mods[i]) fab_module_free(mods[i]);
  fab_diag_free(d);
}

static size_t count_stp(const fab_fpga_program *p, unsigned fn) {
  size_t k = 0;
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (!fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) && in.op == FAB_I_STP &&
        in.f[FAB_F_EWB_FN] == fn)
      k++;
  }
  return k;
}

/* The write-back by default (fpga-absorb): every chain where 2 p_be /
 * wb_share >= PPU lanes (vcu128-be120); on vcu128-be40 (40 engines, 256
 * lanes) the chains whose stores take at most the butterfly's compute:
 * with a lane per two engines fc2's residual + LN2 (768 stored of 4096
 * points) folds, fc1's bias + GELU (3 x 1024 stored, slower than its
 * compute) stays on the PPU; with a lane per engine (the shipped be40)
 * both fold. */
static void writeback_per_chain(void) {
  const char *cfgs[] = {"vcu128-be120", "vcu128-be40", "vcu128-be40"};
  for (int k = 0; k < 3; k++) {
    fab_fpga_config c = test_config(cfgs[k]);
    if (k == 2) c.wb_share = 2;
    fab_fpga_program *p = fpga_compile_example_for("base", &c, 128, 1);
    CHECK(p, "base on %s compiles", cfgs[k]);
    if (!p) continue;
    size_t gelu = count_stp(p, FAB_WB_BGELU), ln = count_stp(p, FAB_WB_BRLN);
    CHECK(ln > 0 && (k < 2 ? gelu > 0 : gelu == 0), "%s, wb_share %d: %zu bias+GELU and %zu residual+LN stores",
          cfgs[k], c.wb_share, gelu, ln);
    fab_fpga_program_free(p);
  }
}

int main(void) {
  streamed_rows_exact();
  writeback_per_chain();
  fab_fpga_report r;
  if (run("large", "vcu128-be120", 128, &r)) {
    CHECK(r.bl_layers == 4, "%llu butterfly layers, expected FFT, FFT, fc1, fc2", (unsigned long long)r.bl_layers);
    double want = r.bl_compute / (double)r.bl_span;
    CHECK(fabs(r.bl_util - want) < 1e-12 && r.bl_util <= r.bl_roofline && r.bl_roofline <= 1,
          "utilisation %g, roofline %g", r.bl_util, r.bl_roofline);
    /* two waves of 120 and 8 rows: at most 128 / 240 of the units busy */
    CHECK(r.bl_roofline < 128.0 / 240 + 0.01, "roofline %g above the waves' bound", r.bl_roofline);
    /* fc2 (12,288 cycles, all waves) is bound by its waves; fc1's
     * bias + GELU stores through the 60 write-back lanes (2,048 cycles per
     * 120-row tile against 1,280 of compute) take the store queue a little
     * longer than its waves, so the roofline counts fc1 as store-bound */
    CHECK(r.bl_span_waves >= 12288 && (r.bl_span_waves + r.bl_span_stq) * 2 > r.bl_span,
          "waves bound %llu and the store queue %llu of %llu cycles", (unsigned long long)r.bl_span_waves,
          (unsigned long long)r.bl_span_stq, (unsigned long long)r.bl_span);
  }
  if (run("large", "vcu128-be40", 512, &r)) {
    /* 85.6 % before the streaming store, 98.4 % with it.  (The engines'
     * write-back, which be40 leaves to the PPU by default, moves whole rows:
     * forced on, 81.4 %.) */
    CHECK(r.bl_util >= 0.9, "utilisation over the layers %g below 90 %%", r.bl_util);
    CHECK(r.bl_roofline >= r.bl_util, "roofline %g below the utilisation %g", r.bl_roofline, r.bl_util);
  }
  if (run("base", "vcu128-be120", 1024, &r)) {
    /* fc1's third-stack coefficient loads share the load queue with fc2's
     * zero-filling ldp (2,048 cycles); tokens carry the queue's in-order
     * retirement, so the scheduler must time its orders that way to pick
     * the one that keeps the engines busy: 137,123 cycles, 89.7 % over the
     * layers (139,939 and 86.2 % when it timed a dependence by when its
     * producer ended; RESULT's measure of docs/fpga.md section 9, which
     * merges fc1 and fc2, 86.4 % against 84.3 %). */
    printf("FABNet-Base seq 1024 one layer on vcu128-be120: %llu cycles, %.3f over the layers\n",
           (unsigned long long)r.total_cycles, r.bl_util);
    CHECK(r.bl_util >= 0.88, "utilisation over the layers %g below 88 %%", r.bl_util);
  }
  printf("%s\n", g_fail ? "FAILED" : "ok");
  return g_fail ? 1 : 0;
}
