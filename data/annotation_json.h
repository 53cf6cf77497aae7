#pragma once
// Reading annotation JSON files (CIRR, FashionIQ, CIRCO) with errors that name the
// file, the line of a syntax error, and the item of a bad entry.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>

namespace spn {

// The parsed file; UserError "file: not valid UTF-8 at byte offset N (line L)",
// "file:line: invalid JSON" or "annotation file not found".
nlohmann::json parse_annotation_file(const std::filesystem::path& path);

// One item of an annotation array. Errors read "file: item N (id_key V): message".
class AnnotationItem {
 public:
  // `images` resolves image names (to gallery indices) for image(); `split_name` names
  // the gallery in errors.
  AnnotationItem(const std::filesystem::path& file, size_t index, const nlohmann::json& item, const char* id_key,
                 const std::unordered_map<std::string, int64_t>& images, const std::string& split_name);

  const nlohmann::json& field(const char* key) const;
  bool has(const char* key) const { return item_.contains(key); }
  int64_t integer(const char* key) const;
  std::string text(const char* key) const;
  // The gallery index of image `name`, which plays `role` ("reference", ...).
  int64_t image(const std::string& name, const std::string& role) const;
  [[noreturn]] void fail(const std::string& message) const;

 private:
  const std::filesystem::path& file_;
  size_t index_;
  const nlohmann::json& item_;
  const std::unordered_map<std::string, int64_t>& images_;
  const std::string& split_name_;
  std::string label_;
};

}  // namespace spn
