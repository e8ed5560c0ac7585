#include "retention/retention.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::hours;

// Free space that follows what retention deletes: `capacity` minus the footage in the catalog.
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

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() : catalog_(dir_.path() / "vigil.db"), clock_(kNow) {}

  // A closed one-hour segment of `cam` that ended `age` ago, with a real file of `bytes`.
  int64_t add(const std::string& cam, hours age, uint64_t bytes,
              SegmentState state = SegmentState::kClosed) {
    const WallTime end = kNow - age;
    NewSegment s;
    s.camera_id = cam;
    s.path = "recordings/" + cam + "/" + std::to_string(ms_since_epoch(end)) + ".mp4";
    s.wall_start = end - hours(1);
    s.video_codec = "h264";
    std::filesystem::create_directories((dir_.path() / s.path).parent_path());
    std::ofstream(dir_.path() / s.path) << std::string(16, 'x');
    const int64_t id = catalog_.begin_segment(s);
    if (state == SegmentState::kClosed) {
      ClosedSegment c;
      c.wall_end = end;
      c.bytes = bytes;
      catalog_.close_segment(id, c);
    }
    return id;
  }

  bool exists(int64_t id) {
    auto row = catalog_.segment(id);
    return row && std::filesystem::exists(dir_.path() / row->path);
  }

  static inline const WallTime kNow = wall_from_ms(1'790'000'000'000);
  test::TempDir dir_;
  Catalog catalog_;
  test::FakeClock clock_;
};

TEST_F(RetentionTest, MaxDaysDeletesOnlyOlderFootageOfThatCamera) {
  const int64_t old_a = add("a", hours(24 * 8), 100);
  const int64_t young_a = add("a", hours(24 * 6), 100);
  const int64_t old_b = add("b", hours(24 * 8), 100);  // b keeps 30 days
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0,
              {{"a", RetentionLimits{7, std::nullopt}}, {"b", RetentionLimits{30, std::nullopt}}},
              clock_, disk);
  const RetentionPass p = r.run_once();
  EXPECT_EQ(p.deleted, 1);
  EXPECT_FALSE(catalog_.segment(old_a));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "recordings/a" /
                                       (std::to_string(ms_since_epoch(kNow - hours(24 * 8))) + ".mp4")));
  EXPECT_TRUE(exists(young_a));
  EXPECT_TRUE(exists(old_b));
  // The kept usage followed the deletion (catalog triggers), as the rows say.
  EXPECT_EQ(catalog_.usage("a").bytes, 100u);
  EXPECT_TRUE(catalog_.check_usage(false).empty());
}

TEST_F(RetentionTest, MaxBytesDeletesOldestFirstButNeverTheOpenSegment) {
  const int64_t s1 = add("a", hours(5), 400);
  const int64_t s2 = add("a", hours(4), 400);
  const int64_t s3 = add("a", hours(3), 400);
  const int64_t open = add("a", hours(0), 0, SegmentState::kWriting);
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {{"a", RetentionLimits{std::nullopt, 900}}}, clock_, disk);
  EXPECT_EQ(r.run_once().deleted, 1);
  EXPECT_FALSE(catalog_.segment(s1));
  EXPECT_TRUE(exists(s2));
  EXPECT_TRUE(exists(s3));
  EXPECT_TRUE(exists(open));
  // Even a limit below what one segment holds never touches the one being written.
  Retention tight(catalog_, dir_.path(), 0, {{"a", RetentionLimits{std::nullopt, 1}}}, clock_, disk);
  tight.run_once();
  EXPECT_TRUE(exists(open));
  EXPECT_EQ(catalog_.usage("a").segments, 1);
}

TEST_F(RetentionTest, MinFreeSpaceDeletesTheOldestFootageOfAnyCamera) {
  const int64_t a_old = add("a", hours(10), 300);
  const int64_t b_mid = add("b", hours(9), 300);
  const int64_t a_new = add("a", hours(1), 300);
  FakeDisk disk(catalog_, 1000);  // 900 used, 100 free
  Retention r(catalog_, dir_.path(), 500, {}, clock_, disk);
  const RetentionPass p = r.run_once();
  EXPECT_EQ(p.deleted, 2);  // 100 -> 400 -> 700 free
  EXPECT_FALSE(catalog_.segment(a_old));
  EXPECT_FALSE(catalog_.segment(b_mid));
  EXPECT_TRUE(exists(a_new));
  EXPECT_EQ(catalog_.total_bytes(), 300u);
  EXPECT_TRUE(catalog_.check_usage(false).empty());
}

