/* model.c — compiled models: the front end, the target's pipeline and
 * backend, weights, runs (interpreter, CPU JIT contexts, simulator) and
 * files.  This is what `fabc run` / `fabc build` do (cli/cmd_model.c,
 * cli/cmd_backend.c), without printing.
 *
 * Threads: runs hold the model's read lock, binding weights its write lock.
 * The CPU JIT's runtime model is shared; each run borrows a context
 * (scratch + workers) from a small pool, so runs on one model proceed in
 * parallel. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "codegen.h"
#include "cpu.h"
#include "fbin.h"
#include "interp.h"
#include "passes.h"
#include "sim.h"

typedef enum { TGT_INTERP, TGT_CPU, TGT_FPGA } target_kind;

typedef struct tensor_info {
  const char *name; /* in `written`'s arena */
  int dtype, rank;
  int64_t dims[FAB_MAX_RANK];
} tensor_info;

enum { POOL_MAX = 64 };

struct fabc_model {
  target_kind target;
  fab_module *written; /* as the front end made it: weights and inputs bind against it */
  fab_module *lowered; /* after the target's pipeline (cpu, fpga) */
  tensor_info *info[3];
  int ninfo[3];
  fab_tensor_set *weights; /* NULL until bound */
  pthread_rwlock_t lock;
  /* cpu */
  fab_cpu_options cpu_opts;
  char *cpu_name, *cpu_features, *cpu_codegen;
  fab_cpu_jit *jit;
  pthread_mutex_t pool_lock;
  fab_context *pool[POOL_MAX];
  int npool;
  /* fpga */
  fab_fpga_config accel;
  fab_fpga_program *program;
};

static const char *const target_names[] = {"interp", "cpu", "fpga"};

/* ---- what the model takes and gives ---------------------------------------------- */

static int dtype_of(fab_dtype d) { return d == FAB_I32 ? FABC_I32 : FABC_F32; }

static tensor_info info_of(const char *name, const fab_type *t) {
  tensor_info ti = {.name = name, .dtype = dtype_of(t->dtype), .rank = t->rank};
  memcpy(ti.dims, t->dims, sizeof ti.dims);
  return ti;
}

static int cmp_output_index(const void *a, const void *b) {
  const fab_op *x = *(const fab_op *const *)a, *y = *(const fab_op *const *)b;
  int64_t i = fab_op_int(x, "index", 0), j = fab_op_int(y, "index", 0);
  return i < j ? -1 : i > j;
}

/* Inputs in program order, outputs by their index (the interpreter's
 * order and naming), weights as the module declares them. */
static bool collect_info(fabc_model *m) {
  const fab_func *f = fab_module_main(m->written);
  int nops = f ? f->nops : 0;
  for (int k = 0; k < 3; k++) {
    int cap = k == FABC_WEIGHTS ? m->written->nparams : nops;
    m->info[k] = calloc((size_t)cap + 1, sizeof(tensor_info));
    if (!m->info[k]) return false;
  }
  const fab_op **outs = calloc((size_t)nops + 1, sizeof *outs);
  if (!outs) return false;
  int nouts = 0;
  for (int i = 0; i < nops; i++) {
    const fab_op *op = &f->ops[i];
    if (op->code == FAB_OP_INPUT)
      m->info[FABC_INPUTS][m->ninfo[FABC_INPUTS]++] = info_of(fab_op_str(op, "name", ""), &op->type);
    else if (op->code == FAB_OP_OUTPUT)
      outs[nouts++] = op;
  }
  qsort(outs, (size_t)nouts, sizeof *outs, cmp_output_index);
  for (int k = 0; k < nouts; k++) {
    const char *name = fab_op_str(outs[k], "name", NULL);
    /* Unnamed outputs are "output<k>" like the interpreter's; the name
     * must live as long as the model: keep it in the module's arena. */
    if (!name) {
      char buf[32];
      snprintf(buf, sizeof buf, "output%d", k);
      name = fab_arena_strdup(m->written->arena, buf);
    }
    m->info[FABC_OUTPUTS][m->ninfo[FABC_OUTPUTS]++] = info_of(name, &outs[k]->type);
  }
  free(outs);
  for (int i = 0; i < m->written->nparams; i++)
    m->info[FABC_WEIGHTS][m->ninfo[FABC_WEIGHTS]++] = info_of(m->written->params[i].name, &m->written->params[i].type);
  return true;
}

