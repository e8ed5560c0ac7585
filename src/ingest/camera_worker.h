// One camera stream's reader thread: connect, read, hand packets to the sinks, and on any error
// tell the sinks the stream ended, wait (backoff) and connect again — forever, until stopped.
// A broken camera only ever affects its own thread; so does anything else that goes wrong on it
// (a sink that throws, a bug): the thread is supervised (core/supervision.h), the failure is
// reported as this camera's "ingest" component and the worker starts over after a backoff.
// The thread is named "rec:<camera>" ("sub:<camera>" for a sub stream that only feeds analysis).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "ingest/camera_health.h"
#include "ingest/media_source.h"

namespace vigil {

using SourceFactory = std::function<std::unique_ptr<MediaSource>(const CameraConfig&)>;

class CameraWorker {
 public:
  // `sinks` must outlive the worker, `components` too (null: failures are only logged).
  // Nothing runs until start(). `sub_stream`: this connection feeds analysis only.
  CameraWorker(CameraConfig camera, IngestSettings settings, const Clock& clock,
               SourceFactory factory, std::vector<PacketSink*> sinks,
               ComponentRegistry* components = nullptr, bool sub_stream = false);
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
  SupervisedThread thread_;
};

// The production factory: vigil's own RTSP client where it applies, libavformat's otherwise.
SourceFactory rtsp_source_factory(const Clock& clock, const IngestSettings& settings);

}  // namespace vigil
