// Row-count regression tests: what a status, a metrics scrape, the storage settings, a timeline
// or a retention pass reads from the catalog must not grow with the archive (issue 22: a
// year-old catalog made every status read O(rows)). Nothing here is timed: SQLite counts the
// virtual machine steps and full-scan steps of every statement (sqlite3_stmt_status), and a
// query that reads O(rows) of a 100,000-row catalog costs hundreds of thousands of steps where
// an index lookup costs tens.
#include <gtest/gtest.h>

#include "app/recorder_service.h"
#include "catalog/accounts.h"
#include "catalog/catalog.h"
#include "catalog/sqlite.h"
#include "catalog/event_store.h"
#include "core/supervision.h"
#include "record/recovery.h"
#include "retention/retention.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr int kSegments = 100'000;  // 25,000 one-minute segments for each of 4 cameras
constexpr int kEvents = 20'000;
constexpr int kAudit = 100'000;  // one every 15 s
constexpr int64_t kT0 = 1'760'000'000'000;  // the first segment's start
// The end of the newest segment.
const WallTime kEnd = wall_from_ms(kT0 + int64_t{kSegments / 4} * 60'000);

// Steps SQLite may take for a bounded read: a few index descents and a handful of rows. A query
// over one camera's 25,000 rows takes more than 100,000.
constexpr int64_t kBoundedSteps = 1'000;
// For reads that return rows (a timeline window): per row returned (an event row has 16
// columns to hand over), plus the bounded part.
constexpr int64_t kStepsPerRow = 60;

// Fills the catalog file in one transaction through SQL, as an old archive would have been
// filled one row at a time; migration 4's triggers keep the usage as they go.
void fill(const std::filesystem::path& db) {
  sql::SqliteConnection c(db.string());
  c.exec("BEGIN");
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
      "INSERT INTO segment (camera_id, state, path, wall_start_ms, wall_end_ms, "
      "media_duration_90k, bytes, init_bytes, fragment_index, sha256, video_codec, width, "
      "height, has_audio, close_reason) "
      "SELECT 'cam' || (i % 4), 'closed', 'recordings/' || i || '.mp4', "
      "1760000000000 + (i / 4) * 60000, 1760000000000 + (i / 4) * 60000 + "
      "CASE WHEN (i / 4) % 1440 = 1439 THEN 30000 ELSE 60000 END, 5400000, "
      "30000000, 1000, randomblob(150), randomblob(32), 'h264', 1920, 1080, 0, 'duration' "
      "FROM n");
  // An event every 5 minutes of each camera, 20 s long, one in 50 a covered lens; a gap every
  // day, where the day's last file ended 30 s early (so a day is a run).
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999) "
      "INSERT INTO event (camera_id, type, state, start_ms, end_ms, zones, peak_score, peak_ms, "
      "armed, snapshot, close_reason) "
      "SELECT 'cam' || (i % 4), CASE WHEN i % 50 = 7 THEN 'tamper_covered' ELSE 'motion' END, "
      "'closed', 1760000000000 + (i / 4) * 300000, "
      "1760000000000 + (i / 4) * 300000 + 20000, '', 0.5, 1760000000000 + (i / 4) * 300000, 1, "
      "'snapshots/' || i || '.jpg', 'ended' FROM n");
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 67) "
      "INSERT INTO gap (camera_id, wall_start_ms, wall_end_ms, reason) "
      "SELECT 'cam' || (i % 4), 1760000000000 + (i / 4 + 1) * 86400000 - 30000, "
      "1760000000000 + (i / 4 + 1) * 86400000, 'camera unreachable' FROM n");
  // An audit entry every 15 s: ten users viewing and exporting, a user added every 1000th.
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
      "INSERT INTO audit (at_ms, user_name, address, action, camera_id, detail) "
      "SELECT 1760000000000 + i * 15000, 'user' || (i % 10), '127.0.0.1', "
      "CASE WHEN i % 1000 = 3 THEN 'user_add' WHEN i % 3 = 0 THEN 'export' ELSE 'view' END, "
      "'cam' || (i % 4), '' FROM n");
  c.exec("COMMIT");
}

