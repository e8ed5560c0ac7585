// Armed times of one camera: whether an event at a given instant should alert. The entries come
// from [[camera.schedule]] (core/config.h, ScheduleEntry) and are read in local time.
// The rule (docs/design/events.md): an entry applies to an event when its types include the
// event's type (or name none) and its zone is one the event touched (or it names none). An event
// no entry applies to is always armed; otherwise it is armed when an applying entry covers the
// instant. So "archive zone 19:00-07:00" silences motion in the archive by day, and leaves the
// camera's tamper alerts alone. Immutable: thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "events/time_zone.h"

namespace vigil {

class Schedule {
 public:
  Schedule() = default;  // always armed
  Schedule(std::vector<ScheduleEntry> entries, TimeZone zone);

  bool armed(WallTime t, std::string_view type, const std::vector<std::string>& zones) const;
  bool empty() const { return entries_.empty(); }

 private:
  bool covers(const ScheduleEntry& e, WallTime t) const;

  std::vector<ScheduleEntry> entries_;
  TimeZone zone_;
};

}  // namespace vigil
