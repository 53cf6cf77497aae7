#include "train/triplet_data.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "core/hash.h"
#include "data/image_tensor.h"

namespace spn {

std::vector<int64_t> TripletData::text_rows_at(const std::vector<int64_t>& rows, int64_t step) const {
  std::vector<int64_t> flat;
  for (int64_t row : rows) {
    const uint64_t draw = mix_seed(mix_seed(text_seed, static_cast<uint64_t>(step)), static_cast<uint64_t>(row));
    const auto texts = static_cast<uint64_t>(text_begin.at(row + 1) - text_begin[row]);
    flat.push_back(text_begin[row] + static_cast<int64_t>(draw % texts));
  }
  return flat;
}

torch::Tensor TripletData::tokens_at(const std::vector<int64_t>& rows, int64_t step) const {
  return tokens.index_select(0, torch::tensor(text_rows_at(rows, step), torch::kLong));
}

int64_t TripletData::reference_of_text_row(int64_t text_row) const {
  const auto after = std::upper_bound(text_begin.begin(), text_begin.end(), text_row);
  return reference.at(static_cast<size_t>(after - text_begin.begin()) - 1);
}

std::vector<int64_t> TripletData::images_of(const std::vector<int64_t>& rows) const {
  std::vector<int64_t> images;
  for (int64_t row : rows) images.push_back(reference[row]);
  for (int64_t row : rows) images.push_back(target[row]);
  return images;
}

TripletBatch TripletData::batch(const torch::Tensor& pixels, const std::vector<int64_t>& rows, int64_t step) const {
  const int64_t n = static_cast<int64_t>(rows.size());
  TripletBatch out;
  out.reference_images = normalize_images(pixels.narrow(0, 0, n));
  out.target_images = normalize_images(pixels.narrow(0, n, n));
  out.tokens = tokens_at(rows, step);
  return out;
}

TripletData with_triplets(const TripletData& images, const std::vector<CirrTriplet>& triplets,
                          const Tokenizer& tokenizer, int64_t max_words, uint64_t text_seed) {
  std::unordered_map<int64_t, int64_t> row_of_image;
  for (size_t row = 0; row < images.images.split_index.size(); ++row)
    row_of_image.emplace(images.images.split_index[row], static_cast<int64_t>(row));
  const auto row = [&](int64_t image) {
    const auto found = row_of_image.find(image);
    if (found == row_of_image.end()) throw std::logic_error("with_triplets: a triplet uses an image not loaded");
    return found->second;
  };
  TripletData data;
  data.images = images.images;
  std::vector<std::string> texts;
  data.text_begin.push_back(0);
  for (const CirrTriplet& triplet : triplets) {
    data.reference.push_back(row(triplet.reference));
    data.target.push_back(row(triplet.target));
    std::vector<int64_t> equally_good;
    for (int64_t image : triplet.equally_good_targets) equally_good.push_back(row(image));
    data.equally_good_targets.push_back(std::move(equally_good));
    if (triplet.captions.empty())
      texts.push_back(triplet.caption);
    else
      texts.insert(texts.end(), triplet.captions.begin(), triplet.captions.end());
    data.text_begin.push_back(static_cast<int64_t>(texts.size()));
  }
  data.tokens = tokenizer.encode_batch(texts, max_words);
  data.text_seed = text_seed;
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
