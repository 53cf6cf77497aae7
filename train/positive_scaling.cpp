#include "train/positive_scaling.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/random.h"
#include "data/captioning.h"
#include "data/modification_text.h"
#include "data/pair_mining.h"
#include "dist/sharding.h"
#include "train/encode_images.h"

namespace spn {
namespace {

using nlohmann::json;

// Seed streams of the experiment seed.
constexpr uint64_t kMiningStream = 301;
constexpr uint64_t kTemplateStream = 302;
constexpr uint64_t kSubsampleStream = 303;

fs::path positives_dir(const RunRecord& run) { return run.dir() / "positives"; }

Deduplication reuse_or_deduplicate(Communicator& comm, RunRecord& run, const CirrSplit& train, bool show_progress) {
  const fs::path path = positives_dir(run) / "dedup.json";
  const std::string recorded = broadcast_file_text(comm, path);
  Deduplication dedup;
  if (!recorded.empty()) {
    const json record = json::parse(recorded);
    dedup.canonical.resize(train.images.size());
    for (size_t i = 0; i < train.images.size(); ++i) dedup.canonical[i] = static_cast<int64_t>(i);
    for (const auto& [copy, kept] : record.at("copies").items())
      dedup.canonical.at(train.index_of.at(copy)) = train.index_of.at(kept.get<std::string>());
    for (size_t i = 0; i < dedup.canonical.size(); ++i)
      if (dedup.canonical[i] == static_cast<int64_t>(i)) dedup.unique.push_back(static_cast<int64_t>(i));
    spdlog::info("positives: reusing {} ({} unique of {} images)", path.string(), dedup.unique.size(),
                 train.images.size());
    return dedup;
  }
  dedup = deduplicate_images(comm, train, show_progress);
  json copies = json::object();
  for (size_t i = 0; i < dedup.canonical.size(); ++i)
    if (dedup.canonical[i] != static_cast<int64_t>(i)) copies[train.images[i]] = train.images[dedup.canonical[i]];
  if (run.writer())
    write_file_atomic(
        path,
        json{{"images", train.images.size()}, {"unique", dedup.unique.size()}, {"copies", copies}}.dump(1) + "\n");
  spdlog::info("positives: {} images, {} unique ({} pixel-exact copies)", train.images.size(), dedup.unique.size(),
               dedup.duplicates());
  return dedup;
}

std::vector<int64_t> mining_queries(const ExperimentConfig& config, const PositiveSources& sources,
                                    const std::vector<CirrTriplet>& annotated) {
  std::vector<int64_t> rows;  // rows of the unique images
  if (!config.positives.references_only) {
    for (size_t row = 0; row < sources.dedup.unique.size(); ++row) rows.push_back(static_cast<int64_t>(row));
    return rows;
  }
  std::set<int64_t> references;
  for (const CirrTriplet& triplet : annotated) references.insert(triplet.reference);
  for (size_t row = 0; row < sources.dedup.unique.size(); ++row)
    if (references.count(sources.dedup.unique[row])) rows.push_back(static_cast<int64_t>(row));
  return rows;
}

MiningWindow mining_window(const ExperimentConfig& config, int64_t images) {
  const PositivesConfig& cfg = config.positives;
  MiningWindow window;
  window.lo = cfg.rank_lo;
  window.hi = std::min(cfg.rank_hi, images - 1);  // ranks of the other images: 0 .. images - 2
  window.partners = cfg.partners;
  window.block_rows = cfg.block_rows;
  window.seed = mix_seed(static_cast<uint64_t>(config.seed), kMiningStream);
  if (window.hi - window.lo < window.partners)
    throw UserError(config.where("positives.rank_lo") + ": the window [" + std::to_string(cfg.rank_lo) + ", " +
                    std::to_string(cfg.rank_hi) +
                    ") holds fewer than positives.partners = " + std::to_string(cfg.partners) + " ranks among the " +
                    std::to_string(images - 1) + " other unique images");
  return window;
}

}  // namespace

PositiveSources prepare_positive_sources(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                         const CirrSplit& train, bool show_progress) {
  PositiveSources sources;
  sources.dedup = reuse_or_deduplicate(comm, run, train, show_progress);
  const std::unique_ptr<Captioner> captioner = make_captioner(config, train);
  sources.captions = caption_images(comm, *captioner, train, sources.dedup.unique, positives_dir(run), show_progress);
  return sources;
}

// SPN4CIR mines with a separate one-vector encoder (zscir/srm_utils.py); the mean of SPRC's
// query-token features is the one vector its own target side gives.
torch::Tensor mining_vectors(const torch::Tensor& embeddings) {
  if (embeddings.dim() == 2) return embeddings;
  const torch::Tensor mean = embeddings.mean(1);
  return mean / mean.norm(2, 1, true).clamp_min(1e-12);
}

std::vector<std::string> generated_text_words(const ExperimentConfig& config, const PositiveSources& sources) {
  std::vector<std::string> texts = sources.captions;
  for (const std::string& text :
       ModificationTemplates(config.positives.templates, config.where("positives.templates")).fixed_texts())
    texts.push_back(text);
  return texts;
}

std::vector<CirrTriplet> canonical_triplets(const std::vector<CirrTriplet>& triplets, const Deduplication& dedup) {
  std::vector<CirrTriplet> out = triplets;
  for (CirrTriplet& triplet : out) {
    triplet.reference = dedup.canonical[triplet.reference];
    triplet.target = dedup.canonical[triplet.target];
    for (int64_t& image : triplet.equally_good_targets) image = dedup.canonical[image];
    for (int64_t& image : triplet.members) image = dedup.canonical[image];
  }
  return out;
}

std::vector<CirrTriplet> generate_triplets(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                           CirModel& miner, const std::function<const TripletData&()>& images,
                                           const CirrSplit& train, const PositiveSources& sources,
                                           const std::vector<CirrTriplet>& annotated, const Tokenizer& tokenizer,
                                           bool show_progress) {
  const fs::path file = positives_dir(run) / "cap.rc2.generated.json";
  if (run.stage_done(Stage::Positives)) {
    std::vector<CirrTriplet> generated = load_cirr_triplets(file, train);
    spdlog::info("positives: reusing {} generated triplets from {}", generated.size(), file.string());
    return generated;
  }
  const int64_t n = static_cast<int64_t>(sources.dedup.unique.size());
  const MiningWindow window = mining_window(config, n);
  const ModificationTemplates templates(config.positives.templates, config.where("positives.templates"));
  const torch::Tensor local = encode_image_rows(miner, images().images, shard_range(n, comm.size(), comm.rank()),
                                                config, "embedding images for mining", show_progress);
  const torch::Tensor embeddings = comm.all_gather(mining_vectors(local).contiguous());
  const std::vector<int64_t> queries = mining_queries(config, sources, annotated);
  const torch::Tensor partners = mine_partners(comm, embeddings, queries, window, show_progress);

  // (query row, partner row) pairs in query order, optionally a seeded subset.
  std::vector<std::pair<int64_t, int64_t>> pairs;
  const auto partner_of = partners.accessor<int64_t, 2>();
  for (size_t q = 0; q < queries.size(); ++q)
    for (int64_t p = 0; p < window.partners; ++p) pairs.emplace_back(queries[q], partner_of[q][p]);
  const int64_t keep = config.positives.max_triplets;
  if (keep > 0 && keep < static_cast<int64_t>(pairs.size())) {
    std::mt19937_64 rng(mix_seed(static_cast<uint64_t>(config.seed), kSubsampleStream));
    std::vector<int64_t> order(pairs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    seeded_shuffle(order, rng);
    order.resize(keep);
    std::sort(order.begin(), order.end());
    std::vector<std::pair<int64_t, int64_t>> kept;
    for (int64_t i : order) kept.push_back(pairs[i]);
    pairs = std::move(kept);
  }

  if (run.writer()) {
    const uint64_t template_seed = mix_seed(static_cast<uint64_t>(config.seed), kTemplateStream);
    const auto tokens = [&](const std::string& text) { return tokenizer.count_tokens(text); };
    json triplets = json::array();
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto [reference, target] = pairs[i];
      std::mt19937_64 rng(mix_seed(template_seed, i));
      const std::string& ref = train.images[sources.dedup.unique[reference]];
      const std::string& tgt = train.images[sources.dedup.unique[target]];
      // Every template's text, as get_cir_data.py writes them; training draws one per step.
      const std::vector<std::string> texts = templates.compose_each(
          sources.captions[reference], sources.captions[target], rng, tokens, config.data.max_words);
      triplets.push_back({{"pairid", i},
                          {"reference", ref},
                          {"target_hard", tgt},
                          {"target_soft", {{tgt, 1.0}}},
                          {"caption", texts.size() == 1 ? json(texts[0]) : json(texts)},
                          {"img_set", {{"id", i}, {"members", {ref, tgt}}}}});
    }
    write_file_atomic(file, triplets.dump(1) + "\n");
  }
  comm.barrier();
  std::vector<CirrTriplet> generated = load_cirr_triplets(file, train);
  run.record_artifact("generated_triplets", file);
  run.record_result(Stage::Positives, "summary",
                    {{"images", train.images.size()},
                     {"unique_images", n},
                     {"queries", queries.size()},
                     {"generated_triplets", generated.size()},
                     {"rank_window", {window.lo, window.hi}}});
  run.mark_stage_done(Stage::Positives);
  spdlog::info("positives: {} triplets generated from {} query images (ranks [{}, {}) of {} images)", generated.size(),
               queries.size(), window.lo, window.hi, n);
  return generated;
}

std::vector<CirrTriplet> mix_triplets(const std::vector<CirrTriplet>& annotated,
                                      const std::vector<CirrTriplet>& generated, int64_t annotated_repeats) {
  std::vector<CirrTriplet> mixed;
  for (int64_t r = 0; r < annotated_repeats; ++r) mixed.insert(mixed.end(), annotated.begin(), annotated.end());
  mixed.insert(mixed.end(), generated.begin(), generated.end());
  return mixed;
}

}  // namespace spn
