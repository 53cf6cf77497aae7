#pragma once
// Checkpoints: model state, optimizer state and the number of finished steps, in
// LibTorch's archive format, written to a temporary name and renamed. Rank 0 writes;
// every rank reads (the run directory is on a filesystem all ranks share).
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <limits>
#include <optional>
#include <string>

#include "models/cir_model.h"
#include "train/loss_scaler.h"

namespace spn {

// Where training stood when a checkpoint was written: the steps done, the loss of the
// last one (the stage's final loss when a resumed stage has no steps left to run) and,
// in fp16 runs, the loss scaler's state.
struct CheckpointProgress {
  CheckpointProgress(int64_t steps = 0, double loss = std::numeric_limits<double>::quiet_NaN())
      : steps_done(steps), last_loss(loss) {}
  int64_t steps_done;
  double last_loss;                              // NaN: checkpoints written before it was kept
  std::optional<LossScaler::State> loss_scaler;  // fp16 runs (checkpoints since 2026-11-29)
};

// An I/O failure (a full disk) is an IoError naming the file; no temporary is left.
void save_checkpoint(const std::filesystem::path& path, CirModel& model, torch::optim::Optimizer* optimizer,
                     const CheckpointProgress& progress);

// Loads into `model` (and `optimizer` when given). A missing, corrupt
// (checkpoint_damage) or unreadable file is a UserError naming it.
CheckpointProgress load_checkpoint(const std::filesystem::path& path, CirModel& model,
                                   torch::optim::Optimizer* optimizer);

// Loads only the image encoder (the target side) from a checkpoint, so a model with
// another vocabulary or head can reuse it (e.g. for pair mining).
void load_target_side(const std::filesystem::path& path, CirModel& model);

// Why the checkpoint's bytes do not match the checksum saved beside it
// (<checkpoint>.sum, written after the checkpoint is complete), or "" when they do or
// when it has none (older checkpoints). Reads the whole file.
std::string checkpoint_damage(const std::filesystem::path& path);

// "<prefix>-step0000123.pt" with the highest step in `dir` whose bytes match its
// checksum, if any; newer corrupt ones are skipped with a warning naming them.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir, const std::string& prefix);
std::filesystem::path step_checkpoint_path(const std::filesystem::path& dir, const std::string& prefix, int64_t step);

// Removes all but the newest `keep` step checkpoints of `prefix`.
void prune_checkpoints(const std::filesystem::path& dir, const std::string& prefix, size_t keep);

}  // namespace spn
