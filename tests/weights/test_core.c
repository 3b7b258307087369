/* test_core.c — tensor sets, dtype conversions, the RNG, atomic writes. */
#include "check.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static char err[512];

static uint32_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

void test_tset(void) {
  CHECK(fab_dtype_size(FAB_DT_F32) == 4 && fab_dtype_size(FAB_DT_F16) == 2 &&
        fab_dtype_size(FAB_DT_BF16) == 2 && fab_dtype_size(FAB_DT_I32) == 4 &&
        fab_dtype_size(FAB_DT_I64) == 8 && fab_dtype_size(FAB_DT_F64) == 8);
  CHECK(!strcmp(fab_dtype_safetensors_name(FAB_DT_BF16), "BF16"));
  /* Status names are distinct. */
  for (int a = FAB_OK; a <= FAB_E_VERSION; a++)
    for (int b = a + 1; b <= FAB_E_VERSION; b++)
      CHECK(strcmp(fab_status_name((fab_status)a), fab_status_name((fab_status)b)) != 0);

  fab_tensor_set *s = fab_tset_new();
  CHECK(s != NULL);
  int64_t d23[] = {2, 3}, d5[] = {5}, d0[] = {4, 0};
  fab_tensor *a = fab_tset_add(s, "a", FAB_DT_F32, 2, d23);
  CHECK(a && a->nbytes == 24 && fab_tensor_numel(a) == 6 && ((uintptr_t)a->data % 64) == 0);
  if (a) {
    for (int i = 0; i < 6; i++) CHECK(((float *)a->data)[i] == 0.0f);
    ((float *)a->data)[5] = 7.0f;
  }
  CHECK(fab_tset_add(s, "b", FAB_DT_I64, 1, d5) != NULL);
  CHECK(fab_tset_add(s, "scalar", FAB_DT_F64, 0, NULL) != NULL);
  fab_tensor *e = fab_tset_add(s, "empty", FAB_DT_F16, 2, d0);
  CHECK(e && e->nbytes == 0 && fab_tensor_numel(e) == 0 && e->data != NULL);
  CHECK(s->count == 4);
  CHECK(fab_tensor_numel(fab_tset_find(s, "scalar")) == 1);
  /* Replacing keeps the position and zero-fills. */
  fab_tensor *a2 = fab_tset_add(s, "a", FAB_DT_I32, 1, d5);
  CHECK(s->count == 4 && a2 == &s->items[0] && a2->dtype == FAB_DT_I32 && a2->nbytes == 20);
  CHECK(a2 && ((int32_t *)a2->data)[4] == 0);
  CHECK(fab_tset_find(s, "nope") == NULL);
  CHECK(fab_tset_remove(s, "b") && !fab_tset_remove(s, "b"));
  CHECK(s->count == 3 && !strcmp(s->items[1].name, "scalar") && !strcmp(s->items[2].name, "empty"));
  /* Invalid shapes are refused and leave the set alone. */
  int64_t neg[] = {2, -1}, huge[] = {INT64_MAX, 2}, big[] = {1 << 20, 1 << 20, 1 << 20};
  int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  CHECK(fab_tset_add(s, "x", FAB_DT_F32, 2, neg) == NULL);
  CHECK(fab_tset_add(s, "x", FAB_DT_F32, 2, huge) == NULL);
  CHECK(fab_tset_add(s, "x", FAB_DT_F32, 3, big) == NULL); /* 4 TiB > the limit */
  CHECK(fab_tset_add(s, "x", FAB_DT_F32, 9, nine) == NULL);
  CHECK(fab_tset_add(s, "x", FAB_DT_COUNT, 1, d5) == NULL);
  CHECK(fab_tset_add(s, "scalar", FAB_DT_F32, 2, neg) == NULL);
  CHECK(fab_tset_find(s, "scalar") && fab_tset_find(s, "scalar")->dtype == FAB_DT_F64);
  CHECK(s->count == 3);
  fab_tset_free(s);
  fab_tset_free(NULL);

  /* The name index: many names, found after growth and after a removal;
   * renamed entries found once reindexed; entries appended directly are
   * found (by a scan, then through the index after the next add). */
  s = fab_tset_new();
  char nm[32];
  for (int i = 0; i < 1000; i++) {
    snprintf(nm, sizeof nm, "layers.%d.w", i);
    CHECK(fab_tset_add(s, nm, FAB_DT_F32, 1, d5) != NULL);
  }
  CHECK(s->count == 1000 && fab_tset_find(s, "layers.999.w") == &s->items[999]);
  CHECK(fab_tset_remove(s, "layers.10.w") && !fab_tset_find(s, "layers.10.w"));
  CHECK(fab_tset_find(s, "layers.11.w") == &s->items[10]);
  free(s->items[0].name);
  s->items[0].name = strdup("renamed");
  CHECK(fab_tset_reindex(s) && fab_tset_find(s, "renamed") == &s->items[0]);
  CHECK(!fab_tset_find(s, "layers.0.w"));
  if (s->count == s->cap) {
    fab_tensor *grown = realloc(s->items, (size_t)(s->cap + 1) * sizeof *grown);
    CHECK(grown != NULL);
    if (grown) s->items = grown, s->cap++;
  }
  s->items[s->count] = (fab_tensor){.name = strdup("direct"), .dtype = FAB_DT_F32,
                                    .data = aligned_alloc(64, 64)};
  s->count++;
  CHECK(fab_tset_find(s, "direct") == &s->items[s->count - 1]);
  CHECK(fab_tset_add(s, "after", FAB_DT_F32, 1, d5) && fab_tset_find(s, "direct") &&
        fab_tset_find(s, "after") == &s->items[s->count - 1]);
  fab_tset_free(s);
}

