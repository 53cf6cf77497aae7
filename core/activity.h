#pragma once
// What this process is doing and when it last moved forward, for the watchdog
// (launcher/watchdog.h): the pipeline, the training loop and every Progress report here
// from the main thread; the watchdog's thread reads it.
#include <string>

namespace spn {

// Records that this process made progress just now, at `where` ("stage1 step 18 of 30").
void note_progress(const std::string& where);

struct Activity {
  std::string where;         // "" before the first note
  double progress_time = 0;  // Unix seconds of the last note
};

Activity current_activity();

}  // namespace spn
