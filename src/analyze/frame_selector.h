// Chooses which video packets analysis decodes, on the camera's ingest thread (O(1) per packet,
// never blocks). Decoding is the cost of analysis (docs/design/analysis.md): a 1080p25 main
// stream decoded in full costs ~7-9 % of a core, its keyframes alone ~0.5 %.
//
//  - not adaptive: every packet from a keyframe on (but for sustained motion, below).
//  - kAdaptive: idle, only keyframes are decoded. The compressed stream itself says when to look
//    closer: a P-frame that departs from those at the same place of earlier GOPs by more than
//    the stream's own wobble (a learnt spread, not a fixed ratio) means the picture changed:
//    larger, something moves or the light changes; much smaller, it lost detail (covered,
//    defocused). `confirm` such P-frames in a row trigger, or one far larger (a step change:
//    a light switched on or off). Then the current GOP is decoded
//    from its keyframe (its packets are kept as references, so motion is seen from the frame
//    that triggered), and every frame after it for `trigger_hold`, and on until analysis has
//    reported no motion for `hold` (while decoding everything, the pictures, not the sizes,
//    decide).
//    Sustained motion is sampled: a GOP that begins while analysis still sees motion (in every
//    zone) is decoded until its keyframe has been analysed (and for `sample` after it, if set);
//    with motion, the rest of the GOP is skipped (motion is known to go on; its details can
//    wait for the next keyframe). A keyframe without motion ends it: adaptive decoding is idle
//    again, otherwise every frame is decoded on. Motion that begins in a GOP is decoded frame
//    by frame until it has lasted `sustained_after` in the analysed frames; the rest of that
//    GOP is skipped then.
//    Motion that begins without a size jump (constant-bitrate control can hide it) is first
//    seen at the next keyframe; so a keyframe after a GOP that ended idle carries that GOP's
//    packets, and the analysis, when the keyframe differs from the last frame it analysed,
//    decodes them to find where it began (CameraAnalyzer). Motion that began before a
//    keyframe is sustained for its GOP.
//
// Packets are reference-counted; the selector keeps those of the current GOP only while
// adaptive (bounded by `max_gop_packets`).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

extern "C" {
#include <libavcodec/packet.h>
}

#include "core/time.h"

namespace vigil {

struct FrameSelectorOptions {
  bool adaptive = true;
  // A P-frame departs when its size differs from the typical size at its place in the GOP by
  // more than `spread_factor` times the stream's spread (how much that log-ratio wobbles,
  // learnt from the stream), and by at least `min_ratio`; smaller frames must be at least 3x
  // smaller.
  double spread_factor = 4.0;
  double min_ratio = 1.15;
  // Departing P-frames in a row that trigger full decoding (rate control wobbles single frames;
  // something moving keeps them large) ...
  int confirm = 2;
  // ... or one P-frame larger by this many times the threshold (in log-ratio): a step change
  // such as a light switched on or off costs one large frame, the next ones are normal again.
  double jump_factor = 2.0;
  // Full decoding lasts this long (media time) after the last reported motion (its end and a
  // restart are seen frame by frame) ...
  Ticks90k hold = std::chrono::duration_cast<Ticks90k>(std::chrono::seconds(2));
  // ... and this long after a size trigger: long enough for the detectors to see what changed;
  // a trigger whose frames show no motion (a light switched, rate control) is not worth more.
  Ticks90k trigger_hold = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(400));
  // Sustained motion: a GOP that starts while motion is seen is decoded for `sample` after its
  // keyframe and until analysis has answered about a frame of it (0: its keyframe's answer is
  // enough; 0.2 s gives a second look, which finds an end in those 0.2 s a GOP earlier, for ~5
  // P-frames a GOP); the rest is skipped once the analysis has seen motion in it, but never
  // more than `max_skip` after the keyframe (a long GOP is caught up then: analysis never goes
  // quiet for longer; kAnalysisQuietMax in detection.h, which the events stage waits out
  // before it ends an event for want of frames, must stay above it). `sample_sustained` =
  // false decodes every frame while motion lasts.
  bool sample_sustained = true;
  Ticks90k sample{0};
  // Motion that began in a GOP is sustained too once analysis has seen it in every frame for
  // this long: its start, zones and first snapshot are known, and the rest of its GOP is
  // skipped like a sampled one's.
  Ticks90k sustained_after = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(400));
  Ticks90k max_skip = std::chrono::duration_cast<Ticks90k>(std::chrono::milliseconds(2500));
  size_t max_gop_packets = 600;
  // Adaptive: keyframes after an idle GOP carry that GOP (Packet::previous_gop).
  bool look_back = true;
};

