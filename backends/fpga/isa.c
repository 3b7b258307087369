/* isa.c — encoder, decoder, disassembler, assembler and docs tables of the
 * accelerator ISA, all driven by isa.def. */
#include "isa.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const fab_fpga_queue_names[FAB_Q_COUNT] = {"ld", "be", "att", "ppu", "st"};

const fab_fpga_fieldinfo fab_fpga_fields[FAB_F_COUNT] = {
#define FAB_FIELD(fmt, name, key, lsb, w, kind, desc) {FAB_FMT_##fmt, key, lsb, w, (#kind)[0], desc},
#include "isa.def"
#undef FAB_FIELD
};

const fab_fpga_opinfo fab_fpga_ops[FAB_I_COUNT] = {
#define FAB_INSN(id, mn, fmt, q, desc) {mn, FAB_FMT_##fmt, FAB_Q_##q, desc},
#include "isa.def"
#undef FAB_INSN
};

const char *const fab_fpga_format_names[FAB_FMT_COUNT] = {
#define FAB_FMT(name, desc) #name,
#include "isa.def"
#undef FAB_FMT
};

static const char *const fmt_desc[FAB_FMT_COUNT] = {
#define FAB_FMT(name, desc) desc,
#include "isa.def"
#undef FAB_FMT
};

const char *const fab_fpga_ppufn_names[FAB_PPU_COUNT] = {
#define FAB_PPUFN(id, name, useb, desc) name,
#include "isa.def"
#undef FAB_PPUFN
};

const char *const fab_fpga_wbfn_names[FAB_WB_COUNT] = {
#define FAB_WBFN(id, name, user, desc) name,
#include "isa.def"
#undef FAB_WBFN
};

const bool fab_fpga_wbfn_residual[FAB_WB_COUNT] = {
#define FAB_WBFN(id, name, user, desc) user,
#include "isa.def"
#undef FAB_WBFN
};

static const char *const wbfn_desc[FAB_WB_COUNT] = {
#define FAB_WBFN(id, name, user, desc) desc,
#include "isa.def"
#undef FAB_WBFN
};

static const char *const ppufn_desc[FAB_PPU_COUNT] = {
#define FAB_PPUFN(id, name, useb, desc) desc,
#include "isa.def"
#undef FAB_PPUFN
};

/* Misuse of the field macros is a compiler bug, not bad input: report
 * loudly.  (Decoded hostile words never reach here: decode validates.) */
static void isa_bug(const char *file, int line, const char *msg) {
  fprintf(stderr, "%s:%d: internal error: %s\n", file, line, msg);
  abort();
}

int fab_fpga_check_field(const fab_fpga_insn *in, fab_fpga_field f, const char *file, int line) {
  if ((unsigned)in->op >= FAB_I_COUNT || (unsigned)f >= FAB_F_COUNT ||
      fab_fpga_fields[f].fmt != fab_fpga_ops[in->op].fmt)
    isa_bug(file, line, "field does not belong to the instruction's format");
  return (int)f;
}

void fab_fpga_set_field(fab_fpga_insn *in, fab_fpga_field f, uint64_t v, const char *file,
                        int line) {
  fab_fpga_check_field(in, f, file, line);
  int w = fab_fpga_fields[f].width;
  if (w < 64 && (v >> w) != 0) isa_bug(file, line, "value does not fit its field");
  in->f[f] = v;
}

float fab_fpga_bits_f32(uint64_t bits) {
  uint32_t u = (uint32_t)bits;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

uint64_t fab_fpga_f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}

fab_fpga_insn fab_fpga_insn_make(fab_fpga_opcode op) {
  fab_fpga_insn in;
  memset(&in, 0, sizeof in);
  in.op = op;
  return in;
}

/* ---- bit access on a 128-bit little-endian word ------------------------ */

static uint64_t get_bits(const uint64_t w[2], int lsb, int width) {
  uint64_t v = 0;
  for (int b = 0; b < width; b++) {
    int p = lsb + b;
    v |= ((w[p >> 6] >> (p & 63)) & 1u) << b;
  }
  return v;
}

static void put_bits(uint64_t w[2], int lsb, int width, uint64_t v) {
  for (int b = 0; b < width; b++) {
    int p = lsb + b;
    w[p >> 6] |= ((v >> b) & 1u) << (p & 63);
  }
}

