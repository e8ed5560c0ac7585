// Evidence holds (catalog/holds.h) and retention keeping what they cover
// (retention/held_footage.h): under max_days, max_bytes and min_free_space alike, held segments
// and events stay, the rest goes oldest first, and a disk that only held footage fills is
// reported (held_full) instead of emptied. The walk past held footage reads one batch per held
// range, not one row per held segment.
#include "catalog/holds.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "catalog/catalog.h"
#include "catalog/event_store.h"
#include "core/config.h"
#include "core/error.h"
#include "engine_test.h"
#include "retention/held_footage.h"
#include "retention/retention.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;

TEST(HeldRanges, MergeOverlappingAndTouchingRanges) {
  const auto t = [](int64_t h) { return wall_from_ms(h * 3'600'000); };
  const auto m = merge_held_ranges(
      {{t(5), t(6)}, {t(1), t(3)}, {t(2), t(4)}, {t(4), t(4) + std::chrono::minutes(30)}});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].from, t(1));
  EXPECT_EQ(m[0].to, t(4) + std::chrono::minutes(30));
  EXPECT_EQ(m[1].from, t(5));
  const HeldFootage held({{"a", m}});
  EXPECT_TRUE(held.is_held("a", t(0), t(1) + WallDuration(1)));
  EXPECT_FALSE(held.is_held("a", t(0), t(1)));  // ends where the hold begins
  EXPECT_FALSE(held.is_held("b", t(2), t(3)));
  EXPECT_EQ(held.held_until("a", t(3), t(5)), t(4) + std::chrono::minutes(30));
  EXPECT_FALSE(held.is_held("a", t(6), t(7)));
  EXPECT_TRUE(held.is_held("a", t(5), t(5)));  // an instant inside
}

// The store itself on both catalog engines (engine_test.h).
class HoldStoreOn : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    catalog_ = std::make_unique<Catalog>(location());  // migrates
    holds_ = std::make_unique<HoldStore>(location());
  }
  void segment(const std::string& cam, WallTime start, WallTime end, uint64_t bytes) {
    NewSegment s;
    s.camera_id = cam;
    s.path = cam + "/" + std::to_string(ms_since_epoch(start)) + ".mp4";
    s.wall_start = start;
    s.video_codec = "h264";
    ClosedSegment c;
    c.wall_end = end;
    c.bytes = bytes;
    catalog_->close_segment(catalog_->begin_segment(s), c);
  }
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<HoldStore> holds_;
};
VIGIL_ON_BOTH_ENGINES(HoldStoreOn);

TEST_P(HoldStoreOn, AddListReleaseAndWhatTheHoldsKeep) {
  const auto t = [](int64_t h) { return wall_from_ms(1'790'000'000'000 + h * 3'600'000); };
  Hold h;
  h.name = "case 17";
  h.reason = "insurance claim";
  h.cameras = {"b", "a", "a"};
  h.from = t(1);
  h.to = t(3);
  h.created = t(10);
  h.created_by = "olga";
  const int64_t first = holds_->add(h);
  h.name = "case 18";
  h.cameras = {"a"};
  h.from = t(2);
  h.to = t(4);
  const int64_t second = holds_->add(h);
  EXPECT_GT(second, first);
  const auto got = holds_->get(first);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->cameras, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(got->name, "case 17");
  EXPECT_EQ(got->reason, "insurance claim");
  EXPECT_EQ(got->from, t(1));
  EXPECT_EQ(got->created_by, "olga");
  EXPECT_FALSE(got->released);
  EXPECT_FALSE(holds_->get(second + 1));
  const auto active = holds_->list(false);
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].id, second) << "newest first";
  EXPECT_EQ(holds_->held_cameras(), (std::vector<std::string>{"a", "b"}));
  const auto ranges = holds_->held_ranges("a");
  ASSERT_EQ(ranges.size(), 1u) << "merged";
  EXPECT_EQ(ranges[0].from, t(1));
  EXPECT_EQ(ranges[0].to, t(4));

  segment("a", t(0), t(1), 100);  // ends where the holds begin: not held
  segment("a", t(1), t(2), 200);
  segment("a", t(3), t(4), 400);
  segment("b", t(1), t(2), 800);
  EXPECT_EQ(holds_->held_bytes("a"), 600u);
  EXPECT_EQ(holds_->held_bytes("b"), 800u);
  EXPECT_EQ(holds_->bytes_in_range("a", t(0), t(5)), 700u);

  EXPECT_TRUE(holds_->release(second, t(11), "root"));
  EXPECT_FALSE(holds_->release(second, t(12), "root")) << "once";
  EXPECT_FALSE(holds_->release(second + 1, t(12), "root"));
  EXPECT_EQ(holds_->list(false).size(), 1u);
  const auto all = holds_->list(true);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].released, t(11));
  EXPECT_EQ(all[0].released_by, "root");
  EXPECT_EQ(holds_->held_bytes("a"), 200u) << "what the first hold alone keeps";
}

