#include "dist/gradient_sync.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace spn {

struct GradientSync::State {
  explicit State(Communicator& world) : comm(world) {}

  Communicator& comm;
  std::unique_ptr<Communicator> channel;  // the communication thread's; null: no overlap
  std::vector<at::Tensor> parameters;
  std::vector<std::vector<size_t>> buckets;  // parameter indices per bucket
  std::vector<at::Tensor> buffers;           // one flat buffer per bucket
  std::vector<size_t> bucket_of;             // per parameter
  std::vector<int64_t> offset_of;            // per parameter, in its bucket's buffer
  // Accumulator nodes hold the hooks; the parameters only point at them weakly, so
  // without these the next forward pass would make new accumulators without hooks.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;

  // The step in progress, under `mutex`.
  std::mutex mutex;
  std::condition_variable changed;
  bool armed = false;
  std::vector<char> arrived;   // per parameter: its gradient is in its bucket
  std::vector<size_t> absent;  // per bucket: parameters not arrived yet
  size_t launched = 0;         // buckets [0, launched) are handed to the thread
  size_t reduced = 0;          // buckets [0, reduced) are summed
  bool busy = false;           // the thread is inside a collective
  bool stopping = false;
  std::exception_ptr failure;  // of the thread's collective, rethrown by finish()
  std::thread thread;

  at::Tensor slot(size_t i) { return buffers[bucket_of[i]].narrow(0, offset_of[i], parameters[i].numel()); }

  // Parameter i's gradient into its slot: the gradient, or zeros when it has none.
  void fill_slot(size_t i) {
    const at::Tensor& grad = parameters[i].grad();
    if (grad.defined())
      slot(i).copy_(grad.reshape({-1}));
    else
      slot(i).zero_();
  }

  // Hands full buckets to the thread, in bucket order only. Caller holds `mutex`.
  void launch_full_buckets() {
    const size_t before = launched;
    while (launched < buckets.size() && absent[launched] == 0) ++launched;
    if (launched != before) changed.notify_all();
  }

  // From the gradient accumulator's hook, during backward.
  void on_gradient(size_t i) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    if (arrived[i])
      throw std::logic_error("GradientSync: parameter " + std::to_string(i) +
                             " received a gradient twice in one step (one backward per step)");
    arrived[i] = 1;
    fill_slot(i);
    if (--absent[bucket_of[i]] == 0 && channel) launch_full_buckets();
  }

  // The communication thread: sums launched buckets in order until told to stop.
  void serve() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] { return stopping || reduced < launched; });
      if (stopping) return;
      const size_t b = reduced;
      busy = true;
      lock.unlock();
      std::exception_ptr error;
      try {
        channel->all_reduce(buffers[b], ReduceOp::Sum);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      busy = false;
      if (error && !failure) failure = error;
      ++reduced;
      changed.notify_all();
    }
  }
};

namespace {

struct BucketHook : torch::autograd::FunctionPostHook {
  BucketHook(std::shared_ptr<GradientSync::State> state, size_t parameter)
      : state(std::move(state)), parameter(parameter) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    state->on_gradient(parameter);
    return outputs;
  }
  std::shared_ptr<GradientSync::State> state;
  size_t parameter;
};

}  // namespace

