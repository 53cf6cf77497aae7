// The safetensors reader: valid files read back exactly, every kind of corruption is
// refused with an error naming the file and the tensor, and loading into a module
// lists missing, unexpected and mis-shaped keys by name.
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>
#include <torch/torch.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "models/safetensors.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

// A file with the given header text and `data_bytes` bytes of data (0, 1, 2, ...).
fs::path write_raw(const std::string& label, const std::string& header, const std::string& data) {
  fs::path path = fs::temp_directory_path() / ("spn-safetensors-" + label + "-" + std::to_string(::getpid()));
  std::ofstream out(path, std::ios::binary);
  uint64_t size = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((size >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

std::string bytes_of(const at::Tensor& tensor) {
  return std::string(static_cast<const char*>(tensor.data_ptr()), tensor.numel() * tensor.element_size());
}

// A valid two-tensor file: "weight" F32 [2, 3] then "bias" F16 [2].
struct ValidFile {
  at::Tensor weight = torch::arange(6, torch::kFloat).reshape({2, 3}) / 7;
  at::Tensor bias = torch::tensor({0.5, -2.0}).to(torch::kHalf);
  std::string header =
      R"({"__metadata__": {"format": "pt"}, "weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},)"
      R"( "bias": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]}})";
  std::string data = bytes_of(weight) + bytes_of(bias);
};

std::string open_error(const fs::path& path) {
  try {
    SafetensorsFile file(path);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, ReadsTensorsAndMetadataExactly) {
  ValidFile valid;
  auto path = write_raw("valid", valid.header + "   ", valid.data);  // trailing header padding is allowed
  SafetensorsFile file(path);
  ASSERT_EQ(file.entries().size(), 2u);
  EXPECT_EQ(file.entries()[0].name, "bias");  // sorted by name
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_TRUE(torch::equal(file.read("weight"), valid.weight));
  EXPECT_TRUE(torch::equal(file.read("bias"), valid.bias));
  EXPECT_EQ(file.read("bias").scalar_type(), torch::kHalf);
  EXPECT_THROW(file.read("nothing"), UserError);

  torch::nn::Linear linear(3, 2);
  load_safetensors_into({linear.get()}, file);
  EXPECT_TRUE(torch::equal(linear->weight, valid.weight));
  EXPECT_TRUE(torch::equal(linear->bias, valid.bias.to(torch::kFloat)));
  fs::remove(path);
}

TEST(Safetensors, WrittenFilesReadBack) {
  const auto path = fs::temp_directory_path() / ("spn-safetensors-written-" + std::to_string(::getpid()));
  const std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"b", torch::arange(5, torch::kInt64)}, {"a", torch::randn({2, 0, 3})}, {"c", torch::randn({3, 4}).t()}};
  write_safetensors(path, tensors, {{"note", "x"}});
  SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("note"), "x");
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(torch::equal(file.read(name), tensor)) << name;
  fs::remove(path);
}

struct Corruption {
  std::string label;
  std::string header;
  int64_t data_bytes_delta;  // bytes added to (or cut from) the valid data
  std::string expected;      // a piece of the error message
};

