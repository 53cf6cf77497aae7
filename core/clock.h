#pragma once
// Wall-clock timestamps for records: run status and attempts, completion markers, bank
// attributes.
#include <chrono>
#include <ctime>
#include <string>

namespace spn {

// Now in UTC, ISO 8601 to the second: "2026-11-29T10:43:00Z".
inline std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm parts{};
  gmtime_r(&now, &parts);  // std::gmtime's static buffer is shared by every thread
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

}  // namespace spn
