#pragma once
// Reading, writing and documenting an ExperimentConfig. Every error a config can have
// is found here, at load time: types, ranges, options and unknown keys name the key
// path and file:line (or the --set argument); cross-key rules (config_checks.h) run
// right after.
#include <string>
#include <vector>

#include "config/experiment_config.h"

namespace spn {

// Reads `path` and applies `overrides` ("key.path=value", TOML value syntax; a bare word
// is taken as a string). Throws UserError naming the key path and file:line.
ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides);

// Default config (no file) with overrides; used for the embedded quickstart and tests.
ExperimentConfig load_config_text(const std::string& toml_text, const std::string& source_name,
                                  const std::vector<std::string>& overrides);

// The fully resolved config as TOML text (what --print-config shows and runs record).
std::string config_to_toml(const ExperimentConfig& config);

// The config reference as a Markdown table (every key, type, default, meaning).
std::string config_reference_markdown();

}  // namespace spn
