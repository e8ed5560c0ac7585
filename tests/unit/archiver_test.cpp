// The archive tier end to end below the HTTP API: the uploader moves due segments to a real S3
// server (s3rver, s3_server.h) byte for byte and only then off the disk, waits out a store that
// is away without touching anything, and retention deletes archived footage from the store.
#include "archive/archiver.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "integrity/file_hash.h"
#include "record/fragment_index.h"
#include "retention/retention.h"
#include "s3_server.h"
#include "test_support.h"

namespace vigil::archive {
namespace {

using std::chrono::hours;

// Free space nobody runs short of: these tests are about the archive, not the disk.
class RoomyDisk final : public DiskSpace {
 public:
  uint64_t free_bytes(const std::filesystem::path&) const override { return 1ull << 40; }
};

class ArchiverTest : public ::testing::Test {
 protected:
  ArchiverTest() : catalog_(made(dir_.path() / "data") / "vigil.db"), clock_(kNow) {}

  static std::filesystem::path made(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    return dir;
  }

  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "store");
    server_ = std::make_unique<S3Server>(dir_.path() / "store");
    settings_.bucket = "vigil";
    settings_.prefix = "site-a/";
    settings_.endpoint = "http://127.0.0.1:" + std::to_string(server_->port());
    settings_.access_key_id = "S3RVER";
    settings_.secret_access_key = "S3RVER";
    settings_.after = hours(24);
    settings_.part_size = 5 << 20;  // the smallest S3 allows: the big segment goes in parts
  }

  std::filesystem::path data() const { return dir_.path() / "data"; }

  // A closed one-hour segment of `cam` that ended `age` ago, its file `bytes` random bytes.
  int64_t add(const std::string& cam, hours age, size_t bytes, uint32_t seed) {
    const WallTime end = kNow - age;
    NewSegment s;
    s.camera_id = cam;
    s.path = "recordings/" + cam + "/2026/12/" + std::to_string(ms_since_epoch(end)) + ".mp4";
    s.wall_start = end - hours(1);
    s.video_codec = "h264";
    std::filesystem::create_directories((data() / s.path).parent_path());
    contents_[s.path] = random_bytes(bytes, seed);
    write_file(data() / s.path, contents_[s.path]);
    const int64_t id = catalog_.begin_segment(s);
    ClosedSegment c;
    c.wall_end = end;
    c.bytes = bytes;
    catalog_.close_segment(id, c);
    return id;
  }

  std::string stored(const std::string& key) {
    S3Client s3(s3_config(settings_));
    const auto info = s3.head(key);
    if (!info) return "(no object)";
    return s3.get_range(key, 0, info->size);
  }

  static inline const WallTime kNow = wall_from_ms(1'790'000'000'000);
  test::TempDir dir_;
  Catalog catalog_;
  test::FakeClock clock_;
  std::unique_ptr<S3Server> server_;
  ArchiveSettings settings_;
  std::map<std::string, std::string> contents_;  // by path
};

