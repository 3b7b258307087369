/* space.c — search spaces: JSON, mixed-radix point keys, canonical
 * points, the model's .fab source and the accelerator configuration. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codesign.h"
#include "frontend.h"

static const char *const model_knobs[] = {"layers", "hidden", "ffn_ratio", "heads", "seq",
                                          "kind0",  "kind1",  "kind2",     "kind3", "kind4",
                                          "kind5",  "kind6",  "kind7",     "ffn_linear",
                                          "attn_proj"};
/* Accelerator knobs: fab_fpga_config integer fields, plus "bw" (all three
 * bandwidths), "bank_words" (be_depth = bank_words / be_rams), "clock_mhz"
 * and "format". */
static const char *const accel_knobs[] = {"p_be",      "p_bu",     "be_depth",  "bank_words",
                                          "cb_depth",  "att_mults", "exp_units", "ppu_lanes",
                                          "vm_words",  "bw",        "bw_in",     "bw_coef",
                                          "bw_out",    "clock_mhz", "format",    "efficiency",
                                          "wb_share"};

static bool in_list(const char *n, const char *const *l, int k) {
  for (int i = 0; i < k; i++)
    if (!strcmp(n, l[i])) return true;
  return false;
}
#define NELEM(a) (int)(sizeof(a) / sizeof((a)[0]))

static int knob_index(const fab_cd_space *s, const char *name) {
  for (int i = 0; i < s->nknobs; i++)
    if (!strcmp(s->knobs[i].name, name)) return i;
  return -1;
}

/* What a knob's values may be: integers, real numbers, or one of two
 * words (numbers 0 and 1 also name them, as they always have). */
typedef enum { KNOB_INT, KNOB_REAL, KNOB_WORD } knob_type;

static knob_type knob_type_of(const char *name, const char **w0, const char **w1) {
  static const char *const reals[] = {"ffn_ratio", "clock_mhz", "efficiency"};
  *w0 = *w1 = NULL;
  if (!strncmp(name, "kind", 4)) *w0 = "fbfly", *w1 = "abfly";
  else if (!strcmp(name, "ffn_linear") || !strcmp(name, "attn_proj")) *w0 = "bfly", *w1 = "dense";
  else if (!strcmp(name, "format")) *w0 = "fp32", *w1 = "fp16";
  if (*w0) return KNOB_WORD;
  return in_list(name, reals, NELEM(reals)) ? KNOB_REAL : KNOB_INT;
}

/* Integer knobs are sizes and counts: [1, 2^30] keeps every product the
 * model and configuration form from them inside int. */
#define KNOB_INT_MAX (1 << 30)

static bool parse_value(fab_cd_knob *k, int i, json_t *v, const char *path, const char *what,
                        fab_diag *d) {
  const char *w0, *w1;
  knob_type t = knob_type_of(k->name, &w0, &w1);
  char err[400];
  int64_t iv;
  if (t == KNOB_WORD && json_is_string(v)) {
    const char *str = json_string_value(v);
    if (strcmp(str, w0) && strcmp(str, w1)) {
      snprintf(err, sizeof err, "\"%s\" must be \"%s\" or \"%s\", got \"%.40s\"", path, w0, w1, str);
      goto bad;
    }
    snprintf(k->strs[i], sizeof k->strs[i], "%s", str);
    k->vals[i] = i;
    return true;
  }
  if (t == KNOB_REAL) {
    if (!fab_json_number(v, path, 0, 1e6, &k->vals[i], err, sizeof err)) goto bad;
    return true;
  }
  if (!fab_json_int(v, path, t == KNOB_WORD ? 0 : 1, t == KNOB_WORD ? 1 : KNOB_INT_MAX, &iv, err,
                    sizeof err))
    goto bad;
  k->vals[i] = (double)iv;
  return true;
bad:
  fab_error(d, (fab_loc){0}, "%s: %s", what, err);
  return false;
}

static bool parse_knob(fab_cd_knob *k, const char *group, const char *name, json_t *vals,
                       const char *what, fab_diag *d) {
  fab_loc nl = {0};
  snprintf(k->name, sizeof k->name, "%s", name);
  if (!json_is_array(vals) || json_array_size(vals) == 0 ||
      json_array_size(vals) > FAB_CD_MAX_VALS) {
    fab_error(d, nl, "%s: knob '%s' must be a non-empty array of at most %d values", what, name,
              FAB_CD_MAX_VALS);
    return false;
  }
  k->nvals = (int)json_array_size(vals);
  bool ok = true;
  for (int i = 0; i < k->nvals; i++) {
    char path[80];
    snprintf(path, sizeof path, "%s.%s[%d]", group, name, i);
    ok = ok && parse_value(k, i, json_array_get(vals, (size_t)i), path, what, d);
  }
  return ok;
}

