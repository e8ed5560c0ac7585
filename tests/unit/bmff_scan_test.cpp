// The box scanner reads untrusted bytes: truncated, garbage and hostile files give an answer
// with a problem, never a crash or an exception.
#include "record/bmff_scan.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "record/segment_writer.h"
#include "test_support.h"

namespace vigil {
namespace {

std::filesystem::path write_segment(const std::filesystem::path& dir) {
  const auto& clip = test::test_clip("libx264", 10, 10, 20);
  const auto file = dir / "seg.mp4";
  SegmentWriter w(file, *clip.info);
  for (size_t i = 0; i < 60; ++i) {
    PacketPtr p = make_packet();
    av_packet_ref(p.get(), clip.video[i].get());
    if (i > 0 && (p->flags & AV_PKT_FLAG_KEY)) w.flush_fragment();
    p->dts = p->pts = static_cast<int64_t>(i) * 9000;
    p->duration = 9000;
    w.write(p.get(), TrackKind::kVideo);
  }
  w.flush_fragment();
  w.finish();
  return file;
}

TEST(BmffScan, FindsInitAndEveryFragmentOfAWrittenSegment) {
  test::TempDir dir;
  const auto file = write_segment(dir.path());
  const BmffScan s = scan_fragmented_mp4(file);
  EXPECT_EQ(s.problem, "");
  EXPECT_TRUE(s.has_init);
  EXPECT_EQ(s.video_timescale, 90000u);
  ASSERT_EQ(s.fragments.size(), 3u);
  EXPECT_EQ(s.fragments[0].offset, s.init_bytes);
  EXPECT_EQ(s.valid_bytes, s.file_bytes);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s.fragments[i].decode_start, Ticks90k(180000 * static_cast<int64_t>(i)));
    EXPECT_EQ(s.fragments[i].duration, Ticks90k(180000));
    EXPECT_EQ(s.fragments[i].video_samples, 20u);
  }
}

TEST(BmffScan, EveryTruncationKeepsExactlyTheCompleteFragments) {
  test::TempDir dir;
  const auto file = write_segment(dir.path());
  const BmffScan full = scan_fragmented_mp4(file);
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto cut = dir.path() / "cut.mp4";
  // Cut at many points, including every box boundary ±1.
  std::vector<size_t> points;
  for (size_t p = 0; p < bytes.size(); p += 997) points.push_back(p);
  for (const auto& f : full.fragments) {
    for (int d = -1; d <= 1; ++d) points.push_back(f.offset + f.size + static_cast<size_t>(d));
  }
  for (size_t p : points) {
    if (p > bytes.size()) continue;
    std::ofstream(cut, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(p));
    const BmffScan s = scan_fragmented_mp4(cut);
    size_t expect = 0;
    for (const auto& f : full.fragments) expect += (f.offset + f.size <= p) ? 1 : 0;
    EXPECT_EQ(s.fragments.size(), expect) << "cut at " << p;
    EXPECT_LE(s.valid_bytes, p);
    bool at_boundary = p == full.init_bytes;
    for (const auto& f : full.fragments) at_boundary |= p == f.offset + f.size;
    if (!at_boundary) {
      EXPECT_NE(s.problem, "") << "cut at " << p;
    }
  }
}

// A corrupt sample count: a trun without per-sample fields claiming four billion samples was
// summed sample by sample (seconds per fragment, minutes under ASan: found by tests/fuzz), and
// durations that large overflowed the signed sums. It is now an implausible fragment, answered
// at once, and the fragments before it are kept.
TEST(BmffScan, AnAbsurdSampleCountIsAProblemNotALoop) {
  test::TempDir dir;
  const auto file = write_segment(dir.path());
  const BmffScan full = scan_fragmented_mp4(file);
  ASSERT_EQ(full.fragments.size(), 3u);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t trun = bytes.find("trun", full.fragments[1].offset);
  ASSERT_NE(trun, std::string::npos);
  // version 0, no flags (every sample has the tfhd/trex default duration), count 2^32 - 1.
  bytes.replace(trun + 4, 8, std::string("\0\0\0\0\xff\xff\xff\xff", 8));
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  const BmffScan s = scan_fragmented_mp4(file);
  ASSERT_EQ(s.fragments.size(), 1u);
  EXPECT_EQ(s.valid_bytes, full.fragments[1].offset);
  EXPECT_NE(s.problem.find("implausible"), std::string::npos) << s.problem;
}

// A second moov after the fragments moved init_bytes past them (the fragment index counts
// offsets from init_bytes): found by tests/fuzz. It is a problem where it starts.
TEST(BmffScan, AMoovAfterTheFragmentsIsAProblem) {
  test::TempDir dir;
  const auto file = write_segment(dir.path());
  const BmffScan full = scan_fragmented_mp4(file);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t moov = bytes.find("moov") - 4;
  bytes += bytes.substr(moov, full.init_bytes - moov);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  const BmffScan s = scan_fragmented_mp4(file);
  EXPECT_EQ(s.init_bytes, full.init_bytes);
  EXPECT_EQ(s.fragments.size(), 3u);
  EXPECT_EQ(s.valid_bytes, full.file_bytes);
  EXPECT_EQ(s.problem, "unexpected or unreadable moov at byte " + std::to_string(full.file_bytes));
}

TEST(BmffScan, GarbageIsAnAnswerNotACrash) {
  test::TempDir dir;
  std::mt19937 rng(42);
  const auto file = dir.path() / "junk.mp4";
  for (int round = 0; round < 200; ++round) {
    std::string junk(static_cast<size_t>(rng() % 4096), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (round % 3 == 0 && junk.size() > 16) {
      // A plausible header with an absurd size.
      const char hdr[] = {0, 0, 0, 1, 'm', 'o', 'o', 'f', 0x7f, 0, 0, 0, 0, 0, 0, 0};
      std::copy(hdr, hdr + 16, junk.begin());
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << junk;
    const BmffScan s = scan_fragmented_mp4(file);
    EXPECT_LE(s.valid_bytes, junk.size());
  }
  EXPECT_FALSE(scan_fragmented_mp4(dir.path() / "missing.mp4").readable);
}

}  // namespace
}  // namespace vigil
