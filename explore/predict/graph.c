/* graph.c — IR graphs for the predictor: JSON export, the JSONL data set
 * reader and node features. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "predict.h"

static double ilog2d(double x) { return x > 1 ? log2(x) : 0; }

/* The ops with a one-hot feature slot, in slot order: the IR's ops when
 * this layout was fixed.  Append only (and bump FAB_PRED_NOPS): a slot's
 * meaning is part of every saved predictor. */
static const char *const slot_ops[] = {
    "input", "weight", "output", "const", "bfly.linear", "dense", "fourier.mix", "mha", "layernorm",
    "gelu", "relu", "softmax", "add", "mul", "embed", "meanpool", "take", "pad", "slice", "reshape",
    "transpose", "stack", "scale", "bfly.stages", "complex", "real", "bitrev", "fft.stages", "dft",
    "matmul", "attention", "bias.gelu", "add.layernorm",
};
_Static_assert(sizeof slot_ops / sizeof *slot_ops == FAB_PRED_NOPS, "FAB_PRED_NOPS is the length of slot_ops");

int fab_pred_op_slot(int opcode) {
  if (opcode < 0 || opcode >= FAB_OP_COUNT) return -1;
  for (int k = 0; k < FAB_PRED_NOPS; k++)
    if (!strcmp(slot_ops[k], fab_opinfos[opcode].name)) return k;
  return -1;
}

/* Multiply-accumulates of one op (the same conventions as explore/stats
 * for butterfly and FFT; elementwise ops count one per element). */
static double op_macs(int code, const fab_type *out, const fab_type *in) {
  double numel = (double)fab_type_numel(out);
  double in_last = in->rank ? (double)in->dims[in->rank - 1] : 1;
  double out_last = out->rank ? (double)out->dims[out->rank - 1] : 1;
  double rows = in_last > 0 ? (double)fab_type_numel(in) / in_last : 1;
  switch (code) {
  case FAB_OP_BFLY_LINEAR: {
    double n = exp2(ceil(ilog2d(in_last)));
    return rows * ceil(out_last / n) * n * ilog2d(n) * 2;
  }
  case FAB_OP_DENSE: return rows * in_last * out_last;
  case FAB_OP_FOURIER_MIX: {
    double s = in->rank >= 2 ? (double)in->dims[in->rank - 2] : 1;
    return 2 * s * in_last * (ilog2d(s) + ilog2d(in_last));
  }
  case FAB_OP_MHA: {
    double s = in->rank >= 2 ? (double)in->dims[in->rank - 2] : 1;
    return 2 * s * s * in_last;
  }
  default: return numel;
  }
}

static bool skip_op(int code) { return code == FAB_OP_WEIGHT || code == FAB_OP_CONST; }

char *fab_pred_graph_json(const fab_module *m, fab_diag *d) {
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "module has no function");
    return NULL;
  }
  int *id = malloc(sizeof(int) * (size_t)(f->nops + 1));
  if (!id) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return NULL;
  }
  json_t *nodes = json_array(), *edges = json_array();
  int n = 0;
  for (int i = 0; i < f->nops && id; i++) {
    const fab_op *op = &f->ops[i];
    id[i] = -1;
    if (skip_op(op->code)) continue;
    id[i] = n++;
    const fab_type *in = &op->type;
    for (int k = 0; k < op->noperands; k++)
      if (!skip_op(f->ops[op->operands[k]].code)) {
        in = &f->ops[op->operands[k]].type;
        break;
      }
    json_t *od = json_array(), *idims = json_array();
    for (int r = 0; r < op->type.rank; r++) json_array_append_new(od, json_integer(op->type.dims[r]));
    for (int r = 0; r < in->rank; r++) json_array_append_new(idims, json_integer(in->dims[r]));
    json_t *nd = json_pack("[s o o f]", fab_opinfos[op->code].name, od, idims,
                           op_macs(op->code, &op->type, in));
    /* attention heads change the work but neither shape nor MACs */
    int64_t heads = fab_op_int(op, "heads", 0);
    if (heads > 0) json_array_append_new(nd, json_integer(heads));
    json_array_append_new(nodes, nd);
    for (int k = 0; k < op->noperands; k++) {
      int src = op->operands[k];
      if (src >= 0 && src < i && id[src] >= 0)
        json_array_append_new(edges, json_pack("[i i]", id[src], id[i]));
    }
  }
  free(id);
  json_t *g = json_pack("{s o s o}", "nodes", nodes, "edges", edges);
  char *s = json_dumps(g, JSON_COMPACT);
  json_decref(g);
  return s;
}

