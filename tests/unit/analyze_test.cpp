// Analysis against clips with known ground truth (tests/unit/analysis_clips.h): what must be
// found is found, in time and in the right zone, and what must not (noise, flicker, light
// changes) is not. Times are media/wall times of the clip, never the machine's speed.
#include <gtest/gtest.h>

extern "C" {
#include <libavutil/frame.h>
}

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <optional>
#include <stdexcept>

#include <time.h>

#include "analysis_clips.h"
#include "analyze/camera_analyzer.h"
#include "analyze/detection.h"
#include "analyze/frame_selector.h"
#include "analyze/tamper_detector.h"
#include "analyze/zones.h"

namespace vigil {
namespace {

using test::ClipSpec;
using test::CollectingSink;
using test::DemuxedClip;
using test::Scene;

const WallTime kStart = wall_from_ms(1'790'000'000'000);

double seconds_of(WallTime t) { return std::chrono::duration<double>(t - kStart).count(); }

bool has(const CollectingSink::Entry& e, DetectionType t) {
  for (const Detection& d : e.detections) {
    if (d.type == t) return true;
  }
  return false;
}
const Detection* find(const CollectingSink::Entry& e, DetectionType t) {
  for (const Detection& d : e.detections) {
    if (d.type == t) return &d;
  }
  return nullptr;
}

std::optional<double> first(const std::vector<CollectingSink::Entry>& es, DetectionType t) {
  for (const auto& e : es) {
    if (has(e, t)) return seconds_of(e.at);
  }
  return std::nullopt;
}
int count(const std::vector<CollectingSink::Entry>& es, DetectionType t, double from = -1e9,
          double to = 1e9) {
  int n = 0;
  for (const auto& e : es) {
    const double s = seconds_of(e.at);
    if (s >= from && s < to && has(e, t)) ++n;
  }
  return n;
}

struct Analysed {
  std::vector<CollectingSink::Entry> entries;
  AnalyzerStats stats;
};

Analysed analyse(const DemuxedClip& clip, const AnalysisSettings& settings, bool sub_stream,
                 const CameraAnalyzerOptions& options = {}) {
  test::FakeClock clock(kStart);
  CollectingSink sink;
  CameraConfig cam;
  cam.id = "cam";
  CameraAnalyzer analyzer(cam, settings, clock, sink, sub_stream, options);
  test::feed_clip(analyzer, clip, clock, kStart, [&] { analyzer.drain(); });
  analyzer.drain();
  Analysed out{sink.entries(), analyzer.stats()};
  analyzer.stop();
  return out;
}

std::string describe(const Analysed& a) {
  std::string s = "decoded " + std::to_string(a.stats.frames_decoded) + " analysed " +
                  std::to_string(a.stats.frames_analysed) + " triggers " +
                  std::to_string(a.stats.size_triggers) + ":";
  for (const auto& e : a.entries) {
    if (e.detections.empty()) continue;
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.1f[", seconds_of(e.at));
    s += buf;
    for (const Detection& d : e.detections) {
      s += std::string(detection_type_name(d.type));
      for (const auto& z : d.zones) s += ":" + z;
      if (d.box) {
        char b[64];
        std::snprintf(b, sizeof b, "@%.2f,%.2f,%.2fx%.2f", d.box->x, d.box->y, d.box->w, d.box->h);
        s += b;
      }
      s += " ";
    }
    s += "]";
  }
  return s;
}

// ---- pieces ---------------------------------------------------------------------------------

TEST(Analyze, DetectionTypeNamesRoundTrip) {
  for (DetectionType t : {DetectionType::kMotion, DetectionType::kCovered,
                          DetectionType::kDefocused, DetectionType::kMoved,
                          DetectionType::kSignalLost}) {
    EXPECT_EQ(detection_type_from_name(detection_type_name(t)), t);
  }
  EXPECT_EQ(detection_type_name(DetectionType::kCovered), "tamper_covered");
  EXPECT_EQ(detection_type_name(DetectionType::kSignalLost), "signal_lost");
  EXPECT_FALSE(detection_type_from_name("Motion").has_value());
}

TEST(Analyze, ZonesRasteriseNormalisedPolygonsAndMasks) {
  ZoneMap zones({{"left", {{0, 0}, {0.5f, 0}, {0.5f, 1}, {0, 1}}, false},
                 {"tree", {{0, 0}, {0.25f, 0}, {0.25f, 0.5f}, {0, 0.5f}}, true}});
  zones.prepare(cv::Size(200, 100));
  EXPECT_TRUE(zones.has_zones());
  const cv::Mat& a = zones.active();
  EXPECT_EQ(a.at<uint8_t>(80, 10), 255);   // left zone, below the tree
  EXPECT_EQ(a.at<uint8_t>(10, 10), 0);     // masked
  EXPECT_EQ(a.at<uint8_t>(50, 150), 0);    // outside every zone
  cv::Mat fg = cv::Mat::zeros(100, 200, CV_8U);
  fg(cv::Rect(140, 40, 20, 20)).setTo(255);
  EXPECT_TRUE(zones.touched(fg, 1).empty());
  fg(cv::Rect(60, 60, 20, 20)).setTo(255);
  EXPECT_EQ(zones.touched(fg, 1), std::vector<std::string>{"left"});
  // Masked pixels never touch a zone.
  cv::Mat masked_only = cv::Mat::zeros(100, 200, CV_8U);
  masked_only(cv::Rect(5, 5, 10, 10)).setTo(255);
  EXPECT_TRUE(zones.touched(masked_only, 1).empty());

  ZoneMap none({});
  none.prepare(cv::Size(64, 36));
  EXPECT_FALSE(none.has_zones());
  EXPECT_EQ(cv::countNonZero(none.active()), 64 * 36);
}

std::shared_ptr<const AVPacket> fake_packet(int size, bool key, int64_t pts) {
  AVPacket* p = av_packet_alloc();
  av_new_packet(p, size);
  p->pts = p->dts = pts;
  if (key) p->flags |= AV_PKT_FLAG_KEY;
  return std::shared_ptr<const AVPacket>(p, [](const AVPacket* q) {
    auto* m = const_cast<AVPacket*>(q);
    av_packet_free(&m);
  });
}

TEST(Analyze, SelectorDecodesKeyframesWhenIdleAndTheWholeGopWhenPacketsGrow) {
  FrameSelector sel(FrameSelectorOptions{});
  std::vector<FrameSelector::Packet> out;
  const Ticks90k frame{3600};  // 25 fps
  int64_t n = 0;
  auto feed = [&](int size, bool key) {
    out.clear();
    sel.on_packet({fake_packet(size, key, n), WallTime{}, nullptr}, frame * n, AnalysisHint{}, out);
    ++n;
    return out.size();
  };
  // A noisy camera's rate control: P-frames wobble by a few % around a GOP shape (small after
  // the keyframe, then larger).
  auto p_frame = [](int g, int i, double factor = 1.0) {
    const double shape = i < 3 ? 0.5 : 1.0;
    return static_cast<int>(1000 * shape * factor * std::exp(0.06 * std::sin(i * 2.3 + g * 1.7)));
  };
  // Before any keyframe nothing can be decoded.
  EXPECT_EQ(feed(1000, false), 0u);
  // Idle: 6 GOPs of 25 frames: only the keyframes, whatever the wobble.
  size_t decoded = 0;
  int g = 0;
  for (; g < 6; ++g) {
    decoded += feed(20000, true);
    for (int i = 1; i < 25; ++i) decoded += feed(p_frame(g, i), false);
  }
  EXPECT_EQ(decoded, 6u);
  EXPECT_FALSE(sel.full_decoding());
  EXPECT_GT(sel.size_spread(), 0.01);  // learnt from the wobble
  EXPECT_LT(sel.size_spread(), 0.1);
  // One P-frame 1.35x its usual size is rate control wobbling: nothing more is decoded.
  EXPECT_EQ(feed(20000, true), 1u);
  EXPECT_EQ(feed(p_frame(g, 1, 1.35), false), 0u);
  for (int i = 2; i < 6; ++i) EXPECT_EQ(feed(p_frame(g, i), false), 0u);
  EXPECT_FALSE(sel.full_decoding());
  // Something moves: the 6th and 7th P-frames are 1.7x their usual size. The GOP so far (its
  // keyframe was decoded already) is caught up, then every frame is decoded.
  const int64_t first_p = n - 5;  // the GOP's first P-frame
  size_t caught_up = feed(p_frame(g, 6, 1.7), false);
  if (caught_up > 0) {
    EXPECT_EQ(out.front().pkt->pts, first_p);  // the first alone was far enough
  }
  caught_up += feed(p_frame(g, 7, 1.7), false);
  EXPECT_EQ(caught_up, 7u);
  if (out.size() == 7) {
    EXPECT_EQ(out.front().pkt->pts, first_p);
  }
  EXPECT_TRUE(sel.full_decoding());
  EXPECT_EQ(sel.stats().triggers, 1);
  // Quiet again (no motion reported): full decoding holds for 0.4 s of media time (10 frames)
  // after the trigger (frames 8-17 and 18, after which it stops), then keyframes only (6 more).
  int full = 0;
  for (int i = 8; i < 158; ++i) {
    full += static_cast<int>(feed(i % 25 ? p_frame(g + i / 25, i % 25) : 20000, i % 25 == 0));
  }
  EXPECT_EQ(full, 11 + 6);
  EXPECT_FALSE(sel.full_decoding());
  // A light switched on: one P-frame 4x its usual size, the next ones normal. That one frame
  // is enough.
  g += 7;
  EXPECT_EQ(feed(20000, true), 1u);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(feed(p_frame(g, i), false), 0u);
  EXPECT_EQ(feed(p_frame(g, 10, 4.0), false), 10u);
  EXPECT_EQ(sel.stats().triggers, 2);
}

// Full decoding that ends in the middle of a GOP, and a second trigger in that same GOP: the
// decoder gets the packets it missed, never again the ones it has (a packet decoded twice is
// decoded against the wrong references: garbage pictures and time running backwards, which
// bench/motion saw as seconds of false motion when the light came back after a dark spell).
TEST(Analyze, SelectorNeverFeedsTheDecoderAPacketTwice) {
  FrameSelectorOptions o;
  o.hold = o.trigger_hold = Ticks90k{3600 * 10};  // 10 frames
  FrameSelector sel(o);
  std::vector<FrameSelector::Packet> out;
  const Ticks90k frame{3600};
  int64_t n = 0;
  std::vector<int64_t> decoded;
  auto feed = [&](int size, bool key) {
    out.clear();
    sel.on_packet({fake_packet(size, key, n), WallTime{}, nullptr}, frame * n, AnalysisHint{}, out);
    for (const auto& p : out) decoded.push_back(p.pkt->pts);
    ++n;
  };
  const int gop = 50;
  for (int g = 0; g < 3; ++g) {
    feed(20000, true);
    for (int i = 1; i < gop; ++i) feed(1000 + (i % 3) * 50, false);
  }
  ASSERT_EQ(decoded.size(), 3u);
  // The 4th GOP: a jump at its 5th P-frame (full decoding for 10 frames), quiet, then a second
  // jump at its 30th, after full decoding ended.
  feed(20000, true);
  for (int i = 1; i < gop; ++i) feed(i == 5 || i == 6 || i == 30 || i == 31 ? 5000 : 1000, false);
  EXPECT_EQ(sel.stats().triggers, 2);
  // Strictly increasing: nothing twice, nothing out of order; and everything of the GOP from its
  // keyframe up to the end of the second hold reached the decoder.
  for (size_t i = 1; i < decoded.size(); ++i) {
    ASSERT_LT(decoded[i - 1], decoded[i]) << "at " << i;
  }
  const int64_t key = 3 * gop;
  for (int64_t pts = key; pts <= key + 31 + 10; ++pts) {
    EXPECT_NE(std::find(decoded.begin(), decoded.end(), pts), decoded.end()) << pts;
  }
}

// A selector fed by a fake analysis that reports, `lag` decoded packets late, motion on every
// frame whose media time is in [moving_from, moving_to). 25 fps, constant-size P-frames but
// larger while something moves, so that the size trigger starts full decoding.
struct SampledRun {
  std::vector<int64_t> decoded;  // frame numbers, in the order the decoder got them
  std::vector<int64_t> with_previous;  // keyframes that came with the GOP before them, whole
  FrameSelectorStats stats;
};
SampledRun run_selector(const FrameSelectorOptions& o, int gop, int frames, int moving_from,
                        int moving_to, size_t lag, bool every_zone = true) {
  FrameSelector sel(o);
  const Ticks90k frame{3600};
  SampledRun run;
  std::vector<FrameSelector::Packet> out;
  std::optional<int64_t> since;  // first frame of the motion the analysis sees going on
  for (int n = 0; n < frames; ++n) {
    const bool key = n % gop == 0;
    const bool moving = n >= moving_from && n < moving_to;
    AnalysisHint hint;
    if (run.decoded.size() > lag) {
      const int64_t seen = run.decoded[run.decoded.size() - 1 - lag];
      hint.analysed_at = frame * seen;
      hint.motion = seen >= moving_from && seen < moving_to;
      hint.every_zone = hint.motion && every_zone;
      if (!hint.motion) {
        since.reset();
      } else if (!since) {
        since = seen;
      }
      if (since) hint.motion_since = frame * *since;
    }
    out.clear();
    sel.on_packet({fake_packet(key ? 20000 : (moving ? 3000 : 1000), key, n), WallTime{}, nullptr},
                  frame * n, hint, out);
    for (const auto& p : out) {
      run.decoded.push_back(p.pkt->pts);
      if (p.previous_gop && p.previous_gop->size() == static_cast<size_t>(gop) &&
          p.previous_gop->front().pkt->pts == p.pkt->pts - gop) {
        run.with_previous.push_back(p.pkt->pts);
      }
    }
  }
  run.stats = sel.stats();
  return run;
}
int decoded_in(const SampledRun& r, int64_t from, int64_t to) {
  return static_cast<int>(std::count_if(r.decoded.begin(), r.decoded.end(),
                                        [&](int64_t n) { return n >= from && n < to; }));
}

// Sustained motion costs the start of each GOP, not the whole GOP: where motion begins every
// frame is decoded until it has lasted 0.4 s (its start and zones are known then), the rest of
// that GOP is skipped; each GOP that begins while motion is seen is decoded until its keyframe
// has been analysed (with `sample`, for that long after it too) and skipped once analysis saw
// motion in it; a keyframe without motion ends it: idle again (adaptive), or every frame (a
// sub stream).
TEST(Analyze, SelectorSamplesSustainedMotionAndDecodesOnWhenItStops) {
  const int gop = 50;  // 2 s
  // Idle GOPs 0-3; motion from frame 10 of GOP 4 to frame 25 of GOP 9; idle after.
  const int from = 4 * gop + 10, to = 9 * gop + 25;
  const SampledRun r = run_selector(FrameSelectorOptions{}, gop, 16 * gop, from, to, 0);
  for (size_t i = 1; i < r.decoded.size(); ++i) ASSERT_LT(r.decoded[i - 1], r.decoded[i]);
  for (int g = 0; g < 4; ++g) EXPECT_EQ(decoded_in(r, g * gop, (g + 1) * gop), 1) << g;
  // The GOP where motion begins: caught up from the keyframe at the trigger, then frame by
  // frame until the motion has lasted 0.4 s (10 frames: frames 0-20 of the GOP).
  EXPECT_EQ(decoded_in(r, 4 * gop, 5 * gop), 21);
  EXPECT_EQ(r.stats.triggers, 1);
  // Sustained: GOPs 5-9, their keyframes only (analysis answers at once here).
  for (int g = 5; g <= 9; ++g) EXPECT_EQ(decoded_in(r, g * gop, (g + 1) * gop), 1) << g;
  EXPECT_EQ(r.stats.sampled_gops, 6);
  // GOP 10's keyframe shows no motion: the motion ended in the stretch skipped before, and the
  // selector is idle again at once (keyframes only; the size trigger watches for a restart).
  EXPECT_EQ(decoded_in(r, 10 * gop, 11 * gop), 1);
  EXPECT_EQ(decoded_in(r, 11 * gop, 16 * gop), 5);
  // A second look 0.2 s after each keyframe (keyframe + 5 P-frames at 25 fps) if asked for.
  FrameSelectorOptions second_look;
  second_look.sample = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(200));
  const SampledRun l = run_selector(second_look, gop, 16 * gop, from, to, 0);
  for (int g = 5; g <= 10; ++g) EXPECT_EQ(decoded_in(l, g * gop, (g + 1) * gop), 6) << g;
  // Without sustained_after the GOP where motion begins is decoded in full.
  FrameSelectorOptions whole_start;
  whole_start.sustained_after = Ticks90k{3600 * gop * 2};
  EXPECT_EQ(decoded_in(run_selector(whole_start, gop, 16 * gop, from, to, 0), 4 * gop, 5 * gop),
            gop);
  // A keyframe after a GOP that ended idle brings that GOP to look back into: after the idle
  // GOPs 0-3, and after GOP 10, idle from its keyframe; not after GOP 4 nor after the sampled
  // GOPs 5-9 (their rest skipped for motion, not idle).
  const std::vector<int64_t> expected{1 * gop, 2 * gop, 3 * gop, 4 * gop, 11 * gop,
                                      12 * gop, 13 * gop, 14 * gop, 15 * gop};
  EXPECT_EQ(r.with_previous, expected);
  EXPECT_EQ(r.stats.previous_gops, 9);
  FrameSelectorOptions no_look;
  no_look.look_back = false;
  EXPECT_TRUE(run_selector(no_look, gop, 16 * gop, from, to, 0).with_previous.empty());

  // Without sampling every frame of the motion is decoded.
  FrameSelectorOptions full;
  full.sample_sustained = false;
  const SampledRun f = run_selector(full, gop, 16 * gop, from, to, 0);
  for (int g = 5; g <= 9; ++g) EXPECT_EQ(decoded_in(f, g * gop, (g + 1) * gop), gop) << g;
  EXPECT_EQ(f.stats.sampled_gops, 0);

  // Motion in some of the camera's zones only: another zone's event could begin in a skipped
  // stretch, so every frame is decoded.
  const SampledRun z = run_selector(FrameSelectorOptions{}, gop, 16 * gop, from, to, 0, false);
  for (int g = 5; g <= 9; ++g) EXPECT_EQ(decoded_in(z, g * gop, (g + 1) * gop), gop) << g;
  EXPECT_EQ(z.stats.sampled_gops, 0);

  // A sub stream (not adaptive): every frame while idle, sustained motion sampled alike.
  FrameSelectorOptions sub;
  sub.adaptive = false;
  const SampledRun s = run_selector(sub, gop, 16 * gop, from, to, 0);
  for (size_t i = 1; i < s.decoded.size(); ++i) ASSERT_LT(s.decoded[i - 1], s.decoded[i]);
  for (int g = 0; g < 4; ++g) EXPECT_EQ(decoded_in(s, g * gop, (g + 1) * gop), gop) << g;
  EXPECT_EQ(decoded_in(s, 4 * gop, 5 * gop), 21);
  for (int g = 5; g <= 9; ++g) EXPECT_EQ(decoded_in(s, g * gop, (g + 1) * gop), 1) << g;
  for (int g = 10; g < 16; ++g) EXPECT_EQ(decoded_in(s, g * gop, (g + 1) * gop), gop) << g;
  EXPECT_EQ(s.stats.triggers, 0);
  EXPECT_TRUE(s.with_previous.empty());  // every frame was decoded: nothing to look back into
}

// Analysis running behind the ingest thread (here 8 frames) must not make the selector skip on
// what it said of the previous GOP: the sample goes on until one of its own frames is analysed.
TEST(Analyze, SelectorSkipsOnlyOnceTheSampleItselfWasAnalysed) {
  const int gop = 50;
  const SampledRun r = run_selector(FrameSelectorOptions{}, gop, 12 * gop, 2 * gop + 10,
                                    12 * gop, 8);
  EXPECT_GE(r.stats.sampled_gops, 5);
  for (int g = 5; g < 12; ++g) {
    // The keyframe is analysed 8 frames later: skipping starts from the 9th frame on.
    EXPECT_EQ(decoded_in(r, g * gop, (g + 1) * gop), 9) << g;
  }
}

// A GOP far longer than usual (5 s) is not left unlooked-at for more than max_skip (2.5 s):
// there the decoder catches up on what it skipped (in order, nothing twice) and decodes on, so
// the analysis never goes quiet for longer than the events' merge gap. Such GOPs save nothing.
TEST(Analyze, SelectorCatchesUpALongGopAfterMaxSkip) {
  const int gop = 125;
  const SampledRun r = run_selector(FrameSelectorOptions{}, gop, 8 * gop, 2 * gop + 10,
                                    8 * gop, 0);
  for (size_t i = 1; i < r.decoded.size(); ++i) ASSERT_LT(r.decoded[i - 1], r.decoded[i]);
  for (int g = 3; g < 8; ++g) EXPECT_EQ(decoded_in(r, g * gop, (g + 1) * gop), gop) << g;
  EXPECT_EQ(r.stats.sampled_gops, 0);
}

// ---- scripted clips -----------------------------------------------------------------------

class AnalyzeClips : public ::testing::Test {
 protected:
  test::TempDir dir_;
  ClipSpec spec_;
};

TEST_F(AnalyzeClips, StillSceneWithSensorNoiseAndFlickerIsQuietAndCheap) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(1);
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "still.mkv", spec_, [&](int, double t, cv::Mat& f) {
        scene.view(f);
        // Mains flicker beating against the frame rate: +-3 % brightness.
        f.convertTo(f, -1, 1.0 + 0.03 * std::sin(2 * std::numbers::pi * 1.3 * t));
        Scene::add_noise(f, 4.0, rng);
      });
  const Analysed a = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false);
  EXPECT_EQ(count(a.entries, DetectionType::kMotion), 0) << describe(a);
  EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
  EXPECT_EQ(count(a.entries, DetectionType::kDefocused), 0) << describe(a);
  EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
  // Nothing changes, so the main stream is looked at keyframe by keyframe: 6 GOPs, none of
  // them looked back into.
  EXPECT_LE(a.stats.frames_decoded, 12) << describe(a);
  EXPECT_EQ(a.stats.looked_back, 0) << describe(a);
  EXPECT_GE(a.stats.frames_analysed, 6);

  // Decoding every frame (a sub stream) finds nothing either.
  const Analysed all = analyse(clip, AnalysisSettings{}, /*sub_stream=*/true);
  EXPECT_EQ(all.stats.frames_decoded, 120);
  EXPECT_GE(all.stats.frames_analysed, 55);  // 5 fps of 10
  EXPECT_LE(all.stats.frames_analysed, 65);
  EXPECT_EQ(count(all.entries, DetectionType::kMotion), 0) << describe(all);
  EXPECT_EQ(count(all.entries, DetectionType::kMoved), 0) << describe(all);
}