// What analysis last said, as far as the selector needs it.
struct AnalysisHint {
  std::optional<Ticks90k> analysed_at;  // media time of the latest analysed frame, if any
  bool motion = false;                  // that frame showed motion
  // ... in every zone of the camera (or it has none): nothing a skipped stretch could hide
  // would start another zone's event. Sustained motion is sampled only then.
  bool every_zone = false;
  // Media time of the first frame of the motion going on (analysed frames with motion since).
  // Motion that began before a GOP's keyframe is sustained for that GOP, even when analysis
  // said so only after the keyframe arrived (it lags, or it looked back into the GOP before).
  std::optional<Ticks90k> motion_since;
};

struct FrameSelectorStats {
  int64_t packets_seen = 0;
  int64_t packets_selected = 0;
  int64_t triggers = 0;  // idle -> full decoding by packet size
  int64_t sampled_gops = 0;  // GOPs of sustained motion that ended with their rest skipped
  int64_t previous_gops = 0;  // keyframes sent with the GOP before them (Packet::previous_gop)
};

class FrameSelector {
 public:
  explicit FrameSelector(FrameSelectorOptions options) : options_(options) {}

  using PacketRef = std::shared_ptr<const AVPacket>;
  struct Packet;
  using Gop = std::vector<Packet>;
  struct Packet {
    PacketRef pkt;
    WallTime received;  // when it arrived: the frame's time for people, even decoded late
    // Adaptive, on a keyframe after a GOP whose rest was not decoded (idle from its keyframe,
    // or from where a full decoding stopped; not skipped for sustained motion): that whole GOP,
    // keyframe first. Should this keyframe differ from the last frame analysed, the analysis
    // decodes it to see when the change began (no size jump told; docs/design/analysis.md).
    std::shared_ptr<const Gop> previous_gop;
  };
  // Feeds one video packet (its media time `at`); appends to `decode` what to decode now, in
  // order. `hint` is what analysis said of its latest frame (of this stream).
  void on_packet(Packet packet, Ticks90k at, const AnalysisHint& hint,
                 std::vector<Packet>& decode);
  // A new stream, or packets were lost between selector and decoder: wait for a keyframe.
  void resync();
  bool full_decoding() const { return active_; }
  // The rest of the current GOP is being skipped (sustained motion).
  bool skipping() const { return skipping_; }
  const FrameSelectorStats& stats() const { return stats_; }
  // The stream's learnt size spread (mean absolute log-ratio of a P-frame to its typical size);
  // 0 until known. For tests and tuning.
  double size_spread() const { return spread_samples_ > 0 ? spread_ : 0; }

 private:
  enum class SizeChange { kNone, kDeparts, kJumps };
  SizeChange size_change(int size);

  const FrameSelectorOptions options_;
  bool synced_ = false;  // the decoder has (or will have) this GOP's keyframe
  bool active_ = false;
  Ticks90k active_until_{0};
  Ticks90k key_at_{0};      // the current GOP's keyframe
  bool sampling_ = false;   // the current GOP started in sustained motion
  bool skipping_ = false;   // ... and motion was seen in its sample: its rest is not decoded
  std::vector<Packet> gop_;   // adaptive: the current GOP, keyframe first
  bool gop_complete_ = false;  // gop_ holds every packet since the keyframe
  size_t gop_packets_ = 0;     // packets of the current GOP so far
  size_t sent_ = 0;            // the first `sent_` of them went to the decoder
  struct Typical {
    double log_size = 0;  // log(bytes), followed over a few GOPs
    double spread = 0;    // the spread at this place
    int samples = 0;
  };
  std::vector<Typical> typical_;  // by place in the GOP
  size_t position_ = 0;           // place of the next P-frame in the current GOP
  double spread_ = 0;             // stream-wide
  int64_t spread_samples_ = 0;
  int departed_in_a_row_ = 0;
  FrameSelectorStats stats_;
};

}  // namespace vigil
