/* model.c — compiled models: the front end, the target's pipeline and
 * backend (backends/target.h), weights, runs and files.  This is what
 * `fabc check/emit/run/build/stats` do (cli/), without printing.
 *
 * Threads: runs hold the model's read lock, binding weights its write lock;
 * the targets' run entry points are safe to call concurrently (the CPU
 * target keeps a pool of contexts). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "fab_alloc.h"
#include "fab_weight_map.h"
#include "interp.h"
#include "passes.h"
#include "target.h"

typedef struct tensor_info {
  const char *name; /* in `written`'s arena */
  int dtype, rank;
  int64_t dims[FAB_MAX_RANK];
} tensor_info;

struct fabc_model {
  const fab_target *target; /* NULL: none (FABC_STAGE_IR without a target) */
  int stage;
  fab_module *written; /* as the front end made it: weights and inputs bind against it */
  fab_module *lowered; /* after the pipeline; NULL when there was none (use written) */
  tensor_info *info[3];
  int ninfo[3];
  fab_tensor_set *weights; /* NULL until bound */
  fab_compiled *compiled;  /* NULL below FABC_STAGE_BUILD */
  pthread_rwlock_t lock;
};

static const fab_module *backend_module(const fabc_model *m) { return m->lowered ? m->lowered : m->written; }

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
    m->info[k] = fab_calloc((size_t)cap + 1, sizeof(tensor_info));
    if (!m->info[k]) return false;
  }
  const fab_op **outs = fab_calloc((size_t)nops + 1, sizeof *outs);
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

const char *fabc_model_target(const fabc_model *m) { return m && m->target ? m->target->name : NULL; }
const char *fabc_model_name(const fabc_model *m) { return m && m->written->name ? m->written->name : ""; }

int fabc_model_op_count(const fabc_model *m) {
  const fab_func *f = m ? fab_module_main(m->written) : NULL;
  return f ? f->nops : 0;
}

const char *fabc_target_name(int i) {
  const fab_target *t = fab_target_get(i);
  return t ? t->name : NULL;
}

int fabc_target_simulates(int i) {
  const fab_target *t = fab_target_get(i);
  return t && t->simulates;
}

const char *fabc_target_summary(int i) {
  const fab_target *t = fab_target_get(i);
  return t ? t->summary : NULL;
}

/* ---- compiling ------------------------------------------------------------------ */

static fabc_status find_target(const fabc_options *o, const fab_target **t, char **err) {
  *t = NULL;
  if (!o->target && o->stage == FABC_STAGE_IR) return FABC_OK;
  const char *name = o->target ? o->target : fabc_target_name(0);
  if ((*t = fab_target_find(name))) return FABC_OK;
  char names[128];
  fab_target_names(names, sizeof names);
  return api_fail(err, FABC_E_ARG, "unknown target '%s' (available: %s)", name, names);
}

static fab_target_config target_config(const fabc_options *o) {
  return (fab_target_config){.cpu = o->cpu,
                             .features = o->features,
                             .codegen = o->codegen,
                             .opt_level = o->opt_level,
                             .threads = o->threads,
                             .accel = o->accel_path,
                             .build_only = o->stage == FABC_STAGE_BUILD};
}

/* The pipeline rewrites its module in place: it runs on a copy, and the
 * module as written stays for binding weights and inputs. */
static fabc_status lower(fabc_model *m, const fabc_options *o, fab_diag *d, char **err) {
  const char *pipeline = o->passes ? o->passes : m->target ? m->target->pipeline : "";
  if (!*pipeline) return FABC_OK;
  if (!(m->lowered = fab_module_clone(m->written))) return api_fail(err, FABC_E_NOMEM, "out of memory");
  fab_pass_options po = {.print_before = o->print_before,
                         .print_after = o->print_after,
                         .stop_after = o->stop_after,
                         .verify_each = o->verify_each != 0,
                         .time_passes = o->time_passes != 0,
                         .print_out = o->print_stream,
                         .reproducer_dir = o->reproducer_dir};
  fab_target_config cfg = target_config(o);
  bool ok;
  if (m->target) {
    ok = fab_target_lower(m->target, &cfg, m->lowered, pipeline, &po, d);
  } else {
    ok = fab_run_pipeline(m->lowered, pipeline, &po, d) && fab_verify(m->lowered, d);
  }
  return ok ? FABC_OK : api_fail_diag(err, FABC_E_SOURCE, d, "the pass pipeline failed");
}

