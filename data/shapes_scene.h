#pragma once
// The built-in CIR benchmark's world, in the spirit of CSS (TIRG, Vo et al. 2019):
// scenes of 1-5 objects on a 3x3 grid; each object has a shape (square, circle,
// triangle), one of 8 colours and one of 2 sizes. Modifications add, remove, recolour,
// reshape, resize or move one object, and are phrased several ways in English.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/random.h"

namespace spn::shapes {

constexpr int kGrid = 3;
constexpr int kCells = kGrid * kGrid;
constexpr int kMaxObjects = 5;

enum class Shape : uint8_t { Square, Circle, Triangle };
constexpr int kShapeCount = 3;
constexpr int kColorCount = 8;
constexpr int kSizeCount = 2;

struct Object {
  Shape shape;
  uint8_t color;  // index into the palette
  uint8_t size;   // 0 small, 1 large
  uint8_t cell;   // row * 3 + column
};

// Objects sorted by cell; at most one object per cell.
struct Scene {
  std::vector<Object> objects;
  bool operator==(const Scene& other) const;
};

enum class ModificationKind : uint8_t { Add, Remove, Color, Shape, Size, Move };

using Rng = std::mt19937_64;

Scene random_scene(Rng& rng);

// A random modification of `reference` whose result differs from it. Returns the
// target scene and the modification text.
struct Modification {
  Scene target;
  std::string text;
  ModificationKind kind;
};
Modification random_modification(const Scene& reference, Rng& rng);

// "a large red circle at the top left, a small blue square in the center".
std::string describe(const Scene& scene);

// What a scene holds, not where: its objects' phrases ("a large red circle"), sorted
// and joined with ", ". Two scenes have the same inventory exactly when they hold the
// same objects (shape, colour, size) in any cells: the target description of the
// benchmark's CIRCO-style split (data/shapes_circo.h).
std::string describe_inventory(const Scene& scene);

// `scene`'s objects moved to other cells (a random layout of the same objects that
// differs from `scene`'s); a scene filling every cell is returned as it is.
Scene rearranged(const Scene& scene, Rng& rng);

const char* color_name(int color);
// "square", "circle" or "triangle" (shape < kShapeCount).
const char* shape_name_of(int shape);
// The palette colour as RGB.
void color_rgb(int color, uint8_t rgb[3]);

// Uniform integer in [0, n), identical on every platform (the dataset must be
// byte-identical everywhere).
inline int uniform_index(Rng& rng, int n) { return static_cast<int>(uniform_below(rng, static_cast<uint64_t>(n))); }

}  // namespace spn::shapes
