#include "core/activity.h"

#include <chrono>
#include <mutex>

namespace spn {
namespace {

std::mutex g_mutex;
Activity g_activity;

}  // namespace

void note_progress(const std::string& where) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> lock(g_mutex);
  g_activity.where = where;
  g_activity.progress_time = now;
}

Activity current_activity() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_activity;
}

}  // namespace spn