/* The task and constraint fields at the top of the file. */
static bool parse_task(json_t *root, const char *what, fab_cd_space *s, fab_diag *d) {
  static const struct {
    const char *key;
    int64_t lo, hi, dflt;
  } ints[] = {{"vocab", 1, 1 << 24, 256}, {"classes", 1, 1 << 24, 2},
              {"seq", 1, 1 << 24, 1024}, {"pe_total", 0, 1 << 24, 0}};
  int *dst[] = {&s->vocab, &s->classes, &s->seq, &s->pe_total};
  char err[300];
  bool ok = true;
  for (int i = 0; i < NELEM(ints); i++) {
    int64_t v;
    if (fab_json_member_int(root, NULL, ints[i].key, ints[i].lo, ints[i].hi, ints[i].dflt, &v, err,
                            sizeof err))
      *dst[i] = (int)v;
    else
      fab_error(d, (fab_loc){0}, "%s: %s", what, err), ok = false;
  }
  if (!fab_json_member_number(root, NULL, "max_latency_ms", 0, 1e12, 0, &s->max_latency_ms, err,
                              sizeof err))
    fab_error(d, (fab_loc){0}, "%s: %s", what, err), ok = false;
  json_t *rf = json_object_get(root, "require_fit");
  if (rf && !json_is_boolean(rf))
    fab_error(d, (fab_loc){0}, "%s: \"require_fit\" must be true or false", what), ok = false;
  s->require_fit = !json_is_false(rf);
  return ok;
}

/* nmodels and naccels, or false if the space has more than
 * FAB_CD_MAX_POINTS points (keys are int64). */
static bool space_size(fab_cd_space *s) {
  s->nmodels = s->naccels = 1;
  for (int i = 0; i < s->nknobs; i++) {
    int64_t *n = s->knobs[i].model ? &s->nmodels : &s->naccels;
    if (__builtin_mul_overflow(*n, (int64_t)s->knobs[i].nvals, n)) return false;
  }
  int64_t size;
  return !__builtin_mul_overflow(s->nmodels, s->naccels, &size) && size <= FAB_CD_MAX_POINTS;
}

