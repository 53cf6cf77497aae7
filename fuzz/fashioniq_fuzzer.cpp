// Fuzzes the FashionIQ annotation reader: one category's captions file and image_splits
// file, NUL-separated.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/fashioniq.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = spn::fuzz::scratch();
  const std::vector<std::string> parts = spn::fuzz::split_input(data, size, 2);
  dir.write("captions/cap.dress.val.json", parts[0]);
  dir.write("image_splits/split.dress.val.json", parts[1]);
  spn::FashionIqOptions options;
  options.categories = {"dress"};
  try {
    const spn::CirrSplit split = spn::load_fashioniq_split(dir.path(), "val", options);
    // The training texts are built from the loaded captions.
    for (const auto& triplet : split.triplets)
      for (int variant = 0; variant < spn::kFashionIqCaptionVariants; ++variant)
        spn::fashioniq_caption_variant(triplet.captions, variant, options.caption_join);
  } catch (const spn::UserError&) {}
  return 0;
}
