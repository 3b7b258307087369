/* evaluate.c — objectives of one model/accelerator pair: accuracy,
 * FPGA latency (analytical or simulated), resources.  Per-model work (IR,
 * the layer list, statistics, accuracy) is done once and cached so that an
 * exhaustive sweep pays only the per-layer arithmetic per accelerator. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "codesign.h"
#include "cd_acc.h"
#include "stats.h"

/* One costed layer: the analytical model needs only its kind and sizes. */
typedef enum { L_BFLY, L_FFT, L_ATT, L_DENSE, L_VEC } lkind;
typedef struct layer {
  lkind kind;
  uint64_t rows, n, m, k; /* bfly: rows, n, nstacks; fft: s, d; att: s, d, heads;
                             dense: rows, in, out; vec: numel, passes */
} layer;

typedef struct model_info {
  bool done, ok;
  layer *layers;
  int nlayers;
  uint64_t max_row; /* longest butterfly / FFT row */
  double params, macs;
} model_info;

struct fab_cd_evaluator {
  fab_cd_space space;
  fab_cd_eval_options opt;
  pthread_mutex_t lock;
  fab_ptrmap models;   /* model index -> model_info, built when first asked for */
  cd_acc *acc;         /* accuracy per model (acc_cache.c) */
  char name[256];
};

static uint64_t pow2ceil(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}
static uint64_t cdiv(uint64_t a, uint64_t b) { return (a + b - 1) / (b ? b : 1); }

/* The layer list of a high-level (or partly lowered) module. */
static bool collect_layers(const fab_module *m, layer **out, int *nout, uint64_t *max_row) {
  const fab_func *f = fab_module_main(m);
  layer *ls = calloc((size_t)f->nops + 1, sizeof *ls);
  if (!ls) return false;
  int n = 0;
  *max_row = 0;
  for (int i = 0; i < f->nops; i++) {
    const fab_op *op = &f->ops[i];
    const fab_type *t = &op->type;
    int64_t numel = fab_type_numel(t);
    uint64_t last = t->rank ? (uint64_t)t->dims[t->rank - 1] : 1;
    const fab_type *in = op->noperands ? &f->ops[op->operands[0]].type : t;
    uint64_t in_last = in->rank ? (uint64_t)in->dims[in->rank - 1] : 1;
    uint64_t rows = in_last ? (uint64_t)fab_type_numel(in) / in_last : 1;
    switch (op->code) {
    case FAB_OP_BFLY_LINEAR: {
      uint64_t np = pow2ceil(in_last);
      ls[n++] = (layer){L_BFLY, rows, np, cdiv(last, np), 0};
      if (np > *max_row) *max_row = np;
      break;
    }
    case FAB_OP_FOURIER_MIX: {
      uint64_t s = in->rank >= 2 ? pow2ceil((uint64_t)in->dims[in->rank - 2]) : 1;
      uint64_t dd = pow2ceil(in_last);
      ls[n++] = (layer){L_FFT, s, dd, 0, 0};
      if (s > *max_row) *max_row = s;
      if (dd > *max_row) *max_row = dd;
      break;
    }
    case FAB_OP_MHA: {
      uint64_t s = in->rank >= 2 ? (uint64_t)in->dims[in->rank - 2] : 1;
      ls[n++] = (layer){L_ATT, s, in_last, (uint64_t)fab_op_int(op, "heads", 1), 0};
      break;
    }
    case FAB_OP_DENSE:
      ls[n++] = (layer){L_DENSE, rows, in_last, last, 0};
      break;
    case FAB_OP_LAYERNORM:
      ls[n++] = (layer){L_VEC, (uint64_t)numel, 2, 0, 0};
      break;
    case FAB_OP_GELU:
    case FAB_OP_RELU:
    case FAB_OP_SOFTMAX:
    case FAB_OP_ADD:
    case FAB_OP_MUL:
    case FAB_OP_SCALE:
    case FAB_OP_EMBED:
    case FAB_OP_MEANPOOL:
    case FAB_OP_TRANSPOSE:
      ls[n++] = (layer){L_VEC, (uint64_t)(op->code == FAB_OP_MEANPOOL ? fab_type_numel(in) : numel),
                        1, 0, 0};
      break;
    default:
      break;
    }
  }
  *out = ls;
  *nout = n;
  return true;
}

