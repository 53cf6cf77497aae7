#pragma once
// The text of a JSON record. nlohmann's dump() throws on a string that is not UTF-8, and
// records hold text users gave (paths, --set values, error messages that quote a file),
// so writing a record, above all the error of a failed run, must not fail on it: such
// bytes are written as U+FFFD.
#include <nlohmann/json.hpp>

#include <string>

namespace spn {

// As value.dump(indent), never throwing on invalid UTF-8.
inline std::string json_text(const nlohmann::json& value, int indent = -1) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace spn