static uint64_t hash_str(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
  return h;
}
static uint64_t hash_int(uint64_t h, int64_t v) {
  for (int i = 0; i < 8; i++) h = (h ^ (uint8_t)(v >> (8 * i))) * 0x100000001B3ull;
  return h;
}

static double dims_numel(json_t *a) {
  double p = 1;
  for (size_t i = 0; i < json_array_size(a); i++) p *= json_number_value(json_array_get(a, i));
  return p;
}
static double dims_last(json_t *a) {
  size_t n = json_array_size(a);
  return n ? json_number_value(json_array_get(a, n - 1)) : 1;
}

/* Elements an op reads and writes: its input and output, plus the weights
 * of a butterfly or dense layer (MACs per row).  Memory traffic, not
 * arithmetic, bounds the small elementwise ops on a CPU. */
static double node_elems(int code, double onum, double inum, double ilast, double macs) {
  double e = onum + inum;
  if ((code == FAB_OP_BFLY_LINEAR || code == FAB_OP_DENSE) && inum > 0 && ilast > 0)
    e += macs / (inum / ilast);
  return e;
}

static bool json_ints(json_t *a, const char *path, int64_t lo, int64_t hi, char *err, size_t n) {
  char at[160];
  int64_t v;
  for (size_t r = 0; r < json_array_size(a); r++) {
    snprintf(at, sizeof at, "%s[%zu]", path, r);
    if (!fab_json_int(json_array_get(a, r), at, lo, hi, &v, err, n)) return false;
  }
  return true;
}

/* The types of a graph's fields: nodes ["op", out dims, in dims, MACs,
 * heads?] with integer dims and heads, edges [a, b] naming nodes; `err`
 * names the first bad field's path. */
static bool graph_typed(json_t *gj, char *err, size_t n) {
  json_t *nodes = json_object_get(gj, "nodes"), *edges = json_object_get(gj, "edges");
  if (!json_is_array(nodes) || !json_is_array(edges)) {
    snprintf(err, n, "\"graph\" needs arrays \"nodes\" and \"edges\"");
    return false;
  }
  char path[128];
  double macs;
  int64_t heads;
  size_t nn = json_array_size(nodes);
  for (size_t i = 0; i < nn; i++) {
    json_t *nd = json_array_get(nodes, i), *hj = json_array_get(nd, 4);
    for (int k = 1; k <= 2; k++) {
      snprintf(path, sizeof path, "graph.nodes[%zu][%d]", i, k);
      if (!json_ints(json_array_get(nd, (size_t)k), path, 1, (int64_t)1 << 40, err, n)) return false;
    }
    snprintf(path, sizeof path, "graph.nodes[%zu][3]", i);
    if (!fab_json_number(json_array_get(nd, 3), path, 0, 1e30, &macs, err, n)) return false;
    snprintf(path, sizeof path, "graph.nodes[%zu][4]", i);
    if (hj && !fab_json_int(hj, path, 0, 1 << 20, &heads, err, n)) return false;
  }
  for (size_t k = 0; k < json_array_size(edges); k++) {
    snprintf(path, sizeof path, "graph.edges[%zu]", k);
    if (!json_ints(json_array_get(edges, k), path, 0, nn ? (int64_t)nn - 1 : 0, err, n)) return false;
  }
  return true;
}

