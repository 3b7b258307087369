/* fuzz_space.c — the search-space reader (explore/codesign/space.c).
 *
 * fab_cd_space_parse; an accepted space must have a size in [1, 2^62]
 * whose model and accelerator parts multiply to it, and a few points
 * (first, last, and some drawn from the input) must decode, re-encode to
 * the same key, print, resolve their model and, when canonical, their
 * accelerator configuration.  Counting models is capped (O(cap) work), so
 * the 2^62-point spaces of the input are cheap; a model's .fab source is
 * generated for one point (bounded by the model limits). */
#include "codesign.h"
#include "fuzz_util.h"

#include <string.h>

static void check_point(const fab_cd_space *s, int64_t key) {
  fab_cd_point p;
  fab_cd_point_decode(s, key, &p);
  FUZZ_CHECK(fab_cd_point_encode(s, &p) == key, "key %lld does not round-trip", (long long)key);
  FUZZ_CHECK(fab_cd_model_index(s, key) >= 0 && fab_cd_model_index(s, key) < s->nmodels, "model index");
  FUZZ_CHECK(fab_cd_accel_index(s, key) >= 0 && fab_cd_accel_index(s, key) < s->naccels, "accel index");
  char buf[1024];
  FUZZ_CHECK(fab_cd_point_str(s, &p, buf, sizeof buf) != NULL, "point_str");
  fab_cd_model m;
  fab_cd_point_model(s, &p, &m);
  FUZZ_CHECK(m.layers >= 0 && m.layers <= FAB_CD_MAX_LAYERS, "layers %d", m.layers);
  if (fab_cd_point_canonical(s, &p)) {
    fab_fpga_config c;
    fab_diag *d = fab_diag_new();
    (void)fab_cd_point_config(s, &p, &c, d);
    fab_diag_free(d);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fab_cd_space s;
  fab_diag *d = fab_diag_new();
  bool ok = fab_cd_space_parse((const char *)data, size, "fuzz.json", &s, d);
  fab_diag_free(d);
  if (!ok) return 0;
  int64_t n = fab_cd_space_size(&s);
  FUZZ_CHECK(n >= 1 && s.nmodels >= 1 && s.naccels >= 1 && n / s.naccels == s.nmodels,
             "size %lld = %lld x %lld", (long long)n, (long long)s.nmodels, (long long)s.naccels);
  FUZZ_CHECK(s.nknobs >= 0 && s.nknobs <= FAB_CD_MAX_KNOBS && s.nmodel_knobs <= s.nknobs, "knobs");
  check_point(&s, 0);
  check_point(&s, n - 1);
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211ull;
  for (int i = 0; i < 4; i++, h = h * 6364136223846793005ull + 1442695040888963407ull)
    check_point(&s, (int64_t)((h >> 1) % (uint64_t)n));
  int64_t count = fab_cd_count_models(&s, 64);
  FUZZ_CHECK(count >= 0 && count <= 65, "count %lld", (long long)count);
  (void)fab_cd_front_of(&s);
  fab_cd_point p;
  fab_cd_point_decode(&s, (int64_t)((h >> 1) % (uint64_t)n), &p);
  fab_cd_model m;
  fab_cd_point_model(&s, &p, &m);
  char *src = fab_cd_model_source(&m);
  free(src);
  return 0;
}
