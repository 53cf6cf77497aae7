#pragma once
// The files a run reads whose contents its config names but does not hold: model
// weights, checkpoints to start from, concept lists, text triplets. A run's id hashes its
// config, so rerunning a command after such a file changed would find the old run and
// print (or resume) results the new file never produced. The run directory keeps their
// fingerprints in inputs.json when the run starts; a later command on the same directory
// that finds different contents stops before any work.
//   inputs.json   {"<config key>": {"path": "<as configured>",
//                                    "files": {"<file>": "<bytes> <FNV-1a of the bytes>"}}}
// A key naming a model directory (model.clip_dir, model.blip2_dir) lists the files spn
// reads there (config.json, model.safetensors, the tokenizer's files); a key naming a
// file lists it under "". Empty keys and paths that do not exist are left out. A run
// made before inputs.json existed has none and is not checked.
#include <nlohmann/json.hpp>
#include <string>

#include "config/experiment_config.h"

namespace spn {

// Reads every listed file whole (a ViT-L/14 safetensors file, 1.7 GB, takes seconds).
nlohmann::json fingerprint_inputs(const ExperimentConfig& config);

// "" when `now` equals `recorded`, else the first difference, naming the key and the file.
std::string describe_input_change(const nlohmann::json& recorded, const nlohmann::json& now);

}  // namespace spn
