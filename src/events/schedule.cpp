#include "events/schedule.h"

#include <algorithm>

namespace vigil {

Schedule::Schedule(std::vector<ScheduleEntry> entries, TimeZone zone)
    : entries_(std::move(entries)), zone_(std::move(zone)) {}

bool Schedule::armed(WallTime t, std::string_view type,
                     const std::vector<std::string>& zones) const {
  bool any_applies = false;
  for (const auto& e : entries_) {
    const bool type_ok =
        e.types.empty() || std::find(e.types.begin(), e.types.end(), type) != e.types.end();
    const bool zone_ok =
        e.zone.empty() || std::find(zones.begin(), zones.end(), e.zone) != zones.end();
    if (!type_ok || !zone_ok) continue;
    any_applies = true;
    if (covers(e, t)) return true;
  }
  return !any_applies;
}

bool Schedule::covers(const ScheduleEntry& e, WallTime t) const {
  using std::chrono::floor;
  using std::chrono::minutes;
  const auto local = t + zone_.offset_at(t);
  const auto day = floor<std::chrono::days>(local);
  const int minute = static_cast<int>(floor<minutes>(local - day).count());
  // 1970-01-01 was a Thursday: index 3 when Monday is 0.
  const int64_t days = day.time_since_epoch().count();
  const int weekday = static_cast<int>(((days + 3) % 7 + 7) % 7);
  const int yesterday = (weekday + 6) % 7;
  auto on = [&](int wd) { return (e.days >> wd) & 1u; };
  const int from = static_cast<int>(e.from.count());
  const int to = static_cast<int>(e.to.count());
  if (from < to) return on(weekday) && minute >= from && minute < to;
  // Past midnight: the evening of its own day, and the early hours of the next.
  return (on(weekday) && minute >= from) || (on(yesterday) && minute < to);
}

}  // namespace vigil
