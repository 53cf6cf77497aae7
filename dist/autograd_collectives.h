#pragma once
// Collectives that take part in autograd.
#include <ATen/core/Tensor.h>

#include "dist/communicator.h"

namespace spn {

// Concatenates every rank's rows (dim 0) in rank order. The backward pass is
// reduce_scatter(SUM): each rank receives, for its own rows, the sum of the gradients
// every rank computed for them. With each rank's loss = (its rows' loss sum) / global
// batch, this yields exactly the single-process gradient (docs/architecture.md, loss scaling).
at::Tensor all_gather_with_grad(Communicator& comm, const at::Tensor& local);

}  // namespace spn