// The hash chain of the same archive (docs/design/integrity.md): an entry per segment (a real
// recorder has one per fragment, ~30 per 2-minute file: more rows of the same shape) and a
// signed checkpoint every 10 entries, the newest 1,000 without an RFC 3161 token yet.
void fill_chain(const std::filesystem::path& db) {
  sql::SqliteConnection c(db.string());
  c.exec("BEGIN");
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 99999) "
      "INSERT INTO chain_entry (camera_id, sequence, kind, segment_id, fragment_position, "
      "wall_start_ms, duration_90k, init_hash, fragment_hash, note, link) "
      "SELECT 'cam' || (i % 4), i / 4, 1, i + 1, 0, 1760000000000 + (i / 4) * 60000, 5400000, "
      "randomblob(32), randomblob(32), '', randomblob(32) FROM n");
  c.exec(
      "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) "
      "INSERT INTO checkpoint (camera_id, sequence, head, wall_time_ms, audit_head, "
      "key_fingerprint, signature, tsa_token) "
      "SELECT 'cam' || (i % 4), (i / 4) * 10 + 9, randomblob(32), "
      "1760000000000 + ((i / 4) * 10 + 10) * 60000, randomblob(32), 'fp', randomblob(64), "
      "CASE WHEN i < 9000 THEN randomblob(100) END FROM n");
  c.exec("COMMIT");
}

sql::StatementCost minus(const sql::StatementCost& a, const sql::StatementCost& b) {
  return {a.vm_steps - b.vm_steps, a.fullscan_steps - b.fullscan_steps, a.sorts - b.sorts};
}

// The cost of a list's page of at most `rows` rows, on a filter whose index leaves the other
// filters `passed_over` rows to look at per row returned: no sort, no walk of the table.
void expect_a_page(const std::string& name, size_t rows, int64_t passed_over,
                   const sql::StatementCost& cost) {
  const int64_t looked_at = passed_over * static_cast<int64_t>(rows);
  EXPECT_LT(cost.vm_steps, kStepsPerRow * looked_at + kBoundedSteps) << name;
  // A page read on an index without a range counts as a full scan, stopped by the limit (and
  // event_longest's few rows are one).
  EXPECT_LT(cost.fullscan_steps, looked_at + 10) << name;
  EXPECT_EQ(cost.sorts, 0) << name;
}

class CatalogScale : public ::testing::Test {
 protected:
  CatalogScale() {
    { Catalog migrate(dir_.path() / "vigil.db"); }
    fill(dir_.path() / "vigil.db");
  }

  // The cost of `f` on the catalog's connections.
  template <typename F>
  sql::StatementCost cost_of(Catalog& c, F&& f) {
    const sql::StatementCost before = c.cost();
    f();
    return minus(c.cost(), before);
  }

  test::TempDir dir_;
};

TEST_F(CatalogScale, TheFixtureIsWhatTheBoundsAssume) {
  Catalog c(dir_.path() / "vigil.db");
  EXPECT_EQ(c.usage("cam0").segments, kSegments / 4);
  EXPECT_EQ(c.total_bytes(), uint64_t{kSegments} * 30'000'000);
  // The same question asked of every row costs what the bounds are there to catch.
  const auto scan = cost_of(c, [&] { EXPECT_TRUE(c.check_usage(false).empty()); });
  EXPECT_GT(scan.vm_steps, 100 * kBoundedSteps);
}

