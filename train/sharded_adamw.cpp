#include "train/sharded_adamw.h"

#include <spdlog/spdlog.h>
#include <torch/serialize/archive.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "train/fused_adamw.h"

namespace spn {
namespace {

constexpr const char* kElementsKey = "sharded_adamw_elements";

}  // namespace

ShardedAdamW::ShardedAdamW(Communicator& comm, std::vector<torch::Tensor> parameters,
                           const torch::optim::AdamWOptions& options)
    : Optimizer(parameters, std::make_unique<torch::optim::AdamWOptions>(options)),
      comm_(comm),
      parameters_(std::move(parameters)) {
  if (options.amsgrad()) throw std::invalid_argument("ShardedAdamW: no amsgrad");
  for (const torch::Tensor& p : parameters_) {
    if (p.scalar_type() != parameters_.front().scalar_type())
      throw std::invalid_argument("ShardedAdamW: parameters of one dtype only");
    offsets_.push_back(total_);
    total_ += p.numel();
  }
  slice_ = shard_range(total_, comm_.size(), comm_.rank());
  const auto like = parameters_.empty() ? at::TensorOptions() : parameters_.front().options();
  exp_avg_ = torch::zeros({slice_.size()}, like.requires_grad(false));
  exp_avg_sq_ = torch::zeros({slice_.size()}, like.requires_grad(false));
}

at::Tensor ShardedAdamW::flat_slice_of(const std::function<at::Tensor(const torch::Tensor&)>& part) const {
  std::vector<at::Tensor> pieces;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const int64_t begin = std::max(slice_.begin, offsets_[i]);
    const int64_t end = std::min(slice_.end, offsets_[i] + parameters_[i].numel());
    if (begin < end) pieces.push_back(part(parameters_[i]).reshape({-1}).narrow(0, begin - offsets_[i], end - begin));
  }
  if (pieces.empty()) return torch::empty({0}, exp_avg_.options());
  return at::cat(pieces);  // a new tensor, also for one piece
}

torch::Tensor ShardedAdamW::step(LossClosure closure) {
  if (closure) throw std::invalid_argument("ShardedAdamW::step: no closures");
  torch::NoGradGuard no_grad;
  const auto& options = static_cast<const torch::optim::AdamWOptions&>(param_groups()[0].options());
  const double lr = options.lr(), beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
  // This rank's slice of the parameters (the parameters are the truth: a checkpoint or
  // rank 0's broadcast may have replaced them since the last step) and gradients.
  torch::Tensor values = flat_slice_of([](const torch::Tensor& p) { return p.detach(); });
  const torch::Tensor grad =
      flat_slice_of([](const torch::Tensor& p) { return p.grad().defined() ? p.grad() : torch::zeros_like(p); });
  // AdamW's update, as torch::optim::AdamW computes it, on the slice.
  ++steps_;
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(steps_));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(steps_));
  if (options.weight_decay() != 0) values.mul_(1 - lr * options.weight_decay());
  exp_avg_.mul_(beta1).add_(grad, 1 - beta1);
  exp_avg_sq_.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
  const torch::Tensor denominator = (exp_avg_sq_.sqrt() / std::sqrt(bias_correction2)).add_(options.eps());
  values.addcdiv_(exp_avg_, denominator, -lr / bias_correction1);

  const torch::Tensor all = comm_.all_gather(values);
  for (size_t i = 0; i < parameters_.size(); ++i)
    parameters_[i].detach().copy_(all.narrow(0, offsets_[i], parameters_[i].numel()).view(parameters_[i].sizes()));
  return {};
}

void ShardedAdamW::gather_state() {
  gathered_exp_avg_ = comm_.all_gather(exp_avg_);
  gathered_exp_avg_sq_ = comm_.all_gather(exp_avg_sq_);
}

void ShardedAdamW::release_gathered_state() {
  gathered_exp_avg_ = torch::Tensor();
  gathered_exp_avg_sq_ = torch::Tensor();
}

void ShardedAdamW::save(torch::serialize::OutputArchive& archive) const {
  if (!gathered_exp_avg_.defined()) throw std::logic_error("ShardedAdamW::save before gather_state");
  archive.write(kElementsKey, torch::tensor(total_, torch::kLong));
  archive.write("exp_avg", gathered_exp_avg_);
  archive.write("exp_avg_sq", gathered_exp_avg_sq_);
  archive.write("step", torch::tensor(steps_, torch::kLong));  // every rank steps together
}

