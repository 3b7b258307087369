/* emit_fixture.c — writes a compiled test model for the example programs:
 *
 *   emit_fixture <dir>
 *
 * <dir>/model.so, model.o, model.h (the .o's header), weights.safetensors,
 * inputs.safetensors and expected.safetensors (the interpreter's outputs). */
#include "cpu_test_models.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: emit_fixture <dir>\n");
    return 2;
  }
  tb t;
  build_model(&t);
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *want = fab_tset_new();
  char p[4096], err[256];
  bool ok = fab_verify(t.m, t.d) && fab_bind_init_weights(t.m, 3, w, t.d) &&
            fab_bind_init_inputs(t.m, 5, in, t.d) && fab_interp_run(t.m, w, in, want, t.d);
  snprintf(p, sizeof p, "%s/model.so", argv[1]);
  ok = ok && fab_cpu_emit(t.m, NULL, FAB_CPU_EMIT_SHARED, p, t.d);
  snprintf(p, sizeof p, "%s/model.o", argv[1]);
  ok = ok && fab_cpu_emit(t.m, NULL, FAB_CPU_EMIT_OBJ, p, t.d);
  const struct {
    const char *name;
    fab_tensor_set *s;
  } files[] = {{"weights", w}, {"inputs", in}, {"expected", want}};
  for (int i = 0; ok && i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s.safetensors", argv[1], files[i].name);
    ok = fab_safetensors_write(p, files[i].s, err, sizeof err) == FAB_OK;
    if (!ok) fprintf(stderr, "%s\n", err);
  }
  fab_tset_free(w);
  fab_tset_free(in);
  fab_tset_free(want);
  tb_free(&t);
  return ok ? 0 : 1;
}
