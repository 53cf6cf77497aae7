#include "dist/distributed_softmax.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <tuple>

#include "dist/autocast.h"

namespace spn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kNegativeInfinity = -std::numeric_limits<double>::infinity();

bool is_16_bit(c10::ScalarType type) { return type == torch::kBFloat16 || type == torch::kHalf; }

struct Arguments {
  Communicator* comm;
  const SoftmaxTargets* targets;
  MultiPositive mode;
  int64_t shard_begin;
  int64_t chunk;
  bool needs_grad;  // decided by the caller: ctx->needs_input_grad fails when no input requires grad
};

void check_targets(const SoftmaxTargets& targets, int64_t rows) {
  if (static_cast<int64_t>(targets.positives.size()) != rows)
    throw std::invalid_argument("softmax targets: one positive list per query is required");
  if (!targets.ignored.empty() && static_cast<int64_t>(targets.ignored.size()) != rows)
    throw std::invalid_argument("softmax targets: the ignore lists must be empty or one per query");
  for (const auto& positives : targets.positives) {
    if (positives.empty()) throw std::invalid_argument("softmax targets: every query needs a positive");
    for (int64_t id : positives)
      if (!targets.candidates.empty() && !std::binary_search(targets.candidates.begin(), targets.candidates.end(), id))
        throw std::invalid_argument("softmax targets: positive " + std::to_string(id) + " is not a candidate");
  }
  if (!std::is_sorted(targets.candidates.begin(), targets.candidates.end()))
    throw std::invalid_argument("softmax targets: candidates must be sorted");
}

// Host-side index lists become tensors on the device of the values they index (a CUDA
// index_select takes no host index).
torch::Tensor index_tensor(const std::vector<int64_t>& ids, const torch::Device& device) {
  return torch::tensor(ids, torch::kLong).to(device);
}

// For bank rows [begin, begin + n): true where a row is not a candidate; undefined
// when every row is. On the CPU; callers move it.
torch::Tensor excluded_rows(const SoftmaxTargets& targets, int64_t begin, int64_t n) {
  if (targets.candidates.empty()) return torch::Tensor();
  torch::Tensor excluded = torch::ones({n}, torch::kBool);
  auto flags = excluded.accessor<bool, 1>();
  for (int64_t id : targets.candidates)
    if (id >= begin && id < begin + n) flags[id - begin] = false;
  return excluded;
}

// Sets the logits of ignored ids that fall in columns [begin, begin + width) to -inf.
void mask_ignored(torch::Tensor& logits, const SoftmaxTargets& targets, int64_t begin, int64_t width) {
  std::vector<int64_t> rows, columns;
  for (size_t i = 0; i < targets.ignored.size(); ++i)
    for (int64_t id : targets.ignored[i])
      if (id >= begin && id < begin + width) {
        rows.push_back(static_cast<int64_t>(i));
        columns.push_back(id - begin);
      }
  if (rows.empty()) return;
  logits.index_put_({index_tensor(rows, logits.device()), index_tensor(columns, logits.device())},
                    torch::full({}, kNegativeInfinity, logits.options()));
}

// A shard is [n, D] rows or [n, T, D] token sets of the queries' width D.
void check_shard(const torch::Tensor& shard, int64_t dim) {
  if ((shard.dim() != 2 && shard.dim() != 3) || shard.size(-1) != dim || (shard.dim() == 3 && shard.size(1) < 1))
    throw std::invalid_argument("distributed softmax: the bank shard must be [n, " + std::to_string(dim) +
                                "] or [n, T, " + std::to_string(dim) + "], not " + c10::str(shard.sizes()));
}

// The positives a shard owns, one entry per (query, positive): the query, the bank row
// that scores it (a token set's best token) and its logit.
struct OwnedPositives {
  torch::Tensor queries;  // [P] query index; undefined when the shard owns none
  torch::Tensor rows;     // [P, D] in the statistics' type
  torch::Tensor logits;   // [P]
};

