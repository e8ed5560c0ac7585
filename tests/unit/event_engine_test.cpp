// EventEngine end to end without network: synthetic analysis results and a fake clock in, real
// catalog rows, snapshot files and notices out.
#include "events/event_engine.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <latch>

#include "catalog/catalog.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
// Monday 2026-11-23 00:00 UTC.
const WallTime kMonday = wall_from_ms(1'795'392'000'000);
constexpr milliseconds kFrame{200};

class RecordingNotifier final : public EventNotifier {
 public:
  void notify(const EventNotice& n) override {
    if (gate) gate->wait();
    std::lock_guard lock(mu);
    notices.push_back(n);
  }
  std::vector<EventNotice> all() {
    std::lock_guard lock(mu);
    return notices;
  }
  std::latch* gate = nullptr;  // holds the writer thread while set
  std::mutex mu;
  std::vector<EventNotice> notices;
};

AnalysisResult frame(const std::string& camera, WallTime at, std::vector<Detection> dets,
                     std::string jpeg = "") {
  AnalysisResult r;
  r.camera_id = camera;
  r.at = at;
  r.detections = std::move(dets);
  if (!jpeg.empty()) {
    r.snapshot_jpeg = [jpeg] { return std::vector<uint8_t>(jpeg.begin(), jpeg.end()); };
  }
  return r;
}

Detection det(DetectionType type, double score, std::vector<std::string> zones = {}) {
  Detection d;
  d.type = type;
  d.score = score;
  d.zones = std::move(zones);
  d.box = NormBox{0.1f, 0.2f, 0.3f, 0.4f};
  return d;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class EventEngineTest : public ::testing::Test {
 protected:
  EventEngineTest() : config_(test::two_camera_config(dir_.path())), catalog_(db()), store_(db()) {
    config_.events.min_duration = milliseconds(1000);
    config_.events.merge_gap = milliseconds(3000);
    config_.events.time_zone = "";
    // "yard": motion in the archive zone alerts only 19:00-07:00 (UTC: the host here may be in
    // any zone, so the test pins it).
    ScheduleEntry night;
    night.zone = "archive";
    night.from = std::chrono::minutes(19 * 60);
    night.to = std::chrono::minutes(7 * 60);
    for (auto& c : config_.cameras) {
      if (c.id == "yard") c.schedule = {night};
    }
    config_.events.time_zone = "Etc/UTC";
  }
  std::filesystem::path db() { return dir_.path() / "vigil.db"; }

  test::TempDir dir_;
  Config config_;
  Catalog catalog_;
  EventStore store_;
  RecordingNotifier notifier_;
  test::FakeClock clock_{kMonday + hours(12)};
};

TEST_F(EventEngineTest, MotionBecomesOneStoredEventWithSnapshotAndNotices) {
  const WallTime t0 = kMonday + hours(12);
  {
    EventEngine engine(config_, store_, {&notifier_}, clock_);
    // 2 s of motion with a peak at 1.4 s, 1.4 s quiet (within the gap), 1 s more, then quiet.
    for (int i = 0; i < 10; ++i) {
      const double score = i == 7 ? 0.9 : 0.4;
      engine.on_analysis(frame("front", t0 + kFrame * i,
                               {det(DetectionType::kMotion, score, {"door"})},
                               "jpeg-" + std::to_string(i)));
    }
    for (int i = 10; i < 17; ++i) engine.on_analysis(frame("front", t0 + kFrame * i, {}));
    for (int i = 17; i < 22; ++i) {
      engine.on_analysis(
          frame("front", t0 + kFrame * i, {det(DetectionType::kMotion, 0.5, {"gate"})}));
    }
    engine.flush();
    auto open = store_.find({});
    ASSERT_EQ(open.size(), 1u);
    EXPECT_TRUE(open[0].open);
    EXPECT_EQ(open[0].start, t0);
    // The snapshot was taken at the start (frame 5, when min_duration was reached) and is on
    // disk under the name the row gives.
    EXPECT_EQ(open[0].snapshot, "snapshots/front/" + std::to_string(open[0].id) + ".jpg");
    EXPECT_EQ(read_file(dir_.path() / open[0].snapshot), "jpeg-5");
    // Quiet past the merge gap: ended at the last sighting.
    for (int i = 22; i < 40; ++i) engine.on_analysis(frame("front", t0 + kFrame * i, {}));
    engine.flush();
    const auto s = engine.stats();
    EXPECT_EQ(s.results, 40u);
    EXPECT_EQ(s.events_started, 1u);
    EXPECT_EQ(s.events_ended, 1u);
    EXPECT_EQ(s.alerts, 1u);
    EXPECT_EQ(s.dropped, 0u);
  }
  const auto rows = store_.find({});
  ASSERT_EQ(rows.size(), 1u);
  const EventRow& e = rows[0];
  EXPECT_FALSE(e.open);
  EXPECT_EQ(e.close_reason, "ended");
  EXPECT_EQ(e.type, "motion");
  EXPECT_EQ(e.start, t0);
  EXPECT_EQ(e.end, t0 + kFrame * 21);
  EXPECT_DOUBLE_EQ(e.peak_score, 0.9);
  EXPECT_EQ(e.peak_at, t0 + kFrame * 7);
  ASSERT_TRUE(e.box);
  EXPECT_NEAR(e.box->w, 0.3, 1e-6);
  EXPECT_EQ(e.zones, (std::vector<std::string>{"door", "gate"}));
  EXPECT_TRUE(e.armed);
  const auto notices = notifier_.all();
  ASSERT_EQ(notices.size(), 2u);
  EXPECT_EQ(notices[0].kind, EventNotice::Kind::kStart);
  EXPECT_EQ(notices[0].id, e.id);
  EXPECT_TRUE(notices[0].has_snapshot);
  EXPECT_EQ(notices[1].kind, EventNotice::Kind::kEnd);
  EXPECT_EQ(notices[1].end, t0 + kFrame * 21);
  EXPECT_EQ(notices[1].zones, (std::vector<std::string>{"door", "gate"}));
}

TEST_F(EventEngineTest, OutsideArmedTimeIsRecordedButNotAlerted) {
  EventEngine engine(config_, store_, {&notifier_}, clock_);
  const WallTime noon = kMonday + hours(12);
  const WallTime night = kMonday + hours(22);
  for (WallTime t0 : {noon, night}) {
    for (int i = 0; i < 8; ++i) {
      engine.on_analysis(
          frame("yard", t0 + kFrame * i, {det(DetectionType::kMotion, 0.6, {"archive"})}));
    }
    for (int i = 8; i < 30; ++i) engine.on_analysis(frame("yard", t0 + kFrame * i, {}));
  }
  engine.flush();
  const auto rows = store_.find({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[1].armed);  // noon (older: listed second)
  EXPECT_TRUE(rows[0].armed);
  const auto notices = notifier_.all();
  ASSERT_EQ(notices.size(), 2u);  // the night event's start and end only
  EXPECT_EQ(notices[0].id, rows[0].id);
  EXPECT_EQ(engine.stats().alerts, 1u);
}

TEST_F(EventEngineTest, EventsEndWhenResultsStopAndAtShutdown) {
  const WallTime t0 = kMonday + hours(12);  // the fixture's clock starts here
  {
    EventEngine engine(config_, store_, {&notifier_}, clock_);
    for (int i = 0; i < 6; ++i) {
      engine.on_analysis(frame("front", t0 + kFrame * i, {det(DetectionType::kSignalLost, 1)}));
      engine.on_analysis(frame("yard", t0 + kFrame * i, {det(DetectionType::kCovered, 0.7)}));
    }
    // "front" sends nothing more; "yard" goes on. The clock passes front's gap: expire() (here,
    // and every 250 ms on the writer thread) ends it.
    const WallTime yard_last = t0 + kFrame * 5 + milliseconds(2000);
    engine.on_analysis(frame("yard", yard_last, {det(DetectionType::kCovered, 0.7)}));
    clock_.advance(kFrame * 5 + milliseconds(3001));
    engine.expire();
    engine.flush();
    auto rows = store_.find({});
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& r : rows) {
      if (r.camera_id == "front") {
        EXPECT_FALSE(r.open);
        EXPECT_EQ(r.type, "signal_lost");
        EXPECT_EQ(r.end, t0 + kFrame * 5);
      } else {
        EXPECT_TRUE(r.open);
        EXPECT_EQ(r.type, "tamper_covered");
      }
    }
  }
  // The engine stopped with "yard" covered: closed at its last sighting.
  for (const auto& r : store_.find({})) {
    EXPECT_FALSE(r.open);
    if (r.camera_id == "yard") {
      EXPECT_EQ(r.close_reason, "vigil stopped");
      EXPECT_EQ(r.end, t0 + kFrame * 5 + milliseconds(2000));
    }
  }
}

TEST_F(EventEngineTest, AnEventOpenAtACrashIsClosedAtItsLastKnownTime) {
  EventRow open;
  open.camera_id = "front";
  open.type = "motion";
  open.start = kMonday;
  open.end = kMonday + std::chrono::seconds(42);
  open.peak_at = kMonday;
  open.peak_score = 0.5;
  const int64_t id = store_.insert(open);
  EventEngine engine(config_, store_, {}, clock_);
  auto row = store_.get(id);
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->open);
  EXPECT_EQ(row->end, kMonday + std::chrono::seconds(42));
  EXPECT_EQ(row->close_reason, "vigil stopped");
}