/* BRP-NAS's adjacency as CSR: row i = i itself and the consumers of its
 * output (es/ed hold every edge both ways; the even entries are the
 * operand edges from -> to), the global node's row = every node. */
static bool paper_adjacency(fab_pred_graph *g, const int *es, const int *ed, int nu) {
  int n = g->n, gi = n - 1;
  g->npadj = nu / 2 + n + (n - 1);
  g->padj_start = calloc((size_t)n + 1, sizeof(int));
  g->padj_col = malloc(sizeof(int) * (size_t)g->npadj);
  int *fill = calloc((size_t)n, sizeof(int));
  bool ok = g->padj_start && g->padj_col && fill;
  if (ok) {
    for (int k = 0; k < nu; k += 2) g->padj_start[es[k] + 1]++;
    for (int i = 0; i < n; i++) g->padj_start[i + 1] += 1 + (i == gi ? n - 1 : 0);
    for (int i = 0; i < n; i++) g->padj_start[i + 1] += g->padj_start[i];
    for (int i = 0; i < n; i++) g->padj_col[g->padj_start[i] + fill[i]++] = i;
    for (int k = 0; k < nu; k += 2) g->padj_col[g->padj_start[es[k]] + fill[es[k]]++] = ed[k];
    for (int i = 0; i < gi; i++) g->padj_col[g->padj_start[gi] + fill[gi]++] = i;
  }
  free(fill);
  return ok;
}

/* Builds features and the normalised adjacency D^-1/2 (A + I) D^-1/2 with
 * a global node joined to every node. */
