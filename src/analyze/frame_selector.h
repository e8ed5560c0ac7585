// Chooses which video packets analysis decodes, on the camera's ingest thread (O(1) per packet,
// never blocks). Decoding is the cost of analysis (docs/design/analysis.md): a 1080p25 main
// stream decoded in full costs ~7-9 % of a core, its keyframes alone ~0.5 %.
//
//  - kAll: every packet from a keyframe on (sub streams: small pictures, cheap to decode).
//  - kAdaptive: idle, only keyframes are decoded. The compressed stream itself says when to look
//    closer: a P-frame much larger than those at the same place of earlier GOPs means the picture changed (something
//    moves, the light changes); one much smaller means it lost detail (covered, defocused);
//    two such P-frames in a row trigger.
//    Then the current GOP is decoded from its keyframe (its packets
//    are kept as references, so motion is seen from the frame that triggered), and every frame
//    after it until analysis has reported no motion for `hold` (while decoding everything, the
//    pictures, not the sizes, decide).
//
// Packets are reference-counted; the selector keeps those of the current GOP only while
// adaptive (bounded by `max_gop_packets`).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

extern "C" {
#include <libavcodec/packet.h>
}

#include "core/time.h"

namespace vigil {

struct FrameSelectorOptions {
  bool adaptive = true;
  // A P-frame this many times larger (or 2x this many times smaller) than the running typical size triggers full decoding.
  double trigger_ratio = 1.5;
  // Full decoding lasts this long (media time) after a trigger or the last reported motion.
  Ticks90k hold = std::chrono::duration_cast<Ticks90k>(std::chrono::seconds(4));
  size_t max_gop_packets = 600;
};

struct FrameSelectorStats {
  int64_t packets_seen = 0;
  int64_t packets_selected = 0;
  int64_t triggers = 0;  // idle -> full decoding by packet size
};

class FrameSelector {
 public:
  explicit FrameSelector(FrameSelectorOptions options) : options_(options) {}

  using PacketRef = std::shared_ptr<const AVPacket>;
  // Feeds one video packet (its media time `at`); appends to `decode` what to decode now, in
  // order. `motion` says whether analysis reported motion in its latest frame.
  void on_packet(PacketRef pkt, Ticks90k at, bool motion, std::vector<PacketRef>& decode);
  // A new stream, or packets were lost between selector and decoder: wait for a keyframe.
  void resync();
  bool full_decoding() const { return active_; }
  const FrameSelectorStats& stats() const { return stats_; }

 private:
  bool size_triggers(int size);

  const FrameSelectorOptions options_;
  bool synced_ = false;  // the decoder has (or will have) this GOP's keyframe
  bool active_ = false;
  Ticks90k active_until_{0};
  std::vector<PacketRef> gop_;  // adaptive and idle: the current GOP, keyframe first
  bool gop_complete_ = false;   // gop_ holds every packet since the keyframe
  bool decoding_gop_ = false;   // the decoder got every packet of the current GOP so far
  struct Typical {
    double size = 0;  // bytes
    int samples = 0;
  };
  std::vector<Typical> typical_;  // typical P-frame size by place in the GOP
  size_t position_ = 0;           // place of the next P-frame in the current GOP
  bool last_departed_ = false;    // the previous P-frame's size departed from its typical
  FrameSelectorStats stats_;
};

}  // namespace vigil
