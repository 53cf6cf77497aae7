#pragma once
// The one interface trainers use to talk to other ranks. Backends: a single-process
// one (LocalCommunicator) and MPI (CPU tensors); an NCCL backend for CUDA tensors
// implements the same interface, so trainers never change.
//
// Tensors must be contiguous. Collectives on tensors with rows (all_gather,
// reduce_scatter) work along dim 0 and allow a different number of rows per rank,
// including zero. Messages may have any number of elements (counts are 64-bit; a
// backend whose library counts in int splits them).
#include <ATen/core/Tensor.h>

#include <filesystem>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace spn {

enum class ReduceOp { Sum, Max };

// The elements of one row (along dim 0) of `tensor`: the product of its other sizes, 1
// for a 0- or 1-dimensional tensor. The backends count uneven rows in these.
inline int64_t elements_per_row(const at::Tensor& tensor) {
  int64_t per_row = 1;
  for (int64_t d = 1; d < tensor.dim(); ++d) per_row *= tensor.size(d);
  return per_row;
}

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Rank and rank count among the processes on this host (for threads and devices).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;
  // The communication library and its version, for run records.
  virtual std::string library_version() const = 0;

  virtual void barrier() = 0;
  // A barrier that gives up after `seconds`; true when every rank arrived. It has a
  // channel of its own, so ranks can agree after an error even when a peer may be
  // stuck in another collective (then it returns false and the job must end).
  virtual bool barrier_within(double seconds) = 0;
  // In place: every rank ends with root's values.
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  // In place, element-wise over ranks.
  virtual void all_reduce(at::Tensor& tensor, ReduceOp op) = 0;
  // Concatenation of every rank's `local` along dim 0, in rank order.
  virtual at::Tensor all_gather(const at::Tensor& local) = 0;
  // Element-wise sum over ranks of `input` (same shape everywhere), of which this rank
  // receives its rows: rows_per_rank[r] rows for rank r, in rank order.
  virtual at::Tensor reduce_scatter(const at::Tensor& input, const std::vector<int64_t>& rows_per_rank) = 0;
  // Every rank's value of `value`, in rank order.
  virtual std::vector<int64_t> all_gather_int(int64_t value) = 0;
  // Every rank's string, in rank order (hostnames, error messages).
  virtual std::vector<std::string> all_gather_string(const std::string& value) = 0;
  // Ends the whole job (all ranks) with `exit_code`; never returns.
  [[noreturn]] virtual void abort(int exit_code) = 0;
  // The same ranks on a channel of their own: its collectives never match this one's,
  // so another thread may run them while this thread runs its own (gradient buckets
  // all-reduced during backward while backward runs collectives). Null when the
  // library cannot run collectives from two threads at once. A collective.
  virtual std::unique_ptr<Communicator> duplicate() = 0;
};

// The communicator for this process: MPI when built with it (a singleton run without
// mpirun is a world of one), else local.
std::unique_ptr<Communicator> make_world_communicator(int* argc, char*** argv);

// The MPI world (MPI initialized already) with messages split into pieces of at most
// `max_message_bytes` instead of the usual 256 MiB: tests cover the splitting with
// small pieces, which costs no memory.
std::unique_ptr<Communicator> make_mpi_communicator(int64_t max_message_bytes);

// A world of one, for single-process references in tests and tools.
std::unique_ptr<Communicator> make_local_communicator();

// Shuts the communication library down cleanly (MPI_Finalize).
void finalize_communication();

// Broadcasts a string from root (configs, run ids).
std::string broadcast_string(Communicator& comm, const std::string& value, int root);

// The text of a file as rank 0 reads it ("" when it does not exist), on every rank.
// Whether a shared record exists must be decided once: a rank that looked a moment
// later could see a file another rank has just written, and take another branch.
std::string broadcast_file_text(Communicator& comm, const std::filesystem::path& path);

// Whether rank 0 sees `path`, on every rank: the one way a shared filesystem fact
// (a completion marker, a bank, a checkpoint) decides a branch.
bool rank0_sees(Communicator& comm, const std::filesystem::path& path);

// Runs `work` on rank 0 alone (taking a lock, making a shared directory). A UserError it
// throws is thrown on every rank with the same message, so all ranks leave together
// instead of waiting for rank 0 in their next collective. A collective.
void run_on_rank0(Communicator& comm, const std::function<void()>& work);

}  // namespace spn
