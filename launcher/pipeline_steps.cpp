#include "launcher/pipeline_steps.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "core/error.h"
#include "core/files.h"
#include "data/shapes_benchmark.h"
#include "data/split_check.h"
#include "data/splits.h"
#include "data/text_triplets.h"
#include "data/vocabulary.h"
#include "models/clip_export.h"
#include "models/clip_model.h"
#include "models/clip_tokenizer.h"
#include "models/dual_encoder_model.h"
#include "models/sprc_model.h"
#include "models/zero_shot_model.h"
#include "models/zero_shot_tokenizer.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/image_stage1.h"
#include "train/mapper_export.h"
#include "train/reference_bank.h"
#include "train/rtd_stage1.h"
#include "train/searle_concepts.h"
#include "train/searle_oti.h"
#include "train/searle_oti_queries.h"
#include "train/searle_stage1.h"
#include "train/stage1.h"
#include "train/stage2.h"

namespace spn {
namespace {

bool always(const ExperimentConfig&) { return true; }
bool positives_enabled(const ExperimentConfig& config) { return config.positives.enabled; }
bool stage2_enabled(const ExperimentConfig& config) { return config.stage2.enabled; }
bool stage2_submissions_wanted(const ExperimentConfig& config) {
  return stage2_enabled(config) && submissions_wanted(config);
}
bool mines_before_stage1(const ExperimentConfig& config) { return mining_point(config) == MiningPoint::BeforeStage1; }
bool mines_after_stage1(const ExperimentConfig& config) { return mining_point(config) == MiningPoint::AfterStage1; }
bool exports_clip(const ExperimentConfig& config) { return !config.stage1.export_clip_dir.empty(); }

void load_dataset(RunContext& ctx) {
  const ExperimentConfig& config = ctx.config;
  if (reads_data(config)) {
    if (config.data.kind == DataKind::Shapes) {
      const auto began = std::chrono::steady_clock::now();
      const fs::path root = config.data.root;
      if (ensure_shapes_benchmark(ctx.comm, config.data.shapes, root, ctx.show_progress))
        spdlog::info("generated the built-in benchmark in {} ({:.1f} s)", root.string(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      else
        spdlog::info("using the built-in benchmark in {}", root.string());
    } else if (config.data.kind != DataKind::Images) {
      check_annotation_layout(config, "data.root", config.data.root, config.data.kind);
    }
    ctx.train = load_split(config.data, "train");
    // A folder of images has no triplets to check; load_split refused an empty one.
    if (const std::string missing = config.data.kind == DataKind::Images ? "" : missing_targets(ctx.train);
        !missing.empty())
      throw UserError(config.data.root + ": " + missing + "; a training split needs one for every item");
  } else {
    spdlog::info("nothing is trained and [data] is not evaluated: the training split is not read");
  }
  // Every split the run reads, and every image they name, is checked here, before any
  // compute: a bad validation item would otherwise surface only after stage 1.
  ctx.eval_sets = load_eval_sets(ctx.comm, config, ctx.show_progress);
  std::vector<const CirrSplit*> read;
  if (reads_data(config)) read.push_back(&ctx.train);
  for (const EvalSet& set : ctx.eval_sets) {
    read.push_back(&set.split);
    if (set.submission) read.push_back(&*set.submission);
  }
  for (const CirrSplit* split : read) check_split_images(ctx.comm, *split, ctx.show_progress);
}

void caption_images(RunContext& ctx) {
  ctx.sources = prepare_positive_sources(ctx.comm, ctx.config, ctx.run, ctx.train, ctx.show_progress);
}

void choose_training_set(RunContext& ctx) {
  // With positive scaling every unique image is a training image (a bank row and a
  // mining candidate); otherwise the images of the annotated triplets, in order of
  // first use. The zero-shot families train on images alone: every image of the split,
  // used by a triplet or not.
  ctx.annotated = ctx.sources ? canonical_triplets(ctx.train.triplets, ctx.sources->dedup) : ctx.train.triplets;
  if (zero_shot_method_of(ctx.config.model)) {
    ctx.image_rows.resize(ctx.train.images.size());
    std::iota(ctx.image_rows.begin(), ctx.image_rows.end(), 0);
    return;
  }
  ctx.image_rows = ctx.sources ? ctx.sources->dedup.unique : images_used_by(ctx.annotated);
}

// The training vocabulary, fixed for the life of a run: built from the training
// captions (and generated texts' words) on first start, read back on resume.
Vocabulary run_vocabulary(RunContext& ctx) {
  const fs::path path = ctx.run.dir() / "vocab.txt";
  if (rank0_sees(ctx.comm, path)) return Vocabulary::load(path);
  std::vector<std::string> captions;
  for (const auto& triplet : ctx.train.triplets) {
    captions.push_back(triplet.caption);
    captions.insert(captions.end(), triplet.captions.begin(), triplet.captions.end());
  }
  if (ctx.sources) {
    const std::vector<std::string> words = generated_text_words(ctx.config, *ctx.sources);
    captions.insert(captions.end(), words.begin(), words.end());
  }
  Vocabulary vocabulary = Vocabulary::build(captions);
  if (ctx.run.writer()) write_file_atomic(path, vocabulary.serialize());
  ctx.comm.barrier();
  return vocabulary;
}

void make_tokenizer(RunContext& ctx) {
  const ExperimentConfig& config = ctx.config;
  if (config.model.family == "sprc") {
    ctx.tokenizer = make_sprc_tokenizer(config);
    return;
  }
  const std::optional<ZeroShotMethod> zero_shot = zero_shot_method_of(config.model);
  if (config.model.text_encoder != "clip" && !zero_shot) {
    ctx.tokenizer = std::make_unique<Vocabulary>(run_vocabulary(ctx));
    return;
  }
  if (config.model.clip_dir.empty())
    throw UserError(config.where("model.clip_dir") +
                    ": the clip text encoder needs a CLIP model directory (its "
                    "tokenizer is vocab.json + merges.txt or tokenizer.json there)");
  const fs::path clip_dir = config.model.clip_dir;
  if (!fs::exists(clip_dir / "vocab.json") && !fs::exists(clip_dir / "tokenizer.json"))
    throw UserError(config.where("model.clip_dir") + ": " + missing_clip_file_message(clip_dir, "vocab.json"));
  auto tokenizer = std::make_unique<ClipTokenizer>(ClipTokenizer::from_directory(clip_dir));
  tokenizer->set_truncation(config.model.truncation);
  if (!zero_shot) {
    ctx.tokenizer = std::move(tokenizer);
    return;
  }
  try {
    ctx.tokenizer = std::make_unique<ComposedPromptTokenizer>(std::move(*tokenizer), *zero_shot);
  } catch (const UserError& error) {
    throw UserError(config.where("model.clip_dir") + ": " + error.what());
  }
}

void make_model(RunContext& ctx) {
  // SEARLE's concept vocabulary is read (and a missing file refused) before any compute.
  if (ctx.config.model.family == "searle" &&
      (reads_data(ctx.config) || ctx.config.searle.query_words == SearleQueryWords::Oti))
    searle_concepts(ctx.config);
  torch::manual_seed(static_cast<uint64_t>(ctx.config.seed));
  ctx.model = make_cir_model(ctx.config, ctx.tokenizer->size());
  ctx.model->to(ctx.device);
}

void record_training(RunRecord& run, Stage stage, const TrainingSummary& summary, const fs::path& checkpoint) {
  run.record_result(stage, "train",
                    {{"steps", static_cast<double>(summary.steps)},
                     {"final_loss", summary.final_loss},
                     {"samples_per_s", summary.samples_per_second},
                     {"seconds", summary.seconds}});
  run.record_artifact(stage_name(stage) + std::string("_checkpoint"), checkpoint);
}

// RTD's text triplets: rtd.text_triplets, or the built-in benchmark's triplets with its
// images' descriptions.
std::vector<TextTriplet> rtd_text_triplets(const RunContext& ctx) {
  const ExperimentConfig& config = ctx.config;
  try {
    if (!config.rtd.text_triplets.empty()) return read_text_triplets(config.rtd.text_triplets);
    return text_triplets_from_descriptions(ctx.train, ctx.train.root / "descriptions.json");
  } catch (const UserError& error) {
    throw UserError(config.where("rtd.text_triplets") + ": " + error.what());
  }
}

// The evaluation a stage that keeps its best epoch runs after each: [data]'s split,
// which config_checks makes sure is evaluated when a stage selects; none when it is not.
Evaluator data_split_evaluator(RunContext& ctx) {
  const auto found = std::find_if(ctx.eval_sets.begin(), ctx.eval_sets.end(),
                                  [](const EvalSet& set) { return set.target.dataset == EvalDataset::Data; });
  if (found == ctx.eval_sets.end()) return {};
  const EvalSet& data_set = *found;
  return [&ctx, &data_set] {
    return evaluate_split(ctx.comm, *ctx.model, data_set.split, *ctx.tokenizer, ctx.config, /*show_progress=*/false);
  };
}

// Stage-1 training of the model family: on the training split's images alone for
// Pic2Word (its training prompt "a photo of" in CLIP's tokens) and SEARLE (the OTI
// pre-pass's words, kept in the run directory, then φ's distillation), on text triplets
// for RTD, on the triplets otherwise.
TrainingSummary train_stage_of_family(RunContext& ctx, Stage stage, const std::shared_ptr<CirModel>& owner) {
  const std::optional<ZeroShotMethod> method = zero_shot_method_of(ctx.config.model);
  // Empty unless the stage keeps its best epoch.
  const Evaluator evaluate_each_epoch =
      stage1_keeps_best_epoch(ctx.config, stage) ? data_split_evaluator(ctx) : Evaluator{};
  if (!method)
    return train_stage1(ctx.comm, ctx.config, ctx.run, owner, ctx.training_data(), ctx.show_progress, stage,
                        evaluate_each_epoch);
  const auto& tokenizer = dynamic_cast<const ComposedPromptTokenizer&>(*ctx.tokenizer);
  if (*method == ZeroShotMethod::kRtd)
    return train_on_text_triplets(ctx.comm, ctx.config, ctx.run, owner, rtd_text_triplets(ctx), tokenizer,
                                  ctx.show_progress, evaluate_each_epoch);
  if (*method == ZeroShotMethod::kSearle) {
    const auto searle = std::dynamic_pointer_cast<ZeroShotModel>(owner);
    const ImageRows& images = ctx.training_images().images;
    SearleWords words;  // none to distil from when no step runs (stage1.epochs = 0)
    if (ctx.config.stage1.epochs > 0) {
      words = prepare_searle_words(ctx.comm, ctx.config, *searle, images, tokenizer.clip(),
                                   ctx.run.dir() / "oti_tokens.safetensors", ctx.show_progress);
      ctx.run.record_artifact("oti_tokens", ctx.run.dir() / "oti_tokens.safetensors");
    }
    return train_phi(ctx.comm, ctx.config, ctx.run, searle, images, words, tokenizer.clip(), ctx.show_progress,
                     evaluate_each_epoch);
  }
  const torch::Tensor prompt = tokenizer.clip().encode_batch({pic2word_training_prompt()}, ctx.config.data.max_words);
  return train_on_images(ctx.comm, ctx.config, ctx.run, owner, ctx.training_images().images, prompt, ctx.show_progress,
                         evaluate_each_epoch);
}

// Stage-1 training as `stage` or, when an earlier attempt finished it, its result's
// weights (checkpoints/<stage>-final.pt, or -best.pt when it keeps its best epoch).
void train_or_load(RunContext& ctx, Stage stage, CirModel& model, const std::shared_ptr<CirModel>& owner) {
  const fs::path result =
      result_checkpoint(ctx.run.checkpoints_dir(), stage, stage1_keeps_best_epoch(ctx.config, stage));
  if (ctx.run.stage_done(stage)) {
    load_checkpoint(result, model, nullptr);
    spdlog::info("{} already finished; loaded {}", stage_name(stage), result.string());
    return;
  }
  const TrainingSummary summary = train_stage_of_family(ctx, stage, owner);
  spdlog::info("{}: {} steps, final loss {:.4f}, {:.1f} samples/s over {} rank(s); its result: {}", stage_name(stage),
               summary.steps, summary.final_loss, summary.samples_per_second, ctx.comm.size(), result.string());
  record_training(ctx.run, stage, summary, result);
  ctx.run.mark_stage_done(stage);
}

void prepare_mining_encoder(RunContext& ctx) {
  if (ctx.config.positives.initial_encoder) return;  // mine_positives takes the model as built
  ctx.miner = make_cir_model(ctx.config, ctx.tokenizer->size());
  ctx.miner->to(ctx.device);
  if (!ctx.config.positives.encoder_checkpoint.empty())
    load_target_side(ctx.config.positives.encoder_checkpoint, *ctx.miner);
  else
    train_or_load(ctx, Stage::MiningEncoder, *ctx.miner, ctx.miner);
}

void mine_positives(RunContext& ctx) {
  CirModel& miner = ctx.miner ? *ctx.miner : *ctx.model;
  ctx.generated = generate_triplets(
      ctx.comm, ctx.config, ctx.run, miner, [&]() -> const TripletData& { return ctx.training_images(); }, ctx.train,
      *ctx.sources, ctx.annotated, *ctx.tokenizer, ctx.show_progress);
}

// stage1.export_mapper_weights: the zero-shot mapping network as model.mapper_weights
// reads it, written by rank 0 after stage 1 (again on a resumed run: the same weights).
void export_trained_mapper(RunContext& ctx) {
  const std::string& file = ctx.config.stage1.export_mapper_weights;
  if (file.empty()) return;
  if (ctx.comm.rank() == 0) {
    auto& zero_shot = dynamic_cast<ZeroShotModel&>(*ctx.model);
    export_mapper_weights(zero_shot.mapper(), file);
    ctx.run.record_artifact("mapper_weights", file);
    spdlog::info("stage 1: wrote the mapping network to {}", file);
  }
  ctx.comm.barrier();
}

void train_stage_1(RunContext& ctx) {
  const ExperimentConfig& config = ctx.config;
  if (!reads_data(config)) {
    // Zero-shot: nothing to train on. The model is evaluated as built (seeded, and
    // stage1.init_checkpoint's weights when given), the same way on every attempt, so
    // no checkpoint or done marker is needed.
    if (!config.stage1.init_checkpoint.empty()) {
      if (!fs::exists(config.stage1.init_checkpoint))
        throw UserError(config.where("stage1.init_checkpoint") + ": " + config.stage1.init_checkpoint + " not found");
      load_checkpoint(config.stage1.init_checkpoint, *ctx.model, nullptr);
    }
    spdlog::info("stage 1: no training split (stage1.epochs = 0); evaluating the model as built{}",
                 config.stage1.init_checkpoint.empty() ? "" : " from " + config.stage1.init_checkpoint);
    return;
  }
  if (!ctx.run.stage_done(Stage::Stage1) && !config.stage1.init_checkpoint.empty()) {
    if (!fs::exists(config.stage1.init_checkpoint))
      throw UserError(config.where("stage1.init_checkpoint") + ": " + config.stage1.init_checkpoint + " not found");
    load_checkpoint(config.stage1.init_checkpoint, *ctx.model, nullptr);
    spdlog::info("stage 1 starts from the weights in {}", config.stage1.init_checkpoint);
  }
  train_or_load(ctx, Stage::Stage1, *ctx.model, ctx.model);
  export_trained_mapper(ctx);
}

// The trained CLIP as a CLIP model directory (stage1.export_clip_dir; config_checks
// makes sure the model is a dual encoder of CLIP's towers). Written again on a resumed
// run: it is cheap, and the directory then always holds stage 1's result (its last
// epoch, or the kept one with stage1.eval_every_epoch).
void export_clip(RunContext& ctx) {
  const fs::path out = ctx.config.stage1.export_clip_dir;
  if (ctx.comm.rank() == 0) {
    auto& model = dynamic_cast<DualEncoderModel&>(*ctx.model);
    write_clip_directory(dynamic_cast<ClipImageTower&>(model.image_encoder()),
                         dynamic_cast<ClipTextTower&>(model.text_encoder()), model.logit_scale().log().item<double>(),
                         ctx.config.model.clip_dir, out);
  }
  ctx.comm.barrier();
  ctx.run.record_artifact("clip_dir", out);
  spdlog::info("stage 1: wrote the trained CLIP to {}", out.string());
}

// SEARLE-OTI's query encoder (searle.query_words = "oti") for an evaluated split, its
// words kept as oti_queries-<label>.safetensors; none otherwise (the model's own queries).
QueryEncoder query_encoder_of(RunContext& ctx, const CirrSplit& split, std::string label) {
  if (ctx.config.model.family != "searle" || ctx.config.searle.query_words != SearleQueryWords::Oti) return {};
  std::replace(label.begin(), label.end(), '/', '-');
  const fs::path file = ctx.run.dir() / ("oti_queries-" + label + ".safetensors");
  const auto& tokenizer = dynamic_cast<const ComposedPromptTokenizer&>(*ctx.tokenizer);
  QueryEncoder encoder = searle_oti_queries(ctx.comm, ctx.config, dynamic_cast<ZeroShotModel&>(*ctx.model), split,
                                            tokenizer.clip(), file, ctx.show_progress);
  ctx.run.record_artifact("oti_queries_" + label, file);
  return encoder;
}

void evaluate_stage(RunContext& ctx, Stage trained) {
  const Stage marker = evaluation_of(trained);
  if (ctx.run.stage_done(marker)) return;
  for (const EvalSet& set : ctx.eval_sets) {
    const std::string& key = set.target.results_key;
    const auto metrics = evaluate_split(ctx.comm, *ctx.model, set.split, *ctx.tokenizer, ctx.config, ctx.show_progress,
                                        query_encoder_of(ctx, set.split, key));
    ctx.run.record_result(trained, key, metrics);
    ctx.run.drop_evaluation_lines(marker, key);  // an attempt killed before its marker logged them
    ctx.run.log_metrics({{"stage", stage_name(marker)}, {"split", key}, {"metrics", metrics}});
  }
  ctx.run.mark_stage_done(marker);
}

void write_stage_submissions(RunContext& ctx, Stage trained) {
  const Stage marker = submissions_of(trained);
  if (ctx.run.stage_done(marker)) return;
  const std::string stage = stage_name(trained);
  for (const EvalSet& set : ctx.eval_sets) {
    if (!set.submission) continue;
    const fs::path prefix = ctx.run.dir() / "submissions" / (stage + "-" + set.submission_prefix);
    if (ctx.comm.rank() == 0) fs::create_directories(prefix.parent_path());
    for (const fs::path& file :
         write_submissions(ctx.comm, *ctx.model, *set.submission, *ctx.tokenizer, ctx.config, prefix, ctx.show_progress,
                           query_encoder_of(ctx, *set.submission, set.submission_prefix))) {
      ctx.run.record_artifact(stage + "_submission_" + file.stem().string(), file);
      spdlog::info("{}: wrote {}", stage, file.string());
    }
  }
  ctx.run.mark_stage_done(marker);
}

void build_bank(RunContext& ctx) {
  if (ctx.run.stage_done(Stage::Stage2)) return;  // its result is all stage 2 still needs
  ctx.bank =
      prepare_candidate_bank(ctx.comm, *ctx.model, ctx.training_images(), ctx.train, ctx.config, ctx.show_progress);
  ctx.run.record_artifact("bank", ctx.bank->path);
  if (!stage2_needs_reference_bank(ctx.config, *ctx.model)) return;
  ctx.reference_bank =
      prepare_reference_bank(ctx.comm, *ctx.model, ctx.training_data(), ctx.train, ctx.config, ctx.show_progress);
  ctx.run.record_artifact("reference_bank", ctx.reference_bank->path);
}

void train_stage_2(RunContext& ctx) {
  const fs::path result = stage2_result_checkpoint(ctx.config, ctx.run);
  if (!ctx.run.stage_done(Stage::Stage2)) {
    const TripletData data = ctx.training_data();
    const TrainingSummary summary =
        train_stage2(ctx.comm, ctx.config, ctx.run, ctx.model, data, *ctx.bank,
                     ctx.reference_bank ? &*ctx.reference_bank : nullptr, data_split_evaluator(ctx), ctx.show_progress);
    spdlog::info("stage 2: {} steps against a bank of {} candidates, final loss {:.4f}, {:.1f} samples/s",
                 summary.steps, ctx.bank->rows, summary.final_loss, summary.samples_per_second);
    record_training(ctx.run, Stage::Stage2, summary, result);
    ctx.run.mark_stage_done(Stage::Stage2);
  } else {
    spdlog::info("stage 2 already finished");
  }
  load_checkpoint(result, *ctx.model, nullptr);
  spdlog::info("stage 2's result: {}", result.string());
}

}  // namespace

MiningPoint mining_point(const ExperimentConfig& config) {
  const PositivesConfig& positives = config.positives;
  if (!positives.enabled) return MiningPoint::Never;
  if (!positives.encoder_checkpoint.empty() || positives.warmup_encoder || positives.initial_encoder)
    return MiningPoint::BeforeStage1;
  return MiningPoint::AfterStage1;
}

const std::vector<PipelineStep>& pipeline_steps() {
  static const std::vector<PipelineStep> steps = {
      {"dataset", always, load_dataset},
      {"captions", positives_enabled, caption_images},
      {"training set", always, choose_training_set},
      {"tokenizer", always, make_tokenizer},
      {"model", always, make_model},
      {"mining encoder", mines_before_stage1, prepare_mining_encoder},
      {"positives", mines_before_stage1, mine_positives},
      {"stage 1", always, train_stage_1},
      {"CLIP export", exports_clip, export_clip},
      {"evaluation", always, [](RunContext& ctx) { evaluate_stage(ctx, Stage::Stage1); }},
      {"submissions", submissions_wanted, [](RunContext& ctx) { write_stage_submissions(ctx, Stage::Stage1); }},
      {"positives", mines_after_stage1, mine_positives},
      {"bank", stage2_enabled, build_bank},
      {"stage 2", stage2_enabled, train_stage_2},
      {"evaluation", stage2_enabled, [](RunContext& ctx) { evaluate_stage(ctx, Stage::Stage2); }},
      {"submissions", stage2_submissions_wanted, [](RunContext& ctx) { write_stage_submissions(ctx, Stage::Stage2); }},
  };
  return steps;
}

}  // namespace spn