TEST_F(ArchiverTest, DueSegmentsGoUpByteForByteThenLeaveTheDisk) {
  const int64_t old_small = add("front", hours(72), 200'000, 1);
  const int64_t old_big = add("front", hours(48), 12 << 20, 2);  // three parts
  const int64_t other_cam = add("back", hours(30), 300'000, 3);
  const int64_t young = add("front", hours(2), 100'000, 4);  // not due for 22 hours
  EXPECT_EQ(catalog_.usage("front").bytes, 200'000u + (12u << 20) + 100'000u);
  EXPECT_EQ(catalog_.archive_backlog(kNow - hours(24)).segments, 3);

  Archiver archiver(catalog_, data(), settings_, clock_);
  EXPECT_EQ(archiver.run_once(), 3);

  for (const int64_t id : {old_small, old_big, other_cam}) {
    const auto row = catalog_.segment(id);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, SegmentState::kClosed);
    EXPECT_EQ(row->archive_key, "site-a/" + row->path);
    EXPECT_FALSE(std::filesystem::exists(data() / row->path)) << row->path;
    EXPECT_TRUE(stored(row->archive_key) == contents_[row->path]) << row->path;
  }
  const auto kept = catalog_.segment(young);
  EXPECT_FALSE(kept->archived());
  EXPECT_TRUE(std::filesystem::exists(data() / kept->path));
  // Only what is on this disk counts against the disk's limits; the timeline keeps it all.
  EXPECT_EQ(catalog_.usage("front").bytes, 100'000u);
  EXPECT_EQ(catalog_.usage("front").segments, 1);
  EXPECT_EQ(catalog_.usage("back").bytes, 0u);
  EXPECT_EQ(catalog_.usage("front").oldest_start, kNow - hours(73));
  EXPECT_EQ(catalog_.spans_between("front", kNow - hours(100), kNow).size(), 3u);
  EXPECT_TRUE(catalog_.check_usage(false).empty());
  // The "back" camera's day directory went with its only file.
  EXPECT_FALSE(std::filesystem::exists(data() / "recordings/back/2026"));
  EXPECT_TRUE(std::filesystem::exists(data() / "recordings/back"));
  const ArchiveStatus st = archiver.status();
  EXPECT_TRUE(st.reachable);
  EXPECT_EQ(st.uploaded, 3);
  EXPECT_EQ(st.uploaded_bytes, 200'000u + (12u << 20) + 300'000u);
  EXPECT_EQ(st.waiting.segments, 0);

  EXPECT_EQ(archiver.run_once(), 0);  // nothing is uploaded twice
  clock_.advance(hours(23));
  EXPECT_EQ(archiver.run_once(), 1);
  EXPECT_TRUE(catalog_.segment(young)->archived());
}

TEST_F(ArchiverTest, AFileThatNoLongerHashesToWhatWasRecordedStaysHere) {
  const int64_t altered = add("front", hours(50), 300'000, 13);  // the older: first in line
  const int64_t intact = add("front", hours(49), 300'000, 12);
  for (const int64_t id : {intact, altered}) {
    // What a recorder leaves in a row: an init part and fragments, the hash of their hashes.
    SegmentRow row = *catalog_.segment(id);
    const std::vector<Fragment> frags = {{1000, 100'000, Ticks90k(0), Ticks90k(90000)},
                                         {101'000, 199'000, Ticks90k(90000), Ticks90k(90000)}};
    ClosedSegment c;
    c.wall_end = row.wall_end;
    c.bytes = row.bytes;
    c.init_bytes = 1000;
    c.fragment_index = encode_fragment_index(frags);
    const Sha256 h = part_list_hash(sha256_file_parts(data() / row.path, part_sizes(1000, frags)));
    c.sha256.assign(h.begin(), h.end());
    catalog_.close_segment(id, c);
  }
  const std::string path = catalog_.segment(altered)->path;
  {
    std::fstream f(data() / path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(150'000);
    f.put('!');  // one byte of the second fragment
  }
  Archiver archiver(catalog_, data(), settings_, clock_);
  // A batch of one: the altered file, first in line, must not hold up the one behind it.
  EXPECT_EQ(archiver.run_once(1), 1);
  EXPECT_TRUE(catalog_.segment(intact)->archived());
  EXPECT_EQ(archiver.run_once(1), 0);
  EXPECT_FALSE(catalog_.segment(altered)->archived());
  EXPECT_TRUE(std::filesystem::exists(data() / path));
  EXPECT_EQ(stored("site-a/" + path), "(no object)");
}

TEST_F(ArchiverTest, AStoreThatIsAwayChangesNothingAndIsCaughtUpWithWhenBack) {
  const int64_t a = add("front", hours(50), 150'000, 5);
  const int64_t b = add("front", hours(49), 250'000, 6);
  const int port = server_->port();
  server_->stop();
  Archiver archiver(catalog_, data(), settings_, clock_);
  try {
    archiver.run_once();
    ADD_FAILURE() << "no error with the store away";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
  for (const int64_t id : {a, b}) {
    EXPECT_FALSE(catalog_.segment(id)->archived());
    EXPECT_TRUE(std::filesystem::exists(data() / catalog_.segment(id)->path));
  }
  ArchiveStatus st = archiver.status();
  EXPECT_FALSE(st.reachable);
  EXPECT_FALSE(st.last_error.empty());
  EXPECT_EQ(st.waiting.segments, 2);
  EXPECT_EQ(st.waiting.bytes, 400'000u);

  server_ = std::make_unique<S3Server>(dir_.path() / "store", port);
  EXPECT_EQ(archiver.run_once(), 2);
  st = archiver.status();
  EXPECT_TRUE(st.reachable);
  EXPECT_EQ(st.last_error, "");
  EXPECT_EQ(st.waiting.segments, 0);
  EXPECT_TRUE(stored("site-a/" + catalog_.segment(b)->path) == contents_[catalog_.segment(b)->path]);
}

TEST_F(ArchiverTest, AStoreThatDiesMidUploadLosesNothingAndTheUploadIsDoneAgain) {
  const int64_t id = add("front", hours(30), 12 << 20, 14);  // three parts of 5 MiB
  const std::string path = catalog_.segment(id)->path;
  const int port = server_->port();
  server_->stop();
  // Dies within the second part.
  server_ = std::make_unique<S3Server>(dir_.path() / "store", port, 7 << 20);
  Archiver archiver(catalog_, data(), settings_, clock_);
  try {
    archiver.run_once();
    ADD_FAILURE() << "the upload did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
  }
  EXPECT_FALSE(catalog_.segment(id)->archived());
  EXPECT_TRUE(std::filesystem::exists(data() / path));
  EXPECT_FALSE(archiver.status().reachable);

  server_->stop();
  server_ = std::make_unique<S3Server>(dir_.path() / "store", port);
  EXPECT_EQ(stored("site-a/" + path), "(no object)");  // no half object
  EXPECT_EQ(archiver.run_once(), 1);
  EXPECT_TRUE(stored("site-a/" + path) == contents_[path]);
  EXPECT_FALSE(std::filesystem::exists(data() / path));
}

TEST_F(ArchiverTest, RetentionDeletesArchivedFootageFromTheStoreAndRetriesWhenItIsAway) {
  const int64_t oldest = add("front", hours(24 * 9), 100'000, 7);
  const int64_t old = add("front", hours(24 * 8), 100'000, 8);
  const int64_t recent = add("front", hours(24 * 3), 100'000, 9);
  Archiver archiver(catalog_, data(), settings_, clock_);
  ASSERT_EQ(archiver.run_once(), 3);
  const std::string oldest_key = catalog_.segment(oldest)->archive_key;
  const std::string old_key = catalog_.segment(old)->archive_key;
  const std::string recent_key = catalog_.segment(recent)->archive_key;

  RoomyDisk disk;
  // max_bytes is about this disk, where nothing of "front" is left: it deletes nothing.
  Retention retention(catalog_, data(), 0, {{"front", RetentionLimits{7, 1}}}, clock_, disk);
  S3Client store(s3_config(settings_));
  retention.set_archive([&store](const std::string& key) { store.remove(key); });

  const int port = server_->port();
  server_->stop();
  RetentionPass p = retention.run_once();
  EXPECT_EQ(p.deleted, 0);
  // The first one's deletion failed: its row stays, marked, and nothing else was tried.
  EXPECT_EQ(catalog_.segment(oldest)->state, SegmentState::kDeleting);
  EXPECT_EQ(catalog_.segment(old)->state, SegmentState::kClosed);

  server_ = std::make_unique<S3Server>(dir_.path() / "store", port);
  EXPECT_EQ(stored(oldest_key).size(), 100'000u);  // still in the store
  p = retention.run_once();
  EXPECT_EQ(p.deleted, 2) << testing::PrintToString(p.reasons);
  EXPECT_FALSE(catalog_.segment(oldest));
  EXPECT_FALSE(catalog_.segment(old));
  EXPECT_EQ(stored(oldest_key), "(no object)");
  EXPECT_EQ(stored(old_key), "(no object)");
  EXPECT_TRUE(catalog_.segment(recent));
  EXPECT_EQ(stored(recent_key).size(), 100'000u);
}

TEST_F(ArchiverTest, ASegmentRetentionTookDuringItsUploadIsNotArchivedNorKept) {
  const int64_t id = add("front", hours(30), 100'000, 10);
  const SegmentRow row = *catalog_.segment(id);
  catalog_.mark_deleting(id);  // as retention does before it unlinks
  EXPECT_FALSE(catalog_.set_archived(id, "site-a/" + row.path));
  EXPECT_FALSE(catalog_.segment(id)->archived());
  EXPECT_TRUE(catalog_.archive_candidates(kNow, 10).empty());
  // Closed local ones by the local index; archived ones by the plain one.
  const int64_t other = add("front", hours(40), 100'000, 11);
  EXPECT_TRUE(catalog_.set_archived(other, "k"));
  EXPECT_FALSE(catalog_.set_archived(other, "k2"));  // once
  // Retention read a row as local, the uploader archived it before retention marked it: a rule
  // about the disk must not delete what no longer takes disk space, so the stale row marks
  // nothing; read again, it does.
  const int64_t raced = add("front", hours(35), 100'000, 15);
  const SegmentRow stale = *catalog_.segment(raced);
  EXPECT_TRUE(catalog_.set_archived(raced, "k3"));
  EXPECT_FALSE(catalog_.mark_deleting_as_read(stale));
  EXPECT_EQ(catalog_.segment(raced)->state, SegmentState::kClosed);
  EXPECT_TRUE(catalog_.mark_deleting_as_read(*catalog_.segment(raced)));
  EXPECT_EQ(catalog_.segment(raced)->state, SegmentState::kDeleting);
  EXPECT_EQ(catalog_.oldest_closed("front", 10).size(), 1u);
  EXPECT_TRUE(catalog_.oldest_closed("front", 10, /*local_only=*/true).empty());
  EXPECT_TRUE(catalog_.oldest_closed_any(10).empty());
}

}  // namespace
}  // namespace vigil::archive
