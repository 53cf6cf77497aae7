#include "config/protocol.h"

#include <algorithm>

namespace spn {

AnnotationFormat protocol_of(DataKind kind) {
  return kind == DataKind::FashionIq ? AnnotationFormat::kFashionIq : AnnotationFormat::kCirr;
}

AnnotationFormat protocol_of(EvalDataset dataset, DataKind data_kind) {
  switch (dataset) {
    case EvalDataset::Cirr: return AnnotationFormat::kCirr;
    case EvalDataset::FashionIq: return AnnotationFormat::kFashionIq;
    case EvalDataset::Circo: return AnnotationFormat::kCirco;
    case EvalDataset::Data: break;
  }
  return protocol_of(data_kind);
}

const char* protocol_title(AnnotationFormat format) {
  switch (format) {
    case AnnotationFormat::kFashionIq: return "FashionIQ";
    case AnnotationFormat::kCirco: return "CIRCO";
    case AnnotationFormat::kCirr: break;
  }
  return "CIRR";
}

std::string recall_metric(int64_t k) { return "R@" + std::to_string(k); }
std::string subset_recall_metric(int64_t k) { return "Rsubset@" + std::to_string(k); }
std::string map_metric(int64_t k) { return "mAP@" + std::to_string(k); }
std::string category_metric(const std::string& category, int64_t k) { return category + "/" + recall_metric(k); }

std::vector<std::string> protocol_metric_names(AnnotationFormat format, const std::vector<std::string>& categories) {
  std::vector<std::string> names;
  switch (format) {
    case AnnotationFormat::kCirr:
      for (int64_t k : kRecallAt) names.push_back(recall_metric(k));
      for (int64_t k : kSubsetRecallAt) names.push_back(subset_recall_metric(k));
      names.push_back(kAverageMetric);
      break;
    case AnnotationFormat::kFashionIq:
      for (const std::string& category : categories)
        for (int64_t k : kFashionIqRecallAt) names.push_back(category_metric(category, k));
      for (int64_t k : kFashionIqRecallAt) names.push_back(recall_metric(k));
      names.push_back(kAverageMetric);
      break;
    case AnnotationFormat::kCirco:
      for (int64_t k : kCircoAt) names.push_back(map_metric(k));
      for (int64_t k : kCircoAt) names.push_back(recall_metric(k));
      break;
  }
  return names;
}

std::vector<std::string> metric_columns(const std::vector<std::string>& recorded) {
  const auto all_recorded = [&](const std::vector<std::string>& names) {
    return std::all_of(names.begin(), names.end(), [&](const std::string& name) {
      return std::find(recorded.begin(), recorded.end(), name) != recorded.end();
    });
  };
  std::vector<std::string> categories;
  const std::string suffix = "/" + recall_metric(kFashionIqRecallAt[0]);
  for (const std::string& name : recorded)
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      categories.push_back(name.substr(0, name.size() - suffix.size()));
  for (AnnotationFormat format : {AnnotationFormat::kCirr, AnnotationFormat::kFashionIq, AnnotationFormat::kCirco}) {
    const std::vector<std::string> names = protocol_metric_names(format, categories);
    if (all_recorded(names)) return names;
  }
  return recorded;
}

}  // namespace spn