/* Makes a one-tensor set holding n 16-bit values. */
static fab_tensor *u16_tensor(fab_tensor_set *s, const char *name, fab_tensor_dtype dt,
                              const uint16_t *v, int64_t n) {
  fab_tensor *t = fab_tset_add(s, name, dt, 1, &n);
  if (t) memcpy(t->data, v, (size_t)n * 2);
  return t;
}

void test_convert(void) {
  fab_tensor_set *s = fab_tset_new();
  /* F16 -> F32, including subnormals, the largest half, infinities, NaN. */
  uint16_t h[] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555};
  float hf[] = {1.0f, -2.5f, 65504.0f, 0x1p-24f, 1023 * 0x1p-24f, 0x1p-14f, INFINITY, -INFINITY,
                -0.0f, 0.333251953125f};
  fab_tensor *t = u16_tensor(s, "h", FAB_DT_F16, h, 10);
  CHECK_ST(fab_tensor_convert(t, FAB_DT_F32, err, sizeof err), FAB_OK);
  CHECK(t->dtype == FAB_DT_F32 && t->nbytes == 40);
  for (int i = 0; i < 10; i++) CHECK(fbits(((float *)t->data)[i]) == fbits(hf[i]));
  uint16_t hn = 0x7e00;
  t = u16_tensor(s, "hn", FAB_DT_F16, &hn, 1);
  CHECK_ST(fab_tensor_convert(t, FAB_DT_F32, err, sizeof err), FAB_OK);
  CHECK(isnan(((float *)t->data)[0]));

  /* BF16 -> F32 is a shift: check the same kinds of values. */
  uint16_t b[] = {0x3f80, 0xc020, 0x477f, 0x0001, 0x7f80, 0xff80, 0x0080};
  float bf[] = {1.0f, -2.5f, 65280.0f, 0x1p-133f, INFINITY, -INFINITY, 0x1p-126f};
  t = u16_tensor(s, "b", FAB_DT_BF16, b, 7);
  CHECK_ST(fab_tensor_convert(t, FAB_DT_F32, err, sizeof err), FAB_OK);
  for (int i = 0; i < 7; i++) CHECK(fbits(((float *)t->data)[i]) == fbits(bf[i]));

  /* Every half survives F16 -> F32 -> F16 bit for bit (NaNs stay NaN). */
  uint16_t *all = malloc(65536 * 2);
  for (int i = 0; i < 65536; i++) all[i] = (uint16_t)i;
  t = u16_tensor(s, "all", FAB_DT_F16, all, 65536);
  CHECK_ST(fab_tensor_convert(t, FAB_DT_F32, err, sizeof err), FAB_OK);
  CHECK_ST(fab_tensor_convert(t, FAB_DT_F16, err, sizeof err), FAB_OK);
  int bad = 0;
  for (int i = 0; i < 65536; i++) {
    uint16_t got = ((uint16_t *)t->data)[i];
    bool nan_in = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
    bool nan_out = (got & 0x7c00) == 0x7c00 && (got & 0x3ff);
    if (nan_in ? !nan_out : got != all[i]) bad++;
  }
  CHECK(bad == 0);
  free(all);

  /* F32 -> F16 rounds to nearest, ties to even, overflow to inf. */
  float in[] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65519.0f, 65520.0f, 0x1p-25f,
                1.5f * 0x1p-25f, 3 * 0x1p-25f, 1e-10f, -1e10f, 0x1p-149f, 0.1f};
  uint16_t want[] = {0x3c00, 0x3c02, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0002, 0x0000, 0xfc00, 0x0000, 0x2e66};
  fab_tensor *f = fab_tset_add(s, "f", FAB_DT_F32, 1, (int64_t[]){11});
  memcpy(f->data, in, sizeof in);
  CHECK_ST(fab_tensor_convert(f, FAB_DT_F16, err, sizeof err), FAB_OK);
  CHECK(f->dtype == FAB_DT_F16 && f->nbytes == 22);
  for (int i = 0; i < 11; i++) {
    if (((uint16_t *)f->data)[i] != want[i]) {
      fprintf(stderr, "f32->f16 case %d: got 0x%04x want 0x%04x\n", i, ((uint16_t *)f->data)[i], want[i]);
      check_failures++;
    }
  }

  /* F64 -> F32, out of range to inf. */
  double dv[] = {0.1, -1e300, 1e300, 0x1.fffffefffffffp127, 1e-50};
  fab_tensor *d = fab_tset_add(s, "d", FAB_DT_F64, 1, (int64_t[]){5});
  memcpy(d->data, dv, sizeof dv);
  CHECK_ST(fab_tensor_convert(d, FAB_DT_F32, err, sizeof err), FAB_OK);
  float *df = d->data;
  CHECK(df[0] == 0.1f && df[1] == -INFINITY && df[2] == INFINITY && df[3] == 0x1.fffffep127f &&
        df[4] == 0.0f);

  /* I64 -> I32 with a range check naming the tensor and the value. */
  int64_t iv[] = {0, -5, INT32_MAX, INT32_MIN};
  fab_tensor *i64 = fab_tset_add(s, "ids", FAB_DT_I64, 1, (int64_t[]){4});
  memcpy(i64->data, iv, sizeof iv);
  CHECK_ST(fab_tensor_convert(i64, FAB_DT_I32, err, sizeof err), FAB_OK);
  CHECK(((int32_t *)i64->data)[1] == -5 && ((int32_t *)i64->data)[3] == INT32_MIN);
  int64_t iv2[] = {1, (int64_t)1 << 32};
  i64 = fab_tset_add(s, "tok", FAB_DT_I64, 1, (int64_t[]){2});
  memcpy(i64->data, iv2, sizeof iv2);
  CHECK_ST(fab_tensor_convert(i64, FAB_DT_I32, err, sizeof err), FAB_E_DTYPE);
  CHECK(strstr(err, "'tok'") && strstr(err, "4294967296"));
  CHECK(i64->dtype == FAB_DT_I64 && ((int64_t *)i64->data)[1] == (int64_t)1 << 32);

  /* Unsupported directions are refused; same-type is a no-op. */
  CHECK_ST(fab_tensor_convert(i64, FAB_DT_F32, err, sizeof err), FAB_E_DTYPE);
  CHECK_ST(fab_tensor_convert(i64, FAB_DT_I64, err, sizeof err), FAB_OK);
  CHECK_ST(fab_tensor_convert(NULL, FAB_DT_F32, err, sizeof err), FAB_E_ARG);
  fab_tset_free(s);
}

