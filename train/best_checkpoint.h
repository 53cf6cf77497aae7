#pragma once
// The best epoch of a stage so far by one metric: checkpoints/<stage>-best.pt (its
// weights) and checkpoints/<stage>-best.json ({epoch, step, metric, value, metrics}).
// The .pt is written before the .json, and the .json is the record: after a kill
// between the two, the resumed run redoes the epoch, reaches the same metrics and
// rewrites both. Rank 0 reads and writes; the other ranks learn the record from it.
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/stage.h"

namespace spn {

class BestCheckpoint {
 public:
  BestCheckpoint(Communicator& comm, const std::filesystem::path& checkpoints_dir, Stage stage, std::string metric);

  // Keeps `model` as the best when metrics[metric] beats the record (ties keep the
  // earlier epoch). Every rank passes the same metrics. Returns whether it was kept.
  bool offer(int64_t epoch, int64_t step, const std::map<std::string, double>& metrics, CirModel& model);

  const nlohmann::json& record() const { return record_; }  // null before the first offer
  std::filesystem::path weights_path() const { return weights_; }

 private:
  Communicator& comm_;
  std::filesystem::path weights_, record_path_;
  std::string metric_;
  nlohmann::json record_;
};

}  // namespace spn