bool fab_cd_space_parse(const char *json, size_t len, const char *what, fab_cd_space *s,
                        fab_diag *d) {
  fab_loc nl = {0};
  memset(s, 0, sizeof *s);
  json_error_t je;
  json_t *root = json_loadb(json, len, 0, &je);
  if (!root) {
    fab_error(d, nl, "%s:%d: bad JSON: %s", what, je.line, je.text);
    return false;
  }
  bool ok = true;
  json_t *name = json_object_get(root, "name");
  snprintf(s->name, sizeof s->name, "%s", json_is_string(name) ? json_string_value(name) : what);
  if (!parse_task(root, what, s, d)) ok = false;
  json_t *ob = json_object_get(root, "objectives");
  s->objectives = 0;
  if (json_is_string(ob)) s->objectives = fab_cd_objectives_parse(json_string_value(ob));
  if (ob && !s->objectives) {
    fab_error(d, (fab_loc){0}, "%s: \"objectives\" must be a string listing accuracy, latency and/or area", what);
    ok = false;
  }

  /* the accelerator base: the authors' VCU128 build unless "base" overrides */
  const char *base_json =
      "{\"name\":\"cd\",\"device\":\"xcvu37p\",\"clock_mhz\":200,\"p_be\":40,\"p_bu\":4,"
      "\"be_rams\":8,\"be_depth\":512,\"cb_depth\":65536,\"att_mults\":1024,\"exp_units\":64,"
      "\"ppu_lanes\":64,\"vm_words\":262144,\"bw_in\":2048,\"bw_coef\":256,\"bw_out\":2048,"
      "\"format\":\"fp16\",\"efficiency\":0.85}";
  char err[256];
  json_t *base = json_object_get(root, "base");
  char *bj = base ? json_dumps(base, JSON_COMPACT) : NULL;
  fab_status st = bj ? fab_fpga_config_parse(bj, strlen(bj), what, &s->base, err, sizeof err)
                     : fab_fpga_config_parse(base_json, strlen(base_json), what, &s->base, err,
                                             sizeof err);
  free(bj);
  if (st != FAB_OK) {
    fab_error(d, nl, "%s: base accelerator: %s", what, err);
    ok = false;
  }

  json_t *mk = json_object_get(root, "model"), *ak = json_object_get(root, "accel");
  if (!json_is_object(mk) || !json_is_object(ak)) {
    fab_error(d, nl, "%s: a space needs objects \"model\" and \"accel\" of knobs", what);
    json_decref(root);
    return false;
  }
  const char *key;
  json_t *val;
  json_object_foreach(mk, key, val) {
    if (!in_list(key, model_knobs, NELEM(model_knobs))) {
      fab_error(d, nl, "%s: unknown model knob '%s'", what, key);
      ok = false;
      continue;
    }
    if (s->nknobs == FAB_CD_MAX_KNOBS) break;
    fab_cd_knob *k = &s->knobs[s->nknobs];
    k->model = true;
    if (parse_knob(k, k->model ? "model" : "accel", key, val, what, d)) s->nknobs++;
    else ok = false;
  }
  s->nmodel_knobs = s->nknobs;
  json_object_foreach(ak, key, val) {
    if (!in_list(key, accel_knobs, NELEM(accel_knobs))) {
      fab_error(d, nl, "%s: unknown accelerator knob '%s'", what, key);
      ok = false;
      continue;
    }
    if (s->nknobs == FAB_CD_MAX_KNOBS) {
      fab_error(d, nl, "%s: more than %d knobs", what, FAB_CD_MAX_KNOBS);
      ok = false;
      break;
    }
    fab_cd_knob *k = &s->knobs[s->nknobs];
    k->model = false;
    if (parse_knob(k, k->model ? "model" : "accel", key, val, what, d)) s->nknobs++;
    else ok = false;
  }
  if (s->pe_total > 0 && knob_index(s, "p_be") >= 0) {
    fab_error(d, nl, "%s: \"pe_total\" derives p_be from p_bu; remove the p_be knob", what);
    ok = false;
  }
  if (!space_size(s)) {
    fab_error(d, nl, "%s: the space has more than 2^62 points (the product of the knobs' value "
              "counts); the limit keeps every key an int64", what);
    ok = false;
  }
  json_decref(root);
  return ok;
}

bool fab_cd_space_load(const char *path, fab_cd_space *s, fab_diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fab_error(d, (fab_loc){0}, "cannot open search space '%s'", path);
    return false;
  }
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 > cap) {
      cap = cap ? 2 * cap : 8192;
      char *nb = realloc(buf, cap);
      if (!nb) { /* never parse a truncated file */
        free(buf);
        fclose(f);
        fab_error(d, (fab_loc){0}, "%s: out of memory", path);
        return false;
      }
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  bool ok = buf && fab_cd_space_parse(buf, n, path, s, d);
  free(buf);
  return ok;
}

int64_t fab_cd_space_size(const fab_cd_space *s) { return s->nmodels * s->naccels; }

/* Model knobs are the high digits of the key, accelerator knobs the low
 * ones; inside each group the first knob varies slowest. */
void fab_cd_point_decode(const fab_cd_space *s, int64_t key, fab_cd_point *p) {
  memset(p, 0, sizeof *p);
  p->key = key;
  for (int i = s->nknobs - 1; i >= 0; i--) {
    p->v[i] = (uint8_t)(key % s->knobs[i].nvals);
    key /= s->knobs[i].nvals;
  }
}

int64_t fab_cd_point_encode(const fab_cd_space *s, const fab_cd_point *p) {
  int64_t key = 0;
  for (int i = 0; i < s->nknobs; i++) key = key * s->knobs[i].nvals + p->v[i];
  return key;
}

int64_t fab_cd_model_index(const fab_cd_space *s, int64_t key) { return key / s->naccels; }
int64_t fab_cd_accel_index(const fab_cd_space *s, int64_t key) { return key % s->naccels; }

static double kval(const fab_cd_space *s, const fab_cd_point *p, const char *name, double dflt,
                   const char **str) {
  int i = knob_index(s, name);
  if (str) *str = NULL;
  if (i < 0) return dflt;
  if (str && s->knobs[i].strs[p->v[i]][0]) *str = s->knobs[i].strs[p->v[i]];
  return s->knobs[i].vals[p->v[i]];
}

