/* batch.c — the optional leading sample axis shared by every run entry
 * point (fab_tensor.h): recognising it, and moving samples in and out of
 * batched tensor sets for engines that run one sample at a time. */
#include "fab_tensor_internal.h"

#include <stdbool.h>
#include <string.h>

/* "[4,31]": the compact form the binding messages use. */
static const char *compact(int rank, const int64_t *dims, bool batch, char *buf, size_t len) {
  size_t at = (size_t)snprintf(buf, len, "[%s", batch ? "n" : "");
  for (int i = 0; i < rank && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, "%s%lld", i || batch ? "," : "", (long long)dims[i]);
  if (at < len) snprintf(buf + at, len - at, "]");
  return buf;
}

int64_t fab_batch_of(const fab_tensor *t, int rank, const int64_t *dims) {
  if (!t) return -1;
  if (t->rank == rank) {
    for (int k = 0; k < rank; k++)
      if (t->dims[k] != dims[k]) return -1;
    return 0;
  }
  if (t->rank != rank + 1 || t->dims[0] < 1) return -1;
  for (int k = 0; k < rank; k++)
    if (t->dims[k + 1] != dims[k]) return -1;
  return t->dims[0];
}

fab_status fab_batch_add(fab_batch *b, const fab_tensor *t, int rank, const int64_t *dims,
                         char *err, size_t errlen) {
  int64_t n = fab_batch_of(t, rank, dims);
  if (n < 0) {
    char got[160], one[160], many[160];
    compact(t->rank, t->dims, false, got, sizeof got);
    compact(rank, dims, false, one, sizeof one);
    compact(rank, dims, true, many, sizeof many);
    if (rank >= FAB_TENSOR_MAX_RANK)
      return fab_fail(err, errlen, FAB_E_SHAPE, "input '%s' has shape %s, expected %s", t->name, got,
                      one);
    return fab_fail(err, errlen, FAB_E_SHAPE, "input '%s' has shape %s, expected %s or %s", t->name,
                    got, one, many);
  }
  if (b->n < 0) {
    b->n = n;
    b->first = t->name;
    return FAB_OK;
  }
  if (n == b->n) return FAB_OK;
  if (n == 0 || b->n == 0) {
    const char *with = n ? t->name : b->first, *without = n ? b->first : t->name;
    return fab_fail(err, errlen, FAB_E_SHAPE,
                    "input '%s' has a leading sample axis but input '%s' has none (every input "
                    "takes the same [n, ...] axis, or none)",
                    with, without);
  }
  return fab_fail(err, errlen, FAB_E_SHAPE,
                  "input '%s' has %lld samples but input '%s' has %lld (every input takes the same "
                  "leading sample axis)",
                  t->name, (long long)n, b->first, (long long)b->n);
}

fab_status fab_tset_get_sample(const fab_tensor_set *batched, int64_t i, fab_tensor_set *sample,
                               char *err, size_t errlen) {
  for (int k = 0; k < batched->count; k++) {
    const fab_tensor *t = &batched->items[k];
    if (t->rank < 1 || i < 0 || i >= t->dims[0])
      return fab_fail(err, errlen, FAB_E_SHAPE, "tensor '%s' has no sample %lld", t->name,
                      (long long)i);
    fab_tensor *s = fab_tset_add(sample, t->name, t->dtype, t->rank - 1, t->dims + 1);
    if (!s) return fab_fail(err, errlen, FAB_E_NOMEM, "out of memory for sample of '%s'", t->name);
    memcpy(s->data, (const char *)t->data + (size_t)i * s->nbytes, s->nbytes);
  }
  return FAB_OK;
}

fab_status fab_tset_put_sample(fab_tensor_set *batched, int64_t n, int64_t i,
                               const fab_tensor_set *sample, char *err, size_t errlen) {
  for (int k = 0; k < sample->count; k++) {
    const fab_tensor *s = &sample->items[k];
    fab_tensor *t = fab_tset_find(batched, s->name);
    if (i == 0) {
      if (s->rank >= FAB_TENSOR_MAX_RANK)
        return fab_fail(err, errlen, FAB_E_LIMIT,
                        "output '%s' has rank %d: no room for a sample axis", s->name, s->rank);
      int64_t dims[FAB_TENSOR_MAX_RANK];
      dims[0] = n;
      memcpy(dims + 1, s->dims, sizeof(int64_t) * (size_t)s->rank);
      t = fab_tset_add(batched, s->name, s->dtype, s->rank + 1, dims);
      if (!t)
        return fab_fail(err, errlen, FAB_E_LIMIT, "output '%s' for %lld samples is too large",
                        s->name, (long long)n);
    }
    if (!t || t->dtype != s->dtype || t->rank != s->rank + 1 || t->dims[0] != n || i < 0 || i >= n ||
        (size_t)n * s->nbytes != t->nbytes)
      return fab_fail(err, errlen, FAB_E_SHAPE, "output '%s' of sample %lld differs from sample 0",
                      s->name, (long long)i);
    memcpy((char *)t->data + (size_t)i * s->nbytes, s->data, s->nbytes);
  }
  return FAB_OK;
}
