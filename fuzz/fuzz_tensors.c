/* fuzz_tensors.c — the safetensors and .npy readers and fab_tensor_convert.
 *
 * Input starting with "\x93NUMPY" goes to the .npy reader, everything
 * else to the safetensors reader.  Every tensor of an accepted file must
 * be consistent (nbytes = numel * element size, data present) and is
 * converted to F32 (I64 to I32), which must keep that consistency. */
#include "fab_tensor.h"
#include "fuzz_util.h"

#include <string.h>

static void check_tensor(const fab_tensor *t) {
  FUZZ_CHECK(t->name && t->rank >= 0 && t->rank <= FAB_TENSOR_MAX_RANK, "bad tensor header");
  int64_t n = fab_tensor_numel(t);
  FUZZ_CHECK(n >= 0, "numel %lld", (long long)n);
  FUZZ_CHECK((uint64_t)n * fab_dtype_size(t->dtype) == t->nbytes, "'%s': nbytes %zu numel %lld",
             t->name, t->nbytes, (long long)n);
  FUZZ_CHECK(t->nbytes == 0 || t->data, "'%s': no data", t->name);
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < t->nbytes; i++) sum ^= ((const uint8_t *)t->data)[i];
  (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fab_tensor_set *s = NULL;
  char err[256];
  fab_status st;
  if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0)
    st = fab_npy_read_mem(data, size, "x", &s, err, sizeof err);
  else
    st = fab_safetensors_read_mem(data, size, "fuzz.safetensors", &s, err, sizeof err);
  if (st != FAB_OK) {
    FUZZ_CHECK(err[0] != '\0', "error %s without a message", fab_status_name(st));
    fab_tset_free(s);
    return 0;
  }
  FUZZ_CHECK(s != NULL, "ok without a set");
  for (int i = 0; i < s->count; i++) {
    fab_tensor *t = &s->items[i];
    check_tensor(t);
    fab_tensor_dtype to = (t->dtype == FAB_DT_I64 || t->dtype == FAB_DT_I32) ? FAB_DT_I32 : FAB_DT_F32;
    if (fab_tensor_convert(t, to, err, sizeof err) == FAB_OK)
      FUZZ_CHECK(t->dtype == to, "convert kept dtype %d", (int)t->dtype);
    check_tensor(t);
  }
  fab_tset_free(s);
  return 0;
}
