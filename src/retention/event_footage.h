// Recording mode "events" (record = "events" on a camera): the recorder still writes every
// segment (it never decodes and cannot know the future, and pre-roll needs footage from before an
// event is confirmed); retention then deletes the closed segments that no event of the camera,
// widened by its pre/post roll, overlaps, once they are old enough that no event can still claim
// them. docs/design/events.md, "Recording mode events".
#pragma once

#include <cstdint>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "core/time.h"

namespace vigil {

struct EventFootagePolicy {
  WallDuration pre_roll{5'000};
  WallDuration post_roll{5'000};
  // A segment ending later than now - hold_back may still become footage of an event: one not
  // yet confirmed (dated back by min_duration), or one that continues (merge_gap) and then needs
  // its post-roll.
  WallDuration hold_back{120'000};
};

// The hold-back for event settings: pre + post roll, merge gap, minimum duration, and a minute
// for analysis and the events writer to catch up.
WallDuration event_footage_hold_back(WallDuration pre_roll, WallDuration post_roll,
                                     WallDuration merge_gap, WallDuration min_duration);

// Ids of the closed segments among `spans` that end at or before `cutoff` and overlap no event
// of `events` widened to [start - pre_roll, end + post_roll]. Pure.
std::vector<int64_t> segments_outside_events(const std::vector<SegmentSpan>& spans,
                                             const std::vector<EventRow>& events,
                                             const EventFootagePolicy& policy, WallTime cutoff);

}  // namespace vigil
