#include "data/fashioniq.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "core/error.h"
#include "data/annotation_json.h"

namespace spn {
namespace {

using nlohmann::json;

// Python's str.strip(".?, ").
std::string strip_caption(const std::string& text) {
  const char* kStripped = ".?, ";
  const size_t begin = text.find_first_not_of(kStripped);
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(kStripped) - begin + 1);
}

// Python's str.capitalize(): the first character in title case, the rest lowercased.
std::string capitalize(const std::string& text) {
  icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(text);
  if (unicode.isEmpty()) return text;
  const UChar32 first = unicode.char32At(0);
  icu::UnicodeString rest = unicode.tempSubString(U16_LENGTH(first));
  rest.toLower(icu::Locale::getRoot());
  icu::UnicodeString out(static_cast<UChar32>(u_totitle(first)));
  out.append(rest);
  std::string utf8;
  out.toUTF8String(utf8);
  return utf8;
}

std::string first_part(const std::string& caption, CaptionJoin caption_join) {
  return caption_join == CaptionJoin::Capitalized ? capitalize(strip_caption(caption)) : strip_caption(caption);
}

}  // namespace

std::string join_fashioniq_captions(const std::vector<std::string>& captions, CaptionJoin caption_join) {
  if (caption_join == CaptionJoin::Pic2Word) return captions.at(1) + " and " + captions.at(0);
  return fashioniq_caption_variant(captions, 0, caption_join);
}

std::string fashioniq_caption_variant(const std::vector<std::string>& captions, int variant, CaptionJoin caption_join) {
  const std::string& a = captions.at(variant == 1 || variant == 3 ? 1 : 0);
  const std::string& b = captions.at(variant == 1 || variant == 3 ? 0 : 1);
  if (variant >= 2) return first_part(a, caption_join);
  return first_part(a, caption_join) + " and " + strip_caption(b);
}

CirrSplit load_fashioniq_split(const std::filesystem::path& root, const std::string& split_name,
                               const FashionIqOptions& options) {
  CirrSplit split;
  split.name = split_name;
  split.root = root;
  split.format = AnnotationFormat::kFashionIq;
  split.categories = options.categories;
  for (const std::string& category : options.categories) {
    const auto split_file = root / "image_splits" / ("split." + category + "." + split_name + ".json");
    const json names = parse_annotation_file(split_file);
    if (!names.is_array()) throw UserError(split_file.string() + ": expected an array of image names");
    std::vector<int64_t> gallery;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!names[i].is_string())
        throw UserError(split_file.string() + ": item " + std::to_string(i) + ": expected an image name");
      const std::string name = names[i].get<std::string>();
      auto [found, inserted] = split.index_of.emplace(name, static_cast<int64_t>(split.images.size()));
      if (inserted) {
        split.images.push_back(name);
        split.relative_paths.push_back("images/" + name + "." + options.image_extension);
      }
      gallery.push_back(found->second);
    }
    split.category_images.push_back(std::move(gallery));
  }
  for (size_t c = 0; c < options.categories.size(); ++c) {
    const auto captions_file = root / "captions" / ("cap." + options.categories[c] + "." + split_name + ".json");
    const json items = parse_annotation_file(captions_file);
    if (!items.is_array()) throw UserError(captions_file.string() + ": expected an array of triplets");
    for (size_t i = 0; i < items.size(); ++i) {
      const AnnotationItem item(captions_file, i, items[i], "pairid", split.index_of, split.name);
      CirrTriplet triplet;
      triplet.pairid = static_cast<int64_t>(split.triplets.size());
      triplet.category = static_cast<int64_t>(c);
      triplet.reference = item.image(item.text("candidate"), "candidate");
      if (item.has("target")) triplet.target = item.image(item.text("target"), "target");
      const json& captions = item.field("captions");
      if (!captions.is_array() || captions.size() != 2 || !captions[0].is_string() || !captions[1].is_string())
        item.fail("field 'captions' must hold two strings");
      const std::vector<std::string> pair = {captions[0].get<std::string>(), captions[1].get<std::string>()};
      triplet.caption = join_fashioniq_captions(pair, options.caption_join);
      if (options.caption_join == CaptionJoin::BothOrders)
        triplet.second_caption = fashioniq_caption_variant(pair, 1, options.caption_join);
      for (int variant = 0; variant < kFashionIqCaptionVariants; ++variant)
        triplet.captions.push_back(fashioniq_caption_variant(pair, variant, options.caption_join));
      split.triplets.push_back(std::move(triplet));
    }
  }
  return split;
}

}  // namespace spn
