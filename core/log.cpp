#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <memory>
#include <string>

#include "core/files.h"

namespace spn {

void log_init(int rank, int world_size) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  // Other ranks stay quiet on the console unless something goes wrong.
  console->set_level(rank == 0 ? spdlog::level::info : spdlog::level::warn);
  const std::string who = world_size > 1 ? "[rank " + std::to_string(rank) + "] " : "";
  console->set_pattern("%H:%M:%S " + who + "%^%l%$: %v");
  auto logger = std::make_shared<spdlog::logger>("spn", console);
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void log_to_directory(const std::filesystem::path& dir, int rank) {
  // The file sink of the previous call: a sweep runs its runs one after another in one
  // process, and each run's log must hold only its own lines.
  static std::shared_ptr<spdlog::sinks::sink> run_file;
  make_directories(dir);
  auto file =
      std::make_shared<spdlog::sinks::basic_file_sink_mt>((dir / ("rank-" + std::to_string(rank) + ".log")).string());
  file->set_pattern("%Y-%m-%d %H:%M:%S.%e %l: %v");
  file->set_level(spdlog::level::info);
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), run_file), sinks.end());
  sinks.push_back(file);
  run_file = file;
  spdlog::default_logger()->flush_on(spdlog::level::info);
}

}  // namespace spn
