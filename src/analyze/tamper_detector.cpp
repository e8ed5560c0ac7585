#include "analyze/tamper_detector.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace vigil {
namespace {

// How fast the baselines and the reference view follow the scene (media time).
constexpr double kTauBaselineSeconds = 60.0;
constexpr double kTauReferenceSeconds = 60.0;
// While warming up, learn fast so the reference is the camera's, not the first frame's.
constexpr double kTauWarmupSeconds = 1.0;
// The thumbnail phase-correlated for "moved". At 128 px a 10 % turn is a 13-px shift, far
// outside the ±1 px a shaking mast gives, and averaging 2.5×2.5 analysis pixels (15×15 of a
// 1080p picture) leaves little sensor noise. At 64 px the vtest.avi views overlapped: people
// walking close to the camera took as much from the zero-shift value as a 10 % tilt left.
constexpr int kThumbWidth = 128;
// The sharpness baseline learns only from frames at least this sharp relative to it.
constexpr double kLearnAboveRatio = 0.8;
// Below this zero-shift baseline the view has too little structure for the correlation to tell
// a turn from noise (a moved view scatters around 0 with about this spread): not judged.
constexpr double kMinStillBaseline = 0.1;

double alpha_for(double dt_seconds, double tau_seconds) {
  return 1.0 - std::exp(-std::max(dt_seconds, 0.01) / tau_seconds);
}

// Sum of the 3×3 neighbourhood of (x, y) on the cyclic correlation surface: a shift that is not
// a whole number of thumbnail pixels spreads its peak over its neighbours.
double sum3(const cv::Mat& surface, int x, int y) {
  double sum = 0;
  for (int dy = -1; dy <= 1; ++dy) {
    const float* row = surface.ptr<float>((y + dy + surface.rows) % surface.rows);
    for (int dx = -1; dx <= 1; ++dx) sum += row[(x + dx + surface.cols) % surface.cols];
  }
  return sum;
}

}  // namespace

TamperDetector::TamperDetector(TamperOptions options) : options_(options) {}

bool TamperDetector::Held::update(bool holds, Ticks90k at, Ticks90k confirm) {
  if (!holds) {
    since.reset();
    return false;
  }
  if (!since) since = at;
  return at - *since >= confirm;
}

