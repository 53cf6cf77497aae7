#include "core/error.h"

#include <cstring>

namespace spn {
namespace {

std::string describe(const std::string& path, const std::string& what, int error_number) {
  const char* name = ::strerrorname_np(error_number);
  return path + ": cannot " + what + ": " + std::strerror(error_number) + " (" +
         (name ? name : "errno " + std::to_string(error_number)) + ")";
}

}  // namespace

IoError::IoError(const std::string& path, const std::string& what, int error_number)
    : std::runtime_error(describe(path, what, error_number)), error_number_(error_number) {}

}  // namespace spn
