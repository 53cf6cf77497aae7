#pragma once
// Captions for unannotated images (SPN asks a multimodal LLM to "briefly describe the
// image in 10 words"), behind one interface, and the sharded, resumable driver.
//
// caption_images() shards the images across ranks. Each rank appends every caption to
// its own journal (<dir>/captions.journal-<rank>.jsonl) as it arrives, so a killed run
// resumes without redoing finished images, whatever the new world size. Rank 0 then
// merges the journals into <dir>/captions.json in image order: the same file for any
// number of ranks.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/experiment_config.h"
#include "data/cirr.h"
#include "dist/communicator.h"

namespace spn {

class Captioner {
 public:
  virtual ~Captioner() = default;
  // Captions split images `indices`, calling `done(index, caption)` as each one is
  // ready (in any order). A caption is never empty; an image that cannot be captioned
  // is a UserError naming it.
  using Done = std::function<void(int64_t, const std::string&)>;
  virtual void caption(const CirrSplit& split, const std::vector<int64_t>& indices, const Done& done) = 0;
};

// positives.captioner for `split` (data.root holds what it needs).
std::unique_ptr<Captioner> make_captioner(const ExperimentConfig& config, const CirrSplit& split);

// Captions of `images` (split indices), in that order, on every rank.
std::vector<std::string> caption_images(Communicator& comm, Captioner& captioner, const CirrSplit& split,
                                        const std::vector<int64_t>& images, const std::filesystem::path& dir,
                                        bool show_progress);

}  // namespace spn
