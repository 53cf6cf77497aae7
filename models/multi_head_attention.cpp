#include "models/multi_head_attention.h"

#include <ATen/ops/scaled_dot_product_attention.h>

namespace spn {

torch::Tensor multi_head_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                   int64_t heads, const torch::Tensor& mask) {
  auto split = [heads](const torch::Tensor& t) {
    return t.view({t.size(0), t.size(1), heads, t.size(2) / heads}).transpose(1, 2);
  };
  // Under autocast the projections are 16-bit while a mask built from the float inputs is
  // not; the fused kernel wants the query's dtype.
  const c10::optional<at::Tensor> attn_mask =
      mask.defined() ? c10::optional<at::Tensor>(mask.to(q.dtype())) : c10::nullopt;
  torch::Tensor context = at::scaled_dot_product_attention(split(q), split(k), split(v), attn_mask);
  return context.transpose(1, 2).reshape({q.size(0), q.size(1), q.size(2)});
}

}  // namespace spn
