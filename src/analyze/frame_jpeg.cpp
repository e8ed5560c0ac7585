#include "analyze/frame_jpeg.h"

extern "C" {
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>

namespace vigil {

std::vector<uint8_t> frame_to_jpeg(const AVFrame& picture, int max_width, int quality) {
  if (picture.width <= 0 || picture.height <= 0) return {};
  const int w = std::min(max_width, picture.width);
  const int h = std::max(
      2, static_cast<int>(std::lround(static_cast<double>(picture.height) * w / picture.width)));
  SwsContext* sws = sws_getContext(picture.width, picture.height,
                                   static_cast<AVPixelFormat>(picture.format), w, h,
                                   AV_PIX_FMT_BGR24, SWS_BILINEAR, nullptr, nullptr, nullptr);
  if (!sws) return {};
  cv::Mat bgr(h, w, CV_8UC3);
  uint8_t* dst[4] = {bgr.data, nullptr, nullptr, nullptr};
  int stride[4] = {static_cast<int>(bgr.step), 0, 0, 0};
  sws_scale(sws, picture.data, picture.linesize, 0, picture.height, dst, stride);
  sws_freeContext(sws);
  std::vector<uint8_t> out;
  cv::imencode(".jpg", bgr, out, {cv::IMWRITE_JPEG_QUALITY, quality});
  return out;
}

}  // namespace vigil
