#include "train/searle_oti_queries.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <unordered_map>

#include "data/image_rows.h"
#include "data/image_tensor.h"
#include "models/zero_shot_model.h"
#include "train/searle_oti.h"

namespace spn {

std::vector<int64_t> distinct_references(const CirrSplit& split) {
  std::vector<int64_t> references;
  std::vector<bool> seen(split.images.size(), false);
  for (const CirrTriplet& triplet : split.triplets)
    if (!seen[static_cast<size_t>(triplet.reference)]) {
      seen[static_cast<size_t>(triplet.reference)] = true;
      references.push_back(triplet.reference);
    }
  return references;
}

QueryEncoder searle_oti_queries(Communicator& comm, const ExperimentConfig& config, ZeroShotModel& model,
                                const CirrSplit& split, const ClipTokenizer& tokenizer,
                                const std::filesystem::path& file, bool show_progress) {
  ImageRows references = all_images_of(split, image_transform_of(config.data));
  references.split_index = distinct_references(split);
  spdlog::info("SEARLE-OTI: split '{}': {} queries over {} distinct reference images", split.name,
               split.triplets.size(), references.size());
  const torch::Tensor words =
      prepare_searle_words(comm, config, model, references, tokenizer, file, show_progress).ema_tokens;
  std::unordered_map<int64_t, int64_t> row_of;
  for (int64_t row = 0; row < references.size(); ++row) row_of[references.split_index[static_cast<size_t>(row)]] = row;
  return [&model, words, row_of = std::move(row_of)](const std::vector<int64_t>& queries_references,
                                                     const torch::Tensor& tokens) {
    std::vector<int64_t> rows;
    rows.reserve(queries_references.size());
    for (const int64_t reference : queries_references) rows.push_back(row_of.at(reference));
    const torch::Tensor chosen = words.index_select(0, torch::tensor(rows, torch::kLong));
    return model.encode_query_from_words(
        chosen.to(tokens.device(), model.text_tower().parameters().front().scalar_type()), tokens);
  };
}

}  // namespace spn