class FakeDisk final : public DiskSpace {
 public:
  FakeDisk(Catalog& c, uint64_t capacity) : catalog_(c), capacity_(capacity) {}
  uint64_t free_bytes(const std::filesystem::path&) const override {
    const uint64_t used = catalog_.total_bytes();
    return used >= capacity_ ? 0 : capacity_ - used;
  }

 private:
  Catalog& catalog_;
  uint64_t capacity_;
};

class HoldsTest : public ::testing::Test {
 protected:
  HoldsTest()
      : catalog_(dir_.path() / "vigil.db"),
        holds_(dir_.path() / "vigil.db"),
        events_(dir_.path() / "vigil.db"),
        clock_(kNow) {}

  // A closed one-hour segment of `cam` that ended `age` ago, with a real file.
  int64_t add(const std::string& cam, hours age, uint64_t bytes) {
    const WallTime end = kNow - age;
    NewSegment s;
    s.camera_id = cam;
    s.path = "recordings/" + cam + "/" + std::to_string(ms_since_epoch(end)) + ".mp4";
    s.wall_start = end - hours(1);
    s.video_codec = "h264";
    std::filesystem::create_directories((dir_.path() / s.path).parent_path());
    std::ofstream(dir_.path() / s.path) << std::string(16, 'x');
    const int64_t id = catalog_.begin_segment(s);
    ClosedSegment c;
    c.wall_end = end;
    c.bytes = bytes;
    catalog_.close_segment(id, c);
    return id;
  }
  // A hold over [now - from_age, now - to_age).
  int64_t hold(std::vector<std::string> cams, WallDuration from_age, WallDuration to_age) {
    Hold h;
    h.name = "case 17";
    h.reason = "insurance claim";
    h.cameras = std::move(cams);
    h.from = kNow - from_age;
    h.to = kNow - to_age;
    h.created = kNow;
    h.created_by = "olga";
    return holds_.add(h);
  }
  bool exists(int64_t id) {
    auto row = catalog_.segment(id);
    return row && std::filesystem::exists(dir_.path() / row->path);
  }

  static inline const WallTime kNow = wall_from_ms(1'790'000'000'000);
  test::TempDir dir_;
  Catalog catalog_;
  HoldStore holds_;
  EventStore events_;
  test::FakeClock clock_;
};

TEST_F(HoldsTest, AddListRelease) {
  const int64_t id = hold({"b", "a", "a"}, hours(10), hours(8));
  const auto h = holds_.get(id);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->cameras, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(h->name, "case 17");
  EXPECT_EQ(holds_.list(false).size(), 1u);
  EXPECT_EQ(holds_.held_cameras(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(holds_.release(id, kNow, "root"));
  EXPECT_FALSE(holds_.release(id, kNow, "root"));  // once
  EXPECT_TRUE(holds_.list(false).empty());
  const auto all = holds_.list(true);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].released_by, "root");
  EXPECT_TRUE(holds_.held_ranges("a").empty());
  Hold bad;
  bad.name = "x";
  bad.cameras = {"a"};
  bad.from = bad.to = kNow;
  EXPECT_THROW(holds_.add(bad), Error);
}

TEST_F(HoldsTest, HeldBytesCountSegmentsOverlappingTheHolds) {
  add("a", hours(12), 100);
  add("a", hours(9), 200);  // [10 h, 9 h) ago: inside
  add("a", hours(8), 400);  // [9 h, 8 h): overlaps the end
  add("a", hours(2), 800);
  add("b", hours(9), 1600);  // another camera
  hold({"a"}, hours(10), hours(8) + std::chrono::minutes(30));
  hold({"a"}, hours(9) + std::chrono::minutes(30), hours(9));  // inside the first: not twice
  EXPECT_EQ(holds_.held_bytes("a"), 600u);
  EXPECT_EQ(holds_.held_bytes("b"), 0u);
}

