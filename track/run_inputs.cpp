#include "track/run_inputs.h"

#include <fstream>
#include <vector>

#include "core/error.h"
#include "core/hash.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

std::string file_fingerprint(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path.string() + ": cannot be read");
  std::vector<char> chunk(1 << 20);
  uint64_t hash = kFnvOffset;
  uint64_t bytes = 0;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    hash = fnv1a(chunk.data(), got, hash);
    bytes += got;
  }
  if (in.bad()) throw UserError(path.string() + ": read error");
  return std::to_string(bytes) + " " + hex64(hash);
}

// The type of `path`, not_found when it does not exist; another error (a permission,
// say) is the key's.
fs::file_type type_of(const std::string& key, const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error && status.type() != fs::file_type::not_found)
    throw UserError(key + ": " + path.string() + ": " + error.message());
  return status.type();
}

// A file key's fingerprint under "", a model directory's under each file spn reads there
// that exists (models/clip_model.cpp, models/clip_tokenizer.cpp, models/sprc_model.cpp).
nlohmann::json fingerprint_path(const std::string& key, const std::string& where,
                                const std::vector<const char*>& directory_files) {
  nlohmann::json files = nlohmann::json::object();
  const fs::path path = where;
  if (directory_files.empty()) {
    if (type_of(key, path) == fs::file_type::regular) files[""] = file_fingerprint(path);
  } else if (type_of(key, path) == fs::file_type::directory) {
    for (const char* name : directory_files)
      if (type_of(key, path / name) == fs::file_type::regular) files[name] = file_fingerprint(path / name);
  }
  return files;
}

}  // namespace

nlohmann::json fingerprint_inputs(const ExperimentConfig& config) {
  const std::vector<const char*> clip_files = {"config.json", "model.safetensors", "vocab.json", "merges.txt",
                                               "tokenizer.json"};
  const std::vector<const char*> blip2_files = {"config.json", "model.safetensors", "vocab.txt"};
  struct Input {
    const char* key;
    const std::string* path;
    std::vector<const char*> directory_files;  // empty: the key names a file
  };
  const std::vector<Input> inputs = {
      {"model.clip_dir", &config.model.clip_dir, clip_files},
      {"model.blip2_dir", &config.model.blip2_dir, blip2_files},
      {"model.mapper_weights", &config.model.mapper_weights, {}},
      {"stage1.init_checkpoint", &config.stage1.init_checkpoint, {}},
      {"positives.encoder_checkpoint", &config.positives.encoder_checkpoint, {}},
      {"searle.concepts", &config.searle.concepts, {}},
      {"rtd.text_triplets", &config.rtd.text_triplets, {}},
  };
  nlohmann::json fingerprints = nlohmann::json::object();
  for (const Input& input : inputs) {
    if (input.path->empty()) continue;
    nlohmann::json files = fingerprint_path(input.key, *input.path, input.directory_files);
    if (!files.empty()) fingerprints[input.key] = {{"path", *input.path}, {"files", std::move(files)}};
  }
  return fingerprints;
}

std::string describe_input_change(const nlohmann::json& recorded, const nlohmann::json& now) {
  const auto files_of = [](const nlohmann::json& inputs, const std::string& key) {
    return inputs.contains(key) ? inputs[key].value("files", nlohmann::json::object()) : nlohmann::json::object();
  };
  std::vector<std::string> keys;
  for (const auto& [key, value] : recorded.items()) keys.push_back(key);
  for (const auto& [key, value] : now.items())
    if (!recorded.contains(key)) keys.push_back(key);
  for (const std::string& key : keys) {
    const nlohmann::json before = files_of(recorded, key), after = files_of(now, key);
    const std::string path =
        now.contains(key) ? now[key].value("path", "") : recorded[key].value("path", std::string());
    std::vector<std::string> names;
    for (const auto& [name, value] : before.items()) names.push_back(name);
    for (const auto& [name, value] : after.items())
      if (!before.contains(name)) names.push_back(name);
    for (const std::string& name : names) {
      const std::string file = name.empty() ? path : (fs::path(path) / name).string();
      if (!after.contains(name)) return key + ": " + file + " is missing now; the run started with it";
      if (!before.contains(name)) return key + ": " + file + " appeared since the run started without it";
      if (before[name] != after[name])
        return key + ": " + file + " changed since the run started (then " + before[name].get<std::string>() +
               ", now " + after[name].get<std::string>() + ")";
    }
  }
  return "";
}

}  // namespace spn
