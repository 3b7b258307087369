/* target_interp.c — the reference interpreter as a target: no pipeline,
 * the module as written runs op by op (interp/). */
#include <stdlib.h>

#include "interp.h"
#include "target.h"

struct fab_compiled {
  const fab_module *m;
  const fab_tensor_set *weights;
};

static bool cost_model(const fab_target_config *cfg, fab_target_info *out, fab_diag *d) {
  (void)cfg, (void)d;
  *out = *fab_generic_target();
  return true;
}

static fab_compiled *compile(const fab_module *m, const fab_target_config *cfg, fab_diag *d) {
  (void)cfg;
  fab_compiled *c = fab_target_calloc(sizeof *c, d);
  if (c) c->m = m;
  return c;
}

static void release(fab_compiled *c) { free(c); }

static bool bind_weights(fab_compiled *c, const fab_tensor_set *w, fab_diag *d) {
  (void)d;
  c->weights = w;
  return true;
}

static bool run(fab_compiled *c, const fab_tensor_set *in, fab_tensor_set *out, fab_target_run *r, fab_diag *d) {
  (void)r;
  return fab_interp_run(c->m, c->weights, in, out, d);
}

const fab_target fab_target_interp = {
    .name = "interp",
    .summary = "the reference interpreter (the model as written, op by op)",
    .pipeline = "",
    .cost_model = cost_model,
    .compile = compile,
    .release = release,
    .bind_weights = bind_weights,
    .run = run,
};