int fabc_model_count(const fabc_model *m, int kind) {
  return m && kind >= 0 && kind < 3 ? m->ninfo[kind] : 0;
}

fabc_status fabc_model_tensor_info(const fabc_model *m, int kind, int i, const char **name, int *dtype, int *rank,
                                   const int64_t **dims) {
  if (!m || kind < 0 || kind > 2 || i < 0 || i >= m->ninfo[kind]) return FABC_E_ARG;
  const tensor_info *t = &m->info[kind][i];
  if (name) *name = t->name;
  if (dtype) *dtype = t->dtype;
  if (rank) *rank = t->rank;
  if (dims) *dims = t->dims;
  return FABC_OK;
}

const char *fabc_model_target(const fabc_model *m) { return m ? target_names[m->target] : NULL; }
const char *fabc_model_name(const fabc_model *m) { return m && m->written->name ? m->written->name : ""; }

/* ---- compiling ------------------------------------------------------------------ */

static fabc_status parse_target(const fabc_options *o, target_kind *t, char **err) {
  const char *name = o->target ? o->target : "interp";
  for (int k = 0; k < 3; k++)
    if (strcmp(name, target_names[k]) == 0) {
      *t = (target_kind)k;
      return FABC_OK;
    }
  return api_fail(err, FABC_E_ARG, "unknown target '%s' (available: interp, cpu, fpga)", name);
}

static fabc_status lower(fabc_model *m, const fabc_options *o, char **err) {
  const char *target = target_names[m->target];
  const char *pipeline = o->passes ? o->passes : fab_default_pipeline(target);
  if (!pipeline) pipeline = "canonicalize";
  fab_pass_options po = {.target = fab_target_lookup(target)};
  fab_diag *d = fab_diag_new();
  bool ok = fab_run_pipeline(m->lowered, pipeline, &po, d) && fab_verify(m->lowered, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_SOURCE, d, "the pass pipeline failed");
  fab_diag_free(d);
  return st;
}

static fabc_status compile_cpu(fabc_model *m, const fabc_options *o, char **err) {
  fab_cpu_options_default(&m->cpu_opts);
  m->cpu_name = o->cpu ? strdup(o->cpu) : NULL;
  m->cpu_features = o->features ? strdup(o->features) : NULL;
  if ((o->cpu && !m->cpu_name) || (o->features && !m->cpu_features))
    return api_fail(err, FABC_E_NOMEM, "out of memory");
  m->cpu_opts.cpu = m->cpu_name;
  m->cpu_opts.features = m->cpu_features;
  m->cpu_opts.opt_level = o->opt_level >= 0 && o->opt_level <= 3 ? o->opt_level : 3;
  m->cpu_opts.threads = o->threads > 0 ? o->threads : 1;
  m->cpu_codegen = o->codegen ? strdup(o->codegen) : NULL;
  if (o->codegen && !m->cpu_codegen) return api_fail(err, FABC_E_NOMEM, "out of memory");
  char msg[256];
  if (!fab_cpu_codegen_options_parse(&m->cpu_opts, m->cpu_codegen, msg, sizeof msg))
    return api_fail(err, FABC_E_ARG, "%s", msg);
  fab_diag *d = fab_diag_new();
  m->jit = fab_cpu_jit_compile(m->lowered, &m->cpu_opts, d);
  fabc_status st = m->jit ? FABC_OK : api_fail_diag(err, FABC_E_SOURCE, d, "the CPU backend failed");
  fab_diag_free(d);
  return st;
}

