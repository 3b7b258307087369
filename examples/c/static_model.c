/* static_model.c — a model linked statically: the object written by
 * `fabc build --target cpu --emit=obj` (model.o) and its header (model.h)
 * provide the descriptor symbol fab_model_v1; no dlopen.
 *
 *   cc static_model.c model.o -I<dir of model.h> $(pkg-config --cflags --libs --static fabrt)
 *   (in the source tree: -Iruntime -Lbuild/runtime -l:libfabrt.a -ljansson -lpthread -lm)
 *   static_model weights.safetensors inputs.safetensors [--check expected.safetensors]
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
  int rc = run_files(m, argv[1], argv[2], NULL, argc == 5 ? argv[4] : NULL, 1);
  fab_model_free(m);
  return rc;
}
