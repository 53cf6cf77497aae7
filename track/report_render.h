#pragma once
// `spn-launch report DIR`: a Markdown summary and a self-contained HTML page (inline
// SVG charts drawn by report_charts.js, no network) of a run or a sweep:
//   - the results table per stage: mean ± sample std over seeds for each variant;
//   - bar charts of R@K, Rsubset@K and Avg per variant, with one-std error bars;
//   - loss curves per run and stage, and recall per epoch where stage 2 evaluated;
//   - the runs (variant, seed, status, directory) and the config keys that differ.
#include <filesystem>
#include <string>

#include "track/report_data.h"

namespace spn {

std::string report_markdown(const ReportData& report);
std::string report_html(const ReportData& report);

struct ReportFiles {
  std::filesystem::path markdown;
  std::filesystem::path html;
};

// Writes report.md and report.html into `dir` (atomically).
ReportFiles write_report(const std::filesystem::path& dir);

}  // namespace spn
