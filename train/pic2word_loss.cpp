#include "train/pic2word_loss.h"

#include <torch/nn/functional/normalization.h>

#include "dist/autograd_collectives.h"
#include "dist/sharding.h"
#include "train/contrastive_loss.h"

namespace spn {

torch::Tensor pic2word_loss_shard(Communicator& comm, const torch::Tensor& local_image_features,
                                  const torch::Tensor& local_text_features, const torch::Tensor& scale,
                                  int64_t global_batch) {
  const ShardRange rows = shard_range(global_batch, comm.size(), comm.rank());
  if (local_image_features.size(0) != rows.size() || local_text_features.size(0) != rows.size())
    throw std::logic_error("pic2word_loss_shard: rank " + std::to_string(comm.rank()) + " holds " +
                           std::to_string(local_image_features.size(0)) + " image and " +
                           std::to_string(local_text_features.size(0)) + " text rows, its shard is " +
                           std::to_string(rows.size()));
  namespace F = torch::nn::functional;
  const auto unit = F::NormalizeFuncOptions().dim(1);
  const torch::Tensor images = F::normalize(local_image_features, unit);
  const torch::Tensor texts = F::normalize(local_text_features, unit);
  const torch::Tensor all_images = all_gather_with_grad(comm, images);
  const torch::Tensor all_texts = all_gather_with_grad(comm, texts);
  // Each direction's rows of this rank; the mean of the two directions.
  return (contrastive_loss_shard(images, all_texts, rows.begin, global_batch, scale) +
          contrastive_loss_shard(texts, all_images, rows.begin, global_batch, scale)) /
         2;
}

}  // namespace spn