OwnedPositives owned_positives(const SoftmaxTargets& targets, int64_t shard_begin, const torch::Tensor& shard,
                               const torch::Tensor& scaled_queries, c10::ScalarType statistics_type) {
  std::vector<int64_t> query_index, row_index;
  for (size_t i = 0; i < targets.positives.size(); ++i)
    for (int64_t id : targets.positives[i])
      if (id >= shard_begin && id < shard_begin + shard.size(0)) {
        query_index.push_back(static_cast<int64_t>(i));
        row_index.push_back(id - shard_begin);
      }
  OwnedPositives owned;
  if (query_index.empty()) return owned;
  owned.queries = index_tensor(query_index, shard.device());
  const torch::Tensor rows = shard.index_select(0, index_tensor(row_index, shard.device())).to(statistics_type);
  torch::Tensor queries = scaled_queries.index_select(0, owned.queries).to(statistics_type);
  if (rows.dim() == 3) queries = queries.unsqueeze(1);  // against each token of the set
  // Rounded as the matmul rounds them, so a positive's logit is the one its softmax
  // term used: a confident query's small loss then stays exact instead of being
  // swamped by the 16-bit rounding of its positive.
  const torch::Tensor dots = (queries * rows).sum(-1).to(shard.scalar_type()).to(statistics_type);
  if (rows.dim() == 2) {
    owned.rows = rows;
    owned.logits = dots;
  } else {
    torch::Tensor best;
    std::tie(owned.logits, best) = dots.max(1);
    owned.rows = rows.gather(1, best.view({-1, 1, 1}).expand({-1, 1, rows.size(2)})).squeeze(1);
  }
  return owned;
}

