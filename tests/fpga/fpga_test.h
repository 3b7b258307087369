/* fpga_test.h — tiny check macros and shared program builders for the
 * fpga tests (public headers only). */
#ifndef FPGA_TEST_H
#define FPGA_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbin.h"
#include "sim.h"

static int g_fail;
#define CHECK(c, ...)                                                                              \
  do {                                                                                             \
    if (!(c)) {                                                                                    \
      g_fail++;                                                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);                       \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

/* Instructions of opcode op in p. */
static inline size_t fpga_count_op(const fab_fpga_program *p, fab_fpga_opcode op) {
  size_t k = 0;
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (!fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) && in.op == op) k++;
  }
  return k;
}

/* The static check rejects p with a message containing msg; frees p. */
static inline void fpga_expect_check(fab_fpga_program *p, const char *msg) {
  char err[256] = "";
  fab_status st = fab_fpga_program_check(p, err, sizeof err);
  CHECK(st != FAB_OK && strstr(err, msg), "expected '%s', got '%s'", msg, err);
  fab_fpga_program_free(p);
}

/* p is written as .fbin version `version`, and the same bytes marked one
 * version older are refused with an error naming `what` and the version;
 * frees p. */
static inline void fpga_expect_version(fab_fpga_program *p, unsigned version, const char *what) {
  uint8_t *bin = NULL;
  size_t blen = 0;
  char err[256];
  CHECK(!fab_fpga_fbin_to_mem(p, &bin, &blen, err, sizeof err) && bin && bin[8] == version, "%s: .fbin version %u",
        what, version);
  if (bin) {
    bin[8] = (uint8_t)(version - 1);
    uint32_t crc = fab_fpga_crc32(bin, blen - 4);
    memcpy(bin + blen - 4, &crc, 4);
    fab_fpga_program *q = NULL;
    char need[32];
    snprintf(need, sizeof need, "version %u", version);
    fab_status st = fab_fpga_fbin_read_mem(bin, blen, &q, err, sizeof err);
    CHECK(st == FAB_E_VERSION && strstr(err, what) && strstr(err, need), "version %u with %s read as %d (%s)",
          version - 1, what, st, err);
    fab_fpga_program_free(q);
  }
  free(bin);
  fab_fpga_program_free(p);
}

/* objdump | as: p's text form assembled into *q (NULL on failure); the
 * status, err the message. */
static inline fab_status fpga_text_roundtrip(const fab_fpga_program *p, fab_fpga_program **q, char *err,
                                             size_t errlen) {
  char *text = NULL;
  size_t tlen = 0;
  FILE *f = open_memstream(&text, &tlen);
  if (!f) return FAB_E_NOMEM;
  fab_fpga_objdump(p, f);
  fclose(f);
  *q = NULL;
  fab_status st = text ? fab_fpga_assemble(text, tlen, q, err, errlen) : FAB_E_NOMEM;
  free(text);
  return st;
}

static inline fab_fpga_config test_config(const char *name) {
  fab_fpga_config c;
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/configs/%s.json", FAB_ROOT, name);
  if (fab_fpga_config_load(path, &c, err, sizeof err)) {
    fprintf(stderr, "cannot load %s: %s\n", path, err);
    exit(2);
  }
  return c;
}

static inline fab_fpga_insn dma(fab_fpga_opcode op, int buf, uint64_t ext, uint64_t stride, uint64_t rows,
                                uint64_t len, uint64_t addr, uint64_t ne) {
  fab_fpga_insn in = fab_fpga_insn_make(op);
  FAB_SET(&in, DMA_BUF, buf);
  FAB_SET(&in, DMA_EXT, ext);
  FAB_SET(&in, DMA_STRIDE, stride);
  FAB_SET(&in, DMA_ROWS, rows);
  FAB_SET(&in, DMA_LEN, len);
  FAB_SET(&in, DMA_ADDR, addr);
  FAB_SET(&in, DMA_NE, ne);
  return in;
}

/* torch_butterfly decreasing-stride product of one row (double). */
static inline void ref_bfly(double *y, const float *tw, int logn) {
  int n = 1 << logn;
  for (int k = 0; k < logn; k++) {
    int ls = logn - 1 - k, stride = 1 << ls;
    const float *t = tw + (size_t)k * 2 * n;
    for (int i = 0; i < n / 2; i++) {
      int low = i % stride, p = 2 * (i - low) + low, q = p + stride;
      double a = y[p], c = y[q];
      y[p] = t[4 * i] * a + t[4 * i + 1] * c;
      y[q] = t[4 * i + 2] * a + t[4 * i + 3] * c;
    }
  }
}

/* A program on `c`: x[rows, 2^logn] through one full butterfly (decreasing
 * stride) with twiddle "tw" [1, 1, logn, n/2, 2, 2] into "y". */
static inline fab_fpga_program *bfly_program(const fab_fpga_config *c, int rows, int logn) {
  int n = 1 << logn;
  fab_fpga_program *p = fab_fpga_program_new(c);
  int64_t xd[2] = {rows, n}, td[6] = {1, 1, logn, n / 2, 2, 2};
  uint64_t tw = 0, x = (uint64_t)2 * n * logn, y = x + (uint64_t)rows * n;
  fab_fpga_program_add_tensor(p, "tw", FAB_FT_WEIGHT, FAB_FD_F32, 6, td, tw);
  fab_fpga_program_add_tensor(p, "x", FAB_FT_INPUT, FAB_FD_F32, 2, xd, x);
  fab_fpga_program_add_tensor(p, "y", FAB_FT_OUTPUT, FAB_FD_F32, 2, xd, y);
  p->mem_words = y + (uint64_t)rows * n;
  fab_fpga_insn in = dma(FAB_I_LD, FAB_BUF_CB, tw, 2 * n, logn, 2 * n, 0, 0);
  fab_fpga_program_push(p, &in);
  in = dma(FAB_I_LD, FAB_BUF_BE, x, n, rows, n, 0, rows < c->p_be ? rows : c->p_be);
  in.sig = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  in = fab_fpga_insn_make(FAB_I_BFLY);
  FAB_SET(&in, BE_NE, rows < c->p_be ? rows : c->p_be);
  FAB_SET(&in, BE_LOGN, logn);
  FAB_SET(&in, BE_NROWS, (rows + c->p_be - 1) / c->p_be);
  FAB_SET(&in, BE_LSTRIDE, logn - 1);
  FAB_SET(&in, BE_NST, logn);
  in.wait = 1u << FAB_Q_LD;
  in.sig = 1u << FAB_Q_ST;
  fab_fpga_program_push(p, &in);
  in = dma(FAB_I_ST, FAB_BUF_BE, y, n, rows, n, 0, rows < c->p_be ? rows : c->p_be);
  in.wait = 1u << FAB_Q_BE;
  fab_fpga_program_push(p, &in);
  return p;
}

static inline void fill_normal(fab_tensor *t, uint64_t seed) {
  fab_rng r;
  fab_rng_seed(&r, seed);
  float *d = t->data;
  for (int64_t i = 0; i < fab_tensor_numel(t); i++) d[i] = (float)fab_rng_normal(&r);
}

/* The whole file at path (NUL-terminated, caller frees) and its length. */
static inline char *fpga_test_slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!b) {
    fclose(f);
    return NULL;
  }
  *n = fread(b, 1, (size_t)len, f);
  b[*n] = 0;
  fclose(f);
  return b;
}

#endif
