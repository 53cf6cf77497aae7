#pragma once
// The steps of a run, in order. Each is a function over the run context that reads what
// earlier steps produced and adds its own; each training or evaluation step is skipped
// when the run directory records it done (done/<stage>), so a rerun resumes.
//
//   dataset        the training split (unless nothing is trained: reads_data) and the
//                  evaluation sets (launcher/eval_datasets.h); the built-in benchmark
//                  and its CIRCO-style split are generated when missing
//   captions       positive scaling: pixel-exact de-duplication and a caption per image
//   training set   the annotated triplets and the training images' row order
//   tokenizer      CLIP's BPE, or the run's word vocabulary
//   model          the CIR model, seeded by the experiment seed
//   mining encoder the encoder that mines positives before stage 1, when there is one
//   positives      pair mining and modification texts: before stage 1 with a mining
//                  encoder, else after it with the stage-1 encoder (mining_point)
//   stage 1        both encoders, in-batch negatives gathered across ranks
//   CLIP export    the trained CLIP as a CLIP model directory (stage1.export_clip_dir)
//   evaluation     each of eval.datasets under its protocol
//   submissions    the test-server files of the evaluation sets that ask for them
//   bank           the frozen target encoder's embeddings of the training images (HDF5)
//   stage 2        the query side against the whole bank
//   evaluation, submissions  of stage 2's result
#include <vector>

#include "config/experiment_config.h"
#include "launcher/run_context.h"

namespace spn {

// When positive scaling mines: with a given or warmed-up mining encoder before stage 1
// (both stages train on the generated triplets), else after stage 1 with its target
// encoder (stage 2 trains on them).
enum class MiningPoint { Never, BeforeStage1, AfterStage1 };
MiningPoint mining_point(const ExperimentConfig& config);

struct PipelineStep {
  const char* name;
  bool (*applies)(const ExperimentConfig& config);
  void (*run)(RunContext& context);
};

// The steps of every run, in order; a step runs when it applies to the config.
const std::vector<PipelineStep>& pipeline_steps();

}  // namespace spn