// Exports take disk space (a disk of 1000 bytes: footage, the exports, the rest free), but
// they live in the free-space reserve and expire: retention must delete exactly the footage it
// would have deleted without them, so exporting cannot push footage out.
TEST_F(RetentionTest, ExportsDoNotMakeRetentionDeleteFootage) {
  class DiskWithExports final : public DiskSpace {
   public:
    DiskWithExports(Catalog& c, std::filesystem::path exports) : c_(c), exports_(std::move(exports)) {}
    uint64_t free_bytes(const std::filesystem::path&) const override {
      uint64_t used = c_.total_bytes();
      for (const auto& e : std::filesystem::directory_iterator(exports_)) used += e.file_size();
      return used >= 1000 ? 0 : 1000 - used;
    }

   private:
    Catalog& c_;
    std::filesystem::path exports_;
  };
  const auto exports = dir_.path() / "exports";
  std::filesystem::create_directories(exports);
  std::ofstream(exports / "1.mp4") << std::string(350, 'e');
  const int64_t a_old = add("a", hours(10), 200);
  const int64_t b_mid = add("b", hours(9), 200);
  const int64_t a_new = add("a", hours(1), 200);
  DiskWithExports disk(catalog_, exports);  // 600 footage + 350 exports: 50 really free
  Retention r(catalog_, dir_.path(), 500, {}, clock_, disk);
  // Without the export 400 would be free: one file (the oldest) goes to reach 500, no more.
  const RetentionPass p = r.run_once();
  EXPECT_EQ(p.deleted, 1);
  EXPECT_FALSE(catalog_.segment(a_old));
  EXPECT_TRUE(exists(b_mid));
  EXPECT_TRUE(exists(a_new));
  // The export gone (expired), the next pass has nothing to do.
  std::filesystem::remove(exports / "1.mp4");
  EXPECT_EQ(r.run_once().deleted, 0);
}

TEST_F(RetentionTest, EmergencyFreesSomethingEvenWithinLimits) {
  const int64_t s1 = add("a", hours(2), 300);
  const int64_t s2 = add("a", hours(1), 300);
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {}, clock_, disk);
  EXPECT_EQ(r.run_once(false).deleted, 0);
  EXPECT_EQ(r.run_once(true).deleted, 1);
  EXPECT_FALSE(catalog_.segment(s1));
  EXPECT_TRUE(exists(s2));
}

TEST_F(RetentionTest, FinishesADeletionInterruptedByACrash) {
  const int64_t s1 = add("a", hours(2), 300);
  catalog_.mark_deleting(s1);  // crashed right after marking
  // Deleting rows are finished by recovery (record/recovery); retention never picks them again.
  FakeDisk disk(catalog_, 1ull << 40);
  Retention r(catalog_, dir_.path(), 0, {{"a", RetentionLimits{std::nullopt, 1}}}, clock_, disk);
  EXPECT_EQ(r.run_once().deleted, 0);
  EXPECT_EQ(catalog_.segment(s1)->state, SegmentState::kDeleting);
}

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

TEST(SpaceReserve, IsARealAllocationThatCanBeGivenBackAndRestored) {
  test::TempDir dir;
  const SpaceReserve reserve(dir.path() / "reserve.bin", 256 * 1024);
  EXPECT_FALSE(reserve.present());
  ASSERT_TRUE(reserve.ensure());
  EXPECT_TRUE(reserve.present());
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "reserve.bin"), 256u * 1024);
  // Blocks really allocated: a sparse file would free nothing when deleted.
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "reserve.bin").c_str(), &st), 0);
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, 256u * 1024);
  EXPECT_TRUE(reserve.release());
  EXPECT_FALSE(reserve.present());
  EXPECT_FALSE(reserve.release());
  EXPECT_TRUE(reserve.ensure());
  EXPECT_TRUE(reserve.ensure());  // idempotent
}

}  // namespace
}  // namespace vigil