static fabc_status compile_backend(fabc_model *m, const fabc_options *o, fab_diag *d, char **err) {
  fab_target_config cfg = target_config(o);
  m->compiled = m->target->compile(backend_module(m), &cfg, d);
  fabc_status st = FABC_OK;
  if (!m->compiled) {
    char fallback[96];
    snprintf(fallback, sizeof fallback, "the %s backend failed", m->target->name);
    /* A missing accelerator configuration is the caller's omission. */
    st = api_fail_diag(err, o->accel_path || !m->target->simulates ? FABC_E_SOURCE : FABC_E_ARG, d, fallback);
  }
  return st;
}

fabc_status fabc_compile(const fabc_options *o, fabc_model **out, char **err) {
  if (!out) return api_fail(err, FABC_E_ARG, "fabc_compile needs somewhere to put the model");
  *out = NULL;
  if (!o) return api_fail(err, FABC_E_ARG, "fabc_compile needs options");
  if (o->stage < FABC_STAGE_RUN || o->stage > FABC_STAGE_IR)
    return api_fail(err, FABC_E_ARG, "fabc_compile: unknown stage %d", o->stage);
  fabc_model *m = fab_calloc(1, sizeof *m);
  if (!m) return api_fail(err, FABC_E_NOMEM, "out of memory");
  pthread_rwlock_init(&m->lock, NULL);
  m->stage = o->stage;
  fabc_status st = find_target(o, &m->target, err);
  if (st == FABC_OK && m->target && m->target->check_config) {
    fab_target_config cfg = target_config(o);
    fab_diag *d = fab_diag_new();
    if (!m->target->check_config(&cfg, d)) st = api_fail_diag(err, FABC_E_ARG, d, "bad target options");
    fab_diag_free(d);
  }
  /* One diag for every stage: the front end registers the source with it,
   * so that pass and backend errors show the source line and a caret. */
  fab_diag *d = fab_diag_new();
  if (st == FABC_OK && !(m->written = api_load_module(o, d, err))) st = FABC_E_SOURCE;
  if (st == FABC_OK && !collect_info(m)) st = api_fail(err, FABC_E_NOMEM, "out of memory");
  if (st == FABC_OK) st = lower(m, o, d, err);
  /* --stop-after leaves the IR half way: nothing to give the backend. */
  if (st == FABC_OK && m->target && o->stage != FABC_STAGE_IR && !o->stop_after)
    st = compile_backend(m, o, d, err);
  fab_diag_free(d);
  if (st != FABC_OK) {
    fabc_model_free(m);
    return st;
  }
  *out = m;
  return FABC_OK;
}

void fabc_model_free(fabc_model *m) {
  if (!m) return;
  if (m->compiled) m->target->release(m->compiled);
  fab_tset_free(m->weights);
  for (int k = 0; k < 3; k++) free(m->info[k]);
  fab_module_free(m->lowered);
  fab_module_free(m->written);
  pthread_rwlock_destroy(&m->lock);
  free(m);
}

fabc_status fabc_model_ir(const fabc_model *m, int lowered, int locs, char **text, char **err) {
  if (!m || !text) return api_fail(err, FABC_E_ARG, "fabc_model_ir needs a model and somewhere to put the text");
  *text = fab_print_module_str(lowered ? backend_module(m) : m->written, locs ? FAB_PRINT_LOCS : 0);
  return *text ? FABC_OK : api_fail(err, FABC_E_NOMEM, "out of memory");
}

fabc_status fabc_model_memplan(const fabc_model *m, int64_t *planned, int64_t *unplanned, char **err) {
  if (!m || !planned || !unplanned) return api_fail(err, FABC_E_ARG, "fabc_model_memplan needs a model");
  if (!fab_memplan_stats(backend_module(m), planned, unplanned))
    return api_fail(err, FABC_E_ARG, "the pipeline for '%s' did not plan memory (add memplan to the passes)",
                    m->target ? m->target->name : "(no target)");
  return FABC_OK;
}

static fabc_status need_backend(const fabc_model *m, const char *what, char **err) {
  if (m->compiled) return FABC_OK;
  return api_fail(err, FABC_E_ARG, "%s needs a model compiled for a target (this one stopped at the IR)", what);
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

/* Takes ownership of `w` (checked): the target may keep a reference
 * (the CPU binds by reference). */
static fabc_status install_weights(fabc_model *m, fab_tensor_set *w, char **err) {
  if (m->compiled && m->stage == FABC_STAGE_RUN) {
    fab_diag *d = fab_diag_new();
    bool ok = m->target->bind_weights(m->compiled, w, d);
    fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_TENSOR, d, "cannot bind the weights");
    fab_diag_free(d);
    if (!ok) {
      fab_tset_free(w);
      return st;
    }
  }
  fab_tset_free(m->weights);
  m->weights = w;
  return FABC_OK;
}

