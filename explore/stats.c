/* stats.c — parameters and MACs per layer (see stats.h for the counting
 * conventions). */
#include "stats.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int ilog2(int64_t n) {
  int k = 0;
  while (((int64_t)1 << k) < n) k++;
  return k;
}

/* Real MACs per row of one FFT stage on an axis of length n.  A radix-2
 * stage is n/2 butterflies of one complex multiply (4 real MACs): 2n.  A
 * radix-q stage (q odd) is n/q butterflies, each q - 1 twiddle
 * multiplies plus the (q - 1)^2 non-trivial multiplies of a q-point DFT,
 * i.e. q(q - 1) complex multiplies: 4n(q - 1) (for q = 2 the DFT's one
 * multiply is by -1, so the radix-2 count stays 2n). */
static int64_t fft_stage_macs(int64_t n, int64_t q) { return q == 2 ? 2 * n : 4 * n * (q - 1); }

/* Real MACs per row of the DFT of a length-n axis as lower-fourier lowers
 * it: the mixed-radix FFT of n's prime factors (2·n·log2 n for a power of
 * two), or a dense DFT (4n^2) for a length fab_fft_factor cannot split. */
static int64_t fft_macs(int64_t n) {
  int64_t radices[64], macs = 0;
  int nr = n > 1 ? fab_fft_factor(n, radices, 64) : 0;
  if (nr < 0) return 4 * n * n;
  for (int i = 0; i < nr; i++) macs += fft_stage_macs(n, radices[i]);
  return macs;
}

static int64_t param_numel(const fab_module *m, const fab_func *f, int operand) {
  const fab_op *w = &f->ops[operand];
  if (w->code != FAB_OP_WEIGHT) return 0;
  return fab_type_numel(&w->type);
}

/* The product of all axes but the last `keep`: how many rows an op that
 * works on the trailing axes processes. */
static int64_t rows_of(const fab_type *t, int keep) {
  int64_t r = 1;
  for (int i = 0; i < t->rank - keep; i++) r *= t->dims[i];
  return r;
}

/* A layer's instance name: the frontend's hint.name if present, else the
 * state_dict prefix of its first weight, else "<kind>#<index>". */
static const char *layer_name(const fab_module *m, const fab_func *f, int idx) {
  const fab_op *op = &f->ops[idx];
  const char *hint = fab_op_str(op, "hint.name", NULL);
  if (hint) return hint;
  for (int i = 0; i < op->noperands; i++) {
    const fab_op *w = &f->ops[op->operands[i]];
    if (w->code != FAB_OP_WEIGHT) continue;
    const char *name = fab_op_str(w, "name", "");
    const char *dot = strrchr(name, '.');
    return dot ? fab_arena_strndup(m->arena, name, (size_t)(dot - name)) : name;
  }
  return fab_arena_printf(m->arena, "%s#%d", fab_opinfos[op->code].name, idx);
}

/* Counts one op; returns false for ops that carry neither parameters nor
 * MACs (they are not listed). */
