#pragma once
// Reading a model's config.json (Hugging Face's layout): optional keys over defaults,
// each error naming the file and the key.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace spn {

// The file's top-level JSON object; `what` names the expected config in the error.
nlohmann::json read_json_object(const std::filesystem::path& path, const std::string& what);

// `object[key]`, an object, or an empty one when absent. `file` names the file in errors.
const nlohmann::json& json_section(const nlohmann::json& root, const std::string& file, const char* key);

// Reads `object[key]` into `value` when present. `where` prefixes errors ("file: section.").
void read_int(const nlohmann::json& object, const std::string& where, const char* key, int64_t& value,
              int64_t min_value = 1);
void read_positive_number(const nlohmann::json& object, const std::string& where, const char* key, double& value);

// A UserError at `where`num_attention_heads unless `heads` divides `hidden`.
void require_heads_divide(const std::string& where, int64_t hidden, int64_t heads);

}  // namespace spn
