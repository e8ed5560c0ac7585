// One camera stream's reader thread: connect, read, hand packets to the sinks, and on any error
// tell the sinks the stream ended, wait (backoff) and connect again — forever, until stopped.
// A broken camera only ever affects its own thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ingest/backoff.h"

#include "core/clock.h"
#include "core/config.h"
#include "ingest/camera_health.h"
#include "ingest/media_source.h"

namespace vigil {

using SourceFactory = std::function<std::unique_ptr<MediaSource>(const CameraConfig&)>;

class CameraWorker {
 public:
  // `sinks` must outlive the worker. Nothing runs until start().
  CameraWorker(CameraConfig camera, IngestSettings settings, const Clock& clock,
               SourceFactory factory, std::vector<PacketSink*> sinks);
  ~CameraWorker();
  CameraWorker(const CameraWorker&) = delete;
  CameraWorker& operator=(const CameraWorker&) = delete;

  void start();
  // Interrupts any blocking read, ends the stream for the sinks, joins. Idempotent.
  void stop();

  const std::string& camera_id() const { return camera_.id; }
  HealthSnapshot health() const { return health_.snapshot(clock_.steady_now()); }

 private:
  void run();
  void stream_once();
  // Sleeps up to `d`; returns false when asked to stop meanwhile.
  bool sleep_for(std::chrono::milliseconds d);

  CameraConfig camera_;
  IngestSettings settings_;
  const Clock& clock_;
  SourceFactory factory_;
  std::vector<PacketSink*> sinks_;
  CameraHealth health_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  MediaSource* current_ = nullptr;  // guarded by mu_, for interrupt()
  std::thread thread_;
};

// The production factory: vigil's own RTSP client where it applies, libavformat's otherwise.
SourceFactory rtsp_source_factory(const Clock& clock, const IngestSettings& settings);

}  // namespace vigil
