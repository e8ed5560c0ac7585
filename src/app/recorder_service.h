// `vigil serve`: the long-lived components of one recorder node, started in order and stopped in
// reverse — catalog (with crash recovery), retention, then one ingest thread + recorder per
// camera, and the status reporter.
#pragma once

#include <memory>
#include <vector>

#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/config.h"
#include "ingest/camera_worker.h"
#include "record/recorder.h"
#include "retention/retention.h"
#include "serve/live_hub.h"

namespace vigil {

class RecorderService {
 public:
  RecorderService(const Config& config, const Clock& clock);
  ~RecorderService();

  void start();
  void stop();
  // Per-camera health + recorder state + disk, as JSON (status.json, later the API).
  std::string status_json();
  // The camera's live view hub; null for an unknown id. Lives as long as the service.
  LiveHub* live_hub(const std::string& camera_id);
  // Writes <data>/status.json atomically.
  void write_status_file();

 private:
  const Config& config_;
  const Clock& clock_;
  StatvfsDiskSpace disk_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<Retention> retention_;
  struct CameraParts {
    std::unique_ptr<Recorder> recorder;
    std::unique_ptr<LiveHub> live;
    std::unique_ptr<CameraWorker> worker;  // last: stopped and destroyed before its sinks
  };
  std::vector<CameraParts> cameras_;
};

}  // namespace vigil
