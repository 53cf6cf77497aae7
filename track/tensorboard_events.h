#pragma once
// TensorBoard event files, written natively so `tensorboard --logdir runs` shows every
// run and sweep without Python in the training job. One file per run directory,
// events.out.tfevents.spn, and it is a function of the run's records (names as in
// run_contents.h):
//   - the scalars of each metrics.jsonl line, at the line's step;
//   - an hparams session (TensorBoard's hparams plugin): the config values, and, once
//     results.json exists, its "results/..." scalars (the hparams table's metric
//     columns) plus the session's end status from status.json.
// metrics.jsonl stays the source of truth: the file is appended to as lines are logged
// and rebuilt whole (atomically) whenever the records change otherwise.
//
// Format (TFRecord framing of tensorflow.Event protos): per record a little-endian
// uint64 length, its masked CRC-32C, the payload and its masked CRC-32C. The protos are
// encoded with protobuf's CodedOutputStream against the field numbers of
// tensorflow/core/util/event.proto, summary.proto and tensorboard's hparams
// plugin_data.proto, named beside each write in the .cpp.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace spn {

inline constexpr const char* kTensorBoardFileName = "events.out.tfevents.spn";

// CRC-32C (Castagnoli), the checksum TFRecord uses. Debian 12 packages no CRC-32C
// library (abseil's is newer than its abseil), so it is written here: a table-driven
// reflected CRC, checked in the tests against the standard check value.
uint32_t crc32c(std::string_view data);

// One TFRecord: length, masked CRC of the length, payload, masked CRC of the payload.
std::string tfrecord(std::string_view payload);

// Rewrites <run_dir>/events.out.tfevents.spn from the run's records.
void rebuild_tensorboard_events(const std::filesystem::path& run_dir);

// Appends the scalars of one metrics line that was just logged.
void append_tensorboard_scalars(const std::filesystem::path& run_dir, const nlohmann::json& line);

}  // namespace spn