void test_rng(void) {
  fab_rng a, b;
  fab_rng_seed(&a, 42);
  /* Reference values from an independent implementation of splitmix64 +
   * xoshiro256**. */
  CHECK(fab_rng_next(&a) == 0x15780b2e0c2ec716u);
  CHECK(fab_rng_next(&a) == 0x6104d9866d113a7eu);
  CHECK(fab_rng_next(&a) == 0xae17533239e499a1u);
  fab_rng_seed(&a, 7);
  fab_rng_seed(&b, 7);
  int same = 0;
  for (int i = 0; i < 1000; i++) same += fab_rng_next(&a) == fab_rng_next(&b);
  CHECK(same == 1000);
  fab_rng_seed(&b, 8);
  same = 0;
  for (int i = 0; i < 1000; i++) same += fab_rng_next(&a) == fab_rng_next(&b);
  CHECK(same == 0);

  /* Loose moment checks (the seed is fixed, so these are deterministic;
   * the bounds are ~6 standard errors). */
  enum { N = 100000 };
  fab_rng_seed(&a, 1234);
  double sum = 0, sum2 = 0, umin = 1, umax = 0, usum = 0;
  for (int i = 0; i < N; i++) {
    double u = fab_rng_uniform(&a);
    CHECK(u >= 0.0 && u < 1.0);
    umin = fmin(umin, u), umax = fmax(umax, u), usum += u;
    double x = fab_rng_normal(&a);
    CHECK(isfinite(x));
    sum += x, sum2 += x * x;
  }
  double mean = sum / N, var = sum2 / N - mean * mean;
  printf("normal: mean %.5f var %.5f; uniform: mean %.5f min %.2g max %.6f\n", mean, var, usum / N,
         umin, umax);
  CHECK(fabs(mean) < 0.02);
  CHECK(fabs(var - 1.0) < 0.03);
  CHECK(fabs(usum / N - 0.5) < 0.006);
  CHECK(umin < 1e-3 && umax > 1 - 1e-3);

  int counts[6] = {0};
  for (int i = 0; i < 60000; i++) {
    int64_t k = fab_rng_below(&a, 6);
    CHECK(k >= 0 && k < 6);
    if (k >= 0 && k < 6) counts[k]++;
  }
  for (int k = 0; k < 6; k++) CHECK(abs(counts[k] - 10000) < 600);
  for (int i = 0; i < 1000; i++) {
    int64_t k = fab_rng_below(&a, INT64_MAX);
    CHECK(k >= 0 && k < INT64_MAX);
    CHECK(fab_rng_below(&a, 1) == 0);
  }
  CHECK(fab_rng_below(&a, 0) == 0 && fab_rng_below(&a, -3) == 0);
}

