#include "train/triplet_data.h"

#include <torch/torch.h>

#include <set>
#include <stdexcept>

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

TripletData load_training_images(Communicator& comm, const CirrSplit& split, const std::vector<int64_t>& image_indices,
                                 const DataConfig& config, bool show_progress) {
  TripletData data;
  data.images = load_split_images(comm, split, image_indices, config.image_size, show_progress);
  data.image_index = image_indices;
  return data;
}

TripletData with_triplets(const TripletData& images, const std::vector<CirrTriplet>& triplets,
                          const Tokenizer& tokenizer, int64_t max_words) {
  std::unordered_map<int64_t, int64_t> row_of_image;
  for (size_t row = 0; row < images.image_index.size(); ++row)
    row_of_image.emplace(images.image_index[row], static_cast<int64_t>(row));
  const auto row = [&](int64_t image) {
    const auto found = row_of_image.find(image);
    if (found == row_of_image.end()) throw std::logic_error("with_triplets: a triplet uses an image not loaded");
    return found->second;
  };
  TripletData data;
  data.images = images.images;
  data.image_index = images.image_index;
  std::vector<std::string> captions;
  for (const CirrTriplet& triplet : triplets) {
    data.reference.push_back(row(triplet.reference));
    data.target.push_back(row(triplet.target));
    std::vector<int64_t> equally_good;
    for (int64_t image : triplet.equally_good_targets) equally_good.push_back(row(image));
    data.equally_good_targets.push_back(std::move(equally_good));
    captions.push_back(triplet.caption);
  }
  data.tokens = tokenizer.encode_batch(captions, max_words);
  return data;
}

std::vector<int64_t> images_used_by(const std::vector<CirrTriplet>& triplets) {
  std::vector<int64_t> used;
  std::set<int64_t> seen;
  const auto use = [&](int64_t image) {
    if (seen.insert(image).second) used.push_back(image);
  };
  for (const CirrTriplet& triplet : triplets) {
    use(triplet.reference);
    use(triplet.target);
    for (int64_t image : triplet.equally_good_targets) use(image);
  }
  return used;
}

}  // namespace spn
