// Tampering, judged on the small grey frames against what the camera normally sees:
//  - covered: the picture is flat (a hand, tape, spray paint: almost no contrast) or dark and
//    nearly flat;
//  - defocused: sharpness (mean |Laplacian| over contrast, so independent of brightness and
//    gain) fell well below the learnt baseline;
//  - moved: the picture no longer correlates with the reference view (normalised correlation
//    of a blurred thumbnail, so lighting changes do not count).
// The baseline and reference are learnt slowly from frames without tampering. A condition must
// hold for `confirm` (media time) before it is reported, so a lorry passing close to the lens
// is not a moved camera; it is then reported on every frame while it holds. A view that stays
// moved or defocused for `rebase_after` becomes the new normal (the operator re-aimed it).
// Signal loss is not judged here: there are no frames then (CameraAnalyzer's watchdog).
#pragma once

#include <opencv2/core.hpp>

#include <optional>

#include "analyze/detector.h"
#include "core/config.h"

namespace vigil {

struct TamperOptions {
  Ticks90k confirm = std::chrono::duration_cast<Ticks90k>(std::chrono::seconds(2));
  Ticks90k rebase_after = std::chrono::duration_cast<Ticks90k>(std::chrono::minutes(10));
  // Nothing is reported before this much media time has been seen (baseline learning).
  Ticks90k warmup = std::chrono::duration_cast<Ticks90k>(std::chrono::seconds(3));
  double flat_contrast = 6.0;        // stddev of grey levels below this: flat
  double dark_level = 20.0;          // mean below this ...
  double dark_contrast = 14.0;       // ... and stddev below this: dark and nearly flat
  double defocus_ratio = 0.6;        // sharpness below this fraction of the baseline
  double moved_correlation = 0.45;   // correlation with the reference below this
};

// Measures of one frame, exposed for tests and tuning.
struct TamperMeasures {
  double mean = 0, contrast = 0, sharpness = 0, sharpness_baseline = 0, correlation = 1;
};

class TamperDetector final : public Detector {
 public:
  explicit TamperDetector(TamperOptions options = {});

  std::string_view name() const override { return "tamper"; }
  void detect(const AnalysisFrame& frame, std::vector<Detection>& found) override;

  const TamperMeasures& last() const { return last_; }

 private:
  // One condition's persistence: since when it holds.
  struct Held {
    std::optional<Ticks90k> since;
    bool update(bool holds, Ticks90k at, Ticks90k confirm);
  };

  const TamperOptions options_;
  std::optional<Ticks90k> first_at_, last_at_;
  double sharpness_baseline_ = 0;
  cv::Mat reference_;  // CV_32F thumbnail
  Held covered_, defocused_, moved_;
  TamperMeasures last_;
  struct Work {
    cv::Mat smooth, lap, thumb, thumbf;
  } work_;  // reused frame after frame
};

}  // namespace vigil
