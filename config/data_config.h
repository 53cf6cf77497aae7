#pragma once
// [data]: the dataset a run trains and evaluates on, and how images become inputs.
#include <cstdint>
#include <string>
#include <vector>

#include "config/choices.h"

namespace spn {

class ConfigVisitor;

// [data.shapes]: the built-in benchmark, a pure function of this section.
struct ShapesConfig {
  ShapesPreset preset = ShapesPreset::None;
  int64_t seed = 1;
  int64_t train_triplets = 3000;
  int64_t val_triplets = 1000;
  int64_t extra_images = 10000;
  int64_t image_size = 64;
  int64_t set_size = 6;

  void visit(ConfigVisitor& v);
};

// [data.fashioniq]
struct FashionIqConfig {
  std::vector<std::string> categories = {"dress", "shirt", "toptee"};
  CaptionJoin caption_join = CaptionJoin::Capitalized;
  std::string image_extension = "png";

  void visit(ConfigVisitor& v);
};

struct DataConfig {
  DataKind kind = DataKind::Shapes;
  std::string root = "datasets/shapes";
  int64_t image_size = 64;
  Preprocess preprocess = Preprocess::Resize;
  double target_ratio = 1.25;
  int64_t max_words = 24;
  int64_t workers = 4;   // decode threads of the loader
  int64_t prefetch = 2;  // items decoded ahead
  ImageCacheMode cache = ImageCacheMode::None;
  std::string cache_dir = "cache";
  ImageAugmentKind augment = ImageAugmentKind::None;  // training images only
  double crop_scale_min = 0.08;                       // random_resized_crop's area range
  double crop_scale_max = 1.0;
  ShapesConfig shapes;
  FashionIqConfig fashioniq;

  void visit(ConfigVisitor& v);
};

}  // namespace spn
