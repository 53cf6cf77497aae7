// The MPI backend for CPU tensors (OpenMPI). Variable row counts use the "v"
// collectives; row counts are exchanged first with an all-gather of one integer.
#include <ATen/ATen.h>
#include <mpi.h>

#include <chrono>
#include <climits>
#include <stdexcept>
#include <thread>

#include "dist/communicator.h"

namespace spn {
namespace {

MPI_Datatype mpi_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kChar: return MPI_INT8_T;
    case at::kHalf:
    case at::kBFloat16: return MPI_UINT16_T;  // raw bits: moved only (reductions widen them first)
    default: throw std::invalid_argument(std::string("MPI backend: unsupported dtype ") + at::toString(type));
  }
}

// MPI has no 16-bit float type: such tensors travel as raw bits, and reductions run in
// float32, rounded back once at the end.
bool is_16_bit_float(const at::Tensor& tensor) {
  return tensor.scalar_type() == at::kHalf || tensor.scalar_type() == at::kBFloat16;
}

int checked_count(int64_t count) {
  if (count > INT_MAX)
    throw std::length_error("MPI backend: message of " + std::to_string(count) + " elements exceeds INT_MAX");
  return static_cast<int>(count);
}

void require_cpu_contiguous(const at::Tensor& tensor, const char* what) {
  if (!tensor.is_contiguous() || !tensor.device().is_cpu())
    throw std::invalid_argument(std::string("MPI backend: ") + what + " needs a contiguous CPU tensor");
}

int64_t elements_per_row(const at::Tensor& tensor) {
  int64_t per_row = 1;
  for (int64_t d = 1; d < tensor.dim(); ++d) per_row *= tensor.size(d);
  return per_row;
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
    MPI_Comm_dup(MPI_COMM_WORLD, &agreement_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  std::string library_version() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, length);
    return text.substr(0, text.find_first_of(",\n"));
  }

  // Waits without spinning: ranks that wait at a barrier usually wait for rank 0 to
  // write something (a dataset, a checkpoint), and a rank busy-polling in MPI_Barrier
  // would take a core from it when ranks share a node's cores.
  void barrier() override {
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    while (!done) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    }
  }

  // On a communicator of its own: a peer stuck in a collective of the world cannot
  // match it by mistake, and a rank that waits in vain gives up.
  bool barrier_within(double seconds) override {
    MPI_Request request;
    MPI_Ibarrier(agreement_, &request);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    }
    return done != 0;  // when not, the job is about to end; the request is left behind
  }

  void broadcast(at::Tensor& tensor, int root) override {
    require_cpu_contiguous(tensor, "broadcast");
    MPI_Bcast(tensor.data_ptr(), checked_count(tensor.numel()), mpi_type(tensor.scalar_type()), root, MPI_COMM_WORLD);
  }

  void all_reduce(at::Tensor& tensor, ReduceOp op) override {
    require_cpu_contiguous(tensor, "all_reduce");
    if (is_16_bit_float(tensor)) {
      at::Tensor wide = tensor.to(at::kFloat);
      all_reduce(wide, op);
      tensor.copy_(wide);
      return;
    }
    MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), checked_count(tensor.numel()), mpi_type(tensor.scalar_type()),
                  op == ReduceOp::Sum ? MPI_SUM : MPI_MAX, MPI_COMM_WORLD);
  }

  at::Tensor all_gather(const at::Tensor& local) override {
    require_cpu_contiguous(local, "all_gather");
    const std::vector<int64_t> rows = all_gather_int(local.dim() == 0 ? 1 : local.size(0));
    const int64_t per_row = local.dim() == 0 ? 1 : elements_per_row(local);
    std::vector<int> counts(size_), displacements(size_);
    int64_t total_rows = 0;
    for (int r = 0; r < size_; ++r) {
      counts[r] = checked_count(rows[r] * per_row);
      displacements[r] = checked_count(total_rows * per_row);
      total_rows += rows[r];
    }
    std::vector<int64_t> shape = local.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] = total_rows;
    at::Tensor gathered = at::empty(shape, local.options());
    const MPI_Datatype type = mpi_type(local.scalar_type());
    MPI_Allgatherv(local.data_ptr(), counts[rank_], type, gathered.data_ptr(), counts.data(), displacements.data(),
                   type, MPI_COMM_WORLD);
    return gathered;
  }

  at::Tensor reduce_scatter(const at::Tensor& input, const std::vector<int64_t>& rows_per_rank) override {
    require_cpu_contiguous(input, "reduce_scatter");
    if (static_cast<int>(rows_per_rank.size()) != size_)
      throw std::invalid_argument("reduce_scatter: one row count per rank");
    if (is_16_bit_float(input)) return reduce_scatter(input.to(at::kFloat), rows_per_rank).to(input.scalar_type());
    const int64_t per_row = elements_per_row(input);
    std::vector<int> counts(size_);
    for (int r = 0; r < size_; ++r) counts[r] = checked_count(rows_per_rank[r] * per_row);
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] = rows_per_rank[rank_];
    at::Tensor output = at::empty(shape, input.options());
    MPI_Reduce_scatter(input.data_ptr(), output.data_ptr(), counts.data(), mpi_type(input.scalar_type()), MPI_SUM,
                       MPI_COMM_WORLD);
    return output;
  }

  std::vector<int64_t> all_gather_int(int64_t value) override {
    std::vector<int64_t> values(size_);
    MPI_Allgather(&value, 1, MPI_INT64_T, values.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
    return values;
  }

  std::vector<std::string> all_gather_string(const std::string& value) override {
    const std::vector<int64_t> lengths = all_gather_int(static_cast<int64_t>(value.size()));
    std::vector<int> counts(size_), displacements(size_);
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      counts[r] = checked_count(lengths[r]);
      displacements[r] = checked_count(total);
      total += lengths[r];
    }
    std::string all(total, '\0');
    MPI_Allgatherv(value.data(), counts[rank_], MPI_CHAR, all.data(), counts.data(), displacements.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    std::vector<std::string> out(size_);
    for (int r = 0; r < size_; ++r) out[r] = all.substr(displacements[r], lengths[r]);
    return out;
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm agreement_ = MPI_COMM_NULL;  // barrier_within's own channel
};

}  // namespace

std::unique_ptr<Communicator> make_world_communicator(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(argc, argv);
  return std::make_unique<MpiCommunicator>();
}

void finalize_communication() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace spn
