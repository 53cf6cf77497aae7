#include "train/evaluate.h"

#include <torch/torch.h>

#include "core/error.h"
#include "core/files.h"
#include "data/image_cache.h"
#include "data/image_prefetcher.h"
#include "data/image_tensor.h"
#include "data/split_check.h"
#include "dist/autocast.h"
#include "dist/sharding.h"
#include "train/circo_metrics.h"
#include "train/cirr_metrics.h"
#include "train/encode_images.h"
#include "train/fashioniq_metrics.h"
#include "train/submissions.h"

namespace spn {
SplitEmbeddings embed_split(Communicator& comm, CirModel& model, const CirrSplit& split, const Tokenizer& tokenizer,
                            const ExperimentConfig& config, bool show_progress, const QueryEncoder& queries_of) {
  torch::NoGradGuard no_grad;
  model.eval();
  SplitEmbeddings out;
  const int64_t n_images = static_cast<int64_t>(split.images.size());
  const ImageRows images = all_images_of(split, image_transform_of(config.data));
  const torch::Tensor local_gallery = encode_image_rows(model, images, shard_range(n_images, comm.size(), comm.rank()),
                                                        config, "embedding " + split.name + " gallery", show_progress);
  out.gallery = comm.all_gather(local_gallery.contiguous());

  const ShardRange queries = shard_range(static_cast<int64_t>(split.triplets.size()), comm.size(), comm.rank());
  const int64_t batch = config.eval.batch_size;
  const auto references_of = [&](int64_t chunk) {
    std::vector<int64_t> references;
    for (int64_t i = queries.begin + chunk * batch; i < std::min(queries.end, queries.begin + (chunk + 1) * batch); ++i)
      references.push_back(split.triplets[i].reference);
    return references;
  };
  // The gallery's rows are the references' features when the model's query takes its
  // target embeddings (the dual encoder); otherwise (SPRC's image tokens) each chunk's
  // reference images are decoded and encoded again. A query encoder of its own needs
  // neither.
  std::unique_ptr<ImagePrefetcher> reference_pixels;
  if (!queries_of && !model.references_are_targets())
    reference_pixels =
        std::make_unique<ImagePrefetcher>(images, references_of, (queries.size() + batch - 1) / batch,
                                          loader_options_of(config.data, model.device_type() == c10::kCUDA));
  // Every query has a second text or none has (FashionIQ's "both_orders").
  const bool two_texts = !split.triplets.empty() && !split.triplets.front().second_caption.empty();
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = queries.begin, chunk = 0; begin < queries.end; begin += batch, ++chunk) {
    const int64_t end = std::min(queries.end, begin + batch);
    const Autocast autocast(config.precision, model.device_type());
    torch::Tensor pixels, reference_features;
    if (reference_pixels)
      pixels = normalize_images(reference_pixels->take(chunk).to(model.device(), true));
    else if (!queries_of)
      reference_features =
          out.gallery.index_select(0, torch::tensor(references_of(chunk), torch::kLong)).to(model.device());
    const auto encode = [&](std::string CirrTriplet::*text) {
      std::vector<std::string> texts;
      for (int64_t i = begin; i < end; ++i) texts.push_back(split.triplets[i].*text);
      const torch::Tensor tokens = tokenizer.encode_batch(texts, config.data.max_words).to(model.device());
      if (queries_of) return queries_of(references_of(chunk), tokens).cpu();
      return (pixels.defined() ? model.encode_query(pixels, tokens)
                               : model.encode_query_from_features(reference_features, tokens))
          .cpu();
    };
    torch::Tensor query = encode(&CirrTriplet::caption);
    if (two_texts) {
      // SEARLE's validate.py: normalize((normalize(first) + normalize(second)) / 2).
      namespace F = torch::nn::functional;
      const auto unit = F::NormalizeFuncOptions().dim(1);
      query = F::normalize((F::normalize(query, unit) + F::normalize(encode(&CirrTriplet::second_caption), unit)) / 2,
                           unit);
    }
    chunks.push_back(query);
  }
  out.local_queries = chunks.empty() ? torch::empty({0, out.gallery.size(-1)}) : torch::cat(chunks);
  model.train();
  // A diverged model's scores are NaN; refuse to rank them. Counted over every rank's
  // queries, so all ranks stop together (the gallery is the same on every rank).
  torch::Tensor non_finite = (~torch::isfinite(out.local_queries)).sum().to(torch::kLong).reshape({1});
  comm.all_reduce(non_finite, ReduceOp::Sum);
  const int64_t bad_gallery = (~torch::isfinite(out.gallery)).sum().item<int64_t>();
  const int64_t bad_queries = non_finite.item<int64_t>();
  if (bad_gallery + bad_queries > 0)
    throw UserError("evaluating split '" + split.name + "': " + std::to_string(bad_gallery) + " gallery and " +
                    std::to_string(bad_queries) +
                    " query embedding values are not finite: the model has diverged (lower the learning rate, or "
                    "check the checkpoint it came from)");
  return out;
}

std::map<std::string, double> evaluate_split(Communicator& comm, CirModel& model, const CirrSplit& split,
                                             const Tokenizer& tokenizer, const ExperimentConfig& config,
                                             bool show_progress, const QueryEncoder& queries_of) {
  if (const std::string missing = missing_targets(split); !missing.empty())
    throw UserError(config.where("eval.split") + ": " + missing +
                    ", so recall cannot be computed (a test split: see eval.submission_split)");
  const SplitEmbeddings embedded = embed_split(comm, model, split, tokenizer, config, show_progress, queries_of);
  const bool remove_reference = config.eval.remove_reference == RemoveReference::Yes;
  switch (split.format) {
    case AnnotationFormat::kFashionIq:
      return fashioniq_metrics(comm, split, embedded.gallery, embedded.local_queries, remove_reference);
    case AnnotationFormat::kCirco:
      return circo_metrics(comm, split, embedded.gallery, embedded.local_queries, remove_reference);
    case AnnotationFormat::kCirr: break;
  }
  return cirr_metrics(comm, split.triplets, embedded.gallery, embedded.local_queries);
}

std::vector<fs::path> write_submissions(Communicator& comm, CirModel& model, const CirrSplit& split,
                                        const Tokenizer& tokenizer, const ExperimentConfig& config,
                                        const fs::path& prefix, bool show_progress, const QueryEncoder& queries_of) {
  const SplitEmbeddings embedded = embed_split(comm, model, split, tokenizer, config, show_progress, queries_of);
  const torch::Tensor queries = comm.all_gather(embedded.local_queries.contiguous());
  const bool circo = split.format == AnnotationFormat::kCirco;
  const std::vector<fs::path> files =
      circo ? std::vector<fs::path>{prefix.string() + ".json"}
            : std::vector<fs::path>{prefix.string() + "-recall.json", prefix.string() + "-recall_subset.json"};
  // Rank 0 ranks the queries and writes; the others wait for the files.
  if (comm.rank() == 0) {
    if (circo) {
      write_file_atomic(files[0], circo_submission(split, embedded.gallery, queries,
                                                   config.eval.remove_reference == RemoveReference::Yes)
                                          .dump() +
                                      "\n");
    } else {
      write_file_atomic(files[0], cirr_submission(split, embedded.gallery, queries, false).dump() + "\n");
      write_file_atomic(files[1], cirr_submission(split, embedded.gallery, queries, true).dump() + "\n");
    }
  }
  comm.barrier();
  return files;
}

}  // namespace spn
