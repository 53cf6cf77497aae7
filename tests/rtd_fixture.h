#pragma once
// RTD's inputs for the tests: a φ file for the tiny random CLIP of tests/clip_fixture.h
// (24 -> 96 -> 96 -> 32: its projection_dim, 4x that, its text width) with SEARLE's
// names, as a SEARLE run exports it; random weights under seed 7, the same every call.
#include <torch/torch.h>

#include <filesystem>

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

}  // namespace spn::testing
