#include "launcher/pipeline.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/log.h"
#include "data/cirr.h"
#include "data/shapes_benchmark.h"
#include "data/splits.h"
#include "data/vocabulary.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "dist/threads.h"
#include "launcher/environment.h"
#include "models/cir_model.h"
#include "train/candidate_bank.h"
#include "train/checkpoint.h"
#include "train/cirr_metrics.h"
#include "train/evaluate.h"
#include "train/positive_scaling.h"
#include "train/stage1.h"
#include "train/stage2.h"
#include "train/triplet_data.h"

namespace spn {
namespace {

// The training vocabulary, fixed for the life of a run: built from the training
// captions on first start, read back from the run directory on resume.
Vocabulary run_vocabulary(Communicator& comm, RunRecord& run, const CirrSplit& train,
                          const std::vector<std::string>& extra_texts) {
  const fs::path path = run.dir() / "vocab.txt";
  // Rank 0 decides: a rank that saw the file rank 0 has just written would skip the
  // barrier below and leave its peers waiting in mismatched collectives.
  if (broadcast_string(comm, fs::exists(path) ? "1" : "0", 0) == "1") return Vocabulary::load(path);
  std::vector<std::string> captions;
  for (const auto& triplet : train.triplets) captions.push_back(triplet.caption);
  captions.insert(captions.end(), extra_texts.begin(), extra_texts.end());
  Vocabulary vocabulary = Vocabulary::build(captions);
  if (run.writer()) write_file_atomic(path, vocabulary.serialize());
  comm.barrier();
  return vocabulary;
}

// CLIP's tokenizer for the clip text encoder, else the run's word vocabulary.
std::unique_ptr<Tokenizer> run_tokenizer(Communicator& comm, const ExperimentConfig& config, RunRecord& run,
                                         const CirrSplit& train, const std::vector<std::string>& extra_texts) {
  if (config.model.text_encoder != "clip")
    return std::make_unique<Vocabulary>(run_vocabulary(comm, run, train, extra_texts));
  if (config.model.clip_dir.empty())
    throw UserError(config.where("model.clip_dir") + ": the clip text encoder needs a CLIP model directory (its "
                                                     "tokenizer is vocab.json + merges.txt or tokenizer.json there)");
  const fs::path clip_dir = config.model.clip_dir;
  if (!fs::exists(clip_dir / "vocab.json") && !fs::exists(clip_dir / "tokenizer.json"))
    throw UserError(config.where("model.clip_dir") + ": " + missing_clip_file_message(clip_dir, "vocab.json"));
  auto tokenizer = std::make_unique<ClipTokenizer>(ClipTokenizer::from_directory(clip_dir));
  tokenizer->set_truncation(truncation_policy_from_name(config.model.truncation));
  return tokenizer;
}

fs::path prepare_dataset(Communicator& comm, const ExperimentConfig& config, bool show_progress) {
  const fs::path root = config.data.root;
  if (config.data.kind == "shapes") {
    const auto began = std::chrono::steady_clock::now();
    if (ensure_shapes_benchmark(comm, config.data.shapes, root, show_progress))
      spdlog::info("generated the built-in benchmark in {} ({:.1f} s)", root.string(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    else
      spdlog::info("using the built-in benchmark in {}", root.string());
  } else if (!fs::exists(root / "captions") || !fs::exists(root / "image_splits")) {
    if (config.data.kind == "fashioniq")
      throw UserError(config.where("data.root") + ": " + root.string() +
                      " is not a FashionIQ dataset: it needs captions/cap.<category>.<split>.json, "
                      "image_splits/split.<category>.<split>.json and images/<name>." +
                      config.data.fashioniq.image_extension +
                      " (FashionIQ: github.com/XiaoxiaoGuo/fashion-iq; the images from the links it gives)");
    throw UserError(config.where("data.root") + ": " + root.string() +
                    " is not a CIRR-format dataset: it needs captions/cap.rc2.<split>.json and "
                    "image_splits/split.rc2.<split>.json (CIRR: github.com/Cuberick-Orion/CIRR), with the images "
                    "at the relative paths the split files give");
  }
  return root;
}

void evaluate_stage(Communicator& comm, const ExperimentConfig& config, RunRecord& run, CirModel& model,
                    const CirrSplit& split, const Tokenizer& tokenizer, const std::string& stage, bool show_progress) {
  const std::string marker = "eval-" + stage;
  if (run.stage_done(marker)) return;
  const auto metrics = evaluate_split(comm, model, split, tokenizer, config, show_progress);
  run.record_result(stage, split.name, metrics);
  run.log_metrics({{"stage", marker}, {"split", split.name}, {"metrics", metrics}});
  if (!config.eval.submission_split.empty()) {
    const CirrSplit test = load_split(config.data, config.eval.submission_split);
    const fs::path prefix = run.dir() / "submissions" / (stage + "-" + test.name);
    if (comm.rank() == 0) fs::create_directories(prefix.parent_path());
    for (const fs::path& file : write_submissions(comm, model, test, tokenizer, config, prefix, show_progress)) {
      run.record_artifact(stage + "_submission_" + file.stem().string(), file);
      spdlog::info("{}: wrote {}", stage, file.string());
    }
  }
  run.mark_stage_done(marker);
}

void record_training(RunRecord& run, const std::string& stage, const TrainingSummary& summary,
                     const fs::path& checkpoint) {
  run.record_result(stage, "train",
                    {{"steps", static_cast<double>(summary.steps)},
                     {"final_loss", summary.final_loss},
                     {"samples_per_s", summary.samples_per_second},
                     {"seconds", summary.seconds}});
  run.record_artifact(stage + "_checkpoint", checkpoint);
}

void run_stages(Communicator& comm, const ExperimentConfig& config, RunRecord& run, bool show_progress) {
  const fs::path root = prepare_dataset(comm, config, show_progress);
  const CirrSplit train = load_split(config.data, "train");
  const CirrSplit eval_split = load_split(config.data, config.eval.split);
  if (!train.has_targets())
    throw UserError(root.string() + ": split 'train' has no target_hard; it cannot be trained on");

  // Positive scaling, part 1 (no model needed): de-duplication and captions.
  std::optional<PositiveSources> sources;
  if (config.positives.enabled) sources = prepare_positive_sources(comm, config, run, train, show_progress);
  const std::unique_ptr<Tokenizer> tokenizer = run_tokenizer(
      comm, config, run, train, sources ? generated_text_words(config, *sources) : std::vector<std::string>{});

  torch::manual_seed(static_cast<uint64_t>(config.seed));
  std::shared_ptr<CirModel> model = make_cir_model(config, tokenizer->size());

  // Training images are decoded once, only when something needs them: every unique
  // image with positive scaling, else the images of the annotated triplets.
  const std::vector<CirrTriplet> annotated =
      sources ? canonical_triplets(train.triplets, sources->dedup) : train.triplets;
  std::optional<TripletData> images;
  const auto training_images = [&]() -> const TripletData& {
    if (!images)
      images = load_training_images(comm, train, sources ? sources->dedup.unique : images_used_by(annotated),
                                    config.data, show_progress);
    return *images;
  };
  std::vector<CirrTriplet> generated;
  const auto mine = [&](CirModel& miner) {
    generated = generate_triplets(comm, config, run, miner, training_images, train, *sources, annotated, *tokenizer,
                                  show_progress);
  };
  const auto training_data = [&] {
    const int64_t repeats = sources ? config.positives.annotated_repeats : 1;
    constexpr uint64_t kTrainingTextStream = 401;  // seed stream of the training texts drawn per step
    return with_triplets(training_images(), mix_triplets(annotated, generated, repeats), *tokenizer,
                         config.data.max_words, mix_seed(static_cast<uint64_t>(config.seed), kTrainingTextStream));
  };
  // Stage-1 training as `stage` (checkpoints/<stage>-final.pt), or, when an earlier
  // attempt finished it, its final weights.
  const auto train_or_load = [&](const std::string& stage, const std::shared_ptr<CirModel>& target) {
    const fs::path final_weights = run.checkpoints_dir() / (stage + "-final.pt");
    if (run.stage_done(stage)) {
      load_checkpoint(final_weights, *target, nullptr);
      spdlog::info("{} already finished; loaded {}", stage, final_weights.string());
      return;
    }
    const TrainingSummary summary = train_stage1(comm, config, run, target, training_data(), show_progress, stage);
    spdlog::info("{}: {} steps, final loss {:.4f}, {:.1f} samples/s over {} rank(s)", stage, summary.steps,
                 summary.final_loss, summary.samples_per_second, comm.size());
    record_training(run, stage, summary, final_weights);
    run.mark_stage_done(stage);
  };
  // Mining with a given or a warmed-up encoder happens first, so both stages train on
  // its triplets.
  if (sources && !config.positives.encoder_checkpoint.empty()) {
    const std::shared_ptr<CirModel> miner = make_cir_model(config, tokenizer->size());
    load_target_side(config.positives.encoder_checkpoint, *miner);
    mine(*miner);
  } else if (sources && config.positives.warmup_encoder) {
    const std::shared_ptr<CirModel> miner = make_cir_model(config, tokenizer->size());
    train_or_load("mining-encoder", miner);
    mine(*miner);
  }

  if (!run.stage_done("stage1") && !config.stage1.init_checkpoint.empty()) {
    if (!fs::exists(config.stage1.init_checkpoint))
      throw UserError(config.where("stage1.init_checkpoint") + ": " + config.stage1.init_checkpoint + " not found");
    load_checkpoint(config.stage1.init_checkpoint, *model, nullptr);
    spdlog::info("stage 1 starts from the weights in {}", config.stage1.init_checkpoint);
  }
  train_or_load("stage1", model);
  evaluate_stage(comm, config, run, *model, eval_split, *tokenizer, "stage1", show_progress);
  // Mining with this run's stage-1 target encoder: stage 2 trains on its triplets.
  if (sources && config.positives.encoder_checkpoint.empty() && !config.positives.warmup_encoder) mine(*model);
  if (!config.stage2.enabled) return;

  const fs::path stage2_result = stage2_result_checkpoint(config, run);
  if (!run.stage_done("stage2")) {
    const TripletData data = training_data();
    const CandidateBank bank = prepare_candidate_bank(comm, *model, data, train, config, show_progress);
    run.record_artifact("bank", bank.path);
    const Evaluator evaluate = [&] {
      return evaluate_split(comm, *model, eval_split, *tokenizer, config, /*show_progress=*/false);
    };
    const TrainingSummary summary = train_stage2(comm, config, run, model, data, bank, evaluate, show_progress);
    spdlog::info("stage 2: {} steps against a bank of {} candidates, final loss {:.4f}, {:.1f} samples/s",
                 summary.steps, bank.rows, summary.final_loss, summary.samples_per_second);
    record_training(run, "stage2", summary, stage2_result);
    run.mark_stage_done("stage2");
  } else {
    spdlog::info("stage 2 already finished");
  }
  load_checkpoint(stage2_result, *model, nullptr);
  spdlog::info("stage 2's result: {}", stage2_result.string());
  evaluate_stage(comm, config, run, *model, eval_split, *tokenizer, "stage2", show_progress);
}

}  // namespace

std::string format_results_table(const nlohmann::json& results, const std::string& split) {
  std::vector<std::string> recorded;
  for (const auto& [stage, splits] : results.items()) {
    if (recorded.empty() && splits.is_object() && splits.contains(split) && splits[split].is_object())
      for (const auto& [name, value] : splits[split].items()) recorded.push_back(name);
  }
  const std::vector<std::string> keys = metric_columns(recorded);
  const int width = std::any_of(keys.begin(), keys.end(), [](const std::string& key) { return key.size() > 9; }) ? 12 : 10;
  std::string table = "stage   ";
  for (const auto& key : keys) {
    char cell[32];
    std::snprintf(cell, sizeof cell, "%*s", width, key.c_str());
    table += cell;
  }
  table += "\n";
  for (const auto& [stage, splits] : results.items()) {
    if (!splits.is_object() || !splits.contains(split)) continue;
    char head[16];
    std::snprintf(head, sizeof head, "%-8s", stage.c_str());
    table += head;
    for (const auto& key : keys) {
      char cell[32];
      std::snprintf(cell, sizeof cell, "%*.2f", width, splits[split].value(key, 0.0));
      table += cell;
    }
    table += "\n";
  }
  return table;
}

void run_experiment(Communicator& comm, const ExperimentConfig& config, const CommandLine& command,
                    const std::string& run_id) {
  const bool rank0 = comm.rank() == 0;
  // Mined with this run's stage-1 encoder, generated triplets feed stage 2 only.
  if (config.positives.enabled && !config.stage2.enabled && config.positives.encoder_checkpoint.empty() &&
      !config.positives.warmup_encoder)
    throw UserError(config.where("positives.enabled") +
                    ": the generated triplets would never be trained on: they are mined with the stage-1 "
                    "encoder for stage 2, which is off. Set stage2.enabled = true, or mine before stage 1 "
                    "(positives.encoder_checkpoint or positives.warmup_encoder)");
  if (config.positives.warmup_encoder && !config.positives.encoder_checkpoint.empty())
    throw UserError(config.where("positives.warmup_encoder") +
                    ": positives.encoder_checkpoint already names the mining encoder; set one of the two");
  const std::string resolved = config_to_toml(config);
  RunRecord run(comm, config, resolved, run_id.empty() ? RunRecord::default_run_id(resolved) : run_id);
  log_to_directory(run.dir() / "logs", comm.rank());

  const auto print_results = [&] {
    if (!rank0) return;
    std::cout << "\nResults on split '" << config.eval.split << "' ("
              << (config.data.kind == "fashioniq" ? "FashionIQ" : "CIRR") << " protocol, %):\n"
              << format_results_table(run.results(), config.eval.split) << "run directory: " << run.dir().string()
              << "\n"
              << std::flush;
  };
  if (run.recorded_status() == "finished") {
    spdlog::info("run {} already finished; its recorded results:", run.dir().string());
    print_results();
    return;
  }
  if (!run.recorded_status().empty()) spdlog::info("resuming run {}", run.dir().string());
  else spdlog::info("run directory {}", run.dir().string());

  const int threads = configure_threads(comm, config.threads);
  const nlohmann::json environment = describe_environment(comm, threads);
  if (rank0) run.set_status("running");
  run.write_records(command, environment,
                    {{"experiment", config.seed}, {"data.shapes", config.data.shapes.seed}});
  try {
    run_stages(comm, config, run, rank0);
  } catch (const std::exception& error) {
    run.set_status("failed", error.what());  // this rank knows what went wrong; it says so
    throw;
  }
  if (rank0) run.set_status("finished");
  print_results();
}

}  // namespace spn
