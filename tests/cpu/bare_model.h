/* bare_model.h — a compiled model with its weights and inputs as the entry
 * function takes them (pointer arrays in descriptor order), for programs
 * that call fab_model_desc.run themselves with their own fab_parallel
 * (w: the weights, then the prepared buffer the runtime's bind made):
 * test_cpu_regions.c and scripts/cpu_threads.c. */
#ifndef BARE_MODEL_H
#define BARE_MODEL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "fab_runtime.h"
#include "fab_tensor.h"

typedef struct bare_model {
  fab_model *m; /* weights bound by reference too, for contexts */
  const fab_model_desc *d;
  fab_tensor_set *wset, *iset;
  const void **w, **in;
  void **out;    /* one zeroed buffer per output */
  void *scratch; /* scratch_bytes */
} bare_model;

/* False with a message in err when a file does not load or a tensor is
 * missing, misshaped or not f32 (weights); bare_model_free either way. */
static bool bare_model_load(bare_model *b, const char *so, const char *weights, const char *inputs,
                            char *err, size_t errlen) {
  fab_status st;
  *b = (bare_model){0};
  if (!(b->m = fab_model_load(so, &st, err, errlen)) ||
      fab_tensors_load(weights, &b->wset, err, errlen) != FAB_OK ||
      fab_model_bind_weights_ref(b->m, b->wset, err, errlen) != FAB_OK ||
      fab_tensors_load(inputs, &b->iset, err, errlen) != FAB_OK)
    return false;
  const fab_model_desc *d = b->d = fab_model_descriptor(b->m);
  b->w = calloc((size_t)d->nweights + 1, sizeof *b->w);
  b->in = calloc((size_t)d->ninputs + 1, sizeof *b->in);
  b->out = calloc((size_t)d->noutputs + 1, sizeof *b->out);
  b->scratch = malloc((size_t)d->scratch_bytes + 64);
  if (!b->w || !b->in || !b->out || !b->scratch) return snprintf(err, errlen, "out of memory"), false;
  for (int i = 0; i < d->nweights; i++) {
    const fab_tensor *t = fab_tset_find(b->wset, d->weights[i].name);
    if (!t || t->dtype != FAB_DT_F32 || (int64_t)t->nbytes != d->weights[i].nbytes)
      return snprintf(err, errlen, "weight '%s' missing or not f32", d->weights[i].name), false;
    b->w[i] = t->data;
  }
  b->w[d->nweights] = fab_model_entry_weights(b->m)[d->nweights]; /* the prepared buffer */
  for (int i = 0; i < d->ninputs; i++) {
    const fab_tensor *t = fab_tset_find(b->iset, d->inputs[i].name);
    if (!t || (int64_t)t->nbytes != d->inputs[i].nbytes)
      return snprintf(err, errlen, "input '%s' missing or misshaped", d->inputs[i].name), false;
    b->in[i] = t->data;
  }
  for (int i = 0; i < d->noutputs; i++)
    if (!(b->out[i] = calloc(1, (size_t)d->outputs[i].nbytes))) return snprintf(err, errlen, "out of memory"), false;
  return true;
}

static void bare_model_free(bare_model *b) {
  for (int i = 0; b->out && b->d && i < b->d->noutputs; i++) free(b->out[i]);
  free(b->out);
  free(b->w);
  free(b->in);
  free(b->scratch);
  fab_model_free(b->m);
  fab_tset_free(b->wset);
  fab_tset_free(b->iset);
  *b = (bare_model){0};
}

#endif