TEST_F(HoldsTest, MaxBytesAndMaxDaysDeleteAroundHeldFootage) {
  std::vector<int64_t> ids;
  for (int age = 30; age >= 1; --age) ids.push_back(add("a", hours(24 * age), 100));
  // Holds over days 28..25 and 20..19 ago (the segments ending then).
  hold({"a"}, hours(24 * 28 + 1), hours(24 * 25));
  hold({"a"}, hours(24 * 20 + 1), hours(24 * 19));
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {{"a", RetentionLimits{10, 1000}}}, clock_, disk);
  r.set_holds(holds_);
  r.set_events(events_);
  const RetentionPass p = r.run_once();
  // Held: ages 28, 27, 26, 25 and 20, 19 (6 segments); kept by the limits: the newest, within
  // 10 days and 1000 bytes together with the held ones (400 bytes for the 4 newest).
  for (int age = 30; age >= 1; --age) {
    const int64_t id = ids[static_cast<size_t>(30 - age)];
    const bool held = (age >= 25 && age <= 28) || age == 19 || age == 20;
    if (held || age <= 4) {
      EXPECT_TRUE(exists(id)) << "age " << age;
    } else {
      EXPECT_FALSE(exists(id)) << "age " << age;
    }
  }
  EXPECT_EQ(p.deleted, 30 - 6 - 4);
  EXPECT_EQ(catalog_.usage("a").bytes, 1000u);
  // Released: the next pass deletes what the hold kept.
  for (const Hold& h : holds_.list(false)) holds_.release(h.id, kNow, "root");
  r.run_once();
  EXPECT_EQ(catalog_.usage("a").segments, 4);
}

// A recorded sub stream (catalog id "a.sub") ages out on its own limits, and a hold on the
// camera keeps both of its streams (storage.md, "Streams").
TEST_F(HoldsTest, TheSubStreamHasItsOwnLimitsAndIsHeldWithItsCamera) {
  const std::string sub = sub_stream_id("a");
  std::map<int, std::pair<int64_t, int64_t>> ids;  // age in days -> (main, sub)
  for (int age = 30; age >= 1; --age) {
    ids[age] = {add("a", hours(24 * age), 100), add(sub, hours(24 * age), 10)};
  }
  hold({"a"}, hours(24 * 28 + 1), hours(24 * 25));  // days 28..25 ago
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0,
              {{"a", RetentionLimits{10, std::nullopt}}, {sub, RetentionLimits{20, std::nullopt}}},
              clock_, disk);
  r.set_holds(holds_);
  r.set_events(events_);
  r.run_once();
  for (const auto& [age, id] : ids) {
    if (age == 10 || age == 20) continue;  // on the limit: either way
    const bool held = age >= 25 && age <= 28;
    EXPECT_EQ(exists(id.first), held || age < 10) << "main, age " << age;
    EXPECT_EQ(exists(id.second), held || age < 20) << "sub, age " << age;
  }
  // The sub stream's rows are its own: usage and runs are counted apart.
  EXPECT_EQ(catalog_.usage("a").bytes, 100u * catalog_.usage("a").segments);
  EXPECT_EQ(catalog_.usage(sub).bytes, 10u * catalog_.usage(sub).segments);
}

TEST_F(HoldsTest, HeldEventsOutliveTheirDays) {
  EventRow held_event;
  held_event.camera_id = "a";
  held_event.type = "motion";
  held_event.start = kNow - hours(24 * 20);
  held_event.end = held_event.start + std::chrono::minutes(1);
  held_event.peak_at = held_event.start;
  EventRow other = held_event;
  other.start = kNow - hours(24 * 15);
  other.end = other.start + std::chrono::minutes(1);
  other.peak_at = other.start;
  const int64_t kept = events_.insert(held_event);
  const int64_t gone = events_.insert(other);
  events_.close(kept, held_event.end, "ended");
  events_.close(gone, other.end, "ended");
  hold({"a"}, hours(24 * 20 + 1), hours(24 * 19));
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {{"a", RetentionLimits{7, std::nullopt}}}, clock_, disk);
  r.set_holds(holds_);
  r.set_events(events_);
  r.run_once();
  EXPECT_TRUE(events_.get(kept));
  EXPECT_FALSE(events_.get(gone));
}

