#include "data/annotation_json.h"

#include <algorithm>

#include "core/error.h"
#include "core/files.h"
#include "core/utf8.h"

namespace spn {
namespace {

// 1-based line of a byte offset, for JSON syntax errors.
size_t line_of(const std::string& text, size_t offset) {
  return 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + std::min(offset, text.size()), '\n'));
}

}  // namespace

nlohmann::json parse_annotation_file(const fs::path& path) {
  if (!fs::exists(path)) throw UserError(path.string() + ": annotation file not found");
  const std::string text = read_file(path);
  require_utf8(text, path.string());  // before the parser, which could only say "ill-formed" near it
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& error) {
    throw UserError(path.string() + ":" + std::to_string(line_of(text, error.byte)) + ": invalid JSON (" +
                    error.what() + ")");
  } catch (const nlohmann::json::exception& error) {
    // The parser's other errors (a number too large for a double, found by
    // fuzz/fashioniq_fuzzer.cpp) carry no byte offset.
    throw UserError(path.string() + ": invalid JSON (" + error.what() + ")");
  }
}

AnnotationItem::AnnotationItem(const fs::path& file, size_t index, const nlohmann::json& item, const char* id_key,
                               const std::unordered_map<std::string, int64_t>& images, const std::string& split_name)
    : file_(file), index_(index), item_(item), images_(images), split_name_(split_name) {
  if (!item.is_object()) fail("expected an object");
  if (item.contains(id_key) && item[id_key].is_number_integer())
    label_ = std::string(" (") + id_key + " " + std::to_string(item[id_key].get<int64_t>()) + ")";
}

const nlohmann::json& AnnotationItem::field(const char* key) const {
  if (!item_.contains(key)) fail(std::string("missing field '") + key + "'");
  return item_[key];
}

int64_t AnnotationItem::integer(const char* key) const {
  const nlohmann::json& value = field(key);
  if (!value.is_number_integer()) fail(std::string("field '") + key + "' must be an integer");
  return value.get<int64_t>();
}

std::string AnnotationItem::text(const char* key) const {
  const nlohmann::json& value = field(key);
  if (!value.is_string()) fail(std::string("field '") + key + "' must be a string");
  return value.get<std::string>();
}

int64_t AnnotationItem::image(const std::string& name, const std::string& role) const {
  auto found = images_.find(name);
  if (found == images_.end()) fail(role + " '" + name + "' is not an image of split '" + split_name_ + "'");
  return found->second;
}

void AnnotationItem::fail(const std::string& message) const {
  throw UserError(file_.string() + ": item " + std::to_string(index_) + label_ + ": " + message);
}

}  // namespace spn
