// Fuzzes the experiment config reader: TOML text, then `--set` overrides (NUL-separated
// parts of the input). Bad input must be a UserError; a config that loads must print as
// TOML that loads again to the same config.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config_file.h"
#include "core/error.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = spn::fuzz::split_input(data, size, 4);
  const std::vector<std::string> overrides(parts.begin() + 1, parts.end());
  std::string printed;
  try {
    printed = spn::config_to_toml(spn::load_config_text(parts[0], "<fuzz>", overrides));
  } catch (const spn::UserError&) {
    return 0;
  }
  // Outside the try: a printed config the reader refuses escapes as an uncaught
  // exception, which the fuzzer reports as a crash.
  if (spn::config_to_toml(spn::load_config_text(printed, "<printed>", {})) != printed) std::abort();
  return 0;
}