// A flat dark figure (body and head) walking in from the left at `enter`, `speed` px/s, on the
// still scene with sensor noise; with `lamp`, a lamp in the top-right corner blinks.
struct EnteringFigure {
  double enter = 5.0, speed = 160;
  int w = 50, h = 110;
  bool lamp = false;
};
DemuxedClip entering_figure_clip(const std::filesystem::path& file, const ClipSpec& spec,
                                 const EnteringFigure& fig, uint64_t seed) {
  const Scene scene(spec.width, spec.height);
  cv::RNG rng(seed);
  return test::make_scripted_clip(file, spec, [&](int, double t, cv::Mat& f) {
    scene.view(f);
    // The lamp: on and off every half second.
    if (fig.lamp && static_cast<int>(t * 2) % 2) {
      cv::rectangle(f, cv::Rect(590, 10, 30, 30), cv::Scalar(250), cv::FILLED);
    }
    if (t >= fig.enter) {
      const int x = static_cast<int>(-fig.w + fig.speed * (t - fig.enter));
      cv::rectangle(f, cv::Rect(x, 200, fig.w, fig.h), cv::Scalar(25), cv::FILLED);
      cv::circle(f, cv::Point(x + fig.w / 2, 185), 18, cv::Scalar(35), cv::FILLED);
    }
    Scene::add_noise(f, 3.0, rng);
  });
}