void fab_fpga_encode(const fab_fpga_insn *in, uint8_t out[FAB_FPGA_INSN_BYTES]) {
  uint64_t w[2] = {0, 0};
  put_bits(w, 0, 6, (uint64_t)in->op);
  put_bits(w, 6, 5, in->wait & 31u);
  put_bits(w, 11, 5, in->sig & 31u);
  for (int f = 0; f < FAB_F_COUNT; f++)
    if (fab_fpga_fields[f].fmt == fab_fpga_ops[in->op].fmt)
      put_bits(w, fab_fpga_fields[f].lsb, fab_fpga_fields[f].width, in->f[f]);
  for (int i = 0; i < 16; i++) out[i] = (uint8_t)(w[i >> 3] >> (8 * (i & 7)));
}

fab_status fab_fpga_fail(char *err, size_t errlen, fab_status st, const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return st;
}

fab_status fab_fpga_decode(const uint8_t in[FAB_FPGA_INSN_BYTES], fab_fpga_insn *out, char *err,
                           size_t errlen) {
  uint64_t w[2] = {0, 0};
  for (int i = 0; i < 16; i++) w[i >> 3] |= (uint64_t)in[i] << (8 * (i & 7));
  unsigned op = (unsigned)get_bits(w, 0, 6);
  if (op >= FAB_I_COUNT) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "bad opcode %u", op);
  memset(out, 0, sizeof *out);
  out->op = (fab_fpga_opcode)op;
  out->wait = (unsigned)get_bits(w, 6, 5);
  out->sig = (unsigned)get_bits(w, 11, 5);
  unsigned own = 1u << fab_fpga_ops[op].queue;
  if ((out->wait | out->sig) & own)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: wait/sig names its own queue '%s'", fab_fpga_ops[op].mnemonic,
                fab_fpga_queue_names[fab_fpga_ops[op].queue]);
  /* Rebuild the word from the decoded fields: any difference is a set
   * reserved bit. */
  uint64_t chk[2] = {0, 0};
  put_bits(chk, 0, 16, get_bits(w, 0, 16));
  for (int f = 0; f < FAB_F_COUNT; f++) {
    if (fab_fpga_fields[f].fmt != fab_fpga_ops[op].fmt) continue;
    out->f[f] = get_bits(w, fab_fpga_fields[f].lsb, fab_fpga_fields[f].width);
    put_bits(chk, fab_fpga_fields[f].lsb, fab_fpga_fields[f].width, out->f[f]);
  }
  if (chk[0] != w[0] || chk[1] != w[1])
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: reserved bits set", fab_fpga_ops[op].mnemonic);
  return FAB_OK;
}

/* ---- text form ----------------------------------------------------------- */

static size_t mask_str(unsigned m, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = 0;
  for (int q = 0; q < FAB_Q_COUNT; q++)
    if (m & (1u << q)) {
      int r = snprintf(buf + k, n > k ? n - k : 0, "%s%s", k ? "|" : "", fab_fpga_queue_names[q]);
      if (r > 0) k += (size_t)r;
    }
  return k;
}

void fab_fpga_disasm(const fab_fpga_insn *in, char *buf, size_t len) {
  size_t k = 0;
#define PUT(...)                                                                                   \
  do {                                                                                             \
    int r_ = snprintf(buf + k, len > k ? len - k : 0, __VA_ARGS__);                                \
    if (r_ > 0) k += (size_t)r_;                                                                   \
  } while (0)
  if ((unsigned)in->op >= FAB_I_COUNT) {
    snprintf(buf, len, "<bad opcode %u>", (unsigned)in->op);
    return;
  }
  PUT("%-6s", fab_fpga_ops[in->op].mnemonic);
  for (int f = 0; f < FAB_F_COUNT; f++) {
    const fab_fpga_fieldinfo *fi = &fab_fpga_fields[f];
    if (fi->fmt != fab_fpga_ops[in->op].fmt) continue;
    if (fi->kind == 'F')
      PUT(" %s=%.9g", fi->key, (double)fab_fpga_bits_f32(in->f[f]));
    else if (f == FAB_F_PPU_FN && in->f[f] < FAB_PPU_COUNT)
      PUT(" %s=%s", fi->key, fab_fpga_ppufn_names[in->f[f]]);
    else if (f == FAB_F_EWB_FN && in->f[f] < FAB_WB_COUNT)
      PUT(" %s=%s", fi->key, fab_fpga_wbfn_names[in->f[f]]);
    else
      PUT(" %s=%llu", fi->key, (unsigned long long)in->f[f]);
  }
  char m[64];
  if (in->wait) {
    mask_str(in->wait, m, sizeof m);
    PUT(" wait=%s", m);
  }
  if (in->sig) {
    mask_str(in->sig, m, sizeof m);
    PUT(" sig=%s", m);
  }
#undef PUT
}