/* Cycles of the layer list on `c`: butterfly and FFT layers by the
 * authors' model (fbin.h); attention and dense layers on the attention
 * processor's multiplier array (weights streamed over bw_coef); vector
 * work on the post-processing lanes.  Returns 0 if a row does not fit the
 * engine's bank. */
static uint64_t layers_cycles(const layer *ls, int n, uint64_t max_row, const fab_fpga_config *c) {
  if (max_row > (uint64_t)fab_fpga_bank_words(c)) return 0;
  uint64_t bits = c->fp16 ? 16 : 32, cyc = 0;
  for (int i = 0; i < n; i++) {
    const layer *l = &ls[i];
    switch (l->kind) {
    case L_BFLY: cyc += fab_fpga_model_bfly_layer(c, l->rows, l->n, l->m); break;
    case L_FFT: cyc += fab_fpga_model_fft_layer(c, l->rows, l->n); break;
    case L_ATT: {
      uint64_t macs = 2 * l->rows * l->rows * l->n;
      uint64_t exps = l->rows * l->rows * l->m;
      uint64_t io = cdiv(4 * l->rows * l->n * bits, (uint64_t)c->bw_in);
      uint64_t comp = cdiv(macs, (uint64_t)c->att_mults) + cdiv(exps, (uint64_t)c->exp_units);
      cyc += comp > io ? comp : io;
      break;
    }
    case L_DENSE: {
      uint64_t comp = cdiv(l->rows * l->n * l->m, (uint64_t)c->att_mults);
      uint64_t w = cdiv(l->n * l->m * bits, (uint64_t)c->bw_coef);
      cyc += comp > w ? comp : w;
      break;
    }
    case L_VEC: cyc += l->n * cdiv(l->rows, (uint64_t)c->ppu_lanes); break;
    }
  }
  return cyc;
}

static double cycles_ms(uint64_t cyc, const fab_fpga_config *c) {
  return (double)cyc / (c->clock_mhz * 1e3) / c->efficiency;
}

bool fab_cd_model_latency(const fab_module *m, const fab_fpga_config *c, uint64_t *cycles,
                          double *ms, fab_diag *d) {
  layer *ls;
  int n;
  uint64_t max_row;
  if (!collect_layers(m, &ls, &n, &max_row)) {
    fab_error(d, (fab_loc){0}, "out of memory");
    return false;
  }
  uint64_t cyc = layers_cycles(ls, n, max_row, c);
  free(ls);
  if (!cyc) {
    fab_error(d, (fab_loc){0}, "a row of %llu elements does not fit the engine bank (%d words)",
              (unsigned long long)max_row, fab_fpga_bank_words(c));
    return false;
  }
  *cycles = cyc;
  *ms = cycles_ms(cyc, c);
  return true;
}

fab_cd_evaluator *fab_cd_evaluator_new(const fab_cd_space *s, const fab_cd_eval_options *o,
                                       fab_diag *d) {
  fab_cd_evaluator *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->space = *s;
  if (o) e->opt = *o;
  if (e->opt.latency == FAB_CD_LAT_PRED && !e->opt.predict) {
    fab_error(d, (fab_loc){0}, "predictor latency needs a predictor");
    free(e);
    return NULL;
  }
  e->acc = cd_acc_new(s, &e->opt, d);
  if (!e->acc) {
    free(e);
    return NULL;
  }
  static const char *lat[] = {"model", "sim", "pred"};
  snprintf(e->name, sizeof e->name, "%s+%s", lat[e->opt.latency], cd_acc_label(e->acc));
  pthread_mutex_init(&e->lock, NULL);
  return e;
}

const char *fab_cd_evaluator_name(const fab_cd_evaluator *e) { return e->name; }

fab_cd_acc_kind fab_cd_evaluator_accuracy(const fab_cd_evaluator *e) { return cd_acc_kind(e->acc); }

void fab_cd_evaluator_acc_stats(const fab_cd_evaluator *e, int64_t *computed, int64_t *cached,
                                double *seconds) {
  cd_acc_stats(e->acc, computed, cached, seconds);
}

static void free_model_info(void *p) {
  model_info *info = p;
  free(info->layers);
  free(info);
}

