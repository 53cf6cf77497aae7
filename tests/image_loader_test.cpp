// The data loader (data/image_prefetcher.h, train/step_images.h): what it decodes equals
// decoding directly, for any pool size and depth; a corrupt image fails its item with the
// file named, on the taking thread; a pool stopped early shuts down; and each rank of a
// world decodes, and with data.augment crops, exactly its slice of every step that one
// process would train on.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "data/batch_sampler.h"
#include "data/image_augment.h"
#include "data/image_cache.h"
#include "data/image_io.h"
#include "data/image_prefetcher.h"
#include "dist/sharding.h"
#include "test_files.h"
#include "test_models.h"
#include "test_world.h"
#include "train/step_images.h"
#include "train/triplet_data.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

ImageTransform small_transform() { return ImageTransform{12, Preprocess::CenterCrop, 1.25}; }

// What the loader must produce: the rows decoded one by one on this thread.
torch::Tensor decoded_directly(const ImageRows& images, const std::vector<int64_t>& rows) {
  const int64_t size = images.transform.size;
  std::vector<torch::Tensor> pixels = {torch::empty({0, 3, size, size}, torch::kByte)};
  for (int64_t row : rows)
    pixels.push_back(
        transform_image(read_image(images.split->image_path(images.split_index[row])), images.transform).unsqueeze(0));
  return torch::cat(pixels);
}

// Item k: rows k, 2k, 3k ... modulo the split, k + 1 of them (item 0 is one row).
std::vector<int64_t> rows_of_item(int64_t k, int64_t n) {
  std::vector<int64_t> rows;
  for (int64_t i = 1; i <= k + 1; ++i) rows.push_back((k * i + i) % n);
  return rows;
}

TEST(ImagePrefetcher, DecodesWhatDirectDecodingGivesForAnyPoolAndDepth) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "prefetch");
  const CirrSplit split = testing::varied_png_split(*local, dir, 9);
  const ImageRows images = all_images_of(split, small_transform());
  for (const LoaderOptions& options :
       {LoaderOptions{1, 0, false}, LoaderOptions{3, 2, false}, LoaderOptions{4, 7, false}}) {
    ImagePrefetcher loader(
        images, [&](int64_t k) { return rows_of_item(k, 9); }, 6, options);
    for (int64_t k = 0; k < 6; ++k)
      EXPECT_TRUE(torch::equal(loader.take(k), decoded_directly(images, rows_of_item(k, 9))))
          << "item " << k << " with " << options.workers << " workers, prefetch " << options.prefetch;
  }
  // Jumping ahead (a resumed run starts mid-sequence) and an empty item.
  ImagePrefetcher loader(
      images, [&](int64_t k) { return k == 4 ? std::vector<int64_t>{} : rows_of_item(k, 9); }, 8,
      LoaderOptions{2, 2, false});
  EXPECT_TRUE(torch::equal(loader.take(1), decoded_directly(images, rows_of_item(1, 9))));
  EXPECT_TRUE(torch::equal(loader.take(3), decoded_directly(images, rows_of_item(3, 9))));
  EXPECT_EQ(loader.take(4).size(0), 0);
  EXPECT_TRUE(torch::equal(loader.take(7), decoded_directly(images, rows_of_item(7, 9))));
  fs::remove_all(dir);
}

TEST(ImagePrefetcher, ACorruptImageFailsItsItemNamingTheFileAndThePoolStillStops) {
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "prefetch-corrupt");
  const CirrSplit split = testing::varied_png_split(*local, dir, 6);
  std::ofstream(split.image_path(4), std::ios::trunc) << "not a png";
  const ImageRows images = all_images_of(split, small_transform());
  {
    ImagePrefetcher loader(
        images,
        [](int64_t k) {
          return std::vector<int64_t>{2 * k, 2 * k + 1};
        },
        3, LoaderOptions{3, 2, false});
    EXPECT_TRUE(torch::equal(loader.take(0), decoded_directly(images, {0, 1})));
    EXPECT_TRUE(torch::equal(loader.take(1), decoded_directly(images, {2, 3})));
    try {
      loader.take(2);
      ADD_FAILURE() << "a corrupt image was decoded";
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find("img4.png"), std::string::npos) << error.what();
    }
  }
  // Stopped with items queued ahead and never taken (training stopped early).
  {
    ImagePrefetcher loader(
        images,
        [](int64_t k) {
          return std::vector<int64_t>{k % 4, (k + 1) % 4};
        },
        100, LoaderOptions{2, 50, false});
    EXPECT_TRUE(torch::equal(loader.take(0), decoded_directly(images, {0, 1})));
  }
  fs::remove_all(dir);
}

