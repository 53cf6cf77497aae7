// Data loader throughput (JSON lines): photo-sized JPEGs (500x375, q90) through
// CLIP4CIR's transform (targetpad 1.25, bicubic resize to 288, centre crop) by spn's
// loader (data/image_prefetcher.h) with 1 and N decode threads, in images/s and images/s
// per thread; next to PyTorch's DataLoader with PIL and torchvision doing the same with
// the same number of workers (bench/loader_torchvision.py) when SPN_LOADER_PYTHON names
// a Python with torch, torchvision and Pillow (`make bench` installs them).
//
//   spn-bench-loader [--images 256] [--workers N (default: the cores)]
#include <ATen/ATen.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "data/image_io.h"
#include "data/image_prefetcher.h"

namespace {

using namespace spn::bench;
namespace fs = std::filesystem;

constexpr int64_t kBatch = 32;

// `n` 500x375 JPEGs with smooth gradients and grain (so their entropy is a photo's, not
// a flat colour's), named 0.jpg ... in `dir`.
spn::CirrSplit write_photos(const fs::path& dir, int64_t n) {
  fs::create_directories(dir);
  spn::CirrSplit split;
  split.name = "bench";
  split.root = dir;
  uint64_t noise = 88172645463325252ULL;
  for (int64_t i = 0; i < n; ++i) {
    spn::RgbImage image;
    image.width = 500;
    image.height = 375;
    image.pixels.resize(500 * 375 * 3);
    for (int y = 0; y < 375; ++y)
      for (int x = 0; x < 500; ++x)
        for (int c = 0; c < 3; ++c) {
          noise ^= noise << 13, noise ^= noise >> 7, noise ^= noise << 17;
          const int value =
              (x * (c + 1) + y * (3 - c) + static_cast<int>(i) * 37) % 256 + static_cast<int>(noise % 24) - 12;
          image.pixels[(y * 500 + x) * 3 + c] = static_cast<uint8_t>(std::clamp(value, 0, 255));
        }
    const std::string name = std::to_string(i) + ".jpg";
    spn::write_jpeg(dir / name, image, 90);
    split.index_of[std::to_string(i)] = i;
    split.images.push_back(std::to_string(i));
    split.relative_paths.push_back(name);
  }
  return split;
}

// Images per second of one pass over `rows` in batches of kBatch through `workers` threads.
double loader_images_per_s(const spn::ImageRows& rows, int64_t workers) {
  const int64_t batches = (rows.size() + kBatch - 1) / kBatch;
  const auto pass = [&] {
    spn::ImagePrefetcher loader(
        rows,
        [&](int64_t k) {
          std::vector<int64_t> list;
          for (int64_t r = k * kBatch; r < std::min(rows.size(), (k + 1) * kBatch); ++r) list.push_back(r);
          return list;
        },
        batches, spn::LoaderOptions{workers, 2, false});
    for (int64_t k = 0; k < batches; ++k) loader.take(k);
  };
  return static_cast<double>(rows.size()) / time_per_call(pass, 1);
}

// The PyTorch peer's JSON line, or an object saying why there is none.
nlohmann::json torchvision_reference(const fs::path& dir, int64_t images, int64_t workers) {
  return python_peer_line("SPN_LOADER_PYTHON",
                          "loader_torchvision.py " + dir.string() + " " + std::to_string(images) + " " +
                              std::to_string(workers) + " " + std::to_string(kBatch),
                          "torch, torchvision and Pillow");
}

}  // namespace

int main(int argc, char** argv) {
  int64_t images = 256;
  int64_t workers = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
  parse_flags(argc, argv, "[--images 256] [--workers CORES]",
              {{"--images", [&](const std::string& v) { images = read_count(v); }},
               {"--workers", [&](const std::string& v) { workers = read_count(v); }}});
  const fs::path dir = fs::temp_directory_path() / ("spn-bench-loader-" + std::to_string(::getpid()));
  const spn::CirrSplit split = write_photos(dir, images);
  const spn::ImageRows rows = spn::all_images_of(split, spn::ImageTransform{288, spn::Preprocess::TargetPad, 1.25});
  loader_images_per_s(rows, 1);  // warm-up: the files into the page cache
  for (int64_t threads : {int64_t{1}, workers}) {
    nlohmann::json line = {{"bench", "loader_jpeg500x375_targetpad288"}, {"images", images}, {"workers", threads}};
    line["images_per_s"] = loader_images_per_s(rows, threads);
    line["images_per_s_per_worker"] = line["images_per_s"].get<double>() / static_cast<double>(threads);
    const nlohmann::json reference = torchvision_reference(dir, images, threads);
    line["torchvision"] = reference;
    if (reference.contains("images_per_s"))
      line["ratio_to_torchvision"] = line["images_per_s"].get<double>() / reference["images_per_s"].get<double>();
    std::cout << line.dump() << std::endl;
    if (threads == workers) break;
  }
  fs::remove_all(dir);
  return 0;
}
