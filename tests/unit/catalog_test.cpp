#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "catalog/sqlite.h"
#include "core/error.h"
#include "engine_test.h"
#include "postgres_server.h"
#include "record/recovery.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::minutes;

NewSegment seg(const std::string& cam, WallTime start) {
  NewSegment s;
  s.camera_id = cam;
  s.path = cam + "/" + std::to_string(ms_since_epoch(start)) + ".mp4";
  s.wall_start = start;
  s.video_codec = "h264";
  s.width = 1920;
  s.height = 1080;
  return s;
}

ClosedSegment closed(WallTime end, uint64_t bytes) {
  ClosedSegment c;
  c.wall_end = end;
  c.bytes = bytes;
  c.media_duration = Ticks90k(90000);
  c.fragment_index = {1, 2, 3};
  c.sha256 = std::vector<uint8_t>(32, 7);
  c.close_reason = "duration";
  return c;
}

using test::EngineTest;
class CatalogOn : public EngineTest {};
class CatalogUsageOn : public EngineTest {};
class CatalogRunsOn : public EngineTest {};
VIGIL_ON_BOTH_ENGINES(CatalogOn);
VIGIL_ON_BOTH_ENGINES(CatalogUsageOn);
VIGIL_ON_BOTH_ENGINES(CatalogRunsOn);

TEST_P(CatalogOn, MigratesOnceAndReopens) {
  {
    Catalog c(location());
    EXPECT_EQ(c.schema_version(), kSchema);
    c.begin_segment(seg("a", wall_from_ms(1000)));
  }
  Catalog again(location());
  EXPECT_EQ(again.schema_version(), kSchema);
  EXPECT_EQ(again.all_segments().size(), 1u);
}

// The recorder's per-fragment statements are prepared once and kept: each use sees only its own
// values, a use from inside another's loop gets a statement of its own, and a bad statement is
// neither kept nor poisons the cache.
TEST(SqlConnection, CachedStatementsAreReusedResetAndNeverShared) {
  test::TempDir dir;
  sql::SqliteConnection c((dir.path() / "t.db").string());
  c.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
  const std::string insert = "INSERT INTO t (k, v) VALUES (:k, :v)";
  const void* first = nullptr;
  for (int64_t k = 1; k <= 3; ++k) {
    auto st = c.prepare_cached(insert);
    if (k == 1) first = st.raw();
    EXPECT_EQ(st.raw(), first) << "prepared again for row " << k;
    st.bind(":k", k).bind(":v", "v" + std::to_string(k)).run();
  }
  {
    // Bindings do not leak into the next use: a missing :v is NULL, not "v3".
    auto st = c.prepare_cached(insert);
    st.bind(":k", int64_t{4}).run();
  }
  const std::string select = "SELECT k, v FROM t WHERE k >= :min ORDER BY k";
  std::vector<std::string> seen;
  {
    auto outer = c.prepare_cached(select);
    outer.bind(":min", int64_t{2});
    while (outer.step()) {
      // The same text while the outer statement is mid-loop: a separate statement.
      auto inner = c.prepare_cached(select);
      EXPECT_NE(inner.raw(), outer.raw());
      inner.bind(":min", int64_t{4});
      ASSERT_TRUE(inner.step());
      seen.push_back(std::to_string(outer.int64("k")) + "=" +
                     (outer.is_null("v") ? std::string("null") : outer.text("v")) + "/" +
                     std::to_string(inner.int64("k")));
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"2=v2/4", "3=v3/4", "4=null/4"}));
  {
    // Left mid-loop, then asked for again: reset, so it starts from the first row.
    auto half = c.prepare_cached(select);
    half.bind(":min", int64_t{1});
    ASSERT_TRUE(half.step());
  }
  auto again = c.prepare_cached(select);
  again.bind(":min", int64_t{1});
  ASSERT_TRUE(again.step());
  EXPECT_EQ(again.int64("k"), 1);

  EXPECT_THROW(c.prepare_cached("INSERT INTO missing VALUES (1)"), Error);
  EXPECT_THROW(c.prepare_cached("INSERT INTO missing VALUES (1)"), Error);
  c.exec("CREATE TABLE missing (x INTEGER)");
  c.prepare_cached("INSERT INTO missing VALUES (1)").run();
  auto count = c.prepare("SELECT count(*) AS n FROM missing");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.int64("n"), 1);
}

