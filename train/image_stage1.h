#pragma once
// Stage 1 on unlabeled images: Pic2Word (model.family = "pic2word") trains its mapping
// network on images alone, no triplets (google-research/composed_image_retrieval trains
// on CC3M's images). Each step takes a global batch of the images in the stage's
// world-size-invariant order, pairs each image with "a photo of" (its pseudo word
// inserted before the end token) and minimises Pic2Word's symmetric contrastive loss,
// gathered across ranks (train/pic2word_loss.h), through Stage1Step: the same AdamW
// (from [stage1], biases without weight decay), learning-rate schedule, checkpoints,
// resume, metrics and stop agreement as the other stage-1 trainers.
#include <memory>

#include "config/experiment_config.h"
#include "data/image_rows.h"
#include "dist/communicator.h"
#include "models/cir_model.h"
#include "track/run_record.h"
#include "train/training_loop.h"

namespace spn {

// `images` are the training images (every image of the split), `prompt` one [1, L]
// token row of "a photo of". Resumes from the run's newest checkpoint of stage 1;
// writes checkpoints/stage1-final.pt.
TrainingSummary train_on_images(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                std::shared_ptr<CirModel> model, const ImageRows& images, const torch::Tensor& prompt,
                                bool show_progress);

}  // namespace spn
