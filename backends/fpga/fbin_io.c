/* fbin_io.c — the .fbin container and its text form (objdump / as).
 *
 * Layout (little-endian):
 *   0   "FABFBIN\0"
 *   8   u32 version, u32 section count
 *   16  u64 total file size (including the trailing checksum)
 *   24  section table: per section u32 id, u32 0, u64 offset, u64 size
 *   ..  section bodies
 *   end u32 CRC-32 of every byte before it
 * Sections: 1 CONF (canonical configuration JSON), 2 CODE (16-byte words),
 * 3 TENS (tensor table), 4 META (u64 mem_words, u64 model_cycles). */
#include "fbin.h"

#include <stdlib.h>
#include <string.h>

enum { SEC_CONF = 1, SEC_CODE, SEC_TENS, SEC_META, SEC_COUNT = 4 };
#define HDR 24
#define SECENT 24

typedef struct wbuf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} wbuf;

static void put(wbuf *b, const void *d, size_t n) {
  if (b->oom || n == 0) return; /* n == 0: d and b->p may be NULL (an empty program) */
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void put32(wbuf *b, uint32_t v) { put(b, &v, 4); }
static void put64(wbuf *b, uint64_t v) { put(b, &v, 8); }

/* The lowest version that holds p: 4 with mixed-radix FFTs, 3 with
 * write-back, 2 with mask instructions, else 1. */
static uint32_t program_version(const fab_fpga_program *p) {
  uint32_t v = 1;
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) == FAB_OK &&
        fab_fpga_insn_version(&in) > v)
      v = fab_fpga_insn_version(&in);
  }
  return v;
}

fab_status fab_fpga_fbin_to_mem(const fab_fpga_program *p, uint8_t **out, size_t *len, char *err,
                                size_t errlen) {
  char *conf = fab_fpga_config_to_json(&p->cfg);
  if (!conf) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  wbuf secs[SEC_COUNT];
  memset(secs, 0, sizeof secs);
  put(&secs[0], conf, strlen(conf));
  free(conf);
  put(&secs[1], p->code, p->ninsn * FAB_FPGA_INSN_BYTES);
  put32(&secs[2], (uint32_t)p->ntensors);
  for (int i = 0; i < p->ntensors; i++) {
    const fab_fpga_tensor *t = &p->tensors[i];
    uint8_t h[4] = {(uint8_t)t->kind, (uint8_t)t->dtype, (uint8_t)t->rank, 0};
    put(&secs[2], h, 4);
    put32(&secs[2], (uint32_t)strlen(t->name));
    for (int d = 0; d < t->rank; d++) put64(&secs[2], (uint64_t)t->dims[d]);
    put64(&secs[2], t->addr);
    put(&secs[2], t->name, strlen(t->name));
  }
  put64(&secs[3], p->mem_words);
  put64(&secs[3], p->model_cycles);
  wbuf b = {0};
  put(&b, "FABFBIN", 8);
  put32(&b, program_version(p));
  put32(&b, SEC_COUNT);
  size_t off = HDR + SECENT * SEC_COUNT, total = off + 4;
  for (int s = 0; s < SEC_COUNT; s++) total += secs[s].n;
  put64(&b, total);
  for (int s = 0; s < SEC_COUNT; s++) {
    put32(&b, (uint32_t)(s + 1));
    put32(&b, 0);
    put64(&b, off);
    put64(&b, secs[s].n);
    off += secs[s].n;
  }
  bool oom = false;
  for (int s = 0; s < SEC_COUNT; s++) {
    if (secs[s].n) put(&b, secs[s].p, secs[s].n);
    oom |= secs[s].oom;
    free(secs[s].p);
  }
  if (!b.oom) put32(&b, fab_fpga_crc32(b.p, b.n));
  if (oom || b.oom) {
    free(b.p);
    return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  }
  *out = b.p;
  *len = b.n;
  return FAB_OK;
}