/* Counts directory entries whose name contains `part`. */
static int count_entries(const char *dir, const char *part) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, part)) n++;
  closedir(d);
  return n;
}

void test_atomic(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s", tmp_path("w.bin"));
  CHECK_ST(fab_write_file_atomic(path, "old!", 4, err, sizeof err), FAB_OK);
  size_t len = 0;
  unsigned char *got = get_file(path, &len);
  CHECK(got && len == 4 && !memcmp(got, "old!", 4));
  free(got);
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);

  /* A missing folder: an I/O error naming the path, nothing created, and
   * the existing file elsewhere untouched. */
  CHECK_ST(fab_write_file_atomic(tmp_path("missing/w.bin"), "new", 3, err, sizeof err), FAB_E_IO);
  CHECK(strstr(err, "missing/w.bin") != NULL);
  CHECK(stat(tmp_path("missing"), &st) != 0);
  got = get_file(path, &len);
  CHECK(got && len == 4 && !memcmp(got, "old!", 4));
  free(got);

  /* A write that fails half-way (file size limit) leaves the old file
   * intact and no temporary behind.  Works as root too. */
  struct rlimit old_lim, lim;
  getrlimit(RLIMIT_FSIZE, &old_lim);
  void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old_lim;
  lim.rlim_cur = 1000;
  CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
  size_t big = 100000;
  char *data = calloc(1, big);
  CHECK_ST(fab_write_file_atomic(path, data, big, err, sizeof err), FAB_E_IO);
  CHECK(strstr(err, "w.bin") != NULL);
  setrlimit(RLIMIT_FSIZE, &old_lim);
  signal(SIGXFSZ, old_sig);
  got = get_file(path, &len);
  CHECK(got && len == 4 && !memcmp(got, "old!", 4));
  free(got);
  CHECK(count_entries(check_tmpdir, ".fabc-tmp.") == 0);

  /* The destination is a folder: rename fails, the folder and its content
   * stay, no temporary left. */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", tmp_path("adir"));
  CHECK(mkdir(dir, 0755) == 0);
  char inner[4200];
  snprintf(inner, sizeof inner, "%s/keep", dir);
  put_file(inner, "k", 1);
  CHECK_ST(fab_write_file_atomic(dir, data, 10, err, sizeof err), FAB_E_IO);
  CHECK(stat(inner, &st) == 0 && st.st_size == 1);
  CHECK(count_entries(check_tmpdir, ".fabc-tmp.") == 0);

  /* Replacing works and an empty write makes an empty file. */
  CHECK_ST(fab_write_file_atomic(path, data, big, err, sizeof err), FAB_OK);
  got = get_file(path, &len);
  CHECK(got && len == big);
  free(got);
  CHECK_ST(fab_write_file_atomic(path, NULL, 0, err, sizeof err), FAB_OK);
  CHECK(stat(path, &st) == 0 && st.st_size == 0);
  CHECK_ST(fab_write_file_atomic("", "x", 1, err, sizeof err), FAB_E_ARG);
  free(data);
}
