#include "data/hdf5_file.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <stdexcept>

#include "core/error.h"

namespace spn::hdf5 {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) close_(id_);
    id_ = other.id_;
    close_ = other.close_;
    other.id_ = -1;
  }
  return *this;
}

void silence() {
  static bool done = false;
  if (!done) H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  done = true;
}

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5: " + what + " failed");
}

void check_write(herr_t status, const std::string& what, const std::filesystem::path& file,
                 const std::string& contents) {
  if (status >= 0) return;
  if (errno != 0) throw IoError(file.string(), "write " + contents + " (HDF5 " + what + ")", errno);
  throw std::runtime_error(file.string() + ": HDF5 " + what + " failed");
}

void write_string_attribute(hid_t object, const char* name, const std::string& value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  check(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), "string size");
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  check(H5Awrite(attribute.get(), type.get(), value.empty() ? "" : value.data()), std::string("attribute ") + name);
}

void write_int_attribute(hid_t object, const char* name, int64_t value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  check(H5Awrite(attribute.get(), H5T_NATIVE_INT64, &value), std::string("attribute ") + name);
}

std::optional<int64_t> read_int_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  int64_t value = 0;
  if (!attribute.valid() || H5Aread(attribute.get(), H5T_NATIVE_INT64, &value) < 0) return std::nullopt;
  return value;
}

std::optional<std::string> read_string_attribute(hid_t object, const char* name) {
  if (H5Aexists(object, name) <= 0) return std::nullopt;
  Handle attribute(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  if (!type.valid() || H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) != 0)
    return std::nullopt;
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attribute.get(), type.get(), value.data()) < 0) return std::nullopt;
  return value.substr(0, value.find('\0'));
}

Handle checksummed_file_access() {
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  check(H5Pset_libver_bounds(access.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "file format version");
  return access;
}

std::string checksummed_format_problem(const std::filesystem::path& path) {
  static constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  char head[9] = {};
  std::ifstream(path, std::ios::binary).read(head, sizeof head);
  if (!std::equal(kSignature, kSignature + 8, head)) return "not an HDF5 file";
  const int version = static_cast<unsigned char>(head[8]);
  if (version < 2)
    return "HDF5 superblock version " + std::to_string(version) +
           " has no checksums: written by another program or by an older spn; delete it and the run rebuilds it";
  return "";
}

}  // namespace spn::hdf5