// A dark figure walks in from the left at 5.0 s (160 px/s) and reaches the "door" zone (the
// right half) at 7.06 s; a blinking lamp under a mask must never count.
TEST_F(AnalyzeClips, ObjectEnteringAZoneIsFoundWithinASecondInThatZone) {
  const EnteringFigure fig{.lamp = true};
  const double enter = fig.enter, speed = fig.speed;
  const int w = fig.w;
  const DemuxedClip clip = entering_figure_clip(dir_.path() / "enter.mkv", spec_, fig, 2);
  const double visible = enter + 4 / speed;                 // first pixels in the picture
  const double in_door = enter + (320.0 + 0) / speed;       // right edge crosses the middle
  AnalysisSettings s;
  s.zones = {{"hall", {{0, 0}, {0.5f, 0}, {0.5f, 1}, {0, 1}}, false},
             {"door", {{0.5f, 0}, {1, 0}, {1, 1}, {0.5f, 1}}, false},
             {"lamp", {{0.9f, 0}, {1, 0}, {1, 0.15f}, {0.9f, 0.15f}}, true}};
  for (bool sub : {false, true}) {
    SCOPED_TRACE(sub ? "every frame decoded" : "adaptive decoding");
    const Analysed a = analyse(clip, s, sub);
    const auto first_motion = first(a.entries, DetectionType::kMotion);
    ASSERT_TRUE(first_motion.has_value()) << describe(a);
    EXPECT_GE(*first_motion, visible - 0.05) << describe(a);
    EXPECT_LE(*first_motion, visible + 1.0) << describe(a);
    std::optional<double> door;
    for (const auto& e : a.entries) {
      const Detection* d = find(e, DetectionType::kMotion);
      if (!d) continue;
      for (const auto& z : d->zones) {
        EXPECT_NE(z, "lamp");
        if (z == "door" && !door) door = seconds_of(e.at);
      }
    }
    ASSERT_TRUE(door.has_value()) << describe(a);
    std::printf("%s: figure visible at %.2f s, motion from %.2f s; in door at %.2f s, door from "
                "%.2f s\n", sub ? "every frame" : "adaptive", visible, *first_motion, in_door,
                *door);
    EXPECT_GE(*door, in_door - 0.15) << describe(a);
    EXPECT_LE(*door, in_door + 1.0) << describe(a);
    // Motion all the time the figure is in the picture (it leaves at 5 + 690/160 = 9.3 s).
    EXPECT_EQ(count(a.entries, DetectionType::kMotion, 0, enter), 0) << describe(a);
    const int moving = count(a.entries, DetectionType::kMotion, *first_motion, 9.2);
    int analysed = 0;
    for (const auto& e : a.entries) {
      analysed += seconds_of(e.at) >= *first_motion && seconds_of(e.at) < 9.2;
    }
    EXPECT_GE(moving, analysed - 1) << describe(a);
    // The box follows the figure: at 8 s it spans x = 590..640 of 640.
    for (const auto& e : a.entries) {
      if (std::abs(seconds_of(e.at) - 8.0) > 0.05) continue;
      const Detection* d = find(e, DetectionType::kMotion);
      ASSERT_NE(d, nullptr);
      ASSERT_TRUE(d->box.has_value());
      EXPECT_NEAR(d->box->x, (-w + speed * 3.0) / 640.0, 0.05);
      EXPECT_NEAR(d->box->y, 167.0 / 360, 0.06);
      EXPECT_NEAR(d->box->h, (110.0 + 33) / 360, 0.08);
    }
    EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
  }
}

