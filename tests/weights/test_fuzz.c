/* test_fuzz.c — seeded random mutations of valid files.  Nothing may crash
 * or leak (the sanitizer build checks that); a file that still reads must
 * hold self-consistent tensors that fit in the input. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

static char err[512];

/* Mutates b (length *len, capacity cap) in place with 1-4 random edits
 * aimed at what parsers get wrong: digits, delimiters, lengths. */
static void mutate(fab_rng *r, unsigned char *b, size_t *len, size_t cap, size_t hdr_end) {
  static const char interesting[] = "0123456789-+.eE\"',:[]{}() \n\\\x00\xff";
  int edits = 1 + (int)fab_rng_below(r, 4);
  for (int e = 0; e < edits && *len > 0; e++) {
    size_t at = (size_t)fab_rng_below(r, (int64_t)*len);
    /* Most edits land in the header, where the parsing happens. */
    if (hdr_end && hdr_end <= *len && fab_rng_below(r, 4) != 0)
      at = (size_t)fab_rng_below(r, (int64_t)hdr_end);
    switch (fab_rng_below(r, 8)) {
    case 0: b[at] ^= (unsigned char)(1u << fab_rng_below(r, 8)); break;
    case 1: b[at] = (unsigned char)fab_rng_next(r); break;
    case 2: b[at] = (unsigned char)interesting[fab_rng_below(r, sizeof interesting - 1)]; break;
    case 3: *len = (size_t)fab_rng_below(r, (int64_t)*len + 1); break;
    case 4: /* bump a digit, which moves offsets and dims */
      if (b[at] >= '0' && b[at] <= '9') b[at] = (unsigned char)('0' + fab_rng_below(r, 10));
      else b[at] = (unsigned char)('0' + fab_rng_below(r, 10));
      break;
    case 5: /* insert a byte */
      if (*len < cap) {
        memmove(b + at + 1, b + at, *len - at);
        b[at] = (unsigned char)interesting[fab_rng_below(r, sizeof interesting - 1)];
        (*len)++;
      }
      break;
    case 6: /* delete a byte */
      memmove(b + at, b + at + 1, *len - at - 1);
      (*len)--;
      break;
    case 7: /* poke the length field (safetensors: 8 bytes; npy: bytes 8-9) */
      if (*len > 9) b[8 - 8 * (hdr_end > 200) + fab_rng_below(r, 2)] = (unsigned char)fab_rng_next(r);
      break;
    }
  }
}

/* A set read from n input bytes must be consistent. */
static void check_set(const fab_tensor_set *s, size_t n) {
  uint64_t total = 0;
  for (int i = 0; i < s->count; i++) {
    const fab_tensor *t = &s->items[i];
    CHECK(t->name && t->data && t->rank >= 0 && t->rank <= FAB_TENSOR_MAX_RANK);
    CHECK((uint64_t)fab_tensor_numel(t) * fab_dtype_size(t->dtype) == t->nbytes);
    total += t->nbytes;
  }
  CHECK(total <= n);
}

static void fuzz_one(const char *kind, unsigned char *(*sample)(size_t *), bool npy, int iters,
                     uint64_t seed) {
  size_t len0;
  unsigned char *orig = sample(&len0);
  size_t cap = len0 + 64;
  unsigned char *b = malloc(cap);
  fab_rng r;
  fab_rng_seed(&r, seed);
  int accepted = 0, by_status[FAB_E_VERSION + 1] = {0};
  size_t hdr_end = npy ? 64 : 8 + (size_t)orig[0] + ((size_t)orig[1] << 8);
  for (int i = 0; i < iters; i++) {
    memcpy(b, orig, len0);
    size_t len = len0;
    mutate(&r, b, &len, cap, npy ? hdr_end : hdr_end + 256);
    /* Copy to an exact-size buffer so ASan catches any over-read. */
    unsigned char *exact = malloc(len ? len : 1);
    memcpy(exact, b, len);
    fab_tensor_set *s = NULL;
    fab_status st = npy ? fab_npy_read_mem(exact, len, "fz", &s, err, sizeof err)
                        : fab_safetensors_read_mem(exact, len, "fz", &s, err, sizeof err);
    if (st >= 0 && st <= FAB_E_VERSION) by_status[st]++;
    CHECK((st == FAB_OK) == (s != NULL));
    CHECK(st == FAB_OK || err[0] != '\0');
    if (s) {
      accepted++;
      check_set(s, len);
    }
    fab_tset_free(s);
    /* Now and then through the file reader too. */
    if (i % 50 == 0) {
      const char *p = tmp_path(npy ? "fz.npy" : "fz.safetensors");
      put_file(p, exact, len);
      s = NULL;
      fab_status st2 = fab_tensors_load(p, &s, err, sizeof err);
      CHECK(st2 == st || (st == FAB_OK) == (st2 == FAB_OK));
      if (s) check_set(s, len);
      fab_tset_free(s);
    }
    free(exact);
  }
  printf("%s: %d mutants, %d accepted; rejected: format %d, dtype %d, limit %d, version %d\n",
         kind, iters, accepted, by_status[FAB_E_FORMAT], by_status[FAB_E_DTYPE],
         by_status[FAB_E_LIMIT], by_status[FAB_E_VERSION]);
  /* The mutator must actually exercise both outcomes. */
  CHECK(accepted > 0 && accepted < iters);
  free(b);
  free(orig);
}

void test_fuzz(void) {
  fuzz_one("safetensors", sample_safetensors, false, 50000, 0xfab1);
  fuzz_one("npy", sample_npy, true, 50000, 0xfab2);
}