static bool parse_mask(const char *s, size_t n, unsigned *out) {
  unsigned m = 0;
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && s[j] != '|') j++;
    int q;
    for (q = 0; q < FAB_Q_COUNT; q++)
      if (strlen(fab_fpga_queue_names[q]) == j - i && !strncmp(s + i, fab_fpga_queue_names[q], j - i))
        break;
    if (q == FAB_Q_COUNT) return false;
    m |= 1u << q;
    i = j + 1;
  }
  *out = m;
  return true;
}

/* The index of name v in names[0..n), -1 if absent (function operands). */
static int name_index(const char *const *names, int n, const char *v) {
  for (int k = 0; k < n; k++)
    if (!strcmp(v, names[k])) return k;
  return -1;
}

fab_status fab_fpga_asm_line(const char *line, fab_fpga_insn *out, bool *empty, char *err,
                             size_t errlen) {
  char buf[512];
  size_t n = strcspn(line, ";\n");
  *empty = false;
  if (n >= sizeof buf) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "line too long");
  memcpy(buf, line, n);
  buf[n] = 0;
  char *p = buf;
  while (isspace((unsigned char)*p)) p++;
  if (!*p) {
    *empty = true;
    return FAB_OK;
  }
  char *mn = p;
  while (*p && !isspace((unsigned char)*p)) p++;
  size_t mlen = (size_t)(p - mn);
  int op;
  for (op = 0; op < FAB_I_COUNT; op++)
    if (strlen(fab_fpga_ops[op].mnemonic) == mlen && !strncmp(mn, fab_fpga_ops[op].mnemonic, mlen))
      break;
  if (op == FAB_I_COUNT) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "unknown mnemonic '%.*s'", (int)mlen, mn);
  *out = fab_fpga_insn_make((fab_fpga_opcode)op);
  bool seen[FAB_F_COUNT] = {false};
  while (*p) {
    while (isspace((unsigned char)*p)) p++;
    if (!*p) break;
    char *key = p;
    while (*p && *p != '=' && !isspace((unsigned char)*p)) p++;
    if (*p != '=') return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "expected key=value at '%s'", key);
    size_t klen = (size_t)(p - key);
    char *val = ++p;
    while (*p && !isspace((unsigned char)*p)) p++;
    size_t vlen = (size_t)(p - val);
    if (vlen == 0) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "empty value for '%.*s'", (int)klen, key);
    char v[64];
    if (vlen >= sizeof v) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "value too long for '%.*s'", (int)klen, key);
    memcpy(v, val, vlen);
    v[vlen] = 0;
    if ((klen == 4 && !strncmp(key, "wait", 4)) || (klen == 3 && !strncmp(key, "sig", 3))) {
      unsigned m;
      if (!parse_mask(v, vlen, &m)) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "bad queue list '%s'", v);
      if (m & (1u << fab_fpga_ops[op].queue))
        return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%.*s names the instruction's own queue", (int)klen, key);
      if (klen == 4) out->wait = m;
      else out->sig = m;
      continue;
    }
    int f;
    for (f = 0; f < FAB_F_COUNT; f++)
      if (fab_fpga_fields[f].fmt == fab_fpga_ops[op].fmt && strlen(fab_fpga_fields[f].key) == klen &&
          !strncmp(fab_fpga_fields[f].key, key, klen))
        break;
    if (f == FAB_F_COUNT)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s has no operand '%.*s'", fab_fpga_ops[op].mnemonic, (int)klen, key);
    if (seen[f]) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "operand '%s' given twice", fab_fpga_fields[f].key);
    seen[f] = true;
    const fab_fpga_fieldinfo *fi = &fab_fpga_fields[f];
    char *end;
    if (fi->kind == 'F') {
      float x = strtof(v, &end);
      if (*end) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "bad number '%s' for '%s'", v, fi->key);
      out->f[f] = fab_fpga_f32_bits(x);
    } else if ((f == FAB_F_PPU_FN || f == FAB_F_EWB_FN) && !isdigit((unsigned char)v[0])) {
      bool ppu = f == FAB_F_PPU_FN;
      int k = name_index(ppu ? fab_fpga_ppufn_names : fab_fpga_wbfn_names, ppu ? FAB_PPU_COUNT : FAB_WB_COUNT, v);
      if (k < 0)
        return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "unknown %s function '%s'", ppu ? "ppu" : "write-back", v);
      out->f[f] = (uint64_t)k;
    } else {
      if (!isdigit((unsigned char)v[0])) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "bad number '%s' for '%s'", v, fi->key);
      unsigned long long x = strtoull(v, &end, 0);
      if (*end) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "bad number '%s' for '%s'", v, fi->key);
      if (fi->width < 64 && (x >> fi->width) != 0)
        return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "value %llu does not fit the %d-bit field '%s'", x, fi->width,
                    fi->key);
      out->f[f] = x;
    }
  }
  return FAB_OK;
}

