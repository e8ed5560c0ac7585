// Decode timestamps for a video stream that carries presentation times only.
//
// RTP gives each H.264/H.265 frame its presentation time; frames arrive in decode order. With
// B-frames the two orders differ (I0 P3 B1 B2 ...), so presentation times go backwards now and
// then, and a recorder that took them as decode times would see a jump at every B-frame. MP4
// needs decode times that strictly increase and never pass the presentation time.
//
// The rule (the one libavcodec/libavformat use): with reorder depth D (the most earlier frames,
// in decode order, that a frame is shown before), the decode time of the i-th frame is the
// (i - D)-th smallest presentation time seen; the first D frames get times just before the
// smallest. D comes from the stream's parameter sets where they say it
// (the caller passes it), and grows when the stream shows a deeper reordering than that; the
// decode times then slow to half a frame per frame until they are D frames behind again, so
// nothing jumps (the frame that showed it is presented a little late, once).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <set>

#include "core/time.h"

namespace vigil {

class DecodeTimestamps {
 public:
  explicit DecodeTimestamps(std::size_t reorder_depth = 0) : depth_(reorder_depth) {}

  // The decode time of the next frame in decode order, given its presentation time.
  Ticks90k next(Ticks90k pts);

  std::size_t reorder_depth() const { return depth_; }

 private:
  // How many of the last frames are shown after `pts`: the reordering this frame needs.
  std::size_t displacement(Ticks90k pts) const;

  std::size_t depth_;
  std::multiset<Ticks90k> unassigned_;  // presentation times not yet used as decode times
  std::deque<Ticks90k> recent_;         // the last presentation times, in decode order
  std::optional<Ticks90k> last_dts_;
  std::optional<Ticks90k> last_pts_;
  Ticks90k step_{3600};  // spacing of frames; 25 fps until the stream shows its own
};

}  // namespace vigil
