#pragma once
// OpenAI's modified ResNet image tower (RN50, RN101, RN50x4, ...), with OpenAI's names
// under visual.*: a three-convolution stem with average pooling, bottleneck blocks
// that downsample by average pooling (anti-aliased), and attention pooling in place of
// global average pooling. BatchNorm always uses its running statistics, also while
// training: CLIP's are trained already, and batch statistics would make an image's
// embedding depend on its batch and so on the number of ranks.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "models/clip_config.h"
#include "models/clip_image_tower.h"

namespace spn {

// Conv (no bias) followed by BatchNorm with running statistics.
torch::Tensor conv_bn(torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn, const torch::Tensor& x);

class ClipBottleneckImpl : public torch::nn::Module {
 public:
  ClipBottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t stride_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  // "downsample.0" (1x1 conv) and "downsample.1" (BatchNorm) after an average pool,
  // when the block changes resolution or width.
  std::shared_ptr<torch::nn::Module> downsample_;
  torch::nn::Conv2d downsample_conv_{nullptr};
  torch::nn::BatchNorm2d downsample_bn_{nullptr};
};
TORCH_MODULE(ClipBottleneck);

class ClipAttentionPoolImpl : public torch::nn::Module {
 public:
  ClipAttentionPoolImpl(int64_t spatial, int64_t embed_dim, int64_t heads, int64_t output_dim);
  // [N, C, H, W] -> [N, output_dim]: the mean token attends over itself and all positions.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  torch::Tensor positional_embedding_;
  torch::nn::Linear k_proj_{nullptr}, q_proj_{nullptr}, v_proj_{nullptr}, c_proj_{nullptr};
};
TORCH_MODULE(ClipAttentionPool);

class ClipModifiedResNetImpl : public torch::nn::Module {
 public:
  ClipModifiedResNetImpl(const ClipVisionConfig& config, int64_t projection_dim);
  torch::Tensor forward(const torch::Tensor& pixels);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  ClipAttentionPool attnpool_{nullptr};
};
TORCH_MODULE(ClipModifiedResNet);

class ClipResNetTower : public ClipImageTower {
 public:
  ClipResNetTower(const ClipVisionConfig& config, int64_t projection_dim);

 private:
  torch::Tensor encode_pixels(const torch::Tensor& pixels) override;
  ClipModifiedResNet visual_{nullptr};
};

}  // namespace spn