static bool graph_from_json(json_t *gj, const double *accel, fab_pred_graph *g) {
  json_t *nodes = json_object_get(gj, "nodes"), *edges = json_object_get(gj, "edges");
  if (!json_is_array(nodes) || !json_is_array(edges) || json_array_size(nodes) == 0 ||
      json_array_size(nodes) > 100000)
    return false;
  int nn = (int)json_array_size(nodes), n = nn + 1, ne = (int)json_array_size(edges);
  memset(g, 0, sizeof *g);
  g->n = n;
  g->x = calloc((size_t)n * FAB_PRED_NFEAT, sizeof(float));
  g->op = calloc((size_t)n, sizeof(int));
  g->key = calloc((size_t)n, sizeof(uint64_t));
  g->macs = calloc((size_t)n, sizeof(double));
  g->elems = calloc((size_t)n, sizeof(double));
  int *deg = calloc((size_t)n, sizeof(int));
  int *es = malloc(sizeof(int) * (size_t)(2 * ne + 1)), *ed = malloc(sizeof(int) * (size_t)(2 * ne + 1));
  bool ok = g->x && g->op && g->key && g->macs && g->elems && deg && es && ed;
  for (int i = 0; ok && i < nn; i++) {
    json_t *nd = json_array_get(nodes, (size_t)i);
    const char *name = json_string_value(json_array_get(nd, 0));
    json_t *od = json_array_get(nd, 1), *id = json_array_get(nd, 2);
    int code = name ? fab_opcode_lookup(name) : -1;
    if (code < 0 || !json_is_array(od) || !json_is_array(id)) {
      ok = false;
      break;
    }
    g->op[i] = code;
    g->macs[i] = json_number_value(json_array_get(nd, 3));
    float *x = g->x + (size_t)i * FAB_PRED_NFEAT;
    int slot = fab_pred_op_slot(code);
    if (slot >= 0) x[slot] = 1;
    double onum = dims_numel(od), olast = dims_last(od), ilast = dims_last(id);
    double inum = dims_numel(id);
    json_t *hj = json_array_get(nd, 4); /* optional: attention heads */
    double heads = json_is_number(hj) ? json_number_value(hj) : 0;
    g->elems[i] = node_elems(code, onum, inum, ilast, g->macs[i]);
    float *sh = x + FAB_PRED_NOPS + 1;
    sh[0] = (float)(ilog2d(onum) / 24);
    sh[1] = (float)(ilog2d(olast) / 12);
    sh[2] = (float)(ilog2d(olast > 0 ? onum / olast : 1) / 12);
    sh[3] = (float)(ilog2d(ilast) / 12);
    sh[4] = (float)(ilog2d(g->macs[i] + 1) / 30);
    sh[5] = (float)(ilog2d(g->elems[i] + 1) / 30);
    sh[6] = (float)(ilog2d(heads) / 4);
    uint64_t h = hash_str(0xcbf29ce484222325ull, name);
    if (heads > 0) h = hash_int(hash_str(h, "heads"), (int64_t)heads);
    for (size_t r = 0; r < json_array_size(od); r++)
      h = hash_int(h, (int64_t)json_number_value(json_array_get(od, r)));
    g->key[i] = hash_int(h, (int64_t)ilast);
  }
  int nu = 0;
  for (int k = 0; ok && k < ne; k++) {
    json_t *e = json_array_get(edges, (size_t)k);
    int a = (int)json_integer_value(json_array_get(e, 0)), b = (int)json_integer_value(json_array_get(e, 1));
    if (a < 0 || b < 0 || a >= nn || b >= nn) {
      ok = false;
      break;
    }
    es[nu] = a, ed[nu++] = b;
    es[nu] = b, ed[nu++] = a;
  }
  if (ok) {
    int gi = n - 1;
    g->op[gi] = -1;
    float *x = g->x + (size_t)gi * FAB_PRED_NFEAT;
    x[FAB_PRED_NOPS] = 1;
    for (int k = 0; k < FAB_PRED_NACCEL; k++)
      x[k < 8 ? FAB_PRED_SLOT_ACCEL + k : FAB_PRED_SLOT_WB_SHARE] = (float)accel[k];
    /* the global node's shape slots carry whole-model sizes: total MACs,
     * node count, and the MACs of the butterfly, attention/dense and
     * Fourier ops (a mean-normalised aggregation cannot count them) */
    double tot = 0, bf = 0, at = 0, ff = 0, el = 0;
    for (int i = 0; i < nn; i++) {
      tot += g->macs[i];
      el += g->elems[i];
      if (g->op[i] == FAB_OP_BFLY_LINEAR) bf += g->macs[i];
      else if (g->op[i] == FAB_OP_MHA || g->op[i] == FAB_OP_DENSE) at += g->macs[i];
      else if (g->op[i] == FAB_OP_FOURIER_MIX) ff += g->macs[i];
    }
    float *sh = x + FAB_PRED_NOPS + 1;
    sh[0] = (float)(ilog2d(tot + 1) / 40);
    sh[1] = (float)(ilog2d(nn) / 8);
    sh[2] = (float)(ilog2d(bf + 1) / 40);
    sh[3] = (float)(ilog2d(at + 1) / 40);
    sh[4] = (float)(ilog2d(ff + 1) / 40);
    sh[5] = (float)(ilog2d(el + 1) / 40);
    /* neighbours: edges both ways, self-loop, global <-> all */
    for (int k = 0; k < nu; k++) deg[es[k]]++;
    for (int i = 0; i < nn; i++) deg[i] += 2;
    deg[gi] = nn + 1;
    g->nadj = nu + 3 * nn + 1;
    g->adj_start = calloc((size_t)n + 1, sizeof(int));
    g->adj_col = malloc(sizeof(int) * (size_t)g->nadj);
    g->adj_w = malloc(sizeof(float) * (size_t)g->nadj);
    int *fill = calloc((size_t)n, sizeof(int));
    ok = g->adj_start && g->adj_col && g->adj_w && fill;
    if (ok) {
      for (int i = 0; i < n; i++) g->adj_start[i + 1] = g->adj_start[i] + deg[i];
#define PUT(a, b)                                                                                  \
  do {                                                                                             \
    int p_ = g->adj_start[a] + fill[a]++;                                                          \
    g->adj_col[p_] = (b);                                                                          \
    g->adj_w[p_] = (float)(1.0 / sqrt((double)deg[a] * deg[b]));                                   \
  } while (0)
      for (int k = 0; k < nu; k++) PUT(es[k], ed[k]);
      for (int i = 0; i < nn; i++) {
        PUT(i, i);
        PUT(i, gi);
        PUT(gi, i);
      }
      PUT(gi, gi);
#undef PUT
    }
    free(fill);
    ok = ok && paper_adjacency(g, es, ed, nu);
  }
  free(deg);
  free(es);
  free(ed);
  return ok;
}

