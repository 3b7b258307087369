/* model.c — loading compiled models (fab_runtime.h): dlopen, descriptor
 * checks, weight binding, contexts and runs.
 *
 * The descriptor comes from a file we did not write, so every field is
 * checked before use: magic, ABI version, size, counts, names, dtypes,
 * shapes and byte sizes.  Only then is `run` ever called. */
#include "fab_pool.h"
#include "fab_alloc.h"
#include "fab_runtime.h"
#include "fab_tensor_internal.h"
#include "fab_weight_map.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fab_model {
  void *dl; /* NULL for in-process descriptors */
  const fab_model_desc *d;
  void **weights; /* nweights pointers (owned copies or embedded data), then `prepared` */
  void **owned;   /* nweights owned buffers (NULL where not owned) */
  void *prepared; /* the prepare step's buffer (NULL: none) */
  int bound;
};

/* What one worker needs to run a whole sample on its own. */
typedef struct worker_slot {
  void *scratch;
  const void **in;
  void **out;
} worker_slot;

struct fab_context {
  fab_model *m;
  void *scratch;
  fab_pool *pool;
  fab_parallel par;
  const void **in;
  void **out;
  /* One per thread for sample-parallel batches, made on first use; slot 0
   * borrows scratch, in and out above. */
  worker_slot *slots;
  int nslots;
};

static void *aligned(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) != 0) return NULL;
  return p;
}

/* The prepare step's buffer size (0 for descriptors older than it). */
static int64_t prepared_bytes(const fab_model_desc *d) {
  return d->desc_size == FAB_MODEL_DESC_SIZE_V1 ? 0 : d->prepared_bytes;
}

/* Runs the descriptor's prepare step on the bound weights into a fresh
 * buffer, which replaces the old one; on failure the model is unbound
 * (its prepared data would not match the weights). */
static fab_status prepare(fab_model *m, char *err, size_t errlen) {
  const fab_model_desc *d = m->d;
  int64_t bytes = prepared_bytes(d);
  if (bytes == 0) return FAB_OK;
  void *buf = aligned((size_t)bytes);
  fab_status st = FAB_OK;
  if (!buf) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "out of memory for the model's prepared data (%lld bytes)",
                  (long long)bytes);
  } else {
    memset(buf, 0, (size_t)bytes);
    int32_t rc = d->prepare((const void *const *)m->weights, buf);
    if (rc != 0) {
      free(buf);
      st = fab_fail(err, errlen, FAB_E_RUNTIME, "the model's prepare step failed (code %d)", (int)rc);
    }
  }
  if (st != FAB_OK) {
    m->bound = 0;
    return st;
  }
  free(m->prepared);
  m->prepared = buf;
  m->weights[d->nweights] = buf;
  return FAB_OK;
}

static fab_status check_tensors(const fab_model_tensor_desc *t, int32_t n, const char *what,
                                char *err, size_t errlen) {
  if (n < 0 || n > FAB_MODEL_MAX_TENSORS)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %d %s", (int)n, what);
  if (n > 0 && !t) return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: no %s table", what);
  for (int32_t i = 0; i < n; i++) {
    if (!t[i].name || strnlen(t[i].name, FAB_MODEL_MAX_NAME) >= FAB_MODEL_MAX_NAME)
      return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %s %d has a bad name", what,
                      (int)i);
    if (t[i].dtype != FAB_DT_F32 && t[i].dtype != FAB_DT_I32)
      return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %s '%s' has dtype %d", what,
                      t[i].name, (int)t[i].dtype);
    uint64_t bytes;
    if (t[i].rank < 0 || t[i].rank > FAB_TENSOR_MAX_RANK ||
        fab_shape_bytes((fab_tensor_dtype)t[i].dtype, t[i].rank, t[i].dims, &bytes) != FAB_OK ||
        (int64_t)bytes != t[i].nbytes)
      return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %s '%s' has a bad shape", what,
                      t[i].name);
    for (int k = 0; k < t[i].rank; k++)
      if (t[i].dims[k] < 1)
        return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %s '%s' has a bad shape",
                        what, t[i].name);
  }
  return FAB_OK;
}

