#pragma once
// What spn's HDF5 files (embedding banks, decoded-image caches) share: handles that
// close themselves, HDF5's own error printing silenced, attributes, and the file-format
// check that keeps libhdf5 from parsing unchecksummed metadata.
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace spn::hdf5 {

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its own error stack by default; spn reports errors itself.
void silence();

// A std::runtime_error "HDF5: <what> failed" when `status` < 0.
void check(herr_t status, const std::string& what);

// A write of `file` (holding `contents`, e.g. "the bank"): the system's reason when it
// gave one (a full disk is ENOSPC), else HDF5's refusal, both naming the file. Call with
// errno cleared before.
void check_write(herr_t status, const std::string& what, const std::filesystem::path& file,
                 const std::string& contents);

void write_string_attribute(hid_t object, const char* name, const std::string& value);
void write_int_attribute(hid_t object, const char* name, int64_t value);
// The integer attribute `name` of `object`, or nullopt when it is missing or unreadable.
std::optional<int64_t> read_int_attribute(hid_t object, const char* name);
// The string attribute `name` of `object`, or nullopt when it is missing or not a string.
std::optional<std::string> read_string_attribute(hid_t object, const char* name);

// File-access properties for a new file in the newest format: its superblock, object
// headers and attributes carry checksums, which readers rely on.
Handle checksummed_file_access();

// Why `path` is not an HDF5 file in a checksummed format ("" when it is). libhdf5 1.10
// reads corrupt metadata of its older formats out of bounds (a fuzzer found a
// use-after-free in H5Aexists); superblock version 2 and later checksum the metadata,
// so libhdf5 refuses a damaged file before parsing it. Any other file is refused before
// libhdf5 sees it.
std::string checksummed_format_problem(const std::filesystem::path& path);

}  // namespace spn::hdf5
