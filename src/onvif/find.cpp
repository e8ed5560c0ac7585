#include "onvif/find.h"

#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/redact.h"

namespace vigil::onvif {

std::string url_authority(const std::string& url) {
  const auto a = split_authority(url);
  return a ? url.substr(a->host_begin, a->host_end - a->host_begin) : std::string();
}

FoundCamera read_device(const std::string& device_url, const Credentials& credentials,
                        const Clock& clock, std::chrono::milliseconds timeout) {
  FoundCamera out;
  out.discovered.match.xaddrs = {device_url};
  out.discovered.from = url_authority(device_url);
  try {
    DeviceClient client(device_url, credentials, clock, timeout);
    out.report = client.read_camera();
    // Without discovery, the device's own answer names it.
    out.discovered.match.manufacturer = out.report->info.manufacturer;
    out.discovered.match.hardware = out.report->info.model;
  } catch (const Error& e) {
    out.reason = e.code() == ErrorCode::kUnauthenticated ? "unauthorized"
                 : e.code() == ErrorCode::kUnavailable   ? "unreachable"
                                                         : "invalid";
    out.error = e.what();
  }
  return out;
}

std::vector<FoundCamera> find_cameras(const DiscoveryRequest& request,
                                      const Credentials& credentials, const Clock& clock,
                                      std::chrono::milliseconds timeout) {
  std::vector<FoundCamera> out;
  for (auto& d : discover(request).cameras) {
    FoundCamera f;
    if (!credentials.empty()) {
      f = read_device(d.match.xaddrs.front(), credentials, clock, timeout);
    }
    f.discovered = std::move(d);
    out.push_back(std::move(f));
  }
  return out;
}

nlohmann::json to_json(const FoundCamera& c) {
  using nlohmann::json;
  const ProbeMatch& m = c.discovered.match;
  const std::string device_url = m.xaddrs.empty() ? std::string() : m.xaddrs.front();
  json j = {{"endpoint", m.endpoint},
            {"address", url_authority(device_url)},
            {"answered_from", c.discovered.from},
            {"device_url", device_url},
            {"name", m.name},
            {"manufacturer", m.manufacturer},
            {"model", m.hardware},
            {"location", m.location},
            {"scopes", m.scopes}};
  if (!c.reason.empty()) {
    j["reason"] = c.reason;
    j["error"] = c.error;
  }
  if (!c.report) return j;
  const CameraReport& r = *c.report;
  if (!r.info.manufacturer.empty()) j["manufacturer"] = r.info.manufacturer;
  if (!r.info.model.empty()) j["model"] = r.info.model;
  j["info"] = {{"manufacturer", r.info.manufacturer},
               {"model", r.info.model},
               {"firmware", r.info.firmware},
               {"serial", r.info.serial},
               {"hardware_id", r.info.hardware_id}};
  j["clock_offset_ms"] = r.clock_offset_ms ? json(*r.clock_offset_ms) : json(nullptr);
  j["clock_off"] = r.clock_off;
  j["ptz_url"] = r.services.ptz;
  json profiles = json::array();
  for (const auto& p : r.profiles) {
    profiles.push_back({{"token", p.token},
                        {"name", p.name},
                        {"encoding", p.encoding},
                        {"width", p.width},
                        {"height", p.height},
                        {"fps", p.fps ? json(*p.fps) : json(nullptr)},
                        {"bitrate_kbps", p.bitrate_kbps ? json(*p.bitrate_kbps) : json(nullptr)},
                        {"ptz", p.ptz},
                        {"uri", redact_url(p.stream_uri)}});
  }
  j["profiles"] = profiles;
  j["main"] = r.main ? json(*r.main) : json(nullptr);
  j["sub"] = r.sub ? json(*r.sub) : json(nullptr);
  return j;
}

std::string format_found(const std::vector<FoundCamera>& cameras) {
  std::ostringstream o;
  o << (cameras.empty() ? "no camera answered\n"
                        : "found " + std::to_string(cameras.size()) +
                              (cameras.size() == 1 ? " camera\n" : " cameras\n"));
  for (const auto& c : cameras) {
    const ProbeMatch& m = c.discovered.match;
    const std::string device_url = m.xaddrs.empty() ? std::string() : m.xaddrs.front();
    std::string manufacturer = m.manufacturer, model = m.hardware;
    if (c.report) {
      if (!c.report->info.manufacturer.empty()) manufacturer = c.report->info.manufacturer;
      if (!c.report->info.model.empty()) model = c.report->info.model;
    }
    o << "\n" << url_authority(device_url) << "  " << (manufacturer.empty() ? "?" : manufacturer)
      << " " << (model.empty() ? "?" : model);
    if (!m.name.empty()) o << "  \"" << m.name << "\"";
    o << "\n  device service: " << redact_url(device_url) << "\n";
    if (!c.reason.empty()) o << "  " << c.reason << ": " << c.error << "\n";
    if (!c.report) continue;
    const CameraReport& r = *c.report;
    if (!r.info.firmware.empty()) o << "  firmware: " << r.info.firmware << "\n";
    if (r.clock_offset_ms) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "  clock: %+.1f s from this machine's%s\n",
                    static_cast<double>(*r.clock_offset_ms) / 1000.0,
                    r.clock_off ? " — OFF: set the camera's time (NTP)" : "");
      o << buf;
    }
    for (size_t i = 0; i < r.profiles.size(); ++i) {
      const auto& p = r.profiles[i];
      const char* role = r.main == i ? "main" : r.sub == i ? "sub " : "    ";
      o << "  " << role << "  " << p.width << "x" << p.height << " " << p.encoding;
      if (p.fps) o << " " << *p.fps << " fps";
      o << "  " << redact_url(p.stream_uri) << "  (profile " << p.token << ")\n";
    }
    if (!r.services.ptz.empty()) o << "  PTZ: " << redact_url(r.services.ptz) << "\n";
  }
  return o.str();
}

}  // namespace vigil::onvif
