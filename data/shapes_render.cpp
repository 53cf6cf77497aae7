#include "data/shapes_render.h"

#include <algorithm>
#include <cstdlib>

#include "core/hash.h"

namespace spn::shapes {
namespace {

constexpr int kSub = 4;  // subsamples per pixel side
constexpr uint8_t kBackground = 236;

// Is the subsample point (x, y), in units of 1/kSub pixel, inside the object? All
// geometry is in those integer units.
bool covers(const Object& object, long cx, long cy, long radius, long x, long y) {
  const long dx = x - cx, dy = y - cy;
  switch (object.shape) {
    case Shape::Square: return std::labs(dx) <= radius && std::labs(dy) <= radius;
    case Shape::Circle: return dx * dx + dy * dy <= radius * radius;
    case Shape::Triangle:
      // Apex at the top, base at the bottom: inside when below both slanted edges.
      return dy <= radius && 2 * std::labs(dx) <= dy + radius;
  }
  return false;
}

}  // namespace

RgbImage render_scene(const Scene& scene, int image_size) { return render_scene(scene, image_size, image_size); }

RgbImage render_scene(const Scene& scene, int width, int height) {
  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.assign(static_cast<size_t>(width) * height * 3, kBackground);
  const long cell_x = static_cast<long>(width) * kSub / kGrid, cell_y = static_cast<long>(height) * kSub / kGrid;
  const long cell = std::min(cell_x, cell_y);
  for (const Object& object : scene.objects) {
    const long cx = (object.cell % kGrid) * cell_x + cell_x / 2;
    const long cy = (object.cell / kGrid) * cell_y + cell_y / 2;
    const long radius = object.size == 1 ? cell * 36 / 100 : cell * 20 / 100;
    uint8_t rgb[3];
    color_rgb(object.color, rgb);
    const long x0 = (cx - radius) / kSub, x1 = (cx + radius) / kSub, y0 = (cy - radius) / kSub,
               y1 = (cy + radius) / kSub;
    for (long py = y0; py <= y1 && py < height; ++py) {
      for (long px = x0; px <= x1 && px < width; ++px) {
        int hits = 0;
        for (int sy = 0; sy < kSub; ++sy)
          for (int sx = 0; sx < kSub; ++sx) hits += covers(object, cx, cy, radius, px * kSub + sx, py * kSub + sy);
        if (hits == 0) continue;
        uint8_t* pixel = &image.pixels[(static_cast<size_t>(py) * width + px) * 3];
        for (int k = 0; k < 3; ++k)
          pixel[k] = static_cast<uint8_t>((pixel[k] * (kSub * kSub - hits) + rgb[k] * hits) / (kSub * kSub));
      }
    }
  }
  return image;
}

void add_grain(RgbImage& image, uint64_t seed, int amplitude) {
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  for (size_t p = 0; p < pixels; ++p) {
    const uint64_t z = mix_seed(seed, p);  // one hash gives the three channels' offsets
    for (int k = 0; k < 3; ++k) {
      const int offset = static_cast<int>((z >> (16 * k)) % static_cast<uint64_t>(2 * amplitude + 1)) - amplitude;
      uint8_t& value = image.pixels[p * 3 + k];
      value = static_cast<uint8_t>(std::clamp(value + offset, 0, 255));
    }
  }
}

}  // namespace spn::shapes
