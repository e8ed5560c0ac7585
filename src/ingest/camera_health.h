// Per-camera health as operators see it (vigil status, later /api and /metrics). Written by the
// camera's ingest thread, read by anyone: a small mutex-guarded struct, copied out on read.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "core/time.h"

namespace vigil {

enum class CameraState { kDisabled, kConnecting, kStreaming, kOffline };
const char* camera_state_name(CameraState s);

struct HealthSnapshot {
  CameraState state = CameraState::kConnecting;
  double fps = 0;
  double bitrate_bps = 0;
  std::string last_error;
  std::optional<WallTime> last_error_at;
  int64_t reconnects = 0;  // successful connections after the first
  int64_t connect_failures = 0;
  std::optional<WallTime> last_packet_at;
  std::optional<WallTime> streaming_since;
  std::string video_codec;
  int width = 0;
  int height = 0;
  std::string note;  // e.g. why audio is not recorded
  uint64_t bytes_received = 0;
};

class CameraHealth {
 public:
  void set_state(CameraState s, WallTime now);
  void connected(const std::string& codec, int width, int height, const std::string& note,
                 WallTime now);
  void failed(const std::string& error, WallTime now);
  void packet(bool video, size_t bytes, SteadyTime at_steady, WallTime at_wall);
  HealthSnapshot snapshot(SteadyTime now_steady) const;

 private:
  mutable std::mutex mu_;
  HealthSnapshot s_;
  bool ever_connected_ = false;
  // (time, bytes, is_video) for the last few seconds, for fps and bitrate.
  struct Sample {
    SteadyTime at;
    size_t bytes;
    bool video;
  };
  std::deque<Sample> window_;
  std::optional<SteadyTime> connected_at_;  // first packet of this connection
};

}  // namespace vigil
