#include "dist/stop_agreement.h"

#include <ATen/ATen.h>

#include "core/stop_signals.h"

namespace spn {

int agreed_stop_signal(Communicator& comm) {
  at::Tensor signal = at::tensor({static_cast<int64_t>(received_stop_signal())}, at::kLong);
  comm.all_reduce(signal, ReduceOp::Max);
  return static_cast<int>(signal.item<int64_t>());
}

}  // namespace spn