void TamperDetector::correlate_view(const cv::Mat& spectrum) {
  // Whitened cross-power spectrum: only the phase of each frequency is kept, so every
  // frequency votes equally for a shift and the picture's gain and contrast drop out (the
  // mean went with the DC term).
  cv::mulSpectrums(reference_, spectrum, work_.cross, 0, /*conjB=*/true);
  auto* c = work_.cross.ptr<cv::Vec2f>();
  for (size_t i = 0, n = work_.cross.total(); i < n; ++i) {
    const float m = std::sqrt(c[i][0] * c[i][0] + c[i][1] * c[i][1]);  // hypot: 5x slower
    c[i] = m > 1e-12f ? c[i] / m : cv::Vec2f(0, 0);
  }
  cv::idft(work_.cross, work_.surface, cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  const cv::Mat& s = work_.surface;
  cv::Point at;
  cv::minMaxLoc(s, nullptr, nullptr, nullptr, &at);
  // The surface is cyclic: the far half of each axis holds the negative shifts.
  const int x = at.x > s.cols / 2 ? at.x - s.cols : at.x;
  const int y = at.y > s.rows / 2 ? at.y - s.rows : at.y;
  // At zero shift, give or take a thumbnail pixel (0.8 % of the width: a mast swaying in the
  // wind is not a turn). Searching the ±1 px around it for the best 3×3 sum instead lifted the
  // noise of moved views (up to 0.42 of the baseline on vtest.avi against 0.35).
  last_.still = sum3(s, 0, 0);
  last_.peak = sum3(s, at.x, at.y);
  last_.shift_x = static_cast<double>(x) / s.cols;
  last_.shift_y = static_cast<double>(y) / s.rows;
}

void TamperDetector::detect(const AnalysisFrame& frame, std::vector<Detection>& found) {
  const Ticks90k at = frame.media_at;
  if (last_at_ && at < *last_at_) {  // timestamps went back: a new stream; keep what was learnt
    first_at_ = at;
    covered_ = defocused_ = moved_ = Held{};
  }
  if (!first_at_) first_at_ = at;
  const double dt = last_at_ ? std::chrono::duration<double>(at - *last_at_).count() : 0.0;
  last_at_ = at;
  const bool warm = at - *first_at_ >= options_.warmup;

  cv::Mat& smooth = work_.smooth;
  cv::GaussianBlur(frame.grey, smooth, cv::Size(3, 3), 0);
  cv::Scalar mean, stddev;
  cv::meanStdDev(smooth, mean, stddev);
  cv::Mat& lap = work_.lap;
  cv::Laplacian(smooth, lap, CV_32F);
  const double sharpness =
      cv::norm(lap, cv::NORM_L1) / static_cast<double>(lap.total()) / (stddev[0] + 1.0);

  // The view's thumbnail: mean-free and windowed (Hann) so that the picture's edges, where a
  // shifted view wraps around in the cyclic correlation, do not count.
  const int tw = std::clamp(frame.grey.cols, 2, kThumbWidth);
  // (At least 2 px each way: a Hann window needs them.)
  const int th = cv::getOptimalDFTSize(
      std::max(2, frame.grey.rows * tw / std::max(1, frame.grey.cols)));
  // Averaged down by a whole factor first (320 → 160 px): INTER_AREA by 2.5 costs 5x more.
  const int k = std::max(1, frame.grey.cols / tw);
  cv::resize(frame.grey, work_.half, cv::Size(frame.grey.cols / k, frame.grey.rows / k), 0, 0,
             cv::INTER_AREA);
  cv::resize(work_.half, work_.thumb, cv::Size(tw, th), 0, 0, cv::INTER_LINEAR);
  cv::GaussianBlur(work_.thumb, work_.thumb, cv::Size(3, 3), 0);
  work_.thumb.convertTo(work_.thumbf, CV_32F);
  if (work_.window.size() != work_.thumbf.size()) {
    cv::createHanningWindow(work_.window, work_.thumbf.size(), CV_32F);
  }
  work_.thumbf -= cv::mean(work_.thumbf);
  cv::multiply(work_.thumbf, work_.window, work_.thumbf);
  cv::dft(work_.thumbf, work_.spectrum, cv::DFT_COMPLEX_OUTPUT);
  work_.spectrum.at<cv::Vec2f>(0, 0) = cv::Vec2f(0, 0);  // brightness is not the view
  if (reference_.size() != work_.spectrum.size()) {
    work_.spectrum.copyTo(reference_);
    sharpness_baseline_ = sharpness;
    still_baseline_ = 0;
  }
  correlate_view(work_.spectrum);

  last_.mean = mean[0];
  last_.contrast = stddev[0];
  last_.sharpness = sharpness;
  last_.sharpness_baseline = sharpness_baseline_;
  last_.still_baseline = still_baseline_;

  const bool flat = stddev[0] < options_.flat_contrast ||
                    (mean[0] < options_.dark_level && stddev[0] < options_.dark_contrast);
  const bool blurred = !flat && sharpness < sharpness_baseline_ * options_.defocus_ratio;
  // A blurred picture has lost the fine detail the correlation relies on: it is reported as
  // defocused, not also as moved. The absolute bound keeps a baseline learnt on a frozen
  // picture (a still frame matches itself almost perfectly) from making the first live frames
  // "moved"; the relative one keeps views that never match well from being moved at all.
  const bool moved =
      !flat && !blurred && still_baseline_ >= kMinStillBaseline &&
      last_.still < std::min(options_.moved_still, still_baseline_ * options_.moved_ratio);

  const bool is_covered = warm && covered_.update(flat, at, options_.confirm);
  const bool is_defocused = warm && defocused_.update(blurred, at, options_.confirm);
  const bool is_moved = warm && moved_.update(moved, at, options_.confirm);
  if (!warm) covered_ = defocused_ = moved_ = Held{};

  if (is_covered) {
    found.push_back({DetectionType::kCovered,
                     std::clamp(1.0 - stddev[0] / options_.dark_contrast, 0.0, 1.0), {}, {}});
  }
  if (is_defocused) {
    found.push_back({DetectionType::kDefocused,
                     std::clamp(1.0 - sharpness / std::max(sharpness_baseline_, 1e-6), 0.0, 1.0),
                     {}, {}});
  }
  if (is_moved) {
    found.push_back({DetectionType::kMoved,
                     std::clamp(1.0 - last_.still / still_baseline_, 0.0, 1.0), {}, {}});
  }

  // Learn the normal view only from frames that look normal; a view that stayed changed long
  // enough is the new normal.
  const bool rebase_view = moved_.since && at - *moved_.since >= options_.rebase_after;
  const bool rebase_focus = defocused_.since && at - *defocused_.since >= options_.rebase_after;
  if (rebase_view) {
    work_.spectrum.copyTo(reference_);
    moved_ = Held{};
  }
  if (rebase_focus) {
    sharpness_baseline_ = sharpness;
    defocused_ = Held{};
  }
  // A frame on its way to defocus (or back) would drag the baseline with it.
  const bool doubtful = sharpness < sharpness_baseline_ * kLearnAboveRatio;
  if (!flat && !blurred && !moved && (!warm || !doubtful)) {
    const double tau_b = warm ? kTauBaselineSeconds : kTauWarmupSeconds;
    const double tau_r = warm ? kTauReferenceSeconds : kTauWarmupSeconds;
    sharpness_baseline_ += (sharpness - sharpness_baseline_) * alpha_for(dt, tau_b);
    // While warming up the reference is made of the last few frames, which match themselves
    // far better than any later frame will: the view's baseline starts once warm.
    if (warm) {
      still_baseline_ = still_baseline_ > 0 ? still_baseline_ + (last_.still - still_baseline_) *
                                                                    alpha_for(dt, tau_b)
                                            : last_.still;
    }
    cv::accumulateWeighted(work_.spectrum, reference_, alpha_for(dt, tau_r));
  }
}

}  // namespace vigil
