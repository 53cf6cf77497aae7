#pragma once
// Errors that spn-launch reports to the user. UserError is bad input (config, files,
// annotations, banks): the launcher prints its message and exits with status 2.
// Anything else is a bug or an environment failure and exits with status 1.
#include <stdexcept>
#include <string>

namespace spn {

constexpr int kExitUserError = 2;
constexpr int kExitInternalError = 1;

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace spn
