#pragma once
// Reading Hugging Face safetensors files (https://huggingface.co/docs/safetensors):
//   8 bytes   little-endian u64 N, the header's length
//   N bytes   JSON: {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
//                    "__metadata__": {"<key>": "<text>"} (optional)}
//   the rest  the tensors' bytes, offsets relative to the end of the header
// Written by hand against the format's description: Debian packages no C or C++
// reader. Opening validates the whole header (JSON, dtypes, shapes, offsets that
// match the byte sizes and tile the data without holes or overlaps, the file's
// length); each error names the file and the tensor. Tensors are read on demand.
// Assumes a little-endian host, as the format does.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace spn {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as written: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte range in the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Throws UserError naming the file (and the tensor) when the file is not valid.
  explicit SafetensorsFile(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  // Sorted by name.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;  // UserError when absent

  // The tensor in its stored dtype (CPU, contiguous).
  at::Tensor read(const std::string& name) const;

 private:
  const SafetensorsEntry* find(const std::string& name) const;

  std::filesystem::path path_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (any order; names unique) as a safetensors file, atomically. For
// tests and tools: spn's own checkpoints are LibTorch archives.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Copies the file's tensors into the parameters and buffers of the same names of
// `modules` (converting dtype, e.g. F16 -> float32). Keys a module has and the file
// lacks, keys the file has and no module uses, and shape mismatches are all listed by
// name in one UserError. `ignored` names file keys that may be left unused (e.g. an
// old Hugging Face checkpoint's `position_ids` buffers); `optional` names module keys
// the file may lack (they keep their values).
void load_safetensors_into(const std::vector<torch::nn::Module*>& modules, const SafetensorsFile& file,
                           const std::vector<std::string>& ignored = {}, const std::vector<std::string>& optional = {});

}  // namespace spn
