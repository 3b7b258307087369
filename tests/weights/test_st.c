/* test_st.c — safetensors: reading files as Python writes them, round
 * trips, and headers that lie. */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* 8-byte length + header (padded with spaces to 8) + data. */
static unsigned char *build_st(const char *json, const void *data, size_t dlen, size_t *len) {
  size_t jl = strlen(json), hl = (jl + 7) / 8 * 8;
  unsigned char *b = malloc(8 + hl + dlen + 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(b + 8, json, jl);
  memset(b + 8 + jl, ' ', hl - jl);
  if (dlen) memcpy(b + 8 + hl, data, dlen);
  *len = 8 + hl + dlen;
  return b;
}

static const char sample_json[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"emb\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
    "\"ln.b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[12,16]},"
    "\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[16,32]},"
    "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[32,40]}}";

unsigned char *sample_safetensors(size_t *len) {
  unsigned char data[40];
  uint16_t h[6] = {0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0x8000}; /* 1 -2.5 65504 2^-24 inf -0 */
  uint16_t b[2] = {0x3f80, 0xc020};                                 /* 1 -2.5 */
  int64_t ids[2] = {7, -1};
  float w[2] = {0.5f, -3.0f};
  memcpy(data, h, 12);
  memcpy(data + 12, b, 4);
  memcpy(data + 16, ids, 16);
  memcpy(data + 32, w, 8);
  return build_st(sample_json, data, sizeof data, len);
}

static void check_sample(const fab_tensor_set *s) {
  CHECK(s && s->count == 4);
  if (!s || s->count != 4) return;
  CHECK(!strcmp(s->items[0].name, "emb") && !strcmp(s->items[1].name, "ln.b") &&
        !strcmp(s->items[2].name, "ids") && !strcmp(s->items[3].name, "w"));
  fab_tensor *e = &s->items[0];
  CHECK(e->dtype == FAB_DT_F16 && e->rank == 2 && e->dims[0] == 2 && e->dims[1] == 3);
  CHECK_ST(fab_tensor_convert(e, FAB_DT_F32, err, sizeof err), FAB_OK);
  float *f = e->data;
  CHECK(f[0] == 1.0f && f[1] == -2.5f && f[2] == 65504.0f && f[3] == 0x1p-24f &&
        f[4] == INFINITY && f[5] == 0.0f && signbit(f[5]));
  fab_tensor *b = &s->items[1];
  CHECK_ST(fab_tensor_convert(b, FAB_DT_F32, err, sizeof err), FAB_OK);
  CHECK(((float *)b->data)[0] == 1.0f && ((float *)b->data)[1] == -2.5f);
  fab_tensor *ids = &s->items[2];
  CHECK_ST(fab_tensor_convert(ids, FAB_DT_I32, err, sizeof err), FAB_OK);
  CHECK(((int32_t *)ids->data)[0] == 7 && ((int32_t *)ids->data)[1] == -1);
  CHECK(((float *)s->items[3].data)[1] == -3.0f);
}

/* A set with every dtype and some awkward shapes, filled with a pattern. */
static fab_tensor_set *make_all_dtypes(void) {
  fab_tensor_set *s = fab_tset_new();
  struct {
    const char *name;
    fab_tensor_dtype dt;
    int rank;
    int64_t dims[8];
  } spec[] = {
      {"layers.0.ffn.fc1.twiddle", FAB_DT_F32, 3, {4, 2, 3}},
      {"half", FAB_DT_F16, 2, {3, 5}},
      {"brain", FAB_DT_BF16, 1, {7}},
      {"idx32", FAB_DT_I32, 1, {9}},
      {"idx64", FAB_DT_I64, 2, {2, 2}},
      {"dbl", FAB_DT_F64, 0, {0}},
      {"empty", FAB_DT_F32, 2, {0, 3}},
      {"rank8", FAB_DT_F16, 8, {1, 2, 1, 2, 1, 2, 1, 3}},
      {"A_upper", FAB_DT_I32, 1, {1}},
  };
  for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++) {
    fab_tensor *t = fab_tset_add(s, spec[i].name, spec[i].dt, spec[i].rank, spec[i].dims);
    CHECK(t != NULL);
    for (size_t k = 0; t && k < t->nbytes; k++) ((unsigned char *)t->data)[k] = (unsigned char)(k * 7 + i);
  }
  return s;
}

static bool same_tensor(const fab_tensor *a, const fab_tensor *b) {
  if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

static void round_trip(void) {
  fab_tensor_set *s = make_all_dtypes(), *r = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s", tmp_path("all.safetensors"));
  CHECK_ST(fab_safetensors_write(path, s, err, sizeof err), FAB_OK);
  CHECK_ST(fab_safetensors_read(path, &r, err, sizeof err), FAB_OK);
  CHECK(r && r->count == s->count);
  /* Read back in data order: widest elements first, then by name. */
  for (int i = 0; r && i < r->count; i++) {
    fab_tensor *o = fab_tset_find(s, r->items[i].name);
    CHECK(o && same_tensor(o, &r->items[i]));
    if (i) {
      size_t sa = fab_dtype_size(r->items[i - 1].dtype), sb = fab_dtype_size(r->items[i].dtype);
      CHECK(sa > sb || (sa == sb && strcmp(r->items[i - 1].name, r->items[i].name) < 0));
    }
  }
  CHECK(r && r->count == 9 && !strcmp(r->items[0].name, "dbl") && !strcmp(r->items[8].name, "rank8"));
  fab_tset_free(r);
  r = NULL;

  /* The layout is what other readers expect: aligned data, sorted keys. */
  size_t len = 0;
  unsigned char *raw = get_file(path, &len);
  CHECK(raw && len > 8);
  if (raw && len > 8) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | raw[i];
    CHECK(n % 8 == 0 && n <= len - 8 && raw[8] == '{');
    char *hdr = strndup((char *)raw + 8, (size_t)n);
    const char *p1 = strstr(hdr, "\"A_upper\""), *p2 = strstr(hdr, "\"brain\""),
               *p3 = strstr(hdr, "\"rank8\"");
    CHECK(p1 && p2 && p3 && p1 < p2 && p2 < p3);
    CHECK(strstr(hdr, "\"dtype\":\"BF16\"") != NULL);
    /* Each tensor starts at a multiple of its element size. */
    for (int i = 0; i < s->count; i++) {
      char key[128];
      snprintf(key, sizeof key, "\"%s\":{\"data_offsets\":[", s->items[i].name);
      const char *at = strstr(hdr, key);
      CHECK(at != NULL);
      if (at) CHECK(strtoull(at + strlen(key), NULL, 10) % fab_dtype_size(s->items[i].dtype) == 0);
    }
    free(hdr);
    /* The same bytes read from memory give the same tensors. */
    CHECK_ST(fab_safetensors_read_mem(raw, len, "all", &r, err, sizeof err), FAB_OK);
    CHECK(r && r->count == s->count);
    fab_tset_free(r);
    r = NULL;
  }
  free(raw);

  /* By extension, and overwriting an existing file. */
  fab_tset_remove(s, "half");
  CHECK_ST(fab_tensors_save(path, s, err, sizeof err), FAB_OK);
  CHECK_ST(fab_tensors_load(path, &r, err, sizeof err), FAB_OK);
  CHECK(r && r->count == s->count && !fab_tset_find(r, "half"));
  fab_tset_free(r);

  /* An empty set is a valid file. */
  fab_tensor_set *e = fab_tset_new();
  CHECK_ST(fab_safetensors_write(tmp_path("empty.safetensors"), e, err, sizeof err), FAB_OK);
  CHECK_ST(fab_safetensors_read(tmp_path("empty.safetensors"), &r, err, sizeof err), FAB_OK);
  CHECK(r && r->count == 0);
  fab_tset_free(r);
  /* Names that cannot be written. */
  fab_tset_add(e, "__metadata__", FAB_DT_F32, 0, NULL);
  CHECK_ST(fab_safetensors_write(tmp_path("bad.safetensors"), e, err, sizeof err), FAB_E_ARG);
  fab_tset_free(e);
  e = fab_tset_new();
  fab_tset_add(e, "bad\xff", FAB_DT_F32, 0, NULL);
  CHECK_ST(fab_safetensors_write(tmp_path("bad.safetensors"), e, err, sizeof err), FAB_E_ARG);
  fab_tset_free(e);
  fab_tset_free(s);
}

void test_safetensors(void) {
  size_t len;
  unsigned char *b = sample_safetensors(&len);
  fab_tensor_set *s = NULL;
  CHECK_ST(fab_safetensors_read_mem(b, len, "sample", &s, err, sizeof err), FAB_OK);
  check_sample(s);
  fab_tset_free(s);
  s = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s", tmp_path("sample.safetensors"));
  put_file(path, b, len);
  CHECK_ST(fab_safetensors_read(path, &s, err, sizeof err), FAB_OK);
  check_sample(s);
  fab_tset_free(s);
  s = NULL;
  CHECK_ST(fab_tensors_load(path, &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 4);
  fab_tset_free(s);
  free(b);

  /* Header order differs from data order: the set follows the data. */
  float v[2] = {1, 2};
  b = build_st("{\"z\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
               "\"m\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
               v, 8, &len);
  s = NULL;
  CHECK_ST(fab_safetensors_read_mem(b, len, "order", &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 3 && !strcmp(s->items[0].name, "z") && s->items[0].rank == 0 &&
        ((float *)s->items[1].data)[0] == 2.0f && s->items[2].nbytes == 0);
  fab_tset_free(s);
  free(b);

  /* Missing files, unknown extensions. */
  s = NULL;
  CHECK_ST(fab_safetensors_read(tmp_path("nope.safetensors"), &s, err, sizeof err), FAB_E_IO);
  CHECK(s == NULL && strstr(err, "nope.safetensors"));
  CHECK_ST(fab_tensors_load(tmp_path("x.bin"), &s, err, sizeof err), FAB_E_ARG);
  CHECK_ST(fab_safetensors_read(check_tmpdir, &s, err, sizeof err), FAB_E_IO);
  round_trip();
}

/* One lying file: `json` over `dlen` bytes of data must fail with `want`
 * and, if `needle` is given, say it. */
static void lie(const char *json, size_t dlen, fab_status want, const char *needle, int line) {
  unsigned char data[64] = {0};
  size_t len;
  unsigned char *b = build_st(json, data, dlen, &len);
  fab_tensor_set *s = NULL;
  err[0] = '\0';
  fab_status st = fab_safetensors_read_mem(b, len, "w.safetensors", &s, err, sizeof err);
  if (st != want || s != NULL || (needle && !strstr(err, needle))) {
    fprintf(stderr, "test_st.c:%d: got %s (%s), want %s mentioning '%s'\n", line,
            fab_status_name(st), err, fab_status_name(want), needle ? needle : "");
    check_failures++;
  }
  fab_tset_free(s);
  free(b);
}
#define LIE(json, dlen, want, needle) lie(json, dlen, want, needle, __LINE__)
#define T(name, dt, shape, b, e) \
  "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

/* Raw bytes with a chosen header length field. */
static void lie_len(uint64_t n, size_t total, fab_status want) {
  unsigned char *b = calloc(1, total + 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
  if (total > 8) memcpy(b + 8, "{}", total - 8 < 2 ? total - 8 : 2);
  fab_tensor_set *s = NULL;
  CHECK_ST(fab_safetensors_read_mem(b, total, "len", &s, err, sizeof err), want);
  CHECK((s != NULL) == (want == FAB_OK));
  fab_tset_free(s);
  free(b);
}

void test_st_lies(void) {
  const char *tw = "w.safetensors: tensor 'layers.0.ffn.fc1.twiddle': data offsets [0, 4096) "
                   "exceed the data section (16 bytes)";
  LIE("{" T("layers.0.ffn.fc1.twiddle", "F32", "[1024]", 0, 4096) "}", 16, FAB_E_FORMAT, tw);
  LIE("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 4, 12) "}", 12, FAB_E_FORMAT, "overlap");
  LIE("{" T("a", "F32", "[1]", 0, 4) "," T("b", "F32", "[2]", 8, 16) "}", 16, FAB_E_FORMAT, "hole");
  LIE("{" T("a", "F32", "[2]", 0, 8) "}", 16, FAB_E_FORMAT, "not covered");
  LIE("{" T("a", "F32", "[3]", 0, 8) "}", 8, FAB_E_FORMAT, "needs 12 bytes");
  LIE("{" T("a", "F32", "[2]", 8, 0) "}", 8, FAB_E_FORMAT, "reversed");
  LIE("{" T("a", "F32", "[2]", -8, 0) "}", 8, FAB_E_FORMAT, "'a'");
  LIE("{" T("a", "F32", "[2]", 0, 8) "," T("z", "F32", "[0]", 4, 4) "}", 8, FAB_E_FORMAT, "overlap");
  LIE("{" T("a", "F32", "[2]", 0, 18446744073709551615) "}", 8, FAB_E_FORMAT, NULL);
  LIE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, FAB_E_FORMAT, "data_offsets");
  LIE("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, FAB_E_FORMAT, "data_offsets");
  LIE("not json at all", 0, FAB_E_FORMAT, "not valid JSON");
  LIE("{\"a\": ", 0, FAB_E_FORMAT, "not valid JSON");
  LIE("[1, 2, 3]", 0, FAB_E_FORMAT, "not a JSON object");
  LIE("{} trailing", 0, FAB_E_FORMAT, "not valid JSON");
  LIE("{\"a\x80\":{}}", 0, FAB_E_FORMAT, "not valid JSON");
  LIE("{" T("a", "Q8", "[2]", 0, 8) "}", 8, FAB_E_DTYPE, "unsupported dtype 'Q8'");
  LIE("{" T("a", "U8", "[8]", 0, 8) "}", 8, FAB_E_DTYPE, "'U8'");
  LIE("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, FAB_E_FORMAT, "dtype");
  LIE("{" T("a", "F32", "[2]", 0, 8) "," T("a", "F32", "[2]", 0, 8) "}", 8, FAB_E_FORMAT, "duplicate");
  LIE("{" T("a", "F32", "[-2, -4]", 0, 32) "}", 32, FAB_E_FORMAT, "negative");
  LIE("{" T("a", "F32", "[4294967296, 4294967296, 4294967296]", 0, 8) "}", 8, FAB_E_LIMIT, "'a'");
  LIE("{" T("a", "F64", "[9223372036854775807, 2]", 0, 8) "}", 8, FAB_E_LIMIT, NULL);
  LIE("{" T("a", "F32", "[99999999999999999999]", 0, 8) "}", 8, FAB_E_FORMAT, NULL);
  LIE("{" T("a", "F32", "[34359738368]", 0, 8) "}", 8, FAB_E_LIMIT, NULL);
  LIE("{" T("a", "F32", "[17179869184]", 0, 8) "}", 8, FAB_E_FORMAT, "needs 68719476736 bytes");
  LIE("{" T("a", "F32", "[1,1,1,1,1,1,1,1,2]", 0, 8) "}", 8, FAB_E_LIMIT, "rank");
  LIE("{" T("a", "F32", "[2.0]", 0, 8) "}", 8, FAB_E_FORMAT, "not an integer");
  LIE("{" T("a", "F32", "2", 0, 8) "}", 8, FAB_E_FORMAT, "shape");
  LIE("{\"a\":[1,2]}", 0, FAB_E_FORMAT, "not an object");
  LIE("{" T("", "F32", "[2]", 0, 8) "}", 8, FAB_E_FORMAT, "empty name");
  LIE("{\"__metadata__\":[],\"a\":{}}", 0, FAB_E_FORMAT, "__metadata__");
  LIE("{\"__metadata__\":{\"k\":1}}", 0, FAB_E_FORMAT, "__metadata__");
  LIE("{" T("a", "F32", "[2]", 0, 8) "," T("b", "F32", "[2]", 8, 16) "," T("c", "F32", "[2]", 8, 16) "}",
      16, FAB_E_FORMAT, "overlap");

  /* Header length field. */
  lie_len(UINT64_MAX, 64, FAB_E_FORMAT);
  lie_len((uint64_t)1 << 63, 64, FAB_E_FORMAT);
  lie_len(57, 64, FAB_E_FORMAT);
  lie_len(0, 64, FAB_E_FORMAT);
  lie_len(1, 64, FAB_E_FORMAT);
  lie_len(2, 10, FAB_OK); /* "{}" and nothing else: an empty file */
  lie_len(2, 7, FAB_E_FORMAT);
  /* A header longer than the limit is refused before it is parsed. */
  size_t big = ((size_t)100 << 20) + 16;
  unsigned char *b = malloc(big);
  if (b) {
    memset(b, ' ', big);
    uint64_t n = big - 8;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
    fab_tensor_set *s = NULL;
    CHECK_ST(fab_safetensors_read_mem(b, big, "big", &s, err, sizeof err), FAB_E_LIMIT);
    free(b);
  }
  /* Zero-sized tensors at a boundary are fine (and not overlaps). */
  unsigned char d8[8] = {0};
  size_t len;
  b = build_st("{" T("a", "F32", "[2]", 0, 8) "," T("z", "I64", "[0, 5]", 8, 8) "," T("y", "F16", "[0]", 0, 0) "}",
               d8, 8, &len);
  fab_tensor_set *s = NULL;
  CHECK_ST(fab_safetensors_read_mem(b, len, "zero", &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 3 && !strcmp(s->items[0].name, "y") && !strcmp(s->items[2].name, "z"));
  fab_tset_free(s);
  free(b);
}
