#include "train/reference_bank.h"

#include <torch/torch.h>

#include "core/hash.h"
#include "train/encode_images.h"

namespace spn {

CandidateBank prepare_reference_bank(Communicator& comm, CirModel& model, const TripletData& data,
                                     const CirrSplit& train, const ExperimentConfig& config, bool show_progress) {
  const torch::Tensor texts = data.tokens.contiguous();  // [text rows, max_words] int64
  std::vector<std::string> ids;
  for (int64_t row = 0; row < data.text_row_count(); ++row) {
    const torch::Tensor text = texts[row];
    const std::string image = train.images[data.images.split_index[data.reference_of_text_row(row)]];
    ids.push_back(image + " " + hex64(fnv1a(text.data_ptr(), static_cast<size_t>(text.numel()) * sizeof(int64_t))));
  }
  BankMetadata expected;
  expected.fingerprint = fingerprint_of("spn reference rows v1", model.reference_row_tensors(), config);
  const std::vector<int64_t> row = model.reference_row_shape();
  expected.dim = row.back();
  expected.tokens = row.size() == 2 ? row.front() : 0;
  // Not unit vectors (SPRC's are Q-Former hidden states).
  expected.normalized = false;
  return prepare_bank(
      comm, model, "reference-bank", expected, ids,
      [&](const ShardRange& mine) {
        return encode_item_rows(
            model, data.images, mine, [&](int64_t text_row) { return data.reference_of_text_row(text_row); }, row,
            [&](const torch::Tensor& images, const ShardRange& items) {
              const torch::Tensor tokens = texts.narrow(0, items.begin, items.size()).to(model.device());
              return model.encode_reference_row(model.encode_reference(images), tokens);
            },
            config, "building reference bank", show_progress);
      },
      config);
}

}  // namespace spn
