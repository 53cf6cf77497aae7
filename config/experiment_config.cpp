#include "config/experiment_config.h"

#include "config/visitor.h"

namespace spn {

void ExperimentConfig::visit(ConfigVisitor& v) {
  v.text("name", name, "experiment name; runs go to <runs_dir>/<name>/<run-id>/");
  v.integer("seed", seed, 0, INT64_MAX, "experiment seed: model initialisation and batch order");
  v.integer("threads", threads, 0, 4096, "torch threads per rank; 0 = cores on the node / ranks on the node");
  v.text("runs_dir", runs_dir, "directory that holds the run directories");
  v.choice("precision", precision,
           "dtype of the forward passes (training steps, encoding for evaluation and the bank): \"fp32\"; \"bf16\" "
           "or \"fp16\" autocast matmuls and convolutions to 16 bits while weights, optimizer state, losses, "
           "softmax and gradients stay float32; the stage-2 bank is held and multiplied in the 16-bit type "
           "(statistics float32); fp16 adds dynamic loss scaling");
  v.choice("device", device,
           "where each rank computes: \"cpu\"; \"cuda\" = the GPU of the rank's local rank; \"auto\" = cuda when "
           "a GPU is usable, else cpu. CUDA runs use NCCL for tensor collectives");
  v.section("data", data, "dataset");
  v.section("model", model, "encoders and CIR head");
  v.section("stage1", stage1, "stage 1: joint training with in-batch negatives gathered across ranks");
  v.section("stage2", stage2, "stage 2: query side against the frozen candidate bank, sharded across ranks");
  v.section(
      "positives", positives,
      "positive scaling: de-duplication, captioning, pair mining and templates turn unannotated images into triplets");
  v.section("rtd", rtd, "RTD (model.family = \"rtd\"): the text triplets and loss of its text-encoder training");
  v.section("eval", eval, "evaluation (each dataset's protocol: CIRR, FashionIQ or CIRCO)");
  v.section("searle", searle,
            "SEARLE's training of phi (model.family = \"searle\"): the OTI pre-pass and the distillation of phi");
}

std::string ExperimentConfig::where(const std::string& key_path) const {
  auto found = locations.find(key_path);
  const std::string place = found != locations.end() ? found->second : source_file + " (default)";
  return place + ": " + key_path;
}

}  // namespace spn
