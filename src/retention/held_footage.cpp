#include "retention/held_footage.h"

#include <algorithm>

#include "core/config.h"

namespace vigil {

HeldFootage HeldFootage::load(HoldStore& holds) {
  std::map<std::string, std::vector<HeldRange>> ranges;
  for (const std::string& camera : holds.held_cameras()) {
    ranges[camera] = holds.held_ranges(camera);
  }
  return HeldFootage(std::move(ranges));
}

std::vector<std::string> HeldFootage::cameras() const {
  std::vector<std::string> out;
  for (const auto& [camera, ranges] : ranges_) out.push_back(camera);
  return out;
}

std::optional<WallTime> HeldFootage::held_until(const std::string& camera, WallTime start,
                                                WallTime end) const {
  // A hold keeps every stream of its cameras: a recorded sub stream is held with its camera.
  const auto it = ranges_.find(camera_of_stream(camera));
  if (it == ranges_.end()) return std::nullopt;
  const std::vector<HeldRange>& r = it->second;
  end = std::max(end, start + WallDuration(1));
  // The first range ending after `start`; sorted and disjoint, so it is the only candidate.
  const auto hit = std::upper_bound(r.begin(), r.end(), start,
                                    [](WallTime t, const HeldRange& h) { return t < h.to; });
  if (hit == r.end() || hit->from >= end) return std::nullopt;
  return hit->to;
}

}  // namespace vigil
