#pragma once
// Progress of a long stage (generation, epochs, evaluation). On rank 0 it draws a bar
// with rate and ETA when stderr is a terminal, and logs a line every few seconds
// otherwise (batch jobs, CI, `make quickstart | tee`). Other ranks print nothing.
#include <chrono>
#include <cstdint>
#include <string>

namespace spn {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool visible);
  ~Progress();
  // Advances to `done` items; `note` is shown after the counts (e.g. "loss 1.23").
  void update(int64_t done, const std::string& note = "");
  void finish(const std::string& note = "");

 private:
  void draw(bool final_line);

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::string note_;
  bool visible_;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace spn