TEST_F(HoldsTest, AFullDiskOfHeldFootageIsReportedNotEmptied) {
  const int64_t free_one = add("b", hours(10), 300);
  const int64_t held_a = add("a", hours(9), 300);
  const int64_t held_b = add("b", hours(5), 300);
  hold({"a"}, hours(10), hours(9));
  hold({"b"}, hours(6), hours(5));
  FakeDisk disk(catalog_, 1000);  // 900 used, 100 free
  Retention r(catalog_, dir_.path(), 500, {}, clock_, disk);
  r.set_holds(holds_);
  std::vector<std::string> told;  // what MQTT and webhooks would carry, one line per change
  r.set_on_held_full([&](const std::string& camera, bool full, uint64_t free_bytes) {
    told.push_back(camera + (full ? " full " : " free ") + std::to_string(free_bytes));
  });
  const RetentionPass p = r.run_once(true);
  EXPECT_EQ(p.deleted, 1);
  EXPECT_FALSE(catalog_.segment(free_one));
  EXPECT_TRUE(exists(held_a));
  EXPECT_TRUE(exists(held_b));
  const auto full = r.held_full();
  ASSERT_TRUE(full);
  EXPECT_EQ(full->free_bytes, 400u);
  EXPECT_EQ(full->held_cameras, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(told, (std::vector<std::string>{"a full 400", "b full 400"}));
  // Passes that find the same state tell nothing again (the recorders retry every few seconds).
  r.run_once(true);
  r.run_once();
  EXPECT_EQ(told.size(), 2u);
  // A released hold frees the disk again, and the report goes.
  for (const Hold& h : holds_.list(false)) holds_.release(h.id, kNow, "root");
  r.run_once();
  EXPECT_FALSE(r.held_full());
  EXPECT_EQ(told,
            (std::vector<std::string>{"a full 400", "b full 400", "a free 700", "b free 700"}));
  EXPECT_FALSE(catalog_.segment(held_a));
}

// Full by a failed write (ENOSPC) although min_free_space is met (it is tiny here): the
// recorders open no file while held_full lasts, so after the release no failed write asks for an
// emergency pass; the periodic pass must delete by itself and clear held_full.
TEST_F(HoldsTest, AfterAReleaseAPeriodicPassFreesTheFullDiskByItself) {
  const int64_t older = add("a", hours(9), 300);
  const int64_t newer = add("a", hours(5), 300);
  hold({"a"}, hours(10), hours(1));
  FakeDisk disk(catalog_, 700);  // 600 used, 100 free
  Retention r(catalog_, dir_.path(), 1, {}, clock_, disk);
  r.set_holds(holds_);
  r.run_once(true);  // a recorder's write failed
  ASSERT_TRUE(r.held_full());
  r.run_once();
  EXPECT_TRUE(r.held_full()) << "nothing may be deleted while held";
  EXPECT_TRUE(exists(older));
  for (const Hold& h : holds_.list(false)) holds_.release(h.id, kNow, "root");
  const RetentionPass p = r.run_once();
  EXPECT_EQ(p.deleted, 1);
  EXPECT_FALSE(catalog_.segment(older));
  EXPECT_TRUE(exists(newer));
  EXPECT_FALSE(r.held_full());
}

TEST_F(HoldsTest, StepsOverHeldFootageARangeAtATime) {
  // 1000 held hours, then one unheld: finding it must not read the held rows one by one.
  for (int age = 1100; age >= 101; --age) add("a", hours(age), 10);
  const int64_t old_free = add("a", hours(1200), 10);
  hold({"a"}, hours(1101), hours(100));
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {{"a", RetentionLimits{std::nullopt, 10'000}}}, clock_,
              disk);
  r.set_holds(holds_);
  sql::StatementCost before = catalog_.cost();
  const RetentionPass p = r.run_once();
  const int64_t pass_steps = catalog_.cost().vm_steps - before.vm_steps;
  EXPECT_EQ(p.deleted, 1);
  EXPECT_FALSE(catalog_.segment(old_free));
  // What reading the held rows would have cost, for scale.
  before = catalog_.cost();
  EXPECT_EQ(catalog_.oldest_closed("a", 2000).size(), 1000u);
  const int64_t all_steps = catalog_.cost().vm_steps - before.vm_steps;
  EXPECT_LT(pass_steps * 3, all_steps) << pass_steps << " vs " << all_steps;
}

}  // namespace
}  // namespace vigil