TEST_F(CatalogScale, UsageAndTheOtherStatusReadsAreBounded) {
  Catalog c(dir_.path() / "vigil.db");
  const auto usage = cost_of(c, [&] {
    const CameraUsage u = c.usage("cam2");
    EXPECT_EQ(u.segments, kSegments / 4);
    EXPECT_EQ(u.bytes, uint64_t{kSegments / 4} * 30'000'000);
    EXPECT_EQ(u.oldest_start, wall_from_ms(kT0));
    EXPECT_EQ(u.newest_end, kEnd);
  });
  EXPECT_LT(usage.vm_steps, kBoundedSteps);
  EXPECT_EQ(usage.fullscan_steps, 0);

  const auto others = cost_of(c, [&] {
    EXPECT_EQ(c.total_bytes(), uint64_t{kSegments} * 30'000'000);
    EXPECT_EQ(c.last_wall_end("cam3"), kEnd);
    EXPECT_EQ(c.cameras_with_segments(), (std::vector<std::string>{"cam0", "cam1", "cam2", "cam3"}));
    EXPECT_EQ(c.oldest_closed("cam1", 1).size(), 1u);
    EXPECT_EQ(c.oldest_closed_any(1).front().wall_start, wall_from_ms(kT0));
    EXPECT_FALSE(c.usage("nobody").oldest_start);
  });
  EXPECT_LT(others.vm_steps, kBoundedSteps);
  EXPECT_LT(others.fullscan_steps, 10);  // camera_usage's 4 rows, summed
}

TEST_F(CatalogScale, StartUpRecoveryReadsOnlyTheRowsLeftOpen) {
  Catalog c(dir_.path() / "vigil.db");
  NewSegment s;
  s.camera_id = "cam0";
  s.path = "recordings/cam0/left-open.mp4";  // no file: recovery removes the row
  s.wall_start = kEnd;
  s.video_codec = "h264";
  c.begin_segment(s);
  const auto cost = cost_of(c, [&] {
    const RecoveryReport r = recover_catalog(c, dir_.path());
    EXPECT_EQ(r.removed_rows, 1);
  });
  EXPECT_LT(cost.vm_steps, kBoundedSteps);
  EXPECT_EQ(cost.fullscan_steps, 0);
  EXPECT_EQ(c.usage("cam0").segments, kSegments / 4);
}

TEST_F(CatalogScale, TimelineReadsCostWhatTheyReturn) {
  Catalog c(dir_.path() / "vigil.db");
  EventStore events(dir_.path() / "vigil.db");
  // The last day of cam0, and a day in the middle.
  for (const WallTime day_end : {kEnd, kEnd - hours(24 * 8)}) {
    const WallTime from = day_end - hours(24);
    size_t rows = 0;
    const auto cost = cost_of(c, [&] {
      rows += c.spans_between("cam0", from, day_end).size();
      rows += c.gaps_between("cam0", from, day_end).size();
    });
    EXPECT_GE(rows, 1440u);
    EXPECT_LT(cost.vm_steps, kStepsPerRow * static_cast<int64_t>(rows) + kBoundedSteps);

    EventFilter f;
    f.cameras = std::vector<std::string>{"cam0"};
    f.from = from;
    f.to = day_end;
    f.limit = 1000;
    const auto before = events.cost();
    const auto found = events.find(f);
    const auto found_cost = minus(events.cost(), before);
    EXPECT_EQ(found.size(), 288u);  // every 5 minutes
    EXPECT_LT(found_cost.vm_steps,
              kStepsPerRow * static_cast<int64_t>(found.size()) + kBoundedSteps);
    EXPECT_EQ(found_cost.fullscan_steps, 0);
  }
  // The events list without filters: the newest page.
  const auto before = events.cost();
  EXPECT_EQ(events.find(EventFilter{}).size(), 100u);
  EXPECT_LT(minus(events.cost(), before).vm_steps, kStepsPerRow * 100 + kBoundedSteps);
}

