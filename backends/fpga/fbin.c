/* fbin.c — compiled programs: building, static checking, the .fbin
 * container and its text form. */
#include "fbin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint32_t fab_fpga_crc32(const uint8_t *buf, size_t len) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) {
    c ^= buf[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

fab_fpga_program *fab_fpga_program_new(const fab_fpga_config *cfg) {
  fab_fpga_program *p = calloc(1, sizeof *p);
  if (p && cfg) p->cfg = *cfg;
  return p;
}

void fab_fpga_program_free(fab_fpga_program *p) {
  if (!p) return;
  for (int i = 0; i < p->ntensors; i++) free(p->tensors[i].name);
  free(p->tensors);
  fab_index_free(&p->by_name);
  fab_index_free(&p->gather_index);
  free(p->code);
  for (uint32_t i = 0; i < p->nops; i++) free(p->op_labels[i]);
  free(p->op_labels);
  free(p->insn_op);
  free(p);
}

fab_status fab_fpga_program_set_op_map(fab_fpga_program *p, uint32_t nops, const char *const *labels,
                                       const uint32_t *insn_op) {
  char **l = calloc(nops ? nops : 1, sizeof *l);
  uint32_t *m = malloc((p->ninsn ? p->ninsn : 1) * sizeof *m);
  bool ok = l && m;
  for (uint32_t i = 0; ok && i < nops; i++) ok = (l[i] = strdup(labels[i])) != NULL;
  if (!ok) {
    for (uint32_t i = 0; l && i < nops; i++) free(l[i]);
    free(l);
    free(m);
    return FAB_E_NOMEM;
  }
  if (p->ninsn) memcpy(m, insn_op, p->ninsn * sizeof *m);
  for (uint32_t i = 0; i < p->nops; i++) free(p->op_labels[i]);
  free(p->op_labels);
  free(p->insn_op);
  p->op_labels = l;
  p->nops = nops;
  p->insn_op = m;
  return FAB_OK;
}

fab_status fab_fpga_program_push(fab_fpga_program *p, const fab_fpga_insn *in) {
  if (p->ninsn >= FAB_FBIN_MAX_INSNS) return FAB_E_LIMIT;
  /* grow by doubling: capacity is the next power of two */
  if ((p->ninsn & (p->ninsn - 1)) == 0) {
    size_t cap = p->ninsn ? 2 * p->ninsn : 1;
    uint8_t *c = realloc(p->code, cap * FAB_FPGA_INSN_BYTES);
    if (!c) return FAB_E_NOMEM;
    p->code = c;
  }
  fab_fpga_encode(in, p->code + p->ninsn * FAB_FPGA_INSN_BYTES);
  p->ninsn++;
  return FAB_OK;
}

static uint64_t tensor_words(fab_fpga_tdtype dt, int rank, const int64_t *dims, bool *ok) {
  uint64_t n = dt == FAB_FD_C64 ? 2 : 1;
  *ok = rank >= 0 && rank <= FAB_TENSOR_MAX_RANK;
  for (int i = 0; *ok && i < rank; i++) {
    if (dims[i] < 1 || (uint64_t)dims[i] > FAB_FBIN_MAX_MEM_WORDS) *ok = false;
    else {
      n *= (uint64_t)dims[i];
      if (n > FAB_FBIN_MAX_MEM_WORDS) *ok = false;
    }
  }
  return n;
}

static bool is_gather_table(const fab_fpga_tensor *t) {
  return t->kind == FAB_FT_WEIGHT && t->rank == 2 && t->dtype == FAB_FD_F32;
}

static uint64_t addr_hash(uint64_t a) {
  a ^= a >> 33;
  a *= 0xff51afd7ed558ccdull;
  return a ^ (a >> 33);
}

fab_status fab_fpga_program_add_tensor(fab_fpga_program *p, const char *name, fab_fpga_tkind kind,
                                       fab_fpga_tdtype dt, int rank, const int64_t *dims,
                                       uint64_t addr) {
  bool ok;
  uint64_t words = tensor_words(dt, rank, dims, &ok);
  if (!ok) return FAB_E_SHAPE;
  if (p->ntensors == INT32_MAX) return FAB_E_LIMIT;
  if (p->ntensors == p->tensors_cap) { /* geometric growth: linear total cost */
    int cap = p->tensors_cap ? (p->tensors_cap > INT32_MAX / 2 ? INT32_MAX : 2 * p->tensors_cap) : 16;
    fab_fpga_tensor *grown = realloc(p->tensors, (size_t)cap * sizeof *grown);
    if (!grown) return FAB_E_NOMEM;
    p->tensors = grown;
    p->tensors_cap = cap;
  }
  fab_fpga_tensor *t = &p->tensors[p->ntensors];
  memset(t, 0, sizeof *t);
  t->name = strdup(name);
  if (!t->name) return FAB_E_NOMEM;
  t->kind = kind;
  t->dtype = dt;
  t->rank = rank;
  memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
  t->addr = addr;
  t->words = words;
  if (!fab_index_add(&p->by_name, fab_hash_str(name), p->ntensors) ||
      (is_gather_table(t) && !fab_index_add(&p->gather_index, addr_hash(addr), p->ntensors))) {
    free(t->name);
    return FAB_E_NOMEM;
  }
  p->ntensors++;
  return FAB_OK;
}

fab_status fab_fpga_program_reserve_tensors(fab_fpga_program *p, int n) {
  if (n > p->tensors_cap) {
    fab_fpga_tensor *grown = realloc(p->tensors, (size_t)n * sizeof *grown);
    if (!grown) return FAB_E_NOMEM;
    p->tensors = grown;
    p->tensors_cap = n;
  }
  return fab_index_reserve(&p->by_name, (size_t)n) ? FAB_OK : FAB_E_NOMEM;
}

typedef struct tensor_key {
  const char *name;
  fab_fpga_tkind kind;
} tensor_key;

static bool tensor_is(const void *table, int i, const void *key) {
  const fab_fpga_tensor *t = &((const fab_fpga_tensor *)table)[i];
  const tensor_key *k = key;
  return t->kind == k->kind && strcmp(t->name, k->name) == 0;
}

int fab_fpga_program_find_tensor(const fab_fpga_program *p, const char *name, fab_fpga_tkind kind) {
  tensor_key k = {name, kind};
  return fab_index_find(&p->by_name, fab_hash_str(name), tensor_is, p->tensors, &k);
}

typedef struct table_key {
  uint64_t addr, d;
} table_key;

static bool table_is(const void *table, int i, const void *key) {
  const fab_fpga_tensor *t = &((const fab_fpga_tensor *)table)[i];
  const table_key *k = key;
  return t->addr == k->addr && (uint64_t)t->dims[1] == k->d;
}

const fab_fpga_tensor *fab_fpga_program_gather_table(const fab_fpga_program *p, uint64_t addr,
                                                     uint64_t d) {
  table_key k = {addr, d};
  int i = fab_index_find(&p->gather_index, addr_hash(addr), table_is, p->tensors, &k);
  return i < 0 ? NULL : &p->tensors[i];
}

/* ---- constant tables ------------------------------------------------------------ */

/* Mixed radix n = q m (q odd, m a power of two): block width kb = min(8, m). */
static void mixed_split(int64_t n, int64_t *q, int64_t *m, int64_t *kb) {
  *m = 1;
  while (n % (*m * 2) == 0) *m *= 2;
  *q = n / *m;
  *kb = 1; /* one frequency per product: exactly the 4 q^2 multiply-adds per output point */
}

/* kind 0: dft.r, 1: dft.c, 2: dft.x (mixed-radix combination) */
static bool const_parse(const fab_fpga_tensor *t, int *kind, int64_t *n) {
  char k = 0, tail = 0;
  long long v = 0;
  if (sscanf(t->name, "dft.%c.%lld%c", &k, &v, &tail) != 2 || (k != 'r' && k != 'c' && k != 'x')) return false;
  if (v < 1 || v > 4096 || t->dtype != FAB_FD_F32 || t->rank != 2) return false;
  *kind = k == 'r' ? 0 : k == 'c' ? 1 : 2;
  *n = v;
  if (*kind == 2) {
    int64_t q, m, kb;
    mixed_split(v, &q, &m, &kb);
    return m >= 2 && q >= 3 && t->dims[0] == 2 * q * q * m && t->dims[1] == 2 * kb;
  }
  return t->dims[0] == (*kind ? 2 : 1) * v && t->dims[1] == 2 * v;
}

fab_status fab_fpga_const_check(const fab_fpga_tensor *t, char *err, size_t errlen) {
  int c;
  int64_t n;
  if (t->kind != FAB_FT_CONST || !const_parse(t, &c, &n))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "constant '%s': unknown table or wrong shape", t->name);
  return FAB_OK;
}

