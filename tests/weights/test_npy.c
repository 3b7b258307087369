/* test_npy.c — .npy reading (as NumPy writes it, and malformed), round
 * trips, and every truncation of valid files. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static char err[512];

/* A .npy file of the given version with `dict` padded to 64 bytes, then
 * dlen bytes of data. */
static unsigned char *build_npy(int major, const char *dict, const void *data, size_t dlen,
                                size_t *len) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
  unsigned char *b = malloc(total + dlen + 1);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
  memcpy(b + pre, dict, dl);
  memset(b + pre + dl, ' ', hlen - dl - 1);
  b[total - 1] = '\n';
  if (dlen) memcpy(b + total, data, dlen);
  *len = total + dlen;
  return b;
}

static const float sample_vals[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 65504.0f};

unsigned char *sample_npy(size_t *len) {
  return build_npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", sample_vals,
                   sizeof sample_vals, len);
}

/* Reads `dict` + dlen bytes as a .npy; expects `want` (and on success a
 * tensor of `numel` elements). */
static void npy_case(int major, const char *dict, size_t dlen, fab_status want, const char *needle,
                     int line) {
  unsigned char data[64] = {0};
  size_t len;
  unsigned char *b = build_npy(major, dict, data, dlen, &len);
  fab_tensor_set *s = NULL;
  err[0] = '\0';
  fab_status st = fab_npy_read_mem(b, len, "t", &s, err, sizeof err);
  if (st != want || (st != FAB_OK && s) || (st == FAB_OK && (!s || s->count != 1)) ||
      (needle && !strstr(err, needle))) {
    fprintf(stderr, "test_npy.c:%d: got %s (%s), want %s mentioning '%s'\n", line,
            fab_status_name(st), err, fab_status_name(want), needle ? needle : "");
    check_failures++;
  }
  fab_tset_free(s);
  free(b);
}
#define NPY(major, dict, dlen, want, needle) npy_case(major, dict, dlen, want, needle, __LINE__)

