#include "dist/device.h"

#include <torch/cuda.h>

#include <exception>
#include <string>

#include "core/error.h"
#include "dist/nccl_communicator.h"

namespace spn {
namespace {

// The GPUs torch can use here; 0 with the reason in `why` when there are none. Any
// error counts as none: without a GPU the CUDA runtime may report "driver version is
// insufficient" rather than "no device".
int usable_gpus(std::string& why) {
  try {
    const int count = static_cast<int>(torch::cuda::device_count());
    if (count == 0) why = "torch finds no usable CUDA device (no GPU, no driver, or a driver too old for its CUDA)";
    return count;
  } catch (const std::exception& error) {
    why = std::string("CUDA is not usable here: ") + error.what();
    return 0;
  }
}

}  // namespace

c10::Device resolve_device(const ExperimentConfig& config, const Communicator& comm) {
  if (config.device == DeviceKind::Cpu) return c10::Device(c10::DeviceType::CPU);
  std::string why;
  const int gpus = usable_gpus(why);
  if (gpus == 0) {
    if (config.device == DeviceKind::Auto) return c10::Device(c10::DeviceType::CPU);
    throw UserError(config.where("device") + ": \"cuda\" needs a GPU, but " + why +
                    "; set device = \"cpu\" or \"auto\"");
  }
  if (comm.local_rank() >= gpus)
    throw UserError(config.where("device") + ": \"" + choice_name(config.device) +
                    "\" gives each rank the GPU of its " + "local rank, but this host runs " +
                    std::to_string(comm.local_size()) + " ranks and has " + std::to_string(gpus) +
                    " GPU(s); start at most one rank per GPU");
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(comm.local_rank()));
}

void check_collectives_serve(const c10::Device& device, const ExperimentConfig& config) {
  if (device.is_cpu() || nccl_built_in()) return;
  throw UserError(config.where("device") + ": \"" + choice_name(config.device) + "\" chose " + device.str() +
                  ", but this spn was built without NCCL, which CUDA tensors' collectives need; rebuild it against a "
                  "CUDA build of torch, or set device = \"cpu\"");
}

}  // namespace spn