TEST_F(EventEngineTest, AFullQueueDropsAndCountsWithoutBlockingAnalysis) {
  config_.events.queue_limit = 2;
  config_.events.min_duration = milliseconds(0);
  std::latch gate(1);
  notifier_.gate = &gate;  // the writer blocks in the first notification
  const WallTime t0 = kMonday + hours(12);
  EventEngine engine(config_, store_, {&notifier_}, clock_);
  // The first start reaches the writer, which then blocks notifying; four more cameras' worth of
  // starts arrive: two fit the queue, the rest are dropped. on_analysis returns every time.
  engine.on_analysis(frame("front", t0, {det(DetectionType::kMotion, 0.5)}));
  while (engine.stats().queued != 0) std::this_thread::yield();
  for (DetectionType t : {DetectionType::kCovered, DetectionType::kDefocused, DetectionType::kMoved,
                          DetectionType::kSignalLost}) {
    engine.on_analysis(
        frame("front", t0 + kFrame, {det(DetectionType::kMotion, 0.5), det(t, 0.5)}));
  }
  auto s = engine.stats();
  EXPECT_EQ(s.events_started, 5u);
  EXPECT_EQ(s.queued, 2u);
  EXPECT_EQ(s.dropped, 2u);
  gate.count_down();
  engine.flush();
  EXPECT_EQ(store_.find({}).size(), 3u);
}

}  // namespace
}  // namespace vigil