/* ---- docs ----------------------------------------------------------------- */

void fab_fpga_isa_doc(FILE *out) {
  fprintf(out, "<!-- generated from backends/fpga/isa.def by fab_fpga_isa_doc: do not edit -->\n\n");
  fprintf(out, "| opcode | mnemonic | format | queue | semantics |\n|---|---|---|---|---|\n");
  for (int i = 0; i < FAB_I_COUNT; i++)
    fprintf(out, "| %d | `%s` | %s | %s | %s |\n", i, fab_fpga_ops[i].mnemonic,
            fab_fpga_format_names[fab_fpga_ops[i].fmt], fab_fpga_queue_names[fab_fpga_ops[i].queue],
            fab_fpga_ops[i].desc);
  for (int fm = 0; fm < FAB_FMT_COUNT; fm++) {
    fprintf(out, "\n#### Format %s: %s\n\n| bits | operand | meaning |\n|---|---|---|\n",
            fab_fpga_format_names[fm], fmt_desc[fm]);
    fprintf(out, "| 0..5 | (op) | opcode |\n| 6..10 | `wait` | queues to pop a token from |\n"
                 "| 11..15 | `sig` | queues to push a token to |\n");
    for (int f = 0; f < FAB_F_COUNT; f++)
      if ((int)fab_fpga_fields[f].fmt == fm)
        fprintf(out, "| %d..%d | `%s` | %s%s |\n", fab_fpga_fields[f].lsb,
                fab_fpga_fields[f].lsb + fab_fpga_fields[f].width - 1, fab_fpga_fields[f].key,
                fab_fpga_fields[f].kind == 'F' ? "(fp32) " : "", fab_fpga_fields[f].desc);
  }
  fprintf(out, "\n#### PPU functions\n\n| fn | name | semantics |\n|---|---|---|\n");
  for (int i = 0; i < FAB_PPU_COUNT; i++)
    fprintf(out, "| %d | `%s` | %s |\n", i, fab_fpga_ppufn_names[i], ppufn_desc[i]);
  fprintf(out, "\n#### Write-back functions (stp)\n\n| fn | name | residual | semantics |\n|---|---|---|---|\n");
  for (int i = 0; i < FAB_WB_COUNT; i++)
    fprintf(out, "| %d | `%s` | %s | %s |\n", i, fab_fpga_wbfn_names[i], fab_fpga_wbfn_residual[i] ? "yes" : "no",
            wbfn_desc[i]);
}

/* ---- bank mapping ------------------------------------------------------------ */

unsigned fab_fpga_bank(uint64_t i, unsigned pbu) {
  unsigned b = 2 * pbu; /* a power of two */
  unsigned lb = 0;
  while ((1u << lb) < b) lb++;
  unsigned par = (unsigned)__builtin_parityll(i >> lb);
  return (unsigned)(i & (b - 1)) ^ (par * (b >> 1));
}

unsigned fab_fpga_bank_authors(uint64_t i) {
  return (unsigned)((i % 8 + (uint64_t)__builtin_popcountll((i >> 3) & 0xff)) % 8);
}

void fab_fpga_cycle_operands(unsigned logn, unsigned ls, uint64_t cyc, unsigned pbu, uint64_t *idx) {
  (void)logn;
  uint64_t stride = (uint64_t)1 << ls;
  for (unsigned u = 0; u < pbu; u++) {
    uint64_t i = cyc * pbu + u;
    uint64_t low = i % stride;
    uint64_t p = 2 * (i - low) + low;
    idx[2 * u] = p;
    idx[2 * u + 1] = p + stride;
  }
}