// The server and `vigil user add` may open a new catalog at the same moment: each must find the
// schema whole, neither may run a step the other has run ("table user_totp already exists").
TEST_P(CatalogOn, ProcessesOpeningANewCatalogAtOnceMigrateItOnce) {
  for (int round = 0; round < 5; ++round) {
    const std::string where = round == 0 ? location() : fresh_location(round);
    std::vector<std::thread> openers;
    std::atomic<int> failed{0};
    std::atomic<int> opened{0};
    for (int i = 0; i < 4; ++i) {
      openers.emplace_back([&] {
        try {
          Catalog c(where);
          if (c.schema_version() == kSchema) ++opened;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
          ++failed;
        }
      });
    }
    for (auto& t : openers) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(opened.load(), 4);
  }
}

TEST_P(CatalogOn, SegmentLifecycleAndQueries) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  const int64_t a = c.begin_segment(seg("cam", t0));
  EXPECT_EQ(c.segments_in_state(SegmentState::kWriting).size(), 1u);
  c.close_segment(a, closed(t0 + minutes(2), 1000));
  const int64_t b = c.begin_segment(seg("cam", t0 + minutes(2)));
  c.close_segment(b, closed(t0 + minutes(4), 500));
  c.begin_segment(seg("other", t0));

  auto row = c.segment(a);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, SegmentState::kClosed);
  EXPECT_EQ(row->wall_end, t0 + minutes(2));
  EXPECT_EQ(row->fragment_index, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(row->sha256.size(), 32u);
  EXPECT_EQ(row->width, 1920);

  EXPECT_EQ(c.segments_between("cam", t0 + minutes(1), t0 + minutes(3)).size(), 2u);
  EXPECT_EQ(c.segments_between("cam", t0 + minutes(3), t0 + minutes(10)).size(), 1u);
  EXPECT_TRUE(c.segments_between("cam", t0 + minutes(4), t0 + minutes(10)).empty());
  EXPECT_EQ(c.usage("cam").bytes, 1500u);
  EXPECT_EQ(c.usage("cam").segments, 2);
  EXPECT_EQ(c.last_wall_end("cam"), t0 + minutes(4));
  EXPECT_EQ(c.oldest_closed("cam", 1).front().id, a);
  EXPECT_EQ(c.oldest_closed_any(10).size(), 2u);  // the 'writing' one is never a candidate

  c.mark_deleting(a);
  EXPECT_EQ(c.usage("cam").bytes, 500u);
  c.delete_segment_row(a);
  EXPECT_FALSE(c.segment(a));
}

TEST_P(CatalogOn, PathsAreUniqueAndSqlIsNeverInterpolated) {
  Catalog c(location());
  NewSegment s = seg("cam'); DROP TABLE segment; --", wall_from_ms(5));
  c.begin_segment(s);
  EXPECT_THROW(c.begin_segment(s), Error);
  EXPECT_EQ(c.all_segments().size(), 1u);
  EXPECT_EQ(c.all_segments()[0].camera_id, s.camera_id);
}

TEST_P(CatalogOn, Gaps) {
  Catalog c(location());
  c.add_gap("cam", wall_from_ms(1000), wall_from_ms(5000), "camera unreachable");
  EXPECT_EQ(c.gaps_between("cam", wall_from_ms(0), wall_from_ms(2000)).size(), 1u);
  EXPECT_TRUE(c.gaps_between("cam", wall_from_ms(5000), wall_from_ms(9000)).empty());
  EXPECT_EQ(c.gaps_between("cam", wall_from_ms(0), wall_from_ms(9000))[0].reason,
            "camera unreachable");
}

// Undoes the migrations after 4 on a catalog: a catalog as vigil left it before runs (5), the
// integrity chain (6), holds and the audit chain (7), token scopes and expiry (8), till
// transactions (9), the second factor (10), the text index by moment (11: its table goes with
// kUndoTransactions).
void back_to_schema4(sql::Connection& raw) {
  raw.exec(test::kUndoArchive);
  raw.exec(test::kUndoSecondFactor);
  raw.exec(test::kUndoTransactions);
  raw.exec(test::kUndoTokenScopes);
  raw.exec(test::kUndoHoldsAndAuditChain);
  raw.exec(
      "DROP TABLE chain_entry; DROP TABLE checkpoint; DROP TABLE signing_key; "
      "DROP TRIGGER segment_run_insert; DROP TRIGGER segment_run_grow; "
      "DROP TRIGGER segment_run_move; DROP TRIGGER segment_run_delete; DROP TABLE segment_run; "
      "DROP TRIGGER gap_longest_insert; DROP TABLE gap_longest; DROP INDEX event_start; "
      "DROP INDEX event_camera_type_start; "
      "DROP INDEX audit_user_at; DROP INDEX audit_action_at; DROP INDEX audit_camera_at; "
      "PRAGMA user_version = 4");
}

