#include "track/tensorboard_events.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <toml++/toml.h>

#include <array>
#include <cstring>

#include "core/files.h"
#include "track/run_contents.h"

namespace spn {
namespace {

namespace fs = std::filesystem;

// A protobuf message under construction: fields appended in the wire format.
class ProtoMessage {
 public:
  ProtoMessage& bytes(int field, std::string_view value) {
    write([&](auto& out) {
      out.WriteTag(tag(field, 2));
      out.WriteVarint32(static_cast<uint32_t>(value.size()));
      out.WriteRaw(value.data(), static_cast<int>(value.size()));
    });
    return *this;
  }
  ProtoMessage& message(int field, const ProtoMessage& value) { return bytes(field, value.encoded_); }
  ProtoMessage& varint(int field, uint64_t value) {
    write([&](auto& out) {
      out.WriteTag(tag(field, 0));
      out.WriteVarint64(value);
    });
    return *this;
  }
  ProtoMessage& real64(int field, double value) {
    write([&](auto& out) {
      out.WriteTag(tag(field, 1));
      uint64_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      out.WriteLittleEndian64(bits);
    });
    return *this;
  }
  ProtoMessage& real32(int field, float value) {
    write([&](auto& out) {
      out.WriteTag(tag(field, 5));
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof bits);
      out.WriteLittleEndian32(bits);
    });
    return *this;
  }
  const std::string& encoded() const { return encoded_; }

 private:
  static uint32_t tag(int field, int wire_type) { return (static_cast<uint32_t>(field) << 3) | wire_type; }
  template <typename Write>
  void write(Write&& body) {
    google::protobuf::io::StringOutputStream stream(&encoded_);
    google::protobuf::io::CodedOutputStream out(&stream);
    body(out);
  }  // the CodedOutputStream trims the string to what was written when it goes

  std::string encoded_;
};

uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// tensorflow.Event: wall_time = 1 (double), step = 2 (int64), file_version = 3,
// summary = 5 (tensorflow.Summary).
std::string event(double wall_time, int64_t step, const ProtoMessage* summary, std::string_view file_version = "") {
  ProtoMessage message;
  message.real64(1, wall_time).varint(2, static_cast<uint64_t>(step));
  if (!file_version.empty()) message.bytes(3, file_version);
  if (summary) message.message(5, *summary);
  return tfrecord(message.encoded());
}

// tensorflow.Summary: value = 1 (repeated Summary.Value: tag = 1, simple_value = 2).
std::string scalar_event(const ScalarStep& point) {
  ProtoMessage summary;
  for (const Scalar& scalar : point.scalars)
    summary.message(1, ProtoMessage().bytes(1, scalar.tag).real32(2, static_cast<float>(scalar.value)));
  return event(point.time, point.step, &summary);
}

// A Summary.Value carrying hparams plugin data: metadata = 9 (SummaryMetadata:
// plugin_data = 1 {plugin_name = 1, content = 2}) and tensor = 8, an empty float
// vector as TensorBoard's own hparams summaries carry (TensorProto dtype = 1: DT_FLOAT =
// 1; tensor_shape = 2: TensorShapeProto dim = 2 {size = 1} of size 0), because its data
// provider lists plugin data through tensor values.
std::string hparams_event(double wall_time, const std::string& tag, const ProtoMessage& plugin_data) {
  const ProtoMessage metadata =
      ProtoMessage().message(1, ProtoMessage().bytes(1, "hparams").bytes(2, plugin_data.encoded()));
  const ProtoMessage tensor =
      ProtoMessage().varint(1, 1).message(2, ProtoMessage().message(2, ProtoMessage().varint(1, 0)));
  ProtoMessage summary;
  summary.message(1, ProtoMessage().bytes(1, tag).message(9, metadata).message(8, tensor));
  return event(wall_time, 0, &summary);
}

// google.protobuf.Value: number_value = 2, string_value = 3, bool_value = 4.
ProtoMessage hparam_value(const toml::node& node) {
  ProtoMessage value;
  if (node.is_integer() || node.is_floating_point())
    value.real64(2, *node.value<double>());
  else if (node.is_boolean())
    value.varint(4, *node.value<bool>() ? 1 : 0);
  else if (node.is_string())
    value.bytes(3, *node.value<std::string>());
  else
    value.bytes(3, config_value_text(node));  // arrays as their TOML text
  return value;
}

// HParamsPluginData { version = 1; session_start_info = 3 { hparams = 1 (map entries
// key = 1, value = 2), start_time_secs = 5 } }: the config flattened to "section.key".
std::string session_start_event(double wall_time, const fs::path& run_dir) {
  ProtoMessage start;
  for_each_config_value(run_dir, [&](const std::string& key, const toml::node& value) {
    start.message(1, ProtoMessage().bytes(1, key).message(2, hparam_value(value)));
  });
  start.real64(5, wall_time);
  return hparams_event(wall_time, "_hparams_/session_start_info", ProtoMessage().varint(1, 0).message(3, start));
}

// HParamsPluginData { session_end_info = 4 { status = 1 (STATUS_SUCCESS = 1,
// STATUS_FAILURE = 2), end_time_secs = 2 } }.
std::string session_end_event(double wall_time, bool succeeded) {
  const ProtoMessage end = ProtoMessage().varint(1, succeeded ? 1 : 2).real64(2, wall_time);
  return hparams_event(wall_time, "_hparams_/session_end_info", ProtoMessage().varint(1, 0).message(4, end));
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> entries{};
    for (uint32_t byte = 0; byte < 256; ++byte) {
      uint32_t crc = byte;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0u);  // reversed 0x1EDC6F41
      entries[byte] = crc;
    }
    return entries;
  }();
  uint32_t crc = 0xffffffffu;
  for (const char c : data) crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

std::string tfrecord(std::string_view payload) {
  using google::protobuf::io::CodedOutputStream;
  uint8_t length[8], length_crc[4], payload_crc[4];
  CodedOutputStream::WriteLittleEndian64ToArray(payload.size(), length);
  const std::string_view length_bytes(reinterpret_cast<const char*>(length), sizeof length);
  CodedOutputStream::WriteLittleEndian32ToArray(masked(crc32c(length_bytes)), length_crc);
  CodedOutputStream::WriteLittleEndian32ToArray(masked(crc32c(payload)), payload_crc);
  std::string record(length_bytes);
  record.append(reinterpret_cast<const char*>(length_crc), 4).append(payload);
  return record.append(reinterpret_cast<const char*>(payload_crc), 4);
}

void rebuild_tensorboard_events(const fs::path& run_dir) {
  const std::vector<ScalarStep> logged = logged_scalars(run_dir);
  const double start_time = logged.empty() ? file_time(run_dir / "metrics.jsonl") : logged.front().time;
  std::string file = event(start_time, 0, nullptr, "brain.Event:2");
  file += session_start_event(start_time, run_dir);
  for (const ScalarStep& point : logged) file += scalar_event(point);
  if (const ScalarStep results = result_scalars(run_dir); !results.scalars.empty()) file += scalar_event(results);
  const std::string state = recorded_state(run_dir);
  if (state == "finished" || state == "failed")
    file += session_end_event(file_time(run_dir / "status.json"), state == "finished");
  write_file_atomic(run_dir / kTensorBoardFileName, file);
}

void append_tensorboard_scalars(const fs::path& run_dir, const nlohmann::json& line) {
  append_to_file(run_dir / kTensorBoardFileName,
                 scalar_event({line.value("time", file_time(run_dir / "metrics.jsonl")), line.value("step", int64_t{0}),
                               metric_line_scalars(line)}));
}

}  // namespace spn
