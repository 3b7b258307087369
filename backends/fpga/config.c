/* config.c — accelerator configuration files (configs/NAME.json). */
#include "fbin.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fab_datadir.h"

int fab_fpga_bank_words(const fab_fpga_config *c) { return c->be_rams * c->be_depth; }
int fab_fpga_pb_words(const fab_fpga_config *c) { return 6 * fab_fpga_bank_words(c); }
int fab_fpga_wb_lanes(const fab_fpga_config *c) { return (c->p_be + c->wb_share - 1) / c->wb_share; }
int fab_fpga_elem_bits(const fab_fpga_config *c) { return c->fp16 ? 16 : 32; }

/* One table of the integer fields: JSON key, offset, range, power of
 * two, and for an optional field its default (0: required) and the first
 * .fbin version that can carry it.  An optional field at its default is
 * left out of the canonical JSON, so the .fbin of a configuration without
 * it is what it was before the field existed; with it, the file is written
 * as (at least) that version, which older readers reject. */
typedef struct ifield {
  const char *key;
  size_t off;
  long lo, hi;
  bool pow2;
  int def;
  uint32_t since;   /* first .fbin version whose CONF may hold the field */
  const char *hint; /* what the field means, in its range error ("" for most) */
} ifield;

#define IF(k, lo, hi, p2) {#k, offsetof(fab_fpga_config, k), lo, hi, p2, 0, 1, ""}
#define IF_OPT(k, lo, hi, def, since, hint) {#k, offsetof(fab_fpga_config, k), lo, hi, false, def, since, hint}
static const ifield ifields[] = {
    IF(p_be, 1, 127, false),        IF(p_bu, 1, 64, true),          IF(be_rams, 2, 128, true),
    IF(be_depth, 16, 65536, true),  IF(cb_depth, 16, 1 << 20, false), IF(att_mults, 1, 65536, false),
    IF(exp_units, 1, 1024, false),  IF(ppu_lanes, 1, 1024, false),  IF(vm_words, 1024, 1 << 20, false),
    IF(bw_in, 8, 65536, false),     IF(bw_coef, 8, 65536, false),   IF(bw_out, 8, 65536, false),
    IF_OPT(wb_share, 1, FAB_FPGA_MAX_WB_SHARE, FAB_FPGA_WB_SHARE, 6, " (engines per write-back lane)"),
};
#undef IF
#undef IF_OPT
#define NIFIELDS (int)(sizeof ifields / sizeof ifields[0])

static int *ifield_ptr(fab_fpga_config *c, int i) { return (int *)((char *)c + ifields[i].off); }
static const int *ifield_cptr(const fab_fpga_config *c, int i) {
  return (const int *)((const char *)c + ifields[i].off);
}
/* Is field i in c's canonical JSON (required, or not at its default)? */
static bool ifield_written(const fab_fpga_config *c, int i) {
  return !ifields[i].def || *ifield_cptr(c, i) != ifields[i].def;
}

fab_status fab_fpga_config_validate(const fab_fpga_config *c, char *err, size_t errlen) {
  for (int i = 0; i < NIFIELDS; i++) {
    long v = *ifield_cptr(c, i);
    if (v < ifields[i].lo || v > ifields[i].hi)
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field '%s' = %ld is outside [%ld, %ld]%s", ifields[i].key,
                           v, ifields[i].lo, ifields[i].hi, ifields[i].hint);
    if (ifields[i].pow2 && (v & (v - 1)))
      return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field '%s' = %ld must be a power of two", ifields[i].key, v);
  }
  if (c->be_rams != 2 * c->p_bu)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'be_rams' = %d must be 2 * p_bu = %d (one RAM per "
                 "butterfly operand)", c->be_rams, 2 * c->p_bu);
  if ((long)c->be_rams * c->be_depth > 4096)
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config fields 'be_rams' * 'be_depth' = %ld exceed the 4096-element "
                 "rows the ISA addresses (13-bit bank address, logn <= 12)",
                 (long)c->be_rams * c->be_depth);
  if (c->cb_depth < 4 * fab_fpga_bank_words(c))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'cb_depth' = %d must hold two stages (ping-pong) of the "
                 "longest row (4 * %d words)", c->cb_depth, fab_fpga_bank_words(c));
  if (!(c->clock_mhz > 0 && c->clock_mhz <= 1000))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'clock_mhz' = %g is outside (0, 1000]", c->clock_mhz);
  if (!(c->efficiency > 0 && c->efficiency <= 1))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'efficiency' = %g is outside (0, 1]", c->efficiency);
  if (c->fp16 != 0 && c->fp16 != 1) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'format' is invalid");
  if (!c->name[0]) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'name' is empty");
  if (strcmp(c->device, "xcvu37p") && strcmp(c->device, "xc7z045") && strcmp(c->device, "generic"))
    return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "config field 'device' = '%s' is not xcvu37p, xc7z045 or generic",
                 c->device);
  return FAB_OK;
}

