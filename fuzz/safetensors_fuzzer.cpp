// Fuzzes the safetensors reader: the header's validation, then reading every tensor.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "models/safetensors.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path =
      spn::fuzz::scratch().write("model.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  try {
    const spn::SafetensorsFile file(path);
    for (const auto& entry : file.entries()) file.read(entry.name);
  } catch (const spn::UserError&) {}
  return 0;
}
