#pragma once
// The target encoder over many images, as the stage-2 bank, pair mining and the
// evaluation gallery all need it.
#include <torch/types.h>

#include <functional>
#include <string>

#include "config/experiment_config.h"
#include "dist/sharding.h"
#include "models/cir_model.h"

namespace spn {

// Images [begin, end) as uint8 pixels [end - begin, 3, S, S]: rows of a tensor in memory,
// or decoded from files on demand.
using PixelRows = std::function<torch::Tensor(int64_t begin, int64_t end)>;

// The target encoder's unit embeddings [rows.size(), D] (float32) of images `rows`,
// computed in the config's precision, without gradients and in eval mode (the model's mode is restored after),
// eval.batch_size images at a time, with a progress line `label`.
torch::Tensor encode_image_rows(CirModel& model, const PixelRows& pixels, const ShardRange& rows,
                                const ExperimentConfig& config, const std::string& label, bool show_progress);

// PixelRows of uint8 images already in memory.
PixelRows rows_of(const torch::Tensor& images);

}  // namespace spn
