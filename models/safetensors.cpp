#include "models/safetensors.h"

#include <torch/nn/module.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/files.h"

namespace spn {
namespace {

// Headers larger than this are refused before allocating (the reference reader's limit).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  uint64_t bytes;
  c10::optional<at::ScalarType> torch_type;  // none: valid in the format, absent from this LibTorch
};

const std::map<std::string, DtypeInfo>& dtypes() {
  static const std::map<std::string, DtypeInfo> table = {
      {"BOOL", {1, at::kBool}},   {"U8", {1, at::kByte}},         {"I8", {1, at::kChar}},
      {"I16", {2, at::kShort}},   {"I32", {4, at::kInt}},         {"I64", {8, at::kLong}},
      {"F16", {2, at::kHalf}},    {"BF16", {2, at::kBFloat16}},   {"F32", {4, at::kFloat}},
      {"F64", {8, at::kDouble}},  {"U16", {2, c10::nullopt}},     {"U32", {4, c10::nullopt}},
      {"U64", {8, c10::nullopt}}, {"F8_E4M3", {1, c10::nullopt}}, {"F8_E5M2", {1, c10::nullopt}},
  };
  return table;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

uint64_t read_u64_le(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// A JSON array of non-negative integers, or a UserError naming `what`.
std::vector<uint64_t> unsigned_list(const nlohmann::json& value, const std::string& what) {
  if (!value.is_array()) throw UserError(what + " must be a list of non-negative integers");
  std::vector<uint64_t> out;
  for (const auto& item : value) {
    if (!item.is_number_unsigned()) throw UserError(what + " must be a list of non-negative integers");
    out.push_back(item.get<uint64_t>());
  }
  return out;
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& value, uint64_t data_bytes) {
  const std::string where = "tensor \"" + name + "\"";
  if (!value.is_object()) throw UserError(where + ": expected an object with dtype, shape and data_offsets");
  for (const auto& [key, unused] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw UserError(where + ": unknown field \"" + key + "\"");
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) throw UserError(where + ": missing field \"" + std::string(key) + "\"");
  }
  SafetensorsEntry entry;
  entry.name = name;
  if (!value["dtype"].is_string()) throw UserError(where + ": dtype must be a string");
  entry.dtype = value["dtype"].get<std::string>();
  auto dtype = dtypes().find(entry.dtype);
  if (dtype == dtypes().end()) throw UserError(where + ": unknown dtype \"" + entry.dtype + "\"");

  uint64_t elements = 1;
  for (uint64_t size : unsigned_list(value["shape"], where + ": shape")) {
    if (size > static_cast<uint64_t>(INT64_MAX) || (size != 0 && elements > UINT64_MAX / size))
      throw UserError(where + ": shape overflows");
    elements *= size;
    entry.shape.push_back(static_cast<int64_t>(size));
  }
  if (elements > UINT64_MAX / dtype->second.bytes) throw UserError(where + ": shape overflows");

  auto offsets = unsigned_list(value["data_offsets"], where + ": data_offsets");
  if (offsets.size() != 2) throw UserError(where + ": data_offsets must be [begin, end]");
  entry.begin = offsets[0];
  entry.end = offsets[1];
  if (entry.begin > entry.end)
    throw UserError(where + ": data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                    "] end before they begin");
  if (entry.end > data_bytes)
    throw UserError(where + ": data_offsets end at byte " + std::to_string(entry.end) + " but the data section has " +
                    std::to_string(data_bytes) + " bytes (truncated file?)");
  const uint64_t expected = elements * dtype->second.bytes;
  if (entry.end - entry.begin != expected)
    throw UserError(where + ": " + entry.dtype + " " + shape_text(entry.shape) + " needs " + std::to_string(expected) +
                    " bytes but data_offsets span " + std::to_string(entry.end - entry.begin));
  return entry;
}

// The header as JSON, refusing duplicate tensor names (which a plain parse would
// silently resolve to the last one).
nlohmann::json parse_header(const std::string& text) {
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && !seen.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, on_event);
  } catch (const nlohmann::json::exception& e) {
    throw UserError(std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) throw UserError("tensor \"" + duplicate + "\" appears twice in the header");
  if (!header.is_object()) throw UserError("header must be a JSON object");
  return header;
}

}  // namespace

