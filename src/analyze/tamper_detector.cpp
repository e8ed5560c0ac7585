#include "analyze/tamper_detector.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace vigil {
namespace {

// How fast the sharpness baseline and the reference view follow the scene (media time).
constexpr double kTauBaselineSeconds = 60.0;
constexpr double kTauReferenceSeconds = 60.0;
// While warming up, learn fast so the baseline is the camera's, not the first frame's.
constexpr double kTauWarmupSeconds = 1.0;
// The thumbnail compared for "moved": coarse enough that noise and small movers barely count.
constexpr int kThumbWidth = 64;
// The sharpness baseline learns only from frames at least this sharp relative to it.
constexpr double kLearnAboveRatio = 0.8;

double alpha_for(double dt_seconds, double tau_seconds) {
  return 1.0 - std::exp(-std::max(dt_seconds, 0.01) / tau_seconds);
}

double correlation(const cv::Mat& a, const cv::Mat& b) {
  cv::Scalar ma, sa, mb, sb;
  cv::meanStdDev(a, ma, sa);
  cv::meanStdDev(b, mb, sb);
  if (sa[0] < 1e-3 || sb[0] < 1e-3) return 0;
  cv::Mat da, db;
  cv::subtract(a, ma, da);
  cv::subtract(b, mb, db);
  return da.dot(db) / (static_cast<double>(a.total()) * sa[0] * sb[0]);
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

  cv::Mat& thumb = work_.thumb;
  cv::Mat& thumbf = work_.thumbf;
  const int tw = std::min(kThumbWidth, frame.grey.cols);
  const int th = std::max(1, frame.grey.rows * tw / std::max(1, frame.grey.cols));
  cv::resize(frame.grey, thumb, cv::Size(tw, th), 0, 0, cv::INTER_AREA);
  cv::GaussianBlur(thumb, thumb, cv::Size(3, 3), 0);
  thumb.convertTo(thumbf, CV_32F);
  if (reference_.size() != thumbf.size()) {
    thumbf.copyTo(reference_);
    sharpness_baseline_ = sharpness;
  }
  const double corr = correlation(thumbf, reference_);

  last_ = {mean[0], stddev[0], sharpness, sharpness_baseline_, corr};

  const bool flat = stddev[0] < options_.flat_contrast ||
                    (mean[0] < options_.dark_level && stddev[0] < options_.dark_contrast);
  const bool blurred = !flat && sharpness < sharpness_baseline_ * options_.defocus_ratio;
  const bool moved = !flat && corr < options_.moved_correlation;

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
    found.push_back({DetectionType::kMoved, std::clamp(1.0 - corr, 0.0, 1.0), {}, {}});
  }

  // Learn the normal view only from frames that look normal; a view that stayed changed long
  // enough is the new normal.
  const bool rebase_view = moved_.since && at - *moved_.since >= options_.rebase_after;
  const bool rebase_focus = defocused_.since && at - *defocused_.since >= options_.rebase_after;
  if (rebase_view) {
    thumbf.copyTo(reference_);
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
    cv::accumulateWeighted(thumbf, reference_, alpha_for(dt, tau_r));
  }
}

}  // namespace vigil
