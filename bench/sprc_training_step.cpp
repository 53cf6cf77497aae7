// SPRC's stage-1 training step on BLIP-2's Q-Former side (random weights of
// Salesforce/blip2-itm-vit-g's sizes: BERT-base Q-Former, 32 query and prompt tokens,
// 256-wide projections): target token sets, the fusion pass, the composed query and the
// prompt branch, itc + 0.4 rtc + 0.4 align, backward and SPRC's AdamW update (betas
// 0.9/0.98, eps 1e-7, weight decay 0.05), in float32 and bf16 autocast. The frozen ViT is
// not part of the step (SPRC runs it without gradients): both sides take the same random
// image tokens [B, 257, 1408]. Pairs per second next to the peer, transformers'
// Blip2ForImageTextRetrieval doing the same passes and losses with torch.optim.AdamW
// (bench/sprc_train_peer.py, with the Python of the torch installation spn links or
// SPN_TORCH_PYTHON). One JSON line per precision.
//
//   spn-bench-sprc-train [--device cpu|cuda] [--batch 8 on a CPU, 128 on a GPU] [--repeats 2]
#include <torch/torch.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <utility>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "dist/autocast.h"
#include "models/blip2_sprc.h"
#include "train/sharded_adamw.h"

namespace {

using namespace spn::bench;

constexpr int64_t kTextLength = 32, kTextEnd = 20;

}  // namespace

int main(int argc, char** argv) {
  bool cuda = false;
  int64_t batch = 0;  // by device
  int64_t repeats = 2;
  parse_flags(argc, argv, "[--device cpu|cuda] [--batch 8 on a CPU, 128 on a GPU] [--repeats 2]",
              {{"--device", [&](const std::string& v) { cuda = read_cuda_device(v); }},
               {"--batch", [&](const std::string& v) { batch = read_count(v); }},
               {"--repeats", [&](const std::string& v) { repeats = read_count(v); }}});
  auto comm = spn::make_world_communicator(&argc, &argv);
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (batch == 0) batch = device.is_cuda() ? 128 : 8;
  const int threads = use_cores_per_rank(*comm);
  const DeviceMeter meter(device);
  torch::manual_seed(0);
  spn::Blip2Config config;       // Blip2Config's defaults: blip2-itm-vit-g
  config.vision.num_layers = 1;  // the frozen ViT is outside the step; its tokens are inputs
  auto model = std::make_shared<spn::Blip2Sprc>(config);
  model->to(device);
  std::vector<torch::Tensor> trained;  // SPRC trains everything but the ViT
  for (const auto& item : model->named_parameters())
    if (item.key().rfind("vision_model.", 0) != 0) trained.push_back(item.value());
  const auto optimizer = spn::make_adamw(
      *comm, trained, torch::optim::AdamWOptions(1e-5).betas({0.9, 0.98}).eps(1e-7).weight_decay(0.05), false);

  const int64_t image_tokens =
      (config.vision.image_size / config.vision.patch_size) * (config.vision.image_size / config.vision.patch_size) + 1;
  const torch::Tensor reference = torch::randn({batch, image_tokens, config.vision.hidden_size}).to(device);
  const torch::Tensor target = torch::randn({batch, image_tokens, config.vision.hidden_size}).to(device);
  torch::Tensor tokens = torch::zeros({batch, kTextLength}, torch::kLong);
  tokens.narrow(1, 1, kTextEnd - 1).copy_(torch::randint(1000, 30000, {batch, kTextEnd - 1}, torch::kLong));
  tokens.select(1, 0).fill_(101);         // [CLS]
  tokens.select(1, kTextEnd).fill_(102);  // [SEP]; [PAD] = 0 after it
  tokens = tokens.to(device);
  const torch::Tensor labels = torch::arange(batch, torch::TensorOptions().dtype(torch::kLong).device(device));
  const nlohmann::json peer =
      training_peer_line(SPN_TORCH_PYTHON, "sprc_train_peer.py", threads, batch, repeats, device.is_cuda());

  for (const auto& [name, precision] :
       {std::pair{"fp32", spn::Precision::Fp32}, std::pair{"bf16", spn::Precision::Bf16}}) {
    const auto step = [&] {
      optimizer->zero_grad();
      torch::Tensor targets, fused, query, prompt;
      {
        const spn::Autocast autocast(precision, device.type());
        targets = model->target_features(target);
        fused = model->fuse(reference, tokens);
        query = model->composed_query(fused, tokens);
        prompt = model->prompt_query(tokens);
      }
      const auto f32 = [](const torch::Tensor& t) { return t.to(torch::kFloat); };
      const torch::Tensor itc =
          torch::nn::functional::cross_entropy(model->similarity(f32(query), f32(targets)), labels);
      const torch::Tensor rtc =
          torch::nn::functional::cross_entropy(model->similarity(f32(prompt), f32(targets)), labels);
      const torch::Tensor align = torch::nn::functional::mse_loss(
          f32(fused).mean(1), model->prompt_tokens().detach().mean(1).expand({batch, -1}));
      (itc + 0.4 * rtc + 0.4 * align).backward();
      optimizer->step();
    };
    meter.reset();
    const double seconds = time_per_call(step, static_cast<int>(repeats), meter.wait);
    nlohmann::json line = {{"bench", "sprc_qformer_training_step"},
                           {"precision", name},
                           {"device", device.str()},
                           {"threads", threads},
                           {"batch", batch},
                           {"trained_parameters",
                            [&] {
                              int64_t n = 0;
                              for (const auto& p : trained) n += p.numel();
                              return n;
                            }()},
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