TEST_F(CatalogScale, TheTimelineOfAMonthCostsItsRunsAndGaps) {
  Catalog c(dir_.path() / "vigil.db");
  EventStore events(dir_.path() / "vigil.db");
  // The whole archive of cam0 (17 days, 25,000 files) and a week in its middle.
  for (const auto& [from, to, runs_expected] :
       {std::tuple{kEnd - hours(24 * 30), kEnd, size_t{18}},
        std::tuple{kEnd - hours(24 * 12), kEnd - hours(24 * 5), size_t{8}}}) {
    std::vector<SegmentRun> runs;
    std::vector<GapRow> gaps;
    const auto cost = cost_of(c, [&] {
      runs = c.runs_between("cam0", from, to);
      gaps = c.gaps_between("cam0", from, to);
    });
    EXPECT_EQ(runs.size(), runs_expected);
    EXPECT_GE(gaps.size(), runs_expected - 1);
    int64_t files = 0;
    for (const auto& r : runs) files += r.segments;
    EXPECT_GT(files, 1400 * static_cast<int64_t>(runs.size()) - 2000);  // ~1440 a run
    EXPECT_LT(cost.vm_steps,
              kStepsPerRow * static_cast<int64_t>(runs.size() + gaps.size()) + kBoundedSteps);
    EXPECT_EQ(cost.fullscan_steps, 0);
    EXPECT_EQ(cost.sorts, 0);

    // Its events: the newest 1000 of the window (the timeline's limit), not all of them.
    EventFilter f;
    f.cameras = std::vector<std::string>{"cam0"};
    f.from = from;
    f.to = to;
    f.limit = 1000;
    const auto before = events.cost();
    const auto found = events.find(f);
    const auto found_cost = minus(events.cost(), before);
    EXPECT_EQ(found.size(), 1000u);
    EXPECT_LT(found.front().id, found.back().id + 4 * 1000);  // the newest, in a row
    EXPECT_LT(found_cost.vm_steps, kStepsPerRow * 1000 + kBoundedSteps);
    EXPECT_EQ(found_cost.fullscan_steps, 0);
    EXPECT_EQ(found_cost.sorts, 0);
  }
}

TEST_F(CatalogScale, FilteredEventListsReadAPage) {
  EventStore events(dir_.path() / "vigil.db");
  const WallTime week_ago = kEnd - hours(24 * 7);
  struct Case {
    std::string name;
    EventFilter filter;
    size_t rows;
    int64_t passed_over;  // rows the other filters may skip per row returned
  };
  std::vector<Case> cases;
  const auto add = [&](std::string name, size_t rows, int64_t passed_over, auto&& set) {
    EventFilter f;
    set(f);
    cases.push_back({std::move(name), f, rows, passed_over});
  };
  add("none", 100, 1, [](EventFilter&) {});
  add("camera", 100, 1, [](EventFilter& f) { f.cameras = std::vector<std::string>{"cam1"}; });
  add("type", 100, 1, [](EventFilter& f) { f.type = "tamper_covered"; });
  add("camera and type", 100, 4, [](EventFilter& f) {
    f.cameras = std::vector<std::string>{"cam3"};
    f.type = "tamper_covered";
  });
  add("two cameras", 100, 2,
      [](EventFilter& f) { f.cameras = std::vector<std::string>{"cam0", "cam2"}; });
  add("a window a week ago", 100, 1, [&](EventFilter& f) {
    f.from = week_ago - hours(24);
    f.to = week_ago;
  });
  add("a camera and type a week ago", 24, 4, [&](EventFilter& f) {
    f.cameras = std::vector<std::string>{"cam0"};
    f.type = "motion";
    f.from = week_ago - hours(2);
    f.to = week_ago;
  });
  for (const auto& c : cases) {
    const auto before = events.cost();
    const auto found = events.find(c.filter);
    EXPECT_EQ(found.size(), c.rows) << c.name;
    expect_a_page(c.name, c.rows, c.passed_over, minus(events.cost(), before));
    for (size_t i = 1; i < found.size(); ++i) {  // newest first
      EXPECT_GE(found[i - 1].start, found[i].start) << c.name;
    }
    if (found.empty()) continue;
    // The next page starts where this one ended, at the same cost.
    EventFilter next = c.filter;
    next.before_id = found.back().id;
    const auto before_next = events.cost();
    const auto page = events.find(next);
    expect_a_page(c.name + ", next page", c.rows, c.passed_over,
                  minus(events.cost(), before_next));
    if (!page.empty()) {
      EXPECT_LE(page.front().start, found.back().start) << c.name;
      EXPECT_NE(page.front().id, found.back().id) << c.name;
    }
  }
}

