// What analysis tells events: for one analysed frame of one camera, which conditions hold now.
// Analysis is level-based ("is there motion in this frame?"); turning levels into events with
// start/update/end, minimum duration and merge gap is the events stage's job (hysteresis), so a
// detector never needs to know about alerts, schedules or the catalog.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace vigil {

enum class DetectionType {
  kMotion,
  kCovered,     // lens covered: dark or uniform picture
  kDefocused,   // sharpness lost against the camera's learned baseline
  kMoved,       // the scene no longer matches the reference view
  kSignalLost,  // no frames from the camera
};
// "motion", "tamper_covered", "tamper_defocused", "tamper_moved", "signal_lost": the names used
// in the API, MQTT topics and the catalog.
std::string_view detection_type_name(DetectionType t);
std::optional<DetectionType> detection_type_from_name(std::string_view name);

// A rectangle in normalised picture coordinates: (0,0) top left, (1,1) bottom right.
struct NormBox {
  float x = 0, y = 0, w = 0, h = 0;
};

struct Detection {
  DetectionType type = DetectionType::kMotion;
  double score = 0;                // 0..1: how strongly the condition holds
  std::vector<std::string> zones;  // zones the motion touched; empty = the whole picture
  std::optional<NormBox> box;      // where, when the detector can say
};

// One analysed frame's findings. A type absent from `detections` does not hold in this frame.
struct AnalysisResult {
  std::string camera_id;
  WallTime at;  // wall time of the analysed frame (or of the check, for kSignalLost)
  std::vector<Detection> detections;
  // The analysed picture as JPEG, encoded only when called (an event starting or peaking);
  // empty function when there is no picture (signal lost).
  std::function<std::vector<uint8_t>()> snapshot_jpeg;
};

// While a camera streams, its analysis may send nothing for up to this long on purpose: sustained
// motion is looked at for the start of each GOP only (FrameSelectorOptions::max_skip, 2.5 s, plus
// the analysis queue's lag). A quiet analysis shorter than this is not a camera gone silent.
inline constexpr WallDuration kAnalysisQuietMax{3'000};

// Receives analysis results. Called on the camera's analysis thread: must not block for long.
class AnalysisSink {
 public:
  virtual ~AnalysisSink() = default;
  virtual void on_analysis(const AnalysisResult& r) = 0;
};

}  // namespace vigil
