// The recorder on real H.264/H.265 bitstreams (made with ffmpeg, demuxed by libavformat), with a
// fake clock: segments, fragments, wall time, rollover, timestamp and clock jumps. Every file it
// writes must scan cleanly and agree with its catalog row.
#include "record/recorder.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>

extern "C" {
#include <libavutil/mathematics.h>
}
#ifdef __SANITIZE_ADDRESS__  // the build with -DVIGIL_SANITIZE=address,...
#include <sanitizer/lsan_interface.h>
#endif

#include "catalog/sqlite.h"
#include "integrity/key_store.h"
#include "record/bmff_scan.h"
#include "record/recovery.h"
#include "test_support.h"

namespace vigil {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::FakeClock;
using test::TempDir;

const WallTime kStart = wall_from_ms(1'790'000'000'000);

class RecorderTest : public ::testing::Test {
 protected:
  RecorderTest() : catalog_(dir_.path() / "vigil.db"), clock_(kStart) {}

  std::unique_ptr<Recorder> make(
      Ticks90k segment = std::chrono::duration_cast<Ticks90k>(seconds(4))) {
    RecorderOptions o;
    o.segment_duration = segment;
    return std::make_unique<Recorder>("cam", dir_.path(), catalog_, clock_, o, nullptr);
  }

  // Feeds a clip's packets in real time order (the fake clock follows the media clock);
  // `offset` shifts the timestamps in the clip's time base.
  // When to wait for the writer thread to write what was fed: never (the disk may be stuck),
  // at the end, or after each packet (a disk that keeps up with any feeding speed).
  enum class Wait { kNever, kAtEnd, kEach };
  void feed(Recorder& r, const test::DemuxedClip& clip, int64_t offset = 0, size_t from = 0,
            size_t to = SIZE_MAX, Wait wait = Wait::kAtEnd) {
    const AVRational tb = clip.info->video_time_base;
    int64_t prev = -1;
    for (size_t i = from; i < clip.video.size() && i < to; ++i) {
      PacketPtr p = make_packet();
      av_packet_ref(p.get(), clip.video[i].get());
      if (prev >= 0) clock_.advance(WallDuration(av_rescale_q(p->dts - prev, tb, {1, 1000})));
      prev = p->dts;
      p->dts += offset;
      p->pts += offset;
      MediaPacket mp{p.get(), TrackKind::kVideo, clock_.wall_now()};
      r.on_packet(mp);
      if (wait == Wait::kEach) r.wait_idle();
    }
    if (wait == Wait::kAtEnd) r.wait_idle();
  }

  void expect_files_agree_with_catalog() {
    CheckOptions opt;
    opt.verify_hashes = true;
    opt.include_open = true;
    const CheckReport rep = check_catalog(catalog_, dir_.path(), opt);
    for (const auto& i : rep.issues) ADD_FAILURE() << i.path << ": " << i.problem;
  }

  TempDir dir_;
  Catalog catalog_;
  FakeClock clock_;
};

TEST_F(RecorderTest, SplitsIntoSegmentsAtKeyframesWithContiguousWallTime) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);  // 2 s GOP
  auto rec = make();
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip);
  rec->on_stream_end("test over", clock_.wall_now());
  rec->wait_idle();

  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 3u);  // 4 s, 4 s, 2 s
  EXPECT_EQ(rows[0].wall_start, kStart);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].state, SegmentState::kClosed);
    EXPECT_EQ(rows[i].video_codec, "h264");
    EXPECT_EQ(rows[i].width, 320);
    if (i + 1 < rows.size()) {
      EXPECT_EQ(rows[i].close_reason, "duration");
      EXPECT_EQ(rows[i].wall_end, rows[i + 1].wall_start) << "segments of a run are contiguous";
      EXPECT_EQ(rows[i].media_duration, std::chrono::duration_cast<Ticks90k>(seconds(4)));
    }
    const auto index = decode_fragment_index(rows[i].fragment_index, rows[i].init_bytes);
    ASSERT_TRUE(index);
    for (const Fragment& f : *index) {
      EXPECT_EQ(f.duration, std::chrono::duration_cast<Ticks90k>(seconds(2))) << "one GOP each";
    }
  }
  EXPECT_EQ(rows.back().close_reason, "stream ended: test over");
  EXPECT_EQ(rows.back().wall_end, kStart + seconds(10));
  expect_files_agree_with_catalog();
  for (const auto& r : rows) {
    EXPECT_EQ(test::run("ffmpeg -v error -xerror -i " + (dir_.path() / r.path).string() +
                        " -f null - 2>&1"),
              0)
        << r.path << " must decode";
  }
  EXPECT_EQ(rec->status().segments_closed, 3);
}

