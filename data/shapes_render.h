#pragma once
#include "data/image_io.h"
#include "data/shapes_scene.h"

namespace spn::shapes {

// Draws a scene on a light background, anti-aliased with 4x4 supersampling in integer
// arithmetic (so the pixels are identical on every machine).
RgbImage render_scene(const Scene& scene, int image_size);

}  // namespace spn::shapes
