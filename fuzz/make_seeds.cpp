// Writes the seed corpora of the fuzzers (fuzz/corpus/<name>/) with the code's own
// writers, so the seeds are valid files of today's formats: `fuzz_seeds fuzz/corpus`.
// The annotation seeds are small made-up files in each dataset's format; inputs that
// stand for several files separate them with NUL bytes (fuzz/scratch.h).
// jpeglib.h needs <cstdio> first.
#include <cstdio>

#include <jpeglib.h>
#include <zlib.h>

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/files.h"
#include "data/embedding_bank.h"
#include "data/image_io.h"
#include "models/safetensors.h"
#include "tests/test_models.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;

namespace spn {
std::unique_ptr<Communicator> make_local_communicator();
}

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string joined(const std::vector<std::string>& files) {
  std::string bytes;
  for (size_t i = 0; i < files.size(); ++i) bytes += (i ? std::string(1, '\0') : "") + files[i];
  return bytes;
}

spn::RgbImage gradient(int width, int height) {
  spn::RgbImage image{width, height, {}};
  for (int p = 0; p < width * height; ++p)
    for (int c = 0; c < 3; ++c) image.pixels.push_back(static_cast<uint8_t>((p * 29 + c * 85) % 256));
  return image;
}

void write_jpeg(const fs::path& path, const spn::RgbImage& image, bool grayscale, bool progressive) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  jpeg_stdio_dest(&info, file);
  info.image_width = image.width;
  info.image_height = image.height;
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  if (grayscale) jpeg_set_colorspace(&info, JCS_GRAYSCALE);
  if (progressive) jpeg_simple_progression(&info);
  jpeg_set_quality(&info, 75, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    auto* row = const_cast<JSAMPLE*>(image.pixels.data() + static_cast<size_t>(info.next_scanline) * image.width * 3);
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  std::fclose(file);
}

void config_seeds(const fs::path& dir) {
  write_bytes(dir / "empty.toml", "");
  write_bytes(dir / "shapes.toml",
              "name = \"seed\"\nseed = 3\n\n[data]\nkind = \"shapes\"\nroot = \"datasets/s\"\nimage_size = 32\n\n"
              "[data.shapes]\nseed = 1\ntrain_triplets = 30\n\n[model]\nimage_encoder = \"small_cnn\"\n"
              "text_encoder = \"gru\"\nhead = \"combiner\"\nembed_dim = 16\n\n[stage1]\nepochs = 1\nbatch_size = 8\n"
              "lr = 2e-3\nlearn_temperature = true\n\n[stage2]\nenabled = false\n\n[eval]\nsplit = \"val\"\n");
  write_bytes(dir / "overrides.toml", joined({"[stage1]\nepochs = 2\n", "stage1.lr=1e-4", "model.head=sum", "name=x"}));
  write_bytes(dir / "unknown_key.toml", "[stage1]\nepochz = 2\n");
  // What the fuzzer found: values that printed as TOML that did not read back the same.
  write_bytes(dir / "found_leading_newline", joined({"", "name=\nx"}));
  write_bytes(dir / "found_inner_newline", joined({"", "name=a\nb"}));
  write_bytes(dir / "found_not_utf8", joined({"", "name=x\xff\xff"}));
}

void cirr_seeds(const fs::path& dir) {
  const std::string captions =
      "[{\"pairid\": 1, \"reference\": \"a-0\", \"target_hard\": \"b-1\", \"target_soft\": {\"b-1\": 1.0, \"c-2\": "
      "0.5}, \"caption\": \"make it blue\", \"img_set\": {\"id\": 7, \"members\": [\"a-0\", \"b-1\", \"c-2\"]}},\n"
      " {\"pairid\": 2, \"reference\": \"c-2\", \"target_hard\": \"a-0\", \"target_soft\": {\"a-0\": 1.0, \"b-1\": "
      "-1.0}, \"caption\": \"fewer dogs\", \"img_set\": {\"id\": 7, \"members\": [\"a-0\", \"b-1\", \"c-2\"]}}]";
  const std::string splits = "{\"a-0\": \"./dev/a-0.png\", \"b-1\": \"./dev/b-1.png\", \"c-2\": \"./dev/c-2.png\"}";
  const std::string test1 =
      "[{\"pairid\": 5, \"reference\": \"b-1\", \"caption\": \"on grass\", \"img_set\": {\"id\": 1, \"members\": "
      "[\"b-1\", \"c-2\"]}}]";
  write_bytes(dir / "val", joined({captions, splits, captions}));
  write_bytes(dir / "test1", joined({test1, splits, test1}));
  write_bytes(dir / "found_number_overflow", joined({"[{\"pairid\": 1e400}]", splits, "[]"}));  // what the fuzzer found
  write_bytes(dir / "unknown_image", joined({"[{\"pairid\": 1, \"reference\": \"zz\", \"target_hard\": \"a-0\", "
                                             "\"caption\": \"x\", \"img_set\": {\"members\": []}}]",
                                             splits, "[]"}));
}

