// Hysteresis, merge gap and minimum duration on synthetic per-frame levels (5 frames a second).
#include "events/event_tracker.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

using std::chrono::milliseconds;
const WallTime kT0 = wall_from_ms(1'790'000'000'000);
constexpr milliseconds kFrame{200};

Detection motion(double score, std::vector<std::string> zones = {}) {
  Detection d;
  d.type = DetectionType::kMotion;
  d.score = score;
  d.zones = std::move(zones);
  d.box = NormBox{static_cast<float>(score), 0, 0.1f, 0.1f};
  return d;
}

// Feeds frames from `from` for `frames` frames, holding or not; returns the steps of interest.
std::vector<TrackerStep> feed(EventTracker& t, WallTime from, int frames, const Detection* d) {
  std::vector<TrackerStep> out;
  for (int i = 0; i < frames; ++i) {
    auto s = t.observe(from + kFrame * i, d);
    if (s.kind != TrackerStep::Kind::kNone && s.kind != TrackerStep::Kind::kGrew) out.push_back(s);
  }
  return out;
}

TEST(EventTracker, StartsAfterMinDurationAtTheFirstFrameAndEndsAtTheLastSighting) {
  EventTracker t({milliseconds(1000), milliseconds(3000)});
  const Detection d = motion(0.5);
  // Frames 0..4 (800 ms of holding): not yet an event.
  EXPECT_TRUE(feed(t, kT0, 5, &d).empty());
  // Frame 5 is at 1000 ms: started, dated at frame 0.
  auto s = t.observe(kT0 + kFrame * 5, &d);
  ASSERT_EQ(s.kind, TrackerStep::Kind::kStarted);
  EXPECT_EQ(s.event.start, kT0);
  EXPECT_TRUE(s.new_peak);
  // Holds until frame 20 (4000 ms), then quiet: ends 3 s later at the last sighting.
  feed(t, kT0 + kFrame * 6, 15, &d);
  auto quiet = feed(t, kT0 + kFrame * 21, 15, nullptr);
  EXPECT_TRUE(quiet.empty());  // 15 quiet frames = 3000 ms: not beyond the gap yet
  auto end = t.observe(kT0 + kFrame * 36, nullptr);
  ASSERT_EQ(end.kind, TrackerStep::Kind::kEnded);
  EXPECT_EQ(end.event.start, kT0);
  EXPECT_EQ(end.event.last_seen, kT0 + kFrame * 20);
  EXPECT_TRUE(t.idle());
}

TEST(EventTracker, ShorterThanMinDurationIsNoEvent) {
  EventTracker t({milliseconds(1000), milliseconds(3000)});
  const Detection d = motion(0.9);
  // 4 frames of motion (600 ms), a quiet frame, 4 more: each candidate is dropped.
  EXPECT_TRUE(feed(t, kT0, 4, &d).empty());
  EXPECT_TRUE(feed(t, kT0 + kFrame * 4, 1, nullptr).empty());
  EXPECT_TRUE(feed(t, kT0 + kFrame * 5, 4, &d).empty());
  EXPECT_TRUE(feed(t, kT0 + kFrame * 9, 50, nullptr).empty());
  EXPECT_TRUE(t.idle());
}