static fabc_status compile_fpga(fabc_model *m, const fabc_options *o, char **err) {
  if (!o->accel_path) return api_fail(err, FABC_E_ARG, "the fpga target needs an accelerator configuration");
  char msg[512];
  fab_status fs = fab_fpga_config_load(o->accel_path, &m->accel, msg, sizeof msg);
  if (fs != FAB_OK) return api_fail(err, api_status(fs) == FABC_E_IO ? FABC_E_IO : FABC_E_ARG, "%s", msg);
  fab_diag *d = fab_diag_new();
  m->program = fab_fpga_codegen(m->lowered, &m->accel, d);
  fabc_status st = m->program ? FABC_OK : api_fail_diag(err, FABC_E_SOURCE, d, "the FPGA code generator failed");
  fab_diag_free(d);
  return st;
}

fabc_status fabc_compile(const fabc_options *o, fabc_model **out, char **err) {
  if (!out) return api_fail(err, FABC_E_ARG, "fabc_compile needs somewhere to put the model");
  *out = NULL;
  if (!o) return api_fail(err, FABC_E_ARG, "fabc_compile needs options");
  fabc_model *m = calloc(1, sizeof *m);
  if (!m) return api_fail(err, FABC_E_NOMEM, "out of memory");
  pthread_rwlock_init(&m->lock, NULL);
  pthread_mutex_init(&m->pool_lock, NULL);
  fabc_status st = parse_target(o, &m->target, err);
  if (st == FABC_OK && !(m->written = api_load_module(o, err))) st = FABC_E_SOURCE;
  if (st == FABC_OK && !collect_info(m)) st = api_fail(err, FABC_E_NOMEM, "out of memory");
  /* The pipeline rewrites its module in place: the lowered copy is a
   * second reading of the same source (cheap next to the backend). */
  if (st == FABC_OK && m->target != TGT_INTERP) {
    if (!(m->lowered = api_load_module(o, err))) st = FABC_E_SOURCE;
    if (st == FABC_OK) st = lower(m, o, err);
    if (st == FABC_OK) st = m->target == TGT_CPU ? compile_cpu(m, o, err) : compile_fpga(m, o, err);
  }
  if (st != FABC_OK) {
    fabc_model_free(m);
    return st;
  }
  *out = m;
  return FABC_OK;
}

static void drain_pool(fabc_model *m) {
  for (int i = 0; i < m->npool; i++) fab_context_free(m->pool[i]);
  m->npool = 0;
}

void fabc_model_free(fabc_model *m) {
  if (!m) return;
  drain_pool(m);
  fab_cpu_jit_free(m->jit);
  fab_fpga_program_free(m->program);
  fab_tset_free(m->weights);
  for (int k = 0; k < 3; k++) free(m->info[k]);
  fab_module_free(m->lowered);
  fab_module_free(m->written);
  free(m->cpu_name);
  free(m->cpu_features);
  free(m->cpu_codegen);
  pthread_rwlock_destroy(&m->lock);
  pthread_mutex_destroy(&m->pool_lock);
  free(m);
}

/* ---- weights ------------------------------------------------------------------- */

static fab_tensor_set *copy_set(const fab_tensor_set *s) {
  fab_tensor_set *c = fab_tset_new();
  for (int i = 0; c && s && i < s->count; i++) {
    const fab_tensor *t = &s->items[i];
    fab_tensor *n = fab_tset_add(c, t->name, t->dtype, t->rank, t->dims);
    if (!n) {
      fab_tset_free(c);
      return NULL;
    }
    memcpy(n->data, t->data, t->nbytes);
  }
  return c;
}

/* Takes ownership of `w` (checked): the CPU model binds it by reference;
 * contexts made for the old weights are dropped. */
static fabc_status install_weights(fabc_model *m, fab_tensor_set *w, char **err) {
  if (m->jit) {
    char msg[512];
    fab_status fs = fab_model_bind_weights_ref(fab_cpu_jit_model(m->jit), w, msg, sizeof msg);
    if (fs != FAB_OK) {
      fab_tset_free(w);
      return api_fail(err, api_status(fs), "%s", msg);
    }
    drain_pool(m);
  }
  fab_tset_free(m->weights);
  m->weights = w;
  return FABC_OK;
}