void fab_cd_point_model(const fab_cd_space *s, const fab_cd_point *p, fab_cd_model *m) {
  memset(m, 0, sizeof *m);
  const char *str;
  m->layers = (int)kval(s, p, "layers", 2, NULL);
  if (m->layers < 1) m->layers = 1;
  if (m->layers > FAB_CD_MAX_LAYERS) m->layers = FAB_CD_MAX_LAYERS;
  m->hidden = (int)kval(s, p, "hidden", 256, NULL);
  m->ffn = (int)lround(m->hidden * kval(s, p, "ffn_ratio", 2, NULL));
  m->heads = (int)kval(s, p, "heads", 2, NULL);
  m->seq = (int)kval(s, p, "seq", s->seq, NULL);
  m->vocab = s->vocab;
  m->classes = s->classes;
  for (int l = 0; l < m->layers; l++) {
    char kn[16];
    snprintf(kn, sizeof kn, "kind%d", l);
    double v = kval(s, p, kn, 0, &str);
    m->kind[l] = str ? !strcmp(str, "abfly") : v != 0;
  }
  kval(s, p, "ffn_linear", 0, &str);
  m->ffn_dense = str && !strcmp(str, "dense");
  kval(s, p, "attn_proj", 0, &str);
  m->proj_dense = str && !strcmp(str, "dense");
}

bool fab_cd_point_config(const fab_cd_space *s, const fab_cd_point *p, fab_fpga_config *c,
                         fab_diag *d) {
  *c = s->base;
  const char *str;
  c->p_bu = (int)kval(s, p, "p_bu", c->p_bu, NULL);
  c->p_be = s->pe_total > 0 ? s->pe_total / (c->p_bu > 0 ? c->p_bu : 1)
                            : (int)kval(s, p, "p_be", c->p_be, NULL);
  c->be_rams = 2 * c->p_bu;
  int bank = (int)kval(s, p, "bank_words", 4096, NULL);
  c->be_depth = (int)kval(s, p, "be_depth", bank / (c->be_rams > 0 ? c->be_rams : 1), NULL);
  c->cb_depth = (int)kval(s, p, "cb_depth", c->cb_depth, NULL);
  if (c->cb_depth < 4 * c->be_rams * c->be_depth) c->cb_depth = 4 * c->be_rams * c->be_depth;
  c->att_mults = (int)kval(s, p, "att_mults", c->att_mults, NULL);
  c->exp_units = (int)kval(s, p, "exp_units", c->exp_units, NULL);
  c->ppu_lanes = (int)kval(s, p, "ppu_lanes", c->ppu_lanes, NULL);
  c->wb_share = (int)kval(s, p, "wb_share", c->wb_share, NULL);
  c->vm_words = (int)kval(s, p, "vm_words", c->vm_words, NULL);
  int bw = (int)kval(s, p, "bw", 0, NULL);
  if (bw > 0) c->bw_in = c->bw_coef = c->bw_out = bw;
  c->bw_in = (int)kval(s, p, "bw_in", c->bw_in, NULL);
  c->bw_coef = (int)kval(s, p, "bw_coef", c->bw_coef, NULL);
  c->bw_out = (int)kval(s, p, "bw_out", c->bw_out, NULL);
  c->clock_mhz = kval(s, p, "clock_mhz", c->clock_mhz, NULL);
  c->efficiency = kval(s, p, "efficiency", c->efficiency, NULL);
  kval(s, p, "format", 0, &str);
  if (str) c->fp16 = !strcmp(str, "fp16");
  /* the name is informative only; keep it short of the field */
  snprintf(c->name, sizeof c->name, "cd-a%lld", (long long)fab_cd_accel_index(s, p->key));
  char err[256];
  if (fab_fpga_config_validate(c, err, sizeof err) != FAB_OK) {
    if (d) fab_error(d, (fab_loc){0}, "point %lld: %s", (long long)p->key, err);
    return false;
  }
  return true;
}

bool fab_cd_point_canonical(const fab_cd_space *s, const fab_cd_point *p) {
  fab_cd_model m;
  fab_cd_point_model(s, p, &m);
  for (int l = m.layers; l < FAB_CD_MAX_LAYERS; l++) {
    char kn[16];
    snprintf(kn, sizeof kn, "kind%d", l);
    int i = knob_index(s, kn);
    if (i >= 0 && p->v[i] != 0) return false;
  }
  /* heads only matter with an attention layer; attention projections too */
  bool any_att = false;
  for (int l = 0; l < m.layers; l++) any_att |= m.kind[l] != 0;
  int hi = knob_index(s, "heads"), pi = knob_index(s, "attn_proj");
  if (!any_att && ((hi >= 0 && p->v[hi] != 0) || (pi >= 0 && p->v[pi] != 0))) return false;
  if (m.heads < 1 || m.hidden % m.heads) return false;
  fab_fpga_config c;
  return fab_cd_point_config(s, p, &c, NULL);
}

