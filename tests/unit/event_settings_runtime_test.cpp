// [events] changed while vigil runs (EventEngine::set_cameras with a new configuration): new
// candidates use the new hysteresis, the schedules follow a new time zone at once, and an event
// in progress finishes under the values it started with.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>

#include "catalog/catalog.h"
#include "events/event_engine.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
const WallTime kNoonUtc = wall_from_ms(1'795'392'000'000) + hours(12);  // Mon 2026-11-23
constexpr milliseconds kFrame{200};

class Notices final : public EventNotifier {
 public:
  void notify(const EventNotice& n) override {
    std::lock_guard lock(mu);
    all.push_back(n);
  }
  size_t starts() {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count_if(all.begin(), all.end(), [](const EventNotice& n) {
      return n.kind == EventNotice::Kind::kStart;
    }));
  }
  std::mutex mu;
  std::vector<EventNotice> all;
};

AnalysisResult frame(WallTime at, bool motion) {
  AnalysisResult r;
  r.camera_id = "front";
  r.at = at;
  if (motion) {
    Detection d;
    d.type = DetectionType::kMotion;
    d.score = 0.5;
    r.detections.push_back(d);
  }
  return r;
}

class EventSettingsRuntime : public ::testing::Test {
 protected:
  EventSettingsRuntime() : config_(test::two_camera_config(dir_.path())), catalog_(db()), store_(db()) {
    config_.events.min_duration = milliseconds(1000);
    config_.events.merge_gap = milliseconds(1000);
    config_.events.time_zone = "Etc/UTC";
    ScheduleEntry night;  // "front" alerts 19:00-07:00 local time only
    night.from = std::chrono::minutes(19 * 60);
    night.to = std::chrono::minutes(7 * 60);
    for (auto& c : config_.cameras) {
      if (c.id == "front") c.schedule = {night};
    }
  }
  std::filesystem::path db() { return dir_.path() / "vigil.db"; }
  // `frames` of motion from `t`, then quiet past the merge gap; returns the time after.
  WallTime burst(EventEngine& e, WallTime t, int frames) {
    for (int i = 0; i < frames; ++i) e.on_analysis(frame(t + kFrame * i, true));
    for (int i = frames; i < frames + 15; ++i) e.on_analysis(frame(t + kFrame * i, false));
    e.flush();
    return t + kFrame * (frames + 15);
  }

  test::TempDir dir_;
  Config config_;
  Catalog catalog_;
  EventStore store_;
  Notices notices_;
  test::FakeClock clock_{kNoonUtc};
};

TEST_F(EventSettingsRuntime, NewHysteresisForNewEventsAndSchedulesInTheNewZone) {
  EventEngine engine(config_, store_, {&notices_}, clock_);
  // 0.6 s of motion: shorter than the minimum duration (1 s): no event.
  WallTime t = burst(engine, kNoonUtc, 3);
  EXPECT_EQ(engine.stats().events_started, 0u);

  Config next = config_;
  next.events.min_duration = milliseconds(400);
  next.events.time_zone = "Asia/Tokyo";  // 12:00 UTC is 21:00 there: inside 19:00-07:00
  engine.set_cameras(next);
  t = burst(engine, t, 3);
  EXPECT_EQ(engine.stats().events_started, 1u);
  EXPECT_EQ(engine.stats().alerts, 1u);  // armed by the schedule in Tokyo time
  EXPECT_EQ(notices_.starts(), 1u);

  // Back to UTC (noon: not armed) and a long minimum while an event is in progress: it goes on
  // under the values it started with and ends normally; the next short burst makes none.
  for (int i = 0; i < 4; ++i) engine.on_analysis(frame(t + kFrame * i, true));
  engine.flush();
  EXPECT_EQ(engine.stats().events_started, 2u);
  next.events.min_duration = milliseconds(5000);
  next.events.time_zone = "Etc/UTC";
  engine.set_cameras(next);
  t = burst(engine, t + kFrame * 4, 3);
  EXPECT_EQ(engine.stats().events_ended, 2u);
  EXPECT_EQ(engine.stats().alerts, 2u);  // the open event had been armed at its start
  t = burst(engine, t, 10);  // 2 s < 5 s
  EXPECT_EQ(engine.stats().events_started, 2u);
  const auto rows = store_.find({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0].armed);
  EXPECT_TRUE(rows[1].armed);
}

}  // namespace
}  // namespace vigil