// What usage() says must be what the rows say, counted the slow way.
void expect_usage_matches_rows(Catalog& c, const std::string& cam) {
  const CameraUsage u = c.usage(cam);
  CameraUsage rows;
  for (const SegmentRow& r : c.all_segments()) {
    if (r.camera_id != cam || r.state == SegmentState::kDeleting) continue;
    rows.bytes += r.bytes;
    ++rows.segments;
    if (!rows.oldest_start || r.wall_start < *rows.oldest_start) rows.oldest_start = r.wall_start;
    if (!rows.newest_end || r.wall_end > *rows.newest_end) rows.newest_end = r.wall_end;
  }
  EXPECT_EQ(u.bytes, rows.bytes) << cam;
  EXPECT_EQ(u.segments, rows.segments) << cam;
  EXPECT_EQ(u.oldest_start, rows.oldest_start) << cam;
  EXPECT_EQ(u.newest_end, rows.newest_end) << cam;
  EXPECT_TRUE(c.check_usage(false).empty()) << cam;
}

TEST_P(CatalogUsageOn, KeptThroughEveryChangeOfASegmentRow) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  EXPECT_EQ(c.usage("cam").segments, 0);
  EXPECT_FALSE(c.usage("cam").oldest_start);

  const int64_t a = c.begin_segment(seg("cam", t0));  // writing: counted, 0 bytes
  EXPECT_EQ(c.usage("cam").segments, 1);
  EXPECT_EQ(c.usage("cam").newest_end, t0);
  expect_usage_matches_rows(c, "cam");
  c.close_segment(a, closed(t0 + minutes(2), 1000));
  EXPECT_EQ(c.usage("cam").bytes, 1000u);
  const int64_t b = c.begin_segment(seg("cam", t0 + minutes(2)));
  c.close_segment(b, closed(t0 + minutes(4), 500));
  const int64_t abandoned = c.begin_segment(seg("cam", t0 + minutes(4)));
  c.delete_segment_row(abandoned);  // a segment the recorder gave up on
  const int64_t other = c.insert_closed_segment(seg("other", t0), closed(t0 + minutes(1), 70));
  expect_usage_matches_rows(c, "cam");
  expect_usage_matches_rows(c, "other");
  EXPECT_EQ(c.usage("cam").bytes, 1500u);
  EXPECT_EQ(c.usage("cam").segments, 2);
  EXPECT_EQ(c.total_bytes(), 1570u);

  // Retention: marked (no longer counted), then removed (nothing more to take off).
  c.mark_deleting(a);
  EXPECT_EQ(c.usage("cam").bytes, 500u);
  EXPECT_EQ(c.usage("cam").oldest_start, t0 + minutes(2));
  expect_usage_matches_rows(c, "cam");
  c.delete_segment_row(a);
  expect_usage_matches_rows(c, "cam");
  c.delete_segment_row(b);
  c.delete_segment_row(other);
  EXPECT_EQ(c.usage("cam").segments, 0);
  EXPECT_EQ(c.usage("cam").bytes, 0u);
  EXPECT_FALSE(c.usage("cam").newest_end);
  EXPECT_EQ(c.total_bytes(), 0u);
  expect_usage_matches_rows(c, "cam");
  expect_usage_matches_rows(c, "other");
}

TEST_P(CatalogUsageOn, NewestEndIsTheLatestEndEvenAfterTheClockWentBack) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(10), 1));
  // The host clock jumped back five minutes: the next segment starts and ends earlier.
  c.insert_closed_segment(seg("cam", t0 + minutes(5)), closed(t0 + minutes(7), 1));
  EXPECT_EQ(c.usage("cam").newest_end, t0 + minutes(10));
  EXPECT_EQ(c.last_wall_end("cam"), t0 + minutes(10));
  expect_usage_matches_rows(c, "cam");
}

