#include "serve/timeline.h"

#include <algorithm>

namespace vigil {

Timeline build_timeline(std::vector<TimelineSegment> segments, std::vector<TimelineGap> gaps,
                        WallTime from, WallTime to, WallDuration tolerance) {
  Timeline t;
  std::sort(segments.begin(), segments.end(),
            [](const TimelineSegment& a, const TimelineSegment& b) { return a.start < b.start; });
  for (const auto& s : segments) {
    const WallTime start = std::max(s.start, from);
    const WallTime end = std::min(s.end, to);
    if (end <= start) continue;  // outside the window, or empty (a file just opened)
    if (!t.recorded.empty() && start <= t.recorded.back().end + tolerance) {
      auto& last = t.recorded.back();
      last.end = std::max(last.end, end);
      last.segments += s.segments;
      continue;
    }
    t.recorded.push_back({start, end, s.segments});
  }
  std::sort(gaps.begin(), gaps.end(),
            [](const TimelineGap& a, const TimelineGap& b) { return a.start < b.start; });
  for (auto& g : gaps) {
    const WallTime start = std::max(g.start, from);
    const WallTime end = std::min(g.end, to);
    if (end <= start) continue;
    t.gaps.push_back({start, end, std::move(g.reason)});
  }
  return t;
}

}  // namespace vigil
