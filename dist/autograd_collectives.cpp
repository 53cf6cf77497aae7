#include "dist/autograd_collectives.h"

#include <torch/torch.h>

namespace spn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct AllGatherWithGrad : public torch::autograd::Function<AllGatherWithGrad> {
  // The communicator travels as an integer because saved_data holds IValues only; it
  // outlives the graph (it lives for the whole process).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& local, int64_t comm_address) {
    auto* comm = reinterpret_cast<Communicator*>(comm_address);
    ctx->saved_data["comm"] = comm_address;
    ctx->saved_data["rows"] = comm->all_gather_int(local.size(0));
    return comm->all_gather(local.contiguous());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto* comm = reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
    const std::vector<int64_t> rows = ctx->saved_data["rows"].toIntVector();
    return {comm->reduce_scatter(grad_outputs[0].contiguous(), rows), torch::Tensor()};
  }
};

}  // namespace

at::Tensor all_gather_with_grad(Communicator& comm, const at::Tensor& local) {
  return AllGatherWithGrad::apply(local, reinterpret_cast<int64_t>(&comm));
}

}  // namespace spn
