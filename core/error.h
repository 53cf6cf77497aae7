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

// Thrown for an error in one named place: "where: what".
inline UserError user_error_at(const std::string& where, const std::string& what) {
  return UserError(where + ": " + what);
}

}  // namespace spn
