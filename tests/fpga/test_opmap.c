/* test_opmap.c — the op map (`--codegen op-map`) and the per-op view
 * (`fabc sim --ops`, sim/ops.c):
 *   - every instruction of a compiled FABNet names the op that emitted it;
 *   - the map survives .fbin (version 5, section OPS) and objdump | as;
 *     a program without it is written as before (the version its
 *     instructions need, 4 sections, the same code);
 *   - a reader refuses an op index outside the map, and a version-4 file
 *     with the section;
 *   - the per-op lines add up to the report: cycles per queue and bytes. */
#include "fpga_example.h"

static fab_fpga_program *compile(const char *cfg, bool op_map, fab_fpga_config *c) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/fabnet_small.fab", FAB_ROOT);
  *c = test_config(cfg);
  fab_diag *d = fab_diag_new();
  fab_module *m = fab_frontend_compile_file(path, &(fab_frontend_options){0}, d);
  fab_target_config tcfg = {.accel_config = c};
  fab_fpga_codegen_opts o = {.op_map = op_map};
  fab_fpga_program *p = NULL;
  if (m && fab_target_lower(fab_target_find("fpga"), &tcfg, m, NULL, NULL, d)) p = fab_fpga_codegen_ex(m, c, &o, d);
  if (fab_diag_error_count(d)) fab_diag_print(d, stderr);
  if (m) fab_module_free(m);
  fab_diag_free(d);
  return p;
}

static void map_and_files(const fab_fpga_program *p, const fab_fpga_program *plain) {
  CHECK(p->insn_op && p->nops > 0 && !plain->insn_op, "op map present only when asked");
  CHECK(p->ninsn == plain->ninsn && !memcmp(p->code, plain->code, p->ninsn * FAB_FPGA_INSN_BYTES),
        "the op map changed the code");
  size_t unnamed = 0, bfly = 0;
  for (size_t i = 0; i < p->ninsn; i++) {
    if (p->insn_op[i] == FAB_FPGA_NO_OP) unnamed++;
    else if (strstr(p->op_labels[p->insn_op[i]], "bfly.stages")) bfly++;
  }
  CHECK(unnamed == 0 && bfly > 0, "%zu instructions name no op, %zu a butterfly", unnamed, bfly);
  uint8_t *bin = NULL, *pbin = NULL;
  size_t blen = 0, plen = 0;
  char err[256];
  /* a configuration with a lane per engine (vcu128-be120) is version 6 */
  unsigned cfgv = p->cfg.wb_share != FAB_FPGA_WB_SHARE ? 6 : 1;
  CHECK(!fab_fpga_fbin_to_mem(p, &bin, &blen, err, sizeof err) && bin[8] == (cfgv > 5 ? cfgv : 5),
        "op map: version 5 (6 for wb_share %d)", p->cfg.wb_share);
  unsigned need = cfgv; /* what the instructions need (a cp=1 load on the Zynq: 5) */
  for (size_t i = 0; i < plain->ninsn; i++) {
    fab_fpga_insn in;
    if (!fab_fpga_decode(plain->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) && fab_fpga_insn_version(&in) > need)
      need = fab_fpga_insn_version(&in);
  }
  CHECK(!fab_fpga_fbin_to_mem(plain, &pbin, &plen, err, sizeof err) && pbin[8] == need && pbin[12] == 4,
        "no op map: the instructions' (and configuration's) version %u, four sections", need);
  fab_fpga_program *q = NULL;
  CHECK(!fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err), "read: %s", err);
  bool same = q && q->nops == p->nops && q->insn_op && !memcmp(q->insn_op, p->insn_op, p->ninsn * 4);
  for (uint32_t k = 0; same && k < p->nops; k++) same = !strcmp(q->op_labels[k], p->op_labels[k]);
  CHECK(same, "the op map does not survive .fbin");
  fab_fpga_program_free(q);
  /* objdump | as */
  char *text = NULL;
  size_t tlen = 0;
  FILE *f = open_memstream(&text, &tlen);
  fab_fpga_objdump(p, f);
  fclose(f);
  q = NULL;
  uint8_t *rbin = NULL;
  size_t rlen = 0;
  CHECK(!fab_fpga_assemble(text, tlen, &q, err, sizeof err) && !fab_fpga_fbin_to_mem(q, &rbin, &rlen, err, sizeof err)
            && rlen == blen && !memcmp(rbin, bin, blen),
        "objdump | as does not reproduce the file with its op map (%s)", err);
  fab_fpga_program_free(q);
  free(rbin);
  /* the text form's directives are checked too: ops numbered in order */
  char *nl = strchr(text, '\n'), bad_text[1024];
  snprintf(bad_text, sizeof bad_text, "%.*s\n.op 1 %%0 input\n", nl ? (int)(nl - text) : 0, text);
  q = NULL;
  fab_status ast = fab_fpga_assemble(bad_text, strlen(bad_text), &q, err, sizeof err);
  CHECK(ast != FAB_OK && strstr(err, ".op"), "an .op out of order assembled (%s)", err);
  fab_fpga_program_free(q);
  free(text);
  /* hostile bytes in the OPS section (it follows META: the end of the
   * file less the checksum and the section): refused with a message, or
   * read (a changed label) */
  uint64_t ops_off, ops_size;
  memcpy(&ops_off, bin + 24 + 24 * 4 + 8, 8);
  memcpy(&ops_size, bin + 24 + 24 * 4 + 16, 8);
  unsigned seed = 1;
  int refused = 0;
  for (int it = 0; it < 300 && ops_size; it++) {
    uint8_t *m = malloc(blen);
    memcpy(m, bin, blen);
    for (int k = 0; k < 1 + it % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      m[ops_off + (seed >> 8) % ops_size] = (uint8_t)(seed >> 20);
    }
    uint32_t c = fab_fpga_crc32(m, blen - 4);
    memcpy(m + blen - 4, &c, 4);
    err[0] = 0;
    q = NULL;
    fab_status mst = fab_fpga_fbin_read_mem(m, blen, &q, err, sizeof err);
    CHECK(mst == FAB_OK ? q != NULL : err[0] != 0, "mutant %d: status %d without a message", it, mst);
    refused += mst != FAB_OK;
    fab_fpga_program_free(q);
    free(m);
  }
  CHECK(refused > 0, "no mutant of the OPS section was refused");
  /* a bad op index (the last instruction's, just before the checksum) */
  uint32_t bad = p->nops + 3, crc;
  memcpy(bin + blen - 8, &bad, 4);
  crc = fab_fpga_crc32(bin, blen - 4);
  memcpy(bin + blen - 4, &crc, 4);
  q = NULL;
  fab_status st = fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err);
  CHECK(st == FAB_E_FORMAT && strstr(err, "names op"), "bad op index read as %d (%s)", st, err);
  fab_fpga_program_free(q);
  /* a version-4 file with the section */
  bin[8] = 4;
  crc = fab_fpga_crc32(bin, blen - 4);
  memcpy(bin + blen - 4, &crc, 4);
  st = fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err);
  CHECK(st != FAB_OK, "a version-4 file with an op map was accepted");
  fab_fpga_program_free(q);
  free(bin);
  free(pbin);
}

