#pragma once
// The stage-2 candidate bank: the frozen target encoder's embeddings of every image of
// the training triplets (bank row i = row i of TripletData::images), stored in HDF5 in
// stage2.bank_dir and shared by all runs whose encoder, ids and dtype match. Each rank
// keeps only its contiguous shard of rows in memory, or, in replicated mode, all rows.
#include <torch/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "data/embedding_bank.h"
#include "dist/communicator.h"
#include "dist/sharding.h"
#include "models/cir_model.h"
#include "train/triplet_data.h"

namespace spn {

struct CandidateBank {
  torch::Tensor shard;      // [rows held by this rank, D] or [.., T, D] read back from the file:
                            // float32, or the 16-bit type of a bf16/fp16 run
  int64_t begin = 0;        // global row of shard[0]
  int64_t rows = 0;         // all rows
  bool replicated = false;  // shard is the whole bank on every rank (begin 0)
  std::filesystem::path path;
};

// Bank rows `ids` (global) on every rank, float32 [ids.size(), row shape...]. Sharded: a
// collective in which each rank contributes the rows it owns, so every rank must pass
// the same ids.
torch::Tensor bank_rows(Communicator& comm, const CandidateBank& bank, const std::vector<int64_t>& ids);

// Hash of the target encoder's weights and of the preprocessing in front of it.
std::string encoder_fingerprint(const CirModel& model, const ExperimentConfig& config);
// The same over `tensors` under another `tag` (another bank's content).
std::string fingerprint_of(const std::string& tag, const std::vector<torch::Tensor>& tensors,
                           const ExperimentConfig& config);

// Reuses the bank for this encoder and these ids when stage2.bank_dir has one (and says
// so), else builds it with each rank embedding its shard. A run that needs a bank
// another run is building waits for it (rank 0 holds <bank>.lock from the decision to
// the finished file), then reuses it. A bank file that exists but is incomplete, corrupt
// or built for something else is refused with a UserError.
CandidateBank prepare_candidate_bank(Communicator& comm, CirModel& model, const TripletData& data,
                                     const CirrSplit& train, const ExperimentConfig& config, bool show_progress);

// What prepare_candidate_bank does for any bank of frozen rows: `name` is the file
// name's prefix ("bank"), `expected` holds what the file must record (fingerprint, rows,
// dim, tokens, dtype, ids hash, commit), `ids` every row's id, and `encode` this rank's
// rows [range.size(), row shape...] when the bank is built. The shard is read back, its
// content checked and put on the model's device in the run's precision;
// stage2.bank_mode decides sharded or replicated.
CandidateBank prepare_bank(Communicator& comm, CirModel& model, const std::string& name, BankMetadata expected,
                           const std::vector<std::string>& ids,
                           const std::function<torch::Tensor(const ShardRange&)>& encode,
                           const ExperimentConfig& config);

}  // namespace spn
