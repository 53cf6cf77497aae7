#include "train/candidate_bank.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "core/file_lock.h"
#include "core/files.h"
#include "core/hash.h"
#include "dist/autocast.h"
#include "dist/sharding.h"
#include "track/git_info.h"
#include "train/encode_images.h"

namespace spn {

std::string fingerprint_of(const std::string& tag, const std::vector<torch::Tensor>& tensors,
                           const ExperimentConfig& config) {
  // The default "resize" adds nothing, so banks made before preprocess existed still match.
  const std::string preprocess =
      config.data.preprocess == Preprocess::Resize
          ? ""
          : "/" + std::string(choice_name(config.data.preprocess)) + " " + std::to_string(config.data.target_ratio);
  uint64_t hash = fnv1a(tag + "/" + config.model.image_encoder + "/size " + std::to_string(config.data.image_size) +
                        preprocess + "/pixels /127.5-1");
  for (const torch::Tensor& tensor : tensors) {
    const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
    hash = fnv1a(values.data_ptr(), static_cast<size_t>(values.numel()) * sizeof(float), hash);
  }
  return hex64(hash);
}

std::string encoder_fingerprint(const CirModel& model, const ExperimentConfig& config) {
  return fingerprint_of("spn target encoder v1", model.target_side_tensors(), config);
}

CandidateBank prepare_bank(Communicator& comm, CirModel& model, const std::string& name, BankMetadata expected,
                           const std::vector<std::string>& ids,
                           const std::function<torch::Tensor(const ShardRange&)>& encode,
                           const ExperimentConfig& config) {
  expected.rows = static_cast<int64_t>(ids.size());
  expected.dtype = choice_name(config.stage2.bank_dtype);
  expected.ids_hash = bank_ids_hash(ids);
  expected.producer_commit = read_git_info(SPN_SOURCE_DIR).commit;

  CandidateBank bank;
  bank.rows = expected.rows;
  // "v2": HDF5's checksummed file format (data/embedding_bank.h). Banks an older spn
  // wrote are named without it, so they are left alone rather than refused.
  bank.path =
      std::filesystem::path(config.stage2.bank_dir) /
      (name + "-v2-" + expected.fingerprint + "-" + expected.ids_hash.substr(0, 8) + "-" + expected.dtype + ".h5");
  const ShardRange mine = shard_range(bank.rows, comm.size(), comm.rank());
  bank.begin = mine.begin;

  // One builder per bank: rank 0 holds <bank>.lock while it decides to build or reuse
  // and while it builds, so a run that needs a bank another run is building waits, then
  // finds it finished and reuses it.
  std::optional<FileLock> building;
  run_on_rank0(comm, [&] {
    make_directories(bank.path.parent_path());
    building = FileLock::take(bank.path.string() + ".lock", [&](const std::string& holder) {
      spdlog::info("waiting for another run's bank {} ({})", bank.path.string(),
                   holder.empty() ? "holder unknown" : holder);
    });
  });
  if (rank0_sees(comm, bank.path)) {
    check_bank_matches(bank.path, read_bank_metadata(bank.path), expected);
    spdlog::info("reusing bank {} ({} rows, built by a run with the same encoder)", bank.path.string(), bank.rows);
  } else {
    write_bank(comm, bank.path, encode(mine), mine.begin, ids, expected);
    spdlog::info("built bank {} ({} rows, {})", bank.path.string(), bank.rows, expected.dtype);
  }
  building.reset();
  // Train against what the file holds (float16 rounding included), whether built now or
  // reused, so a reused bank gives the same run.
  bank.replicated = config.stage2.bank_mode == BankMode::Replicated;
  if (bank.replicated) bank.begin = 0;
  bank.shard = read_bank_rows(bank.path, bank.begin, bank.replicated ? bank.rows : mine.size());
  // Every rank hashes the rows it owns; a bank changed since it was written is refused.
  verify_bank_content(comm, bank.path, read_bank_metadata(bank.path),
                      bank.shard.narrow(0, mine.begin - bank.begin, mine.size()), mine.begin);
  // On the model's device, and in a 16-bit run in its 16-bit type, which the softmax
  // multiplies in (dist/distributed_softmax.h): converted once here, so the shard is held
  // once, in half the memory.
  bank.shard = bank.shard.to(model.device(), autocast_dtype(config.precision));
  return bank;
}

CandidateBank prepare_candidate_bank(Communicator& comm, CirModel& model, const TripletData& data,
                                     const CirrSplit& train, const ExperimentConfig& config, bool show_progress) {
  std::vector<std::string> ids;
  for (int64_t index : data.images.split_index) ids.push_back(train.images[index]);
  BankMetadata expected;
  expected.fingerprint = encoder_fingerprint(model, config);
  // One vector [D] per image, or a token set [T, D] (SPRC).
  const std::vector<int64_t> row = model.target_row_shape();
  expected.dim = row.back();
  expected.tokens = row.size() == 2 ? row.front() : 0;
  return prepare_bank(
      comm, model, "bank", expected, ids,
      [&](const ShardRange& mine) {
        return encode_image_rows(model, data.images, mine, config, "building bank", show_progress);
      },
      config);
}

torch::Tensor bank_rows(Communicator& comm, const CandidateBank& bank, const std::vector<int64_t>& ids) {
  const torch::Tensor index = torch::tensor(ids, torch::kLong).to(bank.shard.device());
  // Features in float32 whatever the shard's type: they enter the model like any input.
  if (bank.replicated) return bank.shard.index_select(0, index).to(torch::kFloat);
  // Each id is owned by exactly one rank; the others add zeros, so the sum is exact.
  const int64_t end = bank.begin + bank.shard.size(0);
  const torch::Tensor owned = (index >= bank.begin) & (index < end);
  std::vector<int64_t> shape = bank.shard.sizes().vec();
  shape[0] = static_cast<int64_t>(ids.size());
  torch::Tensor rows = torch::zeros(shape, bank.shard.options().dtype(torch::kFloat));
  const torch::Tensor where = owned.nonzero().squeeze(1);
  rows.index_copy_(0, where, bank.shard.index_select(0, index.index_select(0, where) - bank.begin).to(torch::kFloat));
  comm.all_reduce(rows, ReduceOp::Sum);
  return rows;
}

}  // namespace spn
