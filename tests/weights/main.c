/* main.c — runs one group of the weights tests: `weights_test GROUP DIR`.
 * DIR is a scratch folder, emptied first, for the files the group writes. */
#include "check.h"

#include <ftw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int check_failures;
const char *check_tmpdir;

const char *tmp_path(const char *name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", check_tmpdir, name);
  return buf;
}

void put_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(data, 1, len, f) != len)) {
    fprintf(stderr, "setup: cannot write %s\n", path);
    check_failures++;
  }
  if (f) fclose(f);
}

unsigned char *get_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      unsigned char *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

/* Empties the scratch folder left by an earlier run (depth first). */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag;
  if (ftw->level > 0) remove(path);
  return 0;
}

static void clean_dir(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static const struct {
  const char *name;
  void (*fn)(void);
} groups[] = {
    {"tset", test_tset},       {"convert", test_convert},         {"rng", test_rng},
    {"atomic", test_atomic},   {"safetensors", test_safetensors}, {"st_lies", test_st_lies},
    {"npy", test_npy},         {"truncate", test_truncate},       {"fuzz", test_fuzz},
    {"wmap_rules", test_wmap_rules},     {"wmap_json", test_wmap_json},
    {"wmap_apply", test_wmap_apply},     {"wmap_suggest", test_wmap_suggest},
    {"wmap_bind", test_wmap_bind},       {"wmap_scale", test_wmap_scale},
};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: weights_test GROUP SCRATCH_DIR\n");
    return 2;
  }
  check_tmpdir = argv[2];
  if (mkdir(check_tmpdir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create %s\n", check_tmpdir);
    return 2;
  }
  clean_dir(check_tmpdir);
  for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
    if (strcmp(argv[1], groups[i].name) != 0) continue;
    groups[i].fn();
    printf("weights.%s: %s (%d failure%s)\n", argv[1], check_failures ? "FAIL" : "ok",
           check_failures, check_failures == 1 ? "" : "s");
    return check_failures ? 1 : 0;
  }
  fprintf(stderr, "unknown group '%s'\n", argv[1]);
  return 2;
}
