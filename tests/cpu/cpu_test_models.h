/* cpu_test_models.h — small lowered models shared by the cpu tests. */
#ifndef CPU_TEST_MODELS_H
#define CPU_TEST_MODELS_H

#include "cpu_test_util.h"

/* bfly + bias.gelu + add.layernorm, and an embedding path with token ids. */
static inline void build_model(tb *t) {
  *t = tb_new("aotmodel");
  int64_t xd[2] = {40, 64}, twd[6] = {1, 1, 6, 32, 2, 2}, bd[1] = {64}, shp3[3] = {40, 1, 64};
  int64_t idd[1] = {40}, ed[2] = {50, 64};
  int x = tb_input(t, "x", FAB_F32, 2, xd);
  int ids = tb_input(t, "ids", FAB_I32, 1, idd);
  int tw = tb_weight(t, "fc.twiddle", 6, twd, 0.7071), b = tb_weight(t, "fc.bias", 1, bd, 0.5);
  int g = tb_weight(t, "ln.gamma", 1, bd, 1.0), be = tb_weight(t, "ln.beta", 1, bd, 1.0);
  int e = tb_weight(t, "emb", 2, ed, 1.0);
  tb_op(t, FAB_OP_EMBED, ids, e, -1, -1);
  int em = tb_infer(t);
  tb_op(t, FAB_OP_ADD, x, em, -1, -1);
  int xe = tb_infer(t);
  tb_op(t, FAB_OP_RESHAPE, xe, -1, -1, -1); fab_op_set_ints(t->m, tb_last(t), "shape", shp3, 3);
  int x3 = tb_infer(t);
  int64_t st[18];
  for (int k = 0; k < 6; k++) {
    st[3 * k] = 0;
    st[3 * k + 1] = k;
    st[3 * k + 2] = 5 - k;
  }
  tb_op(t, FAB_OP_BFLY_STAGES, x3, tw, -1, -1); fab_op_set_ints(t->m, tb_last(t), "stages", st, 18);
  int y3 = tb_infer(t);
  tb_op(t, FAB_OP_RESHAPE, y3, -1, -1, -1); fab_op_set_ints(t->m, tb_last(t), "shape", xd, 2);
  int y = tb_infer(t);
  tb_op(t, FAB_OP_BIAS_GELU, y, b, -1, -1); fab_op_set_str(t->m, tb_last(t), "approx", "tanh");
  int h = tb_infer(t);
  tb_op(t, FAB_OP_ADD_LAYERNORM, h, xe, g, be); fab_op_set_float(t->m, tb_last(t), "eps", 1e-5);
  tb_output(t, tb_infer(t), "out");
}

#endif