static fab_status check_desc(const fab_model_desc *d, char *err, size_t errlen) {
  if (!d) return fab_fail(err, errlen, FAB_E_ARG, "no model descriptor");
  if (d->magic != FAB_MODEL_MAGIC)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: bad magic number");
  if (d->abi_version != FAB_MODEL_ABI_VERSION)
    return fab_fail(err, errlen, FAB_E_VERSION,
                    "compiled model has ABI version %u, this runtime expects %u (recompile it)",
                    (unsigned)d->abi_version, (unsigned)FAB_MODEL_ABI_VERSION);
  if (d->desc_size != sizeof(fab_model_desc) && d->desc_size != FAB_MODEL_DESC_SIZE_V1)
    return fab_fail(err, errlen, FAB_E_VERSION, "model descriptor has size %u, expected %zu",
                    (unsigned)d->desc_size, sizeof(fab_model_desc));
  if (prepared_bytes(d) < 0 || (uint64_t)prepared_bytes(d) > FAB_TENSOR_MAX_BYTES)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: prepared size %lld",
                    (long long)prepared_bytes(d));
  if (prepared_bytes(d) > 0 && !d->prepare)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: prepared bytes but no prepare step");
  if (!d->run) return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: no entry function");
  if (d->scratch_bytes < 0 || (uint64_t)d->scratch_bytes > FAB_TENSOR_MAX_BYTES)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: scratch size %lld",
                    (long long)d->scratch_bytes);
  fab_status st;
  if ((st = check_tensors(d->inputs, d->ninputs, "inputs", err, errlen)) != FAB_OK ||
      (st = check_tensors(d->outputs, d->noutputs, "outputs", err, errlen)) != FAB_OK ||
      (st = check_tensors(d->weights, d->nweights, "weights", err, errlen)) != FAB_OK)
    return st;
  /* Inputs and outputs are bound by name: a repeated output name would
   * hand the entry function one (possibly smaller) buffer for both. */
  for (int k = 0; k < 2; k++) {
    const fab_model_tensor_desc *t = k ? d->outputs : d->inputs;
    int32_t n = k ? d->noutputs : d->ninputs;
    for (int32_t i = 0; i < n; i++)
      for (int32_t j = 0; j < i; j++)
        if (strcmp(t[i].name, t[j].name) == 0)
          return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: %s '%s' listed twice",
                          k ? "output" : "input", t[i].name);
  }
  if (d->embedded_weights && !d->weight_data && d->nweights > 0)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: embedded weights missing");
  if (d->target && strnlen(d->target, 4096) == 4096)
    return fab_fail(err, errlen, FAB_E_FORMAT, "model descriptor: target string too long");
  return fab_cpu_check_target(d->target, err, errlen);
}

static fab_model *wrap(void *dl, const fab_model_desc *d, fab_status *status, char *err,
                       size_t errlen) {
  fab_status st = check_desc(d, err, errlen);
  fab_model *m = NULL;
  if (st == FAB_OK) {
    m = fab_calloc(1, sizeof *m);
    size_t n = (size_t)d->nweights + 1; /* + the prepared buffer */
    if (m) {
      m->weights = fab_calloc(n, sizeof(void *));
      m->owned = fab_calloc(n, sizeof(void *));
    }
    if (!m || !m->weights || !m->owned) {
      if (m) {
        free(m->weights);
        free(m->owned);
        free(m);
      }
      m = NULL;
      st = fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
    }
  }
  if (st != FAB_OK) {
    if (status) *status = st;
    return NULL;
  }
  m->dl = dl;
  m->d = d;
  if (d->embedded_weights) {
    for (int i = 0; i < d->nweights; i++) m->weights[i] = (void *)d->weight_data[i];
    m->bound = 1;
  }
  if (d->nweights == 0) m->bound = 1;
  if (m->bound && (st = prepare(m, err, errlen)) != FAB_OK) {
    m->dl = NULL; /* the caller closes it */
    fab_model_free(m);
    if (status) *status = st;
    return NULL;
  }
  if (status) *status = FAB_OK;
  return m;
}

fab_model *fab_model_from_desc(const fab_model_desc *desc, fab_status *status, char *err,
                               size_t errlen) {
  return wrap(NULL, desc, status, err, errlen);
}

/* dlopen maps segments as the program headers say; a truncated file then
 * faults (SIGBUS) on first touch instead of failing.  So the ELF header
 * and every loadable segment are checked against the file size first. */