TEST_F(RecorderTest, PublishesTheOpenFileFragmentBySyncedFragment) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);  // 10 fps, 2 s GOPs
  OpenSegments open;
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr, &open);
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 1);  // the first keyframe opens the file
  auto pub = open.of_camera("cam");
  ASSERT_TRUE(pub);
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(pub->segment_id, rows[0].id);
  EXPECT_EQ(rows[0].state, SegmentState::kWriting);
  EXPECT_EQ(pub->path, rows[0].path);
  EXPECT_EQ(pub->wall_start, kStart);
  EXPECT_EQ(pub->video_codec, "h264");
  EXPECT_TRUE(pub->fragments.empty());
  EXPECT_EQ(pub->durable_bytes(), std::filesystem::file_size(dir_.path() / rows[0].path));

  // Frames up to 24: the 2nd keyframe (frame 20) cut the first GOP as a fragment; the second
  // GOP is still in the muxer.
  feed(rec, clip, 0, 1, 25);
  pub = open.of_camera("cam");
  ASSERT_TRUE(pub);
  ASSERT_EQ(pub->fragments.size(), 1u);
  EXPECT_EQ(pub->fragments[0].offset, pub->init_bytes);
  EXPECT_EQ(pub->fragments[0].duration, std::chrono::duration_cast<Ticks90k>(seconds(2)));
  EXPECT_EQ(pub->durable_end(), kStart + seconds(2));
  // Nothing past the synced fragment is on disk yet, and all of it is: what a crash keeps.
  EXPECT_EQ(pub->durable_bytes(), std::filesystem::file_size(dir_.path() / rows[0].path));
  EXPECT_EQ(open.durable_bytes(pub->segment_id), pub->durable_bytes());
  const BmffScan scan = scan_fragmented_mp4(dir_.path() / rows[0].path);
  EXPECT_TRUE(scan.problem.empty()) << scan.problem;
  ASSERT_EQ(scan.fragments.size(), 1u);
  EXPECT_EQ(scan.fragments[0].offset, pub->fragments[0].offset);
  EXPECT_EQ(scan.fragments[0].size, pub->fragments[0].size);
  EXPECT_EQ(scan.valid_bytes, pub->durable_bytes());

  rec.on_stream_end("done", clock_.wall_now());

  rec.wait_idle();
  EXPECT_FALSE(open.of_camera("cam")) << "closed files leave the registry";
  const auto closed = catalog_.segment(pub->segment_id);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->state, SegmentState::kClosed);
  const auto index = decode_fragment_index(closed->fragment_index, closed->init_bytes);
  ASSERT_TRUE(index);
  ASSERT_GE(index->size(), 2u);
  // What was published is what the catalog keeps: the same bytes at the same place.
  EXPECT_EQ((*index)[0].offset, pub->fragments[0].offset);
  EXPECT_EQ((*index)[0].size, pub->fragments[0].size);
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, WaitsForAKeyframeAndCountsWhatItDrops) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make();
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 5);  // starts mid-GOP: frames 5..19 are useless without their keyframe
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  EXPECT_EQ(rec->status().packets_dropped, 15);
  const auto rows = catalog_.all_segments();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().wall_start, kStart + seconds(1) + std::chrono::milliseconds(500));
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, TimestampJumpStartsANewSegmentWithoutLosingFrames) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make(std::chrono::duration_cast<Ticks90k>(seconds(60)));
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 40);  // 4 s
  // The camera's clock jumps an hour ahead (e.g. it set its time); host time goes on normally.
  clock_.advance(std::chrono::milliseconds(100));
  const int64_t hour = av_rescale_q(3600, {1, 1}, clip.info->video_time_base);
  feed(*rec, clip, hour, 40, 100);
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].close_reason, "timestamp jump");
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(4));
  EXPECT_EQ(to_wall(rows[1].media_duration), seconds(6));
  // The new segment is labelled by the host clock, not by the camera's jump.
  EXPECT_LT(rows[1].wall_start - rows[0].wall_end, seconds(1));
  EXPECT_TRUE(catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(2)).empty());
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, HostClockJumpReanchorsWallTime) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make(std::chrono::duration_cast<Ticks90k>(seconds(60)));
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 40);
  clock_.jump_wall(-std::chrono::hours(1));  // an operator or NTP sets the host clock back
  clock_.advance(std::chrono::milliseconds(100));
  feed(*rec, clip, 0, 40, 100);
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  auto rows = catalog_.all_segments();
  // The second segment is labelled an hour earlier: order by creation instead.
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.id < b.id; });
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].close_reason, "clock jump");
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(4));
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(4) - std::chrono::hours(1));
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, ReconnectRecordsAGapWithTheReason) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make();
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 40);
  rec->on_stream_end("read: no answer for 10 s", clock_.wall_now());
  rec->wait_idle();
  clock_.advance(seconds(30));
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 40);
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  const auto gaps = catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(1));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason, "read: no answer for 10 s");
  EXPECT_EQ(gaps[0].wall_start, kStart + seconds(4));
  EXPECT_GE(gaps[0].wall_end - gaps[0].wall_start, seconds(29));
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, RecordsH265) {
  const auto& clip = test::test_clip("libx265", 6, 10, 20);
  auto rec = make();
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip);
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].video_codec, "hevc");
  expect_files_agree_with_catalog();
  EXPECT_EQ(test::run("ffmpeg -v error -xerror -i " + (dir_.path() / rows[0].path).string() +
                      " -f null - 2>&1"),
            0);
}

