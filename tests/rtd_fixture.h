#pragma once
// RTD's inputs for the tests: a φ file for the tiny random CLIP of tests/clip_fixture.h
// (24 -> 96 -> 96 -> 32: its projection_dim, 4x that, its text width) with SEARLE's
// names, as a SEARLE run exports it; random weights under seed 7, the same every call.
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "models/pseudo_word_mappers.h"
#include "models/safetensors.h"

namespace spn::testing {

inline void write_tiny_phi(const std::filesystem::path& file) {
  torch::manual_seed(7);
  Phi phi(PhiOptions{24, 96, 32, 0.5});
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : phi->named_parameters()) tensors.emplace_back(item.key(), item.value().detach());
  std::filesystem::create_directories(file.parent_path());
  write_safetensors(file, tensors);
}

// experiments/shapes_rtd.toml, and the overrides that make it small enough for three
// runs in seconds: the tiny CLIP and φ the tests write in the run's directory ("clip",
// "phi.safetensors"; hidden width 4 x 24, the default), and the last epoch kept (the
// shipped file keeps its best by val R@1: Launch.RtdKeepsItsBestEpochOnOneTwoAndThreeRanks
// tests that).
inline const std::string kRtdExperiment =
    (std::filesystem::path(SPN_SOURCE_DIR) / "experiments" / "shapes_rtd.toml").string();
inline const std::string kRtdSmaller =
    " --set model.clip_dir=clip --set model.mapper_weights=phi.safetensors --set model.mapper_hidden=0 --set threads=1"
    " --set data.shapes.train_triplets=60 --set data.shapes.val_triplets=24 --set data.shapes.extra_images=20"
    " --set eval.circo.queries=16 --set stage1.epochs=2 --set stage1.batch_size=16 --set stage1.log_every=1"
    " --set stage1.lr=1e-4 --set stage1.eval_every_epoch=false";

}  // namespace spn::testing
