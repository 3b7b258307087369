/* search_internal.h — the parts of fab_cd_search (search.c), one concept
 * each: a key map (keymap.c), the Pareto archive and dominance
 * (search_archive.c), the resumable evaluation log (search_log.c), the
 * thread pool with MPI sharding (search_pool.c), and the strategies that
 * drive them (search.c: exhaustive, random; search_evolution.c;
 * search_rl.c).  Internal to explore/codesign. */
#ifndef FAB_CD_SEARCH_INTERNAL_H
#define FAB_CD_SEARCH_INTERNAL_H

#include <stdio.h>

#include "fab_out.h"
#include "codesign.h"

/* ---- keymap.c: open-addressing map from keys (>= 0) to indices ---- */
typedef struct cd_keymap {
  int64_t *key, *val, cap, n;
} cd_keymap;
int64_t cd_keymap_find(const cd_keymap *m, int64_t key); /* -1 if absent */
bool cd_keymap_put(cd_keymap *m, int64_t key, int64_t val); /* false: out of memory */
void cd_keymap_free(cd_keymap *m);

/* ---- search_archive.c: dominance over a front's objectives and the
 * Pareto archive of everything seen (the RL reward) ---- */
bool cd_feasible(const fab_cd_space *s, const fab_cd_result *r);
/* Over the objectives `front` selects (an unselected one never decides). */
bool cd_dominates(unsigned front, const fab_cd_result *a, const fab_cd_result *b);
typedef struct cd_archive {
  const fab_cd_space *s;
  unsigned front;
  int64_t *idx; /* indices into the search's results */
  int n, cap;
} cd_archive;
/* Adds res[i]; true if it entered (feasible and not dominated). */
bool cd_archive_add(cd_archive *a, const fab_cd_result *res, int64_t i);
void cd_archive_free(cd_archive *a);

/* ---- search_log.c: the append-only evaluation log ---- */
typedef struct cd_evlog {
  fab_log *logf;         /* open for appending (the writer only; fab_out.h) */
  FILE *f;               /* its stream */
  fab_cd_result *cache;  /* results read back from an earlier run */
  int64_t ncache, cache_cap;
  cd_keymap map;         /* key -> index in cache */
} cd_evlog;
/* Reads back a previous run's log at `path` (a torn last line is
 * ignored; a log of another space or evaluator is an error) and, if
 * `writer`, opens it for appending. */
bool cd_evlog_open(cd_evlog *l, const char *path, const fab_cd_space *s, const fab_cd_evaluator *e,
                   bool writer, fab_diag *d);
const fab_cd_result *cd_evlog_find(const cd_evlog *l, int64_t key); /* NULL if not logged */
void cd_evlog_append(cd_evlog *l, const fab_cd_result *r);
/* False (reported once) when the log could not be written: the search stops. */
bool cd_evlog_flush(cd_evlog *l, fab_diag *d);
/* False after reporting a failed final write (the file and the error). */
bool cd_evlog_close(cd_evlog *l, fab_diag *d);

/* ---- search_pool.c: parallel evaluation, sharded over processes ---- */
typedef struct cd_pool {
  const fab_cd_space *s;
  fab_cd_evaluator *e;
  int threads;
  int shard, nshards;
  bool (*exchange)(fab_cd_result *r, int n, void *user);
  void *exchange_user;
} cd_pool;
/* Evaluates keys[0..n) into out[0..n) (out[i].key = keys[i]): this
 * process's shard on the pool's threads, then the exchange fills in the
 * other shards' results.  False (with a message) if that fails. */
bool cd_pool_run(const cd_pool *p, const int64_t *keys, int n, fab_cd_result *out, fab_diag *d);

/* ---- search.c: the state a strategy drives ---- */
typedef struct cd_search {
  const fab_cd_space *s;
  unsigned front; /* fab_cd_front_of(s): fit and the objectives that count */
  const fab_cd_search_options *o;
  fab_diag *d;
  fab_cd_result *res; /* this run's results, in evaluation order */
  int64_t n, cap, budget;
  cd_keymap map; /* key -> index in res */
  cd_evlog log;
  cd_pool pool;
  cd_archive arch;
  uint64_t rng;
  int64_t next_trace;
  fab_cd_search_result *out;
  bool failed;
} cd_search;

uint64_t cd_rand(uint64_t *s);    /* xorshift64 */
double cd_urand(uint64_t *s);     /* uniform in [0, 1) */
int64_t cd_search_find(const cd_search *st, int64_t key); /* index in res, -1 if not evaluated */
/* Evaluates the keys not seen yet (in order, up to the budget) and
 * returns each requested key's index in res (-1 past the budget) in idx
 * (may be NULL). */
bool cd_search_eval(cd_search *st, const int64_t *keys, int k, int64_t *idx);
bool cd_search_random_point(cd_search *st, fab_cd_point *p); /* a random canonical point */

void cd_run_evolution(cd_search *st);                        /* search_evolution.c */
void cd_run_rl(cd_search *st, fab_cd_strategy form);         /* search_rl.c */

#endif /* FAB_CD_SEARCH_INTERNAL_H */