static fab_status check_elf(const char *path, char *err, size_t errlen) {
  fab_rfile f;
  fab_status st = fab_rfile_open(&f, path, err, errlen);
  if (st != FAB_OK) return st;
  Elf64_Ehdr eh;
  st = FAB_E_FORMAT;
  if (f.size < sizeof eh || fab_rfile_read(&f, 0, &eh, sizeof eh, NULL, 0) != FAB_OK ||
      memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    fab_fail(err, errlen, st, "'%s' is not a 64-bit ELF shared library", path);
    goto out;
  }
  if (eh.e_type != ET_DYN || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      eh.e_phoff > f.size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > f.size - eh.e_phoff) {
    fab_fail(err, errlen, st, "'%s': bad or truncated ELF program headers", path);
    goto out;
  }
  for (int i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (fab_rfile_read(&f, eh.e_phoff + (uint64_t)i * sizeof ph, &ph, sizeof ph, NULL, 0) != FAB_OK) {
      fab_fail(err, errlen, st, "'%s': unreadable program header", path);
      goto out;
    }
    if ((ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC) &&
        (ph.p_offset > f.size || ph.p_filesz > f.size - ph.p_offset)) {
      fab_fail(err, errlen, st, "'%s' is truncated (a segment ends past the end of the file)", path);
      goto out;
    }
  }
  if (eh.e_shoff && (eh.e_shoff > f.size ||
                     (uint64_t)eh.e_shnum * eh.e_shentsize > f.size - eh.e_shoff)) {
    fab_fail(err, errlen, st, "'%s' is truncated (section headers past the end)", path);
    goto out;
  }
  st = FAB_OK;
out:
  fab_rfile_close(&f);
  return st;
}

fab_model *fab_model_load(const char *so_path, fab_status *status, char *err, size_t errlen) {
  fab_status st;
  if (!so_path) {
    st = fab_fail(err, errlen, FAB_E_ARG, "no model path");
    if (status) *status = st;
    return NULL;
  }
  /* dlopen needs a slash to avoid searching the library path. */
  char buf[4096];
  const char *path = so_path;
  if (!strchr(so_path, '/')) {
    snprintf(buf, sizeof buf, "./%s", so_path);
    path = buf;
  }
  st = check_elf(path, err, errlen);
  if (st != FAB_OK) {
    if (status) *status = st == FAB_E_IO ? FAB_E_IO : FAB_E_FORMAT;
    return NULL;
  }
  void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *e = dlerror();
    st = fab_fail(err, errlen, FAB_E_FORMAT, "cannot load model '%s': %s", so_path,
                  e ? e : "unknown error");
    if (status) *status = st;
    return NULL;
  }
  const fab_model_desc *d = dlsym(dl, FAB_MODEL_SYMBOL);
  if (!d) {
    st = fab_fail(err, errlen, FAB_E_VERSION,
                  "'%s' is not a fabc model of this version (no symbol %s)", so_path,
                  FAB_MODEL_SYMBOL);
    dlclose(dl);
    if (status) *status = st;
    return NULL;
  }
  fab_model *m = wrap(dl, d, status, err, errlen);
  if (!m) dlclose(dl);
  return m;
}

void fab_model_free(fab_model *m) {
  if (!m) return;
  if (m->d)
    for (int i = 0; i < m->d->nweights; i++) free(m->owned[i]);
  free(m->owned);
  free(m->weights);
  free(m->prepared);
  if (m->dl) dlclose(m->dl);
  free(m);
}

static fab_status bind(fab_model *m, const fab_tensor_set *w, const fab_weight_map *map,
                       unsigned flags, bool copy, char *err, size_t errlen);

fab_status fab_model_bind_weights(fab_model *m, const fab_tensor_set *w, char *err,
                                  size_t errlen) {
  return bind(m, w, NULL, FAB_WMAP_UNUSED_OK, true, err, errlen);
}

fab_status fab_model_bind_weights_ref(fab_model *m, const fab_tensor_set *w, char *err,
                                      size_t errlen) {
  return bind(m, w, NULL, FAB_WMAP_UNUSED_OK, false, err, errlen);
}

fab_status fab_model_bind_weights_map(fab_model *m, const fab_tensor_set *w,
                                      const fab_weight_map *map, char *err, size_t errlen) {
  return bind(m, w, map, 0, true, err, errlen);
}

