/* fuzz_samples.c — the readers of `fabc sample` data sets (JSONL).
 *
 * The input is written to a temporary file and read by both readers:
 * fab_pred_dataset_load (the predictor's training data, for each target)
 * and fab_cd_sample_read_keys (resuming a stopped `fabc sample`).  An
 * accepted data set must hold consistent samples (finite latencies, graphs
 * whose arrays match their node counts); the keys reader must count only
 * complete lines, and their bytes must not exceed the file. */
#include "codesign.h"
#include "fuzz_util.h"
#include "predict.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_input(const uint8_t *data, size_t size) {
  if (!path[0]) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fuzz-samples-%d.jsonl", dir && strlen(dir) < 32 ? dir : "/tmp",
             (int)getpid());
  }
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f != NULL, "cannot write %s", path);
  FUZZ_CHECK(fwrite(data, 1, size, f) == size, "short write");
  FUZZ_CHECK(fclose(f) == 0, "close");
}

static void load(const char *target) {
  fab_pred_dataset ds = {0};
  fab_diag *d = fab_diag_new();
  if (fab_pred_dataset_load(path, target, &ds, d)) {
    FUZZ_CHECK(ds.n >= 0, "n %d", ds.n);
    for (int i = 0; i < ds.n; i++) {
      const fab_pred_sample *s = &ds.s[i];
      FUZZ_CHECK(isfinite(s->latency), "sample %d: latency", i);
      FUZZ_CHECK(s->g.n >= 0, "sample %d: %d nodes", i, s->g.n);
      for (int j = 0; j < s->g.n; j++) FUZZ_CHECK(isfinite(s->g.macs[j]), "sample %d node %d", i, j);
    }
    fab_pred_dataset_free(&ds);
  }
  fab_diag_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  write_input(data, size);
  load("fpga_model_ms");
  load("fpga_sim_ms");
  load("cpu_ms");
  int64_t *keys = NULL;
  int n = 0;
  long bytes = 0;
  fab_diag *d = fab_diag_new();
  if (fab_cd_sample_read_keys(path, &keys, &n, &bytes, d)) {
    FUZZ_CHECK(bytes >= 0 && (size_t)bytes <= size, "%ld complete bytes of %zu", bytes, size);
    FUZZ_CHECK(n == 0 || bytes > 0, "%d keys in %ld bytes", n, bytes);
  }
  free(keys);
  fab_diag_free(d);
  unlink(path);
  return 0;
}
