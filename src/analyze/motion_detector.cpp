#include "analyze/motion_detector.h"

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace vigil {
namespace {

// Time constants of the background (media time): how fast it follows the scene where nothing
// moves, where something stopped moving, and where something moves.
constexpr double kTauStillSeconds = 4.0;
constexpr double kTauStoppedSeconds = 2.0;
constexpr double kTauMovingSeconds = 30.0;
// More of the picture than this differing at once is a global change, not motion.
constexpr double kGlobalChangeFraction = 0.5;
// Pixels this close to black or white cannot show a change reliably (clipped by the sensor).
// Most cameras send limited-range luma (16..235, ITU-R BT.601/709), some full range (0..255).
constexpr int kClipLowFull = 4, kClipHighFull = 251;
constexpr int kClipLowLimited = 19, kClipHighLimited = 232;

const cv::Mat& kernel(int size) {
  static const cv::Mat k3 = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(3, 3));
  static const cv::Mat k5 = cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5));
  return size == 3 ? k3 : k5;
}

double alpha_for(double dt_seconds, double tau_seconds) {
  return 1.0 - std::exp(-std::max(dt_seconds, 0.01) / tau_seconds);
}

// Median of |diff| over a strided sample: a robust estimate of the noise level, since moving
// objects cover a minority of the picture.
double median_abs(const cv::Mat& diff) {
  std::vector<float> sample;
  sample.reserve(static_cast<size_t>(diff.total() / 4 + 1));
  for (int y = 0; y < diff.rows; y += 2) {
    const float* row = diff.ptr<float>(y);
    for (int x = 0; x < diff.cols; x += 2) sample.push_back(row[x]);
  }
  if (sample.empty()) return 0;
  auto mid = sample.begin() + static_cast<std::ptrdiff_t>(sample.size() / 2);
  std::nth_element(sample.begin(), mid, sample.end());
  return *mid;
}


// The global gain and offset that take the frame's grey levels to the background's, fitted on
// quantiles (20/50/80 %) so that a moving object, a minority of the pixels, barely moves it, and
// on pixels the frame shows unclipped only, so that light that pushes part of the picture into
// black or white does not bend the fit.
struct Tone {
  double gain = 1, offset = 0;
};
Tone fit_tone(const cv::Mat& frame8, const cv::Mat& background8, const cv::Mat& unclipped,
              std::vector<uint8_t>& fs, std::vector<uint8_t>& bs) {
  fs.clear();
  bs.clear();
  for (int y = 0; y < frame8.rows; y += 2) {
    const uint8_t* f = frame8.ptr<uint8_t>(y);
    const uint8_t* b = background8.ptr<uint8_t>(y);
    const uint8_t* ok = unclipped.ptr<uint8_t>(y);
    for (int x = 0; x < frame8.cols; x += 2) {
      if (!ok[x]) continue;
      fs.push_back(f[x]);
      bs.push_back(b[x]);
    }
  }
  if (fs.size() < 64) return {};
  auto quantile = [](std::vector<uint8_t>& v, double q) {
    auto it = v.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), it, v.end());
    return static_cast<double>(*it);
  };
  const double f20 = quantile(fs, 0.2), f50 = quantile(fs, 0.5), f80 = quantile(fs, 0.8);
  const double b20 = quantile(bs, 0.2), b50 = quantile(bs, 0.5), b80 = quantile(bs, 0.8);
  Tone t;
  if (f80 - f20 >= 2) t.gain = std::clamp((b80 - b20) / (f80 - f20), 0.2, 5.0);
  t.offset = b50 - t.gain * f50;
  return t;
}

}  // namespace

MotionDetector::MotionDetector(const AnalysisSettings& settings)
    : min_area_(settings.min_area),
      // sensitivity 1..100 -> the threshold is 7..2.5 times the noise level and the floor
      // 14..5 grey levels.
      noise_factor_(7.0 - 4.5 * (settings.sensitivity - 1) / 99.0),
      floor_(14.0 - 9.0 * (settings.sensitivity - 1) / 99.0),
      zones_(settings.zones) {}

