/* test_hostile.c — corrupt .fbin files: truncation at every length, bad
 * checksum, wrong version, random mutations (with the checksum left wrong
 * and with it recomputed so the structure checks are exercised): each is
 * rejected with a message or runs to completion; never a crash.  Also
 * the objdump -> as round trip. */
#include "fpga_test.h"

static void fix_crc(uint8_t *b, size_t n) {
  uint32_t c = fab_fpga_crc32(b, n - 4);
  memcpy(b + n - 4, &c, 4);
}

int main(void) {
  fab_fpga_config c = test_config("small");
  fab_fpga_program *p = bfly_program(&c, 4, 5);
  uint8_t *buf;
  size_t len;
  char err[256];
  CHECK(fab_fpga_fbin_to_mem(p, &buf, &len, err, sizeof err) == FAB_OK, "%s", err);
  fab_fpga_program *q;
  CHECK(fab_fpga_fbin_read_mem(buf, len, &q, err, sizeof err) == FAB_OK, "valid file: %s", err);
  /* objdump -> as round trip gives the same bytes */
  char *txt = NULL;
  size_t tlen = 0;
  FILE *m = open_memstream(&txt, &tlen);
  fab_fpga_objdump(q, m);
  fclose(m);
  fab_fpga_program *r;
  CHECK(fab_fpga_assemble(txt, tlen, &r, err, sizeof err) == FAB_OK, "assemble: %s", err);
  uint8_t *buf2;
  size_t len2;
  if (r) {
    fab_fpga_fbin_to_mem(r, &buf2, &len2, err, sizeof err);
    CHECK(len2 == len && !memcmp(buf, buf2, len), "objdump/as round trip differs");
    free(buf2);
    fab_fpga_program_free(r);
  }
  fputs(txt, stdout);
  free(txt);
  fab_fpga_program_free(q);
  /* weights and inputs for running accepted mutants */
  fab_tensor_set *ws = fab_tset_new(), *is = fab_tset_new();
  int64_t td[6] = {1, 1, 5, 16, 2, 2}, xd[2] = {4, 32};
  fill_normal(fab_tset_add(ws, "tw", FAB_DT_F32, 6, td), 1);
  fill_normal(fab_tset_add(is, "x", FAB_DT_F32, 2, xd), 2);
  /* truncation at every length */
  int rejected = 0;
  for (size_t n = 0; n < len; n++) {
    fab_status st = fab_fpga_fbin_read_mem(buf, n, &q, err, sizeof err);
    CHECK(st != FAB_OK && err[0], "truncated to %zu accepted", n);
    rejected += st != FAB_OK;
  }
  /* bad checksum, bad version */
  uint8_t *b = malloc(len);
  memcpy(b, buf, len);
  b[len - 1] ^= 1;
  CHECK(fab_fpga_fbin_read_mem(b, len, &q, err, sizeof err) == FAB_E_FORMAT && strstr(err, "checksum"), "%s", err);
  memcpy(b, buf, len);
  b[8] = 9;
  CHECK(fab_fpga_fbin_read_mem(b, len, &q, err, sizeof err) == FAB_E_VERSION, "%s", err);
  /* random mutations */
  fab_rng rng;
  fab_rng_seed(&rng, 99);
  int ran = 0, refused = 0, crc_refused = 0;
  for (int k = 0; k < 3000; k++) {
    memcpy(b, buf, len);
    int flips = 1 + (int)fab_rng_below(&rng, 3);
    for (int f = 0; f < flips; f++) {
      size_t at = (size_t)fab_rng_below(&rng, (int64_t)len - 4);
      if (fab_rng_below(&rng, 2)) b[at] ^= (uint8_t)(1u << fab_rng_below(&rng, 8));
      else b[at] = (uint8_t)fab_rng_next(&rng);
    }
    bool fix = k % 4 != 0;
    if (fix) fix_crc(b, len);
    err[0] = 0;
    fab_status st = fab_fpga_fbin_read_mem(b, len, &q, err, sizeof err);
    if (st != FAB_OK) {
      CHECK(err[0] != 0, "rejection without a message");
      if (fix) refused++;
      else crc_refused++;
      continue;
    }
    fab_tensor_set *os = fab_tset_new();
    err[0] = 0;
    st = fab_fpga_sim_run(q, NULL, ws, is, os, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_OK || err[0], "run failure without a message");
    ran++;
    fab_tset_free(os);
    fab_fpga_program_free(q);
  }
  /* mutations confined to the code section (checksum fixed): exercises
   * the decoder, the static checker and the simulator on odd programs */
  uint64_t coff, csz;
  memcpy(&coff, buf + 24 + 24 + 8, 8); /* section table entry 2 (CODE) */
  memcpy(&csz, buf + 24 + 24 + 16, 8);
  int code_ran = 0, code_refused = 0;
  for (int k = 0; k < 3000 && csz; k++) {
    memcpy(b, buf, len);
    int flips = 1 + (int)fab_rng_below(&rng, 2);
    for (int f = 0; f < flips; f++) {
      size_t at = (size_t)(coff + (uint64_t)fab_rng_below(&rng, (int64_t)csz));
      b[at] ^= (uint8_t)(1u << fab_rng_below(&rng, 8));
    }
    fix_crc(b, len);
    err[0] = 0;
    if (fab_fpga_fbin_read_mem(b, len, &q, err, sizeof err) != FAB_OK) {
      CHECK(err[0] != 0, "rejection without a message");
      code_refused++;
      continue;
    }
    fab_tensor_set *os = fab_tset_new();
    err[0] = 0;
    fab_status st = fab_fpga_sim_run(q, NULL, ws, is, os, NULL, NULL, err, sizeof err);
    CHECK(st == FAB_OK || err[0], "run failure without a message");
    code_ran++;
    fab_tset_free(os);
    fab_fpga_program_free(q);
  }
  printf("code-section mutations: %d refused, %d ran (or failed at run time with a message)\n", code_refused,
         code_ran);
  printf("hostile: %d truncations rejected; mutations: %d refused by checksum, %d refused by structure "
         "checks, %d ran to completion or failed cleanly\n", rejected, crc_refused, refused, ran);
  free(b);
  free(buf);
  fab_tset_free(ws);
  fab_tset_free(is);
  fab_fpga_program_free(p);
  return g_fail ? 1 : 0;
}
