#include "train/best_checkpoint.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/files.h"
#include "train/checkpoint.h"

namespace spn {

BestCheckpoint::BestCheckpoint(Communicator& comm, const std::filesystem::path& checkpoints_dir, Stage stage,
                               std::string metric)
    : comm_(comm),
      weights_(checkpoints_dir / (stage_name(stage) + std::string("-best.pt"))),
      record_path_(checkpoints_dir / (stage_name(stage) + std::string("-best.json"))),
      metric_(std::move(metric)) {
  const std::string text = broadcast_file_text(comm, record_path_);
  if (text.empty()) return;
  record_ = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (record_.is_discarded() || !record_.contains("value") || record_.value("metric", "") != metric_)
    throw UserError(record_path_.string() + ": not a best-checkpoint record for metric '" + metric_ +
                    "'; remove it (and " + weights_.filename().string() + ") to start the selection over");
}

bool BestCheckpoint::offer(int64_t epoch, int64_t step, const std::map<std::string, double>& metrics, CirModel& model) {
  const auto found = metrics.find(metric_);
  if (found == metrics.end()) throw std::logic_error("evaluation did not report metric " + metric_);
  if (!record_.is_null() && found->second <= record_["value"].get<double>()) return false;
  record_ = {{"epoch", epoch}, {"step", step}, {"metric", metric_}, {"value", found->second}, {"metrics", metrics}};
  if (comm_.rank() == 0) {
    save_checkpoint(weights_, model, nullptr, {step});
    write_file_atomic(record_path_, record_.dump(2) + "\n");
  }
  return true;
}

EpochHook keep_best_epoch(RunRecord& run, BestCheckpoint& best, CirModel& model, Stage stage, const std::string& split,
                          const Evaluator& evaluate) {
  return [&run, &best, &model, stage, split, evaluate](int64_t epoch, int64_t done) {
    const auto metrics = evaluate();
    run.log_metrics(
        {{"stage", stage_name(stage)}, {"step", done}, {"epoch", epoch}, {"split", split}, {"eval", metrics}});
    const bool kept = best.offer(epoch, done, metrics, model);
    spdlog::info("{} epoch {}: {} {:.2f}{}", stage_name(stage), epoch, best.metric(), metrics.at(best.metric()),
                 kept ? " (best so far, kept)" : "");
  };
}

std::filesystem::path result_checkpoint(const std::filesystem::path& checkpoints_dir, Stage stage, bool best_kept) {
  return checkpoints_dir / (stage_name(stage) + std::string(best_kept ? "-best.pt" : "-final.pt"));
}

}  // namespace spn
