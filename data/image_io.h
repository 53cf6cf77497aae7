#pragma once
// Decoding and encoding of images through libpng and libjpeg (Debian's packages).
// Pixels are 8-bit RGB, row-major, height x width x 3.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace spn {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3
};

// Reads a PNG or JPEG (chosen by the file's magic bytes). Throws UserError naming the
// file when it is missing, truncated or not an image.
RgbImage read_image(const std::filesystem::path& path);

// Why `path` is not an intact PNG or JPEG ("" when it is), from its first and last bytes:
// two small reads, so every image of a dataset can be checked before training. A file
// whose end is unusual is decoded to decide (JPEGs may carry bytes after their end).
std::string image_file_problem(const std::filesystem::path& path);

// Writes an 8-bit RGB PNG. The bytes depend only on the pixels (no timestamps), so a
// generated dataset is byte-identical however it was sharded. The file is written in
// place: generators write into a staging directory that is renamed when complete.
void write_png(const std::filesystem::path& path, const RgbImage& image);

// Writes a baseline JPEG (4:2:0, `quality` 1-100) in place, like write_png. The bytes
// depend only on the pixels and the quality.
void write_jpeg(const std::filesystem::path& path, const RgbImage& image, int quality);

}  // namespace spn
