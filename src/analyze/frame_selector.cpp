#include "analyze/frame_selector.h"

#include <algorithm>

namespace vigil {
namespace {

// P-frames seen before the size trigger is trusted.
constexpr int kWarmupSamples = 8;
// The typical size follows the stream over ~30 frames; a frame counts at most twice the
// typical size, so one burst does not raise the bar for the next.
constexpr double kSizeLearningRate = 1.0 / 32;

}  // namespace

void FrameSelector::resync() {
  synced_ = false;
  gop_.clear();
  gop_complete_ = false;
  decoding_gop_ = false;
}

bool FrameSelector::size_triggers(int size) {
  const double s = size;
  // Much larger: something moves or the light changed. Much smaller: the picture lost detail
  // (covered, defocused, a frozen encoder).
  const bool trigger = samples_ >= kWarmupSamples &&
                       (s > typical_size_ * options_.trigger_ratio + 64 ||
                        s * options_.trigger_ratio * 2 + 512 < typical_size_);
  if (samples_ == 0) {
    typical_size_ = s;
  } else {
    typical_size_ += (std::min(s, 2 * typical_size_) - typical_size_) * kSizeLearningRate;
  }
  ++samples_;
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
    gop_.clear();
    gop_complete_ = true;
    gop_.push_back(pkt);
    decoding_gop_ = true;
    if (active_ && at > active_until_) active_ = false;
    decode.push_back(std::move(pkt));  // keyframes are always analysed
  } else {
    const bool trigger = size_triggers(pkt->size);
    if (trigger) active_until_ = std::max(active_until_, at + options_.hold);
    // A size trigger, or analysis reporting motion (seen at a keyframe, say): decode it all.
    if (!active_ && at <= active_until_) {
      if (trigger) ++stats_.triggers;
      active_ = true;
      if (!decoding_gop_ && gop_complete_) {
        // The keyframe was decoded already; the rest of the GOP brings the decoder up to now,
        // so motion is seen from the frame that triggered.
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