// With the model on a GPU the loader's buffers are page-locked (asynchronous copies);
// on a machine without one the option is never set (a CPU run needs no CUDA).
TEST(ImagePrefetcher, PinsItsBuffersWhenTheModelIsOnAGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU here";
  auto local = make_local_communicator();
  const fs::path dir = testing::shared_temp_dir(*local, "prefetch-pinned");
  const CirrSplit split = testing::varied_png_split(*local, dir, 3);
  const ImageRows images = all_images_of(split, small_transform());
  DataConfig data;
  ImagePrefetcher loader(
      images, [](int64_t k) { return std::vector<int64_t>{k}; }, 3, loader_options_of(data, true));
  const torch::Tensor pixels = loader.take(1);
  EXPECT_TRUE(pixels.is_pinned());
  EXPECT_TRUE(torch::equal(pixels, decoded_directly(images, {1})));
  EXPECT_FALSE(ImagePrefetcher(
                   images, [](int64_t k) { return std::vector<int64_t>{k}; }, 3, loader_options_of(data, false))
                   .take(0)
                   .is_pinned());
  fs::remove_all(dir);
}

// The steps the training-loader tests walk: 13 triplets over the 11 images of `split`,
// read through `data_config` in a shuffled order, global batches of 5 over 3 epochs.
struct StepCase {
  TripletData data;
  LoopSettings settings;
  int64_t steps = 0;
  std::vector<int64_t> images_of(const std::vector<int64_t>& local) const { return data.images_of(local); }
};

DataConfig center_cropped(int64_t size) {
  DataConfig data;
  data.image_size = size;
  data.preprocess = Preprocess::CenterCrop;
  return data;
}

StepCase step_case(Communicator& comm, const CirrSplit& split, const DataConfig& data_config) {
  StepCase c;
  c.data.images = split_image_rows(comm, split, {10, 0, 3, 5, 7, 1, 2, 4, 6, 8, 9}, data_config, false);
  for (int64_t t = 0; t < 13; ++t) {  // references and targets over the image rows
    c.data.reference.push_back(t % 11);
    c.data.target.push_back((t * 5 + 2) % 11);
  }
  c.settings.items = 13;
  c.settings.batch_size = 5;
  c.settings.epochs = 3;
  c.settings.order_seed = 77;
  c.steps = c.settings.epochs * GlobalBatchSampler(13, 5, 77).steps_per_epoch();
  return c;
}

// This rank's slice of a step's images (references, then targets) out of the whole batch's.
torch::Tensor slice_of(const torch::Tensor& whole, int64_t batch, const ShardRange& mine) {
  return torch::cat({whole.narrow(0, mine.begin, mine.size()), whole.narrow(0, batch + mine.begin, mine.size())});
}

