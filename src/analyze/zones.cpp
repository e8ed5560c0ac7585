#include "analyze/zones.h"

#include <opencv2/imgproc.hpp>

#include <cmath>

namespace vigil {

ZoneMap::ZoneMap(std::vector<ZoneConfig> zones) : config_(std::move(zones)) {}

cv::Mat ZoneMap::rasterise(const ZoneConfig& z, cv::Size size) const {
  cv::Mat m = cv::Mat::zeros(size, CV_8U);
  std::vector<cv::Point> pts;
  pts.reserve(z.points.size());
  for (const auto& [x, y] : z.points) {
    // Point (1,1) is the far corner of the last pixel; fillPoly wants pixel centres.
    pts.emplace_back(static_cast<int>(std::lround(x * static_cast<float>(size.width - 1))),
                     static_cast<int>(std::lround(y * static_cast<float>(size.height - 1))));
  }
  const std::vector<std::vector<cv::Point>> polys{pts};
  cv::fillPoly(m, polys, cv::Scalar(255));
  return m;
}

void ZoneMap::prepare(cv::Size size) {
  if (size == size_ && !active_.empty()) return;
  size_ = size;
  named_.clear();
  cv::Mat zones_union = cv::Mat::zeros(size, CV_8U);
  cv::Mat masks = cv::Mat::zeros(size, CV_8U);
  for (const ZoneConfig& z : config_) {
    cv::Mat m = rasterise(z, size);
    if (z.mask) {
      cv::bitwise_or(masks, m, masks);
    } else {
      cv::bitwise_or(zones_union, m, zones_union);
      named_.push_back({z.name, std::move(m)});
    }
  }
  if (named_.empty()) zones_union.setTo(255);
  cv::Mat not_masked;
  cv::bitwise_not(masks, not_masked);
  cv::bitwise_and(zones_union, not_masked, active_);
  for (Named& n : named_) cv::bitwise_and(n.mask, not_masked, n.mask);
}

std::vector<std::string> ZoneMap::touched(const cv::Mat& foreground, int min_pixels) const {
  std::vector<std::string> out;
  cv::Mat both;
  for (const Named& n : named_) {
    cv::bitwise_and(foreground, n.mask, both);
    if (cv::countNonZero(both) >= min_pixels) out.push_back(n.name);
  }
  return out;
}

}  // namespace vigil
