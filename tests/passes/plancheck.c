/* plancheck.c — see plancheck.h.  Written from the definition, not from
 * memplan.c: liveness is recomputed here, and overlap is checked for every
 * pair of values (quadratic, fine for test models). */
#include "plancheck.h"

#include <stdio.h>
#include <stdlib.h>

static bool is_planned(const fab_op *op) {
  return !(fab_opinfos[op->code].flags & (FAB_OPF_SOURCE | FAB_OPF_NORESULT));
}

bool plan_check(const fab_module *m, char *why, size_t n) {
  for (int fi = 0; fi < m->nfuncs; fi++) {
    const fab_func *f = m->funcs[fi];
    int nops = f->nops;
    int *last = calloc((size_t)nops + 1, sizeof *last);
    if (!last) return false;
    for (int i = 0; i < nops; i++) last[i] = i;
    for (int i = 0; i < nops; i++)
      for (int k = 0; k < f->ops[i].noperands; k++) {
        int o = f->ops[i].operands[k];
        int end = f->ops[i].code == FAB_OP_OUTPUT ? nops : i;
        if (end > last[o]) last[o] = end;
      }
    bool ok = true;
    for (int i = 0; i < nops && ok; i++) {
      const fab_op *a = &f->ops[i];
      if (!is_planned(a)) continue;
      const fab_attr *ao = fab_op_attr(a, "plan.offset"), *as = fab_op_attr(a, "plan.size");
      if (!ao || !as) {
        snprintf(why, n, "%%%d (%s) has no plan", i, fab_opinfos[a->code].name);
        ok = false;
        break;
      }
      int64_t need = fab_type_numel(&a->type) * (a->type.dtype == FAB_C64 ? 8 : 4);
      if (as->i < need || ao->i < 0) {
        snprintf(why, n, "%%%d: plan.size %lld < %lld bytes", i, (long long)as->i, (long long)need);
        ok = false;
        break;
      }
      for (int j = i + 1; j < nops && ok; j++) {
        const fab_op *b = &f->ops[j];
        if (!is_planned(b) || last[i] < j) continue; /* a dead before b is written */
        const fab_attr *bo = fab_op_attr(b, "plan.offset"), *bs = fab_op_attr(b, "plan.size");
        if (!bo || !bs) continue; /* reported when j's turn comes */
        bool overlap = ao->i < bo->i + bs->i && bo->i < ao->i + as->i;
        if (!overlap) continue;
        /* Allowed: b is computed in place over a, and a dies at b. */
        int64_t k = fab_op_int(b, "plan.inplace", -1);
        if (k >= 0 && k < b->noperands && b->operands[k] == i && last[i] == j) continue;
        snprintf(why, n, "%%%d [%lld,+%lld) and %%%d [%lld,+%lld) overlap while both live", i,
                 (long long)ao->i, (long long)as->i, j, (long long)bo->i, (long long)bs->i);
        ok = false;
      }
    }
    free(last);
    if (!ok) return false;
  }
  return true;
}
