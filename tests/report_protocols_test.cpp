// Reports and results tables take their columns from the protocol the runs recorded:
// a FashionIQ study shows its finished runs and FashionIQ's metrics, a CIRCO one
// CIRCO's, a CIRR one CIRR's in the leaderboard's order.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/protocol.h"
#include "core/files.h"
#include "test_files.h"
#include "track/report_data.h"
#include "track/report_render.h"
#include "track/results_table.h"

namespace spn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A finished run directory of experiment `name` with `metrics` on val for both stages.
void write_run(const fs::path& dir, int seed, const json& metrics) {
  write_file_atomic(dir / "config.toml",
                    "name = \"study\"\nseed = " + std::to_string(seed) + "\n[eval]\nsplit = \"val\"\n");
  write_file_atomic(dir / "status.json", json{{"state", "finished"}}.dump());
  write_file_atomic(dir / "results.json", json{{"stage1", {{"val", metrics}}}, {"stage2", {{"val", metrics}}}}.dump());
}

json metrics_of(AnnotationFormat format, const std::vector<std::string>& categories, double base) {
  json metrics = json::object();
  double value = base;
  for (const std::string& name : protocol_metric_names(format, categories)) metrics[name] = value++;
  return metrics;
}

TEST(ProtocolColumns, EachProtocolKeepsItsOwnOrder) {
  const std::vector<std::string> categories = {"dress", "shirt", "toptee"};
  for (AnnotationFormat format : {AnnotationFormat::kCirr, AnnotationFormat::kFashionIq, AnnotationFormat::kCirco}) {
    const std::vector<std::string> names = protocol_metric_names(format, categories);
    std::vector<std::string> sorted = names;  // results.json hands them over sorted
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(metric_columns(sorted), names) << protocol_title(format);
  }
  EXPECT_EQ(protocol_metric_names(AnnotationFormat::kFashionIq, {"dress"}),
            (std::vector<std::string>{"dress/R@10", "dress/R@50", "R@10", "R@50", "Avg"}));
  EXPECT_EQ(protocol_metric_names(AnnotationFormat::kCirco, {}).front(), "mAP@5");
}

TEST(ProtocolColumns, ReportsOfFashionIqAndCircoStudiesCountTheirFinishedRuns) {
  auto local = make_local_communicator();
  for (AnnotationFormat format : {AnnotationFormat::kFashionIq, AnnotationFormat::kCirco, AnnotationFormat::kCirr}) {
    const fs::path dir = testing::shared_temp_dir(*local, "report-protocol");
    const std::vector<std::string> categories = {"dress", "toptee"};
    write_run(dir / "study/a", 1, metrics_of(format, categories, 10));
    write_run(dir / "study/b", 2, metrics_of(format, categories, 20));
    const ReportData report = gather_report(dir);
    EXPECT_EQ(report.metrics, protocol_metric_names(format, categories)) << protocol_title(format);
    ASSERT_EQ(report.variants.size(), 1u);  // two seeds of one variant
    for (const std::string& stage : {"stage1", "stage2"}) EXPECT_EQ(report.variants[0].finished.at(stage), 2) << stage;
    const std::string markdown = report_markdown(report);
    const std::string first = report.metrics.front();
    EXPECT_NE(markdown.find("| variant | finished runs | " + first + " |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("| base | 2 | 15.00 ± 7.07 |"), std::string::npos) << markdown;
    EXPECT_NE(format_results_table(json::parse(read_file(dir / "study/b/results.json")), "val").find(first),
              std::string::npos);
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace spn