SafetensorsFile::SafetensorsFile(std::filesystem::path path) : path_(std::move(path)) {
  const std::string file = path_.string();
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw UserError(file + ": cannot open safetensors file");
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path_, ec);
  if (ec) throw UserError(file + ": cannot read its size: " + ec.message());
  if (file_bytes < 8) throw UserError(file + ": not a safetensors file (" + std::to_string(file_bytes) + " bytes)");
  unsigned char size_bytes[8];
  in.read(reinterpret_cast<char*>(size_bytes), 8);
  const uint64_t header_bytes = read_u64_le(size_bytes);
  if (header_bytes > kMaxHeaderBytes || header_bytes > file_bytes - 8)
    throw UserError(file + ": header length " + std::to_string(header_bytes) + " exceeds the file (" +
                    std::to_string(file_bytes) + " bytes) or the 100 MB limit: not a safetensors file or truncated");
  std::string text(header_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_bytes));
  if (!in) throw UserError(file + ": cannot read the header");
  if (text.empty() || text.front() != '{') throw UserError(file + ": header must start with '{'");
  data_start_ = 8 + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start_;

  try {
    nlohmann::json header = parse_header(text);
    for (const auto& [name, value] : header.items()) {
      if (name == "__metadata__") {
        if (!value.is_object()) throw UserError("__metadata__ must be an object of strings");
        for (const auto& [key, item] : value.items()) {
          if (!item.is_string()) throw UserError("__metadata__: \"" + key + "\" must be a string");
          metadata_[key] = item.get<std::string>();
        }
        continue;
      }
      entries_.push_back(parse_entry(name, value, data_bytes));
    }
    // The data section must be tiled exactly: no overlaps, no holes, nothing after.
    std::vector<const SafetensorsEntry*> by_offset;
    for (const auto& entry : entries_) by_offset.push_back(&entry);
    std::stable_sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
      return std::make_pair(a->begin, a->end) < std::make_pair(b->begin, b->end);
    });
    uint64_t covered = 0;
    for (const auto* entry : by_offset) {
      if (entry->begin != covered)
        throw UserError("tensor \"" + entry->name + "\": data_offsets begin at byte " + std::to_string(entry->begin) +
                        " where " + std::to_string(covered) + " was expected (" +
                        (entry->begin < covered ? "overlapping another tensor)" : "a hole in the data)"));
      covered = entry->end;
    }
    if (covered != data_bytes)
      throw UserError("the tensors cover " + std::to_string(covered) + " of the data section's " +
                      std::to_string(data_bytes) + " bytes");
  } catch (const UserError& e) {
    throw UserError(file + ": " + e.what());
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
}

const SafetensorsEntry* SafetensorsFile::find(const std::string& name) const {
  auto found = std::lower_bound(entries_.begin(), entries_.end(), name,
                                [](const SafetensorsEntry& a, const std::string& b) { return a.name < b; });
  return found != entries_.end() && found->name == name ? &*found : nullptr;
}

bool SafetensorsFile::contains(const std::string& name) const { return find(name) != nullptr; }

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  const SafetensorsEntry* found = find(name);
  if (!found) throw UserError(path_.string() + ": no tensor \"" + name + "\"");
  return *found;
}

at::Tensor SafetensorsFile::read(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const DtypeInfo& dtype = dtypes().at(e.dtype);
  if (!dtype.torch_type)
    throw UserError(path_.string() + ": tensor \"" + name + "\": dtype " + e.dtype + " has no LibTorch equivalent");
  at::Tensor tensor = torch::empty(e.shape, torch::TensorOptions().dtype(*dtype.torch_type));
  std::ifstream in(path_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
  if (!in) throw UserError(path_.string() + ": tensor \"" + name + "\": cannot read its bytes (file changed?)");
  return tensor;
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    // A named copy: C++17 lambdas cannot capture structured bindings (clang refuses; GCC allows).
    const at::ScalarType type = tensor.scalar_type();
    auto dtype = std::find_if(dtypes().begin(), dtypes().end(),
                              [&](const auto& item) { return item.second.torch_type == type; });
    if (dtype == dtypes().end()) throw std::invalid_argument("write_safetensors: unsupported dtype of " + name);
    const at::Tensor bytes = tensor.contiguous().cpu();
    const uint64_t begin = data.size();
    data.append(static_cast<const char*>(bytes.data_ptr()), bytes.numel() * bytes.element_size());
    header[name] = {{"dtype", dtype->first}, {"shape", bytes.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string text = header.dump();
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  write_file_atomic(path, file + text + data);
}

void load_safetensors_into(const std::vector<torch::nn::Module*>& modules, const SafetensorsFile& file,
                           const std::vector<std::string>& ignored, const std::vector<std::string>& optional) {
  std::vector<std::pair<std::string, at::Tensor>> targets;
  for (const auto* module : modules) {
    for (const auto& item : module->named_parameters(true)) targets.emplace_back(item.key(), item.value());
    for (const auto& item : module->named_buffers(true)) targets.emplace_back(item.key(), item.value());
  }

  std::vector<std::string> missing, mismatched;
  std::set<std::string> used(ignored.begin(), ignored.end());
  for (const auto& [name, target] : targets) {
    if (!file.contains(name)) {
      if (std::find(optional.begin(), optional.end(), name) == optional.end()) missing.push_back(name);
      continue;
    }
    used.insert(name);
    const SafetensorsEntry& entry = file.entry(name);
    if (entry.shape != target.sizes().vec()) {
      mismatched.push_back(name + " (file " + shape_text(entry.shape) + ", model " + shape_text(target.sizes().vec()) +
                           ")");
      continue;
    }
    torch::NoGradGuard no_grad;
    target.copy_(file.read(name).to(target.dtype()));
  }
  std::vector<std::string> unexpected;
  for (const auto& entry : file.entries()) {
    if (!used.count(entry.name)) unexpected.push_back(entry.name);
  }
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return;
  std::string message = file.path().string() + ": the weights do not fit the model";
  auto list = [&](const char* label, const std::vector<std::string>& names) {
    if (names.empty()) return;
    message += std::string("\n  ") + label + " (" + std::to_string(names.size()) + "):";
    for (const auto& name : names) message += " " + name;
  };
  list("missing from the file", missing);
  list("unexpected in the file", unexpected);
  list("wrong shape", mismatched);
  throw UserError(message);
}

}  // namespace spn