void test_npy(void) {
  size_t len;
  unsigned char *b = sample_npy(&len);
  CHECK(len == 128 + 24); /* what NumPy writes for this array */
  fab_tensor_set *s = NULL;
  CHECK_ST(fab_npy_read_mem(b, len, "x", &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 1 && !strcmp(s->items[0].name, "x") && s->items[0].dtype == FAB_DT_F32 &&
        s->items[0].rank == 2 && s->items[0].dims[0] == 2 && s->items[0].dims[1] == 3 &&
        !memcmp(s->items[0].data, sample_vals, 24));
  fab_tset_free(s);
  /* From a file, named after the stem. */
  char path[4096];
  snprintf(path, sizeof path, "%s", tmp_path("arr.w.npy"));
  put_file(path, b, len);
  s = NULL;
  CHECK_ST(fab_npy_read(path, NULL, &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 1 && !strcmp(s->items[0].name, "arr.w"));
  fab_tset_free(s);
  s = NULL;
  CHECK_ST(fab_npy_read(path, "given", &s, err, sizeof err), FAB_OK);
  CHECK(s && !strcmp(s->items[0].name, "given"));
  fab_tset_free(s);
  s = NULL;
  CHECK_ST(fab_tensors_load(path, &s, err, sizeof err), FAB_OK);
  CHECK(s && s->count == 1 && !memcmp(s->items[0].data, sample_vals, 24));
  fab_tset_free(s);
  free(b);
  CHECK_ST(fab_npy_read(tmp_path("absent.npy"), NULL, &s, err, sizeof err), FAB_E_IO);

  /* Variants NumPy (or Python 2 NumPy, or a hand edit) may produce. */
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, FAB_OK, NULL);
  NPY(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, FAB_OK, NULL);
  NPY(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24, FAB_OK, NULL);
  NPY(1, "{\"shape\": (3,), \"descr\": \"<i8\", \"fortran_order\": False}", 24, FAB_OK, NULL);
  NPY(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2L, 3L), }", 12, FAB_OK, NULL);
  NPY(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, FAB_OK, NULL);
  NPY(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (0, 5), }", 0, FAB_OK, NULL);
  NPY(1, "{'descr':'<i4','fortran_order':False,'shape':(1,2,)}", 8, FAB_OK, NULL);

  /* Refused. */
  NPY(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, FAB_E_FORMAT, "Fortran");
  NPY(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", 24, FAB_E_DTYPE, "big-endian");
  NPY(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", 4, FAB_E_DTYPE, "'|u1'");
  NPY(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, FAB_E_DTYPE, NULL);
  NPY(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, FAB_E_DTYPE, "structured");
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20, FAB_E_FORMAT, "needs 24");
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28, FAB_E_FORMAT, "file has 28");
  NPY(1, "{'descr': '<f4', 'fortran_order': False, }", 0, FAB_E_FORMAT, "shape");
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4, FAB_E_FORMAT, "'extra'");
  NPY(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, FAB_E_FORMAT, "shape");
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ((2, 3)), }", 24, FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24, FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", 0,
      FAB_E_LIMIT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0,
      FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", 4, FAB_E_FORMAT, "bool");
  NPY(1, "{'descr': '<f\\4', 'fortran_order': False, 'shape': (1,), }", 4, FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", 4, FAB_E_FORMAT, "junk");
  NPY(1, "['descr', '<f4']", 4, FAB_E_FORMAT, NULL);
  NPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, FAB_E_LIMIT, NULL);
  NPY(4, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, FAB_E_VERSION, NULL);

  /* Bad magic, and a header length past the end. */
  b = sample_npy(&len);
  b[1] = 'X';
  s = NULL;
  CHECK_ST(fab_npy_read_mem(b, len, "m", &s, err, sizeof err), FAB_E_FORMAT);
  CHECK(strstr(err, "magic") != NULL);
  b[1] = 'N';
  b[8] = 0xff, b[9] = 0x7f;
  CHECK_ST(fab_npy_read_mem(b, len, "m", &s, err, sizeof err), FAB_E_FORMAT);
  CHECK(s == NULL);
  free(b);

  /* Round trips of every dtype .npy can hold. */
  fab_tensor_dtype dts[] = {FAB_DT_F32, FAB_DT_F16, FAB_DT_F64, FAB_DT_I32, FAB_DT_I64};
  int64_t shapes[][3] = {{3, 4, 5}, {7, 0, 0}, {0, 0, 0}, {2, 0, 3}, {1, 1, 1}};
  int ranks[] = {3, 1, 0, 3, 2};
  for (int i = 0; i < 5; i++) {
    fab_tensor_set *w = fab_tset_new(), *r = NULL;
    fab_tensor *t = fab_tset_add(w, "t", dts[i], ranks[i], shapes[i]);
    for (size_t k = 0; t && k < t->nbytes; k++) ((unsigned char *)t->data)[k] = (unsigned char)(k * 13 + i);
    snprintf(path, sizeof path, "%s", tmp_path("rt.npy"));
    CHECK_ST(fab_tensors_save(path, w, err, sizeof err), FAB_OK);
    CHECK_ST(fab_npy_read(path, "t", &r, err, sizeof err), FAB_OK);
    fab_tensor *u = r && r->count == 1 ? &r->items[0] : NULL;
    CHECK(u && t && u->dtype == t->dtype && u->rank == t->rank && u->nbytes == t->nbytes &&
          !memcmp(u->dims, t->dims, sizeof t->dims) && !memcmp(u->data, t->data, t->nbytes));
    unsigned char *raw = get_file(path, &len);
    CHECK(raw && (len - t->nbytes) % 64 == 0 && raw[6] == 1 && raw[len - t->nbytes - 1] == '\n');
    if (raw && ranks[i] == 1) CHECK(memmem(raw, len, "(7,)", 4) != NULL);
    free(raw);
    fab_tset_free(r);
    fab_tset_free(w);
  }
  fab_tensor_set *w = fab_tset_new();
  fab_tset_add(w, "bf", FAB_DT_BF16, 0, NULL);
  CHECK_ST(fab_npy_write(tmp_path("bf.npy"), &w->items[0], err, sizeof err), FAB_E_DTYPE);
  fab_tset_add(w, "second", FAB_DT_F32, 0, NULL);
  CHECK_ST(fab_tensors_save(tmp_path("two.npy"), w, err, sizeof err), FAB_E_ARG);
  fab_tset_free(w);
}

/* Every proper prefix of a valid file must fail cleanly, from memory and
 * (for safetensors, which reads in pieces) from a file. */
void test_truncate(void) {
  size_t len;
  unsigned char *b = sample_safetensors(&len);
  int ok = 0;
  for (size_t n = 0; n < len; n++) {
    fab_tensor_set *s = NULL;
    fab_status st = fab_safetensors_read_mem(b, n, "cut", &s, err, sizeof err);
    if (st == FAB_OK || s) ok++;
    fab_tset_free(s);
    s = NULL;
    put_file(tmp_path("cut.safetensors"), b, n);
    st = fab_safetensors_read(tmp_path("cut.safetensors"), &s, err, sizeof err);
    if (st == FAB_OK || s) ok++;
    fab_tset_free(s);
  }
  CHECK(ok == 0);
  fab_tensor_set *s = NULL;
  CHECK_ST(fab_safetensors_read_mem(b, len, "whole", &s, err, sizeof err), FAB_OK);
  fab_tset_free(s);
  free(b);

  b = sample_npy(&len);
  ok = 0;
  for (size_t n = 0; n < len; n++) {
    s = NULL;
    fab_status st = fab_npy_read_mem(b, n, "cut", &s, err, sizeof err);
    if (st == FAB_OK || s) ok++;
    fab_tset_free(s);
    s = NULL;
    put_file(tmp_path("cut.npy"), b, n);
    st = fab_npy_read(tmp_path("cut.npy"), NULL, &s, err, sizeof err);
    if (st == FAB_OK || s) ok++;
    fab_tset_free(s);
  }
  CHECK(ok == 0);
  free(b);
}
