#pragma once
// Export of spn runs for MLflow. MLflow's file store is deprecated (MLflow 3.7 made a
// SQLite database the default), and MLflow >= 3.10 imports a file store with
//   mlflow migrate-filestore --source <DIR> --target sqlite:///<DIR>/mlflow.db
// so the export writes that layout and nothing MLflow-version-specific beyond it:
//   <DIR>/<experiment id>/meta.yaml                 one experiment per spn experiment name
//   <DIR>/<experiment id>/<run uuid>/meta.yaml      status, start and end times, run name
//   <DIR>/<experiment id>/<run uuid>/params/<key>   the resolved config, "section.key"
//   <DIR>/<experiment id>/<run uuid>/tags/<key>     mlflow.runName, spn.run_dir, spn.sweep,
//                                                   spn.variant, mlflow.source.git.commit
//   <DIR>/<experiment id>/<run uuid>/metrics/<tag>  "<ms> <value> <step>" lines, the tags of
//                                                   run_contents.h ("stage2/val/R@1" nests)
// meta.yaml is written as JSON, which YAML readers accept. The run uuid is a hash of
// the run directory's name, so exporting again gives the same ids.
#include <filesystem>

namespace spn {

struct MlflowExportSummary {
  int experiments = 0;
  int runs = 0;
  int metric_points = 0;
};

// Exports the runs of `source` (a run, a sweep or a runs directory, as find_runs takes
// it) into `target`, which must not exist yet; it appears whole or not at all.
MlflowExportSummary export_mlflow(const std::filesystem::path& source, const std::filesystem::path& target);

}  // namespace spn
