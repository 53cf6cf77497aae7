#pragma once
// For tests that run an operation on CPU and on CUDA and compare (named Cuda* or
// DistCuda*): the NCCL communicator of this rank, when every rank has a GPU of its own.
// Without one they skip, on every rank together.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <exception>
#include <memory>

#include "dist/message_chunks.h"
#include "dist/nccl_communicator.h"
#include "test_world.h"

namespace spn::testing {

inline int gpus_here() {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (const std::exception&) {
    return 0;  // no driver: CUDA's error, not a count
  }
}

// The GPU of this rank: the one of its local rank.
inline c10::Device gpu_of(const Communicator& comm) {
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(comm.local_rank()));
}

// The NCCL communicator of this rank, or null when some rank has no GPU of its own (a
// collective decision: ranks that skipped alone would leave the others waiting).
inline std::unique_ptr<Communicator> nccl_world() {
  Communicator& host = world();
  const bool has_gpu = nccl_built_in() && host.local_rank() < gpus_here();
  for (int64_t flag : host.all_gather_int(has_gpu ? 1 : 0))
    if (flag == 0) return nullptr;
  return make_nccl_communicator(make_mpi_communicator(kMaxMessageBytes), gpu_of(host));
}

}  // namespace spn::testing

#define NCCL_WORLD_OR_SKIP(name)                                   \
  std::unique_ptr<Communicator> name = spn::testing::nccl_world(); \
  if (!name) GTEST_SKIP() << "needs one GPU per rank and a build with NCCL"
