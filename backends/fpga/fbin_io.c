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
 * 3 TENS (tensor table), 4 META (u64 mem_words, u64 model_cycles), and
 * only in a program with an op map (version 5) 5 OPS: u32 nops, per op
 * u32 length + label bytes, then per instruction the u32 op index
 * (FAB_FPGA_NO_OP: none). */
#include "fbin.h"

#include <stdlib.h>
#include <string.h>

enum { SEC_CONF = 1, SEC_CODE, SEC_TENS, SEC_META, SEC_OPS, SEC_COUNT = 4, SEC_MAX = 5 };
/* Longest op label (bytes) a reader accepts. */
#define OP_LABEL_MAX 4096
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

/* What each .fbin version added to the code and op map (fbin.h), for the
 * reader's error. */
static const char *const version_adds[FAB_FBIN_VERSION + 1] = {
    [2] = "mask instructions",
    [3] = "write-back instructions (ldp, stp, wbp or a parameter-buffer load)",
    [4] = "mixed-radix FFT instructions (fftq or a digit-reversing load)",
    [5] = "an op map or loads through the coefficient port (ld cp=1)",
    [6] = "out-of-place butterflies, results kept in the banks (bfly os=1, stp keep=1)",
};

/* The lowest version that holds p's code and op map: 6 with out-of-place
 * butterflies or kept results, 5 with an op map or VM loads through the
 * coefficient port, 4 with mixed-radix FFTs, 3 with write-back, 2 with
 * mask instructions, else 1. */
static uint32_t code_version(const fab_fpga_program *p) {
  uint32_t v = 1;
  for (size_t i = 0; i < p->ninsn; i++) {
    fab_fpga_insn in;
    if (fab_fpga_decode(p->code + i * FAB_FPGA_INSN_BYTES, &in, NULL, 0) == FAB_OK &&
        fab_fpga_insn_version(&in) > v)
      v = fab_fpga_insn_version(&in);
  }
  if (p->insn_op && v < 5) v = 5;
  return v;
}

/* The lowest version that holds p: its code's, or its configuration's
 * (config.c's optional fields). */
static uint32_t program_version(const fab_fpga_program *p) {
  uint32_t code = code_version(p), conf = fab_fpga_config_fbin_version(&p->cfg, NULL);
  return conf > code ? conf : code;
}

/* A file of `version` that holds what a later version added: the error
 * names it (the code's addition, the configuration field, or both). */
static fab_status check_version(const fab_fpga_program *p, uint32_t version, char *err, size_t errlen) {
  const char *field = "";
  uint32_t code = code_version(p), conf = fab_fpga_config_fbin_version(&p->cfg, &field);
  uint32_t need = conf > code ? conf : code;
  if (version >= need) return FAB_OK;
  bool by_code = code == need, by_conf = conf == need;
  return fab_fpga_fail(err, errlen, FAB_E_VERSION, ".fbin: a version %u file with %s%s%s%s%s (version %u)", version,
                       by_code ? version_adds[need] : "", by_code && by_conf ? " or " : "",
                       by_conf ? "config field '" : "", by_conf ? field : "", by_conf ? "'" : "", need);
}