// A crash leaves a 'writing' row and a file with a torn last fragment; recovery keeps every
// complete fragment, and nothing else.
TEST_F(RecorderTest, RecoveryCutsATornFileBackToItsLastCompleteFragment) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make(std::chrono::duration_cast<Ticks90k>(seconds(60)));
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 75);  // 3 complete GOPs flushed, the 4th in memory
  const std::string path = rec->status().current_file;
  ASSERT_FALSE(path.empty());
  const auto file = dir_.path() / path;
  const auto scan_before = scan_fragmented_mp4(file);
  ASSERT_EQ(scan_before.fragments.size(), 3u);
  // Simulate the crash: the recorder object is abandoned without closing, and half a fragment
  // of garbage was written after the last complete one.
  // Abandoned, never destroyed: a killed process runs no destructors. Not a leak to report in
  // the ASan run of scripts/test.
  [[maybe_unused]] Recorder* abandoned = rec.release();
#ifdef __SANITIZE_ADDRESS__
  __lsan_ignore_object(abandoned);
#endif
  {
    FILE* f = std::fopen(file.c_str(), "ab");
    const char torn[] = "\0\0\x10\0moof partial";
    std::fwrite(torn, 1, sizeof torn, f);
    std::fclose(f);
  }
  const RecoveryReport r = recover_catalog(catalog_, dir_.path());
  EXPECT_EQ(r.closed, 1);
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, SegmentState::kClosed);
  EXPECT_EQ(rows[0].bytes, scan_before.valid_bytes);
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(6));
  EXPECT_EQ(rows[0].wall_end, kStart + seconds(6));
  expect_files_agree_with_catalog();
}

TEST_F(RecorderTest, CheckRepairFixesMismatchesAndAdoptsOrphanFiles) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make();
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip);
  rec->on_stream_end("done", clock_.wall_now());
  rec->wait_idle();
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 3u);
  std::filesystem::remove(dir_.path() / rows[0].path);  // lost file
  {
    FILE* f = std::fopen((dir_.path() / rows[1].path).c_str(), "ab");  // torn tail
    std::fputs("garbage after the last fragment", f);
    std::fclose(f);
  }
  catalog_.delete_segment_row(rows[2].id);  // orphan file

  CheckOptions opt;
  opt.include_open = true;
  opt.verify_hashes = true;
  EXPECT_EQ(check_catalog(catalog_, dir_.path(), opt).mismatches(), 3);
  opt.repair = true;
  const CheckReport fixed = check_catalog(catalog_, dir_.path(), opt);
  EXPECT_EQ(fixed.mismatches(), 3);
  for (const auto& i : fixed.issues) EXPECT_TRUE(i.repaired) << i.path << ": " << i.problem;
  opt.repair = false;
  EXPECT_EQ(check_catalog(catalog_, dir_.path(), opt).mismatches(), 0);

  const auto after = catalog_.all_segments();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].id, rows[1].id);
  EXPECT_EQ(after[0].bytes, rows[1].bytes);  // cut back to exactly what was recorded
  EXPECT_EQ(after[0].sha256, rows[1].sha256);
  EXPECT_EQ(after[1].path, rows[2].path);  // adopted, labelled by its file name
  EXPECT_EQ(after[1].wall_start, rows[2].wall_start);
  EXPECT_EQ(after[1].wall_end, rows[2].wall_end);
  const auto gaps = catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(1));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason, "segment file lost");
}

// The slowest disk: every fsync waits until the test opens the gate (a sync that takes as many
// seconds as the test needs, without timing anything). The gate opens by itself after 60 s so
// that a recorder that wrongly waits for the disk on the reader's thread fails the test instead
// of hanging it.
class GatedSyncOps final : public test::PassThroughOps {
 public:
  int fdatasync(int fd) override {
    wait();
    return real().fdatasync(fd);
  }
  int fsync(int fd) override {
    wait();
    return real().fsync(fd);
  }

  // Until a sync waits at the gate; false after 60 s without one.
  bool wait_until_blocked() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return blocked_ > 0; });
  }
  int blocked() {
    std::lock_guard lock(mu_);
    return blocked_;
  }
  void open_gate() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool opened_by_itself() {
    std::lock_guard lock(mu_);
    return timed_out_;
  }

 private:
  void wait() {
    std::unique_lock lock(mu_);
    ++blocked_;
    cv_.notify_all();
    if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return open_; })) {
      timed_out_ = open_ = true;
    }
    --blocked_;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  int blocked_ = 0;
  bool open_ = false;
  bool timed_out_ = false;
};

