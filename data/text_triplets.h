#pragma once
// RTD's training data: text triplets (reference caption, condition, target caption),
// no images. From a JSON file in RTD's own format (its loader reads
// "reference_caption", "conditioning_caption" and "target_caption" from every record
// of the file, a list or one object a line), or, for the built-in benchmark, from its
// annotated triplets: the reference and target images' descriptions around the
// triplet's modification caption.
#include <filesystem>
#include <string>
#include <vector>

#include "data/cirr.h"

namespace spn {

struct TextTriplet {
  std::string reference;  // the reference caption
  std::string condition;  // the modification
  std::string target;     // the target caption
};

// The triplets of `file`: a JSON list of records, or JSON Lines. A file that is not
// JSON, a record that is not an object, or a field missing or not a string is a
// UserError naming the file and the record (its index, or its line for JSON Lines).
std::vector<TextTriplet> read_text_triplets(const std::filesystem::path& file);

// One triplet per training triplet of `split`, in order: its images' descriptions
// from `descriptions` (the benchmark's descriptions.json, {image name: description}).
// An image without a description is a UserError naming it and the file.
std::vector<TextTriplet> text_triplets_from_descriptions(const CirrSplit& split,
                                                         const std::filesystem::path& descriptions);

}  // namespace spn
