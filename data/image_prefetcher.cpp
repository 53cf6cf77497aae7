#include "data/image_prefetcher.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <set>

#include "dist/threads.h"

namespace spn {

LoaderOptions loader_options_of(const DataConfig& data, bool model_on_gpu) {
  return LoaderOptions{data.workers, data.prefetch, model_on_gpu};
}

ImagePrefetcher::ImagePrefetcher(const ImageRows& images, RowsOf rows_of, int64_t end, const LoaderOptions& options,
                                 Augmentation augmentation)
    : images_(images),
      rows_of_(std::move(rows_of)),
      end_(end),
      options_(options),
      augmentation_(std::move(augmentation)) {
  for (int64_t i = 0; i < std::max<int64_t>(1, options.workers); ++i) workers_.emplace_back([this] { work(); });
}

ImagePrefetcher::~ImagePrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    jobs_.clear();
  }
  job_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ImagePrefetcher::queue(int64_t item) {
  const std::vector<int64_t> rows = rows_of_(item);
  const int64_t size = images_.transform.size;
  auto batch = std::make_shared<Batch>();
  batch->pixels = at::empty({static_cast<int64_t>(rows.size()), 3, size, size},
                            at::TensorOptions(at::kByte).pinned_memory(options_.pin_memory));
  batch->remaining = static_cast<int64_t>(rows.size());
  const bool augmented = augmentation_.augment.enabled();
  for (size_t slot = 0; slot < rows.size(); ++slot) {
    const auto s = static_cast<int64_t>(slot);
    jobs_.push_back(Job{batch, s, rows[slot], augmented ? augmentation_.seed_of(item, s) : 0});
  }
  queued_[item] = std::move(batch);
  queued_until_ = std::max(queued_until_, item + 1);
  job_ready_.notify_all();
}

at::Tensor ImagePrefetcher::take(int64_t item) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Items queued ahead but skipped (the caller jumped past them) are dropped with their jobs.
  std::set<const Batch*> skipped;
  for (auto it = queued_.begin(); it != queued_.end() && it->first < item;) {
    skipped.insert(it->second.get());
    it = queued_.erase(it);
  }
  if (!skipped.empty())
    jobs_.erase(
        std::remove_if(jobs_.begin(), jobs_.end(), [&](const Job& job) { return skipped.count(job.batch.get()) > 0; }),
        jobs_.end());
  if (!queued_.count(item)) queue(item);
  for (int64_t next = std::max(queued_until_, item + 1); next < end_ && next <= item + options_.prefetch; ++next)
    queue(next);
  const std::shared_ptr<Batch> batch = queued_.at(item);
  batch_done_.wait(lock, [&] { return batch->remaining == 0 || batch->error; });
  queued_.erase(item);
  if (batch->error) std::rethrow_exception(batch->error);
  return batch->pixels;
}

void ImagePrefetcher::work() {
  // Parallelism comes from the pool: torch's intra-op threads inside each worker would
  // multiply the threads (and contend with the training thread's).
  use_one_torch_thread_here();
  const int64_t size = images_.transform.size;
  const int64_t bytes = 3 * size * size;
  for (;;) {
    Job job;
    bool failed = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      failed = job.batch->error != nullptr;  // the rest of a failed item is not decoded
    }
    std::exception_ptr error;
    if (!failed) try {
        uint8_t* pixels = job.batch->pixels.data_ptr<uint8_t>() + job.slot * bytes;
        images_.decode(job.row, pixels);
        augment_image(pixels, size, augmentation_.augment, job.augment_seed);
      } catch (...) {
        error = std::current_exception();
      }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !job.batch->error) job.batch->error = error;
      --job.batch->remaining;
    }
    batch_done_.notify_all();
  }
}

}  // namespace spn