fab_status fab_fpga_fbin_to_mem(const fab_fpga_program *p, uint8_t **out, size_t *len, char *err,
                                size_t errlen) {
  char *conf = fab_fpga_config_to_json(&p->cfg);
  if (!conf) return fab_fpga_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  wbuf secs[SEC_MAX];
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
  int nsec = p->insn_op ? SEC_MAX : SEC_COUNT;
  if (p->insn_op) {
    put32(&secs[4], p->nops);
    for (uint32_t i = 0; i < p->nops; i++) {
      put32(&secs[4], (uint32_t)strlen(p->op_labels[i]));
      put(&secs[4], p->op_labels[i], strlen(p->op_labels[i]));
    }
    for (size_t i = 0; i < p->ninsn; i++) put32(&secs[4], p->insn_op[i]);
  }
  wbuf b = {0};
  put(&b, "FABFBIN", 8);
  put32(&b, program_version(p));
  put32(&b, (uint32_t)nsec);
  size_t off = HDR + SECENT * (size_t)nsec, total = off + 4;
  for (int s = 0; s < nsec; s++) total += secs[s].n;
  put64(&b, total);
  for (int s = 0; s < nsec; s++) {
    put32(&b, (uint32_t)(s + 1));
    put32(&b, 0);
    put64(&b, off);
    put64(&b, secs[s].n);
    off += secs[s].n;
  }
  bool oom = false;
  for (int s = 0; s < nsec; s++) {
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

/* Every entry of an op map names one of its nops ops or none; `where`
 * begins the error (the binary or the text reader). */
static fab_status check_op_indices(const uint32_t *map, size_t n, uint32_t nops, const char *where, char *err,
                                   size_t errlen) {
  for (size_t i = 0; i < n; i++)
    if (map[i] >= nops && map[i] != FAB_FPGA_NO_OP)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: instruction %zu names op %u of %u", where, i, map[i], nops);
  return FAB_OK;
}

/* The OPS section: labels, then one op index per instruction. */
static fab_status read_ops(fab_fpga_program *p, const uint8_t *s, uint64_t n, char *err, size_t errlen) {
  if (n < 4) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: bad OPS section");
  uint32_t nops = rd32(s);
  uint64_t at = 4;
  if (nops > n / 4) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: OPS section: bad op count %u", nops);
  char **labels = calloc(nops ? nops : 1, sizeof *labels);
  uint32_t *map = malloc((p->ninsn ? p->ninsn : 1) * sizeof *map);
  fab_status st = labels && map ? FAB_OK : FAB_E_NOMEM;
  for (uint32_t i = 0; !st && i < nops; i++) {
    uint32_t l = at + 4 <= n ? rd32(s + at) : UINT32_MAX;
    if (l > OP_LABEL_MAX || at + 4 + l > n) {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: OPS section: op %u's label lies outside it", i);
      break;
    }
    if (!(labels[i] = malloc(l + 1))) st = FAB_E_NOMEM;
    else memcpy(labels[i], s + at + 4, l), labels[i][l] = 0;
    at += 4 + l;
  }
  if (!st && n - at != 4 * (uint64_t)p->ninsn)
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: OPS section: %llu bytes of op indices for %zu instructions",
                       (unsigned long long)(n - at), p->ninsn);
  for (size_t i = 0; !st && i < p->ninsn; i++) map[i] = rd32(s + at + 4 * i);
  if (!st) st = check_op_indices(map, p->ninsn, nops, ".fbin: OPS section", err, errlen);
  if (!st) st = fab_fpga_program_set_op_map(p, nops, (const char *const *)labels, map);
  for (uint32_t i = 0; labels && i < nops; i++) free(labels[i]);
  free(labels);
  free(map);
  return st;
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
  if ((ns != SEC_COUNT && ns != SEC_MAX) || len - 4 < HDR + (uint64_t)SECENT * ns)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".fbin: bad section count %u", ns);
  const uint8_t *sec[SEC_MAX] = {0};
  uint64_t ssz[SEC_MAX] = {0};
  for (uint32_t i = 0; i < ns; i++) {
    const uint8_t *e = buf + HDR + SECENT * i;
    uint32_t id = rd32(e);
    uint64_t off = rd64(e + 8), sz = rd64(e + 16);
    if (id < 1 || id > ns || sec[id - 1] || rd32(e + 4))
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
  if (sec[4] && (st = read_ops(p, sec[4], ssz[4], err, errlen))) goto bad;
  if ((st = fab_fpga_program_check(p, err, errlen))) goto bad;
  if ((st = check_version(p, version, err, errlen))) goto bad;
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

/* The op map as directives: `.op K LABEL` per op, then `.insnops` with
 * runs "K*count" (K = - for none), at most 16 runs a line. */
static void print_op_map(const fab_fpga_program *p, FILE *out) {
  if (!p->insn_op) return;
  for (uint32_t k = 0; k < p->nops; k++) fprintf(out, ".op %u %s\n", k, p->op_labels[k]);
  int runs = 0;
  for (size_t i = 0; i < p->ninsn;) {
    size_t j = i;
    while (j < p->ninsn && p->insn_op[j] == p->insn_op[i]) j++;
    if (runs % 16 == 0) fprintf(out, "%s.insnops", runs ? "\n" : "");
    if (p->insn_op[i] == FAB_FPGA_NO_OP) fprintf(out, " -*%zu", j - i);
    else fprintf(out, " %u*%zu", p->insn_op[i], j - i);
    runs++;
    i = j;
  }
  fprintf(out, "%s.insnops_end\n", runs ? "\n" : "");
}

/* Text op map being read back: labels and runs. */
typedef struct text_ops {
  char **labels;
  uint32_t n, cap;
  uint32_t *map;
  size_t nmap, capmap;
  bool present;
} text_ops;

static bool text_ops_label(text_ops *t, char *s) {
  char *e;
  unsigned long k = strtoul(s, &e, 10);
  if (e == s || *e != ' ' || k != t->n) return false;
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? 2 * t->cap : 64;
    char **q = realloc(t->labels, cap * sizeof *q);
    if (!q) return false;
    t->labels = q;
    t->cap = cap;
  }
  if (!(t->labels[t->n] = strdup(e + 1))) return false;
  t->n++;
  t->present = true;
  return true;
}

static bool text_ops_runs(text_ops *t, char *s) {
  t->present = true;
  for (char *q = strtok(s, " "); q; q = strtok(NULL, " ")) {
    char *e;
    uint32_t op = FAB_FPGA_NO_OP;
    if (*q == '-') e = q + 1;
    else {
      unsigned long v = strtoul(q, &e, 10);
      if (e == q || v >= FAB_FPGA_NO_OP) return false;
      op = (uint32_t)v;
    }
    if (*e != '*') return false;
    char *c = e + 1;
    unsigned long long cnt = strtoull(c, &e, 10);
    if (e == c || *e || cnt == 0 || cnt > FAB_FBIN_MAX_INSNS || t->nmap + cnt > FAB_FBIN_MAX_INSNS) return false;
    if (t->nmap + cnt > t->capmap) {
      size_t cap = t->capmap ? t->capmap : 256;
      while (cap < t->nmap + cnt) cap *= 2;
      uint32_t *m = realloc(t->map, cap * sizeof *m);
      if (!m) return false;
      t->map = m;
      t->capmap = cap;
    }
    for (unsigned long long k = 0; k < cnt; k++) t->map[t->nmap++] = op;
  }
  return true;
}

static fab_status text_ops_attach(fab_fpga_program *p, text_ops *t, char *err, size_t errlen) {
  if (!t->present) return FAB_OK;
  if (t->nmap != p->ninsn)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, ".insnops: %zu op indices for %zu instructions", t->nmap,
                         p->ninsn);
  fab_status st = check_op_indices(t->map, t->nmap, t->n, ".insnops", err, errlen);
  return st ? st : fab_fpga_program_set_op_map(p, t->n, (const char *const *)t->labels, t->map);
}

static void text_ops_free(text_ops *t) {
  for (uint32_t i = 0; i < t->n; i++) free(t->labels[i]);
  free(t->labels);
  free(t->map);
}

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
  print_op_map(p, out);
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
  text_ops tops = {0};
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
    if (!strncmp(s, ".op ", 4) || !strncmp(s, ".insnops ", 9)) {
      if (s[3] == ' ' ? !text_ops_label(&tops, s + 4) : !text_ops_runs(&tops, s + 9)) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "line %d: bad %s directive", lineno,
                           s[3] == ' ' ? ".op (ops numbered from 0 in order)" : ".insnops");
        goto bad;
      }
      continue;
    }
    if (!strcmp(s, ".insnops_end")) {
      tops.present = true;
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
  if ((st = text_ops_attach(p, &tops, err, errlen))) goto bad;
  if ((st = fab_fpga_program_check(p, err, errlen))) goto bad;
  free(line);
  text_ops_free(&tops);
  *out = p;
  return FAB_OK;
bad:
  free(line);
  text_ops_free(&tops);
  fab_fpga_program_free(p);
  return st;
}
