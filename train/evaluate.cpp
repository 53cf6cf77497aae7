#include "train/evaluate.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/progress.h"
#include "data/image_tensor.h"
#include "dist/sharding.h"
#include "train/circo_metrics.h"
#include "train/cirr_metrics.h"
#include "train/fashioniq_metrics.h"

namespace spn {
namespace {

torch::Tensor embed_gallery_shard(CirModel& model, const CirrSplit& split, const ShardRange& mine,
                                  const ExperimentConfig& config, bool show_progress) {
  std::vector<torch::Tensor> chunks;
  Progress progress("embedding " + split.name + " gallery", mine.size(), show_progress);
  for (int64_t begin = mine.begin; begin < mine.end; begin += config.eval.batch_size) {
    const int64_t end = std::min(mine.end, begin + config.eval.batch_size);
    std::vector<int64_t> indices;
    for (int64_t i = begin; i < end; ++i) indices.push_back(i);
    const torch::Tensor pixels = decode_split_images(split, indices, config.data.image_size);
    chunks.push_back(model.encode_target(normalize_images(pixels)));
    progress.update(end - mine.begin);
  }
  progress.finish();
  if (chunks.empty()) return torch::empty({0, config.model.embed_dim});
  return torch::cat(chunks);
}

}  // namespace

std::map<std::string, double> evaluate_split(Communicator& comm, CirModel& model, const CirrSplit& split,
                                            const Tokenizer& tokenizer, const ExperimentConfig& config,
                                            bool show_progress) {
  if (!split.has_targets())
    throw UserError(config.where("eval.split") + ": split '" + split.name +
                    "' has no target_hard, so recall cannot be computed");
  torch::NoGradGuard no_grad;
  model.eval();
  const int64_t n_images = static_cast<int64_t>(split.images.size());
  const torch::Tensor local_gallery =
      embed_gallery_shard(model, split, shard_range(n_images, comm.size(), comm.rank()), config, show_progress);
  const torch::Tensor gallery = comm.all_gather(local_gallery.contiguous());

  const ShardRange queries = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  std::vector<int64_t> references;
  std::vector<std::string> captions;
  for (int64_t i = queries.begin; i < queries.end; ++i) {
    references.push_back(split.triplets[i].reference);
    captions.push_back(split.triplets[i].caption);
  }
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < queries.size(); begin += config.eval.batch_size) {
    const int64_t end = std::min(queries.size(), begin + config.eval.batch_size);
    const std::vector<int64_t> refs(references.begin() + begin, references.begin() + end);
    const std::vector<std::string> texts(captions.begin() + begin, captions.begin() + end);
    const torch::Tensor reference_features = gallery.index_select(0, torch::tensor(refs, torch::kLong));
    chunks.push_back(
        model.encode_query_from_features(reference_features, tokenizer.encode_batch(texts, config.data.max_words)));
  }
  const torch::Tensor local_queries = chunks.empty() ? torch::empty({0, gallery.size(1)}) : torch::cat(chunks);
  model.train();
  switch (split.format) {
    case AnnotationFormat::kFashionIq:
      return fashioniq_metrics(comm, split, gallery, local_queries, config.eval.remove_reference == "yes");
    case AnnotationFormat::kCirco:
      return circo_metrics(comm, split, gallery, local_queries, config.eval.remove_reference == "yes");
    case AnnotationFormat::kCirr:
      break;
  }
  return cirr_metrics(comm, split.triplets, gallery, local_queries);
}

}  // namespace spn
