#include "dist/gradient_sync.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace spn {

GradientSync::GradientSync(Communicator& comm, std::vector<at::Tensor> parameters, int64_t bucket_bytes)
    : comm_(comm), parameters_(std::move(parameters)) {
  int64_t filled = 0;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const at::Tensor& p = parameters_[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool dtype_changes =
        !buckets_.empty() && parameters_[buckets_.back().front()].scalar_type() != p.scalar_type();
    if (buckets_.empty() || dtype_changes || filled + bytes > bucket_bytes) {
      buckets_.emplace_back();
      filled = 0;
    }
    buckets_.back().push_back(i);
    filled += bytes;
  }
  for (const auto& bucket : buckets_) {
    int64_t numel = 0;
    for (size_t i : bucket) numel += parameters_[i].numel();
    buffers_.push_back(at::empty({numel}, parameters_[bucket.front()].options().requires_grad(false)));
  }
}

void GradientSync::all_reduce() {
  if (comm_.size() == 1) return;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    at::Tensor& buffer = buffers_[b];
    int64_t offset = 0;
    for (size_t i : buckets_[b]) {
      const at::Tensor& p = parameters_[i];
      at::Tensor slot = buffer.narrow(0, offset, p.numel());
      if (p.grad().defined())
        slot.copy_(p.grad().reshape({-1}));
      else
        slot.zero_();
      offset += p.numel();
    }
    comm_.all_reduce(buffer, ReduceOp::Sum);
    offset = 0;
    for (size_t i : buckets_[b]) {
      at::Tensor p = parameters_[i];
      at::Tensor slot = buffer.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(slot);
      else
        p.mutable_grad() = slot.clone();
      offset += p.numel();
    }
  }
}

void broadcast_tensors(Communicator& comm, const std::vector<at::Tensor>& tensors, int root) {
  if (comm.size() == 1) return;
  at::NoGradGuard no_grad;
  for (const at::Tensor& t : tensors) {
    at::Tensor contiguous = t.contiguous();
    comm.broadcast(contiguous, root);
    if (!contiguous.is_same(t)) t.copy_(contiguous);
  }
}

}  // namespace spn
