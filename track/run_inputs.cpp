#include "track/run_inputs.h"

#include <algorithm>
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

bool read_from_model_directory(const fs::path& file) {
  const std::string extension = file.extension().string();
  return extension == ".safetensors" || extension == ".json" || extension == ".txt";
}

nlohmann::json fingerprint_path(const std::string& where) {
  nlohmann::json files = nlohmann::json::object();
  const fs::path path = where;
  if (fs::is_regular_file(path)) {
    files[""] = file_fingerprint(path);
  } else if (fs::is_directory(path)) {
    std::vector<fs::path> listed;
    for (const fs::directory_entry& entry : fs::directory_iterator(path))
      if (entry.is_regular_file() && read_from_model_directory(entry.path())) listed.push_back(entry.path());
    std::sort(listed.begin(), listed.end());
    for (const fs::path& file : listed) files[file.filename().string()] = file_fingerprint(file);
  }
  return files;
}

}  // namespace

nlohmann::json fingerprint_inputs(const ExperimentConfig& config) {
  const std::vector<std::pair<const char*, const std::string*>> keys = {
      {"model.clip_dir", &config.model.clip_dir},
      {"model.blip2_dir", &config.model.blip2_dir},
      {"model.mapper_weights", &config.model.mapper_weights},
      {"stage1.init_checkpoint", &config.stage1.init_checkpoint},
      {"positives.encoder_checkpoint", &config.positives.encoder_checkpoint},
      {"searle.concepts", &config.searle.concepts},
      {"rtd.text_triplets", &config.rtd.text_triplets},
  };
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [key, value] : keys) {
    if (value->empty()) continue;
    nlohmann::json files = fingerprint_path(*value);
    if (!files.empty()) inputs[key] = {{"path", *value}, {"files", std::move(files)}};
  }
  return inputs;
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
      const std::string was = before.value(name, std::string("absent"));
      const std::string is = after.value(name, std::string("absent"));
      if (was != is) return key + ": " + file + " changed since the run started (then " + was + ", now " + is + ")";
    }
  }
  return "";
}

}  // namespace spn
