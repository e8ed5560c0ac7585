// Recording mode "events": which segments retention removes (outside every event with its
// pre/post roll, and old enough), as a pure function and through a retention pass on real
// catalog rows and files.
#include "retention/event_footage.h"

#include <gtest/gtest.h>

#include <fstream>

#include "retention/retention.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

SegmentSpan span(int64_t id, int from_min, int to_min) {
  return {id, SegmentState::kClosed, kT0 + minutes(from_min), kT0 + minutes(to_min)};
}

EventRow event(WallTime start, WallTime end) {
  EventRow e;
  e.camera_id = "front";
  e.type = "motion";
  e.start = start;
  e.end = end;
  return e;
}

TEST(EventFootage, KeepsSegmentsThatAnEventWithItsRollsOverlaps) {
  // Two-minute segments 0..20 min; an event 5:00-5:30 (pre 1 min, post 1 min: 4:00-6:30) and one
  // 14:30-14:40 whose pre-roll reaches back into the segment 12-14.
  std::vector<SegmentSpan> spans;
  for (int i = 0; i < 10; ++i) spans.push_back(span(i, 2 * i, 2 * i + 2));
  const std::vector<EventRow> events = {
      event(kT0 + minutes(5), kT0 + minutes(5) + seconds(30)),
      event(kT0 + minutes(14) + seconds(30), kT0 + minutes(14) + seconds(40))};
  EventFootagePolicy p;
  p.pre_roll = minutes(1);
  p.post_roll = minutes(1);
  const auto gone = segments_outside_events(spans, events, p, kT0 + minutes(18));
  // Kept: 4-6, 6-8 (post-roll to 6:30), 12-14 (pre-roll from 13:30), 14-16; 2-4 ends exactly
  // where the first range begins, so it goes. 16-18 ends at the cutoff: eligible. 18-20 ends
  // after the cutoff: kept for now.
  EXPECT_EQ(gone, (std::vector<int64_t>{0, 1, 4, 5, 8}));
  // Nothing is deleted while it may still be claimed, nor the file being written.
  std::vector<SegmentSpan> writing = {{42, SegmentState::kWriting, kT0, kT0}};
  EXPECT_TRUE(segments_outside_events(writing, {}, p, kT0 + minutes(60)).empty());
  EXPECT_EQ(event_footage_hold_back(seconds(5), seconds(5), seconds(5), seconds(1)), seconds(76));
}

TEST(EventFootage, ARetentionPassDeletesOnlyFootageOutsideEventsOfEventsOnlyCameras) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  EventStore events(dir.path() / "vigil.db");
  test::FakeClock clock(kT0 + std::chrono::hours(1));
  std::map<std::string, int64_t> ids;
  for (const char* camera : {"front", "yard"}) {
    const std::string cam = camera;
    for (int i = 0; i < 5; ++i) {
      NewSegment s{cam,
                   "recordings/" + cam + "/" + std::to_string(i) + ".mp4",
                   kT0 + minutes(2 * i),
                   "h264",
                   640,
                   480,
                   false};
      std::filesystem::create_directories((dir.path() / s.path).parent_path());
      std::ofstream(dir.path() / s.path) << "x";
      ClosedSegment c;
      c.wall_end = kT0 + minutes(2 * i + 2);
      c.bytes = 1;
      ids[cam + std::to_string(i)] = catalog.insert_closed_segment(s, c);
    }
  }
  EventRow e = event(kT0 + minutes(4) + seconds(30), kT0 + minutes(4) + seconds(50));
  const int64_t id = events.insert(e);
  events.close(id, e.end, "ended");

  class BigDisk final : public DiskSpace {
    uint64_t free_bytes(const std::filesystem::path&) const override { return 1ull << 40; }
  } disk;
  Retention r(catalog, dir.path(), 0, {{"front", {}}, {"yard", {}}}, clock, disk);
  EventFootagePolicy p;  // 5 s rolls, 2 min hold-back
  r.set_events(events, {{"front", p}});
  const RetentionPass pass = r.run_once();
  EXPECT_EQ(pass.deleted, 4);
  for (int i = 0; i < 5; ++i) {
    const bool kept = catalog.segment(ids["front" + std::to_string(i)]).has_value();
    EXPECT_EQ(kept, i == 2) << "front segment " << i;
    EXPECT_EQ(
        std::filesystem::exists(dir.path() / "recordings/front" / (std::to_string(i) + ".mp4")),
        i == 2);
    EXPECT_TRUE(catalog.segment(ids["yard" + std::to_string(i)]));  // continuous: untouched
  }
}

