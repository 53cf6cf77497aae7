#pragma once
// Where a rank computes: the `device` key resolved on this machine. Each rank takes the
// GPU of its local rank, so the ranks on a node share its GPUs one each.
#include <c10/core/Device.h>

#include "config/experiment_config.h"
#include "dist/communicator.h"

namespace spn {

// cpu, or cuda:<local rank> for "cuda" and for "auto" when torch can use a GPU here. A
// UserError naming the key when "cuda" is asked for and no GPU is usable, or when this
// host runs more ranks than it has GPUs.
c10::Device resolve_device(const ExperimentConfig& config, const Communicator& comm);

// A UserError naming the key when `device` is a GPU and this spn was built without
// NCCL (its torch has no CUDA), which CUDA tensors' collectives need.
void check_collectives_serve(const c10::Device& device, const ExperimentConfig& config);

}  // namespace spn
