#pragma once
// The frozen encoders over many images, as the stage-2 banks, pair mining and the
// evaluation gallery all need it.
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

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

// Items `rows` that each need one image: item i's image is `image_of(i)`, and
// `encode(images, items)` maps the items' normalised images (on the model's device) to
// their rows of shape `row_shape`. The same batching, loader, precision and modes as
// encode_image_rows; the result is [rows.size(), row_shape...] float32 on the host.
using ItemEncoder = std::function<torch::Tensor(const torch::Tensor& images, const ShardRange& items)>;
torch::Tensor encode_item_rows(CirModel& model, const ImageRows& images, const ShardRange& rows,
                               const std::function<int64_t(int64_t)>& image_of, const std::vector<int64_t>& row_shape,
                               const ItemEncoder& encode, const ExperimentConfig& config, const std::string& label,
                               bool show_progress);

}  // namespace spn
