#include "dist/nccl_communicator.h"

#include <stdexcept>
#include <string>

#ifdef SPN_WITH_NCCL
#include <ATen/ATen.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>
#include <vector>
#endif

namespace spn {

#ifdef SPN_WITH_NCCL
namespace {

void check(ncclResult_t result, const char* what) {
  if (result != ncclSuccess)
    throw std::runtime_error(std::string("NCCL: ") + what + " failed: " + ncclGetErrorString(result));
}

ncclDataType_t nccl_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kByte: return ncclUint8;
    case at::kChar: return ncclInt8;
    default: throw std::invalid_argument(std::string("NCCL backend: unsupported dtype ") + at::toString(type));
  }
}

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> host, c10::Device device) : host_(std::move(host)), device_(device) {
    if (!device_.is_cuda() || !device_.has_index())
      throw std::invalid_argument("NCCL backend: needs a CUDA device with an index, not " + device_.str());
    // For the process's lifetime: tensors made on "cuda" then land on this rank's GPU.
    c10::cuda::set_device(device_.index());
    at::Tensor id = at::zeros({static_cast<int64_t>(sizeof(ncclUniqueId))}, at::kByte);
    ncclUniqueId unique_id;
    if (host_->rank() == 0) {
      check(ncclGetUniqueId(&unique_id), "ncclGetUniqueId");
      std::memcpy(id.data_ptr(), &unique_id, sizeof unique_id);
    }
    host_->broadcast(id, 0);
    std::memcpy(&unique_id, id.data_ptr(), sizeof unique_id);
    check(ncclCommInitRank(&comm_, host_->size(), unique_id, host_->rank()), "ncclCommInitRank");
  }

  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
  }

  int rank() const override { return host_->rank(); }
  int size() const override { return host_->size(); }
  int local_rank() const override { return host_->local_rank(); }
  int local_size() const override { return host_->local_size(); }
  std::string backend() const override { return "nccl+" + host_->backend(); }
  std::string library_version() const override {
    int version = 0;
    ncclGetVersion(&version);
    // NCCL_VERSION(X, Y, Z) is X*10000 + Y*100 + Z since 2.9.
    return "NCCL " + std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100) + "; " + host_->library_version();
  }

  void barrier() override { host_->barrier(); }
  bool barrier_within(double seconds) override { return host_->barrier_within(seconds); }

  void broadcast(at::Tensor& tensor, int root) override {
    if (!tensor.is_cuda()) return host_->broadcast(tensor, root);
    require_contiguous_here(tensor, "broadcast");
    check(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor.scalar_type()), root,
                        comm_, stream()),
          "ncclBroadcast");
  }

  void all_reduce(at::Tensor& tensor, ReduceOp op) override {
    if (!tensor.is_cuda()) return host_->all_reduce(tensor, op);
    require_contiguous_here(tensor, "all_reduce");
    check(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor.scalar_type()),
                        op == ReduceOp::Sum ? ncclSum : ncclMax, comm_, stream()),
          "ncclAllReduce");
  }

  at::Tensor all_gather(const at::Tensor& local) override {
    if (!local.is_cuda()) return host_->all_gather(local);
    require_contiguous_here(local, "all_gather");
    const std::vector<int64_t> rows = host_->all_gather_int(local.dim() == 0 ? 1 : local.size(0));
    const int64_t per_row = local.dim() == 0 ? 1 : elements_per_row(local);
    int64_t total_rows = 0;
    bool even = true;
    for (int64_t r : rows) {
      total_rows += r;
      even = even && r == rows[0];
    }
    std::vector<int64_t> shape = local.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] = total_rows;
    at::Tensor gathered = at::empty(shape, local.options());
    const ncclDataType_t type = nccl_type(local.scalar_type());
    auto* out = static_cast<char*>(gathered.data_ptr());
    const int64_t row_bytes = per_row * local.element_size();
    if (even) {
      check(ncclAllGather(local.data_ptr(), out, rows[0] * per_row, type, comm_, stream()), "ncclAllGather");
      return gathered;
    }
    // Uneven rows: every rank broadcasts its block into place, all in one group.
    check(ncclGroupStart(), "ncclGroupStart");
    int64_t row = 0;
    for (int r = 0; r < size(); ++r) {
      if (rows[r] > 0)
        check(ncclBroadcast(local.data_ptr(), out + row * row_bytes, rows[r] * per_row, type, r, comm_, stream()),
              "ncclBroadcast");
      row += rows[r];
    }
    check(ncclGroupEnd(), "ncclGroupEnd");
    return gathered;
  }

  at::Tensor reduce_scatter(const at::Tensor& input, const std::vector<int64_t>& rows_per_rank) override {
    if (!input.is_cuda()) return host_->reduce_scatter(input, rows_per_rank);
    require_contiguous_here(input, "reduce_scatter");
    if (static_cast<int>(rows_per_rank.size()) != size())
      throw std::invalid_argument("reduce_scatter: one row count per rank");
    const int64_t per_row = elements_per_row(input);
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] = rows_per_rank[rank()];
    at::Tensor output = at::empty(shape, input.options());
    const ncclDataType_t type = nccl_type(input.scalar_type());
    bool even = true;
    for (int64_t r : rows_per_rank) even = even && r == rows_per_rank[0];
    if (even) {
      check(ncclReduceScatter(input.data_ptr(), output.data_ptr(), rows_per_rank[0] * per_row, type, ncclSum, comm_,
                              stream()),
            "ncclReduceScatter");
      return output;
    }
    // Uneven rows: each rank's rows are reduced to it, all in one group.
    const auto* in = static_cast<const char*>(input.data_ptr());
    const int64_t row_bytes = per_row * input.element_size();
    check(ncclGroupStart(), "ncclGroupStart");
    int64_t row = 0;
    for (int r = 0; r < size(); ++r) {
      if (rows_per_rank[r] > 0)
        check(ncclReduce(in + row * row_bytes, r == rank() ? output.data_ptr() : nullptr, rows_per_rank[r] * per_row,
                         type, ncclSum, r, comm_, stream()),
              "ncclReduce");
      row += rows_per_rank[r];
    }
    check(ncclGroupEnd(), "ncclGroupEnd");
    return output;
  }

  std::vector<int64_t> all_gather_int(int64_t value) override { return host_->all_gather_int(value); }
  std::vector<std::string> all_gather_string(const std::string& value) override {
    return host_->all_gather_string(value);
  }
  // No second channel yet: overlapping a bucket's all-reduce with backward on a GPU
  // needs the hooks' copies ordered with a communication stream (CUDA events), which is
  // not written. Null on every rank, so GPU runs sum the gradients after backward
  // (dist/gradient_sync.h).
  std::unique_ptr<Communicator> duplicate() override { return nullptr; }

  [[noreturn]] void abort(int exit_code) override {
    // MPI_Abort ends every process; NCCL's pending work dies with them.
    host_->abort(exit_code);
    std::_Exit(exit_code);  // not reached: the host's abort does not return
  }

 private:
  void require_contiguous_here(const at::Tensor& tensor, const char* what) const {
    if (!tensor.is_contiguous() || tensor.device() != device_)
      throw std::invalid_argument(std::string("NCCL backend: ") + what + " needs a contiguous tensor on " +
                                  device_.str() + ", not on " + tensor.device().str());
  }
  cudaStream_t stream() const { return c10::cuda::getCurrentCUDAStream(device_.index()).stream(); }

  std::unique_ptr<Communicator> host_;
  c10::Device device_;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_built_in() { return true; }

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host, c10::Device device) {
  return std::make_unique<NcclCommunicator>(std::move(host), device);
}

#else

bool nccl_built_in() { return false; }

std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator>, c10::Device device) {
  throw std::runtime_error("this spn was built without NCCL (its torch has no CUDA), so " + device.str() +
                           " cannot be used; rebuild against a CUDA build of torch");
}

#endif

}  // namespace spn