// The disk stops answering (fsync blocked) while the camera goes on: the reader hands over every
// packet without waiting, nothing is lost while the queue holds what the disk owes, and the
// footage is complete once the disk answers again.
TEST_F(RecorderTest, ASlowDiskNeverStallsTheReaderAndLosesNothingThatFitsTheQueue) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);  // 100 frames, 2 s GOPs
  GatedSyncOps disk;
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  o.file_ops = &disk;
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  rec.on_stream_start(clip.info, clock_.wall_now());
  // The first keyframe: the writer creates the file and syncs.
  feed(rec, clip, 0, 0, 1, Wait::kNever);
  ASSERT_TRUE(disk.wait_until_blocked()) << "the writer must be waiting for the disk";

  // The rest of the stream, timed for information only (speed is never asserted): each call
  // returns while the writer is still stuck in its first sync.
  auto longest = std::chrono::steady_clock::duration::zero();
  const AVRational tb = clip.info->video_time_base;
  for (size_t i = 1; i < clip.video.size(); ++i) {
    clock_.advance(
        WallDuration(av_rescale_q(clip.video[i]->dts - clip.video[i - 1]->dts, tb, {1, 1000})));
    const auto t0 = std::chrono::steady_clock::now();
    rec.on_packet(MediaPacket{clip.video[i].get(), TrackKind::kVideo, clock_.wall_now()});
    longest = std::max(longest, std::chrono::steady_clock::now() - t0);
  }
  EXPECT_EQ(disk.blocked(), 1) << "every packet was taken while the disk did not answer";
  const RecorderStatus waiting = rec.status();
  EXPECT_GT(waiting.queue_bytes, 0u);
  EXPECT_EQ(waiting.queue_dropped, 0);
  std::printf("longest on_packet while fsync was blocked: %.3f ms (%zu packets)\n",
              std::chrono::duration<double, std::milli>(longest).count(), clip.video.size() - 1);

  disk.open_gate();
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();
  EXPECT_FALSE(disk.opened_by_itself()) << "the reader waited for the disk";
  const RecorderStatus s = rec.status();
  EXPECT_EQ(s.queue_overflows, 0);
  EXPECT_EQ(s.queue_dropped, 0);
  EXPECT_EQ(s.packets_dropped, 0);
  EXPECT_EQ(s.queue_bytes, 0u);
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(10)) << "every frame was recorded";
  expect_files_agree_with_catalog();
  EXPECT_EQ(test::run("ffmpeg -v error -xerror -i " + (dir_.path() / rows[0].path).string() +
                      " -f null - 2>&1"),
            0);
}

// When the disk owes more than the queue holds, the reader drops instead of waiting: every
// dropped packet is counted, the segment ends where the footage stops, and recording resumes at
// the first keyframe that finds room, with the lost stretch recorded as a gap.
TEST_F(RecorderTest, AQueueOverflowIsCountedAndRecordingResumesAtAKeyframe) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  GatedSyncOps disk;
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  o.file_ops = &disk;
  // Room for about one GOP.
  o.queue_bytes = 0;
  for (size_t i = 0; i < 20; ++i) o.queue_bytes += static_cast<size_t>(clip.video[i]->size) + 256;
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 1, Wait::kNever);
  ASSERT_TRUE(disk.wait_until_blocked());
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 1, 60, Wait::kNever);  // 6 s while the disk does not answer
  const RecorderStatus full = rec.status();
  EXPECT_EQ(full.queue_overflows, 1);
  EXPECT_GT(full.queue_dropped, 0);
  EXPECT_LE(full.queue_bytes, o.queue_bytes + 256) << "bounded (plus the overflow notice)";
  disk.open_gate();
  rec.wait_idle();
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 60, 100, Wait::kEach);  // the disk keeps up again; 60 is a keyframe
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();

  const RecorderStatus s = rec.status();
  EXPECT_EQ(s.queue_overflows, 1);
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].close_reason, "recorder queue full: the disk fell behind");
  // Every packet of the first 6 s was either recorded or counted as dropped.
  const int64_t recorded = to_wall(rows[0].media_duration) / milliseconds(100);
  EXPECT_EQ(recorded + s.queue_dropped, 60);
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(6));
  EXPECT_EQ(to_wall(rows[1].media_duration), seconds(4));
  const auto gaps = catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(1));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].reason, "recorder queue full: the disk fell behind");
  EXPECT_EQ(gaps[0].wall_start, rows[0].wall_end);
  EXPECT_EQ(gaps[0].wall_end, rows[1].wall_start);
  expect_files_agree_with_catalog();
}

