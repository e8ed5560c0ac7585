// The event store (catalog/event_store.h) on both catalog engines (engine_test.h): an event
// opens, grows and closes; the list filters by camera(s), type, zone and window and pages newest
// first; retention removes ended events but those a hold keeps; a crash's open events are closed
// at the next start. The bounds of these reads on a large archive: catalog_scale_test.cpp.
#include "catalog/event_store.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "engine_test.h"

namespace vigil {
namespace {

using std::chrono::seconds;

const WallTime kT0 = wall_from_ms(1'790'000'000'000);

class EventStoreOn : public test::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    catalog_ = std::make_unique<Catalog>(location());  // migrates
    store_ = std::make_unique<EventStore>(location());
  }
  int64_t add(const std::string& camera, const std::string& type, WallTime start,
              std::vector<std::string> zones, seconds length) {
    EventRow e;
    e.camera_id = camera;
    e.type = type;
    e.start = e.end = e.peak_at = start;
    e.zones = zones;
    e.peak_score = 0.25;
    const int64_t id = store_->insert(e);
    e.id = id;
    e.end = start + length;
    e.peak_score = 0.75;
    e.peak_at = start + length / 2;
    e.box = EventBox{0.1, 0.2, 0.3, 0.4};
    store_->update(e);
    return id;
  }
  static std::vector<int64_t> ids(const std::vector<EventRow>& rows) {
    std::vector<int64_t> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  }

  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<EventStore> store_;
};
VIGIL_ON_BOTH_ENGINES(EventStoreOn);

TEST_P(EventStoreOn, AnEventOpensGrowsAndCloses) {
  const int64_t id = add("front", "motion", kT0, {"door", "gate"}, seconds(4));
  auto e = store_->get(id);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->open);
  EXPECT_EQ(e->camera_id, "front");
  EXPECT_EQ(e->end, kT0 + seconds(4));
  EXPECT_EQ(e->zones, (std::vector<std::string>{"door", "gate"}));
  EXPECT_DOUBLE_EQ(e->peak_score, 0.75);
  EXPECT_EQ(e->peak_at, kT0 + seconds(2));
  ASSERT_TRUE(e->box);
  EXPECT_DOUBLE_EQ(e->box->h, 0.4);
  EXPECT_TRUE(e->armed);
  store_->set_snapshot(id, "snapshots/front/1.jpg");
  store_->close(id, kT0 + seconds(5), "ended");
  e = store_->get(id);
  EXPECT_FALSE(e->open);
  EXPECT_EQ(e->end, kT0 + seconds(5));
  EXPECT_EQ(e->snapshot, "snapshots/front/1.jpg");
  EXPECT_EQ(e->close_reason, "ended");
  // Closed is final: a late growth or a second close changes nothing.
  EventRow late = *e;
  late.end = kT0 + seconds(60);
  store_->update(late);
  store_->close(id, kT0 + seconds(90), "again");
  EXPECT_EQ(store_->get(id)->end, kT0 + seconds(5));
  EXPECT_FALSE(store_->get(id + 100));

  // A crash left one open: closed at the next start at its last known time.
  const int64_t open = add("yard", "tamper_covered", kT0, {}, seconds(30));
  EXPECT_EQ(store_->close_open_events("vigil restarted"), 1);
  e = store_->get(open);
  EXPECT_FALSE(e->open);
  EXPECT_EQ(e->end, kT0 + seconds(30));
  EXPECT_EQ(e->close_reason, "vigil restarted");
  EXPECT_EQ(store_->close_open_events("vigil restarted"), 0);
}

TEST_P(EventStoreOn, FindFiltersAndPagesNewestFirst) {
  const int64_t a = add("front", "motion", kT0, {"door"}, seconds(4));
  const int64_t b = add("yard", "motion", kT0 + seconds(60), {"gate"}, seconds(10));
  const int64_t c = add("yard", "tamper_covered", kT0 + seconds(120), {}, seconds(300));
  const int64_t d = add("back", "motion", kT0 + seconds(120), {}, seconds(1));  // same start as c

  EventFilter all;
  EXPECT_EQ(ids(store_->find(all)), (std::vector<int64_t>{d, c, b, a}));
  EventFilter f;
  f.cameras = std::vector<std::string>{"yard"};
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{c, b}));
  f.cameras = std::vector<std::string>{"front", "back"};
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{d, a}));
  f.cameras = std::vector<std::string>{};
  EXPECT_TRUE(store_->find(f).empty()) << "an empty list is no camera";
  f = {};
  f.type = "motion";
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{d, b, a}));
  f.cameras = std::vector<std::string>{"yard"};
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{b}));
  f = {};
  f.zone = "gate";
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{b}));
  f.zone = "gat";
  EXPECT_TRUE(store_->find(f).empty()) << "a zone is a whole name";
  // [from, to): the long event c (started before from) overlaps; a ended before.
  f = {};
  f.from = kT0 + seconds(200);
  f.to = kT0 + seconds(400);
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{c}));
  f.cameras = std::vector<std::string>{"yard"};
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{c}));
  EXPECT_EQ(ids(store_->between("yard", kT0 + seconds(65), kT0 + seconds(400))),
            (std::vector<int64_t>{b, c}));
  // Pages of two, and a page after an event retention removed meanwhile.
  f = {};
  f.limit = 2;
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{d, c}));
  f.before_id = c;
  EXPECT_EQ(ids(store_->find(f)), (std::vector<int64_t>{b, a}));
  f.before_id = a;
  EXPECT_TRUE(store_->find(f).empty());
}

TEST_P(EventStoreOn, RetentionRemovesEndedEventsButKeepsHeldOnes) {
  const int64_t a = add("yard", "motion", kT0, {}, seconds(4));
  const int64_t b = add("yard", "motion", kT0 + seconds(60), {}, seconds(4));
  const int64_t c = add("yard", "motion", kT0 + seconds(120), {}, seconds(4));
  const int64_t other = add("front", "motion", kT0, {}, seconds(4));
  for (const int64_t id : {a, b, c, other}) store_->close(id, kT0 + seconds(200), "ended");
  store_->set_snapshot(a, "snapshots/yard/a.jpg");
  // All three ended at 200 s; a cutoff after that, with b's start held.
  const auto snapshots = store_->delete_ended_before(
      "yard", kT0 + seconds(300),
      [&](WallTime start, WallTime) { return start == kT0 + seconds(60); });
  EXPECT_EQ(snapshots, (std::vector<std::string>{"snapshots/yard/a.jpg"}));
  EXPECT_FALSE(store_->get(a));
  EXPECT_TRUE(store_->get(b));
  EXPECT_FALSE(store_->get(c));
  EXPECT_TRUE(store_->get(other)) << "another camera's";
}

}  // namespace
}  // namespace vigil
