/* target.c — the table of targets and what every target shares. */
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const fab_target fab_target_interp, fab_target_cpu, fab_target_fpga;

/* One row per target; the first is the default of `fabc run`. */
static const fab_target *const targets[] = {&fab_target_interp, &fab_target_cpu, &fab_target_fpga};
enum { NTARGETS = sizeof targets / sizeof targets[0] };

const fab_target *fab_target_find(const char *name) {
  for (int i = 0; name && i < NTARGETS; i++)
    if (strcmp(targets[i]->name, name) == 0) return targets[i];
  return NULL;
}

int fab_target_count(void) { return NTARGETS; }
const fab_target *fab_target_get(int i) { return i >= 0 && i < NTARGETS ? targets[i] : NULL; }

void fab_target_names(char *buf, size_t len) {
  size_t k = 0;
  if (len) buf[0] = 0;
  for (int i = 0; i < NTARGETS && k < len; i++)
    k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "", targets[i]->name);
}

bool fab_target_builds(const fab_target *t, const char *kind) {
  size_t n = kind ? strlen(kind) : 0;
  for (const char *p = t->build_kinds; p && *p && n;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, kind, n) == 0) return true;
    p += len + (e ? 1 : 0);
  }
  return false;
}

void *fab_target_calloc(size_t size, fab_diag *d) {
  void *p = calloc(1, size);
  if (!p) fab_error(d, (fab_loc){0}, "out of memory");
  return p;
}

bool fab_target_lower(const fab_target *t, const fab_target_config *cfg, fab_module *m, const char *pipeline,
                      const fab_pass_options *opts, fab_diag *d) {
  fab_target_info cost;
  if (!t->cost_model(cfg, &cost, d)) return false;
  fab_pass_options po = opts ? *opts : (fab_pass_options){0};
  po.target = &cost;
  return fab_run_pipeline(m, pipeline ? pipeline : t->pipeline, &po, d) && fab_verify(m, d);
}
