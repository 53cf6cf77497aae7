#include "train/searle_oti.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/hash.h"
#include "core/progress.h"
#include "models/clip_text.h"
#include "models/clip_tokenizer.h"
#include "models/safetensors.h"
#include "models/zero_shot_model.h"
#include "train/encode_images.h"
#include "train/searle_concepts.h"
#include "train/textual_inversion.h"

namespace spn {
namespace {

constexpr uint64_t kOtiStream = 211;  // the OTI batches' seed stream of the experiment seed

OtiOptions oti_options(const SearleConfig& searle) {
  OtiOptions options;
  options.steps = searle.oti_steps;
  options.lr = searle.oti_lr;
  options.weight_decay = searle.oti_weight_decay;
  options.ema_decay = searle.oti_ema_decay;
  options.gpt_weight = searle.oti_gpt_weight;
  return options;
}

int64_t token_width(ClipTextTower& text) {
  torch::NoGradGuard no_grad;
  const torch::Tensor one = torch::zeros({1, 1}, torch::TensorOptions().dtype(torch::kLong));
  return text.embed(one.to(text.parameters().front().device())).size(2);
}

// What a kept file must have been made from to be reused: the images (by name), the
// vocabulary and the OTI settings.
std::map<std::string, std::string> words_fingerprint(const ExperimentConfig& config, const ImageRows& images,
                                                     const std::vector<std::string>& concepts) {
  uint64_t hash = kFnvOffset, names = kFnvOffset;
  for (const std::string& concept : concepts) hash = fnv1a(concept + "\n", hash);
  for (const int64_t index : images.split_index)
    names = fnv1a(images.split->images[static_cast<size_t>(index)] + "\n", names);
  const SearleConfig& s = config.searle;
  return {{"images", std::to_string(images.size())},
          {"images_fnv1a", std::to_string(names)},
          {"concepts_fnv1a", std::to_string(hash)},
          {"seed", std::to_string(config.seed)},
          {"oti", fmt::format("{} {} {} {} {} {} {} {} {}", s.oti_steps, s.oti_batch_size, s.oti_lr, s.oti_weight_decay,
                              s.oti_ema_decay, s.oti_gpt_weight, s.top_k_concepts, s.phi_top_k_concepts,
                              config.data.max_words)}};
}

}  // namespace

ShardRange oti_rows(int64_t images, int64_t batch, int world_size, int rank) {
  const int64_t batches = (images + batch - 1) / batch;
  const ShardRange mine = shard_range(batches, world_size, rank);
  return {std::min(images, mine.begin * batch), std::min(images, mine.end * batch)};
}

SearleWords invert_rows(ClipTextTower& text, const ClipTokenizer& tokenizer, const ExperimentConfig& config,
                        const std::vector<std::string>& concepts, const torch::Tensor& concept_features,
                        const torch::Tensor& image_features, int64_t first_row, bool show_progress) {
  const SearleConfig& searle = config.searle;
  const int64_t rows = image_features.size(0), batch = searle.oti_batch_size;
  if (first_row % batch != 0) throw std::logic_error("invert_rows: the rows must start an OTI batch");
  SearleWords words;
  words.concepts = concepts;
  // Ranked as deep as either use needs; OTI's phrases are about the first top_k_concepts.
  words.top_concepts =
      top_concepts(image_features, concept_features, std::max(searle.top_k_concepts, searle.phi_top_k_concepts));
  const int64_t oti_k = std::min(searle.top_k_concepts, words.top_concepts.size(1));
  const OtiOptions options = oti_options(searle);
  const uint64_t seed = mix_seed(static_cast<uint64_t>(config.seed), kOtiStream);
  const int64_t templates = static_cast<int64_t>(searle_phrase_templates().size());
  std::vector<torch::Tensor> ema;
  Progress progress("OTI pseudo words", rows, show_progress);
  for (int64_t at = 0; at < rows; at += batch) {
    const int64_t size = std::min(batch, rows - at);
    // Each image's phrases: every phrase template about each of its top concepts.
    std::vector<std::vector<std::string>> phrases(static_cast<size_t>(size)), about(static_cast<size_t>(size));
    const torch::Tensor batch_top = words.top_concepts.narrow(0, at, size).contiguous();
    const auto top = batch_top.accessor<int64_t, 2>();
    for (int64_t i = 0; i < size; ++i)
      for (int64_t k = 0; k < oti_k; ++k)
        for (int64_t t = 0; t < templates; ++t) {
          const std::string& concept = concepts[static_cast<size_t>(top[i][k])];
          phrases[static_cast<size_t>(i)].push_back(searle_phrase(concept, t));
          about[static_cast<size_t>(i)].push_back(concept);
        }
    const OtiPrompts prompts = make_oti_prompts(tokenizer, config.data.max_words, phrases, about);
    const uint64_t batch_index = static_cast<uint64_t>((first_row + at) / batch);
    const OtiResult result =
        invert_images(text, image_features.narrow(0, at, size), prompts, options, mix_seed(seed, batch_index));
    ema.push_back(result.ema_tokens.to(torch::kFloat).cpu());
    progress.update(at + size, fmt::format("loss {:.4f} -> {:.4f}", result.first_loss, result.last_loss));
  }
  progress.finish();
  words.ema_tokens = ema.empty() ? torch::zeros({0, token_width(text)}) : torch::cat(ema);
  return words;
}

SearleWords gather_words(Communicator& comm, const SearleWords& local) {
  SearleWords all;
  all.concepts = local.concepts;
  all.top_concepts = comm.all_gather(local.top_concepts.contiguous());
  all.ema_tokens = comm.all_gather(local.ema_tokens.contiguous());
  return all;
}

SearleWords prepare_searle_words(Communicator& comm, const ExperimentConfig& config, ZeroShotModel& model,
                                 const ImageRows& images, const ClipTokenizer& tokenizer,
                                 const std::filesystem::path& file, bool show_progress) {
  const int64_t n = images.size();
  const std::vector<std::string> concepts = searle_concepts(config);
  ClipTextTower& text = model.text_tower();
  const torch::Tensor concept_feats = concept_features(text, tokenizer, concepts, config.data.max_words);
  const int64_t k = std::min<int64_t>(std::max(config.searle.top_k_concepts, config.searle.phi_top_k_concepts),
                                      static_cast<int64_t>(concepts.size()));
  const int64_t hidden = token_width(text);
  const auto fingerprint = words_fingerprint(config, images, concepts);

  // A complete file of an earlier attempt (rank 0 reads it; every rank gets it).
  SearleWords words;
  words.concepts = concepts;
  words.top_concepts = torch::zeros({n, k}, torch::kLong);
  words.ema_tokens = torch::zeros({n, hidden});
  torch::Tensor reuse = torch::zeros({1}, torch::kLong);
  if (comm.rank() == 0 && std::filesystem::exists(file)) {
    const SafetensorsFile kept(file);
    bool same = kept.contains("ema_tokens") && kept.contains("top_concepts");
    for (const auto& [key, value] : fingerprint) {
      const auto found = kept.metadata().find(key);
      same = same && found != kept.metadata().end() && found->second == value;
    }
    if (same) {
      const torch::Tensor tokens = kept.read("ema_tokens"), top = kept.read("top_concepts");
      if (tokens.sizes() == words.ema_tokens.sizes() && top.sizes() == words.top_concepts.sizes()) {
        words.ema_tokens.copy_(tokens);
        words.top_concepts.copy_(top);
        reuse.fill_(1);
      }
    }
    if (reuse.item<int64_t>() == 0)
      spdlog::warn("{} was made from other images or settings; inverting again", file.string());
  }
  comm.broadcast(reuse, 0);
  if (reuse.item<int64_t>() == 1) {
    comm.broadcast(words.ema_tokens, 0);
    comm.broadcast(words.top_concepts, 0);
    spdlog::info("OTI: reusing the pseudo words of {} images in {}", n, file.string());
    return words;
  }

  const ShardRange rows = oti_rows(n, config.searle.oti_batch_size, comm.size(), comm.rank());
  spdlog::info("OTI: inverting {} images ({} on this rank, {} steps each, {} concepts, phrases of the top {})", n,
               rows.size(), config.searle.oti_steps, concepts.size(), config.searle.top_k_concepts);
  const int64_t dim = model.target_row_shape().at(0);
  const torch::Tensor features = encode_item_rows(
      model, images, rows, [](int64_t row) { return row; }, {dim},
      [&](const torch::Tensor& pixels, const ShardRange&) { return model.encode_reference(pixels).to(torch::kFloat); },
      config, "OTI image features", show_progress);
  const SearleWords local = invert_rows(text, tokenizer, config, concepts, concept_feats, features.to(model.device()),
                                        rows.begin, show_progress);
  words = gather_words(comm, local);
  if (comm.rank() == 0)
    write_safetensors(file, {{"ema_tokens", words.ema_tokens}, {"top_concepts", words.top_concepts}}, fingerprint);
  comm.barrier();
  return words;
}

}  // namespace spn
