#include "models/config_json.h"

#include "core/error.h"
#include "core/files.h"

namespace spn {

nlohmann::json read_json_object(const std::filesystem::path& path, const std::string& what) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(path.string() + ": not valid JSON: " + e.what());
  }
  if (!root.is_object()) throw UserError(path.string() + ": expected a JSON object (" + what + ")");
  return root;
}

const nlohmann::json& json_section(const nlohmann::json& root, const std::string& file, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  if (!root.contains(key)) return kEmpty;
  if (!root[key].is_object()) throw UserError(file + ": " + key + ": expected an object");
  return root[key];
}

void read_int(const nlohmann::json& object, const std::string& where, const char* key, int64_t& value,
              int64_t min_value) {
  if (!object.contains(key)) return;
  const nlohmann::json& item = object[key];
  if (!item.is_number_integer() || item.get<int64_t>() < min_value)
    throw UserError(where + key + ": expected an integer >= " + std::to_string(min_value));
  value = item.get<int64_t>();
}

void read_positive_number(const nlohmann::json& object, const std::string& where, const char* key, double& value) {
  if (!object.contains(key)) return;
  if (!object[key].is_number() || object[key].get<double>() <= 0)
    throw UserError(where + key + ": expected a positive number");
  value = object[key].get<double>();
}

void require_heads_divide(const std::string& where, int64_t hidden, int64_t heads) {
  if (hidden % heads != 0)
    throw UserError(where + "num_attention_heads: " + std::to_string(heads) + " does not divide hidden_size " +
                    std::to_string(hidden));
}

}  // namespace spn