TEST_P(CatalogUsageOn, RecoveryKeepsItRight) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(1), 100));
  const int64_t dying =
      c.insert_closed_segment(seg("cam", t0 + minutes(1)), closed(t0 + minutes(2), 200));
  c.mark_deleting(dying);                        // a crash between the mark and the unlink
  c.begin_segment(seg("cam", t0 + minutes(2)));  // a crash while writing, file never made
  const RecoveryReport r = recover_catalog(c, dir_.path());
  EXPECT_EQ(r.finished_deletes, 1);
  EXPECT_EQ(r.removed_rows, 1);
  EXPECT_EQ(c.usage("cam").segments, 1);
  EXPECT_EQ(c.usage("cam").bytes, 100u);
  expect_usage_matches_rows(c, "cam");
}

TEST_P(CatalogUsageOn, CheckFindsWrongFiguresAndRepairRebuildsThem) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(1), 100));
  c.insert_closed_segment(seg("gone", t0), closed(t0 + minutes(1), 5));
  {
    // Figures gone wrong behind the triggers' back (an old bug, a hand edit): one too high, one
    // camera missing, one camera with no rows at all.
    const auto raw = sql::open(location());
    raw->exec("UPDATE camera_usage SET bytes = 999 WHERE camera_id = 'cam'");
    raw->exec("DELETE FROM camera_usage WHERE camera_id = 'gone'");
    raw->exec("INSERT INTO camera_usage VALUES ('ghost', 7, 1)");
  }
  const auto found = c.check_usage(false);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].camera_id, "cam");
  EXPECT_EQ(found[0].was.bytes, 999u);
  EXPECT_EQ(found[0].now.bytes, 100u);
  EXPECT_EQ(found[1].camera_id, "ghost");
  EXPECT_EQ(found[2].camera_id, "gone");
  EXPECT_EQ(found[2].now.segments, 1);
  EXPECT_EQ(c.check_usage(false).size(), 3u);  // only reported
  EXPECT_EQ(c.check_usage(true).size(), 3u);   // repaired
  EXPECT_TRUE(c.check_usage(false).empty());
  EXPECT_EQ(c.usage("cam").bytes, 100u);
  EXPECT_EQ(c.usage("gone").bytes, 5u);
  EXPECT_EQ(c.usage("ghost").segments, 0);
}

TEST_P(CatalogUsageOn, VigilCheckReportsWrongFiguresAndRepairRebuildsThem) {
  Catalog c(location());
  {
    const auto raw = sql::open(location());
    raw->exec("INSERT INTO camera_usage VALUES ('cam', 5, 2)");  // no rows at all
  }
  CheckOptions opt;
  opt.include_open = true;
  const CheckReport seen = check_catalog(c, dir_.path(), opt);
  ASSERT_EQ(seen.mismatches(), 1);
  EXPECT_EQ(seen.issues[0].path, "camera cam usage");
  EXPECT_FALSE(seen.issues[0].repaired);
  opt.repair = true;
  const CheckReport fixed = check_catalog(c, dir_.path(), opt);
  ASSERT_EQ(fixed.mismatches(), 1);
  EXPECT_TRUE(fixed.issues[0].repaired);
  EXPECT_EQ(check_catalog(c, dir_.path(), opt).mismatches(), 0);
  EXPECT_EQ(c.usage("cam").segments, 0);
}

TEST(CatalogUsage, TheMigrationCountsAnArchiveRecordedBeforeIt) {
  test::TempDir dir;
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  {
    Catalog c(dir.path() / "vigil.db");
    c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(1), 100));
    c.insert_closed_segment(seg("cam", t0 + minutes(1)), closed(t0 + minutes(2), 50));
  }
  {
    // Back to schema 3 as an older vigil left it: no usage table, no triggers.
    sql::SqliteConnection raw((dir.path() / "vigil.db").string());
    back_to_schema4(raw);
    raw.exec(
        "DROP TRIGGER segment_usage_insert; DROP TRIGGER segment_usage_delete; "
        "DROP TRIGGER segment_usage_update; DROP TABLE camera_usage; "
        "DROP INDEX segment_camera_end; DROP INDEX segment_camera_span; "
        "CREATE INDEX segment_camera_start ON segment (camera_id, wall_start_ms); "
        "DROP TRIGGER event_longest_insert; "
        "DROP TRIGGER event_longest_update; DROP TABLE event_longest; "
        "DROP TABLE events_judged; "
        "PRAGMA user_version = 3");
  }
  Catalog c(dir.path() / "vigil.db");
  EXPECT_GE(c.schema_version(), 5);
  EXPECT_EQ(c.usage("cam").bytes, 150u);
  EXPECT_EQ(c.usage("cam").segments, 2);
  expect_usage_matches_rows(c, "cam");
}

