// The seam between the analysis pipeline and whatever looks at the pictures. The pipeline
// decodes, downscales and timestamps frames, then hands each analysed frame to every detector in
// turn; a detector appends what it finds. Motion and tamper detection are detectors; an object
// detector (person/vehicle) is added by writing another one and passing it to CameraAnalyzer,
// without touching decoding, queueing or the sink.
#pragma once

#include <opencv2/core.hpp>

#include <string_view>
#include <vector>

#include "analyze/detection.h"
#include "core/time.h"

struct AVFrame;

namespace vigil {

// One analysed frame. Valid for the duration of the detect() call only.
struct AnalysisFrame {
  // Grey (8-bit), downscaled to the analysis width (320 px by default), aspect kept.
  const cv::Mat& grey;
  // The decoded picture at stream resolution (a detector that needs colour or detail, e.g. an
  // object detector cropping the motion box); never null.
  const AVFrame* picture;
  WallTime at;        // wall time of the frame
  Ticks90k media_at;  // media time of the frame (camera clock), for rates and ages
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;
  // Appends findings to `found`, which already holds those of the detectors before this one
  // (an object detector can run only where motion was found). Called on the camera's analysis
  // thread, one frame at a time, frames in order.
  virtual void detect(const AnalysisFrame& frame, std::vector<Detection>& found) = 0;
  // The stream restarted (reconnect, new parameters): frames before and after are unrelated in
  // time, though the scene is normally the same.
  virtual void on_stream_restart() {}
};

}  // namespace vigil