static void graph_free(fab_pred_graph *g) {
  free(g->x);
  free(g->adj_start);
  free(g->adj_col);
  free(g->adj_w);
  free(g->padj_start);
  free(g->padj_col);
  free(g->op);
  free(g->key);
  free(g->macs);
  free(g->elems);
}

static double jnum(json_t *o, const char *k, double dflt) {
  json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : dflt;
}

/* FAB_FPGA_WB_SHARE and FAB_FPGA_MAX_WB_SHARE (backends/fpga/fbin.h,
 * which fab_predict does not depend on). */
#define DEFAULT_WB_SHARE 2
#define MAX_WB_SHARE 8

/* Accelerator features on the global node (log scales, roughly in [0,1];
 * wb_share in [-1/2, 1], 0 at its default so that records without it and
 * predictors before it see the same inputs). */
static void accel_features(json_t *a, double *f) {
  f[0] = ilog2d(jnum(a, "p_be", 1)) / 7;
  f[1] = ilog2d(jnum(a, "p_bu", 1)) / 6;
  f[2] = ilog2d(jnum(a, "bw_in", 1)) / 12;
  f[3] = ilog2d(jnum(a, "bw_coef", 1)) / 12;
  f[4] = jnum(a, "clock_mhz", 200) / 500;
  /* a data set line says "fp16"; an accelerator config ("fabc predict
   * --accel") says "format" */
  const char *format = json_string_value(json_object_get(a, "format"));
  f[5] = jnum(a, "fp16", format && !strcmp(format, "fp32") ? 0 : 1);
  f[6] = ilog2d(jnum(a, "att_mults", 1)) / 16;
  f[7] = ilog2d(jnum(a, "ppu_lanes", 1)) / 10;
  double share = jnum(a, "wb_share", DEFAULT_WB_SHARE);
  f[8] = share > 0 ? log2(share / DEFAULT_WB_SHARE) / 2 : 0;
}

/* The accelerator fields the features read with a range check: wb_share
 * (absent: the default, as in records written before it). */
static bool accel_typed(json_t *a, char *err, size_t n) {
  int64_t v;
  return !a || fab_json_member_int(a, "accel", "wb_share", 1, MAX_WB_SHARE, DEFAULT_WB_SHARE, &v, err, n);
}

/* One line of a sampled data set (explore/codesign/sample.c): the fields
 * the loader reads have their types, or `err` names the first that has not. */
static bool sample_typed(json_t *j, const char *target, char *err, size_t n) {
  int64_t v;
  double x;
  json_t *t = json_object_get(j, target), *mj = json_object_get(j, "model");
  if (t && !json_is_null(t) && !fab_json_number(t, target, -1e300, 1e300, &x, err, n)) return false;
  if (!fab_json_member_int(j, NULL, "key", -1, INT64_MAX, -1, &v, err, n) ||
      !fab_json_member_number(j, NULL, "macs", 0, 1e300, 0, &x, err, n) ||
      !fab_json_member_number(j, NULL, "fpga_model_ms", 0, 1e300, 0, &x, err, n))
    return false;
  if (mj && (!fab_json_member_int(mj, "model", "hidden", 0, 1 << 30, 0, &v, err, n) ||
             !fab_json_member_int(mj, "model", "layers", 0, 1 << 30, 0, &v, err, n)))
    return false;
  if (!accel_typed(json_object_get(j, "accel"), err, n)) return false;
  json_t *gj = json_object_get(j, "graph");
  return !gj || graph_typed(gj, err, n);
}