fabc_status fabc_model_bind_weights(fabc_model *m, const fabc_tensors *w, int allow_extra, char **err) {
  if (!m || !w) return api_fail(err, FABC_E_ARG, "fabc_model_bind_weights needs a model and weights");
  fab_tensor_set *c = copy_set(w);
  if (!c) return api_fail(err, FABC_E_NOMEM, "out of memory");
  fab_diag *d = fab_diag_new();
  bool ok = fab_bind_check_weights(m->written, c, allow_extra != 0, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_TENSOR, d, "the weights do not fit the model");
  fab_diag_free(d);
  if (st != FABC_OK) {
    fab_tset_free(c);
    return st;
  }
  pthread_rwlock_wrlock(&m->lock);
  st = install_weights(m, c, err);
  pthread_rwlock_unlock(&m->lock);
  return st;
}

fabc_status fabc_model_init_weights(fabc_model *m, uint64_t seed, char **err) {
  if (!m) return api_fail(err, FABC_E_ARG, "fabc_model_init_weights needs a model");
  fab_tensor_set *w = fab_tset_new();
  if (!w) return api_fail(err, FABC_E_NOMEM, "out of memory");
  fab_diag *d = fab_diag_new();
  bool ok = fab_bind_init_weights(m->written, seed, w, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_TENSOR, d, "cannot initialise the weights");
  fab_diag_free(d);
  if (st != FABC_OK) {
    fab_tset_free(w);
    return st;
  }
  pthread_rwlock_wrlock(&m->lock);
  st = install_weights(m, w, err);
  pthread_rwlock_unlock(&m->lock);
  return st;
}

/* ---- running -------------------------------------------------------------------- */

static fab_context *take_context(fabc_model *m, char **err) {
  fab_context *c = NULL;
  pthread_mutex_lock(&m->pool_lock);
  if (m->npool > 0) c = m->pool[--m->npool];
  pthread_mutex_unlock(&m->pool_lock);
  if (c) return c;
  char msg[512];
  fab_status fs;
  c = fab_context_new(fab_cpu_jit_model(m->jit), m->cpu_opts.threads, &fs, msg, sizeof msg);
  if (!c) api_fail(err, api_status(fs), "%s", msg);
  return c;
}

static void give_back_context(fabc_model *m, fab_context *c) {
  pthread_mutex_lock(&m->pool_lock);
  if (m->npool < POOL_MAX)
    m->pool[m->npool++] = c;
  else
    fab_context_free(c);
  pthread_mutex_unlock(&m->pool_lock);
}

static fabc_status run_cpu(fabc_model *m, const fab_tensor_set *in, fab_tensor_set *out, char **err) {
  fab_context *c = take_context(m, err);
  if (!c) return FABC_E_RUN;
  char msg[512];
  fab_status fs = fab_context_run(c, in, out, msg, sizeof msg);
  give_back_context(m, c);
  return fs == FAB_OK ? FABC_OK : api_fail(err, api_status(fs), "%s", msg);
}

static fabc_status run_interp(fabc_model *m, const fab_tensor_set *in, fab_tensor_set *out, char **err) {
  fab_diag *d = fab_diag_new();
  bool ok = fab_interp_run(m->written, m->weights, in, out, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_RUN, d, "the interpreter failed");
  fab_diag_free(d);
  return st;
}

static fabc_status run_sim(fabc_model *m, const fab_tensor_set *in, fab_tensor_set *out, bool timing_only,
                           fab_fpga_report *rep, char **err) {
  fab_fpga_sim_opts so = {.quiet = true, .timing_only = timing_only};
  char msg[512];
  fab_status fs = fab_fpga_sim_run(m->program, NULL, m->weights, in, out, &so, rep, msg, sizeof msg);
  return fs == FAB_OK ? FABC_OK : api_fail(err, api_status(fs), "%s", msg);
}

