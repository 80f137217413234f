#include "apps/meta_mpi.h"

#include <stdexcept>

#include "apps/sweep.h"

#ifdef COHORT_WITH_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace cohort {

bool MetaMpiBegin(Distribution& dist) {
  if (!UnderMpirun()) return false;
#ifdef COHORT_WITH_MPI
  MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &dist.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &dist.size);
  dist.sum = [](std::vector<double>& v) {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  };
  return true;
#else
  throw std::runtime_error(
      "cohort was built without MPI, so under mpirun every rank would run the whole population; "
      "install libopenmpi-dev and rebuild, or run without mpirun");
#endif
}

void MetaMpiEnd() {
#ifdef COHORT_WITH_MPI
  MPI_Finalize();
#endif
}

}  // namespace cohort
