// "Find cameras", shared by `vigil discover` and the API: probes (discovery.h), then, when the
// user gave a user name and password, reads each camera that answered (client.h). One camera
// that refuses the password or does not answer is reported as such; the others are still read.
// Also the JSON shape both print, so the CLI's --json and the API agree.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "onvif/client.h"
#include "onvif/discovery.h"

namespace vigil::onvif {

struct FoundCamera {
  Discovered discovered;
  std::optional<CameraReport> report;  // when read with credentials
  // Why reading it failed: "unauthorized", "unreachable" or "invalid" (with `error`).
  std::string reason;
  std::string error;
};

// Reads one device service URL; never throws for the camera's faults (they go in reason/error).
FoundCamera read_device(const std::string& device_url, const Credentials& credentials,
                        const Clock& clock, std::chrono::milliseconds timeout);

// Probes, then reads every camera found when credentials are given.
std::vector<FoundCamera> find_cameras(const DiscoveryRequest& request,
                                      const Credentials& credentials, const Clock& clock,
                                      std::chrono::milliseconds timeout);

// {"endpoint","address","device_url","name","manufacturer","model","location","scopes",
//  and when read: "info": {...}, "clock_offset_ms", "clock_off", "ptz_url",
//  "profiles": [{"token","name","encoding","width","height","fps","bitrate_kbps","uri"}],
//  "main": index|null, "sub": index|null; or "reason","error"}
nlohmann::json to_json(const FoundCamera& camera);

// Lines for a terminal, one camera per block.
std::string format_found(const std::vector<FoundCamera>& cameras);

// The host[:port] part of an http(s) URL ("" when it is not one).
std::string url_authority(const std::string& url);

}  // namespace vigil::onvif
