/* fab_weight_map.h — loading weights whose names or shapes differ from the
 * model's: a state_dict saved by PyTorch (Hugging Face-style prefixes,
 * buffers, a positional table stored [1, S, d]).
 *
 * A weight map holds three things, all optional:
 *   - rename rules FROM -> TO on name prefixes.  Each tensor name of the
 *     file gets at most one rule: the one with the longest FROM that is a
 *     prefix of the name (so rules never chain and their order does not
 *     matter).  FROM may be empty (adds TO in front of every name), TO may
 *     be empty (strips FROM).  Prefixes are plain text: "model." strips
 *     the dot too, "model" does not.
 *   - reshapes: model parameters (named as in the model, i.e. after
 *     renaming) that the file may store with extra leading axes of size 1
 *     ([1, S, d] for [S, d]).  No other reshape is ever done.
 *   - allow_unused: entries of the file that no parameter uses (buffers
 *     such as position_ids or num_batches_tracked, extra heads) are
 *     dropped instead of being errors.
 * Everything else is still an error: a missing parameter (with the
 * closest names present in the file suggested), a shape that differs in
 * any other way, two file entries renamed to the same name.
 *
 * The JSON form (fab_wmap_load_json), every key optional, no other keys:
 *   {"rename": {"model.encoder.": "", "attention.": "attn."},
 *    "reshape": ["pos.weight"]            (or {"pos.weight": [32, 64]}:
 *                                          the model's shape, checked),
 *    "allow_unused": true}
 *
 * Part of the runtime (C library and jansson only).  Errors follow
 * fab_tensor.h: a fab_status and a one-line message in err.
 */
#ifndef FAB_WEIGHT_MAP_H
#define FAB_WEIGHT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fab_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fab_weight_map fab_weight_map;

fab_weight_map *fab_wmap_new(void);
void fab_wmap_free(fab_weight_map *map);

/* Adds a rename rule.  Two rules with the same FROM and different TO, or
 * a rule with FROM equal to TO, are FAB_E_ARG. */
fab_status fab_wmap_add_rename(fab_weight_map *map, const char *from, const char *to, char *err,
                               size_t errlen);
/* The same from "FROM=TO" (the --rename syntax: split at the first '='). */
fab_status fab_wmap_add_rename_rule(fab_weight_map *map, const char *rule, char *err,
                                    size_t errlen);
/* Allows parameter `name` to be stored with extra leading axes of size 1.
 * rank < 0: to whatever shape the model declares; else the model's shape
 * must be dims[0..rank) (checked when the map is applied). */
fab_status fab_wmap_add_reshape(fab_weight_map *map, const char *name, int rank,
                                const int64_t *dims, char *err, size_t errlen);
void fab_wmap_set_allow_unused(fab_weight_map *map, bool allow);
bool fab_wmap_allows_unused(const fab_weight_map *map);

/* Adds the rules of a JSON map (schema above) to `map`.  Malformed JSON,
 * unknown keys and bad values are errors naming the file (and line and
 * column for syntax errors); `map` may then hold part of the file. */
fab_status fab_wmap_load_json(fab_weight_map *map, const char *path, char *err, size_t errlen);
fab_status fab_wmap_parse_json(fab_weight_map *map, const char *text, size_t len,
                               const char *what, char *err, size_t errlen);

/* The name a file entry gets under the rename rules, written into buf
 * (NULL map: the name itself).  Returns buf, or NULL if it does not fit. */
const char *fab_wmap_rename(const fab_weight_map *map, const char *name, char *buf, size_t n);

/* What a model wants: one entry per parameter. */
typedef struct fab_wmap_param {
  const char *name;
  int rank;
  const int64_t *dims;
} fab_wmap_param;

/* Called once per problem found by resolve/apply: `param` is the index of
 * the parameter concerned, or -1 (a rule, an unused entry). */
typedef void (*fab_wmap_report_fn)(void *ctx, int param, fab_status st, const char *msg);

/* Entries no parameter uses are not errors even without allow_unused
 * (the runtime's plain binding, which has always ignored them). */
#define FAB_WMAP_UNUSED_OK 1u

/* Finds, for every parameter, the entry of `set` that supplies it under
 * `map` (NULL: none): found[i] is its index in set->items, or -1.
 * Checks every rule against the set and the parameters: renamed names
 * unique, reshapes only for parameters and only dropping leading 1-axes,
 * every parameter present with its shape (modulo a stated reshape), no
 * unused entries unless allowed.  Reports every problem to `report` (if
 * not NULL; at most a few dozen unused entries are reported one by one)
 * and returns the status of the first one, its message in err.  Cost: a
 * hash table over the names; closest-name suggestions (edit distance) are
 * computed only for the first few missing parameters. */
fab_status fab_wmap_resolve(const fab_weight_map *map, const fab_tensor_set *set,
                            const fab_wmap_param *params, int nparams, unsigned flags, int *found,
                            fab_wmap_report_fn report, void *ctx, char *err, size_t errlen);

/* fab_wmap_resolve, then, only if there was no problem, rewrites `set` in
 * place: entries renamed, stated reshapes applied (the data is
 * unchanged), unused entries dropped when the map allows them.  On error
 * the set is unchanged.  `found` (may be NULL) receives the entries'
 * indices as for resolve, in the set as it is on return. */
fab_status fab_wmap_apply(const fab_weight_map *map, fab_tensor_set *set,
                          const fab_wmap_param *params, int nparams, unsigned flags, int *found,
                          fab_wmap_report_fn report, void *ctx, char *err, size_t errlen);

/* Up to `max` names of `set` closest to `name` (edit distance, or `name`
 * under a dotted prefix), best first, formatted as "'a', 'b' or 'c'" into
 * buf; returns how many were found (0: buf is ""). */
int fab_wmap_suggest(const fab_tensor_set *set, const char *name, int max, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* FAB_WEIGHT_MAP_H */