fab_status fab_model_bind_weights_map_ref(fab_model *m, const fab_tensor_set *w,
                                          const fab_weight_map *map, char *err, size_t errlen) {
  return bind(m, w, map, 0, false, err, errlen);
}

/* found[i]: the entry of w that supplies weight i under the map (names,
 * stated reshapes), after every check. */
static fab_status resolve_weights(const fab_model_desc *d, const fab_tensor_set *w,
                                  const fab_weight_map *map, unsigned flags, int *found, char *err,
                                  size_t errlen) {
  fab_wmap_param *params = fab_calloc((size_t)d->nweights + 1, sizeof *params);
  if (!params) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  for (int i = 0; i < d->nweights; i++)
    params[i] = (fab_wmap_param){d->weights[i].name, d->weights[i].rank, d->weights[i].dims};
  fab_status st =
      fab_wmap_resolve(map, w, params, d->nweights, flags, found, NULL, NULL, err, errlen);
  free(params);
  for (int i = 0; i < d->nweights && st == FAB_OK; i++) {
    const fab_tensor *t = &w->items[found[i]];
    if (t->dtype == FAB_DT_I32 || t->dtype == FAB_DT_I64 || t->dtype >= FAB_DT_COUNT)
      st = fab_fail(err, errlen, FAB_E_DTYPE, "weight '%s' is not floating point", d->weights[i].name);
  }
  return st;
}

/* Makes weight i point at t's data (in place, or a private F32 copy). */
static fab_status bind_one(fab_model *m, int i, const fab_tensor *t, bool copy, char *err,
                           size_t errlen) {
  const fab_model_tensor_desc *wd = &m->d->weights[i];
  if (!copy && t->dtype == FAB_DT_F32) {
    free(m->owned[i]);
    m->owned[i] = NULL;
    m->weights[i] = t->data;
    return FAB_OK;
  }
  void *buf = aligned((size_t)wd->nbytes);
  if (!buf) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory for weight '%s'", wd->name);
  if (t->dtype == FAB_DT_F32) {
    memcpy(buf, t->data, (size_t)wd->nbytes);
  } else {
    /* Convert a private copy so that the caller's set stays as it is. */
    fab_tensor tmp = *t;
    tmp.data = aligned(t->nbytes);
    if (!tmp.data) {
      free(buf);
      return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory for weight '%s'", wd->name);
    }
    memcpy(tmp.data, t->data, t->nbytes);
    fab_status st = fab_tensor_convert(&tmp, FAB_DT_F32, err, errlen);
    if (st != FAB_OK) {
      free(tmp.data);
      free(buf);
      return st;
    }
    memcpy(buf, tmp.data, (size_t)wd->nbytes);
    free(tmp.data);
  }
  free(m->owned[i]);
  m->owned[i] = buf;
  m->weights[i] = buf;
  return FAB_OK;
}

static fab_status bind(fab_model *m, const fab_tensor_set *w, const fab_weight_map *map,
                       unsigned flags, bool copy, char *err, size_t errlen) {
  if (!m || !w) return fab_fail(err, errlen, FAB_E_ARG, "no model or weights");
  const fab_model_desc *d = m->d;
  /* Check everything before replacing anything. */
  int *found = fab_malloc(((size_t)d->nweights + 1) * sizeof *found);
  if (!found) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  fab_status st = resolve_weights(d, w, map, flags, found, err, errlen);
  for (int i = 0; i < d->nweights && st == FAB_OK; i++)
    st = bind_one(m, i, &w->items[found[i]], copy, err, errlen);
  free(found);
  if (st == FAB_OK) {
    m->bound = 1;
    st = prepare(m, err, errlen);
  }
  return st;
}
int fab_model_num_inputs(const fab_model *m) { return m ? m->d->ninputs : 0; }
int fab_model_num_outputs(const fab_model *m) { return m ? m->d->noutputs : 0; }
int fab_model_num_weights(const fab_model *m) { return m ? m->d->nweights : 0; }
const fab_model_tensor_desc *fab_model_input(const fab_model *m, int i) {
  return m && i >= 0 && i < m->d->ninputs ? &m->d->inputs[i] : NULL;
}
const fab_model_tensor_desc *fab_model_output(const fab_model *m, int i) {
  return m && i >= 0 && i < m->d->noutputs ? &m->d->outputs[i] : NULL;
}
const fab_model_tensor_desc *fab_model_weight(const fab_model *m, int i) {
  return m && i >= 0 && i < m->d->nweights ? &m->d->weights[i] : NULL;
}
const fab_model_desc *fab_model_descriptor(const fab_model *m) { return m ? m->d : NULL; }
const void *const *fab_model_entry_weights(const fab_model *m) {
  return m && m->bound ? (const void *const *)m->weights : NULL;
}

