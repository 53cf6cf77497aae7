#pragma once
// The built-in benchmark minus the pixels: which scenes, names, triplets and img_sets
// [data.shapes] gives, a pure function of that section.
//
// preset = "none": few training triplets, each with its own two images, then many
// unannotated images (extra_images); each validation query has an img_set of its own
// (the reference, the target and other modifications of the reference: hard negatives
// for Recall_subset). Square PNGs.
//
// preset = "cirr": CIRR's sizes (kCirrSizes). Images come in chains of up to 6, each
// image a modification of the one before; a triplet goes 1, 2 or 3 steps along a chain
// (texts joined with ", then "), all 1-step triplets first, so images are shared by
// triplets as in CIRR, and a validation query's img_set is its chain. 500x375 JPEGs.
#include <cstdint>
#include <string>
#include <vector>

#include "config/data_config.h"
#include "data/shapes_scene.h"

namespace spn {

struct ShapesImage {
  std::string name;
  std::string relative_path;
  shapes::Scene scene;
};

struct ShapesTriplet {
  std::string reference;
  std::string target;
  std::string caption;
  std::vector<std::string> members;
};

struct ShapesPlan {
  std::vector<ShapesImage> train_images;  // triplet images first, then the extra images
  std::vector<ShapesImage> val_images;
  std::vector<ShapesTriplet> train_triplets;
  std::vector<ShapesTriplet> val_triplets;
};

// CIRR's published split sizes (Liu et al., ICCV 2021; the counts of its rc2 train and
// val annotation files) and a typical photo size of its NLVR2 images.
struct CirrSizes {
  int64_t train_images = 16'939;
  int64_t train_triplets = 28'225;
  int64_t val_images = 2'297;
  int64_t val_queries = 4'181;
  int64_t set_size = 6;
  int width = 500;
  int height = 375;
};
inline constexpr CirrSizes kCirrSizes;

// `cirr` gives the sizes of preset "cirr" (tests pass smaller ones).
ShapesPlan plan_shapes_benchmark(const ShapesConfig& config, const CirrSizes& cirr = kCirrSizes);

}  // namespace spn
