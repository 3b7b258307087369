/* fuzz_runtime.c — the runtime's model loader: descriptor validation,
 * weight binding and input checking (fab_runtime.h).
 *
 * The .so a model comes from is trusted code, so the harness does not
 * fuzz dlopen; it fuzzes what the runtime reads as data: a descriptor
 * built from the input (counts, names, dtypes, ranks, dims, byte sizes,
 * magic, version, scratch size) goes through fab_model_from_desc, then
 * the rest of the input is read as a safetensors file and bound as the
 * weights and fed as the inputs of a context run.  The entry function is
 * a stand-in that touches every byte the descriptor promises, so a size
 * the loader accepted but did not allocate shows up under ASan.
 *
 * Input layout: 4 header bytes (ninputs, noutputs, nweights, flags), then
 * per tensor: name length (0xff: NULL name), name bytes, dtype, rank, one
 * byte per dim (values >= 0xf0 pick absurd sizes), one nbytes byte (0:
 * the right size), then the safetensors bytes. */
#include "fab_runtime.h"
#include "fuzz_util.h"

#include <string.h>

#define MAXT 4
#define FUZZ_MAX_BYTES (1u << 20)

typedef struct reader {
  const uint8_t *p;
  size_t n;
} reader;

static int byte(reader *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

static const int64_t absurd[16] = {0, -1, 1ll << 31, 1ll << 40, INT64_MAX, INT64_MIN, 3, 1ll << 20,
                                   (1ll << 62) + 1, 1ll << 33, 1ll << 17, 255, 1024, 7, 65536, 2};

static const fab_model_desc *g_desc;
static int g_fail;

static int32_t stand_in(const void *const *w, const void *const *in, void *const *out,
                        void *scratch, const fab_parallel *par) {
  const fab_model_desc *d = g_desc;
  volatile uint8_t sum = 0;
  for (int i = 0; i < d->nweights; i++)
    for (int64_t k = 0; k < d->weights[i].nbytes; k++) sum ^= ((const uint8_t *)w[i])[k];
  for (int i = 0; i < d->ninputs; i++)
    for (int64_t k = 0; k < d->inputs[i].nbytes; k++) sum ^= ((const uint8_t *)in[i])[k];
  for (int i = 0; i < d->noutputs; i++) memset(out[i], 0x3f, (size_t)d->outputs[i].nbytes);
  memset(scratch, 0, (size_t)d->scratch_bytes);
  (void)sum;
  (void)par;
  return g_fail ? FAB_RUN_E_TOKEN : FAB_RUN_OK;
}

static uint64_t desc_bytes(const fab_model_tensor_desc *t, int n) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++) s += (uint64_t)t[i].nbytes;
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader r = {data, size};
  int cnt[3];
  for (int k = 0; k < 3; k++) cnt[k] = byte(&r) % (MAXT + 1);
  int flags = byte(&r);
  fab_model_tensor_desc td[3][MAXT];
  char names[3][MAXT][17];
  memset(td, 0, sizeof td);
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < cnt[k]; i++) {
      fab_model_tensor_desc *t = &td[k][i];
      int len = byte(&r);
      if (len == 0xff) {
        t->name = NULL;
      } else {
        len %= 17;
        size_t l = 0;
        for (; l < (size_t)len && r.n; l++) names[k][i][l] = (char)byte(&r);
        names[k][i][l] = '\0';
        t->name = names[k][i];
      }
      t->dtype = (int8_t)byte(&r);
      t->rank = (int8_t)byte(&r);
      int rank = t->rank < 0 ? 0 : t->rank > FAB_TENSOR_MAX_RANK ? FAB_TENSOR_MAX_RANK : t->rank;
      for (int j = 0; j < rank; j++) {
        int b = byte(&r);
        t->dims[j] = b >= 0xf0 ? absurd[b - 0xf0] : b;
      }
      int nb = byte(&r);
      if (nb == 0) {
        int64_t e = t->dtype == FAB_DT_F32 || t->dtype == FAB_DT_I32 ? 4 : 1;
        for (int j = 0; j < rank && e > 0; j++)
          e = t->dims[j] > 0 && e <= INT64_MAX / t->dims[j] ? e * t->dims[j] : -1;
        t->nbytes = e;
      } else {
        t->nbytes = nb >= 0xf0 ? absurd[nb - 0xf0] : nb;
      }
    }
  }
  /* the target string the loader checks against this CPU's features:
   * none, or bytes from the input, optionally after an x86-64 triple and
   * CPU name so that the feature list is parsed */
  char target[96];
  const char *tgt = NULL;
  int tl = byte(&r);
  if (tl != 0xff) {
    size_t l = (tl & 0x80) ? (size_t)snprintf(target, sizeof target, "x86_64-pc-linux-gnu fuzz ") : 0;
    for (int j = 0; j < (tl & 0x3f) && r.n && l + 1 < sizeof target; j++) target[l++] = (char)byte(&r);
    target[l] = '\0';
    tgt = target;
  }
  fab_model_desc d = {
      .magic = (flags & 1) ? 0x1234 : FAB_MODEL_MAGIC,
      .abi_version = (flags & 2) ? 7 : FAB_MODEL_ABI_VERSION,
      .desc_size = (flags & 4) ? 8 : (uint32_t)sizeof(fab_model_desc),
      .hash = 42,
      .name = "fuzz",
      .ninputs = (flags & 8) ? -1 : cnt[0],
      .noutputs = cnt[1],
      .nweights = (flags & 16) ? FAB_MODEL_MAX_TENSORS + 1 : cnt[2],
      .embedded_weights = 0,
      .inputs = cnt[0] ? td[0] : NULL,
      .outputs = cnt[1] ? td[1] : NULL,
      .weights = cnt[2] ? td[2] : NULL,
      .scratch_bytes = (flags & 32) ? absurd[(flags >> 6) * 2 + 1] : (flags >> 6) * 64,
      .run = (flags == 0xff) ? NULL : stand_in,
      .weight_data = NULL,
      .target = tgt,
  };
  g_desc = &d;
  g_fail = (flags & 0xc0) == 0x80;
  fab_status st;
  char err[256];
  fab_model *m = fab_model_from_desc(&d, &st, err, sizeof err);
  if (!m) {
    FUZZ_CHECK(st != FAB_OK && err[0], "no model, status %s", fab_status_name(st));
    return 0;
  }
  /* The rest: a safetensors file, bound as weights and given as inputs. */
  fab_tensor_set *set = NULL;
  if (fab_safetensors_read_mem(r.p, r.n, "fuzz.safetensors", &set, err, sizeof err) != FAB_OK)
    set = fab_tset_new();
  if (fab_model_bind_weights(m, set, err, sizeof err) == FAB_OK || d.nweights == 0) {
    /* Everything a context allocates comes from the (trusted) descriptor:
     * keep it small so the run stays cheap. */
    if (desc_bytes(d.outputs, d.noutputs) <= FUZZ_MAX_BYTES &&
        desc_bytes(d.inputs, d.ninputs) <= FUZZ_MAX_BYTES) {
      fab_context *c = fab_context_new(m, 1, &st, err, sizeof err);
      if (c) {
        fab_tensor_set *out = fab_tset_new();
        st = fab_context_run(c, set, out, err, sizeof err);
        if (st == FAB_OK) FUZZ_CHECK(out->count <= d.noutputs, "too many outputs");
        else FUZZ_CHECK(err[0], "run failed without a message");
        fab_tset_free(out);
        fab_context_free(c);
      }
    }
  }
  fab_tset_free(set);
  fab_model_free(m);
  return 0;
}
