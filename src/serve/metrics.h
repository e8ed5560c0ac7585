// GET /metrics: the Prometheus text exposition format (version 0.0.4) of what an operator
// graphs and alerts on — per camera: state, fps, bitrate, reconnects, connect failures, bytes
// written and stored, packets dropped by the recorder, live viewers and their skips/drops; and
// the data directory's free and total space; notices of replaced notification targets dropped;
// per supervised component (thread), whether it failed lately and how often. A pure function of
// the recorder's status JSON and the live hubs' counters, so it is unit-tested without a server.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "serve/live_hub.h"

namespace vigil {

// `status` as RecorderService::status_json() reports it; `live` per camera id.
std::string prometheus_metrics(const nlohmann::json& status,
                               const std::vector<std::pair<std::string, LiveStats>>& live);

}  // namespace vigil
