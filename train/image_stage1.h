#pragma once
// Stage 1 on unlabeled images: Pic2Word (model.family = "pic2word") trains its mapping
// network on images alone, no triplets (google-research/composed_image_retrieval trains
// on CC3M's images). Each step takes a global batch of the images in the stage's
// world-size-invariant order, pairs each image with "a photo of" (its pseudo word
// inserted before the end token) and minimises Pic2Word's symmetric contrastive loss,
// gathered across ranks (train/pic2word_loss.h), through Stage1Step: the same AdamW
// (from [stage1], biases without weight decay), learning-rate schedule, checkpoints,
// resume, metrics and stop agreement as the other stage-1 trainers.
#include <functional>
#include <memory>
#include <vector>

#include "config/experiment_config.h"
#include "data/image_rows.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/best_checkpoint.h"
#include "train/stage1_step.h"
#include "train/training_loop.h"

namespace spn {

// `images` are the training images (every image of the split), `prompt` one [1, L]
// token row of "a photo of". Resumes from the run's newest checkpoint of stage 1;
// writes checkpoints/stage1-final.pt. With stage1.eval_every_epoch, `evaluate` runs
// after each epoch and the best epoch by stage1.select_metric is kept
// (train_keeping_best_epoch in train/stage1.h); `model` then holds its weights on return.
TrainingSummary train_on_images(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                std::shared_ptr<CirModel> model, const ImageRows& images, const torch::Tensor& prompt,
                                bool show_progress, const Evaluator& evaluate = {});

// What the image-only trainers share (Pic2Word's above, SEARLE's φ in
// train/searle_stage1.h): stage 1's loop over `images`, each image its own row, in stage
// 1's seeded batch order, each step `step.run` on the batch `batch_of(step index, this
// rank's image rows, their normalised pixels)` makes, keeping the best epoch as
// train_on_images does.
using ImageBatchMaker = std::function<TripletBatch(int64_t, const std::vector<int64_t>&, const torch::Tensor&)>;
TrainingSummary run_image_stage1(Communicator& comm, const ExperimentConfig& config, RunRecord& run, CirModel& model,
                                 const ImageRows& images, Stage1Step& step, const ImageBatchMaker& batch_of,
                                 bool show_progress, const Evaluator& evaluate = {});

}  // namespace spn
