#pragma once
// FashionIQ annotations (Wu et al. 2021) as CirrSplits:
//   captions/cap.<category>.<split>.json      [{candidate, target, captions: [c1, c2]}]
//   image_splits/split.<category>.<split>.json [image names]
//   images/<name>.<image_extension>
// The gallery is the union of the categories' split images; each category's own
// gallery is kept (CirrSplit::category_images), since FashionIQ retrieves within it.
// Test splits have no target (target = -1).
#include <filesystem>
#include <string>
#include <vector>

#include "config/choices.h"
#include "data/cirr.h"

namespace spn {

struct FashionIqOptions {
  std::vector<std::string> categories = {"dress", "shirt", "toptee"};
  // "capitalized": "C1 and c2", the first caption capitalised as Python's
  // str.capitalize does, both stripped of '.', '?', ',' and ' ' at the ends (the
  // expression of CLIP4CIR's validate.py, which the BLIP/SPRC code inherits);
  // "plain": the same without capitalising; "pic2word": "c2 and c1", the captions as
  // written (Pic2Word's "a photo of * , {cap2} and {cap1}"); "both_orders": "c1 and c2"
  // as "plain", with "c2 and c1" as the triplet's second_caption (SEARLE and RTD average
  // the two orders' query embeddings).
  CaptionJoin caption_join = CaptionJoin::Capitalized;
  std::string image_extension = "png";
};

// Errors (UserError) name the file and the item.
CirrSplit load_fashioniq_split(const std::filesystem::path& root, const std::string& split,
                               const FashionIqOptions& options);

// The evaluation text of a triplet's two captions under `caption_join`.
std::string join_fashioniq_captions(const std::vector<std::string>& captions, CaptionJoin caption_join);

// CLIP4CIR's randomised training text, `variant` 0..3 drawn uniformly: "c1 and c2",
// "c2 and c1", "c1", "c2" (first part capitalised under "capitalized"; "pic2word" and
// "both_orders" train as "plain").
inline constexpr int kFashionIqCaptionVariants = 4;
std::string fashioniq_caption_variant(const std::vector<std::string>& captions, int variant, CaptionJoin caption_join);

}  // namespace spn
