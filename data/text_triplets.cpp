#include "data/text_triplets.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

using nlohmann::json;

// RTD's field names (its build_loader_RTD).
constexpr const char* kReference = "reference_caption";
constexpr const char* kCondition = "conditioning_caption";
constexpr const char* kTarget = "target_caption";

TextTriplet triplet_of(const json& record, const std::string& where) {
  if (!record.is_object())
    throw UserError(where + ": expected an object with " + kReference + ", " + kCondition + " and " + kTarget);
  TextTriplet triplet;
  const std::pair<const char*, std::string*> fields[] = {
      {kReference, &triplet.reference}, {kCondition, &triplet.condition}, {kTarget, &triplet.target}};
  for (const auto& [key, value] : fields) {
    const auto found = record.find(key);
    if (found == record.end()) throw UserError(where + ": no \"" + key + "\"");
    if (!found->is_string()) throw UserError(where + ": \"" + key + "\" must be a string");
    *value = found->get<std::string>();
  }
  return triplet;
}

}  // namespace

std::vector<TextTriplet> read_text_triplets(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw UserError(file.string() + ": not found");
  const std::string text = read_file(file);
  const size_t first = text.find_first_not_of(" \t\r\n");
  std::vector<TextTriplet> triplets;
  if (first != std::string::npos && text[first] == '[') {
    const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) throw UserError(file.string() + ": not valid JSON");
    for (size_t i = 0; i < parsed.size(); ++i)
      triplets.push_back(triplet_of(parsed[i], file.string() + ": item " + std::to_string(i)));
  } else {
    // JSON Lines, as Hugging Face's json loader also reads them.
    std::istringstream lines(text);
    int64_t number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = file.string() + ":" + std::to_string(number);
      const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (record.is_discarded()) throw UserError(where + ": not valid JSON");
      triplets.push_back(triplet_of(record, where));
    }
  }
  if (triplets.empty()) throw UserError(file.string() + ": holds no text triplets");
  return triplets;
}

std::vector<TextTriplet> text_triplets_from_descriptions(const CirrSplit& split,
                                                         const std::filesystem::path& descriptions) {
  if (!std::filesystem::exists(descriptions))
    throw UserError(descriptions.string() + ": not found (the built-in benchmark writes it beside its captions)");
  const json parsed = json::parse(read_file(descriptions), nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) throw UserError(descriptions.string() + ": expected an object {image name: description}");
  const auto description_of = [&](int64_t image) {
    const std::string& name = split.images.at(static_cast<size_t>(image));
    const auto found = parsed.find(name);
    if (found == parsed.end() || !found->is_string())
      throw UserError(descriptions.string() + ": no description (a string) of image '" + name + "'");
    return found->get<std::string>();
  };
  std::vector<TextTriplet> triplets;
  triplets.reserve(split.triplets.size());
  for (const CirrTriplet& item : split.triplets)
    triplets.push_back({description_of(item.reference), item.caption, description_of(item.target)});
  return triplets;
}

}  // namespace spn