bool fab_pred_dataset_load(const char *path, const char *target, fab_pred_dataset *ds,
                           fab_diag *d) {
  memset(ds, 0, sizeof *ds);
  FILE *f = fopen(path, "r");
  if (!f) {
    fab_error(d, (fab_loc){0}, "cannot open data set '%s'", path);
    return false;
  }
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0, scap = 0;
  bool ok = true;
  while (getline(&line, &cap, f) > 0) {
    lineno++;
    if (line[0] == '\n' || line[0] == '#') continue;
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    if (!j || !json_is_object(j)) {
      fab_error(d, ((fab_loc){.file = path, .line = lineno, .col = 1}), "bad JSON line: %s", j ? "not an object" : je.text);
      json_decref(j);
      ok = false;
      break;
    }
    json_t *t = json_object_get(j, target);
    char err[400];
    if (!sample_typed(j, target, err, sizeof err)) {
      fab_error(d, ((fab_loc){.file = path, .line = lineno, .col = 1}), "%s", err);
      json_decref(j);
      ok = false;
      break;
    }
    if (!json_is_number(t) || !(json_number_value(t) > 0)) { /* not measured */
      json_decref(j);
      continue;
    }
    if (ds->n == scap) {
      scap = scap ? 2 * scap : 256;
      fab_pred_sample *ns = realloc(ds->s, sizeof *ns * (size_t)scap);
      if (!ns) {
        json_decref(j);
        ok = false;
        break;
      }
      ds->s = ns;
    }
    fab_pred_sample *s = &ds->s[ds->n];
    memset(s, 0, sizeof *s);
    s->latency = json_number_value(t);
    char k2[64];
    snprintf(k2, sizeof k2, "%s_2", target);
    s->latency2 = jnum(j, k2, 0);
    s->macs = jnum(j, "macs", 0);
    int64_t v;
    json_t *mj = json_object_get(j, "model");
    s->key = fab_json_member_int(j, NULL, "key", -1, INT64_MAX, -1, &v, err, sizeof err) ? v : -1;
    s->hidden = fab_json_member_int(mj, "model", "hidden", 0, 1 << 30, 0, &v, err, sizeof err) ? (int)v : 0;
    s->layers = fab_json_member_int(mj, "model", "layers", 0, 1 << 30, 0, &v, err, sizeof err) ? (int)v : 0;
    accel_features(json_object_get(j, "accel"), s->accel);
    if (!graph_from_json(json_object_get(j, "graph"), s->accel, &s->g)) {
      graph_free(&s->g);
      fab_error(d, ((fab_loc){.file = path, .line = lineno, .col = 1}), "bad or missing \"graph\"");
      json_decref(j);
      ok = false;
      break;
    }
    fab_pred_sample_set_analytical(s, jnum(j, "fpga_model_ms", 0));
    ds->n++;
    json_decref(j);
  }
  free(line);
  fclose(f);
  if (!ok) fab_pred_dataset_free(ds);
  else if (ds->n == 0) {
    fab_error(d, (fab_loc){0}, "data set '%s' has no line with \"%s\"", path, target);
    ok = false;
  }
  return ok;
}

void fab_pred_dataset_free(fab_pred_dataset *ds) {
  for (int i = 0; i < ds->n; i++) graph_free(&ds->s[i].g);
  free(ds->s);
  memset(ds, 0, sizeof *ds);
}

/* ---- metrics ------------------------------------------------------------------ */

