#pragma once
// The communicator of the test process: MPI under mpirun (any number of ranks), a
// world of one otherwise. Distributed tests (named Dist*) compare what the world
// computes with a single-process reference computed in the same test.
#include "dist/communicator.h"

namespace spn::testing {

Communicator& world();

}  // namespace spn::testing