TEST_F(CatalogScale, FilteredAuditListsReadAPage) {
  Catalog migrated(dir_.path() / "vigil.db");
  AccountStore accounts(dir_.path() / "vigil.db");
  const WallTime t0 = wall_from_ms(kT0);
  struct Case {
    std::string name;
    AuditFilter filter;
    size_t rows;
    int64_t passed_over;
  };
  std::vector<Case> cases;
  const auto add = [&](std::string name, size_t rows, int64_t passed_over, auto&& set) {
    AuditFilter f;
    set(f);
    cases.push_back({std::move(name), f, rows, passed_over});
  };
  add("none", 100, 1, [](AuditFilter&) {});
  add("user", 100, 1, [](AuditFilter& f) { f.user_name = "user7"; });
  add("a rare action", 100, 1, [](AuditFilter& f) { f.action = "user_add"; });
  add("camera", 100, 1, [](AuditFilter& f) { f.camera_id = "cam2"; });
  // Two filters: read on one's index, the other passes over what it does not match.
  add("user and action", 100, 10, [](AuditFilter& f) {
    f.user_name = "user3";
    f.action = "export";
  });
  add("an hour long ago", 100, 1, [&](AuditFilter& f) {
    f.from = t0 + hours(24 * 3);
    f.to = t0 + hours(24 * 3 + 1);
  });
  add("a user on a day long ago", 100, 1, [&](AuditFilter& f) {
    f.user_name = "user1";
    f.from = t0 + hours(24 * 3);
    f.to = t0 + hours(24 * 4);
  });
  for (const auto& c : cases) {
    const auto before = accounts.cost();
    const auto found = accounts.audit(c.filter);
    EXPECT_EQ(found.size(), c.rows) << c.name;
    expect_a_page(c.name, c.rows, c.passed_over, minus(accounts.cost(), before));
    // The next page follows on at the same cost.
    AuditFilter next = c.filter;
    next.before_id = found.back().id;
    const auto before_next = accounts.cost();
    const auto page = accounts.audit(next);
    expect_a_page(c.name + ", next page", c.rows, c.passed_over,
                  minus(accounts.cost(), before_next));
    if (page.empty()) continue;  // the rare action has exactly one page
    EXPECT_EQ(page.front().id, found.back().id - (found.front().id - found.back().id) /
                                                     static_cast<int64_t>(c.rows - 1))
        << c.name;
  }
  EXPECT_EQ(accounts.audit(AuditFilter{}).front().id, kAudit);
}

TEST_F(CatalogScale, StatusOfTheRecorderServiceIsBounded) {
  // What `vigil status`, /api/cameras, /api/cameras/{id}, /api/settings/storage and /metrics
  // read: RecorderService::status_json() (they all take the status from it).
  Config config = test::two_camera_config(dir_.path());
  for (int i = 0; i < 2; ++i) {
    config.cameras[i].id = "cam" + std::to_string(i);
    config.cameras[i].url = "rtsp://127.0.0.1:9/never-started";
  }
  test::FakeClock clock(kEnd);
  ComponentRegistry components(clock);
  RecorderService service(config, clock, components);  // not started: nothing connects
  const auto before = service.catalog_cost();
  const std::string status = service.status_json();
  const auto cost = minus(service.catalog_cost(), before);
  EXPECT_NE(status.find("\"stored_segments\": 25000"), std::string::npos);
  EXPECT_LT(cost.vm_steps, 2 * kBoundedSteps);  // two cameras
  EXPECT_EQ(cost.fullscan_steps, 0);
}

