#include "ingest/decode_timestamps.h"

#include <algorithm>

namespace vigil {
namespace {

// Enough history to see the reordering of any GOP structure cameras use (B-pyramids of 8).
constexpr std::size_t kRecent = 32;
// A presentation time this far from the previous one is a new run (the camera's clock jumped,
// it restarted): what came before says nothing about the order of what follows.
constexpr Ticks90k kNewRun{90000 * 10};
constexpr Ticks90k kLead{90};

}  // namespace

std::size_t DecodeTimestamps::displacement(Ticks90k pts) const {
  return static_cast<std::size_t>(
      std::count_if(recent_.begin(), recent_.end(), [pts](Ticks90k r) { return r > pts; }));
}

Ticks90k DecodeTimestamps::next(Ticks90k pts) {
  if (last_pts_ && (pts - *last_pts_ > kNewRun || *last_pts_ - pts > kNewRun)) {
    unassigned_.clear();
    recent_.clear();
    last_dts_.reset();
  }
  // The frame spacing: the closest presentation time to this one among the recent frames
  // (in decode order the neighbour in time may be a few frames back).
  std::optional<Ticks90k> gap;
  for (Ticks90k r : recent_) {
    const Ticks90k d = r > pts ? r - pts : pts - r;
    if (d > Ticks90k(0) && (!gap || d < *gap)) gap = d;
  }
  if (gap) step_ = *gap;

  depth_ = std::max(depth_, displacement(pts));
  recent_.push_back(pts);
  if (recent_.size() > kRecent) recent_.pop_front();
  unassigned_.insert(pts);

  Ticks90k dts;
  if (unassigned_.size() > depth_) {
    dts = *unassigned_.begin();
    unassigned_.erase(unassigned_.begin());
  } else {
    // The first frames of a run are decoded before the first presentation time. They are put
    // a millisecond apart, not a frame: the frame spacing is not known yet (the first gap seen,
    // I to P, may be several frames), and only their order matters.
    dts = *unassigned_.begin() - kLead * static_cast<int64_t>(depth_ + 1 - unassigned_.size());
  }
  if (last_dts_ && dts <= *last_dts_) {
    // Behind the times already given (the depth grew, or presentation times repeat): go on at
    // half a frame per frame until the rule's times are ahead again.
    dts = *last_dts_ + std::max(step_ / 2, Ticks90k(1));
  }
  last_dts_ = dts;
  last_pts_ = pts;
  return dts;
}

}  // namespace vigil
