#pragma once
// The shipped Pic2Word and SEARLE experiments on the built-in benchmark, and the
// overrides that make them small enough for three runs in seconds: a tiny random CLIP
// that the tests write in the run's directory ("clip", projection 24: tests/clip_fixture.h's
// or write_random_clip's below), two epochs of 16 images a step.
#include <cstdlib>
#include <filesystem>
#include <string>

namespace spn::testing {

inline const std::string kPic2WordExperiment =
    (std::filesystem::path(SPN_SOURCE_DIR) / "experiments" / "shapes_pic2word.toml").string();
inline const std::string kPic2WordSmaller =
    " --set model.clip_dir=clip --set threads=1 --set data.shapes.train_triplets=60 --set data.shapes.val_triplets=24"
    " --set data.shapes.extra_images=20 --set eval.circo.queries=16 --set stage1.epochs=2 --set stage1.batch_size=16"
    " --set stage1.log_every=1 --set stage1.lr=1e-3";

inline const std::string kSearleExperiment =
    (std::filesystem::path(SPN_SOURCE_DIR) / "experiments" / "shapes_searle.toml").string();
// Also a narrower φ and a three-step OTI pre-pass over fewer concepts.
inline const std::string kSearleSmaller =
    kPic2WordSmaller +
    " --set model.mapper_hidden=48 --set searle.oti_steps=3 --set searle.oti_batch_size=8"
    " --set searle.top_k_concepts=3 --set searle.phi_top_k_concepts=5";

// A random CLIP as scripts/write-random-clip.py writes it for the zero-shot study
// (CLIP's initialisation; the golden widths at 32 px, projection 24). On it a trained
// SEARLE φ scores differently from an untrained one; on tests/clip_fixture.h's CLIP
// (torch's default initialisation) the two gave identical val and CIRCO metrics, so
// the metrics could not show what φ learned. Both towers' widths times `width_scale`
// (the script's --width-scale). Returns whether the script succeeded.
inline bool write_random_clip(const std::filesystem::path& dir, int width_scale = 1) {
  const std::string script = (std::filesystem::path(SPN_SOURCE_DIR) / "scripts" / "write-random-clip.py").string();
  const std::string command = "python3 '" + script + "' '" + dir.string() +
                              "' --image-size 32 --patch-size 8 --width-scale " + std::to_string(width_scale) +
                              " > /dev/null";
  return std::system(command.c_str()) == 0;
}

}  // namespace spn::testing