TEST_P(CatalogOn, CheckWalksEveryRowAndFindsPaths) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  c.insert_closed_segment(seg("b", t0), closed(t0 + minutes(1), 1));
  c.insert_closed_segment(seg("a", t0 + minutes(1)), closed(t0 + minutes(2), 1));
  c.insert_closed_segment(seg("a", t0), closed(t0 + minutes(1), 1));
  std::vector<std::string> seen;
  c.for_each_segment([&](const SegmentRow& r) {
    seen.push_back(r.path);
    // The walk reads a snapshot; the callback may use the catalog meanwhile.
    EXPECT_TRUE(c.has_segment_path(r.path));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{seg("a", t0).path, seg("a", t0 + minutes(1)).path,
                                            seg("b", t0).path}));
  EXPECT_FALSE(c.has_segment_path("a/none.mp4"));
}

// The runs the rows make, merged the way the timeline merges them (timeline.h): in start order,
// a row joins the run when it starts at most kRunToleranceMs after the latest end so far.
std::vector<SegmentRun> runs_from_rows(Catalog& c, const std::string& cam) {
  std::vector<SegmentRow> rows;
  for (SegmentRow& r : c.all_segments()) {
    if (r.camera_id == cam && r.state != SegmentState::kDeleting) rows.push_back(std::move(r));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const SegmentRow& a, const SegmentRow& b) {
    return a.wall_start < b.wall_start;
  });
  std::vector<SegmentRun> out;
  for (const SegmentRow& r : rows) {
    const bool writing = r.state == SegmentState::kWriting;
    if (!out.empty() &&
        ms_since_epoch(r.wall_start) <= ms_since_epoch(out.back().wall_end) + kRunToleranceMs) {
      out.back().wall_end = std::max(out.back().wall_end, r.wall_end);
      ++out.back().segments;
      out.back().writing = out.back().writing || writing;
    } else {
      out.push_back(SegmentRun{r.wall_start, r.wall_end, 1, writing});
    }
  }
  return out;
}

void expect_runs_match_rows(Catalog& c, const std::string& cam, const std::string& context) {
  const auto kept = c.runs_between(cam, wall_from_ms(0), wall_from_ms(int64_t{1} << 50));
  const auto rows = runs_from_rows(c, cam);
  ASSERT_EQ(kept.size(), rows.size()) << context;
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].wall_start, rows[i].wall_start) << context << " run " << i;
    EXPECT_EQ(kept[i].wall_end, rows[i].wall_end) << context << " run " << i;
    EXPECT_EQ(kept[i].segments, rows[i].segments) << context << " run " << i;
    EXPECT_EQ(kept[i].writing, rows[i].writing) << context << " run " << i;
  }
  EXPECT_TRUE(c.check_runs(false).empty()) << context;
}

TEST_P(CatalogRunsOn, BackToBackSegmentsAreOneRunAndAGapStartsAnother) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  const int64_t a = c.begin_segment(seg("cam", t0));
  c.close_segment(a, closed(t0 + minutes(2), 10));
  const int64_t b = c.begin_segment(seg("cam", t0 + minutes(2) + std::chrono::milliseconds(200)));
  auto runs = c.runs_between("cam", t0, t0 + minutes(10));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].segments, 2);
  EXPECT_TRUE(runs[0].writing);  // b reaches up to now
  c.close_segment(b, closed(t0 + minutes(4), 10));
  c.begin_segment(seg("cam", t0 + minutes(5)));  // a minute lost: a new run
  runs = c.runs_between("cam", t0, t0 + minutes(10));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].wall_start, t0);
  EXPECT_EQ(runs[0].wall_end, t0 + minutes(4));
  EXPECT_FALSE(runs[0].writing);
  EXPECT_EQ(runs[1].wall_start, t0 + minutes(5));
  EXPECT_TRUE(runs[1].writing);
  // A window after the run being written still has it: it reaches up to now.
  runs = c.runs_between("cam", t0 + minutes(8), t0 + minutes(10));
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].wall_start, t0 + minutes(5));
  // Windows before, between and after.
  EXPECT_TRUE(c.runs_between("cam", t0 - minutes(5), t0).empty());
  EXPECT_EQ(
      c.runs_between("cam", t0 + std::chrono::seconds(270), t0 + std::chrono::seconds(290)).size(),
      0u);
  EXPECT_TRUE(c.runs_between("other", t0, t0 + minutes(10)).empty());
  expect_runs_match_rows(c, "cam", "lifecycle");
}