fab_status fab_fpga_config_parse(const char *json, size_t len, const char *what,
                                 fab_fpga_config *c, char *err, size_t errlen) {
  json_error_t je;
  json_t *root = json_loadb(json, len, 0, &je);
  if (!root) return fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s:%d: bad JSON: %s", what, je.line, je.text);
  fab_status st = FAB_OK;
  memset(c, 0, sizeof *c);
  for (int i = 0; i < NIFIELDS; i++) *ifield_ptr(c, i) = ifields[i].def;
  if (!json_is_object(root)) {
    st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: the configuration must be a JSON object", what);
    goto out;
  }
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    int i;
    for (i = 0; i < NIFIELDS; i++)
      if (!strcmp(key, ifields[i].key)) break;
    if (i < NIFIELDS) {
      char why[300];
      int64_t iv;
      if (!fab_json_int(v, key, -2147483647, 2147483647, &iv, why, sizeof why)) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field %s", what, why);
        goto out;
      }
      *ifield_ptr(c, i) = (int)iv;
    } else if (!strcmp(key, "name") || !strcmp(key, "device") || !strcmp(key, "format")) {
      if (!json_is_string(v)) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field '%s' must be a string", what, key);
        goto out;
      }
      const char *s = json_string_value(v);
      if (!strcmp(key, "format")) {
        if (!strcmp(s, "fp16")) c->fp16 = 1;
        else if (!strcmp(s, "fp32")) c->fp16 = 0;
        else {
          st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field 'format' = '%s' is not fp16 or fp32", what, s);
          goto out;
        }
      } else {
        char *dst = !strcmp(key, "name") ? c->name : c->device;
        size_t cap = !strcmp(key, "name") ? sizeof c->name : sizeof c->device;
        if (strlen(s) >= cap) {
          st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field '%s' is too long", what, key);
          goto out;
        }
        strcpy(dst, s);
      }
    } else if (!strcmp(key, "clock_mhz") || !strcmp(key, "efficiency")) {
      char why[300];
      double *dst = !strcmp(key, "clock_mhz") ? &c->clock_mhz : &c->efficiency;
      if (!fab_json_number(v, key, -1e300, 1e300, dst, why, sizeof why)) {
        st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field %s", what, why);
        goto out;
      }
    } else if (!strcmp(key, "comment")) {
      /* free text */
    } else {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: unknown config field '%s'", what, key);
      goto out;
    }
  }
  static const char *required[] = {"name", "device", "clock_mhz", "format", "efficiency"};
  for (size_t i = 0; i < sizeof required / sizeof *required; i++)
    if (!json_object_get(root, required[i])) {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field '%s' is missing", what, required[i]);
      goto out;
    }
  for (int i = 0; i < NIFIELDS; i++)
    if (!ifields[i].def && !json_object_get(root, ifields[i].key)) {
      st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: config field '%s' is missing", what, ifields[i].key);
      goto out;
    }
  {
    char m[256];
    st = fab_fpga_config_validate(c, m, sizeof m);
    if (st) fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: %s", what, m);
  }
out:
  json_decref(root);
  return st;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Writes "a, b, c" (the NAME of every NAME.json in dir, sorted) into out. */
