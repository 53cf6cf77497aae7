#include "data/shapes_scene.h"

#include <algorithm>
#include <array>

namespace spn::shapes {
namespace {

constexpr std::array<const char*, kColorCount> kColorNames = {"red",    "green", "blue",   "yellow",
                                                              "purple", "cyan",  "orange", "gray"};
constexpr uint8_t kPalette[kColorCount][3] = {{220, 40, 40},  {40, 170, 60},  {40, 80, 220},  {235, 210, 40},
                                              {140, 60, 190}, {40, 200, 210}, {245, 140, 30}, {120, 120, 120}};
constexpr std::array<const char*, kShapeCount> kShapeNames = {"square", "circle", "triangle"};
constexpr std::array<const char*, kSizeCount> kSizeNames = {"small", "large"};
constexpr std::array<const char*, kCells> kCellNames = {"top left",    "top center",    "top right",
                                                        "middle left", "center",        "middle right",
                                                        "bottom left", "bottom center", "bottom right"};

const char* shape_name(Shape shape) { return kShapeNames[static_cast<int>(shape)]; }

template <class T>
const T& pick(Rng& rng, const std::vector<T>& options) {
  return options[uniform_index(rng, static_cast<int>(options.size()))];
}

void sort_by_cell(Scene& scene) {
  std::sort(scene.objects.begin(), scene.objects.end(),
            [](const Object& a, const Object& b) { return a.cell < b.cell; });
}

std::vector<int> free_cells(const Scene& scene) {
  std::vector<int> cells;
  for (int c = 0; c < kCells; ++c)
    if (std::none_of(scene.objects.begin(), scene.objects.end(), [c](const Object& o) { return o.cell == c; }))
      cells.push_back(c);
  return cells;
}

Object random_object(Rng& rng, int cell) {
  Object object;
  object.shape = static_cast<Shape>(uniform_index(rng, kShapeCount));
  object.color = static_cast<uint8_t>(uniform_index(rng, kColorCount));
  object.size = static_cast<uint8_t>(uniform_index(rng, kSizeCount));
  object.cell = static_cast<uint8_t>(cell);
  return object;
}

std::string with_article(const std::string& phrase) {
  return (phrase[0] == 'a' || phrase[0] == 'e' || phrase[0] == 'i' || phrase[0] == 'o' || phrase[0] == 'u' ? "an "
                                                                                                           : "a ") +
         phrase;
}

// The shortest phrase that picks out `index` in the scene: colour and shape, then
// size, then position when that is still ambiguous.
std::string refer_to(const Scene& scene, size_t index) {
  const Object& target = scene.objects[index];
  auto count_matching = [&](bool use_size) {
    return std::count_if(scene.objects.begin(), scene.objects.end(), [&](const Object& o) {
      return o.shape == target.shape && o.color == target.color && (!use_size || o.size == target.size);
    });
  };
  std::string phrase = std::string(kColorNames[target.color]) + " " + shape_name(target.shape);
  if (count_matching(false) == 1) return "the " + phrase;
  phrase = std::string(kSizeNames[target.size]) + " " + phrase;
  if (count_matching(true) == 1) return "the " + phrase;
  return "the " + phrase + " at the " + kCellNames[target.cell];
}

std::string object_phrase(const Object& object) {
  return std::string(kSizeNames[object.size]) + " " + kColorNames[object.color] + " " + shape_name(object.shape);
}

std::string fill(std::string text, const std::string& key, const std::string& value) {
  const size_t at = text.find(key);
  if (at != std::string::npos) text.replace(at, key.size(), value);
  return text;
}

}  // namespace

bool Scene::operator==(const Scene& other) const {
  if (objects.size() != other.objects.size()) return false;
  for (size_t i = 0; i < objects.size(); ++i) {
    const Object &a = objects[i], &b = other.objects[i];
    if (a.shape != b.shape || a.color != b.color || a.size != b.size || a.cell != b.cell) return false;
  }
  return true;
}

const char* color_name(int color) { return kColorNames[color]; }
const char* shape_name_of(int shape) { return kShapeNames[shape]; }

void color_rgb(int color, uint8_t rgb[3]) {
  for (int k = 0; k < 3; ++k) rgb[k] = kPalette[color][k];
}

Scene random_scene(Rng& rng) {
  Scene scene;
  const int count = 1 + uniform_index(rng, kMaxObjects);
  std::vector<int> cells(kCells);
  for (int c = 0; c < kCells; ++c) cells[c] = c;
  for (int i = 0; i < count; ++i) {
    const int j = i + uniform_index(rng, kCells - i);
    std::swap(cells[i], cells[j]);
    scene.objects.push_back(random_object(rng, cells[i]));
  }
  sort_by_cell(scene);
  return scene;
}

Modification random_modification(const Scene& reference, Rng& rng) {
  const int n = static_cast<int>(reference.objects.size());
  std::vector<ModificationKind> kinds = {ModificationKind::Color, ModificationKind::Shape, ModificationKind::Size};
  if (n < kMaxObjects) kinds.push_back(ModificationKind::Add);
  if (n > 1) kinds.push_back(ModificationKind::Remove);
  if (n < kCells) kinds.push_back(ModificationKind::Move);

  Modification out;
  out.kind = pick(rng, kinds);
  out.target = reference;
  const size_t index = static_cast<size_t>(uniform_index(rng, n));
  const std::string ref = refer_to(reference, index);
  Object& object = out.target.objects[index];

  switch (out.kind) {
    case ModificationKind::Add: {
      const Object added = random_object(rng, pick(rng, free_cells(reference)));
      out.target.objects.push_back(added);
      const std::string thing = with_article(object_phrase(added));
      out.text =
          fill(fill(pick(rng, std::vector<std::string>{"add {thing} at the {cell}", "put {thing} in the {cell}",
                                                       "place {thing} at the {cell}", "insert {thing} at the {cell}"}),
                    "{thing}", thing),
               "{cell}", kCellNames[added.cell]);
      break;
    }
    case ModificationKind::Remove:
      out.target.objects.erase(out.target.objects.begin() + static_cast<long>(index));
      out.text = pick(rng, std::vector<std::string>{"remove ", "take away ", "delete ", "get rid of "}) + ref;
      break;
    case ModificationKind::Color: {
      object.color = static_cast<uint8_t>((object.color + 1 + uniform_index(rng, kColorCount - 1)) % kColorCount);
      const std::string color = kColorNames[object.color];
      out.text = fill(fill(pick(rng, std::vector<std::string>{"make {ref} {color}", "change {ref} to {color}",
                                                              "paint {ref} {color}", "color {ref} {color}"}),
                           "{ref}", ref),
                      "{color}", color);
      break;
    }
    case ModificationKind::Shape: {
      object.shape =
          static_cast<Shape>((static_cast<int>(object.shape) + 1 + uniform_index(rng, kShapeCount - 1)) % kShapeCount);
      const std::string shape = shape_name(object.shape);
      out.text =
          fill(fill(pick(rng, std::vector<std::string>{"turn {ref} into a {shape}", "make {ref} a {shape}",
                                                       "change {ref} into a {shape}", "replace {ref} with a {shape}"}),
                    "{ref}", ref),
               "{shape}", shape);
      break;
    }
    case ModificationKind::Size: {
      object.size = static_cast<uint8_t>(1 - object.size);
      const bool bigger = object.size == 1;
      out.text = fill(pick(rng, bigger ? std::vector<std::string>{"make {ref} bigger", "enlarge {ref}",
                                                                  "make {ref} large", "grow {ref}"}
                                       : std::vector<std::string>{"make {ref} smaller", "shrink {ref}",
                                                                  "make {ref} small", "reduce {ref} in size"}),
                      "{ref}", ref);
      break;
    }
    case ModificationKind::Move: {
      object.cell = static_cast<uint8_t>(pick(rng, free_cells(reference)));
      out.text = fill(
          fill(pick(rng, std::vector<std::string>{"move {ref} to the {cell}", "shift {ref} to the {cell}",
                                                  "put {ref} at the {cell} instead", "slide {ref} over to the {cell}"}),
               "{ref}", ref),
          "{cell}", kCellNames[object.cell]);
      break;
    }
  }
  sort_by_cell(out.target);
  return out;
}

std::string describe(const Scene& scene) {
  std::string text;
  for (const Object& object : scene.objects) {
    if (!text.empty()) text += ", ";
    text +=
        with_article(object_phrase(object)) + (object.cell == 4 ? " in the " : " at the ") + kCellNames[object.cell];
  }
  return text;
}

std::string describe_inventory(const Scene& scene) {
  std::vector<std::string> phrases;
  for (const Object& object : scene.objects) phrases.push_back(with_article(object_phrase(object)));
  std::sort(phrases.begin(), phrases.end());
  std::string text;
  for (const std::string& phrase : phrases) text += (text.empty() ? "" : ", ") + phrase;
  return text;
}

Scene rearranged(const Scene& scene, Rng& rng) {
  if (scene.objects.size() >= static_cast<size_t>(kCells)) return scene;
  // A random permutation of the cells; the objects take its first cells. Retried until
  // the layout differs (one object has 8 other cells, so this ends at once in practice).
  for (;;) {
    std::vector<int> cells(kCells);
    for (int c = 0; c < kCells; ++c) cells[c] = c;
    seeded_shuffle(cells, rng);
    Scene out = scene;
    for (size_t i = 0; i < out.objects.size(); ++i) out.objects[i].cell = static_cast<uint8_t>(cells[i]);
    sort_by_cell(out);
    if (!(out == scene)) return out;
  }
}

}  // namespace spn::shapes
