// The MPI backend for CPU tensors (OpenMPI). Variable row counts use the "v"
// collectives; row counts are exchanged first with an all-gather of one integer.
//
// Counts are 64-bit up to the MPI call; a message larger than one piece
// (dist/message_chunks.h) is split into several calls. Splitting was chosen over a
// derived "large block" datatype: MPI's predefined reductions (MPI_SUM, MPI_MAX) are not
// defined on derived datatypes, and a message whose length is not a multiple of the
// block would need a second collective for its remainder anyway.
#include <ATen/ATen.h>
#include <mpi.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "dist/communicator.h"
#include "dist/message_chunks.h"

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

void require_cpu_contiguous(const at::Tensor& tensor, const char* what) {
  if (!tensor.is_contiguous() || !tensor.device().is_cpu())
    throw std::invalid_argument(std::string("MPI backend: ") + what + " needs a contiguous CPU tensor");
}

// Waits for `request` polling every `interval`, sleeping in between: a rank's compute
// threads get the core that MPI's blocking calls would poll flat out.
void wait_without_spinning(MPI_Request& request, std::chrono::microseconds interval) {
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  while (!done) {
    std::this_thread::sleep_for(interval);
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

class MpiCommunicator : public Communicator {
 public:
  // Collectives run on `channel`: the world, or a duplicate this object then owns,
  // whose all-reduces wait without spinning (a thread beside the compute threads runs
  // them: dist/gradient_sync.h).
  MpiCommunicator(int64_t max_message_bytes, MPI_Comm channel, bool is_duplicate)
      : max_message_bytes_(max_message_bytes), channel_(channel), is_duplicate_(is_duplicate) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
    MPI_Comm_dup(MPI_COMM_WORLD, &agreement_);
  }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    MPI_Comm_free(&agreement_);
    if (is_duplicate_) MPI_Comm_free(&channel_);
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
    MPI_Ibarrier(channel_, &request);
    wait_without_spinning(request, std::chrono::microseconds(200));
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
    const MPI_Datatype type = mpi_type(tensor.scalar_type());
    auto* data = static_cast<char*>(tensor.data_ptr());
    const int64_t element_size = tensor.element_size();
    for (const MessageChunk& chunk : message_chunks(tensor.numel(), max_elements(element_size)))
      MPI_Bcast(data + chunk.offset * element_size, chunk.count, type, root, channel_);
  }

  void all_reduce(at::Tensor& tensor, ReduceOp op) override {
    require_cpu_contiguous(tensor, "all_reduce");
    const MPI_Op mpi_op = op == ReduceOp::Sum ? MPI_SUM : MPI_MAX;
    if (is_16_bit_float(tensor)) {
      // Widened one piece at a time, so the float32 copy never exceeds one piece.
      at::Tensor flat = tensor.view({-1});
      for (const MessageChunk& chunk : message_chunks(flat.numel(), max_elements(sizeof(float)))) {
        at::Tensor part = flat.narrow(0, chunk.offset, chunk.count);
        at::Tensor wide = part.to(at::kFloat);
        all_reduce_piece(wide.data_ptr(), chunk.count, MPI_FLOAT, mpi_op);
        part.copy_(wide);
      }
      return;
    }
    const MPI_Datatype type = mpi_type(tensor.scalar_type());
    auto* data = static_cast<char*>(tensor.data_ptr());
    const int64_t element_size = tensor.element_size();
    for (const MessageChunk& chunk : message_chunks(tensor.numel(), max_elements(element_size)))
      all_reduce_piece(data + chunk.offset * element_size, chunk.count, type, mpi_op);
  }

  at::Tensor all_gather(const at::Tensor& local) override {
    require_cpu_contiguous(local, "all_gather");
    const std::vector<int64_t> rows = all_gather_int(local.dim() == 0 ? 1 : local.size(0));
    const int64_t per_row = local.dim() == 0 ? 1 : elements_per_row(local);
    std::vector<int64_t> counts(size_);
    int64_t total_rows = 0;
    for (int r = 0; r < size_; ++r) {
      counts[r] = rows[r] * per_row;
      total_rows += rows[r];
    }
    std::vector<int64_t> shape = local.sizes().vec();
    if (shape.empty()) shape.push_back(1);
    shape[0] = total_rows;
    at::Tensor gathered = at::empty(shape, local.options());
    gather_elements(local.data_ptr(), static_cast<char*>(gathered.data_ptr()), counts, mpi_type(local.scalar_type()),
                    local.element_size());
    return gathered;
  }

  at::Tensor reduce_scatter(const at::Tensor& input, const std::vector<int64_t>& rows_per_rank) override {
    require_cpu_contiguous(input, "reduce_scatter");
    if (static_cast<int>(rows_per_rank.size()) != size_)
      throw std::invalid_argument("reduce_scatter: one row count per rank");
    if (is_16_bit_float(input)) return reduce_scatter(input.to(at::kFloat), rows_per_rank).to(input.scalar_type());
    const int64_t per_row = elements_per_row(input);
    const int64_t element_size = input.element_size();
    const int64_t max_count = max_elements(element_size);
    const MPI_Datatype type = mpi_type(input.scalar_type());
    std::vector<int64_t> shape = input.sizes().vec();
    shape[0] = rows_per_rank[rank_];
    at::Tensor output = at::empty(shape, input.options());
    if (input.numel() <= max_count) {  // the usual case: one call, every count fits
      std::vector<int> counts(size_);
      for (int r = 0; r < size_; ++r) counts[r] = static_cast<int>(rows_per_rank[r] * per_row);
      MPI_Reduce_scatter(input.data_ptr(), output.data_ptr(), counts.data(), type, MPI_SUM, channel_);
      return output;
    }
    // Too large for one call, whose displacements are int too: each rank's rows are
    // reduced to it, piece by piece. The bytes moved are those of a reduce-scatter.
    const auto* in = static_cast<const char*>(input.data_ptr());
    auto* out = static_cast<char*>(output.data_ptr());
    int64_t displacement = 0;
    for (int r = 0; r < size_; ++r) {
      const int64_t count = rows_per_rank[r] * per_row;
      for (const MessageChunk& chunk : message_chunks(count, max_count))
        MPI_Reduce(in + (displacement + chunk.offset) * element_size,
                   r == rank_ ? out + chunk.offset * element_size : nullptr, chunk.count, type, MPI_SUM, r, channel_);
      displacement += count;
    }
    return output;
  }

  std::vector<int64_t> all_gather_int(int64_t value) override {
    std::vector<int64_t> values(size_);
    MPI_Allgather(&value, 1, MPI_INT64_T, values.data(), 1, MPI_INT64_T, channel_);
    return values;
  }

  std::vector<std::string> all_gather_string(const std::string& value) override {
    const std::vector<int64_t> lengths = all_gather_int(static_cast<int64_t>(value.size()));
    int64_t total = 0;
    for (int64_t length : lengths) total += length;
    std::string all(total, '\0');
    gather_elements(value.data(), all.data(), lengths, MPI_CHAR, 1);
    std::vector<std::string> out(size_);
    int64_t displacement = 0;
    for (int r = 0; r < size_; ++r) {
      out[r] = all.substr(displacement, lengths[r]);
      displacement += lengths[r];
    }
    return out;
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

  // Two threads may run collectives at once only under MPI_THREAD_MULTIPLE, which
  // make_world_communicator asks for; an MPI that grants less gets no duplicate.
  std::unique_ptr<Communicator> duplicate() override {
    int provided = MPI_THREAD_SINGLE;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_MULTIPLE) return nullptr;
    MPI_Comm copy;
    MPI_Comm_dup(channel_, &copy);
    return std::make_unique<MpiCommunicator>(max_message_bytes_, copy, true);
  }

 private:
  int64_t max_elements(int64_t element_size) const { return max_chunk_elements(max_message_bytes_, element_size); }

  // One all-reduce call, in place. A duplicate's polls every 50 us instead of spinning:
  // its thread shares the rank's cores with backward, which it is meant to overlap.
  void all_reduce_piece(void* data, int count, MPI_Datatype type, MPI_Op op) {
    if (!is_duplicate_) {
      MPI_Allreduce(MPI_IN_PLACE, data, count, type, op, channel_);
      return;
    }
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, data, count, type, op, channel_, &request);
    wait_without_spinning(request, std::chrono::microseconds(50));
  }

  // Rank r's counts[r] elements at `local`, concatenated in rank order into `out` on
  // every rank.
  void gather_elements(const void* local, char* out, const std::vector<int64_t>& counts, MPI_Datatype type,
                       int64_t element_size) {
    const int64_t max_count = max_elements(element_size);
    int64_t total = 0;
    for (int64_t count : counts) total += count;
    if (total <= max_count) {  // the usual case: one call, every count and displacement fits
      std::vector<int> sizes(size_), displacements(size_);
      for (int r = 0, at = 0; r < size_; at += sizes[r], ++r) {
        sizes[r] = static_cast<int>(counts[r]);
        displacements[r] = at;
      }
      MPI_Allgatherv(local, sizes[rank_], type, out, sizes.data(), displacements.data(), type, channel_);
      return;
    }
    // Too large for one call, whose displacements are int too: each rank broadcasts its
    // block into place, piece by piece. Every rank still receives each block once.
    int64_t displacement = 0;
    for (int r = 0; r < size_; ++r) {
      char* block = out + displacement * element_size;
      if (r == rank_ && counts[r] > 0) std::memcpy(block, local, static_cast<size_t>(counts[r] * element_size));
      for (const MessageChunk& chunk : message_chunks(counts[r], max_count))
        MPI_Bcast(block + chunk.offset * element_size, chunk.count, type, r, channel_);
      displacement += counts[r];
    }
  }

  int64_t max_message_bytes_;
  MPI_Comm channel_;  // every collective's
  bool is_duplicate_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm agreement_ = MPI_COMM_NULL;  // barrier_within's own channel
};

}  // namespace

std::unique_ptr<Communicator> make_world_communicator(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // MPI_THREAD_MULTIPLE: gradient buckets are all-reduced by a thread of their own
    // during backward (dist/gradient_sync.h). An MPI that grants less still runs
    // everything else; duplicate() then says so.
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  }
  return std::make_unique<MpiCommunicator>(kMaxMessageBytes, MPI_COMM_WORLD, false);
}

std::unique_ptr<Communicator> make_mpi_communicator(int64_t max_message_bytes) {
  if (max_message_bytes < 1) throw std::invalid_argument("make_mpi_communicator: max_message_bytes must be positive");
  return std::make_unique<MpiCommunicator>(max_message_bytes, MPI_COMM_WORLD, false);
}

void finalize_communication() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
}

}  // namespace spn
