#include "track/report_data.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "config/protocol.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A sweep variant's label without its seed: its other assignments, or "base".
std::string without_seed(const std::vector<std::string>& overrides) {
  std::string label;
  for (const std::string& assignment : overrides)
    if (assignment.rfind("seed=", 0) != 0) label += (label.empty() ? "" : ", ") + assignment;
  return label.empty() ? "base" : label;
}

}  // namespace

Summary summarize(const std::vector<double>& values) {
  Summary summary;
  summary.count = static_cast<int>(values.size());
  if (values.empty()) return summary;
  for (double value : values) summary.mean += value;
  summary.mean /= values.size();
  if (values.size() > 1) {
    double squares = 0;
    for (double value : values) squares += (value - summary.mean) * (value - summary.mean);
    summary.std = std::sqrt(squares / (values.size() - 1));
  }
  return summary;
}

std::string format_summary(const Summary& summary) {
  if (summary.count == 0) return "–";
  char text[64];
  if (summary.count == 1)
    std::snprintf(text, sizeof text, "%.2f", summary.mean);
  else
    std::snprintf(text, sizeof text, "%.2f ± %.2f", summary.mean, summary.std);
  return text;
}

ReportData gather_report(const fs::path& dir) {
  ReportData report;
  const std::vector<FoundRun> found = find_runs(dir);
  for (const FoundRun& run : found) {
    ReportRun entry;
    entry.found = run;
    entry.state = recorded_state(run.dir);
    entry.results = read_json_file(run.dir / "results.json");
    if (!entry.results.is_object()) entry.results = json::object();
    entry.metric_lines = read_metric_lines(run.dir);
    for_each_config_value(run.dir, [&](const std::string& key, const toml::node& value) {
      entry.config[key] = config_value_text(value);
    });
    entry.seed = entry.config.count("seed") ? entry.config["seed"] : "";
    report.runs.push_back(std::move(entry));
  }
  const bool sweep = fs::exists(dir / "runs.json");
  report.title = sweep ? "sweep " + dir.filename().string()
                 : found.size() == 1
                     ? "run " + found[0].dir.parent_path().filename().string() + "/" + found[0].dir.filename().string()
                     : "runs in " + dir.string();
  report.split = report.runs.front().config.count("eval.split") ? report.runs.front().config["eval.split"] : "val";

  std::set<std::string> keys;
  for (const ReportRun& run : report.runs)
    for (const auto& [key, value] : run.config) keys.insert(key);
  // Keys some runs lack come from runs of another spn version; they are counted, not
  // compared, so the variants are told apart by what they set.
  for (const std::string& key : keys) {
    std::set<std::string> values;
    bool everywhere = true;
    for (const ReportRun& run : report.runs) {
      everywhere = everywhere && run.config.count(key);
      if (run.config.count(key)) values.insert(run.config.at(key));
    }
    if (!everywhere)
      report.partial_keys.push_back(key);
    else if (values.size() > 1 && key != "name")
      report.differing_keys.push_back(key);
  }
  for (ReportRun& run : report.runs) {
    if (!run.found.sweep.empty()) {
      run.label = without_seed(run.found.overrides);
      continue;
    }
    for (const std::string& key : report.differing_keys)
      if (key != "seed") run.label += (run.label.empty() ? "" : ", ") + key + "=" + run.config[key];
    if (run.label.empty()) run.label = "base";
  }

  std::set<std::string> stages;
  std::vector<std::string> recorded;  // metric names, in the order first met
  for (const ReportRun& run : report.runs) {
    auto variant = std::find_if(report.variants.begin(), report.variants.end(),
                                [&](const ReportVariant& v) { return v.label == run.label; });
    if (variant == report.variants.end())
      variant = report.variants.insert(variant, ReportVariant{run.label, {}, {}, {}});
    variant->runs.push_back(&run);
    for (const auto& [stage, splits] : run.results.items()) {
      if (!splits.is_object() || !splits.contains(report.split) || !splits[report.split].is_object()) continue;
      stages.insert(stage);
      for (const auto& [metric, value] : splits[report.split].items())
        if (std::find(recorded.begin(), recorded.end(), metric) == recorded.end()) recorded.push_back(metric);
    }
  }
  report.stages.assign(stages.begin(), stages.end());  // "stage1" < "stage2"
  report.metrics = metric_columns(recorded);
  for (ReportVariant& variant : report.variants)
    for (const std::string& stage : report.stages) {
      variant.finished[stage] = 0;
      for (const ReportRun* run : variant.runs)
        variant.finished[stage] +=
            run->state == "finished" && run->results.contains(stage) && run->results[stage].contains(report.split);
      for (const std::string& metric : report.metrics) {
        std::vector<double> values;
        for (const ReportRun* run : variant.runs) {
          if (run->state != "finished" || !run->results.contains(stage)) continue;
          const json& split = run->results[stage].value(report.split, json::object());
          if (split.contains(metric) && split[metric].is_number()) values.push_back(split[metric].get<double>());
        }
        variant.metrics[stage][metric] = summarize(values);
      }
    }
  return report;
}

}  // namespace spn