static void list_configs(const char *dir, char *out, size_t len) {
  enum { MAX_LISTED = 64 };
  char *names[MAX_LISTED];
  int n = 0;
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && n < MAX_LISTED && (e = readdir(dp));) {
    size_t k = strlen(e->d_name);
    if (k > 5 && strcmp(e->d_name + k - 5, ".json") == 0 && (names[n] = strdup(e->d_name))) {
      names[n][k - 5] = 0;
      n++;
    }
  }
  if (dp) closedir(dp);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  size_t used = 0;
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    if (used < len) used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", names[i]);
    free(names[i]);
  }
  if (n == 0) snprintf(out, len, "none");
}

/* Opens a configuration: a file, else (for a bare NAME or NAME.json) the
 * shipped configs/NAME.json in fabc's data folder.  NULL after writing
 * the error, which lists the shipped names. */
static FILE *open_config(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f || strchr(path, '/') || errno != ENOENT) {
    if (!f && err && errlen)
      snprintf(err, errlen, "cannot open configuration '%s': %s", path, strerror(errno));
    return f;
  }
  char dir[PATH_MAX], file[PATH_MAX + 80], names[512];
  if (!fab_data_dir(FAB_DATA_CONFIGS, dir, sizeof dir)) {
    if (err && errlen)
      snprintf(err, errlen, "cannot open configuration '%s': no such file, and fabc's data folder "
                            "with the shipped configurations was not found", path);
    return NULL;
  }
  size_t k = strlen(path);
  const char *ext = k > 5 && strcmp(path + k - 5, ".json") == 0 ? "" : ".json";
  if ((size_t)snprintf(file, sizeof file, "%s/%s%s", dir, path, ext) < sizeof file &&
      (f = fopen(file, "rb")))
    return f;
  list_configs(dir, names, sizeof names);
  if (err && errlen)
    snprintf(err, errlen, "unknown accelerator configuration '%s': no such file, and not one of "
                          "the configurations in %s: %s", path, dir, names);
  return NULL;
}

fab_status fab_fpga_config_load(const char *path, fab_fpga_config *c, char *err, size_t errlen) {
  FILE *f = open_config(path, err, errlen);
  if (!f) return FAB_E_IO;
  char *buf = malloc(1 << 16);
  if (!buf) {
    fclose(f);
    return FAB_E_NOMEM;
  }
  size_t n = fread(buf, 1, (1 << 16), f);
  fclose(f);
  fab_status st;
  if (n == (1 << 16)) st = fab_fpga_fail(err, errlen, FAB_E_FORMAT, "%s: configuration file too large", path);
  else st = fab_fpga_config_parse(buf, n, path, c, err, errlen);
  free(buf);
  return st;
}

char *fab_fpga_config_to_json(const fab_fpga_config *c) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "name", json_string(c->name));
  json_object_set_new(o, "device", json_string(c->device));
  json_object_set_new(o, "clock_mhz", json_real(c->clock_mhz));
  for (int i = 0; i < NIFIELDS; i++)
    if (ifield_written(c, i)) json_object_set_new(o, ifields[i].key, json_integer(*ifield_cptr(c, i)));
  json_object_set_new(o, "format", json_string(c->fp16 ? "fp16" : "fp32"));
  json_object_set_new(o, "efficiency", json_real(c->efficiency));
  char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(17));
  json_decref(o);
  return s;
}

uint32_t fab_fpga_config_fbin_version(const fab_fpga_config *c, const char **field) {
  uint32_t v = 1;
  for (int i = 0; i < NIFIELDS; i++)
    if (ifield_written(c, i) && ifields[i].since > v) {
      v = ifields[i].since;
      if (field) *field = ifields[i].key;
    }
  return v;
}

bool fab_fpga_config_equal(const fab_fpga_config *a, const fab_fpga_config *b, char *what,
                           size_t len) {
  const char *d = NULL;
  if (strcmp(a->name, b->name)) d = "name";
  else if (strcmp(a->device, b->device)) d = "device";
  else if (a->clock_mhz != b->clock_mhz) d = "clock_mhz";
  else if (a->fp16 != b->fp16) d = "format";
  else if (a->efficiency != b->efficiency) d = "efficiency";
  for (int i = 0; !d && i < NIFIELDS; i++)
    if (*ifield_cptr(a, i) != *ifield_cptr(b, i)) d = ifields[i].key;
  if (d && what && len) snprintf(what, len, "%s", d);
  return d == NULL;
}
