#include "data/generated_dataset.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/visible_path.h"

namespace spn {
namespace {

constexpr const char* kIncompleteDataset = "(incomplete)";

// What `root` holds: "" (nothing), kIncompleteDataset, or the recorded fingerprint.
std::string dataset_state(const fs::path& root, const std::string& marker) {
  if (!visible_here(root)) return "";
  const fs::path file = root / marker;
  if (!fs::exists(file)) return kIncompleteDataset;
  try {
    return nlohmann::json::parse(read_file(file)).at("fingerprint").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return kIncompleteDataset;
  }
}

}  // namespace

bool ensure_generated_dataset(Communicator& comm, const GeneratedDataset& dataset,
                              const std::function<void(const fs::path&)>& render_shard,
                              const std::function<void(const fs::path&)>& finish) {
  // Rank 0 looks, so every rank takes the same branch.
  const std::string found =
      broadcast_string(comm, comm.rank() == 0 ? dataset_state(dataset.root, dataset.marker) : "", 0);
  if (!found.empty()) {
    if (found == dataset.fingerprint) return false;
    if (found == kIncompleteDataset)
      throw UserError(dataset.key + ": " + dataset.root.string() +
                      " exists but is not a complete generated dataset (no " + dataset.marker +
                      "); remove it or choose another directory");
    throw UserError(dataset.key + ": " + dataset.root.string() + " holds a dataset generated with other " +
                    dataset.settings + " settings (fingerprint " + found + ", these settings give " +
                    dataset.fingerprint + "); choose another directory or remove that one");
  }
  const fs::path staging = dataset.root.string() + ".partial";
  if (comm.rank() == 0) {
    fs::remove_all(staging);  // leftovers of a generation that was killed
    make_directories(staging);
  }
  comm.barrier();
  render_shard(staging);
  comm.barrier();
  if (comm.rank() == 0) {
    finish(staging);
    fs::rename(staging, dataset.root);
  }
  comm.barrier();
  return true;
}

}  // namespace spn
