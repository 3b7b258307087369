/* cd_support.h — helpers of the exploration subcommands (fabc sample,
 * predictor, codesign): the optional MPI
 * sharding of `fabc codesign --mpi` (cd_support.c). */
#ifndef FAB_CLI_CD_SUPPORT_H
#define FAB_CLI_CD_SUPPORT_H

#include "cli.h"
#include "codesign.h"

/* Whether fabc was built with MPI (Open MPI found, not a sanitizer build). */
bool cd_mpi_built(void);
/* MPI_Init and this process's rank and the number of ranks. */
bool cd_mpi_start(int *rank, int *size);
void cd_mpi_stop(void);
/* fab_cd_search_options.exchange: every rank filled its own results (the
 * rest zero); a sum-allreduce gives every rank all of them. */
bool cd_mpi_exchange(fab_cd_result *r, int n, void *user);

#endif