TEST_F(AnalyzeClips, LightingStepAndRampAreNotMotion) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(3);
  spec_.seconds = 14;
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "light.mkv", spec_, [&](int, double t, cv::Mat& f) {
        scene.view(f);
        // Lights off at 4 s (x0.55), then a slow brightening (clouds clearing) to x1.35.
        double gain = t < 4 ? 1.0 : 0.55;
        if (t >= 7) gain = 0.55 + 0.8 * std::min(1.0, (t - 7) / 5);
        f.convertTo(f, -1, gain, 0);
        Scene::add_noise(f, 3.0, rng);
      });
  for (bool sub : {false, true}) {
    SCOPED_TRACE(sub ? "every frame decoded" : "adaptive decoding");
    const Analysed a = analyse(clip, AnalysisSettings{}, sub);
    EXPECT_EQ(count(a.entries, DetectionType::kMotion), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kDefocused), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
  }
}

// Lights off so far that the dark half of the picture clips to black, and on again: what was
// black must not look like it moved when the light comes back.
TEST_F(AnalyzeClips, LightsOffIntoBlackAndOnAgainAreNotMotion) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(6);
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "lights.mkv", spec_, [&](int, double t, cv::Mat& f) {
        scene.view(f);
        if (t >= 4 && t < 8) f.convertTo(f, -1, 1.0, -90);  // saturates at 0
        Scene::add_noise(f, 3.0, rng);
      });
  for (bool sub : {false, true}) {
    SCOPED_TRACE(sub ? "every frame decoded" : "adaptive decoding");
    const Analysed a = analyse(clip, AnalysisSettings{}, sub);
    EXPECT_EQ(count(a.entries, DetectionType::kMotion), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kDefocused), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
  }
}


