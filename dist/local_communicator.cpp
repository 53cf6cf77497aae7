// A world of one process: every collective is the identity (on a copy where the MPI
// backend would return a new tensor), so single-process runs and references share the
// trainers' code path.
#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdlib>

#include "core/error.h"
#include "core/files.h"
#include "core/visible_path.h"
#include "dist/communicator.h"

namespace spn {
namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  std::string library_version() const override { return "none"; }
  void barrier() override {}
  bool barrier_within(double) override { return true; }
  void broadcast(at::Tensor&, int) override {}
  void all_reduce(at::Tensor&, ReduceOp) override {}
  at::Tensor all_gather(const at::Tensor& local) override { return local.clone(); }
  at::Tensor reduce_scatter(const at::Tensor& input, const std::vector<int64_t>&) override { return input.clone(); }
  std::vector<int64_t> all_gather_int(int64_t value) override { return {value}; }
  std::vector<std::string> all_gather_string(const std::string& value) override { return {value}; }
  [[noreturn]] void abort(int exit_code) override { std::_Exit(exit_code); }
  std::unique_ptr<Communicator> duplicate() override { return std::make_unique<LocalCommunicator>(); }
};

}  // namespace

std::unique_ptr<Communicator> make_local_communicator() { return std::make_unique<LocalCommunicator>(); }

std::string broadcast_string(Communicator& comm, const std::string& value, int root) {
  return comm.all_gather_string(comm.rank() == root ? value : std::string()).at(root);
}

std::string broadcast_file_text(Communicator& comm, const std::filesystem::path& path) {
  return broadcast_string(comm, comm.rank() == 0 && visible_here(path) ? read_file(path) : "", 0);
}

bool rank0_sees(Communicator& comm, const std::filesystem::path& path) {
  return broadcast_string(comm, comm.rank() == 0 && visible_here(path) ? "1" : "0", 0) == "1";
}

void run_on_rank0(Communicator& comm, const std::function<void()>& work) {
  std::string outcome = "ok";
  if (comm.rank() == 0) {
    try {
      work();
    } catch (const UserError& error) {
      outcome = std::string("error:") + error.what();
    }
  }
  outcome = broadcast_string(comm, outcome, 0);
  if (outcome != "ok") throw UserError(outcome.substr(6));
}

}  // namespace spn
