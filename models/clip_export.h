#pragma once
// Writing a trained CLIP back out as a CLIP model directory, the layout load_clip and
// the clip encoders read (models/clip_model.h): what lets a CLIP trained by one run
// (e.g. contrastive pre-training on the built-in benchmark's image descriptions) be the
// frozen CLIP of another (the zero-shot families' model.clip_dir).
#include <filesystem>

#include "models/clip_image_tower.h"
#include "models/clip_text.h"

namespace spn {

// Writes `out`: config.json and the tokenizer files copied from `source` (the CLIP
// directory the towers were built from), and model.safetensors with every parameter
// and buffer of both towers in float32 under the names they were loaded by, plus
// `logit_scale` (CLIP's log-space scale). The directory is built as `<out>.partial`
// and renamed into place, replacing an earlier `out`, so a reader never finds half of one.
void write_clip_directory(ClipImageTower& image, ClipTextTower& text, double log_logit_scale,
                          const std::filesystem::path& source, const std::filesystem::path& out);

}  // namespace spn
