#pragma once
// Evaluation protocols and their metric names: the one place a metric's name is spelled.
// The metric computations (train/*_metrics), the results table, reports, TensorBoard
// hparams, sweep tables and the load-time check of stage2.select_metric all take their
// names from here.
//   CIRR       R@1 R@5 R@10 R@50 over the gallery, Rsubset@1..3 within the img_set,
//              Avg = (R@5 + Rsubset@1) / 2 (the leaderboard's average)
//   FashionIQ  <category>/R@10 and /R@50, their means over categories R@10 and R@50,
//              Avg = (R@10 + R@50) / 2
//   CIRCO      mAP@5 ... mAP@50 and R@5 ... R@50
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"

namespace spn {

enum class AnnotationFormat { kCirr, kFashionIq, kCirco };

inline constexpr std::array<int64_t, 4> kRecallAt = {1, 5, 10, 50};
inline constexpr std::array<int64_t, 3> kSubsetRecallAt = {1, 2, 3};
inline constexpr std::array<int64_t, 2> kFashionIqRecallAt = {10, 50};
inline constexpr std::array<int64_t, 4> kCircoAt = {5, 10, 25, 50};

// The protocol a dataset kind's splits are evaluated with.
AnnotationFormat protocol_of(DataKind kind);
// The protocol of an evaluation dataset (eval.datasets); "data" is [data]'s kind's.
AnnotationFormat protocol_of(EvalDataset dataset, DataKind data_kind);
// "CIRR", "FashionIQ", "CIRCO".
const char* protocol_title(AnnotationFormat format);

std::string recall_metric(int64_t k);                                 // "R@5"
std::string subset_recall_metric(int64_t k);                          // "Rsubset@1"
std::string map_metric(int64_t k);                                    // "mAP@10"
std::string category_metric(const std::string& category, int64_t k);  // "dress/R@10"
inline constexpr const char* kAverageMetric = "Avg";

// Every metric a protocol reports, in table order (FashionIQ's per `categories`).
std::vector<std::string> protocol_metric_names(AnnotationFormat format, const std::vector<std::string>& categories);

// The columns of a results table for metrics named `recorded`: the protocol's own
// order when `recorded` holds all of one protocol's metrics (FashionIQ's categories
// taken from the recorded names), else the recorded names as they come.
std::vector<std::string> metric_columns(const std::vector<std::string>& recorded);

}  // namespace spn