fab_status fab_fpga_const_fill(const fab_fpga_tensor *t, float *dst, char *err, size_t errlen) {
  int c = 0;
  int64_t n = 0;
  fab_status st = fab_fpga_const_check(t, err, errlen);
  if (st) return st;
  const_parse(t, &c, &n);
  if (c == 2) {
    /* matrix (b, r, k2), [2 kb, 2 kb], block-diagonal: row (kl, re/im) of
     * Y_r[k1], column (kl, re/im) of X[k1 + m k2], k1 = b kb + kl, the 2x2
     * block of w = exp(-2 pi i r (k1 + m k2) / n): X = sum over r of Y_r w */
    int64_t q, m, kb;
    mixed_split(n, &q, &m, &kb);
    memset(dst, 0, t->words * sizeof *dst);
    for (int64_t b = 0; b < m / kb; b++)
      for (int64_t r = 0; r < q; r++)
        for (int64_t k2 = 0; k2 < q; k2++) {
          float *M = dst + ((b * q + r) * q + k2) * (2 * kb) * (2 * kb);
          for (int64_t kl = 0; kl < kb; kl++) {
            int64_t k1 = b * kb + kl;
            double a = 2 * M_PI * (double)((r * (k1 + m * k2)) % n) / (double)n;
            float wr = (float)cos(a), wi = (float)-sin(a);
            float *r0 = M + (2 * kl) * (2 * kb) + 2 * kl, *r1 = r0 + 2 * kb;
            r0[0] = wr, r0[1] = wi, r1[0] = -wi, r1[1] = wr;
          }
        }
    return FAB_OK;
  }
  for (int64_t j = 0; j < n; j++)
    for (int64_t k = 0; k < n; k++) {
      double a = 2 * M_PI * (double)((j * k) % n) / (double)n;
      float co = (float)cos(a), si = (float)sin(a);
      if (c) {
        float *r0 = dst + (2 * j) * 2 * n + 2 * k, *r1 = r0 + 2 * n;
        r0[0] = co, r0[1] = -si, r1[0] = si, r1[1] = co;
      } else {
        dst[j * 2 * n + 2 * k] = co;
        dst[j * 2 * n + 2 * k + 1] = -si;
      }
    }
  return FAB_OK;
}

