#pragma once
// Scaled dot-product attention over heads, for the CLIP and BLIP-2 towers (LibTorch's fused
// kernel: flash / memory-efficient on GPU, the math path on CPU).
#include <torch/types.h>

namespace spn {

// q: [B, Lq, H], k and v: [B, Lk, H] (already projected) -> [B, Lq, H] with `heads`
// heads of H / heads and scores scaled by 1 / sqrt(H / heads). `mask`, added to the
// scores, broadcasts to [B, heads, Lq, Lk] or is undefined.
torch::Tensor multi_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   int64_t heads, const torch::Tensor& mask);

}  // namespace spn