GradientSync::GradientSync(Communicator& comm, std::vector<at::Tensor> parameters, int64_t bucket_bytes)
    : state_(std::make_shared<State>(comm)) {
  State& s = *state_;
  s.parameters = std::move(parameters);
  const size_t n = s.parameters.size();
  s.bucket_of.resize(n);
  s.offset_of.resize(n);
  int64_t filled = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = n - 1 - k;  // reverse order: the order backward produces them in
    const at::Tensor& p = s.parameters[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool dtype_changes =
        !s.buckets.empty() && s.parameters[s.buckets.back().front()].scalar_type() != p.scalar_type();
    if (s.buckets.empty() || dtype_changes || filled + bytes > bucket_bytes) {
      s.buckets.emplace_back();
      filled = 0;
    }
    s.offset_of[i] = filled / static_cast<int64_t>(p.element_size());
    s.bucket_of[i] = s.buckets.size() - 1;
    s.buckets.back().push_back(i);
    filled += bytes;
  }
  for (const auto& bucket : s.buckets) {
    int64_t numel = 0;
    for (size_t i : bucket) numel += s.parameters[i].numel();
    s.buffers.push_back(at::empty({numel}, s.parameters[bucket.front()].options().requires_grad(false)));
  }
  if (comm.size() == 1) return;  // nothing to sum: no hooks, no thread
  s.channel = comm.duplicate();
  if (!s.channel) return;
  for (size_t i = 0; i < n; ++i) {
    if (!s.parameters[i].requires_grad()) continue;  // never gets a gradient: zeros at finish()
    std::shared_ptr<torch::autograd::Node> accumulator = torch::autograd::impl::grad_accumulator(s.parameters[i]);
    hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<BucketHook>(state_, i)));
    s.accumulators.push_back(std::move(accumulator));
  }
  s.thread = std::thread([state = state_] { state->serve(); });
}

GradientSync::~GradientSync() {
  State& s = *state_;
  for (size_t h = 0; h < hook_keys_.size(); ++h) s.accumulators[h]->del_post_hook(hook_keys_[h]);
  if (!s.thread.joinable()) return;
  bool in_collective = false;
  {
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
    in_collective = s.busy;
    s.changed.notify_all();
  }
  // A step that an exception interrupted may leave the thread in an all-reduce that
  // other ranks never join; waiting for it would hang the error path (which then ends
  // the job), so the thread is let go. It owns the state it uses.
  if (in_collective)
    s.thread.detach();
  else
    s.thread.join();
}

size_t GradientSync::bucket_count() const { return state_->buckets.size(); }

void GradientSync::begin() {
  State& s = *state_;
  if (s.comm.size() == 1) return;
  const std::lock_guard<std::mutex> lock(s.mutex);
  if (s.reduced != s.launched) throw std::logic_error("GradientSync::begin: the previous step never finished");
  s.armed = true;
  s.arrived.assign(s.parameters.size(), 0);
  s.absent.clear();
  for (const auto& bucket : s.buckets) s.absent.push_back(bucket.size());
  s.launched = 0;
  s.reduced = 0;
}

void GradientSync::finish() {
  State& s = *state_;
  if (s.comm.size() == 1) return;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (!s.armed) throw std::logic_error("GradientSync::finish without begin");
    s.armed = false;
    // Parameters no hook reported (no gradient this step, or no hook at all) take part
    // with what they hold: their gradient if any, else zeros. Their buckets are not
    // launched yet, so the thread is not reading these slots.
    for (size_t i = 0; i < s.parameters.size(); ++i)
      if (!s.arrived[i]) {
        s.fill_slot(i);
        --s.absent[s.bucket_of[i]];
      }
    if (s.channel) {
      s.launch_full_buckets();
      s.changed.wait(lock, [&] { return s.reduced == s.buckets.size(); });
    } else {
      for (; s.reduced < s.buckets.size(); ++s.reduced) s.comm.all_reduce(s.buffers[s.reduced], ReduceOp::Sum);
      s.launched = s.reduced;
    }
    if (s.failure) std::rethrow_exception(std::exchange(s.failure, nullptr));
  }
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < s.parameters.size(); ++i) {
    at::Tensor p = s.parameters[i];
    at::Tensor summed = s.slot(i).view(p.sizes());
    if (p.grad().defined())
      p.mutable_grad().copy_(summed);
    else
      p.mutable_grad() = summed.clone();
  }
}

void broadcast_tensors(Communicator& comm, const std::vector<at::Tensor>& tensors, int root) {
  if (comm.size() == 1) return;
  at::NoGradGuard no_grad;
  for (const at::Tensor& t : tensors) {
    at::Tensor contiguous = t.contiguous();
    comm.broadcast(contiguous, root);
    if (!contiguous.is_same(t)) t.copy_(contiguous);
  }
}

}  // namespace spn