/* ---- static check ------------------------------------------------------------ */

/* [lo, hi) of the off-chip words a DMA instruction touches. */
static void dma_extent(const fab_fpga_insn *in, uint64_t *lo, uint64_t *hi) {
  const uint64_t *f = in->f;
  uint64_t rows = f[FAB_F_DMA_ROWS], len = f[FAB_F_DMA_LEN], s = f[FAB_F_DMA_STRIDE];
  uint64_t last = f[FAB_F_DMA_TRANS] ? (len - 1) * s + (rows - 1) : (rows - 1) * s + (len - 1);
  uint64_t scale = f[FAB_F_DMA_CPLX] ? 2 : 1;
  *lo = f[FAB_F_DMA_EXT];
  *hi = f[FAB_F_DMA_EXT] + (last + 1) * scale;
}

/* Weights, inputs and constants sorted by address, with the running
 * maximum of their ends: whether a store overlaps one is a binary search. */
typedef struct protect {
  const fab_fpga_tensor **by_addr;
  uint64_t *max_end;  /* max end of by_addr[0..i] */
  int *max_at;        /* which one has it */
  int n;
} protect;

static int cmp_addr(const void *a, const void *b) {
  uint64_t x = (*(const fab_fpga_tensor *const *)a)->addr, y = (*(const fab_fpga_tensor *const *)b)->addr;
  return x < y ? -1 : x > y;
}

/* Call after the tensors are checked to lie inside the memory. */
static bool protect_init(protect *pr, const fab_fpga_program *p) {
  size_t n = (size_t)p->ntensors + 1;
  *pr = (protect){malloc(n * sizeof *pr->by_addr), malloc(n * sizeof *pr->max_end),
                  malloc(n * sizeof *pr->max_at), 0};
  if (!pr->by_addr || !pr->max_end || !pr->max_at) return false;
  for (int i = 0; i < p->ntensors; i++)
    if (p->tensors[i].kind != FAB_FT_OUTPUT) pr->by_addr[pr->n++] = &p->tensors[i];
  qsort(pr->by_addr, (size_t)pr->n, sizeof *pr->by_addr, cmp_addr);
  for (int i = 0; i < pr->n; i++) {
    uint64_t end = pr->by_addr[i]->addr + pr->by_addr[i]->words;
    bool keep = i > 0 && pr->max_end[i - 1] >= end;
    pr->max_end[i] = keep ? pr->max_end[i - 1] : end;
    pr->max_at[i] = keep ? pr->max_at[i - 1] : i;
  }
  return true;
}

static void protect_free(protect *pr) {
  free(pr->by_addr);
  free(pr->max_end);
  free(pr->max_at);
}