// Lights off (a size jump: full decoding), the hold ends late in a GOP, and the light comes
// back within that same GOP (a second jump): what the decoder is given after the second trigger
// continues where it stopped, and the light is not motion. (bench/motion's 1080p clip reported
// 1-9 s of motion here while the GOP was decoded again from its keyframe; on this still 360p
// scene the repeated packets happened to decode to usable pictures, so the selector test above
// is the one that pins the cause.)
TEST_F(AnalyzeClips, LightBackInTheGopWhereFullDecodingEndedIsNotMotion) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(7);
  spec_.seconds = 14;
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "relight.mkv", spec_, [&](int, double t, cv::Mat& f) {
        scene.view(f);
        if (t >= 6.9 && t < 11.5) f.convertTo(f, -1, 1.0, -90);  // saturates at 0
        Scene::add_noise(f, 3.0, rng);
      });
  // A size trigger set to fire on any P-frame 1.4x its usual size (the encoder spends the light
  // change on one frame), so that both light changes start full decoding.
  CameraAnalyzerOptions o;
  o.selector.spread_factor = 0;
  o.selector.min_ratio = 1.4;
  o.selector.confirm = 1;
  const Analysed a = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false, o);
  // Both light changes were seen in the packet sizes, and full decoding stopped in between.
  EXPECT_EQ(a.stats.size_triggers, 2) << describe(a);
  EXPECT_LT(a.stats.frames_decoded, 140) << describe(a);
  EXPECT_EQ(count(a.entries, DetectionType::kMotion), 0) << describe(a);
  // Results come in time order (a frame decoded twice went back in time).
  for (size_t i = 1; i < a.entries.size(); ++i) {
    EXPECT_LE(a.entries[i - 1].at, a.entries[i].at) << describe(a);
  }
}

// A figure whose look changes every frame (limbs, folds: it costs the encoder bits, unlike a
// flat shape sliding along) walks in at 9.0 s, once the stream's sizes are known: the P-frame
// sizes jump, and adaptive decoding finds it within a second, before the next keyframe (10.0
// s), decoding the GOP from its keyframe so that the first frames with the figure are analysed.
TEST_F(AnalyzeClips, SizeJumpTriggersFullDecodingBeforeTheNextKeyframe) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(8), coat(9);
  spec_.seconds = 12;
  const double enter = 9.0, speed = 160;
  const int w = 60, h = 120;
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "walker.mkv", spec_, [&](int, double t, cv::Mat& f) {
        scene.view(f);
        if (t >= enter) {
          const int x = static_cast<int>(-w + speed * (t - enter));
          cv::Mat texture(h, w, CV_8U);
          coat.fill(texture, cv::RNG::UNIFORM, 20, 120);
          const cv::Rect r = cv::Rect(x, 190, w, h) & cv::Rect(0, 0, f.cols, f.rows);
          if (r.area() > 0) texture(cv::Rect(r.x - x, 0, r.width, r.height)).copyTo(f(r));
        }
        Scene::add_noise(f, 3.0, rng);
      });
  const Analysed a = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false);
  const double visible = enter + 1 / speed;
  const auto first_motion = first(a.entries, DetectionType::kMotion);
  ASSERT_TRUE(first_motion.has_value()) << describe(a);
  std::printf("textured figure visible at %.2f s: adaptive decoding found it at %.2f s (%lld "
              "size triggers)\n", visible, *first_motion,
              static_cast<long long>(a.stats.size_triggers));
  EXPECT_GE(a.stats.size_triggers, 1) << describe(a);
  EXPECT_GE(*first_motion, visible - 0.05) << describe(a);
  EXPECT_LT(*first_motion, 9.95) << describe(a);
  EXPECT_EQ(count(a.entries, DetectionType::kMotion, 0, enter), 0) << describe(a);
}

// Motion the packet sizes do not show (here: size triggers off, as when constant-bitrate control
// hides the jump) is first seen at the next keyframe; looking back into the idle GOP before it
// finds where it began, and the GOP after is sustained motion, sampled.
TEST_F(AnalyzeClips, MotionBetweenKeyframesIsFoundByLookingBack) {
  const EnteringFigure fig;
  const DemuxedClip clip = entering_figure_clip(dir_.path() / "between.mkv", spec_, fig, 10);
  const double visible = fig.enter + 4 / fig.speed;
  CameraAnalyzerOptions blind;
  blind.selector.min_ratio = 1e6;  // no size trigger
  blind.selector.jump_factor = 1e6;
  const Analysed looked = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false, blind);
  blind.selector.look_back = false;
  const Analysed not_looked = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false, blind);
  const auto found = first(looked.entries, DetectionType::kMotion);
  const auto found_late = first(not_looked.entries, DetectionType::kMotion);
  ASSERT_TRUE(found.has_value()) << describe(looked);
  ASSERT_TRUE(found_late.has_value()) << describe(not_looked);
  std::printf("figure visible at %.2f s, no size trigger: found at %.2f s looking back (%lld "
              "frames decoded), at %.2f s without (%lld)\n",
              visible, *found, static_cast<long long>(looked.stats.frames_decoded), *found_late,
              static_cast<long long>(not_looked.stats.frames_decoded));
  EXPECT_EQ(looked.stats.size_triggers, 0);
  EXPECT_EQ(looked.stats.looked_back, 1) << describe(looked);
  EXPECT_GE(*found, visible - 0.05) << describe(looked);
  EXPECT_LE(*found, visible + 0.3) << describe(looked);
  EXPECT_GE(*found_late, 6.0 - 0.05) << describe(not_looked);  // the keyframe after it began
  EXPECT_EQ(count(looked.entries, DetectionType::kMotion, 0, fig.enter), 0) << describe(looked);
  // Time runs forward for the events stage, looked back or not.
  for (size_t i = 1; i < looked.entries.size(); ++i) {
    ASSERT_LE(looked.entries[i - 1].at, looked.entries[i].at) << describe(looked);
  }
  // Motion on without a gap until the figure leaves (5 + 690/160 = 9.3 s): the GOPs after
  // the one looked back into are sustained motion, sampled, not decoded in full.
  EXPECT_GE(looked.stats.sampled_gops, 1) << describe(looked);
  int quiet = 0;
  for (const auto& e : looked.entries) {
    const double t = seconds_of(e.at);
    quiet += t >= *found && t < 9.2 && !has(e, DetectionType::kMotion);
  }
  EXPECT_EQ(quiet, 0) << describe(looked);
}

