// Hysteresis for one camera and one detection type: per-frame levels ("motion in this frame")
// become events with a start, growth and an end. Hard to enter, easy to stay:
//  - an event starts once the condition has held on every analysed frame for min_duration
//    (a frame without it before then discards the candidate); its start is the first frame's time;
//  - it lasts while the condition returns within merge_gap of its last sighting, so an end
//    followed by a new start within the gap continues the same event;
//  - it ends at its last sighting, once merge_gap has passed without one (seen by the next frame
//    or, when frames stop coming, by expire(), which also waits out kAnalysisQuietMax: analysis
//    sampling sustained motion sends nothing for up to that long, and an event must not end, or
//    split, for want of frames that were skipped on purpose).
// Pure state machine on the times it is given: no clock, no threads (EventEngine serialises).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analyze/detection.h"
#include "core/time.h"

namespace vigil {

struct TrackerSettings {
  WallDuration min_duration{1'000};
  WallDuration merge_gap{5'000};
};

// What the tracker knows about the current (or candidate) event.
struct TrackedEvent {
  WallTime start;
  WallTime last_seen;
  double peak_score = 0;
  WallTime peak_at;
  std::optional<NormBox> box;   // at the peak
  std::set<std::string> zones;  // every zone touched so far
};

struct TrackerStep {
  enum class Kind { kNone, kStarted, kGrew, kEnded } kind = Kind::kNone;
  bool new_peak = false;  // kStarted/kGrew: this frame is the event's highest score so far
  TrackedEvent event;     // the event after this step (at kEnded: as it ended, end = last_seen)
};

class EventTracker {
 public:
  explicit EventTracker(TrackerSettings s) : s_(s) {}

  // One analysed frame at `at`: `d` when the condition holds in it, null when not.
  TrackerStep observe(WallTime at, const Detection* d);
  // No frame since; ends the event (or drops the candidate) once the longer of merge_gap and
  // kAnalysisQuietMax has passed by `now`.
  TrackerStep expire(WallTime now);

  bool active() const { return state_ == State::kActive; }
  bool idle() const { return state_ == State::kIdle; }

 private:
  enum class State { kIdle, kPending, kActive } state_ = State::kIdle;
  bool absorb(WallTime at, const Detection& d);  // true when a new peak

  TrackerSettings s_;
  TrackedEvent ev_;
};

}  // namespace vigil