static bool overlaps_protected(const protect *pr, uint64_t lo, uint64_t hi, const char **name) {
  int a = 0, b = pr->n; /* k = the number of tensors starting before hi */
  while (a < b) {
    int mid = a + (b - a) / 2;
    if (pr->by_addr[mid]->addr < hi) a = mid + 1;
    else b = mid;
  }
  if (a == 0 || pr->max_end[a - 1] <= lo) return false;
  *name = pr->by_addr[pr->max_at[a - 1]]->name;
  return true;
}

#define BAD(...) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "instruction %zu (%s): " __VA_ARGS__)

/* ldp / stp: rows inside the bank at their pitch, the off-chip rows inside
 * the memory (a store never over a weight or input).  The parameter and
 * residual ranges of an stp depend on the wbp before it: the simulator
 * checks them when it runs (fab_fpga_sim_exec). */
static fab_status check_ewb(const fab_fpga_program *p, const protect *pr, size_t idx, const fab_fpga_insn *in,
                            char *err, size_t errlen) {
  const fab_fpga_config *c = &p->cfg;
  const uint64_t *f = in->f;
  const char *mn = fab_fpga_ops[in->op].mnemonic;
  uint64_t rows = f[FAB_F_EWB_ROWS], len = f[FAB_F_EWB_LEN], ne = f[FAB_F_EWB_NE], lp = f[FAB_F_EWB_LP];
  uint64_t bank = (uint64_t)fab_fpga_bank_words(c), pitch = 1ull << lp;
  if (!rows || !len) BAD("empty transfer (rows=%llu len=%llu)", idx, mn, (unsigned long long)rows, (unsigned long long)len);
  if (ne < 1 || ne > (uint64_t)c->p_be) BAD("ne=%llu outside 1..%d engines", idx, mn, (unsigned long long)ne, c->p_be);
  if (len > pitch) BAD("len=%llu exceeds the row pitch 2^%llu", idx, mn, (unsigned long long)len, (unsigned long long)lp);
  if (in->op == FAB_I_LDP && f[FAB_F_EWB_FN]) BAD("fn is a store feature (must be 0)", idx, mn);
  if (in->op == FAB_I_LDP && f[FAB_F_EWB_KEEP]) BAD("keep is a store feature (must be 0)", idx, mn);
  if (f[FAB_F_EWB_FN] >= FAB_WB_COUNT) BAD("unknown write-back function %llu", idx, mn, (unsigned long long)f[FAB_F_EWB_FN]);
  uint64_t slots = (rows + ne - 1) / ne;
  if (f[FAB_F_EWB_ADDR] + slots * pitch > bank)
    BAD("engine buffer overflow: %llu + %llu rows x %llu > %llu words", idx, mn, (unsigned long long)f[FAB_F_EWB_ADDR],
        (unsigned long long)slots, (unsigned long long)pitch, (unsigned long long)bank);
  uint64_t lo = f[FAB_F_EWB_EXT], hi = lo + (rows - 1) * f[FAB_F_EWB_STRIDE] + len;
  if (hi > p->mem_words)
    BAD("off-chip access [%llu, %llu) outside the %llu-word memory", idx, mn, (unsigned long long)lo,
        (unsigned long long)hi, (unsigned long long)p->mem_words);
  const char *tn;
  if (in->op == FAB_I_STP && overlaps_protected(pr, lo, hi, &tn))
    BAD("store to [%llu, %llu) overwrites weight/input '%s'", idx, mn, (unsigned long long)lo, (unsigned long long)hi, tn);
  return FAB_OK;
}

/* The radices of a digit-reversing load of len = 2^k q1 q2 .. (odd primes
 * ascending, each <= FAB_FPGA_MAX_RADIX): ir/fft.c's fab_fft_factor order.
 * Returns their count, 0 if len has a larger prime factor. */
static int digit_radices(uint64_t len, uint64_t *r) {
  int k = 0;
  while (len % 2 == 0 && k < 64) r[k++] = 2, len /= 2;
  for (uint64_t p = 3; len > 1 && p <= FAB_FPGA_MAX_RADIX && k < 64;)
    if (len % p == 0) r[k++] = p, len /= p;
    else p += 2;
  return len == 1 ? k : 0;
}

bool fab_fpga_digitrev_ok(uint64_t len) {
  uint64_t r[64];
  return len >= 1 && (len == 1 || digit_radices(len, r) > 0);
}

void fab_fpga_digitrev_table(uint64_t len, uint32_t *dst) {
  uint64_t r[64];
  int nr = digit_radices(len, r);
  for (uint64_t p = 0; p < len; p++) { /* element digitrev(p) lands at p */
    uint64_t i = 0, v = p;
    for (int s = 0; s < nr; s++) {
      i = i * r[s] + v % r[s];
      v /= r[s];
    }
    dst[i] = (uint32_t)p;
  }
}

