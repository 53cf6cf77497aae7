#pragma once
// A stage-2 bank held in memory as a rank holds it: its shard of `whole`, or all of it.
#include <torch/torch.h>

#include "dist/communicator.h"
#include "dist/sharding.h"
#include "train/candidate_bank.h"

namespace spn::testing {

inline CandidateBank bank_for(Communicator& comm, const torch::Tensor& whole, bool replicated) {
  CandidateBank bank;
  bank.rows = whole.size(0);
  bank.replicated = replicated;
  const ShardRange shard = replicated ? ShardRange{0, bank.rows} : shard_range(bank.rows, comm.size(), comm.rank());
  bank.begin = shard.begin;
  bank.shard = whole.narrow(0, shard.begin, shard.size());
  return bank;
}

}  // namespace spn::testing
