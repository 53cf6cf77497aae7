#include "launcher/eval_datasets.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/protocol.h"
#include "core/error.h"
#include "core/files.h"
#include "data/circo.h"
#include "data/shapes_circo.h"
#include "data/split_check.h"
#include "data/splits.h"
#include "models/zero_shot_model.h"

namespace spn {
namespace {

bool eval_lists(const ExperimentConfig& config, EvalDataset dataset) {
  const auto& datasets = config.eval.datasets;
  return std::find(datasets.begin(), datasets.end(), dataset) != datasets.end();
}

// A split to evaluate must name every query's target; a test split is for submissions.
CirrSplit with_all_targets(CirrSplit split, const ExperimentConfig& config, const std::string& split_key,
                           const std::string& submission_key) {
  if (const std::string missing = missing_targets(split); !missing.empty())
    throw UserError(config.where(split_key) + ": " + missing + ", so recall cannot be computed (a test split: see " +
                    submission_key + ")");
  return split;
}

void check_circo_layout(const ExperimentConfig& config, const std::vector<std::string>& splits) {
  const fs::path root = config.eval.circo.root;
  std::vector<std::string> missing;
  for (const std::string& split : splits)
    if (!fs::exists(root / "annotations" / (split + ".json"))) missing.push_back("annotations/" + split + ".json");
  if (!fs::exists(root / "COCO2017_unlabeled" / "annotations" / "image_info_unlabeled2017.json"))
    missing.push_back("COCO2017_unlabeled/annotations/image_info_unlabeled2017.json");
  if (missing.empty()) return;
  std::string listed;
  for (const std::string& file : missing) listed += (listed.empty() ? "" : ", ") + file;
  throw UserError(
      config.where("eval.circo.root") + ": " + root.string() + " is not a CIRCO dataset: " + listed +
      " missing. CIRCO needs annotations/<split>.json (github.com/miccunifi/CIRCO) and the COCO 2017 "
      "unlabeled images with their index (cocodataset.org: unlabeled2017.zip into "
      "COCO2017_unlabeled/unlabeled2017/, image_info_unlabeled2017.zip into COCO2017_unlabeled/"
      "annotations/); or set eval.circo.source = \"shapes\" for the built-in benchmark's CIRCO-style split");
}

EvalSet load_circo_set(Communicator& comm, const ExperimentConfig& config, const EvalTarget& target,
                       bool show_progress) {
  const EvalCircoConfig& circo = config.eval.circo;
  if (circo.source == CircoSource::Shapes) {
    if (ensure_shapes_circo(comm, config.data.shapes, circo.queries, circo.root, config.where("eval.circo.root"),
                            show_progress))
      spdlog::info("generated the built-in benchmark's CIRCO-style split in {}", circo.root);
  }
  std::vector<std::string> splits = {circo.split};
  if (!circo.submission_split.empty()) splits.push_back(circo.submission_split);
  check_circo_layout(config, splits);
  EvalSet set{target,
              with_all_targets(load_circo_split(circo.root, circo.split), config, "eval.circo.split",
                               "eval.circo.submission_split"),
              std::nullopt, ""};
  if (!circo.submission_split.empty()) {
    set.submission = load_circo_split(circo.root, circo.submission_split);
    set.submission_prefix = "circo-" + circo.submission_split;
  }
  return set;
}

// [data] with another kind and root: [eval.cirr] and [eval.fashioniq] share its image
// transform and [data.fashioniq]'s reading options.
DataConfig data_like(const ExperimentConfig& config, DataKind kind, const std::string& root) {
  DataConfig data = config.data;
  data.kind = kind;
  data.root = root;
  return data;
}

}  // namespace

std::vector<EvalTarget> eval_targets(const ExperimentConfig& config) {
  std::vector<EvalTarget> targets;
  for (EvalDataset dataset : config.eval.datasets) {
    const std::string split = dataset == EvalDataset::Cirr        ? config.eval.cirr.split
                              : dataset == EvalDataset::FashionIq ? config.eval.fashioniq.split
                              : dataset == EvalDataset::Circo     ? config.eval.circo.split
                                                                  : config.eval.split;
    const std::string prefix = dataset == EvalDataset::Data ? "" : std::string(choice_name(dataset)) + "/";
    targets.push_back({dataset, prefix + split, protocol_title(protocol_of(dataset, config.data.kind))});
  }
  return targets;
}

bool reads_data(const ExperimentConfig& config) {
  return config.stage1.epochs > 0 || config.stage2.enabled || config.positives.enabled ||
         eval_lists(config, EvalDataset::Data) ||
         (config.model.text_encoder != "clip" && !zero_shot_method_of(config.model));
}

bool submissions_wanted(const ExperimentConfig& config) {
  return (eval_lists(config, EvalDataset::Data) && !config.eval.submission_split.empty()) ||
         (eval_lists(config, EvalDataset::Cirr) && !config.eval.cirr.submission_split.empty()) ||
         (eval_lists(config, EvalDataset::Circo) && !config.eval.circo.submission_split.empty());
}

void check_annotation_layout(const ExperimentConfig& config, const std::string& root_key, const std::string& root_dir,
                             DataKind kind) {
  const fs::path root = root_dir;
  if (fs::exists(root / "captions") && fs::exists(root / "image_splits")) return;
  if (kind == DataKind::FashionIq)
    throw UserError(config.where(root_key) + ": " + root.string() +
                    " is not a FashionIQ dataset: it needs captions/cap.<category>.<split>.json, "
                    "image_splits/split.<category>.<split>.json and images/<name>." +
                    config.data.fashioniq.image_extension +
                    " (FashionIQ: github.com/XiaoxiaoGuo/fashion-iq; the images from the links it gives)");
  throw UserError(config.where(root_key) + ": " + root.string() +
                  " is not a CIRR-format dataset: it needs captions/cap.rc2.<split>.json and "
                  "image_splits/split.rc2.<split>.json (CIRR: github.com/Cuberick-Orion/CIRR), with the images "
                  "at the relative paths the split files give");
}

std::vector<EvalSet> load_eval_sets(Communicator& comm, const ExperimentConfig& config, bool show_progress) {
  std::vector<EvalSet> sets;
  for (const EvalTarget& target : eval_targets(config)) {
    switch (target.dataset) {
      case EvalDataset::Data: {
        EvalSet set{
            target,
            with_all_targets(load_split(config.data, config.eval.split), config, "eval.split", "eval.submission_split"),
            std::nullopt, ""};
        if (!config.eval.submission_split.empty()) {
          set.submission = load_split(config.data, config.eval.submission_split);
          set.submission_prefix = config.eval.submission_split;
        }
        sets.push_back(std::move(set));
        break;
      }
      case EvalDataset::Cirr: {
        const EvalCirrConfig& cirr = config.eval.cirr;
        check_annotation_layout(config, "eval.cirr.root", cirr.root, DataKind::Cirr);
        const DataConfig data = data_like(config, DataKind::Cirr, cirr.root);
        EvalSet set{
            target,
            with_all_targets(load_split(data, cirr.split), config, "eval.cirr.split", "eval.cirr.submission_split"),
            std::nullopt, ""};
        if (!cirr.submission_split.empty()) {
          set.submission = load_split(data, cirr.submission_split);
          set.submission_prefix = "cirr-" + cirr.submission_split;
        }
        sets.push_back(std::move(set));
        break;
      }
      case EvalDataset::FashionIq: {
        const EvalFashionIqConfig& fashioniq = config.eval.fashioniq;
        check_annotation_layout(config, "eval.fashioniq.root", fashioniq.root, DataKind::FashionIq);
        sets.push_back(
            {target,
             with_all_targets(load_split(data_like(config, DataKind::FashionIq, fashioniq.root), fashioniq.split),
                              config, "eval.fashioniq.split", "eval.fashioniq.split"),
             std::nullopt, ""});
        break;
      }
      case EvalDataset::Circo: sets.push_back(load_circo_set(comm, config, target, show_progress)); break;
    }
  }
  return sets;
}

}  // namespace spn