/* fftq: a radix-q stage of size m on rows of n inside the bank. */
static fab_status check_fftq(const fab_fpga_insn *in, const fab_fpga_config *c, size_t idx, char *err,
                             size_t errlen) {
  const uint64_t *f = in->f;
  const char *mn = fab_fpga_ops[in->op].mnemonic;
  uint64_t ne = f[FAB_F_BE_NE], q = f[FAB_F_BE_RQ], m = f[FAB_F_BE_RM], n = f[FAB_F_BE_RN];
  uint64_t nrows = f[FAB_F_BE_NROWS], bank = (uint64_t)fab_fpga_bank_words(c);
  if (ne < 1 || ne > (uint64_t)c->p_be) BAD("ne=%llu outside 1..%d engines", idx, mn, (unsigned long long)ne, c->p_be);
  if (q < 3 || q > FAB_FPGA_MAX_RADIX || q % 2 == 0)
    BAD("radix q=%llu: odd, 3..%d", idx, mn, (unsigned long long)q, FAB_FPGA_MAX_RADIX);
  if (!m || m % q || !n || n % m) BAD("stage size m=%llu must be a multiple of q dividing n=%llu", idx, mn,
                                      (unsigned long long)m, (unsigned long long)n);
  if (f[FAB_F_BE_LOGN] || f[FAB_F_BE_LSTRIDE] || f[FAB_F_BE_NST] || f[FAB_F_BE_DIR] || f[FAB_F_BE_BANK] ||
      f[FAB_F_BE_CB] || f[FAB_F_BE_OS] || f[FAB_F_BE_SB] || f[FAB_F_BE_SRC])
    BAD("logn, ls, nst, inc, bank, cb, os, sb and src must be 0", idx, mn);
  if (!nrows || f[FAB_F_BE_ADDR] + nrows * n > bank)
    BAD("rows [%llu, +%llu x %llu) outside the %llu-word bank", idx, mn, (unsigned long long)f[FAB_F_BE_ADDR],
        (unsigned long long)nrows, (unsigned long long)n, (unsigned long long)bank);
  return FAB_OK;
}

/* A bfly's out-of-place source (os, sb, src): inside its bank and, in the
 * bank it writes, not overlapping the rows it writes (use os = 0 for in
 * place); the other BE instructions have none. */
static fab_status check_source(const fab_fpga_insn *in, uint64_t bank, size_t idx, char *err, size_t errlen) {
  const uint64_t *f = in->f;
  const char *mn = fab_fpga_ops[in->op].mnemonic;
  if (!f[FAB_F_BE_OS]) {
    if (f[FAB_F_BE_SB] || f[FAB_F_BE_SRC]) BAD("sb and src need os = 1", idx, mn);
    return FAB_OK;
  }
  if (in->op != FAB_I_BFLY) BAD("os (an out-of-place first stage) is a bfly feature", idx, mn);
  uint64_t n = 1ull << f[FAB_F_BE_LOGN], size = f[FAB_F_BE_NROWS] * n, src = 8 * f[FAB_F_BE_SRC];
  uint64_t dst = f[FAB_F_BE_ADDR];
  if (src + size > bank)
    BAD("source rows [%llu, +%llu) outside the %llu-word bank", idx, mn, (unsigned long long)src,
        (unsigned long long)size, (unsigned long long)bank);
  if (f[FAB_F_BE_SB] == f[FAB_F_BE_BANK] && src < dst + size && dst < src + size)
    BAD("source rows [%llu, +%llu) overlap the rows written at %llu (in place is os = 0)", idx, mn,
        (unsigned long long)src, (unsigned long long)size, (unsigned long long)dst);
  return FAB_OK;
}

