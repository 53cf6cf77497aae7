#pragma once
// CIR heads that fuse the reference image and the modification text into a query.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "models/interfaces.h"

namespace spn {

// q = f_image + f_text: the CLIP4CIR sum baseline, the head SPN trains in stage 2.
class SumHead : public CirHead {
 public:
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                        const RowDraws& draws) override;
};

// The zero-shot baselines of Pic2Word and SEARLE (their "text only" and "image only"
// rows): the query is the modification text's features alone, or the reference
// image's alone. Nothing to train; with CLIP's towers they measure what a method that
// composes the two must beat.
class TextOnlyHead : public CirHead {
 public:
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                        const RowDraws& draws) override;
};

class ImageOnlyHead : public CirHead {
 public:
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                        const RowDraws& draws) override;
};

// The CLIP4CIR Combiner (Baldrati et al. 2022): project both features to
// `projection`, fuse the concatenation with an MLP of width `hidden`, and add a learned
// convex mix of the two inputs weighted by a scalar a gate MLP of width `gate_hidden`
// predicts. CLIP4CIR's own: hidden = gate_hidden = 2 x projection and dropout 0.5
// after both projections, the fusion layer and inside the gate. spn's default
// (gate_hidden = projection, no dropout) is what its recorded tables used. Dropout masks
// are drawn per global row (RowDraws), so runs with dropout match across world sizes.
struct CombinerShape {
  int64_t embed_dim;
  int64_t projection;
  int64_t hidden;
  int64_t gate_hidden;
  double dropout = 0;
};

class CombinerHead : public CirHead {
 public:
  explicit CombinerHead(const CombinerShape& shape);
  torch::Tensor forward(const torch::Tensor& image_features, const torch::Tensor& text_features,
                        const RowDraws& draws) override;

 private:
  double dropout_;
  torch::nn::Linear image_projection_{nullptr};
  torch::nn::Linear text_projection_{nullptr};
  torch::nn::Linear combine_{nullptr};
  torch::nn::Linear output_{nullptr};
  torch::nn::Sequential mix_weight_{nullptr};
};

}  // namespace spn
