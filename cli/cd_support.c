/* cd_support.c — MPI sharding for the
 * exploration subcommands (cd_support.h).  MPI is compiled in only when
 * CMake found it (FAB_CLI_HAVE_MPI); without it --mpi is refused. */
#include <stdlib.h>

#include "cd_support.h"
#include "fab_alloc.h"
#ifdef FAB_CLI_HAVE_MPI
#include <mpi.h>
#endif

#ifdef FAB_CLI_HAVE_MPI
bool cd_mpi_built(void) { return true; }

bool cd_mpi_start(int *rank, int *size) {
  return MPI_Init(NULL, NULL) == MPI_SUCCESS && MPI_Comm_rank(MPI_COMM_WORLD, rank) == MPI_SUCCESS &&
         MPI_Comm_size(MPI_COMM_WORLD, size) == MPI_SUCCESS;
}

void cd_mpi_stop(void) { MPI_Finalize(); }

enum { NFIELDS = 12 }; /* the numbers of a fab_cd_result */

bool cd_mpi_exchange(fab_cd_result *r, int n, void *user) {
  (void)user;
  double *buf = fab_calloc((size_t)n * NFIELDS + 1, sizeof(double));
  if (!buf) return false;
  for (int i = 0; i < n; i++) {
    double *b = buf + (size_t)i * NFIELDS;
    b[0] = (double)r[i].key, b[1] = r[i].ok, b[2] = r[i].accuracy, b[3] = r[i].latency_ms;
    b[4] = r[i].area, b[5] = r[i].dsp, b[6] = r[i].lut, b[7] = r[i].bram, b[8] = r[i].fits;
    b[9] = r[i].perf_per_area, b[10] = r[i].params, b[11] = r[i].macs;
  }
  bool ok = MPI_Allreduce(MPI_IN_PLACE, buf, n * NFIELDS, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS;
  for (int i = 0; i < n && ok; i++) {
    double *b = buf + (size_t)i * NFIELDS;
    r[i].ok = b[1] != 0, r[i].accuracy = b[2], r[i].latency_ms = b[3], r[i].area = b[4];
    r[i].dsp = b[5], r[i].lut = b[6], r[i].bram = b[7], r[i].fits = b[8] != 0;
    r[i].perf_per_area = b[9], r[i].params = b[10], r[i].macs = b[11];
  }
  free(buf);
  return ok;
}
#else
bool cd_mpi_built(void) { return false; }
bool cd_mpi_start(int *rank, int *size) {
  *rank = 0, *size = 1;
  return false;
}
void cd_mpi_stop(void) {}
bool cd_mpi_exchange(fab_cd_result *r, int n, void *user) {
  (void)r, (void)n, (void)user;
  return false;
}
#endif
