#include "data/image_io.h"

// jpeglib.h needs <cstdio> first.
#include <jpeglib.h>
#include <png.h>
#include <cstdio>

#include <csetjmp>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"

namespace spn {

namespace fs = std::filesystem;

namespace {

// A header's width and height are only claims: a corrupt or hostile file can claim a
// million by a million pixels, which would be allocated (and zero-filled) before the
// decoder finds the data missing (found by fuzz/image_fuzzer.cpp: hangs and
// out-of-memory). 2^27 pixels (134 megapixels, 400 MB as RGB) is far above any
// dataset image spn reads.
constexpr uint64_t kMaxPixels = uint64_t{1} << 27;

// Why an image of these dimensions is refused, or "".
std::string dimension_problem(const fs::path& path, uint64_t width, uint64_t height) {
  if (width > 0 && height > 0 && width * height <= kMaxPixels) return "";
  return path.string() + ": image of " + std::to_string(width) + " x " + std::to_string(height) +
         " pixels (corrupt, or more than the " + std::to_string(kMaxPixels) + " pixels spn reads)";
}

RgbImage read_png(const fs::path& path) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str()))
    throw UserError(path.string() + ": not a readable PNG (" + png.message + ")");
  if (const std::string problem = dimension_problem(path, png.width, png.height); !problem.empty()) {
    png_image_free(&png);
    throw UserError(problem);
  }
  png.format = PNG_FORMAT_RGB;
  RgbImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
    png_image_free(&png);
    throw UserError(path.string() + ": corrupt PNG (" + png.message + ")");
  }
  return image;
}

struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_jpeg_error(j_common_ptr info) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, manager->message);
  std::longjmp(manager->jump, 1);
}

RgbImage read_jpeg(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw UserError(path.string() + ": cannot open image");
  jpeg_decompress_struct info;
  JpegErrorManager errors;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_jpeg_error;
  RgbImage image;
  // libjpeg reports errors by longjmp; nothing with a destructor lives across it.
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    std::fclose(file);
    throw UserError(path.string() + ": corrupt JPEG (" + errors.message + ")");
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, file);
  jpeg_read_header(&info, TRUE);
  // Before jpeg_start_decompress, which allocates for the whole image (progressive files).
  if (const std::string problem = dimension_problem(path, info.image_width, info.image_height); !problem.empty()) {
    jpeg_destroy_decompress(&info);
    std::fclose(file);
    throw UserError(problem);
  }
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress(&info);
  image.width = static_cast<int>(info.output_width);
  image.height = static_cast<int>(info.output_height);
  image.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = image.pixels.data() + static_cast<size_t>(info.output_scanline) * image.width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  std::fclose(file);
  return image;
}

}  // namespace

RgbImage read_image(const fs::path& path) {
  unsigned char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path.string() + ": image not found");
    in.read(reinterpret_cast<char*>(magic), sizeof magic);
  }
  if (magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G') return read_png(path);
  if (magic[0] == 0xFF && magic[1] == 0xD8) return read_jpeg(path);
  throw UserError(path.string() + ": not a PNG or JPEG image");
}

void write_png(const fs::path& path, const RgbImage& image) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  if (const std::string problem = dimension_problem(path, png.width, png.height); !problem.empty()) {
    png_image_free(&png);
    throw UserError(problem);
  }
  png.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr))
    throw std::runtime_error(path.string() + ": cannot write PNG (" + std::string(png.message) + ")");
}

}  // namespace spn
