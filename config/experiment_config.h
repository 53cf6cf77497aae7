#pragma once
// The experiment configuration: one struct per TOML section (config/*_config.h), filled
// from a file plus --set overrides by config/config_file.h and checked across keys by
// config/config_checks.h, all at load time.
#include <cstdint>
#include <map>
#include <string>

#include "config/choices.h"
#include "config/data_config.h"
#include "config/eval_config.h"
#include "config/model_config.h"
#include "config/positives_config.h"
#include "config/rtd_config.h"
#include "config/searle_config.h"
#include "config/stage1_config.h"
#include "config/stage2_config.h"

namespace spn {

class ConfigVisitor;

struct ExperimentConfig {
  std::string name = "quickstart";
  int64_t seed = 0;
  int64_t threads = 0;
  std::string runs_dir = "runs";
  Precision precision = Precision::Fp32;
  DeviceKind device = DeviceKind::Cpu;
  DataConfig data;
  ModelConfig model;
  Stage1Config stage1;
  Stage2Config stage2;
  PositivesConfig positives;
  RtdConfig rtd;
  EvalConfig eval;
  SearleConfig searle;

  // Where each key was set ("file.toml:12" or "--set stage1.lr=3e-4"), for errors
  // that can only be detected after reading (e.g. an unknown registry name).
  std::map<std::string, std::string> locations;
  std::string source_file;

  void visit(ConfigVisitor& v);

  // "file:line: key" for a key, using the recorded location, to start an error message.
  [[nodiscard]] std::string where(const std::string& key_path) const;
};

}  // namespace spn