fab_status fab_fpga_fbin_write(const char *path, const fab_fpga_program *p, char *err,
                               size_t errlen) {
  uint8_t *buf;
  size_t len;
  fab_status st = fab_fpga_fbin_to_mem(p, &buf, &len, err, errlen);
  if (st) return st;
  st = fab_write_file_atomic(path, buf, len, err, errlen);
  free(buf);
  return st;
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static fab_status read_tens(fab_fpga_program *p, const uint8_t *s, uint64_t n, char *err,
                            size_t errlen) {
  if (n < 4) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: truncated tensor table");
  uint32_t count = rd32(s);
  uint64_t o = 4;
  if (count > 1u << 20) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: absurd tensor count %u", count);
  /* at least 8 bytes an entry: a short table cannot reserve much */
  if (count <= n / 8 && fab_fpga_program_reserve_tensors(p, (int)count))
    return fab_fpga_fail(err, errlen, FAB_E_NOMEM, ".fbin: out of memory for %u tensors", count);
  for (uint32_t i = 0; i < count; i++) {
    if (n - o < 8) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: truncated tensor entry %u", i);
    unsigned kind = s[o], dt = s[o + 1], rank = s[o + 2];
    uint32_t nl = rd32(s + o + 4);
    o += 8;
    if (kind > FAB_FT_CONST || dt > FAB_FD_C64 || rank > FAB_TENSOR_MAX_RANK || s[o - 5] != 0)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: tensor entry %u has a bad kind/dtype/rank", i);
    if (nl == 0 || nl > 4096 || n - o < (uint64_t)rank * 8 + 8 + nl)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: truncated tensor entry %u", i);
    int64_t dims[FAB_TENSOR_MAX_RANK];
    for (unsigned d = 0; d < rank; d++) dims[d] = (int64_t)rd64(s + o + 8 * d);
    o += 8ull * rank;
    uint64_t addr = rd64(s + o);
    o += 8;
    char *name = malloc(nl + 1);
    if (!name) return FAB_E_NOMEM;
    memcpy(name, s + o, nl);
    name[nl] = 0;
    o += nl;
    if (strlen(name) != nl) {
      free(name);
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: tensor entry %u has a NUL in its name", i);
    }
    fab_status st = fab_fpga_program_add_tensor(p, name, kind, dt, (int)rank, dims, addr);
    free(name);
    if (st) return fab_fpga_fail(err, errlen, st, ".fbin: tensor entry %u has a bad shape", i);
  }
  if (o != n) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: trailing bytes in the tensor table");
  return FAB_OK;
}

fab_status fab_fpga_fbin_read_mem(const uint8_t *buf, size_t len, fab_fpga_program **out,
                                  char *err, size_t errlen) {
  *out = NULL;
  if (len < HDR + 4 || memcmp(buf, "FABFBIN", 8))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: not an .fbin file (bad magic or too short)");
  uint32_t version = rd32(buf + 8);
  if (version < 1 || version > FAB_FBIN_VERSION)
    return fab_fpga_fail(err, errlen, FAB_E_VERSION, ".fbin: version %u, this simulator reads versions 1 to %d",
                 version, FAB_FBIN_VERSION);
  if (rd64(buf + 16) != len)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: size field %llu but the file has %zu bytes (truncated?)",
                 (unsigned long long)rd64(buf + 16), len);
  if (fab_fpga_crc32(buf, len - 4) != rd32(buf + len - 4))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: checksum mismatch (corrupt file)");
  uint32_t ns = rd32(buf + 12);
  if (ns != SEC_COUNT || len - 4 < HDR + (uint64_t)SECENT * ns)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: bad section count %u", ns);
  const uint8_t *sec[SEC_COUNT] = {0};
  uint64_t ssz[SEC_COUNT] = {0};
  for (uint32_t i = 0; i < ns; i++) {
    const uint8_t *e = buf + HDR + SECENT * i;
    uint32_t id = rd32(e);
    uint64_t off = rd64(e + 8), sz = rd64(e + 16);
    if (id < 1 || id > SEC_COUNT || sec[id - 1] || rd32(e + 4))
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: bad or repeated section id %u", id);
    if (off < HDR + SECENT * (uint64_t)ns || off > len - 4 || sz > len - 4 - off)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: section %u lies outside the file", id);
    sec[id - 1] = buf + off;
    ssz[id - 1] = sz;
  }
  fab_fpga_program *p = fab_fpga_program_new(NULL);
  if (!p) return FAB_E_NOMEM;
  fab_status st;
  char m[256];
  if ((st = fab_fpga_config_parse((const char *)sec[0], ssz[0], ".fbin configuration", &p->cfg, m, sizeof m))) {
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s", m);
    goto bad;
  }
  if (ssz[1] % FAB_FPGA_INSN_BYTES || ssz[1] / FAB_FPGA_INSN_BYTES > FAB_FBIN_MAX_INSNS) {
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: code section of %llu bytes is not whole instructions",
               (unsigned long long)ssz[1]);
    goto bad;
  }
  p->ninsn = ssz[1] / FAB_FPGA_INSN_BYTES;
  p->code = malloc(ssz[1] ? ssz[1] : 1);
  if (!p->code) {
    st = FAB_E_NOMEM;
    goto bad;
  }
  if (ssz[1]) memcpy(p->code, sec[1], ssz[1]);
  if ((st = read_tens(p, sec[2], ssz[2], err, errlen))) goto bad;
  if (ssz[3] != 16) {
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: bad META section");
    goto bad;
  }
  p->mem_words = rd64(sec[3]);
  p->model_cycles = rd64(sec[3] + 8);
  if ((st = fab_fpga_program_check(p, err, errlen))) goto bad;
  uint32_t need = program_version(p);
  if (version < need) {
    st = fab_fpga_fail(err, errlen, FAB_E_VERSION, ".fbin: a version %u file with %s (version %u)", version,
                       need == 4   ? "mixed-radix FFT instructions (fftq or a digit-reversing load)"
                       : need == 3 ? "write-back instructions (ldp, stp, wbp or a parameter-buffer load)"
                                   : "mask instructions",
                       need);
    goto bad;
  }
  *out = p;
  return FAB_OK;
