#pragma once
// Writes a zero-shot model's trained mapping network (IM2TEXT or φ) as safetensors with
// the reference names (models/pseudo_word_mappers.h), exactly what model.mapper_weights
// reads back, so another run (or the reference code, after converting) can start from
// it. Written atomically (a temporary name, then renamed).
#include <filesystem>

namespace torch::nn {
class Module;
}

namespace spn {

void export_mapper_weights(torch::nn::Module& mapper, const std::filesystem::path& file);

}  // namespace spn