// A disk that refuses to create files (`refusal`, EROFS unless set) while `read_only` is set,
// whose fdatasync fails (EIO) `sync_fails` times, and whose mkdir (fdatasync) throws an exception
// that is not a vigil::Error `throws` (`sync_throws`) times.
class FlakyOps final : public test::PassThroughOps {
 public:
  std::atomic<bool> read_only{false};
  std::atomic<int> throws{0};
  std::atomic<int> sync_throws{0};
  std::atomic<int> sync_fails{0};  // fdatasync fails with EIO this many times
  std::atomic<int> creates_refused{0};
  std::atomic<int> refusal{EROFS};

  int open(const char* path, int flags, mode_t mode) override {
    if (read_only && (flags & O_CREAT)) {
      ++creates_refused;
      errno = refusal;
      return -1;
    }
    return FileOps::real().open(path, flags, mode);
  }
  int fdatasync(int fd) override {
    if (sync_fails > 0) {
      --sync_fails;
      errno = EIO;
      return -1;
    }
    if (sync_throws > 0) {
      --sync_throws;
      throw std::bad_alloc();
    }
    return FileOps::real().fdatasync(fd);
  }
  int mkdir(const char* path, mode_t mode) override {
    if (throws > 0) {
      --throws;
      throw std::runtime_error("injected: not a vigil::Error");
    }
    return FileOps::real().mkdir(path, mode);
  }
};

// The file system turns read-only (new files refused, EROFS) across a segment rollover: a disk
// error in the status, retried at keyframes after 1, 2, 4, 4 ... s (the cap, here 4 s) rather
// than at every keyframe, and recording resumes by itself once files can be created again.
TEST_F(RecorderTest, AReadOnlyDiskIsADiskErrorRetriedWithBackoffUntilItIsWritable) {
  const auto& clip = test::test_clip("libx264", 30, 10, 10);  // 1 s GOPs
  FlakyOps disk;
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(4));
  o.max_retry_after_failure = seconds(4);
  o.file_ops = &disk;
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 35);  // 0-3.4 s: the first file
  disk.read_only = true;
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 35, 200);  // up to 19.9 s: the rollover at 4 s cannot create its file
  const RecorderStatus ro = rec.status();
  EXPECT_TRUE(ro.disk_error);
  EXPECT_EQ(ro.last_error.rfind("disk error: ", 0), 0u) << ro.last_error;
  EXPECT_NE(ro.last_error.find("Read-only file system"), std::string::npos) << ro.last_error;
  EXPECT_TRUE(ro.current_file.empty());
  // Tried at 4, 5, 7, 11, 15 and 19 s; next at 23 s.
  EXPECT_EQ(disk.creates_refused, 6);
  disk.read_only = false;
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 200, 300);
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();
  EXPECT_FALSE(rec.status().disk_error);
  const auto rows = catalog_.all_segments();
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0].wall_end, kStart + seconds(4));
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(23)) << "resumed at the first retry after";
  const auto gaps = catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(1));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].wall_start, kStart + seconds(4));
  EXPECT_EQ(gaps[0].wall_end, kStart + seconds(23));
  EXPECT_NE(gaps[0].reason.find("Read-only file system"), std::string::npos) << gaps[0].reason;
  expect_files_agree_with_catalog();
}

// A full disk (ENOSPC) whose retention pass finds only held footage (disk_held_full): the
// recorder asks for that pass, then opens no file at all while the disk stays so, leaving what
// space there is to the catalog (an admin's login, the release of the hold); once the hold is
// released and space freed, it resumes within a second.
TEST_F(RecorderTest, ADiskFullOfHeldFootageOpensNoFileUntilSpaceIsFreed) {
  const auto& clip = test::test_clip("libx264", 30, 10, 10);  // 1 s GOPs
  FlakyOps disk;
  disk.refusal = ENOSPC;
  std::atomic<bool> held_full{false};
  std::atomic<int> passes{0};
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(4));
  o.file_ops = &disk;
  o.disk_held_full = [&] { return held_full.load(); };
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, [&] {
    ++passes;
    held_full = true;  // what retention finds: nothing to delete but held footage
  });
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 35);  // 0-3.4 s: the first file
  disk.read_only = true;
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 35, 200);  // up to 19.9 s: the rollover at 4 s finds the disk full
  rec.wait_idle();
  EXPECT_EQ(disk.creates_refused, 1) << "no file tried while the disk is full of held footage";
  EXPECT_GE(passes, 1);
  EXPECT_TRUE(rec.status().disk_full);
  // The hold released, retention freed space: recording resumes at the next keyframe.
  disk.read_only = false;
  held_full = false;
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 200, 300);
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();
  EXPECT_EQ(disk.creates_refused, 1);
  EXPECT_FALSE(rec.status().disk_full);
  const auto rows = catalog_.all_segments();
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0].wall_end, kStart + seconds(4));
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(20)) << "resumed at the first keyframe after";
  expect_files_agree_with_catalog();
}

