#pragma once
// The best epoch of a stage so far by one metric: checkpoints/<stage>-best.pt (its
// weights) and checkpoints/<stage>-best.json ({epoch, step, metric, value, metrics}).
// The .pt is written before the .json, and the .json is the record: after a kill
// between the two, the resumed run redoes the epoch, reaches the same metrics and
// rewrites both. Rank 0 reads and writes; the other ranks learn the record from it.
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "track/stage.h"
#include "train/training_loop.h"

namespace spn {

class BestCheckpoint {
 public:
  BestCheckpoint(Communicator& comm, const std::filesystem::path& checkpoints_dir, Stage stage, std::string metric);

  // Keeps `model` as the best when metrics[metric] beats the record (ties keep the
  // earlier epoch). Every rank passes the same metrics. Returns whether it was kept.
  bool offer(int64_t epoch, int64_t step, const std::map<std::string, double>& metrics, CirModel& model);

  const nlohmann::json& record() const { return record_; }  // null before the first offer
  const std::string& metric() const { return metric_; }
  std::filesystem::path weights_path() const { return weights_; }

 private:
  Communicator& comm_;
  std::filesystem::path weights_, record_path_;
  std::string metric_;
  nlohmann::json record_;
};

// Every rank evaluates the current model and gets the same metrics.
using Evaluator = std::function<std::map<std::string, double>()>;

// The end-of-epoch hook of a stage that keeps its best epoch: `evaluate`, log the
// metrics as `stage`'s line for `split` in metrics.jsonl, offer `model` to `best`.
EpochHook keep_best_epoch(RunRecord& run, BestCheckpoint& best, CirModel& model, Stage stage, const std::string& split,
                          const Evaluator& evaluate);

// The checkpoint whose weights are `stage`'s result: <stage>-best.pt when its epochs are
// evaluated and the best kept, else <stage>-final.pt.
std::filesystem::path result_checkpoint(const std::filesystem::path& checkpoints_dir, Stage stage, bool best_kept);

}  // namespace spn