/* The per-op lines add up to the whole report. */
static void ops_add_up(const fab_fpga_program *p, const fab_fpga_program *plain) {
  uint64_t *t = calloc(2 * p->ninsn + 1, sizeof *t);
  fab_fpga_sim_opts so = {.timing_only = true, .insn_start = t, .insn_end = t + p->ninsn};
  fab_fpga_report r;
  char err[256];
  CHECK(!fab_fpga_sim_run(p, NULL, NULL, NULL, NULL, &so, &r, err, sizeof err), "sim: %s", err);
  char *text = NULL;
  size_t tlen = 0;
  FILE *f = open_memstream(&text, &tlen);
  CHECK(!fab_fpga_ops_print(p, so.insn_start, so.insn_end, r.total_cycles, f, err, sizeof err), "ops: %s", err);
  fclose(f);
  fputs(text, stdout);
  uint64_t busy[FAB_Q_COUNT] = {0}, insns = 0;
  double kb = 0;
  int lines = 0;
  for (char *l = strchr(text, '\n'); l && (l = strchr(l + 1, '%'));) {
    unsigned long long n, s0, sp, b[FAB_Q_COUNT];
    double e, u, in, co, out;
    char *nl = strchr(l, '\n');
    if (strlen(l) < 49 || sscanf(l + 48, "%llu %llu %llu %llu %llu %llu %llu %llu %lf%% %lf%% %lf %lf %lf", &n, &s0, &sp,
                                 &b[0], &b[1], &b[2], &b[3], &b[4], &e, &u, &in, &co, &out) != 13) {
      CHECK(false, "unreadable line: %.80s", l);
      break;
    }
    lines++;
    insns += n;
    for (int q = 0; q < FAB_Q_COUNT; q++) busy[q] += b[q];
    kb += in + co + out;
    CHECK(e <= 100.0 && u <= 100.0, "utilisation above 100%%: %.80s", l);
    l = nl;
    if (!l) break;
  }
  CHECK(lines > 3 && insns == p->ninsn, "%d lines, %llu of %zu instructions", lines, (unsigned long long)insns,
        p->ninsn);
  CHECK(busy[FAB_Q_LD] == r.busy[FAB_Q_LD] + r.coef_busy, "ld %llu vs %llu", (unsigned long long)busy[FAB_Q_LD],
        (unsigned long long)(r.busy[FAB_Q_LD] + r.coef_busy));
  for (int q = 1; q < FAB_Q_COUNT; q++)
    CHECK(busy[q] == r.busy[q], "queue %d: %llu vs %llu", q, (unsigned long long)busy[q], (unsigned long long)r.busy[q]);
  double want = (double)(r.bytes_in + r.bytes_coef + r.bytes_out) / 1024.0;
  CHECK(fabs(kb - want) <= 0.1 * lines + 1e-9, "off-chip %.1f KB vs %.1f", kb, want);
  free(text);
  /* without a map: an error naming the build option */
  CHECK(fab_fpga_ops_print(plain, t, t, 0, stdout, err, sizeof err) == FAB_E_ARG && strstr(err, "op-map"),
        "no op map: %s", err);
  free(t);
}

int main(void) {
  const char *cfgs[] = {"vcu128-be40", "zynq7045-be20"};
  for (int k = 0; k < 2; k++) {
    fab_fpga_config c;
    fab_fpga_program *p = compile(cfgs[k], true, &c), *plain = compile(cfgs[k], false, &c);
    CHECK(p && plain, "compile fabnet_small for %s", cfgs[k]);
    if (p && plain) {
      map_and_files(p, plain);
      ops_add_up(p, plain);
    }
    fab_fpga_program_free(p);
    fab_fpga_program_free(plain);
  }
  if (g_fail) fprintf(stderr, "%d failure(s)\n", g_fail);
  return g_fail ? 1 : 0;
}