// Tamper at 6 s; reported after the 2 s confirmation, within 4 s of the change, never before.
struct TamperCase {
  const char* name;
  DetectionType expected;
  std::function<void(const Scene&, double, cv::Mat&)> paint;  // t >= 6
};

class AnalyzeTamper : public AnalyzeClips, public ::testing::WithParamInterface<int> {};

const TamperCase& tamper_case(int i) {
  static const std::vector<TamperCase> cases{
      {"covered", DetectionType::kCovered,
       [](const Scene&, double, cv::Mat& f) { f.setTo(14); }},
      {"defocused", DetectionType::kDefocused,
       [](const Scene& s, double, cv::Mat& f) {
         s.view(f);
         cv::GaussianBlur(f, f, cv::Size(0, 0), 5.0);
       }},
      {"moved", DetectionType::kMoved,
       [](const Scene& s, double, cv::Mat& f) { s.view(f, 170, 60); }},
  };
  return cases[static_cast<size_t>(i)];
}

TEST_P(AnalyzeTamper, IsReportedAfterConfirmationAndNothingElse) {
  const TamperCase& c = tamper_case(GetParam());
  SCOPED_TRACE(c.name);
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(4);
  const double change = 6.0;
  const DemuxedClip clip = test::make_scripted_clip(
      dir_.path() / (std::string(c.name) + ".mkv"), spec_, [&](int, double t, cv::Mat& f) {
        if (t < change) {
          scene.view(f);
        } else {
          c.paint(scene, t, f);
        }
        Scene::add_noise(f, 3.0, rng);
      });
  const Analysed a = analyse(clip, AnalysisSettings{}, /*sub_stream=*/false);
  const auto at = first(a.entries, c.expected);
  ASSERT_TRUE(at.has_value()) << describe(a);
  std::printf("%s at %.1f s: reported from %.2f s\n", c.name, change, *at);
  EXPECT_GE(*at, change + 1.9) << describe(a);
  EXPECT_LE(*at, change + 4.0) << describe(a);
  // Reported on every analysed frame from then on.
  int after = 0;
  for (const auto& e : a.entries) after += seconds_of(e.at) >= *at;
  EXPECT_EQ(count(a.entries, c.expected, *at), after) << describe(a);
  for (DetectionType other :
       {DetectionType::kCovered, DetectionType::kDefocused, DetectionType::kMoved}) {
    if (other != c.expected) {
      EXPECT_EQ(count(a.entries, other), 0) << describe(a);
    }
  }
  // The change itself is not motion after a second (global change: the background re-learns).
  EXPECT_EQ(count(a.entries, DetectionType::kMotion, change + 1.0), 0) << describe(a);
}

INSTANTIATE_TEST_SUITE_P(Kinds, AnalyzeTamper, ::testing::Values(0, 1, 2),
                         [](const auto& info) { return std::string(tamper_case(info.param).name); });

TEST_F(AnalyzeClips, StreamThatStopsIsSignalLostUntilFramesReturn) {
  const Scene scene(spec_.width, spec_.height);
  cv::RNG rng(5);
  spec_.seconds = 6;
  const DemuxedClip clip =
      test::make_scripted_clip(dir_.path() / "stop.mkv", spec_, [&](int, double, cv::Mat& f) {
        scene.view(f);
        Scene::add_noise(f, 3.0, rng);
      });
  test::FakeClock clock(kStart);
  CollectingSink sink;
  CameraConfig cam;
  cam.id = "cam";
  AnalysisSettings s;
  s.signal_timeout = std::chrono::seconds(5);
  CameraAnalyzerOptions o;
  o.watchdog_interval = std::chrono::milliseconds(20);
  CameraAnalyzer analyzer(cam, s, clock, sink, false, o);
  // Three seconds of stream, then nothing (the camera stalls without closing the connection).
  test::feed_clip(analyzer, clip, clock, kStart, [&] { analyzer.drain(); }, 0, 30);
  analyzer.drain();
  EXPECT_FALSE(analyzer.stats().signal_lost);
  clock.advance(std::chrono::milliseconds(4900));
  // 4.9 s of silence is within the timeout: the watchdog runs (every 20 ms) and stays quiet.
  analyzer.drain();
  EXPECT_EQ(count(sink.entries(), DetectionType::kSignalLost), 0);
  clock.advance(std::chrono::milliseconds(200));
  ASSERT_TRUE(sink.wait_for(DetectionType::kSignalLost, std::chrono::seconds(10)));
  EXPECT_TRUE(analyzer.stats().signal_lost);
  const auto lost = first(sink.entries(), DetectionType::kSignalLost);
  ASSERT_TRUE(lost.has_value());
  EXPECT_GE(*lost, 2.9 + 5.0);
  for (const auto& e : sink.entries()) {
    if (has(e, DetectionType::kSignalLost)) {
      EXPECT_FALSE(e.has_snapshot);
    }
  }
  // The camera comes back (a reconnect: a new stream from a keyframe).
  const size_t before = sink.entries().size();
  const WallTime back = clock.wall_now();
  test::feed_clip(analyzer, clip, clock, back, [&] { analyzer.drain(); }, 0, 30);
  analyzer.drain();
  EXPECT_FALSE(analyzer.stats().signal_lost);
  const auto entries = sink.entries();
  ASSERT_GT(entries.size(), before);
  EXPECT_FALSE(has(entries.back(), DetectionType::kSignalLost));
  EXPECT_TRUE(entries.back().has_snapshot);
  const std::vector<uint8_t> jpeg = sink.first_snapshot();
  ASSERT_GT(jpeg.size(), 1000u);
  EXPECT_EQ(jpeg[0], 0xFF);
  EXPECT_EQ(jpeg[1], 0xD8);
}

// ---- real footage ---------------------------------------------------------------------------

// Fetched by scripts/fetch-test-data.
std::filesystem::path vtest_source() {
  return std::filesystem::path(VIGIL_TEST_CACHE_DIR) / "vtest.avi";
}

