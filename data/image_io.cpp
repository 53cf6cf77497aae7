#include "data/image_io.h"

#include <cstdio>  // before jpeglib.h, which needs it

#include <jerror.h>  // JWRN_JPEG_EOF
#include <jpeglib.h>
#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdint>
#include <cstdlib>
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

// libjpeg only warns when the data ends early and fills the rest with gray; a truncated
// file is an error here, as it is for PIL, which the reference code reads images with.
void on_jpeg_message(j_common_ptr info, int level) {
  if (level == -1 && info->err->msg_code == JWRN_JPEG_EOF) on_jpeg_error(info);
}

RgbImage read_jpeg(const fs::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw UserError(path.string() + ": cannot open image");
  jpeg_decompress_struct info;
  JpegErrorManager errors;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_jpeg_error;
  errors.base.emit_message = on_jpeg_message;
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

// Encodes into memory, so a libjpeg error (reported by longjmp) leaves no file behind
// and no object with a destructor is skipped.
bool encode_jpeg(const RgbImage& image, int quality, unsigned char** bytes, unsigned long* size,
                 char message[JMSG_LENGTH_MAX]) {
  jpeg_compress_struct info;
  JpegErrorManager errors;
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = on_jpeg_error;
  if (setjmp(errors.jump)) {
    std::memcpy(message, errors.message, JMSG_LENGTH_MAX);
    jpeg_destroy_compress(&info);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, bytes, size);
  info.image_width = static_cast<JDIMENSION>(image.width);
  info.image_height = static_cast<JDIMENSION>(image.height);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    auto* row = const_cast<JSAMPLE*>(image.pixels.data() + static_cast<size_t>(info.next_scanline) * image.width * 3);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  return true;
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

std::string image_file_problem(const fs::path& path) {
  static constexpr unsigned char kPngEnd[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return fs::exists(path) ? "cannot open image" : "image not found";
  const std::streamoff size = in.tellg();
  unsigned char head[4] = {}, tail[sizeof kPngEnd] = {};
  if (size < static_cast<std::streamoff>(sizeof tail)) return "image of " + std::to_string(size) + " bytes: truncated";
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head), sizeof head);
  in.seekg(size - static_cast<std::streamoff>(sizeof tail));
  in.read(reinterpret_cast<char*>(tail), sizeof tail);
  if (!in) return "cannot read image";
  const bool png = head[0] == 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G';
  const bool jpeg = head[0] == 0xFF && head[1] == 0xD8;
  if (!png && !jpeg) return "not a PNG or JPEG image";
  const bool whole = png ? std::memcmp(tail, kPngEnd, sizeof kPngEnd) == 0
                         : tail[sizeof tail - 2] == 0xFF && tail[sizeof tail - 1] == 0xD9;
  if (whole) return "";
  try {  // an unusual end: only decoding tells a cut file from bytes after the end marker
    read_image(path);
    return "";
  } catch (const UserError& error) {
    const std::string what = error.what();
    return what.substr(std::min(what.size(), path.string().size() + 2));
  }
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
  errno = 0;
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr)) {
    // A full disk reports through errno (exit 3); anything else is libpng's own refusal.
    if (errno != 0) throw IoError(path.string(), "write the PNG (" + std::string(png.message) + ")", errno);
    throw std::runtime_error(path.string() + ": cannot write PNG (" + std::string(png.message) + ")");
  }
}

void write_jpeg(const fs::path& path, const RgbImage& image, int quality) {
  unsigned char* bytes = nullptr;
  unsigned long size = 0;
  char message[JMSG_LENGTH_MAX] = "";
  if (!encode_jpeg(image, quality, &bytes, &size, message)) {
    std::free(bytes);  // jpeg_mem_dest's buffer, allocated with malloc
    throw std::runtime_error(path.string() + ": cannot encode JPEG (" + message + ")");
  }
  errno = 0;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  const bool written = static_cast<bool>(out.flush());
  const int error_number = errno;
  std::free(bytes);
  if (!written) throw IoError(path.string(), "write the JPEG", error_number != 0 ? error_number : EIO);
}

}  // namespace spn
