#include "models/clip_resnet.h"

#include <torch/torch.h>

#include <cmath>

namespace spn {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

}  // namespace

torch::Tensor conv_bn(torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& bn, const torch::Tensor& x) {
  return torch::batch_norm(conv(x), bn->weight, bn->bias, bn->running_mean, bn->running_var, /*training=*/false,
                           /*momentum=*/0.0, bn->options.eps(), /*cudnn_enabled=*/false);
}

ClipBottleneckImpl::ClipBottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride) : stride_(stride) {
  conv1_ = register_module("conv1", conv(inplanes, planes, 1));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
  conv2_ = register_module("conv2", conv(planes, planes, 3));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
  conv3_ = register_module("conv3", conv(planes, planes * 4, 1));
  bn3_ = register_module("bn3", torch::nn::BatchNorm2d(planes * 4));
  if (stride > 1 || inplanes != planes * 4) {
    downsample_ = register_module("downsample", std::make_shared<torch::nn::Module>());
    downsample_conv_ = downsample_->register_module("0", conv(inplanes, planes * 4, 1));
    downsample_bn_ = downsample_->register_module("1", torch::nn::BatchNorm2d(planes * 4));
  }
}

torch::Tensor ClipBottleneckImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = torch::relu(conv_bn(conv1_, bn1_, x));
  out = torch::relu(conv_bn(conv2_, bn2_, out));
  if (stride_ > 1) out = torch::avg_pool2d(out, stride_);
  out = conv_bn(conv3_, bn3_, out);
  torch::Tensor identity = x;
  if (downsample_) {
    identity = stride_ > 1 ? torch::avg_pool2d(x, stride_) : x;
    identity = conv_bn(downsample_conv_, downsample_bn_, identity);
  }
  return torch::relu(out + identity);
}

ClipAttentionPoolImpl::ClipAttentionPoolImpl(int64_t spatial, int64_t embed_dim, int64_t heads, int64_t output_dim)
    : heads_(heads) {
  positional_embedding_ = register_parameter("positional_embedding", torch::randn({spatial * spatial + 1, embed_dim}) /
                                                                         std::sqrt(static_cast<double>(embed_dim)));
  k_proj_ = register_module("k_proj", torch::nn::Linear(embed_dim, embed_dim));
  q_proj_ = register_module("q_proj", torch::nn::Linear(embed_dim, embed_dim));
  v_proj_ = register_module("v_proj", torch::nn::Linear(embed_dim, embed_dim));
  c_proj_ = register_module("c_proj", torch::nn::Linear(embed_dim, output_dim));
}

torch::Tensor ClipAttentionPoolImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0), channels = x.size(1), head_dim = channels / heads_;
  torch::Tensor tokens = x.flatten(2).transpose(1, 2);                 // [N, HW, C]
  tokens = torch::cat({tokens.mean(1, /*keepdim=*/true), tokens}, 1);  // [N, HW+1, C]
  tokens = tokens + positional_embedding_.unsqueeze(0);
  const int64_t length = tokens.size(1);
  torch::Tensor q = (q_proj_(tokens.slice(1, 0, 1)) * (1.0 / std::sqrt(static_cast<double>(head_dim))))
                        .view({batch, 1, heads_, head_dim})
                        .transpose(1, 2);
  torch::Tensor k = k_proj_(tokens).view({batch, length, heads_, head_dim}).transpose(1, 2);
  torch::Tensor v = v_proj_(tokens).view({batch, length, heads_, head_dim}).transpose(1, 2);
  torch::Tensor context = torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)), -1), v);
  return c_proj_(context.transpose(1, 2).reshape({batch, channels}));
}

ClipModifiedResNetImpl::ClipModifiedResNetImpl(const ClipVisionConfig& config, int64_t projection_dim) {
  const int64_t width = config.resnet_width;
  conv1_ = register_module("conv1", conv(3, width / 2, 3, 2));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(width / 2));
  conv2_ = register_module("conv2", conv(width / 2, width / 2, 3));
  bn2_ = register_module("bn2", torch::nn::BatchNorm2d(width / 2));
  conv3_ = register_module("conv3", conv(width / 2, width, 3));
  bn3_ = register_module("bn3", torch::nn::BatchNorm2d(width));
  int64_t inplanes = width;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = width << stage;
    torch::nn::Sequential blocks;
    for (int64_t block = 0; block < config.resnet_layers[stage]; ++block) {
      blocks->push_back(ClipBottleneck(inplanes, planes, block == 0 && stage > 0 ? 2 : 1));
      inplanes = planes * 4;
    }
    layers_.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
  }
  attnpool_ = register_module(
      "attnpool", ClipAttentionPool(config.image_size / 32, width * 32, config.resnet_heads, projection_dim));
}

torch::Tensor ClipModifiedResNetImpl::forward(const torch::Tensor& pixels) {
  torch::Tensor x = torch::relu(conv_bn(conv1_, bn1_, pixels));
  x = torch::relu(conv_bn(conv2_, bn2_, x));
  x = torch::avg_pool2d(torch::relu(conv_bn(conv3_, bn3_, x)), 2);
  for (auto& layer : layers_) x = layer->forward(x);
  return attnpool_(x);
}

ClipResNetTower::ClipResNetTower(const ClipVisionConfig& config, int64_t projection_dim)
    : ClipImageTower(config.image_size) {
  visual_ = register_module("visual", ClipModifiedResNet(config, projection_dim));
}

torch::Tensor ClipResNetTower::encode_pixels(const torch::Tensor& pixels) { return visual_(pixels); }

}  // namespace spn