static fab_status check_one(const fab_fpga_program *p, const protect *pr, size_t idx,
                            const fab_fpga_insn *in, char *err, size_t errlen) {
  const fab_fpga_config *c = &p->cfg;
  const uint64_t *f = in->f;
  const char *mn = fab_fpga_ops[in->op].mnemonic;
  uint64_t bank = (uint64_t)fab_fpga_bank_words(c), vm = (uint64_t)c->vm_words;
  switch (in->op) {
  case FAB_I_LD:
  case FAB_I_ST: {
    uint64_t buf = f[FAB_F_DMA_BUF], rows = f[FAB_F_DMA_ROWS], len = f[FAB_F_DMA_LEN];
    uint64_t ne = f[FAB_F_DMA_NE], addr = f[FAB_F_DMA_ADDR];
    if (in->op == FAB_I_ST && (buf == FAB_BUF_CB || buf == FAB_BUF_PB))
      BAD("cannot store from the %s buffer", idx, mn, buf == FAB_BUF_CB ? "coefficient" : "parameter");
    if (!rows || !len) BAD("empty transfer (rows=%llu len=%llu)", idx, mn, (unsigned long long)rows, (unsigned long long)len);
    if (f[FAB_F_DMA_CP] && (in->op != FAB_I_LD || buf != FAB_BUF_VM))
      BAD("cp (the coefficient port) is a feature of loads into the vector memory", idx, mn);
    if (buf == FAB_BUF_BE) {
      if (ne < 1 || ne > (uint64_t)c->p_be) BAD("ne=%llu outside 1..%d engines", idx, mn, (unsigned long long)ne, c->p_be);
      if (f[FAB_F_DMA_CPLX] && f[FAB_F_DMA_BANK]) BAD("complex transfers use both banks (bank must be 0)", idx, mn);
      if (f[FAB_F_DMA_BREV] && (len & (len - 1)) && !fab_fpga_digitrev_ok(len))
        BAD("digit reversal needs a row of 2^k times odd primes up to %d (len=%llu)", idx, mn, FAB_FPGA_MAX_RADIX,
            (unsigned long long)len);
      if (f[FAB_F_DMA_BREV] && in->op == FAB_I_ST) BAD("bit reversal is a load feature", idx, mn);
      uint64_t slots = (rows + ne - 1) / ne;
      if (addr + slots * len > bank)
        BAD("engine buffer overflow: %llu + %llu rows x %llu > %llu words", idx, mn, (unsigned long long)addr,
            (unsigned long long)slots, (unsigned long long)len, (unsigned long long)bank);
    } else {
      if (ne || f[FAB_F_DMA_BANK] || f[FAB_F_DMA_BREV])
        BAD("ne/bank/brev are engine-buffer features", idx, mn);
      if (f[FAB_F_DMA_CPLX] && (buf == FAB_BUF_CB || buf == FAB_BUF_PB))
        BAD("cplx is an engine-buffer and vector-memory feature", idx, mn);
      uint64_t cap = buf == FAB_BUF_CB ? (uint64_t)c->cb_depth : buf == FAB_BUF_PB ? (uint64_t)fab_fpga_pb_words(c) : vm;
      uint64_t w = rows * len * (f[FAB_F_DMA_CPLX] ? 2 : 1);
      if (addr + w > cap)
        BAD("%s overflow: %llu + %llu > %llu words", idx, mn,
            buf == FAB_BUF_CB ? "coefficient buffer" : buf == FAB_BUF_PB ? "parameter buffer" : "vector memory",
            (unsigned long long)addr, (unsigned long long)w, (unsigned long long)cap);
    }
    uint64_t lo, hi;
    dma_extent(in, &lo, &hi);
    if (hi > p->mem_words)
      BAD("off-chip access [%llu, %llu) outside the %llu-word memory", idx, mn, (unsigned long long)lo,
          (unsigned long long)hi, (unsigned long long)p->mem_words);
    const char *tn;
    if (in->op == FAB_I_ST && overlaps_protected(pr, lo, hi, &tn))
      BAD("store to [%llu, %llu) overwrites weight/input '%s'", idx, mn, (unsigned long long)lo,
          (unsigned long long)hi, tn);
    return FAB_OK;
  }
  case FAB_I_GATHER: {
    uint64_t d = f[FAB_F_GATH_D], n = f[FAB_F_GATH_COUNT];
    if (!d || !n) BAD("empty gather", idx, mn);
    if (f[FAB_F_GATH_ADDR] + d * n > vm) BAD("vector memory overflow", idx, mn);
    if (f[FAB_F_GATH_IDS] + n > p->mem_words) BAD("ids outside the off-chip memory", idx, mn);
    if (fab_fpga_program_gather_table(p, f[FAB_F_GATH_TABLE], d)) return FAB_OK;
    BAD("table address %llu is not a [V, %llu] weight", idx, mn, (unsigned long long)f[FAB_F_GATH_TABLE],
        (unsigned long long)d);
  }
  case FAB_I_FFTQ: return check_fftq(in, c, idx, err, errlen);
  case FAB_I_BFLY:
  case FAB_I_FFT:
  case FAB_I_ZERO: {
    uint64_t ne = f[FAB_F_BE_NE], logn = f[FAB_F_BE_LOGN], nrows = f[FAB_F_BE_NROWS];
    if (ne < 1 || ne > (uint64_t)c->p_be) BAD("ne=%llu outside 1..%d engines", idx, mn, (unsigned long long)ne, c->p_be);
    if (f[FAB_F_BE_RQ] || f[FAB_F_BE_RM] || f[FAB_F_BE_RN]) BAD("q, m and n are fftq fields (must be 0)", idx, mn);
    if (logn < 1 || logn > 12) BAD("logn=%llu outside 1..12", idx, mn, (unsigned long long)logn);
    uint64_t n = 1ull << logn;
    if (!nrows || f[FAB_F_BE_ADDR] + nrows * n > bank)
      BAD("rows [%llu, +%llu x %llu) outside the %llu-word bank", idx, mn, (unsigned long long)f[FAB_F_BE_ADDR],
          (unsigned long long)nrows, (unsigned long long)n, (unsigned long long)bank);
    uint64_t nst = f[FAB_F_BE_NST], ls = f[FAB_F_BE_LSTRIDE];
    fab_status so = check_source(in, bank, idx, err, errlen);
    if (so) return so;
    if (in->op == FAB_I_ZERO) {
      if (nst || ls || f[FAB_F_BE_DIR] || f[FAB_F_BE_RIN] || f[FAB_F_BE_CB]) BAD("stage fields must be 0", idx, mn);
      return FAB_OK;
    }
    if (nst < 1) BAD("no stages", idx, mn);
    int64_t last = f[FAB_F_BE_DIR] ? (int64_t)(ls + nst - 1) : (int64_t)ls - (int64_t)(nst - 1);
    if (ls >= logn || last < 0 || last >= (int64_t)logn)
      BAD("stage log strides %llu..%lld outside 0..%llu", idx, mn, (unsigned long long)ls, (long long)last,
          (unsigned long long)(logn - 1));
    if (in->op == FAB_I_FFT) {
      if (f[FAB_F_BE_BANK] || f[FAB_F_BE_CB]) BAD("bank and cb must be 0 in FFT mode", idx, mn);
    } else {
      if (f[FAB_F_BE_RIN]) BAD("rin is an FFT feature", idx, mn);
      if (f[FAB_F_BE_CB] + nst * 2 * n > (uint64_t)c->cb_depth) BAD("coefficients outside the coefficient buffer", idx, mn);
    }
    return FAB_OK;
  }
  case FAB_I_MM: {
    uint64_t m = f[FAB_F_MM_M], k = f[FAB_F_MM_K], n = f[FAB_F_MM_N];
    if (!m || !k || !n) BAD("empty matrix", idx, mn);
    if (f[FAB_F_MM_A] + m * k > vm || f[FAB_F_MM_B] + k * n > vm || f[FAB_F_MM_C] + m * n > vm)
      BAD("operand outside the vector memory", idx, mn);
    return FAB_OK;
  }
  case FAB_I_ATTN:
  case FAB_I_ATTNS:
  case FAB_I_ATTNM: {
    uint64_t s = f[FAB_F_ATTN_S], t = f[FAB_F_ATTN_T], dh = f[FAB_F_ATTN_DH];
    uint64_t state = in->op == FAB_I_ATTN ? 0 : 2 * s; /* m, l after O */
    if (!s || !t || !dh) BAD("empty attention", idx, mn);
    if (f[FAB_F_ATTN_Q] + (s + 2 * t) * dh > vm || f[FAB_F_ATTN_O] + s * dh + state > vm)
      BAD("operand outside the vector memory", idx, mn);
    if (!isfinite(fab_fpga_bits_f32(f[FAB_F_ATTN_SCALE]))) BAD("scale is not finite", idx, mn);
    return FAB_OK;
  }
  case FAB_I_PPU: {
    uint64_t fn = f[FAB_F_PPU_FN], rows = f[FAB_F_PPU_ROWS], len = f[FAB_F_PPU_LEN];
    if (fn >= FAB_PPU_COUNT) BAD("unknown function %llu", idx, mn, (unsigned long long)fn);
    if (!rows || !len) BAD("empty operation", idx, mn);
    if (f[FAB_F_PPU_A] + rows * len > vm) BAD("operand a outside the vector memory", idx, mn);
    uint64_t bw = 0;
    switch (fn) {
    case FAB_PPU_ADD:
    case FAB_PPU_MUL: bw = f[FAB_F_PPU_BC] ? len : rows * len; break;
    case FAB_PPU_LN: bw = 2 * len; break;
    case FAB_PPU_MEAN: bw = len; break;
    default:
      if (f[FAB_F_PPU_B] || f[FAB_F_PPU_BC]) BAD("b/bc unused by %s must be 0", idx, mn, fab_fpga_ppufn_names[fn]);
    }
    if (f[FAB_F_PPU_B] + bw > vm) BAD("operand b outside the vector memory", idx, mn);
    if (f[FAB_F_PPU_MK] && fn != FAB_PPU_SOFTMAX && fn != FAB_PPU_MEAN)
      BAD("mk is a softmax and mean feature", idx, mn);
    if (!isfinite(fab_fpga_bits_f32(f[FAB_F_PPU_PARAM]))) BAD("parameter is not finite", idx, mn);
    return FAB_OK;
  }
  case FAB_I_LDP:
  case FAB_I_STP: return check_ewb(p, pr, idx, in, err, errlen);
  case FAB_I_WBP:
    if (f[FAB_F_WBP_PB] > (uint64_t)fab_fpga_pb_words(c) || f[FAB_F_WBP_GB] > (uint64_t)fab_fpga_pb_words(c))
      BAD("pb/gb outside the %d-word parameter buffer", idx, mn, fab_fpga_pb_words(c));
    if (!isfinite(fab_fpga_bits_f32(f[FAB_F_WBP_EPS]))) BAD("eps is not finite", idx, mn);
    return FAB_OK;
  case FAB_I_AMASK:
  case FAB_I_PMASK:
    if (f[FAB_F_MSK_EXT] + f[FAB_F_MSK_N] > p->mem_words)
      BAD("flags [%llu, +%llu) outside the %llu-word memory", idx, mn, (unsigned long long)f[FAB_F_MSK_EXT],
          (unsigned long long)f[FAB_F_MSK_N], (unsigned long long)p->mem_words);
    return FAB_OK;
  default:
    BAD("bad opcode", idx, mn);
  }
}