fab_context *fab_context_new(fab_model *m, int threads, fab_status *status, char *err,
                             size_t errlen) {
  fab_status st = FAB_OK;
  fab_context *c = NULL;
  if (!m) {
    st = fab_fail(err, errlen, FAB_E_ARG, "no model");
  } else if (!m->bound) {
    st = fab_fail(err, errlen, FAB_E_MISSING, "the model's weights are not bound");
  } else if (!(c = fab_calloc(1, sizeof *c)) ||
             !(c->scratch = aligned((size_t)m->d->scratch_bytes)) ||
             !(c->in = fab_calloc((size_t)m->d->ninputs + 1, sizeof(void *))) ||
             !(c->out = fab_calloc((size_t)m->d->noutputs + 1, sizeof(void *))) ||
             !(c->pool = fab_pool_new(threads))) {
    st = fab_fail(err, errlen, FAB_E_NOMEM, "out of memory (or threads) for a context");
  }
  if (st != FAB_OK) {
    if (c) {
      free(c->scratch);
      free(c->in);
      free(c->out);
      free(c);
    }
    if (status) *status = st;
    return NULL;
  }
  c->m = m;
  c->par.pool = c->pool;
  c->par.parallel_for = fab_pool_parallel_for;
  c->par.nthreads = fab_pool_threads(c->pool);
  if (status) *status = FAB_OK;
  return c;
}

void fab_context_free(fab_context *c) {
  if (!c) return;
  fab_pool_free(c->pool);
  for (int k = 1; k < c->nslots; k++) {
    free(c->slots[k].scratch);
    free(c->slots[k].in);
    free(c->slots[k].out);
  }
  free(c->slots);
  free(c->scratch);
  free(c->in);
  free(c->out);
  free(c);
}

/* ---- runs: one sample or a batch ---------------------------------------
 *
 * A batch of n samples runs the entry function n times, once per sample
 * with pointers offset into the batched buffers; nothing is shared between
 * samples but the weights, so each sample's result is exactly that of a
 * single run.  With n >= threads each worker runs whole samples with its
 * own scratch (no synchronisation inside a sample); with fewer samples
 * than threads they run one after another, each spread over the threads
 * inside its ops. */

static const void *sample_at(const void *base, int64_t nbytes, int64_t i) {
  return (const char *)base + i * nbytes;
}

static int32_t run_one(const fab_context *c, const fab_parallel *par, void *scratch,
                       const void **in, void **out, const void *const *bin, void *const *bout,
                       int64_t i) {
  const fab_model_desc *d = c->m->d;
  for (int k = 0; k < d->ninputs; k++) in[k] = sample_at(bin[k], d->inputs[k].nbytes, i);
  for (int k = 0; k < d->noutputs; k++) out[k] = (void *)sample_at(bout[k], d->outputs[k].nbytes, i);
  return d->run((const void *const *)c->m->weights, (const void *const *)in, (void *const *)out,
                scratch, par);
}

static fab_status ensure_slots(fab_context *c) {
  int n = c->par.nthreads > 1 ? (int)c->par.nthreads : 1;
  if (c->nslots == n) return FAB_OK;
  const fab_model_desc *d = c->m->d;
  worker_slot *slots = fab_calloc((size_t)n, sizeof *slots);
  bool ok = slots != NULL;
  for (int k = 1; ok && k < n; k++) {
    worker_slot *s = &slots[k];
    s->scratch = aligned((size_t)d->scratch_bytes);
    s->in = fab_calloc((size_t)d->ninputs + 1, sizeof(void *));
    s->out = fab_calloc((size_t)d->noutputs + 1, sizeof(void *));
    ok = s->scratch && s->in && s->out;
  }
  if (!ok) {
    for (int k = 1; slots && k < n; k++) {
      free(slots[k].scratch);
      free(slots[k].in);
      free(slots[k].out);
    }
    free(slots);
    return FAB_E_NOMEM;
  }
  slots[0] = (worker_slot){c->scratch, c->in, c->out};
  c->slots = slots;
  c->nslots = n;
  return FAB_OK;
}

