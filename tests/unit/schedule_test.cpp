// Armed schedules in local time: past midnight, weekends, zones and types, and a real zone's DST.
#include "events/schedule.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "events/time_zone.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// 2026-11-23 is a Monday. UTC midnight of that day:
const WallTime kMonday = wall_from_ms(1'795'392'000'000);

ScheduleEntry entry(uint8_t days, int from_h, int to_h, std::string zone = "",
                    std::vector<std::string> types = {}) {
  ScheduleEntry e;
  e.days = days;
  e.from = minutes(from_h * 60);
  e.to = minutes(to_h * 60);
  e.zone = std::move(zone);
  e.types = std::move(types);
  return e;
}

TEST(TimeZone, KnowsMondayAndReadsARealZoneWithSummerTime) {
  const TimeZone berlin("Europe/Berlin");
  // November: CET, UTC+1. July: CEST, UTC+2.
  EXPECT_EQ(berlin.offset_at(kMonday), std::chrono::seconds(3600));
  EXPECT_EQ(berlin.offset_at(wall_from_ms(1'783'000'000'000)), std::chrono::seconds(7200));
  EXPECT_THROW(TimeZone("No/Such_Zone"), Error);
}

TEST(Schedule, AfterHoursPastMidnightAndWeekends) {
  // Weekdays 19:00-07:00 (the night after each weekday) and all weekend, in UTC+1.
  const Schedule s({entry(0x1f, 19, 7), entry(0x60, 0, 24)}, TimeZone::fixed(hours(1)));
  auto at_local = [&](int day, int hour, int minute = 0) {
    return kMonday + hours(24 * day) + hours(hour) + minutes(minute) - hours(1);
  };
  EXPECT_FALSE(s.armed(at_local(0, 12), "motion", {}));  // Monday noon
  EXPECT_FALSE(s.armed(at_local(0, 18, 59), "motion", {}));
  EXPECT_TRUE(s.armed(at_local(0, 19), "motion", {}));     // Monday 19:00
  EXPECT_TRUE(s.armed(at_local(1, 6, 59), "motion", {}));  // Tuesday early: Monday's night
  EXPECT_FALSE(s.armed(at_local(1, 7), "motion", {}));
  EXPECT_TRUE(s.armed(at_local(5, 12), "motion", {}));      // Saturday noon
  EXPECT_TRUE(s.armed(at_local(6, 23, 59), "motion", {}));  // Sunday night
  EXPECT_TRUE(s.armed(at_local(5, 3), "motion", {}));       // Friday's night into Saturday
  EXPECT_FALSE(s.armed(at_local(7, 8), "motion", {}));      // next Monday morning
  // Monday 00:30 local is still Sunday night by UTC+1 only if the zone is applied: in UTC it is
  // Sunday 23:30, so a zone-less reading would wrongly arm it.
  const Schedule weekend_only({entry(0x60, 0, 24)}, TimeZone::fixed(hours(1)));
  EXPECT_FALSE(weekend_only.armed(at_local(7, 0, 30), "motion", {}));
}

TEST(Schedule, EntriesApplyToTheirZoneAndTypesOnly) {
  // The archive zone is armed at night only; nothing else on the camera is scheduled.
  const Schedule s({entry(0x7f, 19, 7, "archive")}, TimeZone::fixed(hours(0)));
  const WallTime noon = kMonday + hours(12);
  const WallTime night = kMonday + hours(22);
  EXPECT_FALSE(s.armed(noon, "motion", {"archive"}));
  EXPECT_TRUE(s.armed(night, "motion", {"archive"}));
  EXPECT_TRUE(s.armed(noon, "motion", {"door"}));  // no entry names it: always armed
  EXPECT_TRUE(s.armed(noon, "tamper_covered", {}));
  const Schedule motion_only({entry(0x7f, 19, 7, "", {"motion"})}, TimeZone::fixed(hours(0)));
  EXPECT_FALSE(motion_only.armed(noon, "motion", {}));
  EXPECT_TRUE(motion_only.armed(noon, "signal_lost", {}));
  EXPECT_TRUE(Schedule().armed(noon, "motion", {}));
}

}  // namespace
}  // namespace vigil
