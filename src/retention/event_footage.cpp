#include "retention/event_footage.h"

#include <algorithm>

namespace vigil {

WallDuration event_footage_hold_back(WallDuration pre_roll, WallDuration post_roll,
                                     WallDuration merge_gap, WallDuration min_duration) {
  return pre_roll + post_roll + merge_gap + min_duration + std::chrono::minutes(1);
}

std::vector<int64_t> segments_outside_events(const std::vector<SegmentSpan>& spans,
                                             const std::vector<EventRow>& events,
                                             const EventFootagePolicy& policy, WallTime cutoff) {
  // Widened event ranges, sorted and merged, so each segment is one binary search.
  std::vector<std::pair<WallTime, WallTime>> keep;
  for (const auto& e : events)
    keep.emplace_back(e.start - policy.pre_roll, e.end + policy.post_roll);
  std::sort(keep.begin(), keep.end());
  std::vector<std::pair<WallTime, WallTime>> merged;
  for (const auto& r : keep) {
    if (!merged.empty() && r.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  std::vector<int64_t> out;
  for (const auto& s : spans) {
    if (s.state != SegmentState::kClosed || s.wall_end > cutoff) continue;
    // The first kept range ending after the segment's start; it overlaps if it starts before the
    // segment's end.
    auto it = std::upper_bound(merged.begin(), merged.end(), s.wall_start,
                               [](WallTime t, const auto& r) { return t < r.second; });
    const bool overlaps = it != merged.end() && it->first < s.wall_end;
    if (!overlaps) out.push_back(s.id);
  }
  return out;
}

}  // namespace vigil
