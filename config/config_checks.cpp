#include "config/config_checks.h"

#include <algorithm>
#include <iterator>
#include <sstream>
#include <utility>

#include "config/protocol.h"
#include "core/error.h"

namespace spn {
namespace {

void check_positives(const ExperimentConfig& config) {
  const PositivesConfig& positives = config.positives;
  const int encoders = static_cast<int>(!positives.encoder_checkpoint.empty()) +
                       static_cast<int>(positives.warmup_encoder) + static_cast<int>(positives.initial_encoder);
  if (encoders > 1)
    throw UserError(config.where(positives.initial_encoder ? "positives.initial_encoder" : "positives.warmup_encoder") +
                    ": positives.encoder_checkpoint, positives.warmup_encoder and positives.initial_encoder each name "
                    "the mining encoder; set one of them");
  const bool mines_before_stage1 = encoders == 1;
  if (positives.annotated_repeats == 0 && (!positives.enabled || !mines_before_stage1))
    throw UserError(config.where("positives.annotated_repeats") +
                    ": 0 trains on the generated triplets alone, so stage 1 needs them: set positives.enabled = true "
                    "and mine before stage 1 (positives.initial_encoder, encoder_checkpoint or warmup_encoder)");
  // Mined with this run's stage-1 encoder, generated triplets feed stage 2 only.
  if (positives.enabled && !config.stage2.enabled && !mines_before_stage1)
    throw UserError(config.where("positives.enabled") +
                    ": the generated triplets would never be trained on: they are mined with the stage-1 "
                    "encoder for stage 2, which is off. Set stage2.enabled = true, or mine before stage 1 "
                    "(positives.encoder_checkpoint, warmup_encoder or initial_encoder)");
  if (positives.rank_hi - positives.rank_lo < positives.partners)
    throw UserError(config.where("positives.rank_lo") + ": the window [" + std::to_string(positives.rank_lo) + ", " +
                    std::to_string(positives.rank_hi) +
                    ") holds fewer than positives.partners = " + std::to_string(positives.partners) + " ranks");
}

// Each evaluation dataset once; the keys of a dataset that is not evaluated would be
// silently ignored; stage 2 selects its best epoch on [data]'s split.
void check_eval_datasets(const ExperimentConfig& config) {
  const std::vector<EvalDataset>& datasets = config.eval.datasets;
  const auto evaluated = [&](EvalDataset dataset) {
    return std::find(datasets.begin(), datasets.end(), dataset) != datasets.end();
  };
  for (size_t i = 0; i < datasets.size(); ++i)
    if (std::find(datasets.begin(), datasets.begin() + static_cast<long>(i), datasets[i]) !=
        datasets.begin() + static_cast<long>(i))
      throw UserError(config.where("eval.datasets") + ": \"" + choice_name(datasets[i]) + "\" is listed twice");
  const std::pair<const char*, EvalDataset> submissions[] = {{"eval.submission_split", EvalDataset::Data},
                                                             {"eval.cirr.submission_split", EvalDataset::Cirr},
                                                             {"eval.circo.submission_split", EvalDataset::Circo}};
  const std::string submission_splits[] = {config.eval.submission_split, config.eval.cirr.submission_split,
                                           config.eval.circo.submission_split};
  for (size_t i = 0; i < std::size(submissions); ++i)
    if (!submission_splits[i].empty() && !evaluated(submissions[i].second))
      throw UserError(config.where(submissions[i].first) + ": \"" + choice_name(submissions[i].second) +
                      "\" is not in eval.datasets, so its submission files would never be written");
  struct Selection {
    const char* stage;
    const char* key;
    bool on;
  };
  const Selection selections[] = {
      {"stage 1", "stage1.eval_every_epoch", config.stage1.eval_every_epoch && config.stage1.epochs > 0},
      {"stage 2", "stage2.eval_every_epoch", config.stage2.enabled && config.stage2.eval_every_epoch}};
  for (const Selection& selection : selections)
    if (selection.on && !evaluated(EvalDataset::Data))
      throw UserError(config.where("eval.datasets") + ": " + selection.stage +
                      " evaluates [data]'s eval.split after each epoch to keep its best checkpoint (" + selection.key +
                      "), so \"data\" must be listed");
}

void check_evaluation(const ExperimentConfig& config) {
  const AnnotationFormat protocol = protocol_of(config.data.kind);
  const std::vector<std::string> metrics = protocol_metric_names(protocol, config.data.fashioniq.categories);
  const std::pair<const char*, const std::string&> selections[] = {
      {"stage1.select_metric", config.stage1.select_metric}, {"stage2.select_metric", config.stage2.select_metric}};
  for (const auto& [key, metric] : selections) {
    if (std::find(metrics.begin(), metrics.end(), metric) != metrics.end()) continue;
    std::string known;
    for (const std::string& name : metrics) known += (known.empty() ? "" : ", ") + name;
    throw UserError(config.where(key) + ": \"" + metric + "\" is not a " + protocol_title(protocol) +
                    " metric (data.kind = \"" + choice_name(config.data.kind) + "\"): one of " + known);
  }
  if (protocol == AnnotationFormat::kFashionIq && !config.eval.submission_split.empty())
    throw UserError(config.where("eval.submission_split") + ": FashionIQ has no test server or submission format");
  check_eval_datasets(config);
}

// The CIRR-sized preset fixes the benchmark's sizes: a size key set beside it would be
// silently ignored.
void check_shapes(const ExperimentConfig& config) {
  const ShapesConfig& shapes = config.data.shapes;
  if (shapes.preset == ShapesPreset::None) return;
  const ShapesConfig defaults;
  const std::pair<const char*, bool> sizes[] = {{"train_triplets", shapes.train_triplets != defaults.train_triplets},
                                                {"val_triplets", shapes.val_triplets != defaults.val_triplets},
                                                {"extra_images", shapes.extra_images != defaults.extra_images},
                                                {"image_size", shapes.image_size != defaults.image_size},
                                                {"set_size", shapes.set_size != defaults.set_size}};
  for (const auto& [key, changed] : sizes)
    if (changed)
      throw UserError(config.where(std::string("data.shapes.") + key) + ": data.shapes.preset = \"" +
                      choice_name(shapes.preset) + "\" fixes the benchmark's sizes; remove data.shapes." + key +
                      " or set data.shapes.preset = \"none\"");
}

// A crop range the other way round would draw from an empty interval.
void check_augment(const ExperimentConfig& config) {
  const DataConfig& data = config.data;
  if (data.crop_scale_min <= data.crop_scale_max) return;
  std::ostringstream message;
  message << config.where("data.crop_scale_min") << ": " << data.crop_scale_min
          << " is above data.crop_scale_max = " << data.crop_scale_max
          << "; the crop's share of the image's area is drawn from [crop_scale_min, crop_scale_max]";
  throw UserError(message.str());
}

// What SPRC (model.family = "sprc") does not do yet, refused before any compute.
void check_sprc(const ExperimentConfig& config) {
  if (config.model.family != "sprc") return;
  const std::string what = "with model.family = \"sprc\" ";
  if (config.stage1.negatives != std::vector<NegativeType>{NegativeType::Target})
    throw UserError(config.where("stage1.negatives") + ": SPRC's stage 1 takes the usual negatives only " + what +
                    "(its loss is itc + rtc + align over in-batch targets); set stage1.negatives = [\"target\"]");
}

// What RTD (model.family = "rtd") needs: φ, and text triplets to train on.
void check_rtd(const ExperimentConfig& config) {
  const std::string what = "with model.family = \"rtd\"";
  if (config.model.mapper_weights.empty())
    throw UserError(config.where("model.mapper_weights") + ": " + what +
                    " phi (SEARLE's mapping network) is frozen and must be given: a safetensors file with SEARLE's "
                    "names, e.g. exported by a SEARLE run");
  if (config.stage1.epochs > 0 && config.rtd.text_triplets.empty() && config.data.kind != DataKind::Shapes)
    throw UserError(config.where("rtd.text_triplets") + ": " + what +
                    " stage 1 trains on text triplets: name a JSON file of them (RTD's format); only the built-in "
                    "benchmark (data.kind = \"shapes\") derives them from its descriptions");
}

// What the zero-shot families (model.family = "pic2word", "searle", "rtd") do not do,
// refused before any compute.
void check_zero_shot(const ExperimentConfig& config) {
  const std::string& family = config.model.family;
  if (family != "pic2word" && family != "searle" && family != "rtd") return;
  const std::string what = "with model.family = \"" + family + "\"";
  if (config.stage2.enabled)
    throw UserError(
        config.where("stage2.enabled") + ": " + what +
        " only stage 1 trains (the mapping network on images alone, or RTD's text-tower copy on text triplets); "
        "SPN's stage 2 does not apply; set "
        "stage2.enabled = false");
  if (config.positives.enabled)
    throw UserError(
        config.where("positives.enabled") + ": " + what +
        " nothing trains on image triplets, so positive scaling does not apply; set positives.enabled = false");
  if (config.stage1.shard_optimizer) {
    // Pic2Word's AdamW cannot be sharded; SEARLE's (all of phi decayed) and RTD's could
    // be, but no test has run them sharded.
    const std::string why =
        family == "pic2word"
            ? " AdamW leaves the biases out of the weight decay, which the sharded optimizer (one weight decay for "
              "all parameters) cannot"
            : std::string(" the sharded optimizer has not been checked with ") +
                  (family == "searle" ? "phi" : "the text-tower copy RTD trains");
    throw UserError(config.where("stage1.shard_optimizer") + ": " + what + why +
                    "; set stage1.shard_optimizer = false");
  }
  const bool inverts = config.stage1.epochs > 0 || config.searle.query_words == SearleQueryWords::Oti;
  if (family == "searle" && inverts && config.searle.concepts.empty() && config.data.kind != DataKind::Shapes)
    throw UserError(config.where("searle.concepts") + ": " + what +
                    " OTI ranks a concept vocabulary per image; only the built-in benchmark has a default: "
                    "set searle.concepts to a text file with one concept a line");
  if (family == "rtd") check_rtd(config);
}

// SEARLE-OTI inverts each query's reference image at test time: only SEARLE's model
// composes such words, and phi, which it does not use, has nothing to train.
void check_searle_query_words(const ExperimentConfig& config) {
  if (config.searle.query_words != SearleQueryWords::Oti) return;
  if (config.model.family != "searle")
    throw UserError(config.where("searle.query_words") + ": \"oti\" composes SEARLE's queries; model.family = \"" +
                    config.model.family + "\" has its own (set model.family = \"searle\", or leave it \"phi\")");
  if (config.stage1.epochs > 0)
    throw UserError(config.where("searle.query_words") +
                    ": \"oti\" inverts the query images at test time and does not use phi, so phi's training "
                    "(stage1.epochs = " +
                    std::to_string(config.stage1.epochs) + ") would be thrown away; set stage1.epochs = 0");
}

// The mapping network is what a zero-shot family trains; other families have none.
void check_mapper_export(const ExperimentConfig& config) {
  if (config.stage1.export_mapper_weights.empty()) return;
  const std::string& family = config.model.family;
  if (family != "pic2word" && family != "searle")
    throw UserError(config.where("stage1.export_mapper_weights") + ": model.family = \"" + family +
                    "\" has no mapping network to export (only \"pic2word\" and \"searle\" do); leave it \"\"");
  if (config.stage1.epochs == 0)
    throw UserError(config.where("stage1.export_mapper_weights") +
                    ": stage1.epochs = 0 trains nothing to export; the weights are model.mapper_weights'");
}

// stage1.export_clip_dir writes CLIP's two towers, which only a dual encoder of
// CLIP's image and text encoders has.
void check_clip_export(const ExperimentConfig& config) {
  if (config.stage1.export_clip_dir.empty()) return;
  const ModelConfig& model = config.model;
  if (model.family != "dual_encoder" || model.image_encoder != "clip" || model.text_encoder != "clip")
    throw UserError(config.where("stage1.export_clip_dir") +
                    ": only a CLIP trained as model.family = \"dual_encoder\" with model.image_encoder = "
                    "model.text_encoder = \"clip\" can be written as a CLIP model directory (this run has family \"" +
                    model.family + "\", image_encoder \"" + model.image_encoder + "\", text_encoder \"" +
                    model.text_encoder + "\")");
}

// data.kind = "images" is a folder of unlabeled images: only the families that train
// on images alone read it, and it has no split to evaluate.
void check_image_folder(const ExperimentConfig& config) {
  if (config.data.kind != DataKind::Images) return;
  const std::string& family = config.model.family;
  if (family != "pic2word" && family != "searle")
    throw UserError(config.where("data.kind") +
                    ": \"images\" is a folder of unlabeled images, without triplets; only model.family = "
                    "\"pic2word\" or \"searle\" trains on images alone (this run's family: \"" +
                    family + "\")");
  const auto& datasets = config.eval.datasets;
  if (std::find(datasets.begin(), datasets.end(), EvalDataset::Data) != datasets.end())
    throw UserError(config.where("eval.datasets") +
                    ": \"data\" is [data]'s split eval.split, but data.kind = \"images\" is a folder of training "
                    "images without one; evaluate on \"cirr\", \"fashioniq\" or \"circo\" ([eval.<name>])");
}

}  // namespace

void check_config(const ExperimentConfig& config) {
  check_shapes(config);
  check_augment(config);
  check_positives(config);
  check_evaluation(config);
  check_sprc(config);
  check_zero_shot(config);
  check_searle_query_words(config);
  check_clip_export(config);
  check_image_folder(config);
  check_mapper_export(config);
}

}  // namespace spn
