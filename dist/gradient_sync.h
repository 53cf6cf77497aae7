#pragma once
// Data-parallel gradient synchronisation, overlapped with backward. Gradients are
// summed over ranks (not averaged): each rank's loss is already divided by the global
// batch size, so the sum is the single-process gradient.
//
// Parameters are coalesced into buckets (bucket buffers are allocated once), in
// reverse parameter order: backward produces the last layers' gradients first, so the
// first bucket fills first. A hook on each parameter's gradient accumulator copies its
// gradient into its bucket as backward produces it; a full bucket is handed to a
// communication thread that all-reduces it while backward goes on. finish() waits for
// every bucket before the optimizer step (and before loss scaling and the divergence
// guard look at the gradients), so they see what a sum after backward would give.
//
//   sync.begin();           // arms the hooks for this step
//   loss.backward();        // buckets are all-reduced as they fill
//   sync.finish();          // the rest, then .grad() holds the sums
//
// Buckets are launched strictly in bucket order on every rank (a bucket that fills
// early waits for the ones before it), so all ranks run the same collectives in the
// same order whatever order their hooks fire in. A parameter that received no
// gradient by finish() takes part with zeros, as before. One backward per step: a
// parameter whose gradient arrives twice between begin() and finish() (gradient
// accumulation) is refused, since its bucket may already be on the wire.
//
// Why a thread and a channel of its own: Communicator's collectives are blocking, and
// backward itself runs collectives on the world communicator (all_gather_with_grad's
// backward, the distributed softmax's). The bucket all-reduces therefore run on a
// duplicate of the communicator (Communicator::duplicate, an MPI_Comm_dup), whose
// collectives can never be matched with the world's, from one thread that owns that
// duplicate; MPI runs with MPI_THREAD_MULTIPLE so the two threads may call it at once.
// The thread drives its all-reduce to the end (the duplicate polls it every 50 us
// rather than spinning, so backward keeps the cores), where a nonblocking
// MPI_Iallreduce issued from a hook with nobody polling would only progress inside
// later MPI calls (Open MPI has no asynchronous progress thread for collectives), i.e.
// mostly at the final wait. When the library grants no duplicate, finish() sums every
// bucket after backward on the calling thread (no overlap, the same sums).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "dist/communicator.h"

namespace spn {

class GradientSync {
 public:
  GradientSync(Communicator& comm, std::vector<at::Tensor> parameters, int64_t bucket_bytes);
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Before backward: gradients produced from now on are summed over ranks. Gradients
  // produced outside begin()..finish() (another backward through these parameters)
  // are left alone.
  void begin();
  // After backward: every parameter's .grad() is its sum over ranks. A collective.
  void finish();
  size_t bucket_count() const;

  struct State;  // shared with the hooks and the communication thread

 private:
  std::shared_ptr<State> state_;
  std::vector<uintptr_t> hook_keys_;  // one per parameter, to remove the hooks again
};

// Copies rank `root`'s parameter values (and buffers) to every rank.
void broadcast_tensors(Communicator& comm, const std::vector<at::Tensor>& tensors, int root = 0);

}  // namespace spn