// A failed write whose segment the catalog then refuses to end too (here another writer holds
// the catalog's lock past the busy timeout, as a full disk refuses it): the row is not left
// 'writing' until the next start, but ended at the next try, before the next segment opens.
TEST_F(RecorderTest, ASegmentTheCatalogRefusedToEndIsEndedAtTheNextTry) {
  const auto& clip = test::test_clip("libx264", 30, 10, 10);  // 1 s GOPs
  FlakyOps disk;
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  o.file_ops = &disk;
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 25);  // fragments at 0-1 s and 1-2 s synced
  {
    sql::SqliteConnection other((dir_.path() / "vigil.db").string());
    other.exec("BEGIN IMMEDIATE");
    disk.sync_fails = 1;
    clock_.advance(milliseconds(100));
    feed(rec, clip, 0, 25, 35);  // the fragment ending at 3 s fails its sync
    const auto rows = catalog_.all_segments();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].state, SegmentState::kWriting) << "the catalog refused its end";
    other.exec("ROLLBACK");
  }
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 35, 100);
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, SegmentState::kClosed);
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(2)) << "ended at its last synced fragment";
  EXPECT_NE(rows[0].close_reason.find("write failed"), std::string::npos) << rows[0].close_reason;
  EXPECT_EQ(rows[1].state, SegmentState::kWriting);
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(4)) << "the first keyframe after the 1 s wait";
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();
  EXPECT_EQ(catalog_.all_segments()[1].state, SegmentState::kClosed);
  expect_files_agree_with_catalog();
}

// Whatever a component below throws on the writer thread, even an exception that is not a
// vigil::Error, is caught at its top: reported, and the recorder goes on at a later keyframe.
TEST_F(RecorderTest, TheWriterCatchesEverythingAndGoesOn) {
  const auto& clip = test::test_clip("libx264", 30, 10, 10);  // 1 s GOPs
  FlakyOps disk;
  disk.throws = 1;  // the very first mkdir (recordings/)
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  o.file_ops = &disk;
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 50);
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();
  const RecorderStatus s = rec.status();
  EXPECT_NE(s.last_error.find("injected: not a vigil::Error"), std::string::npos) << s.last_error;
  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].wall_start, kStart + seconds(1)) << "retried at the next keyframe";
  EXPECT_EQ(to_wall(rows[0].media_duration), seconds(4));
  expect_files_agree_with_catalog();
}

// The writer thread is a supervised component: a failure that is not a disk error (here
// std::bad_alloc from the fsync of a fragment) is listed in the component registry (status,
// /metrics), the segment ends at its last synced fragment with the lost stretch recorded as a
// gap, and the restarted writer goes on with what the reader queued meanwhile: every packet is
// recorded, lost with the unsynced fragment inside the gap, or counted as dropped.
TEST_F(RecorderTest, AWriterFailureIsReportedAsAComponentAndRecordingResumes) {
  const auto& clip = test::test_clip("libx264", 30, 10, 10);  // 1 s GOPs
  FlakyOps disk;
  ComponentRegistry components(clock_);
  RecorderOptions o;
  o.segment_duration = std::chrono::duration_cast<Ticks90k>(seconds(60));
  o.file_ops = &disk;
  o.components = &components;
  o.writer_restart.initial = milliseconds(50);
  Recorder rec("cam", dir_.path(), catalog_, clock_, o, nullptr);
  {
    const auto listed = components.snapshot();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0].id.component, "writer");
    EXPECT_EQ(listed[0].id.camera, "cam");
    EXPECT_FALSE(listed[0].failed);
  }
  rec.on_stream_start(clip.info, clock_.wall_now());
  feed(rec, clip, 0, 0, 35);  // fragments 0-1 s, 1-2 s, 2-3 s synced
  disk.sync_throws = 1;       // the fsync of the fragment 3-4 s, at the keyframe at 4 s
  clock_.advance(milliseconds(100));
  feed(rec, clip, 0, 35, 100);
  rec.on_stream_end("done", clock_.wall_now());
  rec.wait_idle();

  const auto listed = components.snapshot();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].failed) << "failed within the last minute";
  EXPECT_FALSE(listed[0].restarting) << "restarted";
  EXPECT_EQ(listed[0].failures, 1);
  EXPECT_NE(listed[0].last_error.find("bad_alloc"), std::string::npos) << listed[0].last_error;
  const RecorderStatus s = rec.status();
  EXPECT_NE(s.last_error.find("bad_alloc"), std::string::npos) << s.last_error;
  EXPECT_FALSE(s.disk_error) << "not the disk's failure";
  EXPECT_EQ(s.queue_bytes, 0u);

  const auto rows = catalog_.all_segments();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].wall_end, kStart + seconds(3)) << "cut back to the last synced fragment";
  EXPECT_EQ(rows[1].wall_start, kStart + seconds(5)) << "resumed at the keyframe after the delay";
  EXPECT_EQ(rows[1].wall_end, kStart + seconds(10));
  const auto gaps = catalog_.gaps_between("cam", kStart, kStart + std::chrono::hours(1));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].wall_start, kStart + seconds(3));
  EXPECT_EQ(gaps[0].wall_end, kStart + seconds(5));
  EXPECT_NE(gaps[0].reason.find("bad_alloc"), std::string::npos) << gaps[0].reason;
  // 4.0-4.9 s: the packet being written when it failed and those before the next keyframe.
  EXPECT_EQ(s.packets_dropped, 10);
  expect_files_agree_with_catalog();
}