// Every change a segment row can go through, in random order and places (overlaps after a
// clock jump, rows put back between runs, deletions from the start, the middle and the end),
// keeps the runs what the rows make.
TEST_P(CatalogRunsOn, KeptThroughRandomChangesOfSegmentRows) {
  Catalog c(location());
  std::mt19937 rng(22);
  const auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const int64_t t0 = 1'790'000'000'000;
  int64_t next_start = t0;
  std::vector<int64_t> live;  // ids not deleted
  for (int op = 0; op < 600; ++op) {
    const std::string cam = pick(0, 3) == 0 ? "b" : "a";
    const int64_t kind = live.empty() ? 0 : pick(0, 9);
    std::string what;
    if (kind <= 3) {
      // Mostly the next file back to back (within the tolerance or just past it), sometimes
      // after a gap, sometimes back in time (a clock jump, a repair).
      int64_t start = next_start + pick(-300, 300);
      if (pick(0, 9) == 0) start += pick(1'000, 600'000);
      if (pick(0, 14) == 0) start -= pick(1'000, 3'600'000);
      const int64_t end = start + pick(0, 120'000);
      NewSegment s = seg(cam, wall_from_ms(start));
      s.path += "-" + std::to_string(op);
      if (pick(0, 2) == 0) {
        live.push_back(c.begin_segment(s));
        what = "begin";
      } else {
        live.push_back(c.insert_closed_segment(s, closed(wall_from_ms(end), 1)));
        what = "insert closed";
      }
      next_start = std::max(next_start, end);
    } else {
      const size_t i = static_cast<size_t>(pick(0, static_cast<int64_t>(live.size()) - 1));
      const int64_t id = live[i];
      const auto row = c.segment(id);
      ASSERT_TRUE(row);
      if (kind <= 5) {
        // Close (or close again, longer or cut back) at an end after its start.
        c.close_segment(id,
                        closed(row->wall_start + std::chrono::milliseconds(pick(0, 150'000)), 1));
        what = "close";
      } else if (kind <= 7 && row->state != SegmentState::kDeleting) {
        c.mark_deleting(id);
        what = "mark deleting";
      } else {
        c.delete_segment_row(id);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
        what = "delete";
      }
    }
    for (const char* cam_id : {"a", "b"}) {
      expect_runs_match_rows(c, cam_id, "op " + std::to_string(op) + " " + what);
    }
    if (HasFailure()) return;
  }
}

TEST_P(CatalogRunsOn, CheckFindsWrongRunsAndRepairRebuildsThem) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(1), 1));
  c.insert_closed_segment(seg("cam", t0 + minutes(1)), closed(t0 + minutes(2), 1));
  {
    const auto raw = sql::open(location());
    raw->exec("UPDATE segment_run SET wall_end_ms = wall_end_ms + 1");
    raw->exec(
        "INSERT INTO segment_run (camera_id, wall_start_ms, wall_end_ms, segments, writing) "
        "VALUES ('ghost', 1, 2, 1, 0)");
  }
  // The rows' files do not exist: check reports those too; these are the runs.
  const auto runs_issues = [&] {
    CheckOptions opt;
    opt.include_open = true;
    std::vector<CheckIssue> out;
    for (const auto& i : check_catalog(c, dir_.path(), opt).issues) {
      if (i.path.find(" runs") != std::string::npos) out.push_back(i);
    }
    return out;
  };
  const auto seen = runs_issues();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "camera cam runs");
  EXPECT_FALSE(seen[0].repaired);
  EXPECT_EQ(seen[1].path, "camera ghost runs");
  // What `vigil check --repair` does after its other repairs (which would drop these rows).
  EXPECT_EQ(c.check_runs(true).size(), 2u);
  EXPECT_TRUE(runs_issues().empty());
  expect_runs_match_rows(c, "cam", "repaired");
  EXPECT_TRUE(c.runs_between("ghost", wall_from_ms(0), t0).empty());
}

TEST(CatalogRuns, TheMigrationBuildsTheRunsOfAnArchiveRecordedBeforeIt) {
  test::TempDir dir;
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  {
    Catalog c(dir.path() / "vigil.db");
    for (int i = 0; i < 10; ++i) {
      if (i == 4) continue;  // a gap
      c.insert_closed_segment(seg("cam", t0 + minutes(i)), closed(t0 + minutes(i + 1), 1));
    }
    c.begin_segment(seg("cam", t0 + minutes(10)));
    c.add_gap("cam", t0 + minutes(4), t0 + minutes(5), "camera unreachable");
    sql::SqliteConnection raw((dir.path() / "vigil.db").string());
    back_to_schema4(raw);
  }
  Catalog c(dir.path() / "vigil.db");
  EXPECT_GE(c.schema_version(), 5);
  const auto runs = c.runs_between("cam", t0, t0 + minutes(20));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].segments, 4);
  EXPECT_EQ(runs[1].segments, 6);
  EXPECT_TRUE(runs[1].writing);
  expect_runs_match_rows(c, "cam", "migrated");
  EXPECT_EQ(c.gaps_between("cam", t0 + minutes(6), t0 + minutes(7)).size(), 0u);
  EXPECT_EQ(
      c.gaps_between("cam", t0 + minutes(4) + std::chrono::seconds(30), t0 + minutes(7)).size(),
      1u);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

// The hash chain, checkpoints and keys as stored, on both engines: blobs and 64-bit values come
// back as they went in, and every read the integrity code and the TSA stamper use answers.
TEST_P(CatalogOn, ChainRowsCheckpointsAndSigningKeys) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  const int64_t segment = c.begin_segment(seg("cam", t0));
  EXPECT_FALSE(c.chain_head("cam"));
  for (uint64_t i = 0; i < 6; ++i) {
    ChainEntry e;
    e.camera_id = i == 5 ? "b" : "cam";
    e.sequence = i == 5 ? 0 : i;
    e.kind = i == 3 ? ChainKind::kGap : ChainKind::kFragment;
    e.wall_start = t0 + std::chrono::seconds(i);
    e.duration = Ticks90k(90'000);
    e.init_hash.fill(static_cast<uint8_t>(0x80 + i));  // bytes above 0x7f, and a zero below
    e.fragment_hash.fill(static_cast<uint8_t>(i));
    e.note = i == 3 ? "camera offline: 'quoted' \\ and ünïcode" : "";
    const bool fragment = e.kind == ChainKind::kFragment && e.camera_id == "cam";
    c.append_chain(next_chain_row(c.chain_head(e.camera_id), e, fragment ? segment : 0,
                                  fragment ? static_cast<int64_t>(i) : -1));
  }
  const auto head = c.chain_head("cam");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->entry.sequence, 4u);
  std::vector<ChainRow> rows;
  c.for_each_chain_row("cam", [&](const ChainRow& r) { rows.push_back(r); });
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[3].entry.kind, ChainKind::kGap);
  EXPECT_EQ(rows[3].entry.note, "camera offline: 'quoted' \\ and ünïcode");
  EXPECT_EQ(rows[3].segment_id, 0);
  EXPECT_EQ(rows[3].fragment_position, -1);
  EXPECT_EQ(rows[2].entry.init_hash[31], 0x82);
  EXPECT_EQ(rows[0].entry.fragment_hash, Sha256{});
  EXPECT_EQ(rows[4].link, head->link);
  EXPECT_EQ(rows[4].link, next_chain_row(rows[3], rows[4].entry).link);
  EXPECT_EQ(c.chain_rows_of_segment(segment).size(), 4u);
  EXPECT_EQ(c.chain_rows_between("cam", 1, 3).size(), 3u);
  EXPECT_EQ(c.chain_cameras(), (std::vector<std::string>{"b", "cam"}));

  EXPECT_EQ(c.last_checkpoint_id(), 0);
  for (uint64_t seq : {1u, 4u}) {
    CheckpointRow k;
    k.checkpoint = {"cam", seq, rows[seq].link, t0 + std::chrono::seconds(seq), Sha256{}};
    k.key_fingerprint = "fp";
    k.signature.fill(static_cast<uint8_t>(0xf0 + seq));
    c.add_checkpoint(k);
  }
  const auto all = c.checkpoints("cam");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].checkpoint.head, rows[4].link);
  EXPECT_EQ(all[1].signature[63], 0xf4);
  EXPECT_FALSE(all[0].tsa_token);
  EXPECT_EQ(c.last_checkpoint_id(), all[1].id);
  EXPECT_EQ(c.checkpoints_without_token(0, 10).size(), 2u);
  EXPECT_EQ(c.checkpoint_backlog_start(t0 + std::chrono::seconds(2), 10), all[0].id);
  c.set_checkpoint_tsa_token(all[0].id, Bytes{0, 1, 2, 0xff});
  EXPECT_EQ(c.checkpoints("cam")[0].tsa_token, (Bytes{0, 1, 2, 0xff}));
  EXPECT_EQ(c.checkpoints_without_token(0, 10).size(), 1u);
  EXPECT_EQ(c.checkpoint_before("cam", 4)->checkpoint.sequence, 1u);
  EXPECT_EQ(c.checkpoint_at_or_after("cam", 2)->checkpoint.sequence, 4u);
  EXPECT_FALSE(c.checkpoint_at_or_after("cam", 5));

  c.add_signing_key({"fp", "PEM", t0});
  c.add_signing_key({"fp", "another PEM", t0});  // already there: nothing changes
  ASSERT_EQ(c.signing_keys().size(), 1u);
  EXPECT_EQ(c.signing_keys()[0].public_key_pem, "PEM");
}

