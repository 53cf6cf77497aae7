#pragma once
// What `spn-launch report DIR` shows, gathered from the run directories: each run's
// variant, seed, status, final metrics and curves; the variants' mean and sample
// standard deviation over seeds; the config keys on which the runs differ.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "track/run_contents.h"

namespace spn {

struct ReportRun {
  FoundRun found;
  std::string label;  // its variant without the seed ("base" when that is all)
  std::string seed;   // config seed
  std::string state;  // finished / failed / running
  nlohmann::json results;
  std::vector<nlohmann::json> metric_lines;
  std::map<std::string, std::string> config;  // "section.key" -> value text
};

// Mean and sample standard deviation (n - 1; 0 for a single run) of one metric.
struct Summary {
  double mean = 0;
  double std = 0;
  int count = 0;
};

struct ReportVariant {
  std::string label;
  std::vector<const ReportRun*> runs;
  // [stage][metric] over the finished runs that have it, stages as in results.json.
  std::map<std::string, std::map<std::string, Summary>> metrics;
  std::map<std::string, int> finished;  // [stage]: finished runs with results of that stage
};

struct ReportData {
  std::string title;  // "sweep negative_types" or "run quickstart/64fb2ccf6a2f"
  std::string split;  // the evaluation split the results are of
  std::vector<ReportRun> runs;
  std::vector<ReportVariant> variants;      // in first-appearance order
  std::vector<std::string> stages;          // stages with metrics, in pipeline order
  std::vector<std::string> metrics;         // the protocol's metric names the runs recorded, in table order
  std::vector<std::string> differing_keys;  // keys every run sets, to different values (seed included)
  std::vector<std::string> partial_keys;    // keys only some runs set (runs of different spn versions)
};

ReportData gather_report(const std::filesystem::path& dir);

Summary summarize(const std::vector<double>& values);

// "37.70 ± 1.10" (or "37.70" for one value; "–" for none).
std::string format_summary(const Summary& summary);

}  // namespace spn
