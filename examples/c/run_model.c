/* run_model.c — loads a model compiled by `fabc build --target cpu` and
 * runs it on tensor files, through the runtime only (no compiler, no LLVM).
 *
 *   run_model model.so weights.safetensors inputs.safetensors
 *             [-o outputs.safetensors] [--check expected.safetensors] [-t threads]
 *             [--weight-map map.json]    (a PyTorch state_dict's renames, reshapes:
 *                                          fab_weight_map.h, docs/language.md)
 *
 * Build against an installed runtime (cmake --install build --prefix $PREFIX;
 * examples/README.md has the whole sequence, which tests/install runs):
 *   export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
 *   cc -std=c17 -O2 run_model.c $(pkg-config --cflags --libs fabrt) -Wl,-rpath,$PREFIX/lib -o run_model
 * or from the top of the source tree, after building it in build/:
 *   cc -std=c17 -O2 examples/c/run_model.c -Iruntime -Lbuild/runtime -lfabrt -lm -Wl,-rpath,$PWD/build/runtime -o run_model */
#include "example_common.h"

int main(int argc, char **argv) {
  const char *pos[3] = {0}, *out = NULL, *check = NULL, *map = NULL;
  int npos = 0, threads = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strcmp(argv[i], "--check") && i + 1 < argc) check = argv[++i];
    else if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--weight-map") && i + 1 < argc) map = argv[++i];
    else if (npos < 3) pos[npos++] = argv[i];
    else npos = 4;
  }
  if (npos != 3) {
    fprintf(stderr, "usage: run_model model.so weights.safetensors inputs.safetensors "
                    "[-o out.safetensors] [--check expected.safetensors] [-t threads] "
                    "[--weight-map map.json]\n");
    return 2;
  }
  char err[512];
  fab_status st;
  fab_model *m = fab_model_load(pos[0], &st, err, sizeof err);
  if (!m) {
    fprintf(stderr, "run_model: %s (%s)\n", err, fab_status_name(st));
    return 1;
  }
  const fab_model_desc *d = fab_model_descriptor(m);
  printf("model %s (hash %016llx, %s): %d inputs, %d outputs, %d weights, %lld scratch bytes\n",
         d->name, (unsigned long long)d->hash, d->target ? d->target : "?", d->ninputs, d->noutputs,
         d->nweights, (long long)d->scratch_bytes);
  int rc = run_files(m, pos[1], map, pos[2], out, check, threads);
  fab_model_free(m);
  return rc;
}