// What the archive tier and events-mode retention ask of the catalog, on both engines.
TEST_P(CatalogOn, ArchiveAndRetentionBookkeeping) {
  Catalog c(location());
  const WallTime t0 = wall_from_ms(1'790'000'000'000);
  const int64_t a = c.insert_closed_segment(seg("cam", t0), closed(t0 + minutes(1), 100));
  const int64_t b =
      c.insert_closed_segment(seg("cam", t0 + minutes(1)), closed(t0 + minutes(2), 50));
  c.begin_segment(seg("cam", t0 + minutes(2)));
  EXPECT_EQ(c.archive_backlog(t0 + minutes(2)).segments, 2);
  EXPECT_EQ(c.archive_backlog(t0 + minutes(2)).bytes, 150u);
  const auto page = c.archive_candidates(t0 + minutes(2), 1);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, a);
  const auto next = c.archive_candidates(t0 + minutes(2), 5,
                                         Catalog::SegmentOrder{page[0].wall_start, page[0].id});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].id, b);

  ASSERT_TRUE(c.set_archived(a, "prefix/cam/a.mp4"));
  EXPECT_FALSE(c.set_archived(a, "again"));  // no longer local
  EXPECT_EQ(c.segment(a)->archive_key, "prefix/cam/a.mp4");
  EXPECT_EQ(c.usage("cam").bytes, 50u);  // usage counts footage on this disk
  EXPECT_EQ(c.usage("cam").oldest_start, t0);
  EXPECT_EQ(c.oldest_closed("cam", 5, true).size(), 1u);
  EXPECT_EQ(c.oldest_closed("cam", 5).size(), 2u);
  EXPECT_TRUE(c.check_usage(false).empty());

  // Marked only if still as read: a row read before it was archived is not marked.
  SegmentRow stale = *c.segment(b);
  ASSERT_TRUE(c.set_archived(b, "prefix/cam/b.mp4"));
  EXPECT_FALSE(c.mark_deleting_as_read(stale));
  EXPECT_TRUE(c.mark_deleting_as_read(*c.segment(b)));
  EXPECT_EQ(c.segment(b)->state, SegmentState::kDeleting);
  EXPECT_EQ(c.cameras_with_segments(), (std::vector<std::string>{"cam"}));

  EXPECT_FALSE(c.events_judged_until("cam"));
  c.set_events_judged_until("cam", t0);
  c.set_events_judged_until("cam", t0 + minutes(1));
  EXPECT_EQ(c.events_judged_until("cam"), t0 + minutes(1));
}

}  // namespace
}  // namespace vigil
