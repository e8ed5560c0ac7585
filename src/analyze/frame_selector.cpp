#include "analyze/frame_selector.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace vigil {
namespace {

// GOPs seen before a place's typical size is trusted.
constexpr int kWarmupGops = 2;
// The typical size at a place in the GOP follows the stream over ~4 GOPs; a frame counts at
// most twice the typical size, so one burst does not raise the bar for the next.
constexpr double kSizeLearningRate = 1.0 / 4;
// The spread is learnt stream-wide (every P-frame is a sample: known within a GOP) and per
// place (rate control wobbles most right after the keyframe and just before the next one,
// where it saves bits for it), the larger of the two counting once a place has this many.
constexpr int kPlaceSpreadSamples = 1;
// The stream-wide spread: a plain mean over its first samples, then followed over ~2 GOPs of
// 25 fps; a deviation counts at most 3x the spread, so motion does not teach it to ignore
// motion.
constexpr int64_t kSpreadBootstrap = 24;
constexpr double kSpreadLearningRate = 1.0 / 50;
constexpr double kSpreadClip = 3.0;
constexpr int64_t kSpreadCapAfter = 4;
// Smaller frames trigger only when this many times smaller (a covered lens, lost focus), and
// only where frames are large enough for their size to mean something.
constexpr double kShrinkRatio = 3.0;
constexpr double kShrinkMinBytes = 512;

}  // namespace

void FrameSelector::resync() {
  synced_ = false;
  gop_.clear();
  gop_complete_ = false;
  gop_packets_ = 0;
  sent_ = 0;
  sampling_ = false;
  skipping_ = false;
}

FrameSelector::SizeChange FrameSelector::size_change(int size) {
  // Compared with the P-frame at the same place in earlier GOPs: rate control gives a GOP a
  // shape (small frames after the keyframe, growing, then small again before the next), and
  // only a departure from that shape by more than the stream's own wobble means the picture
  // changed. Sizes are compared as log-ratios: the wobble of a stream is proportional.
  const size_t pos = std::min(position_, options_.max_gop_packets - 1);
  ++position_;
  if (typical_.size() <= pos) typical_.resize(pos + 1, Typical{});
  Typical& t = typical_[pos];
  const double l = std::log(std::max(size, 16));
  SizeChange change = SizeChange::kNone;
  if (t.samples >= kWarmupGops) {
    const double r = l - t.log_size;
    const double dev = std::abs(r);
    if (spread_samples_ > 0) {
      double spread = spread_;
      if (t.samples >= kWarmupGops + kPlaceSpreadSamples) spread = std::max(spread, t.spread);
      const double threshold =
          std::max(std::log(options_.min_ratio), options_.spread_factor * spread);
      if (r > threshold * options_.jump_factor) {
        change = SizeChange::kJumps;
      } else if (r > threshold || (r < -std::max(std::log(kShrinkRatio), threshold) &&
                                   std::exp(t.log_size) > kShrinkMinBytes)) {
        change = SizeChange::kDeparts;
      }
    }
    // Learn the spread, outliers (a burst of motion) capped once a few samples are in.
    const double capped =
        spread_samples_ >= kSpreadCapAfter ? std::min(dev, kSpreadClip * spread_) : dev;
    ++spread_samples_;
    spread_ += (capped - spread_) * (spread_samples_ <= kSpreadBootstrap
                                         ? 1.0 / static_cast<double>(spread_samples_)
                                         : kSpreadLearningRate);
    const double place_capped = std::min(dev, kSpreadClip * std::max(spread_, t.spread));
    t.spread = t.samples == kWarmupGops ? dev
                                        : t.spread + (place_capped - t.spread) * kSizeLearningRate;
  }
  if (t.samples == 0) {
    t.log_size = l;
  } else {
    t.log_size += (std::min(l, t.log_size + std::numbers::ln2) - t.log_size) * kSizeLearningRate;
  }
  ++t.samples;
  return change;
}