// What a recorder reads of the chain when a camera starts or a segment is recovered, what
// exporting evidence reads around a range, and what the TSA stamper reads at start and each
// round: index lookups and the rows asked for, never a walk of the chain.
TEST_F(CatalogScale, ChainAndCheckpointReadsAreBounded) {
  fill_chain(dir_.path() / "vigil.db");
  Catalog c(dir_.path() / "vigil.db");
  const auto lookups = cost_of(c, [&] {
    EXPECT_EQ(c.chain_head("cam1")->entry.sequence, uint64_t{kSegments / 4 - 1});
    EXPECT_FALSE(c.chain_head("nobody"));
    EXPECT_EQ(c.chain_rows_of_segment(50'001).size(), 1u);
    EXPECT_EQ(c.chain_rows_between("cam2", 100, 109).size(), 10u);
    EXPECT_EQ(c.checkpoint_before("cam2", 12'345)->checkpoint.sequence, 12'339u);
    EXPECT_EQ(c.checkpoint_at_or_after("cam2", 12'345)->checkpoint.sequence, 12'349u);
    EXPECT_EQ(c.last_checkpoint_id(), 10'000);
  });
  EXPECT_LT(lookups.vm_steps, kStepsPerRow * 10 + kBoundedSteps);
  EXPECT_EQ(lookups.fullscan_steps, 0);
  EXPECT_EQ(lookups.sorts, 0);

  // The stamper: where its backlog of the last day starts (at most 1,000 checkpoints looked
  // at), then a round of 100 checkpoints without a token.
  const auto stamper = cost_of(c, [&] {
    EXPECT_EQ(c.checkpoint_backlog_start(wall_from_ms(kT0), 1'000), 9'000);
    const auto batch = c.checkpoints_without_token(9'000, 100);
    ASSERT_EQ(batch.size(), 100u);
    EXPECT_EQ(batch.front().id, 9'001);
  });
  EXPECT_LT(stamper.vm_steps, kStepsPerRow * 1'100 + kBoundedSteps);
  EXPECT_EQ(stamper.sorts, 0);
}

// Free space that never runs short.
class RoomyDisk final : public DiskSpace {
 public:
  uint64_t free_bytes(const std::filesystem::path&) const override { return 1ull << 50; }
};

TEST_F(CatalogScale, ARetentionPassWithNothingToDeleteIsBounded) {
  Catalog c(dir_.path() / "vigil.db");
  EventStore events(dir_.path() / "vigil.db");
  test::FakeClock clock(kEnd);
  RoomyDisk disk;
  std::map<std::string, RetentionLimits> limits;
  for (const char* cam : {"cam0", "cam1", "cam2", "cam3"}) {
    limits[cam] = RetentionLimits{365, uint64_t{1} << 50};
  }
  Retention r(c, dir_.path(), 1 << 20, limits, clock, disk);
  // cam3 is recorded in mode "events", judged by earlier passes up to 10 minutes ago: this
  // pass judges (and deletes) what is outside events since, the next one only 10 s more.
  c.set_events_judged_until("cam3", kEnd - minutes(10));
  r.set_events(events, {{"cam3", EventFootagePolicy{}}});
  const RetentionPass first = r.run_once();
  EXPECT_GT(first.deleted, 0);  // cam3's footage outside its events
  EXPECT_LT(first.deleted, 10);
  const auto before_catalog = c.cost();
  const auto before_events = events.cost();
  clock.advance(std::chrono::seconds(10));
  EXPECT_EQ(r.run_once().deleted, 0);
  const auto cost = minus(c.cost(), before_catalog);
  const auto event_cost = minus(events.cost(), before_events);
  EXPECT_LT(cost.vm_steps + event_cost.vm_steps, 4 * kBoundedSteps);
  EXPECT_EQ(cost.fullscan_steps + event_cost.fullscan_steps, 0);
}

}  // namespace
}  // namespace vigil
