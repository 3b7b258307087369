/* static_model.c — a model linked statically: the object written by
 * `fabc build --target cpu --emit=obj` (model.o) and its header (model.h)
 * provide the descriptor symbol fab_model_v1; no dlopen.
 *
 *   static_model weights.safetensors inputs.safetensors [--check expected.safetensors]
 *
 * Build against an installed runtime (examples/README.md, run by tests/install):
 *   export PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig
 *   cc -std=c17 -O2 -static static_model.c model.o -I. $(pkg-config --static --cflags --libs fabrt) -o static_model
 * or from the top of the source tree (libfabrt.a; the C library stays shared):
 *   cc -std=c17 -O2 examples/c/static_model.c model.o -I. -Iruntime -Lbuild/runtime -l:libfabrt.a -ljansson -lpthread -lm -o static_model
 */
#include "example_common.h"
#include "model.h"

int main(int argc, char **argv) {
  if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "--check"))) {
    fprintf(stderr, "usage: static_model weights.safetensors inputs.safetensors "
                    "[--check expected.safetensors]\n");
    return 2;
  }
  char err[512];
  fab_status st;
  fab_model *m = fab_model_from_desc(&fab_model_v1, &st, err, sizeof err);
  if (!m) {
    fprintf(stderr, "static_model: %s\n", err);
    return 1;
  }
  printf("linked model hash %016llx (header says %016llx)\n",
         (unsigned long long)fab_model_descriptor(m)->hash, (unsigned long long)FAB_MODEL_HASH);
  int rc = run_files(m, argv[1], NULL, argv[2], NULL, argc == 5 ? argv[4] : NULL, 1);
  fab_model_free(m);
  return rc;
}