/* Inputs are checked (and I64 ids converted) against the model as written,
 * like the CLI does, on a private copy: the caller's set stays as given. */
static fabc_status checked_inputs(fabc_model *m, const fabc_tensors *inputs, fab_tensor_set **out, char **err) {
  *out = copy_set(inputs);
  if (!*out) return api_fail(err, FABC_E_NOMEM, "out of memory");
  fab_diag *d = fab_diag_new();
  bool ok = fab_bind_check_inputs(m->written, *out, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_TENSOR, d, "the inputs do not fit the model");
  fab_diag_free(d);
  if (st != FABC_OK) {
    fab_tset_free(*out);
    *out = NULL;
  }
  return st;
}

static fabc_status run_locked(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, bool timing_only,
                              fab_fpga_report *rep, char **err) {
  if (!m->weights && m->ninfo[FABC_WEIGHTS] > 0)
    return api_fail(err, FABC_E_TENSOR, "no weights bound: bind weights (or initialise them) first");
  fab_tensor_set *in = NULL;
  fabc_status st = FABC_OK;
  if (!timing_only || inputs) st = checked_inputs(m, inputs, &in, err);
  if (st != FABC_OK) return st;
  fab_tensor_set *out = fab_tset_new();
  if (!out) st = api_fail(err, FABC_E_NOMEM, "out of memory");
  else if (m->target == TGT_INTERP) st = run_interp(m, in, out, err);
  else if (m->target == TGT_CPU) st = run_cpu(m, in, out, err);
  else st = run_sim(m, in, out, timing_only, rep, err);
  for (int i = 0; st == FABC_OK && outputs && i < out->count; i++) {
    const fab_tensor *t = &out->items[i];
    st = fabc_tensors_add(outputs, t->name, (int)t->dtype, t->rank, t->dims, t->data, t->nbytes, err);
  }
  fab_tset_free(out);
  fab_tset_free(in);
  return st;
}

fabc_status fabc_model_run(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, char **err) {
  if (!m || !inputs || !outputs) return api_fail(err, FABC_E_ARG, "fabc_model_run needs a model, inputs and outputs");
  pthread_rwlock_rdlock(&m->lock);
  fabc_status st = run_locked(m, inputs, outputs, false, NULL, err);
  pthread_rwlock_unlock(&m->lock);
  return st;
}

/* ---- the simulator's report -------------------------------------------------------- */

typedef struct report_print {
  const fab_fpga_report *r;
  const fab_fpga_config *c;
} report_print;

static void print_report(FILE *f, const void *arg) {
  const report_print *p = arg;
  fab_fpga_report_print(p->r, p->c, f);
}

static json_t *u64_array(const uint64_t *v, int n) {
  json_t *a = json_array();
  for (int i = 0; i < n; i++) json_array_append_new(a, json_integer((json_int_t)v[i]));
  return a;
}

