#pragma once
#include "data/image_io.h"
#include "data/shapes_scene.h"

namespace spn::shapes {

// Draws a scene on a light background, anti-aliased with 4x4 supersampling in integer
// arithmetic (so the pixels are identical on every machine).
RgbImage render_scene(const Scene& scene, int image_size);
// The same on a width x height canvas: the grid's cells stretch with it, the objects
// keep their shape (sized by the shorter side of a cell). Square canvases give the
// bytes of render_scene(scene, side).
RgbImage render_scene(const Scene& scene, int width, int height);

// Adds a deterministic per-pixel grain of +-amplitude (a pure function of `seed` and
// the pixel), so the image compresses like a photo and a JPEG decoder does the work a
// photo would give it, instead of skipping flat blocks.
void add_grain(RgbImage& image, uint64_t seed, int amplitude);

}  // namespace spn::shapes
