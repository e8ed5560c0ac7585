// "Test connection" in the camera settings: connects to an RTSP URL with the same ingest sources
// that recording uses, waits for the first keyframe, decodes it into a JPEG (snapshot.h) and
// reports what the camera sends, or why it failed in words for an operator (refused, timeout,
// wrong credentials, no such stream, unsupported codec).
//
// Each probe runs on threads of its own under a time limit, so a camera that never answers holds
// no HTTP handler thread: the API answers with a streamed body (http::BodyStream) that the
// result is written into when it is there. At most `max_running` probes run at once.
// Each probe's thread is named "probe" (its time-limit watchdog "probe-limit"); whatever a probe
// throws is answered as a failed test and counted as a failure of the "probe" component.
// Thread-safe. The destructor interrupts running probes and joins their threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/config.h"
#include "core/supervision.h"
#include "ingest/camera_worker.h"
#include "serve/http.h"

namespace vigil {

struct ProbeResult {
  bool ok = false;
  std::string codec;  // "h264", "hevc"
  int width = 0;      // of the decoded keyframe, pixels
  int height = 0;
  std::optional<double> fps;  // from the timestamps of the frames after the keyframe
  std::string jpeg;           // the first keyframe
  // Why it failed: "refused", "unreachable", "timeout", "unauthorized", "not_found",
  // "unsupported", "undecodable" or "failed"; with `error`, the whole message (URL redacted).
  std::string reason;
  std::string error;

  // {"ok": true, "codec", "width", "height", "fps" (or null), "snapshot": base64 JPEG}
  // or {"ok": false, "reason", "error"}.
  nlohmann::json to_json() const;
};

// Lets another thread end a probe early (the client went away, vigil stops).
class ProbeCancel {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend ProbeResult probe_source(MediaSource&, std::chrono::milliseconds, const Clock&,
                                  ProbeCancel*);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  bool done_ = false;  // the probe finished: its time limit no longer matters
};

// Probes through `source` (not yet opened) within `limit` (a real-time limit: the source is
// interrupted when it runs out). Never throws: every failure is a ProbeResult.
ProbeResult probe_source(MediaSource& source, std::chrono::milliseconds limit, const Clock& clock,
                         ProbeCancel* cancel = nullptr);

class CameraProber {
 public:
  // Failures are reported in `components` (null: only logged), which must outlive the prober.
  CameraProber(const Clock& clock, SourceFactory factory, std::chrono::milliseconds limit,
               size_t max_running, ComponentRegistry* components = nullptr);
  ~CameraProber();
  CameraProber(const CameraProber&) = delete;
  CameraProber& operator=(const CameraProber&) = delete;

  // Starts probing `camera` (url, transport, rtsp_client). The stream yields the JSON of the
  // ProbeResult as one chunk, then ends; a client that goes away cancels the probe. Null when
  // `max_running` probes are running already.
  std::shared_ptr<http::BodyStream> start(const CameraConfig& camera);
  // Cancels running probes and waits for their threads; start() refuses from then on. Call after
  // the HTTP server stopped and before it is destroyed: a probe that ends answers through the
  // server's executor.
  void stop();

 private:
  class Job;
  void reap();  // joins finished jobs' threads; call with mu_ held

  const Clock& clock_;
  SourceFactory factory_;
  const std::chrono::milliseconds limit_;
  const size_t max_running_;
  Component component_;
  std::mutex mu_;
  std::list<std::shared_ptr<Job>> jobs_;
  bool stopped_ = false;
};

}  // namespace vigil
