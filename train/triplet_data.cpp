#include "train/triplet_data.h"

#include <torch/torch.h>

#include <unordered_map>

#include "core/error.h"
#include "data/image_tensor.h"

namespace spn {

TripletBatch TripletData::batch(const std::vector<int64_t>& rows) const {
  std::vector<int64_t> references, targets;
  for (int64_t row : rows) {
    references.push_back(reference[row]);
    targets.push_back(target[row]);
  }
  const auto index = [](const std::vector<int64_t>& values) {
    return torch::tensor(values, torch::kLong);
  };
  TripletBatch out;
  out.reference_images = normalize_images(images.index_select(0, index(references)));
  out.target_images = normalize_images(images.index_select(0, index(targets)));
  out.tokens = tokens.index_select(0, index(rows));
  return out;
}

TripletData load_triplet_data(Communicator& comm, const CirrSplit& split, const Vocabulary& vocabulary,
                              const DataConfig& config, bool show_progress) {
  if (!split.has_targets())
    throw UserError(split.root.string() + ": split '" + split.name + "' has no target_hard; it cannot be trained on");
  TripletData data;
  std::unordered_map<int64_t, int64_t> row_of_image;
  std::vector<int64_t> used_images;
  const auto row = [&](int64_t image) {
    auto [entry, inserted] = row_of_image.emplace(image, static_cast<int64_t>(used_images.size()));
    if (inserted) used_images.push_back(image);
    return entry->second;
  };
  std::vector<std::string> captions;
  for (const CirrTriplet& triplet : split.triplets) {
    data.reference.push_back(row(triplet.reference));
    data.target.push_back(row(triplet.target));
    std::vector<int64_t> equally_good;
    for (int64_t image : triplet.equally_good_targets) equally_good.push_back(row(image));
    data.equally_good_targets.push_back(std::move(equally_good));
    captions.push_back(triplet.caption);
  }
  data.tokens = vocabulary.encode_batch(captions, config.max_words);
  data.images = load_split_images(comm, split, used_images, config.image_size, show_progress);
  data.image_index = used_images;
  return data;
}

}  // namespace spn