/* Checks (through the map) and installs a private copy of w. */
static fabc_status bind_copy(fabc_model *m, const fabc_tensors *w, const fab_weight_map *map, bool allow_extra,
                             char **err) {
  fab_tensor_set *c = copy_set(w);
  if (!c) return api_fail(err, FABC_E_NOMEM, "out of memory");
  fab_diag *d = fab_diag_new();
  bool ok = map ? fab_bind_map_weights(m->written, map, c, d) : fab_bind_check_weights(m->written, c, allow_extra, d);
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

fabc_status fabc_model_bind_weights(fabc_model *m, const fabc_tensors *w, int allow_extra, char **err) {
  if (!m || !w) return api_fail(err, FABC_E_ARG, "fabc_model_bind_weights needs a model and weights");
  return bind_copy(m, w, NULL, allow_extra != 0, err);
}

fabc_status fabc_model_bind_weights_map(fabc_model *m, const fabc_tensors *w, const struct fab_weight_map *map,
                                        char **err) {
  if (!m || !w) return api_fail(err, FABC_E_ARG, "fabc_model_bind_weights_map needs a model and weights");
  return bind_copy(m, w, map, false, err);
}

fabc_status fabc_model_bind_weights_json(fabc_model *m, const fabc_tensors *w, const char *map_json, char **err) {
  if (!m || !w || !map_json)
    return api_fail(err, FABC_E_ARG, "fabc_model_bind_weights_json needs a model, weights and a map");
  fab_weight_map *map = fab_wmap_new();
  if (!map) return api_fail(err, FABC_E_NOMEM, "out of memory");
  char msg[1024];
  fab_status fs = fab_wmap_parse_json(map, map_json, strlen(map_json), "weight map", msg, sizeof msg);
  fabc_status st = fs == FAB_OK ? bind_copy(m, w, map, false, err) : api_fail(err, FABC_E_ARG, "%s", msg);
  fab_wmap_free(map);
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

fabc_status fabc_model_init_inputs(fabc_model *m, uint64_t seed, int64_t batch, fabc_tensors *inputs, char **err) {
  if (!m || !inputs) return api_fail(err, FABC_E_ARG, "fabc_model_init_inputs needs a model and a tensor set");
  if (batch < 0) return api_fail(err, FABC_E_ARG, "batch %lld: expected 0 (no sample axis) or more", (long long)batch);
  fab_diag *d = fab_diag_new();
  bool ok = fab_bind_init_inputs_batch(m->written, seed, batch, inputs, d);
  fabc_status st = ok ? FABC_OK : api_fail_diag(err, FABC_E_TENSOR, d, "cannot make inputs");
  fab_diag_free(d);
  return st;
}

/* ---- running -------------------------------------------------------------------- */

/* Inputs are checked (and I64 ids converted) against the model as written,
 * on a private copy: the caller's set stays as given. */
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

static fabc_status run_locked(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, fab_target_run *r,
                              char **err) {
  if (!m->weights && m->ninfo[FABC_WEIGHTS] > 0)
    return api_fail(err, FABC_E_TENSOR, "no weights bound: bind weights (or initialise them) first");
  fab_tensor_set *in = NULL;
  fabc_status st = FABC_OK;
  if (!r->timing_only || inputs) st = checked_inputs(m, inputs, &in, err);
  if (st != FABC_OK) return st;
  fab_tensor_set *out = fab_tset_new();
  fab_diag *d = fab_diag_new();
  if (!out || !d) {
    st = api_fail(err, FABC_E_NOMEM, "out of memory");
  } else if (!m->target->run(m->compiled, in, r->timing_only ? NULL : out, r, d)) {
    char fallback[96];
    snprintf(fallback, sizeof fallback, "the %s run failed", m->target->name);
    st = api_fail_diag(err, FABC_E_RUN, d, fallback);
  }
  for (int i = 0; st == FABC_OK && outputs && i < out->count; i++) {
    const fab_tensor *t = &out->items[i];
    st = fabc_tensors_add(outputs, t->name, (int)t->dtype, t->rank, t->dims, t->data, t->nbytes, err);
  }
  fab_diag_free(d);
  fab_tset_free(out);
  fab_tset_free(in);
  return st;
}

fabc_status fabc_model_run_ex(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, fabc_run_options *ro,
                              char **err) {
  fabc_run_options none = {0};
  if (!ro) ro = &none;
  ro->report_text = ro->report_json = NULL;
  if (!m) return api_fail(err, FABC_E_ARG, "fabc_model_run needs a model");
  fabc_status st = need_backend(m, "running", err);
  if (st != FABC_OK) return st;
  if ((ro->timing_only || ro->want_report || ro->trace_path) && !m->target->simulates)
    return api_fail(err, FABC_E_ARG, "timing, reports and traces come from a simulator; the %s target has none",
                    m->target->name);
  if (!ro->timing_only && (!inputs || !outputs))
    return api_fail(err, FABC_E_ARG, "a run needs inputs and outputs (or timing_only)");
  fab_target_run r = {.timing_only = ro->timing_only != 0, .trace_path = ro->trace_path, .want_report = ro->want_report != 0};
  pthread_rwlock_rdlock(&m->lock);
  st = run_locked(m, inputs, ro->timing_only ? NULL : outputs, &r, err);
  pthread_rwlock_unlock(&m->lock);
  if (st == FABC_OK) {
    ro->report_text = r.report_text;
    ro->report_json = r.report_json;
  } else {
    free(r.report_text);
    free(r.report_json);
  }
  return st;
}

fabc_status fabc_model_run(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, char **err) {
  if (!m || !inputs || !outputs) return api_fail(err, FABC_E_ARG, "fabc_model_run needs a model, inputs and outputs");
  return fabc_model_run_ex(m, inputs, outputs, NULL, err);
}

fabc_status fabc_model_simulate(fabc_model *m, const fabc_tensors *inputs, fabc_tensors *outputs, int timing_only,
                                char **report, char **err) {
  if (report) *report = NULL;
  if (!m) return api_fail(err, FABC_E_ARG, "fabc_model_simulate needs a model");
  if (!m->target || !m->target->simulates)
    return api_fail(err, FABC_E_ARG, "simulate needs a model compiled for a simulated target (the fpga target); this one is '%s'",
                    m->target ? m->target->name : "no target");
  if (!timing_only && !inputs) return api_fail(err, FABC_E_ARG, "simulate needs inputs (or timing_only)");
  fabc_tensors *scratch = !timing_only && !outputs ? fabc_tensors_new() : NULL;
  fabc_run_options ro = {.timing_only = timing_only, .want_report = report != NULL};
  fabc_status st = fabc_model_run_ex(m, inputs, outputs ? outputs : scratch, &ro, err);
  fabc_tensors_free(scratch);
  free(ro.report_text);
  if (report) *report = ro.report_json;
  else free(ro.report_json);
  return st;
}

/* ---- files ------------------------------------------------------------------------ */

fabc_status fabc_model_emit(fabc_model *m, const char *kind, const char *out_path, int embed_weights, char **err) {
  if (!m || !out_path) return api_fail(err, FABC_E_ARG, "fabc_model_emit needs a model and an output path");
  fabc_status st = need_backend(m, "building", err);
  if (st != FABC_OK) return st;
  const fab_target *t = m->target;
  if (!t->build_kinds) return api_fail(err, FABC_E_ARG, "the %s target builds nothing (it only runs)", t->name);
  char first[32];
  snprintf(first, sizeof first, "%.*s", (int)strcspn(t->build_kinds, ","), t->build_kinds);
  if (!kind) kind = first;
  if (!fab_target_builds(t, kind))
    return api_fail(err, FABC_E_ARG, "the %s target cannot build '%s' (it builds %s)", t->name, kind, t->build_kinds);
  pthread_rwlock_rdlock(&m->lock);
  if (embed_weights && !m->weights && m->ninfo[FABC_WEIGHTS] > 0) {
    st = api_fail(err, FABC_E_TENSOR, "embed_weights: no weights bound");
  } else {
    fab_diag *d = fab_diag_new();
    fab_tensor_set *none = embed_weights && !m->weights ? fab_tset_new() : NULL;
    const fab_tensor_set *embed = embed_weights ? (m->weights ? m->weights : none) : NULL;
    char fallback[96];
    snprintf(fallback, sizeof fallback, "the %s backend failed", t->name);
    if (!t->build(m->compiled, kind, out_path, embed, d)) st = api_fail_diag(err, FABC_E_IO, d, fallback);
    fab_tset_free(none);
    fab_diag_free(d);
  }
  pthread_rwlock_unlock(&m->lock);
  return st;
}

fabc_status fabc_model_build(fabc_model *m, const char *out_path, int embed_weights, char **err) {
  return fabc_model_emit(m, NULL, out_path, embed_weights, err);
}
