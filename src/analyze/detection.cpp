// The stable names of detection types: they appear in the API, MQTT topics and the catalog, so
// they never change once released.
#include "analyze/detection.h"

#include <array>
#include <utility>

namespace vigil {
namespace {

constexpr std::array<std::pair<DetectionType, std::string_view>, 5> kNames{{
    {DetectionType::kMotion, "motion"},
    {DetectionType::kCovered, "tamper_covered"},
    {DetectionType::kDefocused, "tamper_defocused"},
    {DetectionType::kMoved, "tamper_moved"},
    {DetectionType::kSignalLost, "signal_lost"},
}};

}  // namespace

std::string_view detection_type_name(DetectionType t) {
  for (const auto& [type, name] : kNames) {
    if (type == t) return name;
  }
  return "unknown";
}

std::optional<DetectionType> detection_type_from_name(std::string_view name) {
  for (const auto& [type, n] : kNames) {
    if (n == name) return type;
  }
  return std::nullopt;
}

}  // namespace vigil
