// TEMPORARY (branch events): the analyze branch implements these; at the merge, keep theirs.
#include "analyze/detection.h"

namespace vigil {

std::string_view detection_type_name(DetectionType t) {
  switch (t) {
    case DetectionType::kMotion:
      return "motion";
    case DetectionType::kCovered:
      return "tamper_covered";
    case DetectionType::kDefocused:
      return "tamper_defocused";
    case DetectionType::kMoved:
      return "tamper_moved";
    case DetectionType::kSignalLost:
      return "signal_lost";
  }
  return "?";
}

std::optional<DetectionType> detection_type_from_name(std::string_view name) {
  for (auto t : {DetectionType::kMotion, DetectionType::kCovered, DetectionType::kDefocused,
                 DetectionType::kMoved, DetectionType::kSignalLost}) {
    if (detection_type_name(t) == name) return t;
  }
  return std::nullopt;
}

}  // namespace vigil
