// Motion on small grey frames: a running-average background, compared after undoing global
// lighting changes, with a noise-adaptive threshold, a minimum area and zones/masks.
//
//  - Sensor noise: frames are blurred (5x5) and the per-pixel threshold is a multiple of the
//    frame's own noise level (median absolute difference to the background), never below a floor.
//  - Gradual and sudden global light changes (clouds, lights, IR switch, flicker): each frame's
//    gain and offset are matched to the background's (fitted on quantiles of the unclipped
//    pixels, so moving objects and light pushing areas into black or white do not bend the
//    fit) before differencing; when most of
//    the picture still differs (a change the match cannot undo, e.g. the IR switch), the
//    background is re-learnt from the frame and no motion is reported for it.
//  - Something that stops moving is absorbed into the background within a few seconds; moving
//    pixels are learnt slowly, so a walking person does not fade into the background.
// While a tamper detector (run before) reports tampering, no motion is reported and the
// background keeps the scene as it was before.
// Level-based: each frame is judged on its own; events turn levels into start/end.
// See docs/design/analysis.md for the parameters and how they were chosen.
#pragma once

#include <opencv2/core.hpp>

#include <optional>
#include <vector>

#include "analyze/detector.h"
#include "analyze/zones.h"
#include "core/config.h"

namespace vigil {

struct MotionStats {
  int64_t frames = 0;
  int64_t frames_with_motion = 0;
  int64_t relearns = 0;  // global changes the background was re-learnt for
};

class MotionDetector final : public Detector {
 public:
  explicit MotionDetector(const AnalysisSettings& settings);

  std::string_view name() const override { return "motion"; }
  void detect(const AnalysisFrame& frame, std::vector<Detection>& found) override;
  void on_stream_restart() override {}

  const MotionStats& stats() const { return stats_; }
  // The pixels judged moving in the last frame (8-bit, 255 = moving), for tests and tuning.
  const cv::Mat& last_foreground() const { return foreground_; }

 private:
  void relearn(const cv::Mat& f, Ticks90k at);

  const double min_area_;     // fraction of the picture
  const double noise_factor_;  // threshold = max(floor, noise_factor * noise)
  const double floor_;         // grey levels
  ZoneMap zones_;
  cv::Mat background_;  // CV_32F, in the background's own brightness
  cv::Mat previous_;    // CV_32F, last frame after brightness matching
  cv::Mat foreground_;
  struct Work {
    cv::Mat blurred, f, background8, unclipped, matched, diff, moving, step, still_now, stopped, in_motion,
        not_moving, labels, comp_stats, centroids, selected;
    std::vector<uint8_t> sample_f, sample_b;
  } work_;
  std::optional<Ticks90k> last_at_;
  MotionStats stats_;
};

}  // namespace vigil