// Each rank decodes only its own slice of each global batch, the same slice a
// one-process run cuts from its whole batch, also when the sequence starts mid-way
// (a resumed run).
TEST(DistStepImages, EachRankDecodesItsSliceOfTheStepsOneProcessTrainsOn) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "step-images");
  const CirrSplit split = testing::varied_png_split(comm, dir, 11);
  const StepCase c = step_case(comm, split, center_cropped(12));
  const auto images_of = [&](const std::vector<int64_t>& local) { return c.images_of(local); };
  GlobalBatchSampler order(c.settings.items, c.settings.batch_size, c.settings.order_seed);
  const ShardRange mine = shard_range(c.settings.batch_size, comm.size(), comm.rank());
  for (int64_t start : {0, 4}) {
    auto loader = step_images(comm, c.settings, c.data.images, images_of, LoaderOptions{2, 2, false});
    for (int64_t s = start; s < c.steps; ++s) {
      const torch::Tensor whole = decoded_directly(c.data.images, c.data.images_of(order.global_batch(s)));
      EXPECT_TRUE(torch::equal(loader->take(s), slice_of(whole, c.settings.batch_size, mine)))
          << "step " << s << " on rank " << comm.rank();
    }
  }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

// With data.augment, a world's ranks decode and crop exactly their slices of what a
// one-process run crops, from the first step and from a resumed one, reading the image
// files or the decoded-image cache; the crops change the pixels (the test is not
// vacuous), and the cache itself holds the images uncropped.
TEST(DistStepImages, EachRankCropsItsSliceAsOneProcessDoesWithAndWithoutTheCache) {
  Communicator& comm = testing::world();
  const fs::path dir = testing::shared_temp_dir(comm, "augmented-step-images");
  const CirrSplit split = testing::varied_png_split(comm, dir, 11);
  DataConfig data_config = center_cropped(24);
  data_config.augment = ImageAugmentKind::RandomResizedCrop;
  data_config.crop_scale_min = 0.5;
  data_config.cache_dir = (dir / "cache").string();
  const StepCase files = step_case(comm, split, data_config);
  DataConfig with_cache = data_config;
  with_cache.cache = ImageCacheMode::Hdf5;
  const StepCase cached = step_case(comm, split, with_cache);
  ASSERT_NE(cached.data.images.cache, nullptr);
  const auto images_of = [&](const std::vector<int64_t>& local) { return files.images_of(local); };
  const ImageAugment augment = image_augment_of(data_config);
  const int64_t batch = files.settings.batch_size;

  // The one-process run, and the same steps without augmentation.
  auto local = make_local_communicator();
  std::vector<torch::Tensor> whole, plain;
  {
    auto reference =
        step_images(*local, files.settings, files.data.images, images_of, LoaderOptions{1, 0, false}, augment);
    auto unaugmented = step_images(*local, files.settings, files.data.images, images_of, LoaderOptions{1, 0, false});
    for (int64_t s = 0; s < files.steps; ++s) {
      whole.push_back(reference->take(s));
      plain.push_back(unaugmented->take(s));
    }
  }
  int64_t changed = 0;
  for (int64_t s = 0; s < files.steps; ++s)
    for (int64_t i = 0; i < whole[s].size(0); ++i) changed += torch::equal(whole[s][i], plain[s][i]) ? 0 : 1;
  EXPECT_GT(changed, files.steps * 2 * batch * 3 / 4) << "the crops left most images as they were";
  for (int64_t r = 0; r < cached.data.images.size(); ++r) {  // the cache holds the images uncropped
    torch::Tensor from_cache = torch::empty({3, 24, 24}, torch::kByte);
    cached.data.images.decode(r, from_cache.data_ptr<uint8_t>());
    EXPECT_TRUE(torch::equal(from_cache, decoded_directly(files.data.images, {r})[0])) << "cached row " << r;
  }

  const ShardRange mine = shard_range(batch, comm.size(), comm.rank());
  for (const StepCase* source : {&files, &cached})
    for (int64_t start : {0, 4}) {
      auto loader =
          step_images(comm, source->settings, source->data.images, images_of, LoaderOptions{2, 2, false}, augment);
      for (int64_t s = start; s < files.steps; ++s)
        EXPECT_TRUE(torch::equal(loader->take(s), slice_of(whole[s], batch, mine)))
            << "step " << s << " on rank " << comm.rank() << " of " << comm.size()
            << (source == &cached ? " from the cache" : " from the files") << ", starting at step " << start;
    }
  comm.barrier();
  if (comm.rank() == 0) fs::remove_all(dir);
}

}  // namespace
}  // namespace spn