struct SoftmaxCrossEntropy : public torch::autograd::Function<SoftmaxCrossEntropy> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& queries, const torch::Tensor& logit_scale,
                               const torch::Tensor& bank_shard, int64_t arguments_address) {
    const Arguments& args = *reinterpret_cast<const Arguments*>(arguments_address);
    // Float32 arithmetic even when called inside a mixed-precision scope: the online
    // softmax's running maxima and sums are exact only in float32.
    const Autocast float32(Precision::Fp32, queries.device().type());
    const SoftmaxTargets& targets = *args.targets;
    const int64_t rows = queries.size(0), n = bank_shard.size(0), dim = queries.size(1);
    check_targets(targets, rows);
    check_shard(bank_shard, dim);
    // A token-set shard [n, T, D] scores a row by its best token; a plain one is T = 1.
    const bool token_sets = bank_shard.dim() == 3;
    const int64_t tokens = token_sets ? bank_shard.size(1) : 1;
    // Statistics in the queries' precision (float32 in training, float64 in gradient
    // checks). A 16-bit shard (bf16/fp16 training) is multiplied in its own type, which
    // accumulates in float32 and halves the bytes the matmuls read; any other shard is
    // widened to the queries' type (free when it already is).
    const auto options = queries.options().requires_grad(false);
    const bool multiply_in_16_bits = is_16_bit(bank_shard.scalar_type());
    const auto multiply_type = multiply_in_16_bits ? bank_shard.scalar_type() : queries.scalar_type();
    const torch::Tensor q = queries.detach().contiguous();
    const torch::Tensor shard = bank_shard.to(multiply_type).contiguous();
    const torch::Tensor token_rows = shard.view({n * tokens, dim});  // every token vector a row
    // The scale stays a tensor: reading it (.item()) would make a GPU wait at every step.
    const torch::Tensor scale = logit_scale.detach().to(q.scalar_type());
    const torch::Tensor scaled_queries = (q * scale).to(multiply_type);
    const bool needs_grad = args.needs_grad;

    // One pass over the shard: running max m, running sum of exp(l - m) and, for the
    // gradient, the matching sum of exp(l - m) * (best token of) bank row.
    torch::Tensor running_max = torch::full({rows}, kNegativeInfinity, options);
    torch::Tensor running_sum = torch::zeros({rows}, options);
    torch::Tensor weighted_rows = torch::zeros({rows, dim}, options);
    // The automatic width counts token vectors, so a block's logits take the same memory
    // whatever T is.
    const int64_t chunk =
        args.chunk > 0 ? args.chunk : std::max<int64_t>(1, automatic_chunk_columns(q.device(), rows) / tokens);
    const int64_t buffer_columns = std::min(chunk, std::max<int64_t>(n, 1));
    torch::Tensor token_logits = torch::empty({rows, buffer_columns * tokens}, options.dtype(multiply_type));
    // Where each column's tokens start in a block's token logits.
    const torch::Tensor token_starts =
        token_sets ? torch::arange(0, buffer_columns * tokens, tokens, options.dtype(torch::kLong)) : torch::Tensor();
    // The exponentials in the multiply type when it has float32's range (float32, bf16):
    // a bf16 shard's gradient matmul reads them as they are and their sums accumulate in
    // float32, a 16-bit pass over the block instead of float32 writes, reads and a
    // conversion (half the bytes on a GPU, where these passes and not the matmuls bound
    // the step). float16 would flush the many exp(l - max) < 6e-8 of a large bank to 0, so
    // an fp16 shard's are float32, copied to float16 for its matmul.
    const auto exponent_type = bank_shard.scalar_type() == torch::kHalf ? q.scalar_type() : multiply_type;
    torch::Tensor exponentials = torch::empty({rows, buffer_columns}, options.dtype(exponent_type));
    torch::Tensor exponentials_16 = exponent_type != multiply_type && needs_grad
                                        ? torch::empty({rows, buffer_columns}, options.dtype(multiply_type))
                                        : torch::Tensor();
    torch::Tensor excluded = excluded_rows(targets, args.shard_begin, n);
    if (excluded.defined()) excluded = excluded.to(q.device());
    for (int64_t begin = 0; begin < n; begin += chunk) {
      const int64_t width = std::min(chunk, n - begin);
      const torch::Tensor columns = token_rows.narrow(0, begin * tokens, width * tokens);
      torch::Tensor block_token_logits = token_logits.narrow(1, 0, width * tokens);
      torch::mm_out(block_token_logits, scaled_queries, columns.t());
      torch::Tensor chunk_logits = block_token_logits, best_token;
      if (token_sets) std::tie(chunk_logits, best_token) = block_token_logits.view({rows, width, tokens}).max(2);
      mask_ignored(chunk_logits, targets, args.shard_begin + begin, width);
      if (excluded.defined()) chunk_logits.masked_fill_(excluded.narrow(0, begin, width), kNegativeInfinity);
      const torch::Tensor new_max =
          torch::maximum(running_max, std::get<0>(chunk_logits.max(1)).to(running_max.scalar_type()));
      // A row whose logits are all -inf so far keeps offset 0 (its exps are all 0).
      const torch::Tensor offset = torch::where(torch::isinf(new_max), torch::zeros_like(new_max), new_max);
      const torch::Tensor rescale = torch::exp(running_max - offset);
      torch::Tensor chunk_exponentials = exponentials.narrow(1, 0, width);
      // The offset is a logit's value, so it is exact in the logits' type.
      torch::sub_out(chunk_exponentials, chunk_logits, offset.unsqueeze(1).to(exponent_type)).exp_();
      running_sum.mul_(rescale).add_(torch::sum(chunk_exponentials, {1}, false, running_sum.scalar_type()));
      if (needs_grad) {
        weighted_rows.mul_(rescale.unsqueeze(1));
        torch::Tensor factors = chunk_exponentials;  // of each column's row, in the multiply type
        if (exponentials_16.defined()) factors = exponentials_16.narrow(1, 0, width).copy_(chunk_exponentials);
        if (token_sets) {
          // Only the best token of a column carries its weight: spread the factors over
          // the block's token vectors (the token logits are spent, so their buffer holds
          // them) and the matmul below sums exactly those rows.
          factors = block_token_logits.zero_().scatter_(1, best_token + token_starts.narrow(0, 0, width), factors);
        }
        if (multiply_in_16_bits)
          weighted_rows.add_(torch::mm(factors, columns));
        else
          weighted_rows.addmm_(factors, columns);
      }
      running_max = new_max;
    }

    torch::Tensor global_max = running_max.clone();
    args.comm->all_reduce(global_max, ReduceOp::Max);
    const torch::Tensor to_global = torch::exp(running_max - global_max);  // 0 for an empty shard
    weighted_rows.mul_(to_global.unsqueeze(1));

    // Positives owned by this shard: their statistic (exp-sum for log-sum-exp, logit
    // sum for mean) and the bank-row term of the gradient.
    torch::Tensor positive_stat = torch::zeros({rows}, options);
    std::vector<double> counts;
    for (const auto& positives : targets.positives) counts.push_back(static_cast<double>(positives.size()));
    const OwnedPositives owned = owned_positives(targets, args.shard_begin, shard, scaled_queries, q.scalar_type());
    if (owned.queries.defined()) {
      const torch::Tensor values = args.mode == MultiPositive::LogSumExp
                                       ? torch::exp(owned.logits - global_max.index_select(0, owned.queries))
                                       : owned.logits;
      positive_stat.index_add_(0, owned.queries, values);
    }

    const torch::Tensor positive_count = torch::tensor(counts, options);
    torch::Tensor sums = torch::stack({running_sum * to_global, positive_stat});
    args.comm->all_reduce(sums, ReduceOp::Sum);
    const torch::Tensor total_sum = sums[0], total_positive = sums[1];
    const torch::Tensor log_partition = global_max + torch::log(total_sum);
    const torch::Tensor positive_term = args.mode == MultiPositive::LogSumExp ? global_max + torch::log(total_positive)
                                                                              : total_positive / positive_count;
    const torch::Tensor loss = (log_partition - positive_term).mean();

    if (needs_grad) {
      // This shard's part of sum_j (softmax_j - positive weight_j) * bank_j per query.
      torch::Tensor gradient_rows = weighted_rows / total_sum.unsqueeze(1);
      if (owned.queries.defined()) {
        const torch::Tensor weights = args.mode == MultiPositive::LogSumExp
                                          ? torch::exp(owned.logits - global_max.index_select(0, owned.queries)) /
                                                total_positive.index_select(0, owned.queries)
                                          : 1.0 / positive_count.index_select(0, owned.queries);
        gradient_rows.index_add_(0, owned.queries, -weights.unsqueeze(1) * owned.rows);
      }
      ctx->save_for_backward({q, gradient_rows, logit_scale.detach()});
    }
    return loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& q = saved[0];
    const torch::Tensor& gradient_rows = saved[1];
    const torch::Tensor& logit_scale = saved[2];
    const double rows = static_cast<double>(q.size(0));
    const torch::Tensor upstream = grad_outputs[0].to(q.scalar_type()) / rows;
    torch::Tensor grad_queries, grad_scale;
    // d loss / d q_i = scale * g_i / B and d loss / d scale = sum_i q_i . g_i / B, where
    // g_i is this shard's sum_j (softmax_ij - positive weight_ij) * bank_j.
    if (ctx->needs_input_grad(0)) grad_queries = gradient_rows * (upstream * logit_scale.to(q.scalar_type()));
    if (ctx->needs_input_grad(1))
      grad_scale = ((q * gradient_rows).sum() * upstream).to(logit_scale.scalar_type()).reshape(logit_scale.sizes());
    return {grad_queries, grad_scale, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

int64_t automatic_chunk_columns(const c10::Device& device, int64_t queries) {
  constexpr int64_t kCpuColumns = 4096, kGpuBlockElements = int64_t{1} << 26;
  if (!device.is_cuda()) return kCpuColumns;
  return std::max(kCpuColumns, kGpuBlockElements / std::max<int64_t>(queries, 1));
}

at::Tensor distributed_softmax_cross_entropy(Communicator& comm, const at::Tensor& queries,
                                             const at::Tensor& logit_scale, const at::Tensor& bank_shard,
                                             int64_t shard_begin, const SoftmaxTargets& targets, MultiPositive mode,
                                             int64_t chunk_columns) {
  if (chunk_columns < 0) throw std::invalid_argument("distributed softmax: chunk must be positive, or 0 (automatic)");
  const bool needs_grad = torch::GradMode::is_enabled() && (queries.requires_grad() || logit_scale.requires_grad());
  const Arguments args{&comm, &targets, mode, shard_begin, chunk_columns, needs_grad};
  return SoftmaxCrossEntropy::apply(queries, logit_scale, bank_shard, reinterpret_cast<int64_t>(&args));
}

at::Tensor full_softmax_cross_entropy(const at::Tensor& queries, const at::Tensor& logit_scale, const at::Tensor& bank,
                                      const SoftmaxTargets& targets, MultiPositive mode) {
  check_targets(targets, queries.size(0));
  check_shard(bank, queries.size(1));
  torch::Tensor similarities;
  if (bank.dim() == 2) {
    similarities = torch::matmul(queries, bank.t());
  } else {  // a token set scores by its best token
    similarities = std::get<0>(
        torch::matmul(queries, bank.reshape({-1, bank.size(2)}).t()).view({queries.size(0), bank.size(0), -1}).max(2));
  }
  torch::Tensor logits = logit_scale * similarities;
  if (!targets.ignored.empty()) {
    torch::Tensor mask = torch::zeros(logits.sizes(), torch::kBool);
    for (size_t i = 0; i < targets.ignored.size(); ++i)
      for (int64_t id : targets.ignored[i]) mask[i][id] = true;
    logits = logits.masked_fill(mask.to(logits.device()), kNegativeInfinity);
  }
  if (!targets.candidates.empty())
    logits = logits.masked_fill(excluded_rows(targets, 0, bank.size(0)).to(logits.device()), kNegativeInfinity);
  const torch::Tensor log_probabilities = torch::log_softmax(logits, 1);
  std::vector<torch::Tensor> losses;
  for (size_t i = 0; i < targets.positives.size(); ++i) {
    const torch::Tensor positive =
        log_probabilities[i].index_select(0, index_tensor(targets.positives[i], logits.device()));
    losses.push_back(mode == MultiPositive::LogSumExp ? -torch::logsumexp(positive, 0) : -positive.mean());
  }
  return torch::stack(losses).mean();
}

}  // namespace spn
