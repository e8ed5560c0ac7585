#include "events/event_tracker.h"

#include <algorithm>

namespace vigil {

bool EventTracker::absorb(WallTime at, const Detection& d) {
  ev_.last_seen = std::max(ev_.last_seen, at);
  ev_.zones.insert(d.zones.begin(), d.zones.end());
  if (d.score <= ev_.peak_score) return false;
  ev_.peak_score = d.score;
  ev_.peak_at = at;
  if (d.box) ev_.box = d.box;
  return true;
}

TrackerStep EventTracker::observe(WallTime at, const Detection* d) {
  TrackerStep step;
  switch (state_) {
    case State::kIdle:
      if (!d) return step;
      ev_ = TrackedEvent{at, at, d->score, at, d->box, {d->zones.begin(), d->zones.end()}};
      state_ = State::kPending;
      break;
    case State::kPending:
      if (!d) {
        state_ = State::kIdle;
        return step;
      }
      absorb(at, *d);
      break;
    case State::kActive: {
      if (!d) {
        if (at - ev_.last_seen > s_.merge_gap) {
          state_ = State::kIdle;
          step.kind = TrackerStep::Kind::kEnded;
          step.event = ev_;
        }
        return step;
      }
      step.new_peak = absorb(at, *d);
      step.kind = TrackerStep::Kind::kGrew;
      step.event = ev_;
      return step;
    }
  }
  // Pending: started once it has held long enough.
  if (ev_.last_seen - ev_.start >= s_.min_duration) {
    state_ = State::kActive;
    step.kind = TrackerStep::Kind::kStarted;
    step.new_peak = true;
    step.event = ev_;
  }
  return step;
}

TrackerStep EventTracker::expire(WallTime now) {
  TrackerStep step;
  if (state_ == State::kIdle || now - ev_.last_seen <= std::max(s_.merge_gap, kAnalysisQuietMax)) {
    return step;
  }
  if (state_ == State::kActive) {
    step.kind = TrackerStep::Kind::kEnded;
    step.event = ev_;
  }
  state_ = State::kIdle;
  return step;
}

}  // namespace vigil
