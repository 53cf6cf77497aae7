// The NCCL communicator against the host (MPI) one: the same collectives on the same
// values, once on CPU tensors through MPI and once on CUDA tensors through NCCL, for
// even and uneven rows (ranks with none included) and for 16-bit and integer types.
// Every rank must have a GPU of its own (one rank per GPU); the tests skip, on every
// rank together, when one does not. Run under mpirun like the other Dist tests.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "cuda_world.h"

namespace spn {
namespace {

using testing::gpu_of;
using testing::world;

// Rank r's rows: (r + 1) % 3 rows of width 5, with values that depend on r, or 2 rows
// on every rank for the even case.
at::Tensor rows_of(int rank, bool even, at::ScalarType type) {
  const int64_t n = even ? 2 : (rank + 1) % 3;
  return (at::arange(n * 5, at::kDouble).reshape({n, 5}) * 0.25 + rank).to(type);
}

void expect_same(const at::Tensor& cuda, const at::Tensor& cpu, const std::string& what) {
  ASSERT_EQ(cuda.sizes(), cpu.sizes()) << what;
  EXPECT_TRUE(at::equal(cuda.cpu(), cpu)) << what;
}

TEST(DistCudaCollectives, AllReduceAndBroadcastMatchTheHostCommunicator) {
  NCCL_WORLD_OR_SKIP(nccl);
  Communicator& host = world();
  for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kLong})
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Max}) {
      at::Tensor on_host = rows_of(host.rank(), true, type).contiguous();
      at::Tensor on_gpu = on_host.to(gpu_of(host));
      host.all_reduce(on_host, op);
      nccl->all_reduce(on_gpu, op);
      expect_same(on_gpu, on_host, std::string("all_reduce ") + at::toString(type));
    }
  at::Tensor on_host = rows_of(host.rank(), true, at::kFloat).contiguous();
  at::Tensor on_gpu = on_host.to(gpu_of(host));
  const int root = host.size() - 1;
  host.broadcast(on_host, root);
  nccl->broadcast(on_gpu, root);
  expect_same(on_gpu, on_host, "broadcast");
}

TEST(DistCudaCollectives, AllGatherAndReduceScatterWithUnevenRows) {
  NCCL_WORLD_OR_SKIP(nccl);
  Communicator& host = world();
  for (bool even : {true, false})
    for (at::ScalarType type : {at::kFloat, at::kHalf}) {
      const std::string label = std::string(even ? "even " : "uneven ") + at::toString(type);
      const at::Tensor mine = rows_of(host.rank(), even, type).contiguous();
      expect_same(nccl->all_gather(mine.to(gpu_of(host))), host.all_gather(mine), "all_gather " + label);

      const at::Tensor whole = host.all_gather(mine);  // the same on every rank, then scaled by rank
      const at::Tensor input = (whole.to(at::kFloat) * (host.rank() + 1)).to(type).contiguous();
      const std::vector<int64_t> rows = host.all_gather_int(mine.size(0));
      expect_same(nccl->reduce_scatter(input.to(gpu_of(host)), rows), host.reduce_scatter(input, rows),
                  "reduce_scatter " + label);
    }
}

TEST(DistCudaCollectives, HostTensorsStillGoThroughTheHostCommunicator) {
  NCCL_WORLD_OR_SKIP(nccl);
  at::Tensor value = at::full({3}, static_cast<double>(world().rank()), at::kDouble);
  nccl->all_reduce(value, ReduceOp::Max);
  EXPECT_TRUE(at::equal(value, at::full({3}, static_cast<double>(world().size() - 1), at::kDouble)));
  EXPECT_NE(nccl->library_version().find("NCCL 2."), std::string::npos) << nccl->library_version();
}

}  // namespace
}  // namespace spn
