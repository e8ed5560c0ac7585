#include "analyze/frame_selector.h"

#include <algorithm>

namespace vigil {
namespace {

// GOPs seen before the size trigger is trusted.
constexpr int kWarmupGops = 2;
// The typical size at a place in the GOP follows the stream over ~4 GOPs; a frame counts at
// most twice the typical size, so one burst does not raise the bar for the next.
constexpr double kSizeLearningRate = 1.0 / 4;

}  // namespace

void FrameSelector::resync() {
  synced_ = false;
  gop_.clear();
  gop_complete_ = false;
  decoding_gop_ = false;
}

bool FrameSelector::size_triggers(int size) {
  // Compared with the P-frame at the same place in earlier GOPs: rate control gives a GOP a
  // shape (small frames after the keyframe, growing towards the next), and only a departure
  // from that shape means the picture changed.
  const size_t pos = std::min(position_, options_.max_gop_packets - 1);
  ++position_;
  if (typical_.size() <= pos) typical_.resize(pos + 1, Typical{});
  Typical& t = typical_[pos];
  const double s = size;
  // Much larger: something moves or the light changed. Much smaller: the picture lost detail
  // (covered, defocused, a frozen encoder).
  const bool trigger = t.samples >= kWarmupGops &&
                       (s > t.size * options_.trigger_ratio + 64 ||
                        s * options_.trigger_ratio * 2 + 512 < t.size);
  if (t.samples == 0) {
    t.size = s;
  } else {
    t.size += (std::min(s, 2 * t.size) - t.size) * kSizeLearningRate;
  }
  ++t.samples;
  return trigger;
}

void FrameSelector::on_packet(PacketRef pkt, Ticks90k at, bool motion,
                              std::vector<PacketRef>& decode) {
  ++stats_.packets_seen;
  const bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  const size_t before = decode.size();
  if (key) synced_ = true;
  if (!synced_) return;

  if (!options_.adaptive) {
    decode.push_back(std::move(pkt));
    stats_.packets_selected += static_cast<int64_t>(decode.size() - before);
    return;
  }

  if (motion) active_until_ = std::max(active_until_, at + options_.hold);
  if (key) {
    position_ = 0;
    gop_.clear();
    gop_complete_ = true;
    gop_.push_back(pkt);
    decoding_gop_ = true;
    if (active_ && at > active_until_) active_ = false;
    decode.push_back(std::move(pkt));  // keyframes are always analysed
  } else {
    // Two departures in a row: rate control alone wobbles single frames; something moving
    // keeps the frames large. While decoding everything, the pictures are the judge: only
    // motion found in them keeps full decoding on.
    const bool departs = size_triggers(pkt->size);
    const bool trigger = departs && last_departed_;
    last_departed_ = departs;
    if (!active_ && (trigger || at <= active_until_)) {
      if (trigger) {
        ++stats_.triggers;
        active_until_ = std::max(active_until_, at + options_.hold);
      }
      active_ = true;
      if (!decoding_gop_ && gop_complete_) {
        // The keyframe was decoded already; the rest of the GOP brings the decoder up to now,
        // so motion is seen from the frames that triggered.
        decode.insert(decode.end(), gop_.begin() + 1, gop_.end());
        decoding_gop_ = true;
      }
      // Without the whole GOP the decoder cannot start mid-GOP: full decoding starts at the
      // next keyframe.
    }
    if (gop_complete_) {
      if (gop_.size() < options_.max_gop_packets) {
        gop_.push_back(pkt);
      } else {
        gop_.clear();  // too long a GOP to keep
        gop_complete_ = false;
      }
    }
    if (active_ && decoding_gop_) {
      decode.push_back(std::move(pkt));
    } else {
      decoding_gop_ = false;
    }
    // Idle again: decoding stops after this packet; the decoder next sees a keyframe.
    if (active_ && at > active_until_) active_ = false;
  }
  stats_.packets_selected += static_cast<int64_t>(decode.size() - before);
}

}  // namespace vigil