void ShardedAdamW::load(torch::serialize::InputArchive& archive) {
  torch::Tensor elements, exp_avg, exp_avg_sq, step;
  archive.read(kElementsKey, elements);
  if (elements.item<int64_t>() != total_)
    throw std::runtime_error("its sharded optimizer state covers " + std::to_string(elements.item<int64_t>()) +
                             " parameter elements, this model has " + std::to_string(total_));
  archive.read("exp_avg", exp_avg);
  archive.read("exp_avg_sq", exp_avg_sq);
  archive.read("step", step);
  steps_ = step.item<int64_t>();
  exp_avg_ = exp_avg.narrow(0, slice_.begin, slice_.size()).to(exp_avg_.options()).clone();
  exp_avg_sq_ = exp_avg_sq.narrow(0, slice_.begin, slice_.size()).to(exp_avg_sq_.options()).clone();
}

int64_t ShardedAdamW::state_bytes() const { return 2 * slice_.size() * static_cast<int64_t>(exp_avg_.element_size()); }

int64_t ShardedAdamW::unsharded_state_bytes() const {
  return 2 * total_ * static_cast<int64_t>(exp_avg_.element_size());
}

bool is_sharded_adamw_archive(torch::serialize::InputArchive& archive) {
  torch::Tensor elements;
  return archive.try_read(kElementsKey, elements);
}

std::unique_ptr<torch::optim::Optimizer> make_adamw(Communicator& comm, std::vector<torch::Tensor> parameters,
                                                    const torch::optim::AdamWOptions& options, bool sharded,
                                                    const std::vector<torch::Tensor>& without_weight_decay) {
  if (!without_weight_decay.empty()) {
    if (sharded) throw std::logic_error("make_adamw: ShardedAdamW takes one weight decay for all parameters");
    const auto exempt = [&](const torch::Tensor& p) {
      return std::any_of(without_weight_decay.begin(), without_weight_decay.end(),
                         [&](const torch::Tensor& q) { return p.is_same(q); });
    };
    std::vector<torch::Tensor> decayed, undecayed;
    for (const torch::Tensor& p : parameters) (exempt(p) ? undecayed : decayed).push_back(p);
    auto no_decay = std::make_unique<torch::optim::AdamWOptions>(options);
    no_decay->weight_decay(0);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::AdamWOptions>(options));
    groups.emplace_back(undecayed, std::move(no_decay));
    return std::make_unique<FusedAdamW>(std::move(groups), options);
  }
  if (!sharded) return std::make_unique<FusedAdamW>(std::move(parameters), options);
  auto optimizer = std::make_unique<ShardedAdamW>(comm, std::move(parameters), options);
  const double mib = 1.0 / (1 << 20);
  spdlog::info("AdamW state sharded over {} rank(s) (ZeRO-1): {:.2f} MiB on this rank, {:.2f} MiB unsharded",
               comm.size(), optimizer->state_bytes() * mib, optimizer->unsharded_state_bytes() * mib);
  return optimizer;
}

torch::optim::AdamWOptions adamw_options(const OptimizerConfig& optimizer, double lr, double weight_decay) {
  return torch::optim::AdamWOptions(lr)
      .weight_decay(weight_decay)
      .betas({optimizer.adam_beta1, optimizer.adam_beta2})
      .eps(optimizer.adam_eps);
}

void set_adamw_beta1(torch::optim::Optimizer& optimizer, double beta1) {
  for (auto& group : optimizer.param_groups()) {
    auto& options = static_cast<torch::optim::AdamWOptions&>(group.options());
    options.betas({beta1, std::get<1>(options.betas())});
  }
}

GatheredOptimizerState::GatheredOptimizerState(torch::optim::Optimizer& optimizer)
    : sharded_(dynamic_cast<ShardedAdamW*>(&optimizer)) {
  if (sharded_) sharded_->gather_state();
}

GatheredOptimizerState::~GatheredOptimizerState() {
  if (sharded_) sharded_->release_gathered_state();
}

}  // namespace spn