typedef struct batch_job {
  const fab_context *c;
  int64_t n;
  const void *const *in;
  void *const *out;
  _Atomic int64_t next;   /* next sample to hand out */
  _Atomic int64_t failed; /* lowest failing sample (n: none) */
  _Atomic int32_t rc;     /* its code (any failing sample's, if several) */
} batch_job;

/* fab_kernel_fn over worker slots: each slot pulls whole samples. */
static void run_slots(void **args, int64_t begin, int64_t end) {
  batch_job *job = args[0];
  for (int64_t w = begin; w < end; w++) {
    const worker_slot *s = &job->c->slots[w];
    for (;;) {
      int64_t i = atomic_fetch_add(&job->next, 1);
      if (i >= job->n) break;
      int32_t rc = run_one(job->c, NULL, s->scratch, s->in, s->out, job->in, job->out, i);
      if (rc == FAB_RUN_OK) continue;
      int64_t f = atomic_load(&job->failed);
      while (i < f && !atomic_compare_exchange_weak(&job->failed, &f, i)) {
      }
      atomic_store(&job->rc, rc);
    }
  }
}

static fab_status run_failed(int64_t n, int64_t i, int32_t rc, char *err, size_t errlen) {
  char where[48] = "";
  if (n > 1) snprintf(where, sizeof where, "sample %lld: ", (long long)i);
  if (rc == FAB_RUN_E_TOKEN)
    return fab_fail(err, errlen, FAB_E_RUNTIME, "%sa token id is outside the embedding table", where);
  return fab_fail(err, errlen, FAB_E_RUNTIME, "%sthe model failed (code %d)", where, (int)rc);
}

static fab_status run_batch(fab_context *c, int64_t n, const void *const *in, void *const *out,
                            char *err, size_t errlen) {
  if (c->par.nthreads <= 1 || n < c->par.nthreads) {
    for (int64_t i = 0; i < n; i++) {
      int32_t rc = run_one(c, &c->par, c->scratch, c->in, c->out, in, out, i);
      if (rc != FAB_RUN_OK) return run_failed(n, i, rc, err, errlen);
    }
    return FAB_OK;
  }
  if (ensure_slots(c) != FAB_OK)
    return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory for %lld workers' scratch",
                    (long long)c->par.nthreads);
  batch_job job = {.c = c, .n = n, .in = in, .out = out};
  atomic_init(&job.next, 0);
  atomic_init(&job.failed, n);
  atomic_init(&job.rc, FAB_RUN_OK);
  void *args[1] = {&job};
  fab_pool_parallel_for(c->pool, run_slots, args, c->nslots);
  int64_t f = atomic_load(&job.failed);
  return f < n ? run_failed(n, f, atomic_load(&job.rc), err, errlen) : FAB_OK;
}

fab_status fab_context_run_batch_raw(fab_context *c, int64_t n, const void *const *inputs,
                                     void *const *outputs, char *err, size_t errlen) {
  if (!c || n < 1 || (!inputs && c->m->d->ninputs) || (!outputs && c->m->d->noutputs))
    return fab_fail(err, errlen, FAB_E_ARG, "no context, buffers or samples");
  return run_batch(c, n, inputs, outputs, err, errlen);
}

/* Input i as the model's dtype: the caller's buffer, or a narrowed copy of
 * I64 token ids in *tmp (all `count` elements). */
static fab_status input_buffer(const fab_model_tensor_desc *id, const fab_tensor *t, int64_t count,
                               const void **buf, void **tmp, char *err, size_t errlen) {
  if (t->dtype == (fab_tensor_dtype)id->dtype) {
    *buf = t->data;
    return FAB_OK;
  }
  if (id->dtype != FAB_DT_I32 || t->dtype != FAB_DT_I64)
    return fab_fail(err, errlen, FAB_E_DTYPE, "input '%s' has dtype %s, the model expects %s",
                    id->name, fab_dtype_safetensors_name(t->dtype),
                    fab_dtype_safetensors_name((fab_tensor_dtype)id->dtype));
  int32_t *p = aligned((size_t)count * 4);
  if (!p) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  *tmp = p;
  const int64_t *s = t->data;
  for (int64_t k = 0; k < count; k++) {
    if (s[k] < INT32_MIN || s[k] > INT32_MAX)
      return fab_fail(err, errlen, FAB_E_RUNTIME, "input '%s': id %lld out of range", id->name,
                      (long long)s[k]);
    p[k] = (int32_t)s[k];
  }
  *buf = p;
  return FAB_OK;
}

