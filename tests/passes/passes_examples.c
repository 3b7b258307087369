/* passes_examples.c — the cpu and fpga pipelines on the example models.
 *
 *   passes-examples [--interp] FILE.fab...
 *
 * Compiles each model with the front end, runs each target's default
 * pipeline with verify_each, checks the memory plan with the independent
 * checker and prints one markdown table row per model and target:
 *   | model | target | ops before | ops after | planned peak | unplanned sum | ratio |
 * With --interp, also checks that the interpreter's outputs agree before
 * and after (for small models).  Exit status 1 on any failure. */
#include <stdio.h>
#include <string.h>

#include "fixed_targets.h"
#include "target.h"
#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "plancheck.h"
#if defined(HAVE_INTERP)
#include <math.h>

#include "interp.h"

static bool same_outputs(fab_module *a, fab_module *b, fab_diag *d) {
  fab_tensor_set *w = fab_tset_new(), *in = fab_tset_new(), *o1 = fab_tset_new(), *o2 = fab_tset_new();
  bool ok = fab_bind_init_weights(a, 3, w, d) && fab_bind_init_inputs(a, 4, in, d) &&
            fab_interp_run(a, w, in, o1, d) && fab_interp_run(b, w, in, o2, d) &&
            o1->count == o2->count;
  for (int t = 0; ok && t < o1->count; t++) {
    fab_tensor *x = &o1->items[t], *y = fab_tset_find(o2, x->name);
    ok = y && fab_tensor_numel(x) == fab_tensor_numel(y);
    for (int64_t i = 0; ok && i < fab_tensor_numel(x); i++) {
      double u = ((float *)x->data)[i], v = ((float *)y->data)[i];
      if (fabs(u - v) > 1e-5 * (fabs(u) + 1e-3)) {
        fprintf(stderr, "output %s[%lld]: %g vs %g\n", x->name, (long long)i, u, v);
        ok = false;
      }
    }
  }
  fab_tset_free(w), fab_tset_free(in), fab_tset_free(o1), fab_tset_free(o2);
  return ok;
}
#endif

int main(int argc, char **argv) {
  bool interp = false;
  int failures = 0;
  printf("| model | target | ops before | ops after | planned peak (bytes) | unplanned sum (bytes) | planned / unplanned |\n");
  printf("|---|---|---|---|---|---|---|\n");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--interp") == 0) {
      interp = true;
      continue;
    }
    const char *targets[] = {"cpu", "fpga"};
    for (int t = 0; t < 2; t++) {
      fab_diag *d = fab_diag_new();
      fab_module *m = fab_frontend_compile_file(argv[i], NULL, d);
      fab_module *ref = interp ? fab_frontend_compile_file(argv[i], NULL, d) : NULL;
      if (!m) {
        fab_diag_print(d, stderr);
        fab_diag_free(d);
        failures++;
        break;
      }
      int before = fab_module_main(m)->nops;
      fab_pass_options opt = {.target = fixed_target(targets[t]), .verify_each = true};
      bool ok = fab_run_pipeline(m, fab_target_find(targets[t])->pipeline, &opt, d);
      char why[256] = "";
      int64_t planned = 0, unplanned = 0;
      /* fpga: fpga-alloc's plan of the whole off-chip memory (weights and
       * inputs too), checked by the code generator's check */
      bool fpga = t == 1;
      if (ok) ok = (fpga ? fab_fpga_plan_check(fab_module_main(m), d) : plan_check(m, why, sizeof why)) &&
                   fab_memplan_stats(m, &planned, &unplanned) && planned <= unplanned;
#if defined(HAVE_INTERP)
      if (ok && ref) ok = same_outputs(ref, m, d);
#endif
      if (!ok) {
        fprintf(stderr, "%s (%s): FAILED %s\n", argv[i], targets[t], why);
        fab_diag_print(d, stderr);
        failures++;
      }
      const char *base = strrchr(argv[i], '/');
      printf("| %s | %s | %d | %d | %lld | %lld | %.3f |\n", base ? base + 1 : argv[i], targets[t],
             before, fab_module_main(m)->nops, (long long)planned, (long long)unplanned,
             unplanned ? (double)planned / (double)unplanned : 0.0);
      fab_module_free(m);
      fab_module_free(ref);
      fab_diag_free(d);
    }
  }
  (void)interp;
  return failures ? 1 : 0;
}
