#pragma once
// The datasets a run evaluates after each stage (eval.datasets), each with its own
// protocol: [data]'s split and any of [eval.cirr], [eval.fashioniq], [eval.circo],
// whatever the run trains on. All are loaded and checked before any compute.
#include <optional>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

// Where an evaluation dataset's results go and how it is announced, from the config
// alone (a finished run prints its tables without loading anything).
struct EvalTarget {
  EvalDataset dataset;
  std::string results_key;  // results.json and metrics.jsonl: "val" for [data], "circo/val", ...
  std::string title;        // the protocol: "CIRR", "FashionIQ", "CIRCO"
};
std::vector<EvalTarget> eval_targets(const ExperimentConfig& config);

struct EvalSet {
  EvalTarget target;
  CirrSplit split;                      // evaluated after each stage
  std::optional<CirrSplit> submission;  // its test-server split, when one is asked for
  std::string submission_prefix;        // submissions/<stage>-<prefix>...: "test1", "circo-test"
};

// Whether the run reads [data] at all: it trains (stage 1 epochs, stage 2 or positive
// scaling), evaluates "data", or builds its word vocabulary from the training captions
// (a text encoder other than CLIP's, in the dual encoder). A CLIP run with stage1.epochs = 0 that evaluates
// only [eval.*] datasets needs no training split: a zero-shot evaluation.
bool reads_data(const ExperimentConfig& config);

// Whether any evaluation dataset asks for test-server files.
bool submissions_wanted(const ExperimentConfig& config);

// Refuses a directory that lacks a CIRR- or FashionIQ-format layout, naming `root_key`
// and what to download.
void check_annotation_layout(const ExperimentConfig& config, const std::string& root_key, const std::string& root,
                             DataKind kind);

// The evaluation sets in eval.datasets order ([data]'s once [data] is in place: the
// built-in benchmark generated, its layout checked). Generates the CIRCO-style split
// when eval.circo.source = "shapes". Every split it returns has a target for every
// query (UserError naming the split's key otherwise).
std::vector<EvalSet> load_eval_sets(Communicator& comm, const ExperimentConfig& config, bool show_progress);

}  // namespace spn
