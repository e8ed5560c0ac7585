#include "ingest/camera_health.h"

namespace vigil {
namespace {
constexpr auto kWindow = std::chrono::seconds(5);
}

const char* camera_state_name(CameraState s) {
  switch (s) {
    case CameraState::kDisabled: return "disabled";
    case CameraState::kConnecting: return "connecting";
    case CameraState::kStreaming: return "streaming";
    case CameraState::kOffline: return "offline";
  }
  return "?";
}

void CameraHealth::set_state(CameraState s, WallTime) {
  std::lock_guard lock(mu_);
  s_.state = s;
}

void CameraHealth::connected(const std::string& codec, int width, int height,
                             const std::string& note, WallTime now) {
  std::lock_guard lock(mu_);
  if (ever_connected_) ++s_.reconnects;
  ever_connected_ = true;
  s_.state = CameraState::kStreaming;
  s_.video_codec = codec;
  s_.width = width;
  s_.height = height;
  s_.note = note;
  s_.streaming_since = now;
  window_.clear();
  connected_at_.reset();
}

void CameraHealth::failed(const std::string& error, WallTime now) {
  std::lock_guard lock(mu_);
  s_.state = CameraState::kOffline;
  s_.last_error = error;
  s_.last_error_at = now;
  s_.streaming_since.reset();
  ++s_.connect_failures;
  window_.clear();
  connected_at_.reset();
}

void CameraHealth::packet(bool video, size_t bytes, SteadyTime at_steady, WallTime at_wall) {
  std::lock_guard lock(mu_);
  s_.last_packet_at = at_wall;
  s_.bytes_received += bytes;
  if (!connected_at_) connected_at_ = at_steady;
  window_.push_back({at_steady, bytes, video});
  while (!window_.empty() && at_steady - window_.front().at > kWindow) window_.pop_front();
}

HealthSnapshot CameraHealth::snapshot(SteadyTime now) const {
  std::lock_guard lock(mu_);
  HealthSnapshot out = s_;
  size_t frames = 0;
  size_t bytes = 0;
  for (const auto& w : window_) {
    if (now - w.at > kWindow) continue;
    bytes += w.bytes;
    frames += w.video ? 1 : 0;
  }
  // Right after a (re)connect the window is not full yet: rates are over the time streamed
  // (at least a second, so that the first batch of packets does not read as a burst).
  auto span = std::chrono::duration_cast<std::chrono::steady_clock::duration>(kWindow);
  if (connected_at_ && now - *connected_at_ < span) {
    span = std::max<std::chrono::steady_clock::duration>(now - *connected_at_,
                                                         std::chrono::seconds(1));
  }
  const double secs = std::chrono::duration<double>(span).count();
  out.fps = static_cast<double>(frames) / secs;
  out.bitrate_bps = static_cast<double>(bytes) * 8 / secs;
  return out;
}

}  // namespace vigil
