#include "track/report_render.h"

#include <algorithm>

#include "config/protocol.h"
#include "core/files.h"
#include "embedded_report_charts.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A table as header and rows of cells, rendered either way.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

std::string escape_markdown(std::string cell) {
  std::string out;
  for (char c : cell) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string markdown_table(const Table& table) {
  std::string out = "|";
  for (const auto& cell : table.header) out += " " + escape_markdown(cell) + " |";
  out += "\n|";
  for (size_t i = 0; i < table.header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (const auto& cell : row) out += " " + escape_markdown(cell) + " |";
    out += "\n";
  }
  return out;
}

std::string html_table(const Table& table) {
  std::string out = "<table><thead><tr>";
  for (const auto& cell : table.header) out += "<th>" + escape_html(cell) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& row : table.rows) {
    out += "<tr>";
    for (const auto& cell : row) out += "<td>" + escape_html(cell) + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>\n";
}

std::string run_name(const ReportRun& run) { return run.label + (run.seed.empty() ? "" : " seed " + run.seed); }

Table results_table(const ReportData& report, const std::string& stage) {
  Table table{{"variant", "finished runs"}, {}};
  for (const std::string& metric : report.metrics) table.header.push_back(metric);
  for (const ReportVariant& variant : report.variants) {
    const auto& metrics = variant.metrics.at(stage);
    std::vector<std::string> row = {variant.label, std::to_string(variant.finished.at(stage))};
    for (const std::string& metric : report.metrics) row.push_back(format_summary(metrics.at(metric)));
    table.rows.push_back(row);
  }
  return table;
}

Table runs_table(const ReportData& report) {
  Table table{{"variant", "seed", "status"}, {}};
  for (const std::string& stage : report.stages) table.header.push_back(stage + " " + kAverageMetric);
  table.header.push_back("run directory");
  for (const ReportRun& run : report.runs) {
    std::vector<std::string> row = {run.label, run.seed, run.state};
    for (const std::string& stage : report.stages) {
      const json split =
          run.results.contains(stage) ? run.results[stage].value(report.split, json::object()) : json::object();
      row.push_back(split.contains(kAverageMetric) ? format_summary(summarize({split[kAverageMetric].get<double>()}))
                                                   : "–");
    }
    row.push_back(run.found.dir.string());
    table.rows.push_back(row);
  }
  return table;
}

Table differences_table(const ReportData& report) {
  Table table{{"run"}, {}};
  for (const std::string& key : report.differing_keys) table.header.push_back(key);
  for (const ReportRun& run : report.runs) {
    std::vector<std::string> row = {run.found.dir.filename().string()};
    for (const std::string& key : report.differing_keys)
      row.push_back(run.config.count(key) ? run.config.at(key) : "(unset)");
    table.rows.push_back(row);
  }
  return table;
}

std::string overview(const ReportData& report) {
  int finished = 0, failed = 0;
  for (const ReportRun& run : report.runs) {
    finished += run.state == "finished";
    failed += run.state == "failed";
  }
  return std::to_string(report.runs.size()) + " runs (" + std::to_string(finished) + " finished, " +
         std::to_string(failed) + " failed, " + std::to_string(report.runs.size() - finished - failed) +
         " unfinished) in " + std::to_string(report.variants.size()) + " variants. Metrics on the " + report.split +
         " split, in percent: mean ± sample standard deviation over the finished runs of a variant." +
         (report.partial_keys.empty()
              ? ""
              : " " + std::to_string(report.partial_keys.size()) +
                    " config keys are set in only some runs (runs of different spn versions) and are not compared.");
}

// The charts' data: bars per stage, curves per stage.
json chart_data(const ReportData& report) {
  json bars = json::array();
  for (const std::string& stage : report.stages) {
    json variants = json::array();
    for (const ReportVariant& variant : report.variants) {
      json mean = json::array(), deviation = json::array();
      const auto& metrics = variant.metrics.at(stage);
      for (const std::string& metric : report.metrics) {
        const Summary& summary = metrics.at(metric);
        mean.push_back(summary.count ? json(summary.mean) : json());
        deviation.push_back(summary.std);
      }
      variants.push_back(
          {{"label", variant.label}, {"mean", mean}, {"std", deviation}, {"count", variant.finished.at(stage)}});
    }
    bars.push_back({{"title", stage + ": " + report.split + " recall per variant (mean ± std over seeds)"},
                    {"metrics", report.metrics},
                    {"variants", variants}});
  }
  // Curves: each stage's loss per step; the protocol's first metric and Avg per epoch
  // where a stage evaluated each epoch.
  const std::string first_metric = report.metrics.empty() ? kAverageMetric : report.metrics.front();
  std::vector<std::string> curve_stages;
  std::map<std::string, json> loss, per_epoch_first, per_epoch_avg;
  for (const ReportRun& run : report.runs) {
    std::map<std::string, json> run_loss, run_first, run_avg;
    for (const json& line : run.metric_lines) {
      const std::string stage = line.value("stage", "");
      if (line.contains("loss") && line.contains("step") && line["loss"].is_number())
        run_loss[stage].push_back({line["step"], line["loss"]});
      if (line.contains("eval") && line["eval"].is_object() && line.contains("epoch")) {
        run_first[stage].push_back({line["epoch"], line["eval"].value(first_metric, 0.0)});
        run_avg[stage].push_back({line["epoch"], line["eval"].value(kAverageMetric, 0.0)});
      }
    }
    const auto add = [&](std::map<std::string, json>& into, std::map<std::string, json>& points) {
      for (auto& [stage, series] : points) {
        if (std::find(curve_stages.begin(), curve_stages.end(), stage) == curve_stages.end())
          curve_stages.push_back(stage);
        into[stage].push_back({{"name", run_name(run)}, {"points", series}});
      }
    };
    add(loss, run_loss);
    add(per_epoch_first, run_first);
    add(per_epoch_avg, run_avg);
  }
  std::sort(curve_stages.begin(), curve_stages.end());
  json curves = json::array();
  for (const std::string& stage : curve_stages) {
    if (loss.count(stage))
      curves.push_back({{"title", stage + ": training loss"}, {"x", "step"}, {"series", loss[stage]}});
    if (per_epoch_first.count(stage)) {
      curves.push_back({{"title", stage + ": " + report.split + " " + first_metric + " after each epoch"},
                        {"x", "epoch"},
                        {"series", per_epoch_first[stage]}});
      curves.push_back({{"title", stage + ": " + report.split + " Avg after each epoch"},
                        {"x", "epoch"},
                        {"series", per_epoch_avg[stage]}});
    }
  }
  return {{"bars", bars}, {"curves", curves}};
}

// JSON inside <script>: "</" would end the element early.
std::string script_safe(std::string text) {
  for (size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.replace(at, 2, "<\\/");
  return text;
}

constexpr const char* kStyle = R"(
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
figure { margin: 0 0 1.5em; }
figcaption { font-weight: 600; margin-bottom: 4px; }
#script-errors { color: #b00; }
)";

}  // namespace