bad:
  fab_fpga_program_free(p);
  return st;
}

fab_status fab_fpga_fbin_read(const char *path, fab_fpga_program **out, char *err, size_t errlen) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return fab_fpga_fail(err, errlen, FAB_E_IO, "cannot open '%s'", path);
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      if (cap > ((size_t)1 << 32)) {
        free(buf);
        fclose(f);
        return fab_fpga_fail(err, errlen, FAB_E_LIMIT, "'%s' is too large", path);
      }
      uint8_t *q = realloc(buf, cap);
      if (!q) {
        free(buf);
        fclose(f);
        return FAB_E_NOMEM;
      }
      buf = q;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  fab_status st = fab_fpga_fbin_read_mem(buf, n, out, err, errlen);
  free(buf);
  return st;
}

/* ---- text form ------------------------------------------------------------- */

static const char *const kind_names[] = {"weight", "input", "output", "const"};
static const char *const dt_names[] = {"f32", "i32", "c64"};

void fab_fpga_objdump(const fab_fpga_program *p, FILE *out) {
  char *conf = fab_fpga_config_to_json(&p->cfg);
  fprintf(out, ".config %s\n.mem %llu\n.model_cycles %llu\n", conf ? conf : "{}",
          (unsigned long long)p->mem_words, (unsigned long long)p->model_cycles);
  free(conf);
  for (int i = 0; i < p->ntensors; i++) {
    const fab_fpga_tensor *t = &p->tensors[i];
    fprintf(out, ".tensor %s %s %s @%llu [", kind_names[t->kind], t->name, dt_names[t->dtype],
            (unsigned long long)t->addr);
    for (int d = 0; d < t->rank; d++) fprintf(out, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    fprintf(out, "]\n");
  }
  for (size_t i = 0; i < p->ninsn; i++) {
    const uint8_t *w = p->code + i * FAB_FPGA_INSN_BYTES;
    fprintf(out, "%6zu: ", i);
    for (int b = 15; b >= 0; b--) fprintf(out, "%02x", w[b]);
    fab_fpga_insn in;
    char txt[512], m[200];
    if (fab_fpga_decode(w, &in, m, sizeof m)) {
      fprintf(out, "  .word ; invalid: %s\n", m);
      continue;
    }
    fab_fpga_disasm(&in, txt, sizeof txt);
    fprintf(out, "  %s  ; %s\n", txt, fab_fpga_queue_names[fab_fpga_ops[in.op].queue]);
  }
}

static bool parse_tensor_line(fab_fpga_program *p, char *s) {
  char kind[16], name[1024], dt[8];
  unsigned long long addr;
  int used = 0;
  if (sscanf(s, "%15s %1023s %7s @%llu [%n", kind, name, dt, &addr, &used) != 4 || !used) return false;
  int k, d;
  for (k = 0; k < 4 && strcmp(kind, kind_names[k]); k++) {}
  for (d = 0; d < 3 && strcmp(dt, dt_names[d]); d++) {}
  if (k == 4 || d == 3) return false;
  int64_t dims[FAB_TENSOR_MAX_RANK];
  int rank = 0;
  char *q = s + used;
  while (*q && *q != ']') {
    if (rank == FAB_TENSOR_MAX_RANK) return false;
    char *e;
    dims[rank++] = strtoll(q, &e, 10);
    if (e == q) return false;
    q = *e == ',' ? e + 1 : e;
  }
  if (*q != ']') return false;
  return fab_fpga_program_add_tensor(p, name, (fab_fpga_tkind)k, (fab_fpga_tdtype)d, rank, dims, addr) == FAB_OK;
}

fab_status fab_fpga_assemble(const char *text, size_t len, fab_fpga_program **out, char *err,
                             size_t errlen) {
  *out = NULL;
  fab_fpga_program *p = fab_fpga_program_new(NULL);
  if (!p) return FAB_E_NOMEM;
  bool have_conf = false;
  size_t pos = 0;
  int lineno = 0;
  fab_status st = FAB_OK;
  char *line = NULL;
  while (pos < len) {
    size_t e = pos;
    while (e < len && text[e] != '\n') e++;
    lineno++;
    free(line);
    line = malloc(e - pos + 1);
    if (!line) {
      st = FAB_E_NOMEM;
      goto bad;
    }
    memcpy(line, text + pos, e - pos);
    line[e - pos] = 0;
    pos = e + 1;
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    char m[256];
    if (!strncmp(s, ".config ", 8)) {
      if ((st = fab_fpga_config_parse(s + 8, strlen(s + 8), "config", &p->cfg, m, sizeof m))) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "line %d: %s", lineno, m);
        goto bad;
      }
      have_conf = true;
      continue;
    }
    if (!strncmp(s, ".mem ", 5)) {
      p->mem_words = strtoull(s + 5, NULL, 10);
      continue;
    }
    if (!strncmp(s, ".model_cycles ", 14)) {
      p->model_cycles = strtoull(s + 14, NULL, 10);
      continue;
    }
    if (!strncmp(s, ".tensor ", 8)) {
      if (!parse_tensor_line(p, s + 8)) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "line %d: bad .tensor directive", lineno);
        goto bad;
      }
      continue;
    }
    /* optional "index:" and 32-digit hex word from objdump */
    char *c = s;
    while (*c >= '0' && *c <= '9') c++;
    if (c > s && *c == ':') {
      s = c + 1;
      while (*s == ' ') s++;
      size_t h = strspn(s, "0123456789abcdef");
      if (h == 32) s += 32;
    }
    fab_fpga_insn in;
    bool empty;
    if (fab_fpga_asm_line(s, &in, &empty, m, sizeof m)) {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "line %d: %s", lineno, m);
      goto bad;
    }
    if (!empty && (st = fab_fpga_program_push(p, &in))) goto bad;
  }
  if (!have_conf) {
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "no .config directive");
    goto bad;
  }
  if ((st = fab_fpga_program_check(p, err, errlen))) goto bad;
  free(line);
  *out = p;
  return FAB_OK;
bad:
  free(line);
  fab_fpga_program_free(p);
  return st;
}
