#include "core/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

#include "core/activity.h"

namespace spn {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const long total = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (total >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  return buffer;
}

Progress::Progress(std::string label, int64_t total, bool visible)
    : label_(std::move(label)),
      total_(total),
      visible_(visible),
      terminal_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_ && terminal_ && visible_) std::fputc('\n', stderr);
}

void Progress::update(int64_t done, const std::string& note) {
  done_ = done;
  note_ = note;
  // Every rank, visible or not: long work counts as progress for the watchdog.
  note_progress(label_ + " " + std::to_string(done) + "/" + std::to_string(total_));
  if (!visible_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  // A terminal redraws a few times a second; a log gets a line every 10 seconds.
  if (since_draw < (terminal_ ? 0.2 : 10.0)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish(const std::string& note) {
  if (finished_) return;
  done_ = total_;
  if (!note.empty()) note_ = note;
  finished_ = true;
  if (visible_) draw(true);
}

void Progress::draw(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done_) / rate : -1;
  const double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 1.0;
  char counts[160];
  std::snprintf(counts, sizeof counts, "%3.0f%% %lld/%lld %.1f/s %s %s", 100 * fraction, static_cast<long long>(done_),
                static_cast<long long>(total_), rate, final_line ? "took" : "ETA",
                format_duration(final_line ? elapsed : eta).c_str());
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %s %s\033[K", label_.c_str(), bar.c_str(), counts, note_.c_str());
    if (final_line) std::fputc('\n', stderr);
    std::fflush(stderr);
  } else {
    spdlog::info("{}: {} {}", label_, counts, note_);
  }
}

}  // namespace spn