double fab_pred_kendall(const double *a, const double *b, int n) {
  double con = 0, dis = 0, ta = 0, tb = 0;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      double x = a[i] - a[j], y = b[i] - b[j];
      if (x == 0 && y == 0) continue;
      if (x == 0) ta++;
      else if (y == 0) tb++;
      else if ((x > 0) == (y > 0)) con++;
      else dis++;
    }
  double den = sqrt((con + dis + ta) * (con + dis + tb));
  return den > 0 ? (con - dis) / den : 0;
}

static double *ranks(const double *v, int n) {
  double *r = malloc(sizeof(double) * (size_t)n);
  if (!r) return NULL;
  for (int i = 0; i < n; i++) {
    double less = 0, eq = 0;
    for (int j = 0; j < n; j++) less += v[j] < v[i], eq += v[j] == v[i];
    r[i] = less + (eq + 1) / 2; /* average rank of ties */
  }
  return r;
}

double fab_pred_spearman(const double *a, const double *b, int n) {
  double *ra = ranks(a, n), *rb = ranks(b, n), res = 0;
  if (ra && rb && n > 1) {
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) ma += ra[i] / n, mb += rb[i] / n;
    for (int i = 0; i < n; i++) {
      sab += (ra[i] - ma) * (rb[i] - mb);
      saa += (ra[i] - ma) * (ra[i] - ma);
      sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    res = saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : 0;
  }
  free(ra);
  free(rb);
  return res;
}

void fab_pred_metrics_compute(const double *pred, const double *truth, int n, fab_pred_metrics *m) {
  memset(m, 0, sizeof *m);
  m->n = n;
  if (n <= 0) return;
  for (int i = 0; i < n; i++) {
    double e = fabs(pred[i] / truth[i] - 1);
    m->within1 += e <= 0.01;
    m->within5 += e <= 0.05;
    m->within10 += e <= 0.10;
    m->mape += e;
  }
  m->within1 /= n, m->within5 /= n, m->within10 /= n, m->mape /= n;
  m->kendall = fab_pred_kendall(pred, truth, n);
  m->spearman = fab_pred_spearman(pred, truth, n);
}

bool fab_pred_sample_make(const char *graph_json, const char *accel_json, fab_pred_sample *s,
                          fab_diag *d) {
  memset(s, 0, sizeof *s);
  json_t *g = json_loads(graph_json, 0, NULL), *a = json_loads(accel_json, 0, NULL);
  bool ok = g && a;
  char err[400] = "";
  if (ok) {
    accel_features(a, s->accel);
    ok = accel_typed(a, err, sizeof err) && graph_typed(g, err, sizeof err) && graph_from_json(g, s->accel, &s->g);
    for (int i = 0; ok && i < s->g.n - 1; i++) s->macs += s->g.macs[i];
  }
  if (!ok) {
    graph_free(&s->g);
    memset(s, 0, sizeof *s);
    fab_error(d, (fab_loc){0}, "bad graph or accelerator JSON%s%s", *err ? ": " : "", err);
  }
  json_decref(g);
  json_decref(a);
  return ok;
}

void fab_pred_sample_free(fab_pred_sample *s) {
  graph_free(&s->g);
  memset(s, 0, sizeof *s);
}

/* log2 of the latency in microseconds, so that 1 us .. 1 s spans about
 * [0, 1] like the other features. */
void fab_pred_sample_set_analytical(fab_pred_sample *s, double ms) {
  s->analytical_ms = ms > 0 && isfinite(ms) ? ms : 0;
  if (s->g.n < 1 || !s->g.x) return;
  float *x = s->g.x + (size_t)(s->g.n - 1) * FAB_PRED_NFEAT;
  x[FAB_PRED_SLOT_ANALYTICAL] =
      (float)(s->analytical_ms > 0 ? ilog2d(s->analytical_ms * 1000 + 1) / 20 : 0);
}
