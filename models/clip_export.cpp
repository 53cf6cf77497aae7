#include "models/clip_export.h"

#include <torch/torch.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "models/safetensors.h"

namespace spn {
namespace {

// The tensors of `module` by their names, as float32 copies on the CPU.
void add_tensors(torch::nn::Module& module, std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& item : module.named_parameters(true))
    tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU, torch::kFloat).contiguous());
  for (const auto& item : module.named_buffers(true))
    tensors.emplace_back(item.key(), item.value().detach().to(torch::kCPU, torch::kFloat).contiguous());
}

}  // namespace

void write_clip_directory(ClipImageTower& image, ClipTextTower& text, double log_logit_scale,
                          const std::filesystem::path& source, const std::filesystem::path& out) {
  const fs::path partial = out.string() + ".partial";
  std::error_code ignored;
  fs::remove_all(partial, ignored);  // a writer killed earlier
  make_directories(partial);
  // The sizes and the tokenizer are the source's: training changes neither.
  for (const char* name : {"config.json", "vocab.json", "merges.txt", "tokenizer.json"}) {
    if (fs::exists(source / name)) write_file_atomic(partial / name, read_file(source / name));
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  add_tensors(image, tensors);
  add_tensors(text, tensors);
  tensors.emplace_back("logit_scale", torch::full({}, log_logit_scale, torch::kFloat));
  write_safetensors(partial / "model.safetensors", tensors);

  // Replace an earlier directory: move it aside first, since a directory cannot be
  // renamed over a non-empty one.
  const fs::path previous = out.string() + ".previous-" + std::to_string(::getpid());
  if (fs::exists(out)) fs::rename(out, previous);
  fs::rename(partial, out);
  fs::remove_all(previous, ignored);
}

}  // namespace spn
