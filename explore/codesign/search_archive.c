/* search_archive.c — dominance over the objectives a front selects, and
 * the Pareto archive of everything a search has seen (the REINFORCE
 * reward: +1 when a pair enters it). */
#include <stdlib.h>

#include "search_internal.h"

bool cd_feasible(const fab_cd_space *s, const fab_cd_result *r) { return r->ok && (!s->require_fit || r->fits); }

bool cd_dominates(unsigned front, const fab_cd_result *a, const fab_cd_result *b) {
  bool acc = front & FAB_CD_OBJ_ACCURACY, lat = front & FAB_CD_OBJ_LATENCY, area = front & FAB_CD_OBJ_AREA;
  bool no_worse = (!acc || a->accuracy >= b->accuracy) && (!lat || a->latency_ms <= b->latency_ms) &&
                  (!area || a->area <= b->area);
  bool better = (acc && a->accuracy > b->accuracy) || (lat && a->latency_ms < b->latency_ms) ||
                (area && a->area < b->area);
  return no_worse && better;
}

static bool same_objectives(unsigned front, const fab_cd_result *a, const fab_cd_result *b) {
  return (!(front & FAB_CD_OBJ_ACCURACY) || a->accuracy == b->accuracy) &&
         (!(front & FAB_CD_OBJ_LATENCY) || a->latency_ms == b->latency_ms) &&
         (!(front & FAB_CD_OBJ_AREA) || a->area == b->area);
}

bool cd_archive_add(cd_archive *a, const fab_cd_result *res, int64_t i) {
  const fab_cd_result *r = &res[i];
  if (!cd_feasible(a->s, r)) return false;
  for (int k = 0; k < a->n; k++) {
    const fab_cd_result *q = &res[a->idx[k]];
    if (cd_dominates(a->front, q, r) || same_objectives(a->front, q, r)) return false;
  }
  int m = 0;
  for (int k = 0; k < a->n; k++)
    if (!cd_dominates(a->front, r, &res[a->idx[k]])) a->idx[m++] = a->idx[k];
  a->n = m;
  if (a->n == a->cap) {
    int nc = a->cap ? 2 * a->cap : 256;
    int64_t *ni = realloc(a->idx, sizeof(int64_t) * (size_t)nc);
    if (!ni) return false;
    a->idx = ni, a->cap = nc;
  }
  a->idx[a->n++] = i;
  return true;
}

void cd_archive_free(cd_archive *a) {
  free(a->idx);
  a->idx = NULL;
  a->n = a->cap = 0;
}