// vtest.avi (Debian's opencv-doc: a fixed outdoor camera, pedestrians walking all the time) cut
// and spliced with frozen frames of itself, so that when something moves is known:
//   [0, 8) s   frozen first frame      idle
//   [8, 20)    source 0-12 s           busy
//   [20, 30)   frozen frame (12 s)     idle: people stop dead, as if time froze
//   [30, 40)   source 40-50 s          busy (starts with a cut: the scene jumps)
//   [40, 46)   frozen frame (50 s)     idle
TEST_F(AnalyzeClips, RealFootageBusyAndIdlePeriods) {
  const std::filesystem::path source = vtest_source();
  ASSERT_TRUE(std::filesystem::exists(source))
      << source << " is missing: run scripts/fetch-test-data";
  const auto file = dir_.path() / "vtest-spliced.mkv";
  const std::string cmd =
      "ffmpeg -hide_banner -loglevel error -y -i " + source.string() +
      " -filter_complex \"[0:v]trim=0:12,setpts=PTS-STARTPTS,tpad=start_duration=8:"
      "start_mode=clone:stop_duration=10:stop_mode=clone[a];[0:v]trim=40:50,setpts=PTS-STARTPTS,"
      "tpad=stop_duration=6:stop_mode=clone[b];[a][b]concat=n=2:v=1[v]\" -map \"[v]\" -c:v "
      "libx264 -preset veryfast -crf 23 -g 20 -keyint_min 20 -sc_threshold 0 -bf 0 -pix_fmt "
      "yuv420p " + file.string();
  ASSERT_EQ(test::run(cmd), 0) << cmd;
  const DemuxedClip clip = test::demux_file(file);
  ASSERT_GE(clip.video.size(), 455u);

  struct Period {
    double from, to;
    bool busy;
  };
  // Idle periods start a few seconds after the freeze: people frozen mid-step are absorbed
  // into the background (kTauStoppedSeconds), the time any background model needs.
  const double settle = 6.0;
  const std::vector<Period> periods{{0, 8, false},        {8.3, 20, true},
                                    {20 + settle, 30, false}, {30.3, 40, true},
                                    {40 + settle, 46, false}};
  // Sustained motion sampled (the default) and decoded in full, on the main stream (adaptive)
  // and as a sub stream (every frame while idle).
  struct Mode {
    const char* name;
    bool sub, sampled;
  };
  int64_t decoded_sampled = 0, decoded_full = 0;
  for (const Mode m : {Mode{"adaptive", false, true}, Mode{"every frame", true, true},
                       Mode{"adaptive, every frame while moving", false, false}}) {
    SCOPED_TRACE(m.name);
    CameraAnalyzerOptions options;
    options.selector.sample_sustained = m.sampled;
    const Analysed a = analyse(clip, AnalysisSettings{}, m.sub, options);
    for (const Period& p : periods) {
      int frames = 0, moving = 0;
      double previous = p.from, longest_gap = 0;
      for (const auto& e : a.entries) {
        const double t = seconds_of(e.at);
        if (t < p.from || t >= p.to) continue;
        ++frames;
        moving += has(e, DetectionType::kMotion);
        longest_gap = std::max(longest_gap, t - previous);
        previous = t;
      }
      longest_gap = std::max(longest_gap, p.to - previous);
      SCOPED_TRACE("period " + std::to_string(p.from) + "-" + std::to_string(p.to));
      if (p.busy) {
        if (m.sampled) {
          // Looked at in every GOP (2 s): the start of each, the rest skipped.
          EXPECT_LE(longest_gap, 2.05) << describe(a);
        } else {
          // Analysed at 5 fps throughout: adaptive decoding goes to full decoding at once.
          EXPECT_GE(frames, static_cast<int>((p.to - p.from) * 4.5)) << describe(a);
        }
        EXPECT_GE(moving, frames * 95 / 100) << describe(a);
      } else {
        EXPECT_EQ(moving, 0) << describe(a);
      }
    }
    EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kDefocused), 0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
    std::printf("vtest spliced, %s: %lld packets, %lld decoded, %lld analysed, %lld size "
                "triggers, %lld GOPs sampled\n",
                m.name, static_cast<long long>(a.stats.packets_seen),
                static_cast<long long>(a.stats.frames_decoded),
                static_cast<long long>(a.stats.frames_analysed),
                static_cast<long long>(a.stats.size_triggers),
                static_cast<long long>(a.stats.sampled_gops));
    if (!m.sub) {
      // Idle stretches (18 of 46 s, less the hold after motion) are looked at keyframe by
      // keyframe only.
      EXPECT_LE(a.stats.frames_decoded, 400) << describe(a);
      (m.sampled ? decoded_sampled : decoded_full) = a.stats.frames_decoded;
    }
    if (m.sampled) {
      EXPECT_GE(a.stats.sampled_gops, 5) << describe(a);
    }
  }
  // The busy 20 of 46 s are mostly sustained motion: sampling them saves most of their decoding.
  EXPECT_LT(decoded_sampled, decoded_full * 6 / 10);
}


// The view of vtest.avi the tamper clips start from: a 576x432 window of its 768x576 picture.
constexpr const char* kVtestView = "crop=576:432:96:72";