static bool count_op(const fab_module *m, const fab_func *f, int idx, fab_layer_stats *s) {
  const fab_op *op = &f->ops[idx];
  const fab_type *x = op->noperands ? &f->ops[op->operands[0]].type : NULL;
  memset(s, 0, sizeof *s);
  switch (op->code) {
  case FAB_OP_BFLY_LINEAR: {
    int64_t in = fab_op_int(op, "in", 1), out = fab_op_int(op, "out", 1);
    int64_t nblocks = fab_op_int(op, "nblocks", 1);
    int64_t n = (int64_t)1 << ilog2(in), stacks = (out + n - 1) / n;
    int64_t bias = op->noperands > 2 ? out : 0, rows = rows_of(x, 1);
    s->params = stacks * nblocks * 2 * n * ilog2(n) + bias;
    s->params_paper = stacks * nblocks * 4 * n + bias;
    s->params_dense = in * out + bias;
    s->macs = s->macs_paper = rows * stacks * nblocks * 2 * n * ilog2(n);
    s->macs_dense = rows * in * out;
    return true;
  }
  case FAB_OP_DENSE: {
    const fab_type *w = &f->ops[op->operands[1]].type;
    int64_t out = w->dims[0], in = w->dims[1], bias = op->noperands > 2 ? out : 0;
    s->params = s->params_paper = s->params_dense = in * out + bias;
    s->macs = s->macs_paper = s->macs_dense = rows_of(x, 1) * in * out;
    return true;
  }
  case FAB_OP_FOURIER_MIX: {
    int64_t sq = x->dims[x->rank - 2], d = x->dims[x->rank - 1], batch = rows_of(x, 2);
    /* The FFT lower-fourier produces along each axis: 2·n·log2(n) real
     * MACs for a power of two, mixed radix otherwise (fft_macs). */
    int64_t per_d = fft_macs(d), per_s = fft_macs(sq);
    s->params = 0;
    s->params_paper = 4 * d + 4 * sq;
    s->params_dense = 0;
    s->macs = s->macs_paper = batch * (sq * per_d + d * per_s);
    s->macs_dense = batch * 2 * sq * d * (sq + d);
    return true;
  }
  case FAB_OP_MHA: {
    int64_t sq = x->dims[x->rank - 2], d = x->dims[x->rank - 1], batch = rows_of(x, 2);
    s->macs = s->macs_paper = s->macs_dense = batch * 2 * sq * sq * d;
    return true;
  }
  case FAB_OP_MATMUL: {
    const fab_type *b = &f->ops[op->operands[1]].type;
    int64_t k = x->dims[x->rank - 1];
    int64_t n = fab_op_int(op, "transpose_b", 0) ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    s->macs = s->macs_paper = s->macs_dense = rows_of(x, 1) * k * n;
    return true;
  }
  case FAB_OP_ATTENTION: {
    const fab_type *k = &f->ops[op->operands[1]].type;
    s->macs = s->macs_paper = s->macs_dense = rows_of(x, 1) * k->dims[k->rank - 2] * x->dims[x->rank - 1] * 2;
    return true;
  }
  case FAB_OP_BFLY_STAGES: {
    const fab_attr *st = fab_op_attr(op, "stages");
    int64_t nst = st ? st->nints / 3 : 0, n = x->dims[x->rank - 1];
    s->macs = s->macs_paper = rows_of(x, 1) * nst * 2 * n;
    s->macs_dense = rows_of(x, 1) * n * n;
    return true;
  }
  case FAB_OP_FFT_STAGES: {
    const fab_attr *st = fab_op_attr(op, "stages");
    int64_t ax = fab_op_int(op, "axis", -1);
    if (ax < 0) ax += x->rank;
    int64_t n = ax >= 0 && ax < x->rank ? x->dims[ax] : 1;
    int64_t rows = fab_type_numel(x) / n, per_row = (st ? st->nints : 0) * fft_stage_macs(n, 2);
    const fab_attr *rx = fab_op_attr(op, "radix");
    for (int i = 0; rx && i < rx->nints; i++) per_row += fft_stage_macs(n, rx->ints[i]);
    s->macs = s->macs_paper = s->macs_dense = rows * per_row;
    return true;
  }
  case FAB_OP_DFT: {
    /* a dense DFT: n complex multiply-adds per output element */
    int64_t ax = fab_op_int(op, "axis", -1);
    if (ax < 0) ax += x->rank;
    int64_t n = ax >= 0 && ax < x->rank ? x->dims[ax] : 1;
    s->macs = s->macs_paper = s->macs_dense = (fab_type_numel(x) / n) * 4 * n * n;
    return true;
  }
  case FAB_OP_LAYERNORM:
  case FAB_OP_ADD_LAYERNORM:
  case FAB_OP_EMBED: {
    int64_t p = 0;
    for (int i = 0; i < op->noperands; i++) p += param_numel(m, f, op->operands[i]);
    s->params = s->params_paper = s->params_dense = p;
    return p > 0;
  }
  default: {
    /* Anything else that reads a weight directly (e.g. a positional table
     * added with `add`) contributes its parameters. */
    int64_t p = 0;
    for (int i = 0; i < op->noperands; i++) p += param_numel(m, f, op->operands[i]);
    s->params = s->params_paper = s->params_dense = p;
    return p > 0;
  }
  }
}

