// Fuzzes image decoding (PNG and JPEG, chosen by magic bytes as for dataset images).
// Run over PNG seeds as fuzz_png and over JPEG seeds as fuzz_jpeg.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "data/image_io.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = spn::fuzz::scratch().write("image", std::string(reinterpret_cast<const char*>(data), size));
  try {
    const spn::RgbImage image = spn::read_image(path);
    // What the data pipeline relies on.
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3)
      std::abort();
  } catch (const spn::UserError&) {}
  return 0;
}
