// Fuzzes the embedding bank reader (HDF5): the header (attributes and shapes), the ids
// and the first rows. libhdf5 itself is Debian's, not instrumented: only spn's side of
// the reading gets coverage feedback, but a crash anywhere is still found.
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "data/embedding_bank.h"
#include "scratch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = spn::fuzz::scratch().write("bank.h5", std::string(reinterpret_cast<const char*>(data), size));
  try {
    const spn::BankMetadata metadata = spn::read_bank_metadata(path);
    spn::read_bank_ids(path);
    // A few rows: a bank may declare more rows than the process could hold.
    spn::read_bank_rows(path, 0, std::min<int64_t>(metadata.rows, 4));
  } catch (const spn::UserError&) {}
  return 0;
}