std::string report_markdown(const ReportData& report) {
  std::string out = "# spn report: " + report.title + "\n\n" + overview(report) + "\n";
  for (const std::string& stage : report.stages)
    out += "\n## " + stage + " (" + report.split + ")\n\n" + markdown_table(results_table(report, stage));
  out += "\n## Runs\n\n" + markdown_table(runs_table(report));
  out += "\n## Config differences\n\n";
  out += report.differing_keys.empty() ? "The runs have the same config.\n" : markdown_table(differences_table(report));
  out += "\nThe HTML page report.html beside this file has the charts: recall per variant, loss and recall curves.\n";
  return out;
}

std::string report_html(const ReportData& report) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spn report: " +
                    escape_html(report.title) + "</title><style>" + kStyle + "</style></head>\n";
  out += "<body data-status=\"loading\">\n<h1>spn report: " + escape_html(report.title) + "</h1>\n<p>" +
         escape_html(overview(report)) + "</p>\n<ul id=\"script-errors\" hidden></ul>\n";
  for (const std::string& stage : report.stages)
    out += "<h2>" + escape_html(stage) + " (" + escape_html(report.split) + ")</h2>\n" +
           html_table(results_table(report, stage));
  out += "<h2>Recall per variant</h2>\n<div id=\"bar-charts\"></div>\n";
  out += "<h2>Curves</h2>\n<div id=\"curve-charts\"></div>\n";
  out += "<h2>Runs</h2>\n" + html_table(runs_table(report));
  out += "<h2>Config differences</h2>\n";
  out +=
      report.differing_keys.empty() ? "<p>The runs have the same config.</p>\n" : html_table(differences_table(report));
  out += "<script>window.SPN_REPORT = " + script_safe(chart_data(report).dump()) + ";</script>\n";
  out += "<script>" + std::string(kReportChartsJs) + "</script>\n</body></html>\n";
  return out;
}

ReportFiles write_report(const fs::path& dir) {
  const ReportData report = gather_report(dir);
  const ReportFiles files{dir / "report.md", dir / "report.html"};
  write_file_atomic(files.markdown, report_markdown(report));
  write_file_atomic(files.html, report_html(report));
  return files;
}

}  // namespace spn
