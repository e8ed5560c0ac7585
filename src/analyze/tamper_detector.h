// Tampering, judged on the small grey frames against what the camera normally sees:
//  - covered: the picture is flat (a hand, tape, spray paint: almost no contrast) or dark and
//    nearly flat;
//  - defocused: sharpness (mean |Laplacian| over contrast, so independent of brightness and
//    gain) fell well below the learnt baseline;
//  - moved: the reference view no longer explains the picture where it used to be. A 128-px
//    thumbnail is phase-correlated with the reference view (whitened cross-power spectrum): the
//    correlation surface's value at zero shift says how much of the picture the reference
//    explains unmoved, whatever the light (gain, offset, contrast); its peak elsewhere says by
//    how much the view shifted. A turned camera (shifted, zoomed) or one pointed at another scene
//    leaves nothing at zero shift; people walking through, light steps and IR switches keep it
//    (docs/design/analysis.md, "Tamper").
// The baselines and reference are learnt slowly from frames without tampering. A condition must
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
  // Moved: the phase correlation at zero shift below this value, and below this fraction of
  // its learnt baseline (a view with little structure or much movement never gets high values).
  double moved_still = 0.25;
  double moved_ratio = 0.5;
};

// Measures of one frame, exposed for tests and tuning.
struct TamperMeasures {
  double mean = 0, contrast = 0, sharpness = 0, sharpness_baseline = 0;
  // Phase correlation with the reference view: at zero shift (the view where it was), its
  // learnt baseline, and the strongest peak with its shift: how far the view moved, as
  // fractions of the picture's width and height (positive: the camera now looks further right
  // or down, the scene slid left or up in the picture).
  double still = 1, still_baseline = 0, peak = 1, shift_x = 0, shift_y = 0;
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
  // Phase correlation of `spectrum` against reference_ into last_ (still, peak, shift).
  void correlate_view(const cv::Mat& spectrum);

  const TamperOptions options_;
  std::optional<Ticks90k> first_at_, last_at_;
  double sharpness_baseline_ = 0;
  // The view's baseline: the correlation at zero shift of normal frames (0: not learnt yet).
  double still_baseline_ = 0;
  // The reference view, kept as the spectrum (CV_32FC2) of the windowed, mean-free thumbnail:
  // the DFT is linear, so the running average of the spectra is the spectrum of the running
  // average of the thumbnails, and only the current frame needs a forward transform.
  cv::Mat reference_;
  Held covered_, defocused_, moved_;
  TamperMeasures last_;
  struct Work {
    cv::Mat smooth, lap, half, thumb, thumbf, window, spectrum, cross, surface;
  } work_;  // reused frame after frame
};

}  // namespace vigil
