// Fuzzes the checkpoint reader: the bytes of a checkpoint of a tiny model, loaded as a
// checkpoint without a checksum file (one written before checksums existed), so
// LibTorch's archive reader sees every input. (Without optimizer state, which would
// triple the seed's size for the same reader.)
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "scratch.h"
#include "tests/test_models.h"
#include "train/checkpoint.h"

namespace {

std::shared_ptr<spn::CirModel> tiny_model() {
  return spn::make_cir_model(spn::testing::tiny_config(), spn::testing::kTestVocab);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::shared_ptr<spn::CirModel> model = tiny_model();
  const auto path = spn::fuzz::scratch().write("step.pt", std::string(reinterpret_cast<const char*>(data), size));
  try {
    if (!spn::checkpoint_damage(path).empty()) std::abort();  // no checksum file: unverified, not damaged
    spn::load_checkpoint(path, *model, nullptr);
  } catch (const spn::UserError&) {}
  return 0;
}