// Encodes the ffmpeg filter graph `graph` (vtest.avi in as [0:v], the clip out as [v]) like the
// clip above (H.264, 2 s GOP) and demuxes it.
DemuxedClip vtest_clip(const std::filesystem::path& file, const std::string& graph) {
  const std::string cmd = "ffmpeg -hide_banner -loglevel error -y -i " + vtest_source().string() +
                          " -filter_complex \"" + graph + "\" -map \"[v]\" -c:v libx264 -preset "
                          "veryfast -crf 23 -g 20 -keyint_min 20 -sc_threshold 0 -bf 0 -pix_fmt "
                          "yuv420p " + file.string();
  if (test::run(cmd) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
  return test::demux_file(file);
}

// A camera turned (panned, tilted, zoomed) or pointed at another scene, on real footage with
// large flat areas (lawn, road) and people walking through: reported as moved within 5 s of the
// change and never before, on the main stream (keyframes while idle) and on a sub stream.
// The camera turns at 10.1 s, the frame after a keyframe: people walk through all the time, so
// the analysis looks at keyframes only (sustained motion) and this is the slowest turn to be
// seen. The source's first 20 s, through kVtestView until 10.1 s and through `after` (filters on
// the full picture, ending at 576x432) from then on.
// With `idle`, nobody walks: each part is its first frame, frozen (a main stream then decodes
// keyframes only, and the view's baseline is learnt on a picture that matches itself exactly).
struct TurnedCase {
  const char* name;
  std::string after;
  bool idle = false;
};
class AnalyzeTurnedCamera : public AnalyzeClips, public ::testing::WithParamInterface<int> {};

const TurnedCase& turned_case(int i) {
  static const std::vector<TurnedCase> cases{
      // Panned right by 10 % of the picture's width (58 of 576 px).
      {"pan10", "crop=576:432:154:72"},
      // Tilted down by 10 % of its height.
      {"tilt10", "crop=576:432:96:115"},
      // Panned by 20 % and zoomed in 1.1x.
      {"pan20_zoom", "crop=524:393:211:91,scale=576:432"},
      // Another scene: the same street mirrored (same light, same kind of texture, people).
      {"mirrored", std::string(kVtestView) + ",hflip"},
      // Another scene: the top-left corner of the street, zoomed in 2x.
      {"elsewhere", "crop=288:216:0:0,scale=576:432"},
      // Panned right by 10 %, nobody walking.
      {"pan10_idle", "crop=576:432:154:72", true},
  };
  return cases[static_cast<size_t>(i)];
}

TEST_P(AnalyzeTurnedCamera, RealFootageIsMovedWithinFiveSeconds) {
  ASSERT_TRUE(std::filesystem::exists(vtest_source()))
      << vtest_source() << " is missing: run scripts/fetch-test-data";
  const TurnedCase& c = turned_case(GetParam());
  const double change = 10.1;
  const std::string freeze = c.idle ? "trim=end_frame=1,tpad=stop_duration=10:stop_mode=clone,"
                                    : "";
  const DemuxedClip clip = vtest_clip(
      dir_.path() / (std::string(c.name) + ".mkv"),
      "[0:v]split[s0][s1];[s0]trim=0:10.1,setpts=PTS-STARTPTS," + freeze + kVtestView +
          (c.idle ? ",trim=0:10.1" : "") + "[a];[s1]trim=10.1:20,setpts=PTS-STARTPTS," + freeze +
          c.after + "[b];[a][b]concat=n=2:v=1[v]");
  for (const bool sub : {false, true}) {
    SCOPED_TRACE(sub ? "sub stream" : "main stream");
    const Analysed a = analyse(clip, AnalysisSettings{}, sub);
    const auto at = first(a.entries, DetectionType::kMoved);
    ASSERT_TRUE(at.has_value()) << describe(a);
    std::printf("vtest %s at %.1f s, %s: moved from %.2f s\n", c.name, change,
                sub ? "sub stream" : "main stream", *at);
    EXPECT_GE(*at, change) << describe(a);
    EXPECT_LE(*at, change + 5.0) << describe(a);
    EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
  }
}

INSTANTIATE_TEST_SUITE_P(Views, AnalyzeTurnedCamera, ::testing::Range(0, 6),
                         [](const auto& info) { return std::string(turned_case(info.param).name); });

// What is not a turned camera, on the same footage: the whole 79.5 s of people walking through
// (close to the camera too), and light steps (+40 %, -40 % of the luma: clouds, a lamp, the
// camera's exposure) and an IR switch (colour to grey, more contrast, brighter) between stretches
// of normal light.
TEST_F(AnalyzeClips, RealFootagePeopleLightAndIrAreNotTampering) {
  ASSERT_TRUE(std::filesystem::exists(vtest_source()))
      << vtest_source() << " is missing: run scripts/fetch-test-data";
  struct Case {
    const char* name;
    std::string whole;
    int seconds;
  };
  const std::vector<Case> cases{
      {"people", "", 80},
      // [12, 24] bright, [36, 48] dark, from 52 s IR (the normal light between).
      {"light and IR",
       "lutyuv=y='val*1.4':enable='between(t,12,24)',lutyuv=y='val*0.6':enable='between(t,36,48)',"
       "hue=s=0:enable='gte(t,52)',eq=contrast=1.5:brightness=0.1:enable='gte(t,52)'",
       64},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const DemuxedClip clip =
        vtest_clip(dir_.path() / "negative.mkv",
                   "[0:v]trim=0:" + std::to_string(c.seconds) + ",setpts=PTS-STARTPTS," +
                       kVtestView + (c.whole.empty() ? "" : "," + c.whole) + "[v]");
    for (const bool sub : {false, true}) {
      SCOPED_TRACE(sub ? "sub stream" : "main stream");
      const Analysed a = analyse(clip, AnalysisSettings{}, sub);
      EXPECT_GE(a.stats.frames_analysed, c.seconds / 2 - 2) << describe(a);
      EXPECT_EQ(count(a.entries, DetectionType::kMoved), 0) << describe(a);
      EXPECT_EQ(count(a.entries, DetectionType::kCovered), 0) << describe(a);
      EXPECT_EQ(count(a.entries, DetectionType::kDefocused), 0) << describe(a);
    }
  }
}

// The detector on 320x180 grey frames, as the analyzer hands them over: a view panned by 10 %
// and tilted by 5 % is measured as such (the shift is what an operator is told), and what a
// check costs is printed (never asserted: speed belongs to bench/).
TEST(Analyze, TamperMeasuresTheShiftOfATurnedViewAndPrintsItsCost) {
  const Scene scene(320, 180);
  cv::RNG rng(3);
  const auto frames = [&](int dx, int dy) {
    std::vector<cv::Mat> out(10);
    for (cv::Mat& f : out) {
      scene.view(f, dx, dy);
      Scene::add_noise(f, 3.0, rng);
    }
    return out;
  };
  const std::vector<cv::Mat> still = frames(0, 0), turned = frames(32, 9);
  TamperDetector detector;
  AVFrame* picture = av_frame_alloc();
  ASSERT_NE(picture, nullptr);
  std::vector<Detection> found;
  // CPU time of this thread: the machine may be busy with other work.
  const auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  // 100 s at 5 fps of the still view, then the turned one from 100 s on.
  const int checks = 500;
  const double t0 = cpu_us();
  for (int i = 0; i < checks; ++i) {
    const Ticks90k at = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(200 * i));
    detector.detect({still[static_cast<size_t>(i) % still.size()], picture, kStart, at}, found);
  }
  const double us = (cpu_us() - t0) / checks;
  EXPECT_TRUE(found.empty());
  EXPECT_GT(detector.last().still, 0.5);
  EXPECT_NEAR(detector.last().shift_x, 0.0, 1e-9);
  std::printf("tamper check on 320x180: %.0f us of CPU per analysed frame (at 5 fps: %.2f %% of "
              "a core); still view: zero-shift correlation %.2f (baseline %.2f)\n",
              us, us * 5 / 1e4, detector.last().still, detector.last().still_baseline);
  for (int i = 0; i < 11; ++i) {
    const Ticks90k at =
        std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(200 * (checks + i)));
    found.clear();
    detector.detect({turned[static_cast<size_t>(i) % turned.size()], picture, kStart, at}, found);
  }
  av_frame_free(&picture);
  const TamperMeasures& m = detector.last();
  std::printf("turned by 10 %% x 5 %%: zero-shift %.2f, peak %.2f at %+.3f, %+.3f\n", m.still,
              m.peak, m.shift_x, m.shift_y);
  EXPECT_LT(m.still, 0.25);
  EXPECT_GT(m.peak, 0.5);
  EXPECT_NEAR(m.shift_x, 0.10, 0.01);
  EXPECT_NEAR(m.shift_y, 0.05, 0.015);
  // 2 s of the turned view: confirmed.
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].type, DetectionType::kMoved);
}

// The clips above must be the same pictures on every architecture, or a test that passes here
// and fails on arm64 (scripts/cross-arm64) says nothing about the analysis. Two draws in one
// argument list once painted another scene on arm64 (argument order is unspecified); OpenCV's
// drawing, blur and cv::RNG's fills are integer or exactly rounded, so these hashes of the scene
// and of a noise field are pinned (FNV-1a over the pixels, taken on amd64).
TEST(AnalysisClips, SceneAndNoiseAreTheSamePicturesOnEveryArchitecture) {
  const auto fnv = [](const cv::Mat& m) {
    uint64_t h = 1469598103934665603ull;
    for (int r = 0; r < m.rows; ++r) {
      const uint8_t* p = m.ptr<uint8_t>(r);
      for (size_t i = 0; i < m.cols * m.elemSize(); ++i) h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
  };
  const Scene scene(640, 360);
  cv::Mat view;
  scene.view(view);
  EXPECT_EQ(fnv(view), 0x1d169003910bb9d9ull);
  cv::RNG rng(1);
  Scene::add_noise(view, 3.0, rng);
  EXPECT_EQ(fnv(view), 0x94ebc71e1a276abfull);
}

}  // namespace
}  // namespace vigil
