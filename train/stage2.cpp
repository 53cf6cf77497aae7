#include "train/stage2.h"

#include <torch/torch.h>

#include "data/image_tensor.h"
#include "train/stage2_step.h"

namespace spn {

TrainingSummary train_stage2(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                             std::shared_ptr<CirModel> model, const TripletData& data, const CandidateBank& bank,
                             bool show_progress) {
  constexpr uint64_t kBatchOrderStream = 202;  // seed stream of the stage-2 batch order
  const Stage2Config& cfg = config.stage2;
  Stage2Step step(comm, model, cfg, bank.shard, bank.begin);
  const LoopSettings settings = loop_settings_for("stage2", cfg, config, data.size(), kBatchOrderStream);
  return run_training_loop(
      comm, run, settings, *model, step.optimizer(),
      [&](const std::vector<int64_t>& global, const std::vector<int64_t>& local, double lr) {
        SoftmaxTargets targets;  // bank row i is TripletData image row i
        for (int64_t triplet : global) {
          targets.positives.push_back({data.target[triplet]});
          if (cfg.ignore_reference)
            targets.ignored.push_back(data.reference[triplet] == data.target[triplet]
                                          ? std::vector<int64_t>{}
                                          : std::vector<int64_t>{data.reference[triplet]});
        }
        std::vector<int64_t> references;
        for (int64_t triplet : local) references.push_back(data.reference[triplet]);
        torch::Tensor reference_features;
        {
          torch::NoGradGuard no_grad;
          reference_features =
              model->encode_target(normalize_images(data.images.index_select(0, torch::tensor(references))));
        }
        const torch::Tensor tokens = data.tokens.index_select(0, torch::tensor(local, torch::kLong));
        return step.run(reference_features, tokens, targets, lr);
      },
      show_progress);
}

}  // namespace spn
