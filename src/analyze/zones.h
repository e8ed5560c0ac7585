// Zones and masks of one camera, rasterised at the analysis resolution. Polygons are configured
// in normalised coordinates (docs/config.md) so they survive a resolution change; the pixel masks
// are rebuilt whenever the analysed frame size changes.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "core/config.h"

namespace vigil {

class ZoneMap {
 public:
  explicit ZoneMap(std::vector<ZoneConfig> zones);

  // Rasterises for frames of `size`; cheap when the size did not change.
  void prepare(cv::Size size);
  // 255 where motion counts: inside the union of zones (the whole picture when no zone is
  // configured), outside every mask.
  const cv::Mat& active() const { return active_; }
  bool has_zones() const { return !named_.empty(); }

  // Names of the zones in which `foreground` (8-bit, 255 = moving) covers at least `min_pixels`.
  std::vector<std::string> touched(const cv::Mat& foreground, int min_pixels) const;

 private:
  struct Named {
    std::string name;
    cv::Mat mask;
  };
  cv::Mat rasterise(const ZoneConfig& z, cv::Size size) const;

  std::vector<ZoneConfig> config_;
  cv::Size size_;
  cv::Mat active_;
  std::vector<Named> named_;
};

}  // namespace vigil