void fashioniq_seeds(const fs::path& dir) {
  const std::string captions =
      "[\n {\"target\": \"B01\", \"candidate\": \"B02\", \"captions\": [\"is shiny and silver.\", \"fit and "
      "flare\"]},\n"
      " {\"target\": \"B03\", \"candidate\": \"B01\", \"captions\": [\"  is grey? \", \"Is Longer\"]}\n]";
  const std::string splits = "[\"B01\", \"B02\", \"B03\"]";
  write_bytes(dir / "val", joined({captions, splits}));
  write_bytes(dir / "test", joined({"[{\"candidate\": \"B02\", \"captions\": [\"red\", \"\"]}]", splits}));
  write_bytes(dir / "one_caption",
              joined({"[{\"target\": \"B01\", \"candidate\": \"B02\", \"captions\": [\"a\"]}]", splits}));
}

void circo_seeds(const fs::path& dir) {
  const std::string annotations =
      "[\n {\"reference_img_id\": 11, \"target_img_id\": 12, \"relative_caption\": \"has two dogs\",\n"
      "  \"shared_concept\": \"a dog\", \"gt_img_ids\": [12, 13], \"id\": 0},\n"
      " {\"reference_img_id\": 13, \"target_img_id\": 11, \"relative_caption\": \"is at night\",\n"
      "  \"shared_concept\": \"a street\", \"gt_img_ids\": [11], \"id\": 1}\n]";
  const std::string info =
      "{\"images\": [{\"id\": 11, \"file_name\": \"000000000011.jpg\"}, {\"id\": 12, \"file_name\": "
      "\"000000000012.jpg\"},\n {\"id\": 13, \"file_name\": \"000000000013.jpg\"}]}";
  write_bytes(dir / "val", joined({annotations, info}));
  write_bytes(dir / "test", joined({"[{\"reference_img_id\": 12, \"relative_caption\": \"is red\", \"shared_concept\": "
                                    "\"a car\", \"id\": 4}]",
                                    info}));
}

void binary_seeds(const fs::path& corpus) {
  for (const auto& name : {"png", "jpeg", "safetensors", "bank", "checkpoint"}) fs::create_directories(corpus / name);
  spn::write_png(corpus / "png" / "rgb_4x3.png", gradient(4, 3));
  spn::write_png(corpus / "png" / "rgb_1x1.png", gradient(1, 1));
  // What the fuzzer found: headers claiming a million by a million pixels (PNG, with
  // the IHDR's CRC redone) and 65500 x 65500 (JPEG's start of frame).
  std::string png = spn::read_file(corpus / "png" / "rgb_4x3.png");
  for (size_t at : {16, 20}) png.replace(at, 4, std::string("\x00\x0f\x42\x40", 4));
  const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  write_bytes(corpus / "png" / "found_huge.png", png);
  write_jpeg(corpus / "jpeg" / "rgb_8x8.jpg", gradient(8, 8), false, false);
  std::string jpeg = spn::read_file(corpus / "jpeg" / "rgb_8x8.jpg");
  const size_t frame = jpeg.find("\xff\xc0");
  for (size_t at : {frame + 5, frame + 7}) jpeg.replace(at, 2, "\xff\xdc");
  write_bytes(corpus / "jpeg" / "found_huge.jpg", jpeg);
  write_jpeg(corpus / "jpeg" / "gray_5x3.jpg", gradient(5, 3), true, false);
  write_jpeg(corpus / "jpeg" / "progressive_8x8.jpg", gradient(8, 8), false, true);

  spn::write_safetensors(corpus / "safetensors" / "three.safetensors",
                         {{"w", torch::arange(6, torch::kFloat).reshape({2, 3})},
                          {"ids", torch::arange(3, torch::kLong)},
                          {"half", torch::ones({2}, torch::kHalf)}},
                         {{"format", "pt"}});
  spn::write_safetensors(corpus / "safetensors" / "empty.safetensors", {});

  auto comm = spn::make_local_communicator();
  for (const bool half : {true, false}) {
    spn::BankMetadata metadata;
    metadata.fingerprint = "seed";
    metadata.rows = 3;
    metadata.dim = 4;
    metadata.dtype = half ? "float16" : "float32";
    const std::vector<std::string> ids = {"a", "bb", "ccc"};
    metadata.ids_hash = spn::bank_ids_hash(ids);
    spn::write_bank(*comm, corpus / "bank" / (metadata.dtype + ".h5"), torch::rand({3, 4}), 0, ids, metadata);
  }

  auto model = spn::make_cir_model(spn::testing::tiny_config(), spn::testing::kTestVocab);
  const fs::path checkpoint = corpus / "checkpoint" / "tiny.pt";
  spn::save_checkpoint(checkpoint, *model, nullptr, {3});
  fs::remove(checkpoint.string() + ".sum");  // the harness loads checkpoints without one
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seeds <corpus directory>\n";
    return 2;
  }
  const fs::path corpus = argv[1];
  torch::manual_seed(0);
  config_seeds(corpus / "config");
  cirr_seeds(corpus / "cirr");
  fashioniq_seeds(corpus / "fashioniq");
  circo_seeds(corpus / "circo");
  binary_seeds(corpus);
  return 0;
}