char *fab_cd_point_str(const fab_cd_space *s, const fab_cd_point *p, char *buf, size_t n) {
  size_t o = 0;
  buf[0] = 0;
  for (int i = 0; i < s->nknobs && o < n; i++) {
    const fab_cd_knob *k = &s->knobs[i];
    char sep = i == 0 ? 0 : (i == s->nmodel_knobs ? ';' : ',');
    int w = k->strs[p->v[i]][0]
                ? snprintf(buf + o, n - o, "%s%s=%s", sep ? (char[]){sep, 0} : "", k->name,
                           k->strs[p->v[i]])
                : snprintf(buf + o, n - o, "%s%s=%g", sep ? (char[]){sep, 0} : "", k->name,
                           k->vals[p->v[i]]);
    if (w < 0) break;
    o += (size_t)w;
  }
  return buf;
}

/* Self-contained blocks so generated models need no include path; the
 * same post-LN blocks as examples/lib/blocks.fab, with the FFN and the
 * attention projections each butterfly or dense. */
char *fab_cd_model_source(const fab_cd_model *m) {
  size_t cap = 4096;
  char *s = malloc(cap);
  if (!s) return NULL;
  /* Butterflies with FABNet's decreasing stride: the accelerator papers'
   * models, and what the latency data sets were measured on. */
  const char *lin = m->ffn_dense ? "linear" : "bfly", *opt = m->ffn_dense ? "" : ", increasing = 0";
  int o = snprintf(
      s, cap,
      "// generated by fab_codesign\n"
      "block ffn(x: f32[s, d], h: dim) -> f32[s, d] {\n"
      "  y = gelu(%s(x, h%s) as fc1);\n  return %s(y, d%s) as fc2;\n}\n"
      "block fbfly(x: f32[s, d], h: dim) -> f32[s, d] {\n"
      "  x = layernorm(x + fourier(x)) as norm1;\n"
      "  return layernorm(x + ffn(x, h) as ffn) as norm2;\n}\n"
      "block abfly(x: f32[s, d], h: dim, heads: dim) -> f32[s, d] {\n"
      "  x = layernorm(x + mha(x, heads, proj = \"%s\", increasing = 0) as attn) as norm1;\n"
      "  return layernorm(x + ffn(x, h) as ffn) as norm2;\n}\n"
      "dim seq = %d;\ndim d = %d;\ndim h = %d;\ndim heads = %d;\n"
      "model cd(tokens: i32[seq]) -> (logits: f32[%d]) {\n"
      "  x = embed(tokens, %d, d) as embed + posembed(seq, d) as pos;\n",
      lin, opt, lin, opt, m->proj_dense ? "dense" : "bfly", m->seq, m->hidden, m->ffn, m->heads, m->classes,
      m->vocab);
  for (int l = 0; l < m->layers && o > 0 && (size_t)o < cap; l++)
    o += snprintf(s + o, cap - (size_t)o, "  x = %s as layers.%d;\n",
                  m->kind[l] ? "abfly(x, h, heads)" : "fbfly(x, h)", l);
  if (o > 0 && (size_t)o < cap)
    snprintf(s + o, cap - (size_t)o, "  logits = linear(meanpool(x), %d) as head;\n}\n",
             m->classes);
  return s;
}

fab_module *fab_cd_model_build(const fab_cd_model *m, fab_diag *d) {
  char *src = fab_cd_model_source(m);
  if (!src) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return NULL;
  }
  fab_module *mod = fab_frontend_compile_string("codesign.fab", src, strlen(src), NULL, d);
  free(src);
  return mod;
}

unsigned fab_cd_front_of(const fab_cd_space *s) {
  return (s->require_fit ? FAB_CD_FRONT_FIT : 0) | fab_cd_objectives_of(s->objectives);
}

unsigned fab_cd_objectives_parse(const char *list) {
  static const char *const names[3] = {"accuracy", "latency", "area"};
  unsigned bits = 0;
  for (const char *p = list; p && *p;) {
    size_t n = strcspn(p, ",");
    int k = 0;
    while (k < 3 && !(strlen(names[k]) == n && !strncmp(p, names[k], n))) k++;
    if (k == 3) return 0;
    bits |= FAB_CD_OBJ_ACCURACY << k;
    p += n + (p[n] == ',');
  }
  return bits;
}