void FrameSelector::on_packet(Packet packet, Ticks90k at, const AnalysisHint& hint,
                              std::vector<Packet>& decode) {
  ++stats_.packets_seen;
  const bool key = (packet.pkt->flags & AV_PKT_FLAG_KEY) != 0;
  const size_t before = decode.size();
  if (key) synced_ = true;
  if (!synced_) return;

  if (!options_.adaptive && !options_.sample_sustained) {
    decode.push_back(std::move(packet));
    stats_.packets_selected += static_cast<int64_t>(decode.size() - before);
    return;
  }
  // Not adaptive: every frame is decoded but for the skipped rest of a sampled GOP.
  if (!options_.adaptive) active_ = true;

  if (hint.motion) active_until_ = std::max(active_until_, at + options_.hold);
  if (key) {
    position_ = 0;
    // The GOP before ended idle (its rest not decoded: from its keyframe on, or from where a
    // full decoding stopped), not for sustained motion, and every packet of it is kept: it goes
    // with this keyframe, for the analysis to look back into.
    std::shared_ptr<const Gop> previous;
    if (options_.adaptive && options_.look_back && gop_complete_ &&
        gop_.size() == gop_packets_ && sent_ < gop_packets_ && !active_ && !skipping_ &&
        !hint.motion) {
      previous = std::make_shared<const Gop>(std::move(gop_));
      ++stats_.previous_gops;
    }
    gop_.clear();
    gop_complete_ = true;
    gop_.push_back(packet);
    gop_packets_ = 1;
    sent_ = 1;
    if (options_.adaptive && active_ && at > active_until_) active_ = false;
    // Motion still seen as a GOP begins, while decoding in full: it is sustained. (A GOP whose
    // keyframe first shows motion is decoded in full: where and when it began matters.)
    if (skipping_) ++stats_.sampled_gops;
    key_at_ = at;
    sampling_ = options_.sample_sustained && active_ && hint.motion && hint.every_zone;
    skipping_ = false;
    packet.previous_gop = std::move(previous);
    decode.push_back(std::move(packet));  // keyframes are always analysed
  } else {
    // Departures in a row: rate control alone wobbles single frames; something moving keeps
    // the frames large. While decoding everything, the pictures are the judge: only motion
    // found in them keeps full decoding on.
    const SizeChange change = size_change(packet.pkt->size);
    departed_in_a_row_ = change != SizeChange::kNone ? departed_in_a_row_ + 1 : 0;
    const bool trigger =
        change == SizeChange::kJumps || departed_in_a_row_ >= options_.confirm;
    if (!active_ && (trigger || at <= active_until_)) {
      if (trigger) {
        ++stats_.triggers;
        active_until_ = std::max(active_until_, at + options_.trigger_hold);
      }
      active_ = true;
    }
    ++gop_packets_;
    if (gop_complete_) {
      if (gop_.size() < options_.max_gop_packets) {
        gop_.push_back(packet);
      } else {
        gop_.clear();  // too long a GOP to keep
        gop_complete_ = false;
      }
    }
    // Motion seen (in every zone) in a frame of this GOP, not yet sustained for it: if it began
    // before the keyframe (reported only now), it is sustained after all, and sampled; if it
    // began in this GOP and has lasted `sustained_after` since, frame by frame, its start,
    // zones and first snapshot are known, and the rest of the GOP would only confirm it.
    if (options_.sample_sustained && !sampling_ && !skipping_ && hint.motion &&
        hint.every_zone && hint.motion_since && hint.analysed_at &&
        *hint.analysed_at >= key_at_) {
      if (*hint.motion_since < key_at_) {
        sampling_ = true;
      } else if (*hint.analysed_at - *hint.motion_since >= options_.sustained_after) {
        skipping_ = true;
      }
    }
    if (sampling_ && !skipping_ && at > key_at_ + options_.sample) {
      // The sample is over. Until one of its frames has been analysed (analysis may lag a
      // little), decoding goes on; then motion in it means the rest of the GOP can be
      // skipped. None means the motion ended or paused somewhere in the stretch skipped
      // before: looking at the rest of this GOP frame by frame would only watch for a restart,
      // which the idle watch (the size trigger, the next keyframe) sees too. Adaptive
      // decoding is idle again; otherwise every frame is decoded on.
      if (hint.analysed_at && *hint.analysed_at >= key_at_) {
        if (hint.motion && hint.every_zone) {
          skipping_ = true;
        } else {
          sampling_ = false;
          if (options_.adaptive && !hint.motion) {
            active_ = false;
            active_until_ = at;
          }
        }
      }
    }
    if (skipping_ && at > key_at_ + options_.max_skip) {
      // A GOP too long to leave unlooked-at: caught up below, then decoded on.
      skipping_ = false;
      sampling_ = false;
    }
    if (active_ && !skipping_) {
      if (sent_ + 1 == gop_packets_) {
        // The decoder is up to date: this packet follows what it has.
        decode.push_back(std::move(packet));
        sent_ = gop_packets_;
      } else if (gop_complete_) {
        // The decoder stopped somewhere in this GOP (at its keyframe, or where an earlier
        // full decoding ended): the packets it has not seen bring it up to now, so motion is
        // seen from the frames that triggered. Never one it has decoded already: a packet fed
        // twice is decoded against the wrong references (garbage, and time running backwards).
        decode.insert(decode.end(), gop_.begin() + static_cast<std::ptrdiff_t>(sent_),
                      gop_.end());
        sent_ = gop_packets_;
      }
      // Otherwise the GOP was too long to keep: full decoding starts at the next keyframe.
    }
    // Idle again: decoding stops after this packet; the decoder next sees what it missed (on a
    // trigger in this GOP) or the next keyframe.
    if (options_.adaptive && active_ && at > active_until_) active_ = false;
  }
  stats_.packets_selected += static_cast<int64_t>(decode.size() - before);
}

}  // namespace vigil
