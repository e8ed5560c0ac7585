#include "ingest/decode_timestamps.h"

#include <gtest/gtest.h>

#include <vector>

namespace vigil {
namespace {

constexpr Ticks90k kFrame{3600};  // 25 fps

// Presentation times, in decode order, of `gops` GOPs built from a pattern of frame numbers
// within the GOP (e.g. I P B B: 0 3 1 2).
std::vector<Ticks90k> stream(const std::vector<int>& pattern, int gop_len, int gops) {
  std::vector<Ticks90k> out;
  for (int g = 0; g < gops; ++g) {
    for (int n : pattern) out.push_back(kFrame * (g * gop_len + n) + Ticks90k(900000));
  }
  return out;
}

std::vector<Ticks90k> decode_times(DecodeTimestamps& d, const std::vector<Ticks90k>& pts) {
  std::vector<Ticks90k> out;
  for (Ticks90k p : pts) out.push_back(d.next(p));
  return out;
}

void expect_valid(const std::vector<Ticks90k>& pts, const std::vector<Ticks90k>& dts,
                  std::size_t from = 0) {
  for (std::size_t i = 1; i < dts.size(); ++i) EXPECT_GT(dts[i], dts[i - 1]) << "frame " << i;
  for (std::size_t i = from; i < dts.size(); ++i) EXPECT_LE(dts[i], pts[i]) << "frame " << i;
}

TEST(DecodeTimestamps, WithoutReorderingDecodeTimesArePresentationTimes) {
  DecodeTimestamps d;
  const auto pts = stream({0, 1, 2, 3, 4}, 5, 4);
  EXPECT_EQ(decode_times(d, pts), pts);
  EXPECT_EQ(d.reorder_depth(), 0u);
}

TEST(DecodeTimestamps, DeclaredDepthGivesEvenlySpacedDecodeTimes) {
  // I P B B with B-frames shown before the P that precedes them in decode order: depth 1.
  DecodeTimestamps d(1);
  const auto pts = stream({0, 3, 1, 2, 6, 4, 5, 9, 7, 8}, 10, 3);
  const auto dts = decode_times(d, pts);
  expect_valid(pts, dts);
  // The first frame is decoded just before the first presentation time; from then on one
  // frame behind the presentation order, evenly.
  EXPECT_LT(dts[0], pts[0]);
  EXPECT_EQ(dts[1], pts[0]);
  for (std::size_t i = 2; i < dts.size(); ++i) EXPECT_EQ(dts[i] - dts[i - 1], kFrame) << i;
}

TEST(DecodeTimestamps, BPyramidNeedsDepthTwo) {
  // I P4 B2 b1 b3: b1 is shown before both P4 and B2.
  DecodeTimestamps d(2);
  const auto pts = stream({0, 4, 2, 1, 3, 8, 6, 5, 7}, 9, 3);
  const auto dts = decode_times(d, pts);
  expect_valid(pts, dts);
  EXPECT_EQ(d.reorder_depth(), 2u);
}

TEST(DecodeTimestamps, UndeclaredReorderingIsLearntWithoutAJump) {
  // Parameter sets that do not say: depth 0 at first. Decode times never go backwards, a
  // frame is never given a time far from its own, and within two GOPs they are exact again.
  DecodeTimestamps d(0);
  const auto pts = stream({0, 3, 1, 2, 6, 4, 5, 9, 7, 8}, 10, 4);
  const auto dts = decode_times(d, pts);
  expect_valid(pts, dts, 10);
  for (std::size_t i = 0; i < dts.size(); ++i) EXPECT_LE(dts[i] - pts[i], kFrame * 3) << i;
  EXPECT_EQ(d.reorder_depth(), 1u);
  for (std::size_t i = 21; i < dts.size(); ++i) EXPECT_EQ(dts[i] - dts[i - 1], kFrame) << i;
}

TEST(DecodeTimestamps, RepeatedPresentationTimesStillGiveIncreasingDecodeTimes) {
  DecodeTimestamps d;
  const std::vector<Ticks90k> pts = {Ticks90k(0), kFrame, kFrame, kFrame * 2, kFrame * 4};
  const auto dts = decode_times(d, pts);
  for (std::size_t i = 1; i < dts.size(); ++i) EXPECT_GT(dts[i], dts[i - 1]);
  EXPECT_EQ(dts.back(), pts.back());
}

TEST(DecodeTimestamps, AClockJumpStartsANewRun) {
  DecodeTimestamps d(1);
  auto pts = stream({0, 3, 1, 2}, 4, 2);
  decode_times(d, pts);
  // The camera's clock went back an hour: decode times follow it at once (the recorder sees
  // the jump and starts a new file) instead of creeping on from the old times.
  const auto later = stream({0, 3, 1, 2}, 4, 2);
  std::vector<Ticks90k> back;
  for (Ticks90k p : later) back.push_back(p - Ticks90k(90000 * 3600));
  const auto dts = decode_times(d, back);
  EXPECT_LT(dts.front(), back.front() + kFrame);
  expect_valid(back, dts);
}

}  // namespace
}  // namespace vigil