void MotionDetector::relearn(const cv::Mat& f, Ticks90k at) {
  f.copyTo(background_);
  f.copyTo(previous_);
  last_at_ = at;
}

void MotionDetector::detect(const AnalysisFrame& frame, std::vector<Detection>& found) {
  ++stats_.frames;
  // Work images are members: reused frame after frame instead of allocated (each is a page-
  // faulting mmap at this size).
  cv::Mat& blurred = work_.blurred;
  cv::Mat& f = work_.f;
  cv::GaussianBlur(frame.grey, blurred, cv::Size(5, 5), 0);
  blurred.convertTo(f, CV_32F);
  zones_.prepare(f.size());
  const bool tampered = std::any_of(found.begin(), found.end(), [](const Detection& d) {
    return d.type == DetectionType::kCovered || d.type == DetectionType::kDefocused ||
           d.type == DetectionType::kMoved;
  });
  if (tampered) {
    // The picture says nothing about movement in the scene. The background keeps the scene as
    // it was: when the picture recovers (light back, hand gone) it matches again, and when it
    // does not (a moved camera) most of it differs and is re-learnt as a global change.
    if (!background_.empty()) last_at_ = frame.media_at;
    foreground_ = cv::Mat::zeros(f.size(), CV_8U);
    return;
  }
  if (background_.empty() || background_.size() != f.size() || !last_at_ ||
      frame.media_at < *last_at_) {
    relearn(f, frame.media_at);
    foreground_ = cv::Mat::zeros(f.size(), CV_8U);
    return;
  }
  const double dt =
      std::chrono::duration<double>(frame.media_at - *last_at_).count();
  last_at_ = frame.media_at;

  // Undo global light changes (gain, offset: lights, clouds, auto exposure) before comparing.
  cv::Scalar mf, sf;
  cv::meanStdDev(blurred, mf, sf);
  if (sf[0] < 2.0) {
    // A flat picture (covered lens, black frame) shows no motion; tamper detection reports it.
    relearn(f, frame.media_at);
    foreground_ = cv::Mat::zeros(f.size(), CV_8U);
    return;
  }
  cv::Mat& unclipped = work_.unclipped;
  const bool full_range = frame.picture->color_range == AVCOL_RANGE_JPEG ||
                          frame.picture->format == AV_PIX_FMT_YUVJ420P ||
                          frame.picture->format == AV_PIX_FMT_YUVJ422P ||
                          frame.picture->format == AV_PIX_FMT_YUVJ444P;
  cv::inRange(frame.grey, cv::Scalar(full_range ? kClipLowFull : kClipLowLimited),
              cv::Scalar(full_range ? kClipHighFull : kClipHighLimited), unclipped);
  // The 5x5 blur and the downscale mix a clipped pixel into its neighbours up to ~4 px away.
  static const cv::Mat k9 = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(9, 9));
  cv::erode(unclipped, unclipped, k9);
  background_.convertTo(work_.background8, CV_8U);
  const Tone tone =
      fit_tone(blurred, work_.background8, unclipped, work_.sample_f, work_.sample_b);
  cv::Mat& matched = work_.matched;
  f.convertTo(matched, CV_32F, tone.gain, tone.offset);
  cv::Mat& diff = work_.diff;
  cv::absdiff(matched, background_, diff);
  const double noise = median_abs(diff) * 1.4826;
  const double threshold = std::max(floor_, noise_factor_ * noise);
  cv::Mat& moving = work_.moving;
  cv::compare(diff, threshold, moving, cv::CMP_GT);
  // Clipped pixels, and those the blur mixed with them, say nothing about change.
  cv::bitwise_and(moving, unclipped, moving);

  const double changed = static_cast<double>(cv::countNonZero(moving)) /
                         static_cast<double>(moving.total());
  if (changed > kGlobalChangeFraction) {
    ++stats_.relearns;
    // Re-learnt where the frame shows the scene; clipped areas keep what was known there.
    matched.copyTo(background_, unclipped);
    matched.copyTo(previous_);
    last_at_ = frame.media_at;
    foreground_ = cv::Mat::zeros(f.size(), CV_8U);
    return;
  }

  // Speckle (noise that passed the threshold) goes; blobs close to each other join.
  cv::morphologyEx(moving, moving, cv::MORPH_OPEN, kernel(3));
  cv::morphologyEx(moving, moving, cv::MORPH_CLOSE, kernel(5));

  // Background update before masking, so masked areas follow the scene too.
  cv::Mat& step = work_.step;
  cv::absdiff(matched, previous_, step);
  // Moving against the background, but not since the last frame: stopped.
  cv::Mat& still_now = work_.still_now;
  cv::compare(step, threshold, still_now, cv::CMP_LE);
  cv::Mat& stopped = work_.stopped;
  cv::Mat& in_motion = work_.in_motion;
  cv::Mat& not_moving = work_.not_moving;
  cv::bitwise_and(moving, still_now, stopped);
  cv::bitwise_not(still_now, in_motion);
  cv::bitwise_and(moving, in_motion, in_motion);
  cv::bitwise_not(moving, not_moving);
  // A clipped pixel's value is not the scene's: the background keeps what it knew there (else
  // the light coming back would show everything that was black as moving).
  cv::bitwise_and(not_moving, unclipped, not_moving);
  cv::bitwise_and(stopped, unclipped, stopped);
  cv::bitwise_and(in_motion, unclipped, in_motion);
  cv::accumulateWeighted(matched, background_, alpha_for(dt, kTauStillSeconds), not_moving);
  cv::accumulateWeighted(matched, background_, alpha_for(dt, kTauStoppedSeconds), stopped);
  cv::accumulateWeighted(matched, background_, alpha_for(dt, kTauMovingSeconds), in_motion);
  matched.copyTo(previous_);

  cv::bitwise_and(moving, zones_.active(), moving);
  cv::Mat& labels = work_.labels;
  cv::Mat& comp_stats = work_.comp_stats;
  cv::Mat& centroids = work_.centroids;
  const int n = cv::connectedComponentsWithStats(moving, labels, comp_stats, centroids, 8, CV_32S);
  const int min_pixels =
      std::max(4, static_cast<int>(std::lround(min_area_ * static_cast<double>(moving.total()))));
  foreground_.create(moving.size(), CV_8U);
  foreground_.setTo(0);
  int area = 0;
  cv::Rect box;
  for (int i = 1; i < n; ++i) {
    const int a = comp_stats.at<int>(i, cv::CC_STAT_AREA);
    if (a < min_pixels) continue;
    area += a;
    const cv::Rect r(comp_stats.at<int>(i, cv::CC_STAT_LEFT), comp_stats.at<int>(i, cv::CC_STAT_TOP),
                     comp_stats.at<int>(i, cv::CC_STAT_WIDTH),
                     comp_stats.at<int>(i, cv::CC_STAT_HEIGHT));
    box = box.area() == 0 ? r : (box | r);
    cv::Mat& sel = work_.selected;
    cv::compare(labels, i, sel, cv::CMP_EQ);
    foreground_.setTo(255, sel);
  }
  if (area == 0) return;
  ++stats_.frames_with_motion;

  Detection d;
  d.type = DetectionType::kMotion;
  // 0.05 of the picture moving (a person close by) or more is full strength.
  d.score = std::min(1.0, static_cast<double>(area) / static_cast<double>(moving.total()) / 0.05);
  const auto fw = static_cast<float>(moving.cols), fh = static_cast<float>(moving.rows);
  d.box = NormBox{static_cast<float>(box.x) / fw, static_cast<float>(box.y) / fh,
                  static_cast<float>(box.width) / fw, static_cast<float>(box.height) / fh};
  if (zones_.has_zones()) d.zones = zones_.touched(foreground_, std::max(1, min_pixels / 4));
  found.push_back(std::move(d));
}

}  // namespace vigil
