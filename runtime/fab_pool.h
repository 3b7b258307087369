/* fab_pool.h — the runtime's fixed-size pthread pool (internal). */
#ifndef FAB_POOL_H
#define FAB_POOL_H

#include "fab_runtime.h"

typedef struct fab_pool fab_pool;

/* threads <= 1 gives a pool that runs everything on the caller.  NULL only
 * when out of memory or threads cannot be created. */
fab_pool *fab_pool_new(int threads);
void fab_pool_free(fab_pool *p);
int fab_pool_threads(const fab_pool *p);
/* fab_parallel.parallel_for: hands [0, n) out in chunks to the threads
 * (the caller included) and returns when every chunk is done. */
void fab_pool_parallel_for(void *pool, fab_kernel_fn fn, void **args, int64_t n);

#endif
