// Fuzzes the CIRCO annotation reader: the split's annotations file and the COCO
// gallery's image_info file, NUL-separated.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/circo.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = spn::fuzz::scratch();
  const std::vector<std::string> parts = spn::fuzz::split_input(data, size, 2);
  dir.write("annotations/val.json", parts[0]);
  dir.write("COCO2017_unlabeled/annotations/image_info_unlabeled2017.json", parts[1]);
  try {
    spn::load_circo_split(dir.path(), "val");
  } catch (const spn::UserError&) {}
  return 0;
}