bool fab_fpga_insn_coef_port(const fab_fpga_insn *in) {
  return in->op == FAB_I_LD && (in->f[FAB_F_DMA_BUF] == FAB_BUF_CB || in->f[FAB_F_DMA_CP]);
}

bool fab_fpga_insn_wport(const fab_fpga_insn *in) {
  return (in->op == FAB_I_LD && in->f[FAB_F_DMA_BUF] == FAB_BUF_BE) || in->op == FAB_I_LDP ||
         (in->op == FAB_I_STP && in->f[FAB_F_EWB_KEEP]);
}

uint32_t fab_fpga_insn_version(const fab_fpga_insn *in) {
  uint64_t len = in->f[FAB_F_DMA_LEN];
  if ((in->op == FAB_I_BFLY && in->f[FAB_F_BE_OS]) || (in->op == FAB_I_STP && in->f[FAB_F_EWB_KEEP])) return 6;
  if (in->op == FAB_I_LD && in->f[FAB_F_DMA_CP]) return 5;
  if (in->op == FAB_I_FFTQ || (in->op == FAB_I_LD && in->f[FAB_F_DMA_BREV] && (len & (len - 1)))) return 4;
  if (in->op == FAB_I_LDP || in->op == FAB_I_STP || in->op == FAB_I_WBP ||
      (in->op == FAB_I_LD && in->f[FAB_F_DMA_BUF] == FAB_BUF_PB))
    return 3;
  return fab_fpga_insn_uses_masks(in) ? 2 : 1;
}