TEST(EventFootage, EventsAndTheirSnapshotsGoWithTheCamerasMaxDays) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  EventStore events(dir.path() / "vigil.db");
  const WallTime now = kT0 + std::chrono::days(10);
  test::FakeClock clock(now);
  auto add = [&](const std::string& cam, WallTime start, bool open) {
    const int64_t id = events.insert(event(start, start + seconds(10)));
    const std::string rel = "snapshots/" + cam + "/" + std::to_string(id) + ".jpg";
    std::filesystem::create_directories((dir.path() / rel).parent_path());
    std::ofstream(dir.path() / rel) << "jpeg";
    events.set_snapshot(id, rel);
    if (!open) events.close(id, start + seconds(10), "ended");
    return std::pair{id, dir.path() / rel};
  };
  const auto old_closed = add("front", kT0, false);
  const auto old_open = add("front", kT0 + seconds(30), true);  // still open: never removed
  const auto young = add("front", now - std::chrono::days(1), false);
  class BigDisk final : public DiskSpace {
    uint64_t free_bytes(const std::filesystem::path&) const override { return 1ull << 40; }
  } disk;
  Retention r(catalog, dir.path(), 0, {{"front", RetentionLimits{7, std::nullopt}}}, clock, disk);
  r.set_events(events);
  r.run_once();
  EXPECT_FALSE(events.get(old_closed.first));
  EXPECT_FALSE(std::filesystem::exists(old_closed.second));
  EXPECT_TRUE(events.get(old_open.first));
  EXPECT_TRUE(std::filesystem::exists(old_open.second));
  EXPECT_TRUE(events.get(young.first));
  EXPECT_TRUE(std::filesystem::exists(young.second));
}

TEST(EventFootage, APassJudgesOnlyWhatEndedSinceTheLastOneAndNothingItSkipped) {
  test::TempDir dir;
  Catalog catalog(dir.path() / "vigil.db");
  EventStore events(dir.path() / "vigil.db");
  test::FakeClock clock(kT0 + minutes(10));
  auto add = [&](int from_min) {
    NewSegment s{"front", "recordings/front/" + std::to_string(from_min) + ".mp4",
                 kT0 + minutes(from_min), "h264", 640, 480, false};
    std::filesystem::create_directories((dir.path() / s.path).parent_path());
    std::ofstream(dir.path() / s.path) << "x";
    return catalog.begin_segment(s);
  };
  auto close = [&](int64_t id, int to_min) {
    ClosedSegment c;
    c.wall_end = kT0 + minutes(to_min);
    c.bytes = 1;
    catalog.close_segment(id, c);
  };
  const int64_t kept = add(0);
  close(kept, 2);
  const int64_t outside = add(2);
  close(outside, 4);
  const int64_t open = add(4);  // still being written at the first pass
  EventRow e = event(kT0 + minutes(1), kT0 + minutes(1) + seconds(10));
  events.close(events.insert(e), e.end, "ended");
  class BigDisk final : public DiskSpace {
    uint64_t free_bytes(const std::filesystem::path&) const override { return 1ull << 40; }
  } disk;
  Retention r(catalog, dir.path(), 0, {{"front", {}}}, clock, disk);
  r.set_events(events, {{"front", EventFootagePolicy{}}});  // 2 min hold-back: cutoff 8 min
  EXPECT_EQ(r.run_once().deleted, 1);
  EXPECT_FALSE(catalog.segment(outside));
  EXPECT_EQ(catalog.events_judged_until("front"), kT0 + minutes(8));
  // The open one closes; it began before the cutoff but ends after it: the next pass judges it.
  close(open, 9);
  clock.advance(minutes(5));
  EXPECT_EQ(r.run_once().deleted, 1);
  EXPECT_FALSE(catalog.segment(open));
  EXPECT_TRUE(catalog.segment(kept));  // judged once, kept for its event
  EXPECT_EQ(catalog.events_judged_until("front"), kT0 + minutes(13));
}

}  // namespace
}  // namespace vigil
