#include "catalog/catalog.h"

#include <gtest/gtest.h>

#include "core/error.h"
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

TEST(Catalog, MigratesOnceAndReopens) {
  test::TempDir dir;
  {
    Catalog c(dir.path() / "vigil.db");
    EXPECT_EQ(c.schema_version(), 3);
    c.begin_segment(seg("a", wall_from_ms(1000)));
  }
  Catalog again(dir.path() / "vigil.db");
  EXPECT_EQ(again.schema_version(), 3);
  EXPECT_EQ(again.all_segments().size(), 1u);
}

TEST(Catalog, SegmentLifecycleAndQueries) {
  test::TempDir dir;
  Catalog c(dir.path() / "vigil.db");
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

TEST(Catalog, PathsAreUniqueAndSqlIsNeverInterpolated) {
  test::TempDir dir;
  Catalog c(dir.path() / "vigil.db");
  NewSegment s = seg("cam'); DROP TABLE segment; --", wall_from_ms(5));
  c.begin_segment(s);
  EXPECT_THROW(c.begin_segment(s), Error);
  EXPECT_EQ(c.all_segments().size(), 1u);
  EXPECT_EQ(c.all_segments()[0].camera_id, s.camera_id);
}

TEST(Catalog, Gaps) {
  test::TempDir dir;
  Catalog c(dir.path() / "vigil.db");
  c.add_gap("cam", wall_from_ms(1000), wall_from_ms(5000), "camera unreachable");
  EXPECT_EQ(c.gaps_between("cam", wall_from_ms(0), wall_from_ms(2000)).size(), 1u);
  EXPECT_TRUE(c.gaps_between("cam", wall_from_ms(5000), wall_from_ms(9000)).empty());
  EXPECT_EQ(c.gaps_between("cam", wall_from_ms(0), wall_from_ms(9000))[0].reason,
            "camera unreachable");
}

}  // namespace
}  // namespace vigil