TEST(EventTracker, ARestartWithinTheMergeGapContinuesTheEvent) {
  EventTracker t({milliseconds(0), milliseconds(3000)});
  const Detection a = motion(0.3, {"door"});
  const Detection b = motion(0.8, {"shelves"});
  auto first = t.observe(kT0, &a);
  ASSERT_EQ(first.kind, TrackerStep::Kind::kStarted);  // min_duration 0: at once
  feed(t, kT0 + kFrame, 4, &a);
  // 2.8 s quiet, then motion again: the same event, now with both zones and a higher peak.
  EXPECT_TRUE(feed(t, kT0 + kFrame * 5, 14, nullptr).empty());
  auto again = t.observe(kT0 + kFrame * 19, &b);
  EXPECT_EQ(again.kind, TrackerStep::Kind::kGrew);
  EXPECT_TRUE(again.new_peak);
  EXPECT_EQ(again.event.start, kT0);
  EXPECT_EQ(again.event.zones, (std::set<std::string>{"door", "shelves"}));
  EXPECT_DOUBLE_EQ(again.event.peak_score, 0.8);
  EXPECT_EQ(again.event.peak_at, kT0 + kFrame * 19);
  EXPECT_FLOAT_EQ(again.event.box->x, 0.8f);
  // A lower score later is no new peak and keeps the peak's box.
  auto lower = t.observe(kT0 + kFrame * 20, &a);
  EXPECT_FALSE(lower.new_peak);
  EXPECT_FLOAT_EQ(lower.event.box->x, 0.8f);
  // Beyond the gap: ended; the next motion is a new event.
  EXPECT_EQ(t.observe(kT0 + kFrame * 20 + milliseconds(3001), nullptr).kind,
            TrackerStep::Kind::kEnded);
  auto next = t.observe(kT0 + kFrame * 40, &a);
  EXPECT_EQ(next.kind, TrackerStep::Kind::kStarted);
  EXPECT_EQ(next.event.start, kT0 + kFrame * 40);
}

TEST(EventTracker, ExpireEndsAnEventWhenFramesStopComing) {
  EventTracker t({milliseconds(0), milliseconds(4000)});
  const Detection d = motion(0.5);
  t.observe(kT0, &d);
  t.observe(kT0 + kFrame, &d);
  EXPECT_EQ(t.expire(kT0 + kFrame + milliseconds(4000)).kind, TrackerStep::Kind::kNone);
  auto s = t.expire(kT0 + kFrame + milliseconds(4001));
  ASSERT_EQ(s.kind, TrackerStep::Kind::kEnded);
  EXPECT_EQ(s.event.last_seen, kT0 + kFrame);
  EXPECT_TRUE(t.idle());
}

// Sustained motion is sampled once per GOP: for ~1.8 s of a 2 s GOP no frame comes. A merge gap
// shorter than that must not end (and split) the event for want of skipped frames; a frame
// without motion still ends it by the merge gap, and frames that stop for good end it once
// kAnalysisQuietMax has passed.
TEST(EventTracker, ExpireWaitsOutTheQuietOfSampledMotion) {
  EventTracker t({milliseconds(0), milliseconds(1000)});
  const Detection d = motion(0.5);
  ASSERT_EQ(t.observe(kT0, &d).kind, TrackerStep::Kind::kStarted);
  EXPECT_EQ(t.observe(kT0 + milliseconds(200), &d).kind, TrackerStep::Kind::kGrew);
  EXPECT_EQ(t.expire(kT0 + milliseconds(2000)).kind, TrackerStep::Kind::kNone);
  EXPECT_EQ(t.observe(kT0 + milliseconds(2000), &d).kind, TrackerStep::Kind::kGrew);
  EXPECT_EQ(t.observe(kT0 + milliseconds(2200), &d).kind, TrackerStep::Kind::kGrew);
  // The next sample shows none: more than the merge gap after the last sighting, it ends there.
  auto end = t.observe(kT0 + milliseconds(4000), nullptr);
  ASSERT_EQ(end.kind, TrackerStep::Kind::kEnded);
  EXPECT_EQ(end.event.last_seen, kT0 + milliseconds(2200));
  // Frames that stop: ended once kAnalysisQuietMax has passed, not the 1 s merge gap.
  t.observe(kT0 + milliseconds(10000), &d);
  t.observe(kT0 + milliseconds(10200), &d);
  EXPECT_EQ(t.expire(kT0 + milliseconds(10200) + kAnalysisQuietMax).kind,
            TrackerStep::Kind::kNone);
  EXPECT_EQ(t.expire(kT0 + milliseconds(10201) + kAnalysisQuietMax).kind,
            TrackerStep::Kind::kEnded);
}

}  // namespace
}  // namespace vigil
