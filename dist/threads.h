#pragma once
#include "dist/communicator.h"

namespace spn {

// Sets torch's intra-op threads for this rank: `requested`, or when 0, the cores of
// this node divided by the ranks on it (at least 1). Warns when the rank may use fewer
// cores than threads (e.g. mpirun's default binding of a rank to one core).
int configure_threads(const Communicator& comm, int64_t requested);

}  // namespace spn
