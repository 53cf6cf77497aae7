#include "train/checkpoint.h"

#include <torch/serialize.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "train/sharded_adamw.h"

namespace spn {
namespace {

std::vector<std::pair<int64_t, fs::path>> step_checkpoints(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int64_t, fs::path>> found;
  if (!fs::exists(dir)) return found;
  const std::string head = prefix + "-step";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(head, 0) != 0 || entry.path().extension() != ".pt") continue;
    try {
      found.emplace_back(std::stoll(name.substr(head.size())), entry.path());
    } catch (const std::exception&) {}
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The checksum of a checkpoint's bytes, written beside it after it is complete.
fs::path checksum_path(const fs::path& checkpoint) { return checkpoint.string() + ".sum"; }

std::string checksum_text(uint64_t hash, size_t bytes) {
  return "fnv1a64 " + hex64(hash) + " bytes " + std::to_string(bytes) + "\n";
}

}  // namespace

std::string checkpoint_damage(const fs::path& path) {
  const fs::path sum = checksum_path(path);
  if (!fs::exists(sum)) return "";  // written before checksums existed, or killed before its sum: unverified
  const std::string expected = read_file(sum);
  const std::string content = read_file(path);
  const std::string found = checksum_text(fnv1a(content), content.size());
  if (found == expected) return "";
  return "its content (" + found.substr(0, found.size() - 1) + ") does not match " + sum.filename().string() + " (" +
         expected.substr(0, expected.find('\n')) + ")";
}

fs::path step_checkpoint_path(const fs::path& dir, const std::string& prefix, int64_t step) {
  char name[64];
  std::snprintf(name, sizeof name, "-step%07lld.pt", static_cast<long long>(step));
  return dir / (prefix + name);
}

void save_checkpoint(const fs::path& path, CirModel& model, torch::optim::Optimizer* optimizer,
                     const CheckpointProgress& progress) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("steps_done", torch::tensor(progress.steps_done, torch::kLong));
  archive.write("last_loss", torch::tensor(progress.last_loss, torch::kDouble));
  if (progress.loss_scaler) {
    archive.write("loss_scale", torch::tensor(progress.loss_scaler->scale, torch::kDouble));
    archive.write("loss_scale_clean_steps", torch::tensor(progress.loss_scaler->clean_steps, torch::kLong));
  }

  AtomicFile file(path);
  uint64_t hash = kFnvOffset;
  size_t bytes = 0;
  std::optional<IoError> failure;
  // torch's zip writer must never see the failure: it would throw again from its
  // destructor and abort the process. It is kept and thrown once the writer is done.
  archive.save_to([&](const void* data, size_t size) -> size_t {
    if (failure) return size;
    try {
      file.write(data, size);
    } catch (const IoError& error) {
      failure = error;
    }
    hash = fnv1a(data, size, hash);
    bytes += size;
    return size;
  });
  if (failure) throw *failure;
  file.commit();
  // Last, so a checksum always describes a complete file.
  write_file_atomic(checksum_path(path), checksum_text(hash, bytes));
}

namespace {

// Opens the checkpoint with its tensors on `device` and runs `read` on it; a missing or
// unreadable file, or one that does not fit the model, is a UserError naming it.
// (LibTorch's reader replaces a parameter by the stored tensor when their devices
// differ, which would move a GPU model's weights to the host.)
template <class Read>
auto read_checkpoint(const fs::path& path, const c10::Device& device, const Read& read) {
  if (!fs::exists(path)) throw UserError(path.string() + ": checkpoint not found");
  if (const std::string damage = checkpoint_damage(path); !damage.empty())
    throw UserError(path.string() + ": corrupt checkpoint: " + damage);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string(), device);
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    return read(archive, model_archive);
  } catch (const UserError&) {
    throw;  // says what is wrong already
  } catch (const c10::Error& error) {
    throw UserError(path.string() + ": unreadable checkpoint (" + error.what_without_backtrace() + ")");
  } catch (const std::exception& error) {
    // LibTorch's archive reader also throws other exceptions on malformed files (its
    // TorchScript parser's std::runtime_error, found by fuzz/checkpoint_fuzzer.cpp).
    throw UserError(path.string() + ": unreadable checkpoint (" + error.what() + ")");
  }
}

}  // namespace

CheckpointProgress load_checkpoint(const fs::path& path, CirModel& model, torch::optim::Optimizer* optimizer) {
  return read_checkpoint(
      path, model.device(),
      [&](torch::serialize::InputArchive& archive, torch::serialize::InputArchive& model_archive) {
        model.load(model_archive);
        if (optimizer) {
          torch::serialize::InputArchive optimizer_archive;
          archive.read("optimizer", optimizer_archive);
          const bool saved_sharded = is_sharded_adamw_archive(optimizer_archive);
          if (saved_sharded != (dynamic_cast<ShardedAdamW*>(optimizer) != nullptr))
            throw UserError(path.string() + ": its optimizer state is " +
                            (saved_sharded ? "sharded across ranks (ZeRO-1)" : "unsharded") +
                            "; resume with shard_optimizer = " + (saved_sharded ? "true" : "false") +
                            " in this stage's section, as the run that wrote it had it");
          optimizer->load(optimizer_archive);
        }
        CheckpointProgress progress;
        torch::Tensor steps_done, last_loss, loss_scale,
            clean_steps;  // one tensor each: reading into a used one keeps its dtype
        archive.read("steps_done", steps_done);
        progress.steps_done = steps_done.item<int64_t>();
        if (archive.try_read("last_loss", last_loss)) progress.last_loss = last_loss.item<double>();
        if (archive.try_read("loss_scale", loss_scale) && archive.try_read("loss_scale_clean_steps", clean_steps))
          progress.loss_scaler = LossScaler::State{loss_scale.item<double>(), clean_steps.item<int64_t>()};
        return progress;
      });
}

void load_target_side(const fs::path& path, CirModel& model) {
  read_checkpoint(path, model.device(),
                  [&](torch::serialize::InputArchive&, torch::serialize::InputArchive& model_archive) {
                    torch::serialize::InputArchive encoder_archive;
                    model_archive.read("image_encoder", encoder_archive);
                    model.named_children()["image_encoder"]->load(encoder_archive);
                    return 0;
                  });
}

std::optional<fs::path> latest_checkpoint(const fs::path& dir, const std::string& prefix) {
  const auto found = step_checkpoints(dir, prefix);
  for (auto newest = found.rbegin(); newest != found.rend(); ++newest) {
    const std::string damage = checkpoint_damage(newest->second);
    if (damage.empty()) return newest->second;
    spdlog::warn("{}: skipped, corrupt: {}", newest->second.string(), damage);
  }
  return std::nullopt;
}

void prune_checkpoints(const fs::path& dir, const std::string& prefix, size_t keep) {
  auto found = step_checkpoints(dir, prefix);
  for (size_t i = 0; i + keep < found.size(); ++i) {
    fs::remove(found[i].second);
    fs::remove(checksum_path(found[i].second));
  }
}

}  // namespace spn
