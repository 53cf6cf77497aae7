#pragma once
// CIR heads that fuse the reference image and the modification text into a query.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "models/interfaces.h"

namespace spn {

// q = f_image + f_text: the CLIP4CIR sum baseline, the head SPN trains in stage 2.
class SumHead : public CirHead {
 public:
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features) override;
};

// The CLIP4CIR Combiner (Baldrati et al. 2022): project both features, fuse the
// concatenation with an MLP, and add a learned convex mix of the two inputs weighted
// by a predicted scalar. Dropout is left out so runs stay deterministic.
class CombinerHead : public CirHead {
 public:
  CombinerHead(int64_t embed_dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features) override;

 private:
  torch::nn::Linear image_projection_{nullptr};
  torch::nn::Linear text_projection_{nullptr};
  torch::nn::Linear combine_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::nn::Sequential mix_weight_{nullptr};
};

}  // namespace spn
