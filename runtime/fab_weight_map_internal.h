/* fab_weight_map_internal.h — the weight map's representation, shared by
 * weight_map.c (building, JSON) and weight_resolve.c (applying it).  Not
 * installed. */
#ifndef FAB_WEIGHT_MAP_INTERNAL_H
#define FAB_WEIGHT_MAP_INTERNAL_H

#include "fab_weight_map.h"

typedef struct wmap_rename {
  char *from, *to;
  size_t from_len;
} wmap_rename;

typedef struct wmap_reshape {
  char *name;
  int rank; /* < 0: the model's shape */
  int64_t dims[FAB_TENSOR_MAX_RANK];
} wmap_reshape;

struct fab_weight_map {
  wmap_rename *renames;
  int nrenames, cap_renames;
  wmap_reshape *reshapes;
  int nreshapes, cap_reshapes;
  bool allow_unused;
};

/* The rule with the longest FROM that prefixes `name`, or NULL. */
const wmap_rename *fab_wmap_rule_for(const fab_weight_map *map, const char *name);

/* Edit distance between a and b if it is at most k, else k + 1. */
int fab_edit_distance_within(const char *a, size_t alen, const char *b, size_t blen, int k);

/* Closest names among count names given by name_at (skipping those for
 * which name_at returns NULL); see fab_wmap_suggest.  best[0] receives
 * the index of the best one (or -1). */
int fab_closest_names(const char *name, const char *(*name_at)(const void *ctx, int i),
                      const void *ctx, int count, int max, char *buf, size_t n, int *best);

#endif /* FAB_WEIGHT_MAP_INTERNAL_H */
