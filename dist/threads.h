#pragma once
#include "dist/communicator.h"

namespace spn {

// Sets torch's intra-op threads for this rank: `requested`, or when 0, the cores of
// this node divided by the ranks on it (at least 1). Warns when the rank may use fewer
// cores than threads (e.g. mpirun's default binding of a rank to one core).
int configure_threads(const Communicator& comm, int64_t requested);

// Makes torch run the calling thread's operations on that thread alone, leaving the
// rank's setting (configure_threads) to its other threads: for pools of worker threads
// (the data loader), whose parallelism is the pool.
void use_one_torch_thread_here();

}  // namespace spn
