// CLIP ViT-B/32 training steps (random weights of openai/clip-vit-base-patch32's sizes):
// both towers forward, CLIP's symmetric contrastive loss with a learned logit scale,
// backward and an AdamW update, in float32 and in bf16 autocast. Pairs per second next
// to the peer, Hugging Face transformers' CLIPModel doing the same step
// (return_loss=True, torch.optim.AdamW) on the same device with the same batch, run by
// bench/clip_train_peer.py with the Python of the torch installation spn links (it needs
// transformers; SPN_TORCH_PYTHON overrides that Python). One JSON line per precision.
//
//   spn-bench-clip-train [--device cpu|cuda] [--batch 16 on a CPU, 128 on a GPU] [--repeats 3]
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "dist/autocast.h"
#include "models/clip_model.h"
#include "train/sharded_adamw.h"

namespace {

using namespace spn::bench;

constexpr int64_t kContext = 77, kTextEnd = 20;

}  // namespace

int main(int argc, char** argv) {
  bool cuda = false;
  int64_t batch = 0;  // by device
  int64_t repeats = 3;
  parse_flags(argc, argv, "[--device cpu|cuda] [--batch 16 on a CPU, 128 on a GPU] [--repeats 3]",
              {{"--device", [&](const std::string& v) { cuda = read_cuda_device(v); }},
               {"--batch", [&](const std::string& v) { batch = read_count(v); }},
               {"--repeats", [&](const std::string& v) { repeats = read_count(v); }}});
  auto comm = spn::make_world_communicator(&argc, &argv);
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (batch == 0) batch = device.is_cuda() ? 128 : 16;
  const int threads = use_cores_per_rank(*comm);
  const DeviceMeter meter(device);
  torch::manual_seed(0);
  const spn::ClipConfig config;  // CLIPConfig's defaults: ViT-B/32
  spn::ClipTowers towers = spn::make_clip_towers(config);
  towers.image->to(device);
  towers.text->to(device);
  torch::Tensor logit_scale =
      torch::tensor(std::log(1 / 0.07), torch::TensorOptions().device(device)).set_requires_grad(true);
  std::vector<torch::Tensor> parameters = towers.image->parameters();
  for (const auto& p : towers.text->parameters()) parameters.push_back(p);
  parameters.push_back(logit_scale);
  // The optimizer spn's training steps use (unsharded: FusedAdamW).
  const auto optimizer = spn::make_adamw(*comm, parameters, torch::optim::AdamWOptions(1e-5), false);

  const int64_t size = config.vision.image_size;
  const torch::Tensor pixels = torch::randn({batch, 3, size, size}).to(device);
  torch::Tensor tokens = torch::randint(1, 49406, {batch, kContext}, torch::kLong);
  tokens.select(1, 0).fill_(49406);
  tokens.select(1, kTextEnd).fill_(49407);
  tokens = tokens.to(device);
  const torch::Tensor labels = torch::arange(batch, torch::TensorOptions().dtype(torch::kLong).device(device));
  // The peer's JSON lines, one per precision, keyed by precision.
  const nlohmann::json peer =
      training_peer_line(SPN_TORCH_PYTHON, "clip_train_peer.py", threads, batch, repeats, device.is_cuda());

  for (const auto& [name, precision] :
       {std::pair{"fp32", spn::Precision::Fp32}, std::pair{"bf16", spn::Precision::Bf16}}) {
    const auto step = [&] {
      optimizer->zero_grad();
      torch::Tensor image, text;
      {
        const spn::Autocast autocast(precision, device.type());
        image = towers.image->encode(pixels);
        text = towers.text->forward(tokens);
      }
      image = image.to(torch::kFloat) / image.norm(2, 1, true);
      text = text.to(torch::kFloat) / text.norm(2, 1, true);
      const torch::Tensor logits = logit_scale.exp() * image.mm(text.t());
      const torch::Tensor loss = (torch::nn::functional::cross_entropy(logits, labels) +
                                  torch::nn::functional::cross_entropy(logits.t(), labels)) /
                                 2;
      loss.backward();
      optimizer->step();
    };
    meter.reset();
    const double seconds = time_per_call(step, repeats, meter.wait);
    nlohmann::json line = {{"bench", "clip_vit_b32_training_step"},
                           {"precision", name},
                           {"device", device.str()},
                           {"threads", threads},
                           {"batch", batch},
                           {"step_s", seconds},
                           {"pairs_per_s", batch / seconds},
                           {meter.key(), {meter.peak_mib()}},
                           {"peer", peer.contains(name) ? peer[name] : peer}};
    if (peer.contains(name))
      line["ratio_to_peer"] = line["pairs_per_s"].get<double>() / peer[name]["pairs_per_s"].get<double>();
    if (comm->rank() == 0) std::cout << line.dump() << std::endl;
  }
  spn::finalize_communication();
  return 0;
}
