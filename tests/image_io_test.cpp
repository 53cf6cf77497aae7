#include <gtest/gtest.h>

// jpeglib.h needs <cstdio> first.
#include <jpeglib.h>
#include <zlib.h>
#include <cstdio>

#include "core/error.h"
#include "core/files.h"
#include "data/image_io.h"
#include "test_files.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

RgbImage gradient(int width, int height) {
  RgbImage image;
  image.width = width;
  image.height = height;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int value : {x * 255 / (width - 1), y * 255 / (height - 1), 128}) image.pixels.push_back(value);
  return image;
}

// Encodes with libjpeg's compressor, as a camera or a dataset tool would.
void write_jpeg(const fs::path& path, const RgbImage& image) {
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  FILE* file = std::fopen(path.c_str(), "wb");
  jpeg_stdio_dest(&info, file);
  info.image_width = image.width;
  info.image_height = image.height;
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 95, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + info.next_scanline * image.width * 3;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  std::fclose(file);
  jpeg_destroy_compress(&info);
}

class ImageIo : public ::testing::Test {
 protected:
  void SetUp() override {
    auto local = make_local_communicator();
    dir_ = testing::shared_temp_dir(*local, "images");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ImageIo, PngRoundTripIsExact) {
  const RgbImage image = gradient(17, 9);
  write_png(dir_ / "a.png", image);
  const RgbImage read = read_image(dir_ / "a.png");
  EXPECT_EQ(read.width, 17);
  EXPECT_EQ(read.height, 9);
  EXPECT_EQ(read.pixels, image.pixels);
}

TEST_F(ImageIo, JpegDecodesClose) {
  const RgbImage image = gradient(32, 24);
  write_jpeg(dir_ / "a.jpg", image);
  const RgbImage read = read_image(dir_ / "a.jpg");
  ASSERT_EQ(read.width, 32);
  ASSERT_EQ(read.height, 24);
  double error = 0;
  for (size_t i = 0; i < image.pixels.size(); ++i) error += std::abs(read.pixels[i] - image.pixels[i]);
  EXPECT_LT(error / image.pixels.size(), 4.0);  // lossy, but close at quality 95
}

TEST_F(ImageIo, BadFilesAreErrorsNamingTheFile) {
  write_file_atomic(dir_ / "text.png", "not an image");
  const RgbImage image = gradient(16, 16);
  write_png(dir_ / "whole.png", image);
  const std::string bytes = read_file(dir_ / "whole.png");
  write_file_atomic(dir_ / "truncated.png", bytes.substr(0, bytes.size() / 2));
  write_jpeg(dir_ / "whole.jpg", image);
  const std::string jpeg = read_file(dir_ / "whole.jpg");
  write_file_atomic(dir_ / "truncated.jpg", jpeg.substr(0, 40));
  for (const char* name : {"text.png", "truncated.png", "truncated.jpg", "missing.png"}) {
    try {
      read_image(dir_ / name);
      ADD_FAILURE() << name << " was read";
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(name), std::string::npos) << error.what();
    }
  }
}

// The check every image gets before training: whole files pass, cut ones do not, and
// bytes after a JPEG's end marker (some cameras and tools write them) are no fault.
TEST_F(ImageIo, FileCheckTellsCutFilesFromWholeOnes) {
  const RgbImage image = gradient(48, 40);
  write_png(dir_ / "whole.png", image);
  write_jpeg(dir_ / "whole.jpg", image);
  const std::string png = read_file(dir_ / "whole.png"), jpeg = read_file(dir_ / "whole.jpg");
  write_file_atomic(dir_ / "cut.png", png.substr(0, png.size() - 20));
  write_file_atomic(dir_ / "cut.jpg", jpeg.substr(0, jpeg.size() * 3 / 4));
  write_file_atomic(dir_ / "trailing.jpg", jpeg + std::string(64, '\0'));
  write_file_atomic(dir_ / "text.jpg", std::string(100, 'x'));
  EXPECT_EQ(image_file_problem(dir_ / "whole.png"), "");
  EXPECT_EQ(image_file_problem(dir_ / "whole.jpg"), "");
  EXPECT_EQ(image_file_problem(dir_ / "trailing.jpg"), "");
  EXPECT_NE(image_file_problem(dir_ / "cut.png"), "");
  // libjpeg only warns about a premature end and fills in gray; it is refused here.
  EXPECT_NE(image_file_problem(dir_ / "cut.jpg").find("corrupt JPEG"), std::string::npos)
      << image_file_problem(dir_ / "cut.jpg");
  EXPECT_EQ(image_file_problem(dir_ / "text.jpg"), "not a PNG or JPEG image");
  EXPECT_EQ(image_file_problem(dir_ / "missing.jpg"), "image not found");
}

// A header's dimensions are refused before they are allocated: a few bytes can claim a
// million by a million pixels (found by fuzz/image_fuzzer.cpp).
TEST_F(ImageIo, ImpossibleDimensionsAreErrors) {
  std::string png = [&] {
    write_png(dir_ / "small.png", gradient(4, 4));
    return read_file(dir_ / "small.png");
  }();
  const auto put_be32 = [](std::string& bytes, size_t at, uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((value >> (24 - 8 * i)) & 0xff);
  };
  put_be32(png, 16, 1000000);  // IHDR width and height, then its CRC
  put_be32(png, 20, 1000000);
  put_be32(png, 29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  write_file_atomic(dir_ / "huge.png", png);

  write_jpeg(dir_ / "small.jpg", gradient(4, 4));
  std::string jpeg = read_file(dir_ / "small.jpg");
  const size_t frame = jpeg.find("\xff\xc0");  // start of frame: length, precision, height, width
  ASSERT_NE(frame, std::string::npos);
  for (size_t i : {frame + 5, frame + 7}) jpeg.replace(i, 2, "\xff\xdc");  // 65500
  write_file_atomic(dir_ / "huge.jpg", jpeg);

  for (const char* name : {"huge.png", "huge.jpg"}) {
    try {
      read_image(dir_ / name);
      ADD_FAILURE() << name << " was read";
    } catch (const UserError& error) {
      EXPECT_NE(std::string(error.what()).find(std::string(name) + ": image of "), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("pixels (corrupt, or more than"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace spn
