#pragma once
// The target encoder over many images, as the stage-2 bank, pair mining and the
// evaluation gallery all need it.
#include <torch/types.h>

#include <string>

#include "config/experiment_config.h"
#include "data/image_rows.h"
#include "dist/sharding.h"
#include "models/cir_model.h"

namespace spn {

// The target encoder's unit embeddings [rows.size(), D] or token sets [rows.size(), T,
// D] (float32) of images `rows`,
// computed in the config's precision, without gradients and in eval mode (the model's mode is restored after),
// eval.batch_size images at a time, decoded ahead by the loader ([data] workers and
// prefetch), with a progress line `label`.
torch::Tensor encode_image_rows(CirModel& model, const ImageRows& images, const ShardRange& rows,
                                const ExperimentConfig& config, const std::string& label, bool show_progress);

}  // namespace spn
