#pragma once
// The communicator of a CUDA run. Tensor collectives on CUDA tensors go through NCCL on
// the current CUDA stream (so they order with the kernels around them and the host
// does not wait); everything else goes through the host communicator it wraps (MPI):
// CPU tensors, barriers, integers, strings, abort and rank-0 decisions.
//
// NCCL is bootstrapped over the host communicator: rank 0 makes an ncclUniqueId and
// broadcasts its bytes, and every rank joins with the GPU of its local rank. NCCL counts
// are size_t, so messages of more than INT_MAX elements need no splitting. Rows that
// differ between ranks (all_gather, reduce_scatter) go as one group of per-rank
// broadcasts or reductions, which NCCL runs as one collective.
#include <c10/core/Device.h>

#include <memory>

#include "dist/communicator.h"

namespace spn {

// Whether this build links NCCL (a torch with CUDA and the wheel's NCCL were found).
bool nccl_built_in();

// `host` with NCCL for the CUDA tensors of `device` (cuda:<local rank>), which becomes
// the process's current CUDA device. A collective over the host communicator: every
// rank calls it. Throws std::runtime_error naming
// NCCL's error when NCCL cannot start, and when the build has no NCCL.
std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host, c10::Device device);

}  // namespace spn