bool fab_fpga_insn_uses_masks(const fab_fpga_insn *in) {
  switch (in->op) {
  case FAB_I_AMASK: case FAB_I_PMASK: return true;
  case FAB_I_ATTN: case FAB_I_ATTNS: case FAB_I_ATTNM: return in->f[FAB_F_ATTN_MK] != 0;
  case FAB_I_PPU: return in->f[FAB_F_PPU_MK] != 0;
  default: return false;
  }
}

fab_status fab_fpga_program_check(const fab_fpga_program *p, char *err, size_t errlen) {
  char m[200];
  if (fab_fpga_config_validate(&p->cfg, m, sizeof m))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "program configuration: %s", m);
  if (p->mem_words > FAB_FBIN_MAX_MEM_WORDS) return fab_fpga_fail(err, errlen, FAB_E_LIMIT, "off-chip memory too large");
  for (int i = 0; i < p->ntensors; i++) {
    const fab_fpga_tensor *t = &p->tensors[i];
    /* addr comes from the file: compare without forming addr + words (wraps) */
    if (t->words == 0 || t->addr > p->mem_words || t->words > p->mem_words - t->addr)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "tensor '%s' lies outside the off-chip memory", t->name);
    if (t->kind == FAB_FT_CONST && fab_fpga_const_check(t, err, errlen)) return FAB_E_FORMAT;
    if (fab_fpga_program_find_tensor(p, t->name, t->kind) != i) /* it finds the first */
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "tensor '%s' listed twice", t->name);
  }
  protect pr;
  fab_status st = protect_init(&pr, p) ? FAB_OK : fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  for (size_t i = 0; i < p->ninsn && !st; i++) {
    fab_fpga_insn in;
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, m, sizeof m))
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "instruction %zu: %s", i, m);
    else
      st = check_one(p, &pr, i, &in, err, errlen);
  }
  protect_free(&pr);
  return st;
}
#undef BAD