// ---- The integrity chain (docs/design/integrity.md) ----

class RecorderChainTest : public RecorderTest {
 protected:
  std::unique_ptr<Recorder> make_signed(Ticks90k segment) {
    auto signer = std::make_shared<CheckpointSigner>();
    signer->key = load_or_create_signing_key(dir_.path());
    signer->fingerprint = key_fingerprint(signer->key.public_key);
    RecorderOptions o;
    o.segment_duration = segment;
    o.signer = signer;
    return std::make_unique<Recorder>("cam", dir_.path(), catalog_, clock_, o, nullptr);
  }
  std::vector<ChainRow> chain() {
    std::vector<ChainRow> rows;
    catalog_.for_each_chain_row("cam", [&](const ChainRow& r) { rows.push_back(r); });
    return rows;
  }
  CheckReport check(bool hashes = true, bool repair = false) {
    CheckOptions opt;
    opt.verify_hashes = hashes;
    opt.include_open = true;
    opt.repair = repair;
    return check_catalog(catalog_, dir_.path(), opt);
  }
  static std::string issues_of(const CheckReport& r) {
    std::string s;
    for (const auto& i : r.issues) s += i.path + ": " + i.problem + "\n";
    return s;
  }
  void edit(const std::string& sql) {
    sql::SqliteConnection db((dir_.path() / "vigil.db").string());
    db.exec(sql);
  }
  static constexpr Ticks90k k4s = std::chrono::duration_cast<Ticks90k>(seconds(4));
  // 10 s of H.264 in 2 s GOPs through a recorder of its own, in 4 s segments, to the end.
  void record_clip() {
    const auto& clip = test::test_clip("libx264", 10, 10, 20);
    auto rec = make_signed(k4s);
    rec->on_stream_start(clip.info, clock_.wall_now());
    feed(*rec, clip);
    rec->on_stream_end("done", clock_.wall_now());
    rec->wait_idle();
  }
};

TEST_F(RecorderChainTest, TheChainCrossesSegmentFilesAndRestartsWithTheGapInIt) {
  record_clip();
  clock_.advance(seconds(30));
  record_clip();  // a restart: a new recorder, the chain continues from the catalog
  const auto rows = chain();
  ASSERT_EQ(rows.size(), 11u);  // 5 fragments, the gap, 5 fragments
  std::set<int64_t> segments;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].entry.sequence, i);
    EXPECT_EQ(rows[i].link, chain_link(i ? rows[i - 1].link : kChainGenesis, rows[i].entry));
    if (i != 5) {
      EXPECT_EQ(rows[i].entry.kind, ChainKind::kFragment) << i;
      EXPECT_EQ(rows[i].entry.duration, std::chrono::duration_cast<Ticks90k>(seconds(2)));
      segments.insert(rows[i].segment_id);
    }
  }
  EXPECT_EQ(segments.size(), 6u) << "the chain crosses segment files";
  const ChainEntry& gap = rows[5].entry;
  EXPECT_EQ(gap.kind, ChainKind::kGap);
  EXPECT_EQ(gap.note, "vigil was not recording");
  EXPECT_EQ(gap.wall_start, kStart + seconds(10));
  EXPECT_EQ(rows[6].entry.wall_start, gap.wall_start + to_wall(gap.duration));
  EXPECT_EQ(rows[0].entry.wall_start, kStart);

  const CheckReport r = check();
  EXPECT_EQ(r.mismatches(), 0) << issues_of(r);
  EXPECT_EQ(r.chain_entries, 11);
  EXPECT_GE(r.checkpoints, 6) << "one at every segment close at least";
  EXPECT_TRUE(r.unverified.empty());
  for (const auto& cp : catalog_.checkpoints("cam")) {
    EXPECT_EQ(cp.checkpoint.head, rows[cp.checkpoint.sequence].link);
  }
}

TEST_F(RecorderChainTest, AfterACrashTheChainContinuesFromItsLastDurableLinkWithTheLoss) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  auto rec = make_signed(std::chrono::duration_cast<Ticks90k>(seconds(60)));
  rec->on_stream_start(clip.info, clock_.wall_now());
  feed(*rec, clip, 0, 0, 75);  // 3 fragments durable, the 4th GOP in memory
  [[maybe_unused]] Recorder* abandoned = rec.release();  // kill -9: no destructor runs
#ifdef __SANITIZE_ADDRESS__
  __lsan_ignore_object(abandoned);
