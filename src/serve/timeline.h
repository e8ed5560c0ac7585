// The recordings timeline of one camera over a window: which stretches of wall time have footage
// (adjacent segment files merged into one range) and which are gaps, with the recorder's reason.
// A pure function of catalog rows, so the merging rules are unit-tested without a database.
// Units: wall time (UTC ms) throughout; every range is half-open [start, end).
#pragma once

#include <string>
#include <vector>

#include "core/time.h"

namespace vigil {

// What the timeline needs of a segment row or a run of them (catalog's SegmentRun).
struct TimelineSegment {
  WallTime start;
  WallTime end;      // for a segment still being written: up to now
  int segments = 1;  // segment files it stands for (a run's)
};

struct TimelineGap {
  WallTime start;
  WallTime end;
  std::string reason;
};

struct TimelineRange {
  WallTime start;
  WallTime end;
  int segments = 0;  // segment files of the runs it was merged from, inside the window or not
};

struct Timeline {
  std::vector<TimelineRange> recorded;  // oldest first, disjoint
  std::vector<TimelineGap> gaps;        // oldest first, as the recorder logged them
};

// Two segments whose ends are this close count as one range: a new file starts at the next
// keyframe after the previous one ended, so consecutive files of one connection touch within a
// frame interval, plus wall-clock jitter of the camera's timestamps. The catalog's runs use the
// same rule (kRunToleranceMs).
inline constexpr WallDuration kTimelineMergeTolerance{250};

// `segments` and `gaps` in any order; both are clipped to [from, to).
Timeline build_timeline(std::vector<TimelineSegment> segments, std::vector<TimelineGap> gaps,
                        WallTime from, WallTime to,
                        WallDuration tolerance = kTimelineMergeTolerance);

}  // namespace vigil