/* The outputs, [n, ...] when batched, added to the set. */
static fab_status add_outputs(const fab_model_desc *d, int64_t batch, fab_tensor_set *outputs,
                              void **out, char *err, size_t errlen) {
  for (int i = 0; i < d->noutputs; i++) {
    const fab_model_tensor_desc *od = &d->outputs[i];
    if (batch > 0 && od->rank >= FAB_TENSOR_MAX_RANK)
      return fab_fail(err, errlen, FAB_E_LIMIT, "output '%s' has rank %d: no room for a sample axis",
                      od->name, (int)od->rank);
    int64_t dims[FAB_TENSOR_MAX_RANK];
    int rank = 0;
    if (batch > 0) dims[rank++] = batch;
    for (int k = 0; k < od->rank; k++) dims[rank++] = od->dims[k];
    if (!fab_tset_add(outputs, od->name, (fab_tensor_dtype)od->dtype, rank, dims))
      return fab_fail(err, errlen, FAB_E_LIMIT, "output '%s' does not fit in memory (%lld samples)",
                      od->name, (long long)(batch > 0 ? batch : 1));
  }
  /* fab_tset_add may move earlier tensors when it grows; fetch again. */
  for (int i = 0; i < d->noutputs; i++) out[i] = fab_tset_find(outputs, d->outputs[i].name)->data;
  return FAB_OK;
}

fab_status fab_context_run(fab_context *c, const fab_tensor_set *inputs, fab_tensor_set *outputs,
                           char *err, size_t errlen) {
  if (!c || !inputs || !outputs) return fab_fail(err, errlen, FAB_E_ARG, "no context or tensors");
  const fab_model_desc *d = c->m->d;
  const fab_tensor **ts = fab_calloc((size_t)d->ninputs + 1, sizeof *ts);
  const void **in = fab_calloc((size_t)d->ninputs + 1, sizeof *in);
  void **tmp = fab_calloc((size_t)d->ninputs + 1, sizeof *tmp);
  void **out = fab_calloc((size_t)d->noutputs + 1, sizeof *out);
  fab_status st = ts && in && tmp && out ? FAB_OK : fab_fail(err, errlen, FAB_E_NOMEM, "out of memory");
  fab_batch b = FAB_BATCH_INIT;
  for (int i = 0; i < d->ninputs && st == FAB_OK; i++) {
    const fab_model_tensor_desc *id = &d->inputs[i];
    ts[i] = fab_tset_find(inputs, id->name);
    if (!ts[i]) st = fab_fail(err, errlen, FAB_E_MISSING, "input '%s' is missing", id->name);
    else st = fab_batch_add(&b, ts[i], id->rank, id->dims, err, errlen);
  }
  int64_t n = b.n > 0 ? b.n : 1;
  for (int i = 0; i < d->ninputs && st == FAB_OK; i++)
    st = input_buffer(&d->inputs[i], ts[i], n * (d->inputs[i].nbytes / 4), &in[i], &tmp[i], err,
                      errlen);
  if (st == FAB_OK) st = add_outputs(d, b.n > 0 ? b.n : 0, outputs, out, err, errlen);
  if (st == FAB_OK) st = run_batch(c, n, in, out, err, errlen);
  for (int i = 0; tmp && i < d->ninputs; i++) free(tmp[i]);
  free(tmp);
  free(ts);
  free(in);
  free(out);
  return st;
}

fab_status fab_context_run_raw(fab_context *c, const void *const *inputs, void *const *outputs) {
  if (!c || (!inputs && c->m->d->ninputs) || (!outputs && c->m->d->noutputs)) return FAB_E_ARG;
  int32_t rc = c->m->d->run((const void *const *)c->m->weights, inputs, outputs, c->scratch, &c->par);
  return rc == FAB_RUN_OK ? FAB_OK : FAB_E_RUNTIME;
}
