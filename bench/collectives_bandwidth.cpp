// All-gather and all-reduce bandwidth through spn's communicator: MPI on host memory, or
// with --device cuda NCCL on each rank's GPU (the stage-1 negatives' all-gather and the
// gradient all-reduce). For each message size, the time per collective and its bus
// bandwidth as nccl-tests defines it (the bytes each rank's link must carry:
// all-gather S/t * (W-1)/W, all-reduce 2 * S/t * (W-1)/W, S the whole result's bytes),
// next to a same-size copy in this rank's memory measured in the same run (read plus
// written bytes per second). On one rank the bus carries nothing: bus bandwidth 0.
// One JSON line per collective and size.
//
//   mpirun -np W spn-bench-collectives [--device cpu|cuda] [--sizes 1048576,16777216,268435456] [--repeats 10]
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "dist/communicator.h"
#include "dist/nccl_communicator.h"

int main(int argc, char** argv) {
  using namespace spn::bench;
  bool cuda = false;
  std::vector<int64_t> sizes = {1 << 20, 16 << 20, 256 << 20};  // bytes of the whole result
  int64_t repeats = 10;
  parse_flags(argc, argv, "[--device cpu|cuda] [--sizes BYTES,...] [--repeats 10]",
              {{"--device", [&](const std::string& v) { cuda = read_cuda_device(v); }},
               {"--sizes", [&](const std::string& v) { sizes = read_counts(v); }},
               {"--repeats", [&](const std::string& v) { repeats = read_count(v); }}});
  std::unique_ptr<spn::Communicator> comm = spn::make_world_communicator(&argc, &argv);
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(comm->local_rank()))
                                    : torch::Device(torch::kCPU);
  use_cores_per_rank(*comm);
  if (device.is_cuda()) comm = spn::make_nccl_communicator(std::move(comm), device);
  const DeviceMeter meter(device);
  const double world = comm->size(), links = (world - 1) / world;
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);

  for (int64_t bytes : sizes) {
    const int64_t elements = bytes / 4, rows = elements / comm->size();
    const torch::Tensor local = torch::randn({rows, 1}, options);
    torch::Tensor summed = torch::randn({elements}, options);
    const torch::Tensor source = torch::randn({elements}, options);
    torch::Tensor copy = torch::empty_like(source);
    const double copy_s = time_per_call([&] { copy.copy_(source); }, repeats, meter.wait);
    const double gather_s = time_per_call([&] { comm->all_gather(local); }, repeats, meter.wait);
    const double reduce_s = time_per_call([&] { comm->all_reduce(summed, spn::ReduceOp::Sum); }, repeats, meter.wait);
    const double copy_gbps = 2.0 * bytes / copy_s / 1e9;
    for (const auto& [name, seconds, factor] :
         {std::tuple{"all_gather", gather_s, links}, std::tuple{"all_reduce", reduce_s, 2 * links}}) {
      const nlohmann::json line = {{"bench", "collective_bandwidth"},
                                   {"collective", name},
                                   {"backend", comm->backend()},
                                   {"library", comm->library_version()},
                                   {"device", device.str()},
                                   {"ranks", comm->size()},
                                   {"bytes", bytes},
                                   {"seconds", seconds},
                                   {"bus_gbps", factor * bytes / seconds / 1e9},
                                   {"local_copy_gbps", copy_gbps}};
      if (comm->rank() == 0) std::cout << line.dump() << std::endl;
    }
  }
  spn::finalize_communication();
  return 0;
}