bool fab_stats_compute(const fab_module *m, fab_model_stats *out, fab_diag *d) {
  memset(out, 0, sizeof *out);
  const fab_func *f = fab_module_main(m);
  if (!f) {
    fab_error(d, (fab_loc){0}, "stats: the module has no function");
    return false;
  }
  out->layers = calloc((size_t)f->nops + 1, sizeof(fab_layer_stats));
  if (!out->layers) {
    fab_error(d, (fab_loc){0}, "stats: out of memory");
    return false;
  }
  /* A weight consumed by several ops (slice of a positional table, tied
   * weights) is counted once: only at its first use. */
  char *seen = calloc((size_t)f->nops + 1, 1);
  if (!seen) {
    free(out->layers);
    out->layers = NULL;
    fab_error(d, (fab_loc){0}, "stats: out of memory");
    return false;
  }
  for (int i = 0; i < f->nops; i++) {
    fab_layer_stats s;
    if (!count_op(m, f, i, &s)) continue;
    const fab_op *op = &f->ops[i];
    if (op->code != FAB_OP_BFLY_LINEAR && op->code != FAB_OP_DENSE) {
      for (int k = 0; k < op->noperands; k++) {
        int w = op->operands[k];
        if (f->ops[w].code == FAB_OP_WEIGHT && seen[w]) {
          int64_t p = param_numel(m, f, w);
          s.params -= p, s.params_paper -= p, s.params_dense -= p;
        }
      }
    }
    for (int k = 0; k < op->noperands; k++) seen[op->operands[k]] = 1;
    s.name = layer_name(m, f, i);
    s.kind = fab_opinfos[op->code].name;
    out->layers[out->nlayers++] = s;
    out->total.params += s.params;
    out->total.params_paper += s.params_paper;
    out->total.params_dense += s.params_dense;
    out->total.macs += s.macs;
    out->total.macs_paper += s.macs_paper;
    out->total.macs_dense += s.macs_dense;
  }
  free(seen);
  out->total.name = "total";
  out->total.kind = "";
  return true;
}

void fab_stats_free(fab_model_stats *s) {
  free(s->layers);
  s->layers = NULL;
  s->nlayers = 0;
}

/* 1234567 -> "1.23M": tables stay narrow; JSON has the exact numbers. */
static const char *human(int64_t v, char *buf, size_t n) {
  if (v < 10000)
    snprintf(buf, n, "%lld", (long long)v);
  else if (v < 10000000)
    snprintf(buf, n, "%.2fK", v / 1e3);
  else if (v < (int64_t)10000000000)
    snprintf(buf, n, "%.2fM", v / 1e6);
  else
    snprintf(buf, n, "%.2fG", v / 1e9);
  return buf;
}

static void row(FILE *out, const fab_layer_stats *s) {
  char b[6][32];
  fprintf(out, "%-28s %-12s %10s %10s %10s %10s %10s %10s\n", s->name, s->kind, human(s->params, b[0], 32),
          human(s->params_paper, b[1], 32), human(s->params_dense, b[2], 32), human(s->macs, b[3], 32),
          human(s->macs_paper, b[4], 32), human(s->macs_dense, b[5], 32));
}

void fab_stats_print_table(FILE *out, const fab_module *m, const fab_model_stats *s) {
  fprintf(out, "model %s\n", m->name);
  fprintf(out, "%-28s %-12s %10s %10s %10s %10s %10s %10s\n", "layer", "kind", "params", "params*", "dense-p",
          "MACs", "MACs*", "dense-MACs");
  for (int i = 0; i < s->nlayers; i++) row(out, &s->layers[i]);
  row(out, &s->total);
  double pr = s->total.params ? (double)s->total.params_dense / (double)s->total.params : 0;
  double mr = s->total.macs ? (double)s->total.macs_dense / (double)s->total.macs : 0;
  fprintf(out,
          "\nparams: real (stored), * = FABNet paper convention (butterfly 4n, FFT twiddles counted); "
          "dense-p: same shape with dense layers\n"
          "MACs per inference; dense / real: params %.2fx, MACs %.2fx\n",
          pr, mr);
}

static json_t *layer_json(const fab_layer_stats *s) {
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "name", s->name, "kind", s->kind, "params",
                   (json_int_t)s->params, "params_paper", (json_int_t)s->params_paper, "params_dense",
                   (json_int_t)s->params_dense, "macs", (json_int_t)s->macs, "macs_paper",
                   (json_int_t)s->macs_paper, "macs_dense", (json_int_t)s->macs_dense);
}

bool fab_stats_print_json(FILE *out, const fab_module *m, const fab_model_stats *s) {
  json_t *layers = json_array();
  for (int i = 0; i < s->nlayers; i++) json_array_append_new(layers, layer_json(&s->layers[i]));
  json_t *root = json_pack("{s:s, s:o, s:o, s:s}", "model", m->name, "layers", layers, "total",
                           layer_json(&s->total), "conventions",
                           "params: stored values; params_paper: butterfly 4n per stack/block and FFT "
                           "twiddles 4n per transform (FABNet paper); *_dense: butterfly layers as "
                           "nn.Linear, Fourier mixing as dense DFT matrices");
  int rc = root ? json_dumpf(root, out, JSON_INDENT(2)) : -1;
  fputc('\n', out);
  json_decref(root);
  return rc == 0;
}