static char *report_json(const fab_fpga_report *r, const fab_fpga_config *c) {
  json_t *o = json_object();
  json_object_set_new(o, "accel", json_string(c->name));
  json_object_set_new(o, "clock_mhz", json_real(c->clock_mhz));
  json_object_set_new(o, "total_cycles", json_integer((json_int_t)r->total_cycles));
  json_object_set_new(o, "latency_ms", json_real(r->latency_ms));
  /* A batch: the figures above are one sample's; these are the whole run's. */
  json_object_set_new(o, "samples", json_integer((json_int_t)(r->samples ? r->samples : 1)));
  json_object_set_new(o, "batch_cycles", json_integer((json_int_t)r->batch_cycles));
  json_object_set_new(o, "batch_latency_ms", json_real(r->batch_latency_ms));
  json_object_set_new(o, "model_cycles", json_integer((json_int_t)r->model_cycles));
  json_object_set_new(o, "engine_util", json_real(r->engine_util));
  json_object_set_new(o, "bu_util", json_real(r->bu_util));
  json_object_set_new(o, "bfly_cycles", json_integer((json_int_t)r->bfly_cycles));
  json_object_set_new(o, "butterflies", json_integer((json_int_t)r->butterflies));
  json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
  json_object_set_new(o, "bytes_coef", json_integer((json_int_t)r->bytes_coef));
  json_object_set_new(o, "bytes_out", json_integer((json_int_t)r->bytes_out));
  json_object_set_new(o, "coef_busy", json_integer((json_int_t)r->coef_busy));
  json_object_set_new(o, "queue_insns", u64_array(r->insns, FAB_Q_COUNT));
  json_object_set_new(o, "queue_busy", u64_array(r->busy, FAB_Q_COUNT));
  json_object_set_new(o, "queue_stall", u64_array(r->stall, FAB_Q_COUNT));
  int ne = r->p_be > 0 && r->p_be <= FAB_FPGA_MAX_ENGINES ? r->p_be : 0;
  json_object_set_new(o, "engine_busy", u64_array(r->engine_busy, ne));
  json_object_set_new(o, "engine_stall", u64_array(r->engine_stall, ne));
  report_print p = {r, c};
  char *text = api_capture(print_report, &p);
  json_object_set_new(o, "text", json_string(text ? text : ""));
  free(text);
  char *s = json_dumps(o, JSON_INDENT(1));
  json_decref(o);
  return s;
}

fabc_status fabc_model_simulate(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, int timing_only,
                                char **report, char **err) {
  if (report) *report = NULL;
  if (!m) return api_fail(err, FABC_E_ARG, "fabc_model_simulate needs a model");
  if (m->target != TGT_FPGA)
    return api_fail(err, FABC_E_ARG, "simulate needs a model compiled for the fpga target (this one is '%s')",
                    target_names[m->target]);
  if (!timing_only && !inputs) return api_fail(err, FABC_E_ARG, "simulate needs inputs (or timing_only)");
  fab_fpga_report rep;
  memset(&rep, 0, sizeof rep);
  pthread_rwlock_rdlock(&m->lock);
  fabc_status st = run_locked(m, inputs, timing_only ? NULL : outputs, timing_only != 0, &rep, err);
  pthread_rwlock_unlock(&m->lock);
  if (st == FABC_OK && report && !(*report = report_json(&rep, &m->accel)))
    st = api_fail(err, FABC_E_NOMEM, "out of memory");
  return st;
}

/* ---- files ------------------------------------------------------------------------ */

fabc_status fabc_model_build(fabc_model *m, const char *out_path, int embed_weights, char **err) {
  if (!m || !out_path) return api_fail(err, FABC_E_ARG, "fabc_model_build needs a model and an output path");
  if (m->target == TGT_INTERP)
    return api_fail(err, FABC_E_ARG, "build needs a model compiled for the cpu or fpga target");
  pthread_rwlock_rdlock(&m->lock);
  fabc_status st = FABC_OK;
  if (m->target == TGT_FPGA) {
    char msg[512];
    fab_status fs = fab_fpga_fbin_write(out_path, m->program, msg, sizeof msg);
    if (fs != FAB_OK) st = api_fail(err, api_status(fs), "%s", msg);
  } else if (embed_weights && !m->weights && m->ninfo[FABC_WEIGHTS] > 0) {
    st = api_fail(err, FABC_E_TENSOR, "embed_weights: no weights bound");
  } else {
    fab_cpu_options o = m->cpu_opts;
    o.embed_weights = embed_weights != 0;
    o.weights = embed_weights ? m->weights : NULL;
    fab_diag *d = fab_diag_new();
    if (!fab_cpu_emit(m->lowered, &o, FAB_CPU_EMIT_SHARED, out_path, d))
      st = api_fail_diag(err, FABC_E_IO, d, "the CPU backend failed");
    fab_diag_free(d);
  }
  pthread_rwlock_unlock(&m->lock);
  return st;
}
