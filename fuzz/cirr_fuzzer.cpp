// Fuzzes the CIRR annotation reader. The input is the split's captions file, its
// image_splits file and a further captions file (load_cirr_triplets, as positive
// scaling's generated triplets are read), NUL-separated.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/cirr.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = spn::fuzz::scratch();
  const std::vector<std::string> parts = spn::fuzz::split_input(data, size, 3);
  dir.write("captions/cap.rc2.val.json", parts[0]);
  dir.write("image_splits/split.rc2.val.json", parts[1]);
  const auto generated = dir.write("generated.json", parts[2]);
  try {
    const spn::CirrSplit split = spn::load_cirr_split(dir.path(), "val");
    spn::load_cirr_triplets(generated, split);
  } catch (const spn::UserError&) {}
  return 0;
}