#endif
  // The crash also came between the last fragment's fsync and its chain row: the file holds a
  // fragment the chain never got. Simulated by removing that row.
  edit("DELETE FROM chain_entry WHERE sequence = 2");
  const RecoveryReport rr = recover_catalog(catalog_, dir_.path());
  EXPECT_EQ(rr.closed, 1);
  auto rows = chain();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].entry.kind, ChainKind::kLost);
  EXPECT_EQ(rows[2].entry.wall_start, kStart + seconds(4));
  EXPECT_EQ(rows[2].entry.duration, std::chrono::duration_cast<Ticks90k>(seconds(2)))
      << "the fragment that was written but never chained is cut off and counted as lost";
  EXPECT_NE(rows[2].entry.note.find("crash"), std::string::npos) << rows[2].entry.note;
  const auto segs = catalog_.all_segments();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(to_wall(segs[0].media_duration), seconds(4));

  clock_.advance(seconds(20));
  auto again = make_signed(std::chrono::duration_cast<Ticks90k>(seconds(60)));
  again->on_stream_start(clip.info, clock_.wall_now());
  feed(*again, clip, 0, 0, 40);
  again->on_stream_end("done", clock_.wall_now());
  again->wait_idle();
  rows = chain();
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[3].entry.kind, ChainKind::kGap);
  EXPECT_EQ(rows[3].entry.wall_start, kStart + seconds(6));
  const CheckReport r = check();
  EXPECT_EQ(r.mismatches(), 0) << issues_of(r);
  EXPECT_EQ(r.chain_entries, 6);
}

TEST_F(RecorderChainTest, AnAlteredFileIsReportedAndRepairNeverLaundersIt) {
  record_clip();
  const auto segs = catalog_.all_segments();
  ASSERT_EQ(segs.size(), 3u);
  const auto file = dir_.path() / segs[0].path;
  const auto index = decode_fragment_index(segs[0].fragment_index, segs[0].init_bytes);
  ASSERT_TRUE(index && index->size() == 2);
  {
    // One bit in the second fragment's media data.
    FILE* f = std::fopen(file.c_str(), "r+b");
    const long at = static_cast<long>((*index)[1].offset + (*index)[1].size - 10);
    std::fseek(f, at, SEEK_SET);
    const int c = std::fgetc(f);
    std::fseek(f, at, SEEK_SET);
    std::fputc(c ^ 1, f);
    std::fclose(f);
  }
  EXPECT_EQ(check(false).mismatches(), 0) << "without --hash the structure still agrees";
  const CheckReport found = check();
  bool fragment_named = false;
  for (const auto& i : found.issues) {
    EXPECT_TRUE(i.altered) << i.problem;
    EXPECT_EQ(i.camera_id, "cam");
    if (i.problem.find("fragment 1 ") != std::string::npos) {
      fragment_named = true;
      EXPECT_EQ(i.at, kStart + seconds(2));
    }
  }
  EXPECT_TRUE(fragment_named) << issues_of(found);
  const auto bytes_before = sha256_file(file);
  const CheckReport repaired = check(true, true);
  ASSERT_GE(repaired.mismatches(), 1);
  for (const auto& i : repaired.issues) {
    EXPECT_FALSE(i.repaired) << i.problem;
    EXPECT_TRUE(i.altered) << i.problem;
  }
  EXPECT_EQ(sha256_file(file), bytes_before) << "the altered file is kept as it is";
  EXPECT_EQ(catalog_.segment(segs[0].id)->sha256, segs[0].sha256) << "its recorded hash stays";
  EXPECT_EQ(check().mismatches(), found.mismatches()) << "still reported after --repair";
}

TEST_F(RecorderChainTest, EditedRemovedRowsAndForgedCheckpointsAreReported) {
  record_clip();
  ASSERT_EQ(check().mismatches(), 0);

  edit("UPDATE chain_entry SET wall_start_ms = wall_start_ms + 1000 WHERE sequence = 1");
  CheckReport r = check(false);
  ASSERT_EQ(r.mismatches(), 2) << issues_of(r);  // the link, and the fragment's time
  EXPECT_NE(issues_of(r).find("entry 1 at"), std::string::npos) << issues_of(r);
  EXPECT_NE(issues_of(r).find("row was edited"), std::string::npos) << issues_of(r);
  edit("UPDATE chain_entry SET wall_start_ms = wall_start_ms - 1000 WHERE sequence = 1");
  ASSERT_EQ(check().mismatches(), 0);

  edit("DELETE FROM chain_entry WHERE sequence = 3");
  r = check(false);
  EXPECT_NE(issues_of(r).find("entries were removed"), std::string::npos) << issues_of(r);
  EXPECT_NE(issues_of(r).find("in the hash chain"), std::string::npos) << issues_of(r);

  edit("UPDATE checkpoint SET wall_time_ms = wall_time_ms + 1 WHERE id = 1");
  r = check(false);
  EXPECT_NE(issues_of(r).find("bad signature"), std::string::npos) << issues_of(r);
}

}  // namespace
}  // namespace vigil