TEST(Safetensors, RefusesCorruptFilesNamingTheTensor) {
  ValidFile valid;
  const std::string bias_f32 = R"("bias": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]})";
  auto with_bias = [&](const std::string& bias) {
    std::string header = valid.header;
    header.replace(header.find(bias_f32), bias_f32.size(), bias);
    return header;
  };
  const std::vector<Corruption> cases = {
      {"truncated", valid.header, -3, "tensor \"bias\": data_offsets end at byte 28 but the data section has 25"},
      {"trailing", valid.header, +4, "the tensors cover 28 of the data section's 32 bytes"},
      {"dtype", with_bias(R"("bias": {"dtype": "F17", "shape": [2], "data_offsets": [24, 28]})"), 0,
       "tensor \"bias\": unknown dtype \"F17\""},
      {"shape", with_bias(R"("bias": {"dtype": "F16", "shape": [3], "data_offsets": [24, 28]})"), 0,
       "tensor \"bias\": F16 [3] needs 6 bytes but data_offsets span 4"},
      {"negative", with_bias(R"("bias": {"dtype": "F16", "shape": [-2], "data_offsets": [24, 28]})"), 0,
       "tensor \"bias\": shape must be a list of non-negative integers"},
      {"overlap", with_bias(R"("bias": {"dtype": "F16", "shape": [2], "data_offsets": [20, 24]})"), -4,
       "tensor \"bias\": data_offsets begin at byte 20 where 24 was expected (overlapping"},
      {"hole", with_bias(R"("bias": {"dtype": "F16", "shape": [2], "data_offsets": [26, 30]})"), +2,
       "tensor \"bias\": data_offsets begin at byte 26 where 24 was expected (a hole"},
      {"reversed", with_bias(R"("bias": {"dtype": "F16", "shape": [2], "data_offsets": [28, 24]})"), 0,
       "tensor \"bias\": data_offsets [28, 24] end before they begin"},
      {"field", with_bias(R"("bias": {"dtype": "F16", "shape": [2]})"), 0,
       "tensor \"bias\": missing field \"data_offsets\""},
      {"duplicate", with_bias(R"("weight": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]})"), 0,
       "tensor \"weight\" appears twice"},
      {"json", valid.header.substr(0, valid.header.size() - 1), 0, "header is not valid JSON"},
      {"brace", " " + valid.header, 0, "header must start with '{'"},
  };
  for (const auto& c : cases) {
    std::string data = valid.data;
    if (c.data_bytes_delta < 0) data.resize(data.size() + c.data_bytes_delta);
    if (c.data_bytes_delta > 0) data += std::string(c.data_bytes_delta, '\0');
    auto path = write_raw(c.label, c.header, data);
    std::string error = open_error(path);
    EXPECT_NE(error.find(path.string() + ": "), std::string::npos) << c.label << ": " << error;
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.label << ": " << error;
    fs::remove(path);
  }
}

TEST(Safetensors, RefusesAHeaderLongerThanTheFile) {
  auto path = fs::temp_directory_path() / ("spn-safetensors-length-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    const char length[8] = {'\x00', '\x10', 0, 0, 0, 0, 0, 0};  // 4096 bytes
    out.write(length, 8);
    out << "{}";
  }
  EXPECT_NE(open_error(path).find("header length 4096 exceeds the file (10 bytes)"), std::string::npos);
  std::ofstream(path, std::ios::binary) << "abc";
  EXPECT_NE(open_error(path).find("not a safetensors file (3 bytes)"), std::string::npos);
  fs::remove(path);
  EXPECT_NE(open_error(path).find("cannot open"), std::string::npos);
}

TEST(Safetensors, LoadingListsMissingUnexpectedAndMisShapedKeys) {
  ValidFile valid;
  std::string header = valid.header;
  header.replace(header.find("\"bias\""), 6, "\"bias_\"");  // the file's bias under another name
  auto path = write_raw("keys", header, valid.data);
  SafetensorsFile file(path);
  torch::nn::Linear linear(2, 3);  // weight [3, 2]: the file's is [2, 3]
  try {
    load_safetensors_into({linear.get()}, file);
    FAIL() << "loaded weights that do not fit";
  } catch (const UserError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("missing from the file (1): bias"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected in the file (1): bias_"), std::string::npos) << message;
    EXPECT_NE(message.find("wrong shape (1): weight (file [2, 3], model [3, 2])"), std::string::npos) << message;
  }
  torch::nn::Linear fits(torch::nn::LinearOptions(3, 2).bias(false));
  fits->register_buffer("bias_", torch::zeros({2}, torch::kHalf));
  load_safetensors_into({fits.get()}, file);  // every key used
  EXPECT_THROW(load_safetensors_into({linear.get()}, file, {"bias_"}), UserError);
  fs::remove(path);
}

}  // namespace
}  // namespace spn