void fab_cd_evaluator_free(fab_cd_evaluator *e) {
  if (!e) return;
  fab_ptrmap_free(&e->models, free_model_info);
  cd_acc_free(e->acc);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

/* Builds the per-model info once; the lock covers the front end too
 * (compile time is small next to a simulation). */
static model_info *get_model(fab_cd_evaluator *e, const fab_cd_point *p, fab_diag *d) {
  int64_t mi = fab_cd_model_index(&e->space, p->key);
  pthread_mutex_lock(&e->lock);
  model_info *info = fab_ptrmap_get(&e->models, mi);
  if (info) {
    pthread_mutex_unlock(&e->lock);
    return info;
  }
  info = calloc(1, sizeof *info);
  if (!info) {
    pthread_mutex_unlock(&e->lock);
    return NULL;
  }
  fab_cd_model mm;
  fab_cd_point_model(&e->space, p, &mm);
  fab_module *mod = fab_cd_model_build(&mm, d);
  if (mod) {
    fab_model_stats st;
    if (fab_stats_compute(mod, &st, d)) {
      info->params = (double)st.total.params;
      info->macs = (double)st.total.macs;
      fab_stats_free(&st);
      info->ok = collect_layers(mod, &info->layers, &info->nlayers, &info->max_row);
    }
    fab_module_free(mod);
  }
  info->done = true;
  if (!fab_ptrmap_put(&e->models, mi, info)) { /* out of memory: nobody keeps it */
    pthread_mutex_unlock(&e->lock);
    free_model_info(info);
    return NULL;
  }
  pthread_mutex_unlock(&e->lock);
  return info;
}

bool fab_cd_evaluate(fab_cd_evaluator *e, int64_t key, fab_cd_result *r, fab_diag *d) {
  memset(r, 0, sizeof *r);
  r->key = key;
  if (key < 0 || key >= fab_cd_space_size(&e->space)) {
    fab_error(d, (fab_loc){0}, "point %lld is outside the space", (long long)key);
    return false;
  }
  fab_cd_point p;
  fab_cd_point_decode(&e->space, key, &p);
  fab_fpga_config c;
  if (!fab_cd_point_config(&e->space, &p, &c, d)) return false;
  model_info *info = get_model(e, &p, d);
  if (!info || !info->ok) return false;
  /* outside the evaluator's lock: training takes seconds per model */
  fab_cd_model mm;
  fab_cd_point_model(&e->space, &p, &mm);
  if (!cd_acc_get(e->acc, fab_cd_model_index(&e->space, key), &mm, &r->accuracy, d)) return false;
  r->params = info->params;
  r->macs = info->macs;
  fab_fpga_resources res;
  fab_fpga_resources_estimate(&c, &res);
  r->lut = res.total.lut;
  r->dsp = res.total.dsp;
  r->bram = res.total.bram36;
  r->fits = res.fits;
  double lim_lut = res.limit.lut > 0 ? res.limit.lut : 1304000;
  double lim_ff = res.limit.ff > 0 ? res.limit.ff : 2607000;
  double lim_dsp = res.limit.dsp > 0 ? res.limit.dsp : 9024;
  double lim_bram = res.limit.bram36 > 0 ? res.limit.bram36 : 2016;
  r->area = fmax(fmax(res.total.lut / lim_lut, res.total.ff / lim_ff),
                 fmax(res.total.dsp / lim_dsp, res.total.bram36 / lim_bram));
  switch (e->opt.latency) {
  case FAB_CD_LAT_MODEL: {
    uint64_t cyc = layers_cycles(info->layers, info->nlayers, info->max_row, &c);
    if (!cyc) return true; /* infeasible: r->ok stays false */
    r->latency_ms = cycles_ms(cyc, &c);
    break;
  }
  case FAB_CD_LAT_SIM: {
    fab_module *mod = fab_cd_model_build(&mm, d);
    uint64_t cyc;
    bool ok = mod && fab_cd_sim_latency(mod, &c, &cyc, &r->latency_ms, d);
    fab_module_free(mod);
    if (!ok) return false;
    break;
  }
  case FAB_CD_LAT_PRED:
    r->latency_ms = e->opt.predict(&e->space, &p, e->opt.predict_user);
    if (!(r->latency_ms > 0)) return true;
    break;
  }
  r->ok = true;
  r->perf_per_area = 1000.0 / (r->latency_ms * (r->area > 0 ? r->area : 1e-9));
  return true;
}
