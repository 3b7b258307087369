/* fuzz_fbin.c — the .fbin decoder, the assembler and the accelerator
 * simulator.
 *
 * Input starting with the .fbin magic "FABFBIN\0" is a program; anything
 * else is assembler text (`fabc as`): assembled, run through everything
 * below as a .fbin, and disassembled / re-assembled to the same bytes.
 *
 * read (fully checked) -> objdump -> write / read back byte-identical;
 * then, for programs of bounded size, bind small seeded weights and
 * inputs and simulate.  The simulator has no cycle-budget option, so the
 * harness bounds the work instead: at most FUZZ_MAX_INSN instructions and
 * FUZZ_MAX_WORDS words of simulated memory (off-chip + on-chip buffers);
 * libFuzzer's -timeout catches anything slower. */
#include "fab_tensor.h"
#include "fbin.h"
#include "fuzz_util.h"
#include "sim.h"

#include <string.h>

#define FUZZ_MAX_INSN 4096
#define FUZZ_MAX_WORDS ((uint64_t)1 << 24)

static FILE *devnull(void) {
  static FILE *f;
  if (!f) f = fopen("/dev/null", "w");
  return f;
}

/* Seeded tensors for every weight (kind 0) or input (kind 1) of p. */
static fab_tensor_set *make_tensors(const fab_fpga_program *p, fab_fpga_tkind kind, uint64_t seed) {
  fab_tensor_set *s = fab_tset_new();
  fab_rng r;
  fab_rng_seed(&r, seed);
  for (int i = 0; s && i < p->ntensors; i++) {
    const fab_fpga_tensor *t = &p->tensors[i];
    if (t->kind != kind) continue;
    int64_t dims[FAB_TENSOR_MAX_RANK + 1];
    int rank = t->rank;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)rank);
    if (t->dtype == FAB_FD_C64) {
      if (rank == FAB_TENSOR_MAX_RANK) continue;
      dims[rank++] = 2;
    }
    fab_tensor *x = fab_tset_add(s, t->name, t->dtype == FAB_FD_I32 ? FAB_DT_I32 : FAB_DT_F32,
                                 rank, dims);
    if (!x) continue;
    size_t n = x->nbytes / 4;
    for (size_t k = 0; k < n; k++) {
      if (x->dtype == FAB_DT_I32) ((int32_t *)x->data)[k] = (int32_t)fab_rng_below(&r, 2);
      else ((float *)x->data)[k] = (float)(fab_rng_uniform(&r) * 2 - 1);
    }
  }
  return s;
}

static uint64_t sim_words(const fab_fpga_program *p) {
  const fab_fpga_config *c = &p->cfg;
  uint64_t bank = (uint64_t)fab_fpga_bank_words(c);
  return p->mem_words + (uint64_t)c->p_be * 2 * bank + (uint64_t)c->cb_depth +
         (uint64_t)c->vm_words;
}

static void one(const uint8_t *data, size_t size);
static void assemble(const uint8_t *data, size_t size);

/* The file ends in a CRC-32 of everything before it, which random
 * mutations almost never keep: each input is tried as it is (so the
 * checksum test runs) and, if its checksum is wrong, once more with the
 * checksum fixed so that the fuzzer reaches the decoder behind it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8 || memcmp(data, "FABFBIN", 8) != 0) {
    assemble(data, size);
    return 0;
  }
  one(data, size);
  {
    uint32_t crc = fab_fpga_crc32(data, size - 4);
    uint8_t le[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
    if (memcmp(data + size - 4, le, 4) != 0) {
      uint8_t *fixed = malloc(size);
      if (!fixed) return 0;
      memcpy(fixed, data, size - 4);
      memcpy(fixed + size - 4, le, 4);
      one(fixed, size);
      free(fixed);
    }
  }
  return 0;
}

static void one(const uint8_t *data, size_t size) {
  fab_fpga_program *p = NULL, *p2 = NULL;
  char err[256];
  if (fab_fpga_fbin_read_mem(data, size, &p, err, sizeof err) != FAB_OK) {
    FUZZ_CHECK(p == NULL, "error but a program");
    return;
  }
  fab_fpga_objdump(p, devnull());
  uint8_t *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  fab_status st = fab_fpga_fbin_to_mem(p, &b1, &n1, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "a program read cannot be written: %s", err);
  st = fab_fpga_fbin_read_mem(b1, n1, &p2, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "a program written cannot be read: %s", err);
  st = fab_fpga_fbin_to_mem(p2, &b2, &n2, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK && n1 == n2 && memcmp(b1, b2, n1) == 0, "write/read/write differs");
  free(b1);
  free(b2);
  fab_fpga_program_free(p2);

  if (p->ninsn <= FUZZ_MAX_INSN && sim_words(p) <= FUZZ_MAX_WORDS) {
    fab_tensor_set *w = make_tensors(p, FAB_FT_WEIGHT, 1);
    fab_tensor_set *in = make_tensors(p, FAB_FT_INPUT, 2);
    fab_tensor_set *out = fab_tset_new();
    fab_fpga_report rep;
    fab_fpga_sim_opts opts = {.trace_path = NULL, .quiet = true};
    st = fab_fpga_sim_run(p, NULL, w, in, out, &opts, &rep, err, sizeof err);
    if (st == FAB_OK) fab_fpga_report_print(&rep, &p->cfg, devnull());
    else FUZZ_CHECK(err[0], "error %s without a message", fab_status_name(st));
    fab_tset_free(w);
    fab_tset_free(in);
    fab_tset_free(out);
  }
  fab_fpga_program_free(p);
}

/* The program's .fbin bytes (malloc'd) or NULL. */
static uint8_t *to_mem(const fab_fpga_program *p, size_t *n) {
  uint8_t *b = NULL;
  char err[256];
  fab_status st = fab_fpga_fbin_to_mem(p, &b, n, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "an assembled program cannot be written: %s", err);
  return b;
}

static void assemble(const uint8_t *data, size_t size) {
  fab_fpga_program *p = NULL, *q = NULL;
  char err[256];
  if (fab_fpga_assemble((const char *)data, size, &p, err, sizeof err) != FAB_OK) {
    FUZZ_CHECK(p == NULL, "error but a program");
    return;
  }
  size_t n1 = 0, n2 = 0, tn = 0;
  uint8_t *b1 = to_mem(p, &n1);
  one(b1, n1);
  char *text = NULL;
  FILE *f = open_memstream(&text, &tn);
  FUZZ_CHECK(f != NULL, "open_memstream");
  fab_fpga_objdump(p, f);
  fclose(f);
  fab_status st = fab_fpga_assemble(text, tn, &q, err, sizeof err);
  FUZZ_CHECK(st == FAB_OK, "objdump output does not assemble: %s\n%s", err, text);
  uint8_t *b2 = to_mem(q, &n2);
  FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0, "objdump / as round trip differs");
  free(text);
  free(b1);
  free(b2);
  fab_fpga_program_free(p);
  fab_fpga_program_free(q);
}
