#include "models/row_dropout.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "core/hash.h"

namespace spn {

torch::Tensor dropout_by_global_row(const torch::Tensor& x, double p, const RowDraws& draws, uint64_t site) {
  const int64_t rows = x.size(0), width = x.size(1);
  torch::Tensor keep = torch::empty({rows, width}, torch::kBool);
  bool* flags = keep.data_ptr<bool>();
  const uint64_t site_seed = mix_seed(draws.seed, site);
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint64_t row_seed = mix_seed(site_seed, static_cast<uint64_t>(draws.first_row + r));
      for (int64_t c = 0; c < width; ++c) {
        const double uniform = static_cast<double>(mix_seed(row_seed, static_cast<uint64_t>(c)) >> 11) * 0x1.0p-53;
        flags[r * width + c] = uniform >= p;
      }
    }
  });
  // Drawn on the host (a hash per element), then moved to the activations' device.
  return x * (keep.to(x.device(), x.scalar_type()) * (1.0 / (1.0 - p)));
}

}  // namespace spn
