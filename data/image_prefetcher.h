#pragma once
// The data loader: decodes a known sequence of image lists ("items": the rows of this
// rank's slice of each training step, or the chunks of a gallery) on a pool of threads,
// `prefetch` items ahead of the one the caller takes. Decoding, resizing and padding
// run in the pool, never in the caller's thread; memory is the pixels of at most
// prefetch + 1 items, whatever the dataset's size.
#include <ATen/core/Tensor.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "config/data_config.h"
#include "data/image_augment.h"
#include "data/image_rows.h"

namespace spn {

struct LoaderOptions {
  int64_t workers = 4;      // decode threads
  int64_t prefetch = 2;     // items decoded ahead of the one taken
  bool pin_memory = false;  // page-locked buffers, for asynchronous copies to a GPU
};

// [data]'s workers and prefetch; pinned buffers when the model computes on a GPU.
LoaderOptions loader_options_of(const DataConfig& data, bool model_on_gpu);

class ImagePrefetcher {
 public:
  using RowsOf = std::function<std::vector<int64_t>(int64_t item)>;
  // Training images only: `augment` applied by the decode thread to each row right
  // after decoding it, with draws from seed_of(item, slot) (called on the caller's
  // thread), slot being the row's place in rows_of(item).
  struct Augmentation {
    ImageAugment augment;
    std::function<uint64_t(int64_t item, int64_t slot)> seed_of;
  };

  // Items are 0 <= item < end; `rows_of(item)` (called on the caller's thread) lists
  // the rows of `images` item `item` consists of.
  ImagePrefetcher(const ImageRows& images, RowsOf rows_of, int64_t end, const LoaderOptions& options,
                  Augmentation augmentation = {});
  // Stops the pool: queued decoding is dropped, decoding in progress finishes.
  ~ImagePrefetcher();
  ImagePrefetcher(const ImagePrefetcher&) = delete;
  ImagePrefetcher& operator=(const ImagePrefetcher&) = delete;

  // uint8 [rows_of(item).size(), 3, S, S]. Waits for the item, then queues the items
  // up to item + prefetch. Rethrows, on this thread, the first error decoding the
  // item met (a corrupt image: a UserError naming the file). Items are meant to be
  // taken in increasing order; one not queued ahead (the first, or after a jump) is
  // decoded on demand.
  at::Tensor take(int64_t item);

 private:
  struct Batch {
    at::Tensor pixels;
    int64_t remaining = 0;
    std::exception_ptr error;
  };
  struct Job {
    std::shared_ptr<Batch> batch;
    int64_t slot;  // row of batch->pixels
    int64_t row;   // row of images_
    uint64_t augment_seed = 0;
  };

  void queue(int64_t item);  // with mutex_ held
  void work();

  const ImageRows& images_;
  RowsOf rows_of_;
  int64_t end_;
  LoaderOptions options_;
  Augmentation augmentation_;
  std::mutex mutex_;
  std::condition_variable job_ready_;
  std::condition_variable batch_done_;
  std::deque<Job> jobs_;
  std::map<int64_t, std::shared_ptr<Batch>> queued_;
  int64_t queued_until_ = 0;  // items below this one were queued (or skipped)
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace spn
