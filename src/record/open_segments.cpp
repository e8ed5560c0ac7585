#include "record/open_segments.h"

namespace vigil {

uint64_t OpenSegment::durable_bytes() const {
  return fragments.empty() ? init_bytes : fragments.back().offset + fragments.back().size;
}

WallTime OpenSegment::durable_end() const {
  if (fragments.empty()) return wall_start;
  return wall_start + to_wall(fragments.back().start + fragments.back().duration);
}

void OpenSegments::opened(OpenSegment s) {
  std::lock_guard lock(mu_);
  const int64_t id = s.segment_id;
  open_[id] = std::move(s);
}

void OpenSegments::fragment_synced(int64_t segment_id, const Fragment& f) {
  std::lock_guard lock(mu_);
  auto it = open_.find(segment_id);
  if (it != open_.end()) it->second.fragments.push_back(f);
}

void OpenSegments::closed(int64_t segment_id) {
  std::lock_guard lock(mu_);
  open_.erase(segment_id);
}

std::optional<OpenSegment> OpenSegments::find(int64_t segment_id) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(segment_id);
  if (it == open_.end()) return std::nullopt;
  return it->second;
}

std::optional<OpenSegment> OpenSegments::of_camera(const std::string& camera_id) const {
  std::lock_guard lock(mu_);
  // A handful of cameras: a scan is cheaper than keeping a second index in step.
  for (const auto& [id, s] : open_) {
    if (s.camera_id == camera_id) return s;
  }
  return std::nullopt;
}

std::optional<uint64_t> OpenSegments::durable_bytes(int64_t segment_id) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(segment_id);
  if (it == open_.end()) return std::nullopt;
  return it->second.durable_bytes();
}

}  // namespace vigil
