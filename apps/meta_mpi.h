// `mpirun -np N cohort meta train FILE`: the ES population's lifetimes are
// spread over the ranks (meta/meta.h, Distribution); only fitness scalars
// travel, through MPI_Allreduce.
#pragma once

#include "meta/meta.h"

namespace cohort {

// Under mpirun: initialises MPI and fills `dist` (rank, size, sum); returns
// true. Not under mpirun: returns false. Under mpirun in a build without MPI:
// throws (every rank would otherwise run the whole population).
bool MetaMpiBegin(Distribution& dist);
void MetaMpiEnd();

}  // namespace cohort
