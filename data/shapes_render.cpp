#include "data/shapes_render.h"

#include <cstdlib>

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

RgbImage render_scene(const Scene& scene, int image_size) {
  RgbImage image;
  image.width = image.height = image_size;
  image.pixels.assign(static_cast<size_t>(image_size) * image_size * 3, kBackground);
  const long cell = static_cast<long>(image_size) * kSub / kGrid;
  for (const Object& object : scene.objects) {
    const long cx = (object.cell % kGrid) * cell + cell / 2;
    const long cy = (object.cell / kGrid) * cell + cell / 2;
    const long radius = object.size == 1 ? cell * 36 / 100 : cell * 20 / 100;
    uint8_t rgb[3];
    color_rgb(object.color, rgb);
    const long x0 = (cx - radius) / kSub, x1 = (cx + radius) / kSub, y0 = (cy - radius) / kSub,
               y1 = (cy + radius) / kSub;
    for (long py = y0; py <= y1 && py < image_size; ++py) {
      for (long px = x0; px <= x1 && px < image_size; ++px) {
        int hits = 0;
        for (int sy = 0; sy < kSub; ++sy)
          for (int sx = 0; sx < kSub; ++sx) hits += covers(object, cx, cy, radius, px * kSub + sx, py * kSub + sy);
        if (hits == 0) continue;
        uint8_t* pixel = &image.pixels[(static_cast<size_t>(py) * image_size + px) * 3];
        for (int k = 0; k < 3; ++k)
          pixel[k] = static_cast<uint8_t>((pixel[k] * (kSub * kSub - hits) + rgb[k] * hits) / (kSub * kSub));
      }
    }
  }
  return image;
}

}  // namespace spn::shapes
