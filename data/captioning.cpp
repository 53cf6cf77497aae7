#include "data/captioning.h"

#include <nlohmann/json.hpp>

#include <map>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/files.h"
#include "core/progress.h"
#include "data/openai_captioner.h"
#include "dist/sharding.h"

namespace spn {
namespace {

using nlohmann::json;

constexpr int64_t kImagesPerRequest = 256;  // images a rank hands the captioner at once (its parallelism bound)

// The built-in benchmark's per-image description (descriptions.json), cut to the
// first `words` words: what a captioning model would say about a synthetic scene.
class AnnotationCaptioner : public Captioner {
 public:
  AnnotationCaptioner(const std::filesystem::path& file, int64_t words) : file_(file), words_(words) {
    const std::string text = read_file(file);
    const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) throw UserError(file.string() + ": expected an object {image name: description}");
    for (const auto& [name, description] : parsed.items()) {
      if (!description.is_string())
        throw UserError(file.string() + ": image '" + name + "': description must be a string");
      descriptions_.emplace(name, description.get<std::string>());
    }
  }

  void caption(const CirrSplit& split, const std::vector<int64_t>& indices, const Done& done) override {
    for (int64_t index : indices) {
      const std::string& name = split.images[index];
      const auto found = descriptions_.find(name);
      if (found == descriptions_.end()) throw UserError(file_.string() + ": no description of image '" + name + "'");
      std::string caption;
      int64_t kept = 0;
      for (std::istringstream words(found->second); kept < words_;) {
        std::string word;
        if (!(words >> word)) break;
        caption += (kept++ ? " " : "") + word;
      }
      if (caption.empty()) throw UserError(file_.string() + ": the description of image '" + name + "' is empty");
      done(index, caption);
    }
  }

 private:
  std::filesystem::path file_;
  int64_t words_;
  std::unordered_map<std::string, std::string> descriptions_;
};

std::filesystem::path journal_path(const std::filesystem::path& dir, int rank) {
  return dir / ("captions.journal-" + std::to_string(rank) + ".jsonl");
}

// Every caption in the journals of `dir` (whatever world size wrote them). A line cut
// short by a kill is skipped; its image is captioned again.
std::map<std::string, std::string> read_journals(const std::filesystem::path& dir) {
  std::map<std::string, std::string> captions;
  if (!std::filesystem::exists(dir)) return captions;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("captions.journal-", 0) != 0) continue;
    std::istringstream lines(read_file(entry.path()));
    for (std::string line; std::getline(lines, line);) {
      const json item = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (item.is_object() && item.contains("image") && item.contains("caption") && item["caption"].is_string())
        captions.emplace(item["image"].get<std::string>(), item["caption"].get<std::string>());
    }
  }
  return captions;
}

}  // namespace

std::unique_ptr<Captioner> make_captioner(const ExperimentConfig& config, const CirrSplit& split) {
  if (config.positives.captioner == CaptionerKind::OpenAi)
    return make_openai_captioner(config.positives, "positives.openai");
  const std::filesystem::path descriptions = split.root / "descriptions.json";
  if (!std::filesystem::exists(descriptions))
    throw UserError(config.where("positives.captioner") + ": \"annotations\" needs " + descriptions.string() +
                    " (the built-in benchmark writes it); real images need a captioning model");
  return std::make_unique<AnnotationCaptioner>(descriptions, config.positives.caption_words);
}

std::vector<std::string> caption_images(Communicator& comm, Captioner& captioner, const CirrSplit& split,
                                        const std::vector<int64_t>& images, const std::filesystem::path& dir,
                                        bool show_progress) {
  // Rank 0 reads the journals before any rank appends to them, and tells the others.
  std::string journaled = comm.rank() == 0 ? json(read_journals(dir)).dump() : "";
  std::map<std::string, std::string> captions = json::parse(broadcast_string(comm, journaled, 0));
  std::vector<int64_t> todo;
  for (int64_t index : images)
    if (!captions.count(split.images[index])) todo.push_back(index);

  const std::filesystem::path journal = journal_path(dir, comm.rank());
  make_directories(dir);
  if (std::filesystem::exists(journal)) {
    const std::string text = read_file(journal);
    if (!text.empty() && text.back() != '\n') append_line(journal, "");  // end a line cut short
  }
  const ShardRange mine = shard_range(static_cast<int64_t>(todo.size()), comm.size(), comm.rank());
  Progress progress("captioning", mine.size(), show_progress);
  int64_t finished = 0;
  for (int64_t begin = mine.begin; begin < mine.end; begin += kImagesPerRequest) {
    const std::vector<int64_t> request(todo.begin() + begin,
                                       todo.begin() + std::min(mine.end, begin + kImagesPerRequest));
    captioner.caption(split, request, [&](int64_t index, const std::string& caption) {
      if (caption.empty())
        throw UserError("captioner returned an empty caption for image '" + split.images[index] + "'");
      append_line(journal, json{{"image", split.images[index]}, {"caption", caption}}.dump());
      progress.update(++finished);
    });
  }
  progress.finish();
  comm.barrier();

  std::string merged;
  if (comm.rank() == 0) {
    captions = read_journals(dir);
    json ordered = json::array();
    for (int64_t index : images) {
      const auto found = captions.find(split.images[index]);
      if (found == captions.end()) throw std::logic_error("no caption journaled for " + split.images[index]);
      ordered.push_back({{"image", found->first}, {"caption", found->second}});
    }
    merged = ordered.dump(1);
    write_file_atomic(dir / "captions.json", merged + "\n");
  }
  std::vector<std::string> result;
  for (const json& item : json::parse(broadcast_string(comm, merged, 0))) result.push_back(item["caption"]);
  return result;
}

}  // namespace spn
