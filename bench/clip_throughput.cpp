// CLIP ViT-B/32 encoding throughput on the CPU (float32, random weights of
// openai/clip-vit-base-patch32's sizes): images/s and texts/s (77 tokens), next to a
// plain matmul's GFLOP/s measured in the same run, and to Hugging Face transformers on
// the same machine, batch sizes and threads when SPN_BENCH_PYTHON names a Python with
// torch and transformers (bench/clip_transformers.py). One JSON line.
//
//   spn-bench-clip [--image-batch 32] [--text-batch 64] [--repeats 3]
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "models/clip_model.h"

namespace {

using namespace spn::bench;

// The Python reference's JSON line, or an object saying why there is none.
nlohmann::json transformers_reference(int threads, int64_t image_batch, int64_t text_batch, int repeats) {
  return python_peer_line("SPN_BENCH_PYTHON",
                          "clip_transformers.py " + std::to_string(threads) + " " + std::to_string(image_batch) + " " +
                              std::to_string(text_batch) + " " + std::to_string(repeats),
                          "torch and transformers");
}

}  // namespace

int main(int argc, char** argv) {
  int64_t image_batch = 32, text_batch = 64, repeats = 3;
  parse_flags(argc, argv, "[--image-batch 32] [--text-batch 64] [--repeats 3]",
              {{"--image-batch", [&](const std::string& v) { image_batch = read_count(v); }},
               {"--text-batch", [&](const std::string& v) { text_batch = read_count(v); }},
               {"--repeats", [&](const std::string& v) { repeats = read_count(v); }}});
  auto comm = spn::make_world_communicator(&argc, &argv);
  const int threads = use_cores_per_rank(*comm);
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const spn::ClipConfig config;  // CLIPConfig's defaults: ViT-B/32
  spn::ClipTowers towers = spn::make_clip_towers(config);
  towers.image->eval();
  towers.text->eval();
  const torch::Tensor pixels = torch::randn({image_batch, 3, config.vision.image_size, config.vision.image_size});
  torch::Tensor tokens = torch::randint(1, 49406, {text_batch, 77}, torch::kLong);
  tokens.select(1, 0).fill_(49406);
  tokens.select(1, 20).fill_(49407);
  tokens.narrow(1, 21, 56).zero_();

  const double image_s = time_per_call([&] { towers.image->encode(pixels); }, repeats);
  const double text_s = time_per_call([&] { towers.text->forward(tokens); }, repeats);
  const torch::Tensor a = torch::randn({2048, 2048}), b = torch::randn({2048, 2048});
  const double matmul_s = time_per_call([&] { torch::matmul(a, b); }, repeats);

  nlohmann::json line = {{"bench", "clip_vit_b32_cpu"},
                         {"threads", threads},
                         {"image_batch", image_batch},
                         {"text_batch", text_batch},
                         {"images_per_s", image_batch / image_s},
                         {"texts_per_s", text_batch / text_s},
                         {"matmul_2048_gflops", 2.0 * 2048 * 2048 * 2048 / matmul_s / 1e9}};
  const nlohmann::json reference = transformers_reference(threads, image_batch, text_batch, repeats);
  line["transformers"] = reference;
  if (reference.contains("images_per_s")) {
    line["images_ratio_to_transformers"] = line["images_per_s"].get<double>() / reference["images_per_s"].get<double>();
    line["texts_ratio_to_transformers"] = line["texts_per_s"].get<double>() / reference["texts_per_s"].get<double>();
  }
  if (comm->rank() == 0) std::cout << line.dump() << std::endl;
  spn::finalize_communication();
  return 0;
}
