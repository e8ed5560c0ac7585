// The API's camera routes: list, read, add, change and remove cameras. Changes go through the
// ConfigStore, which validates the whole configuration, rewrites the file durably and tells the
// recorder, so a camera added here records within seconds and survives a restart.
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/redact.h"
#include "serve/api.h"
#include "serve/api_request.h"
#include "serve/camera_probe.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

json retention_json(const RetentionLimits& r) {
  return {{"max_days", r.max_days ? json(*r.max_days) : json(nullptr)},
          {"max_bytes", r.max_bytes ? json(*r.max_bytes) : json(nullptr)}};
}

json analysis_json(const AnalysisSettings& a) {
  const char* decode = a.decode == AnalysisDecode::kAll        ? "all"
                       : a.decode == AnalysisDecode::kAdaptive ? "adaptive"
                                                               : "auto";
  return {{"enabled", a.enabled},
          {"fps", a.fps},
          {"sensitivity", a.sensitivity},
          {"min_area", a.min_area},
          {"decode", decode},
          {"tamper", a.tamper},
          {"signal_timeout_ms", a.signal_timeout.count()}};
}

json zones_json(const std::vector<ZoneConfig>& zones) {
  json list = json::array();
  for (const ZoneConfig& z : zones) {
    json points = json::array();
    // Floats hold ~7 digits: rounded to what a person (or the web UI) wrote.
    auto clean = [](float v) { return std::round(static_cast<double>(v) * 1e5) / 1e5; };
    for (const auto& [x, y] : z.points) points.push_back(json::array({clean(x), clean(y)}));
    list.push_back({{"name", z.name}, {"points", points}, {"mask", z.mask}});
  }
  return list;
}

std::string clock_time(std::chrono::minutes m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(m.count() / 60),
                static_cast<int>(m.count() % 60));
  return buf;
}

json schedules_json(const std::vector<ScheduleEntry>& entries) {
  static const char* const kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  json list = json::array();
  for (const ScheduleEntry& e : entries) {
    json days = json::array();
    for (int d = 0; d < 7; ++d) {
      if (e.days & (1u << d)) days.push_back(kDays[d]);
    }
    list.push_back({{"zone", e.zone.empty() ? json(nullptr) : json(e.zone)},
                    {"types", e.types},
                    {"days", days},
                    {"from", clock_time(e.from)},
                    {"to", clock_time(e.to)}});
  }
  return list;
}

// What a user may know of a camera: everyone who may see it gets its name; admins also get its
// configuration, with passwords in URLs masked (they are never sent back).
json camera_json(const CameraConfig& c, bool admin) {
  // "ptz" for everyone: the live view shows its buttons to those who may use them (operators).
  // The recorded streams, for the player and export to choose from (playback.md, "Streams").
  json streams = json::array({"main"});
  if (c.record_sub) streams.push_back("sub");
  json j = {{"id", c.id}, {"name", c.name}, {"enabled", c.enabled}, {"streams", streams},
            {"ptz", !c.onvif_url.empty()}};
  if (admin) {
    j["url"] = redact_url(c.url);
    j["sub_url"] = c.sub_url.empty() ? json(nullptr) : json(redact_url(c.sub_url));
    j["record_sub"] = c.record_sub;
    j["sub_retention"] = retention_json(c.sub_retention);
    j["onvif_url"] = c.onvif_url.empty() ? json(nullptr) : json(redact_url(c.onvif_url));
    j["onvif_profile"] = c.onvif_profile.empty() ? json(nullptr) : json(c.onvif_profile);
    j["transport"] = c.transport == RtspTransport::kUdp ? "udp" : "tcp";
    j["rtsp_client"] = c.client == RtspClient::kFfmpeg ? "ffmpeg" : "native";
    j["auth"] = c.auth == RtspAuth::kBasic ? "basic" : "digest";
    j["retention"] = retention_json(c.retention);
    j["record"] = c.record == RecordMode::kEvents ? "events" : "continuous";
    j["analysis"] = analysis_json(c.analysis);
    j["zones"] = zones_json(c.analysis.zones);
    j["schedules"] = schedules_json(c.schedule);
  }
  return j;
}

// The API's camera fields as [[camera]] keys (docs/config.md): the lists are plural in JSON and
// singular in TOML ([[camera.zone]]), and an empty list is no list. Unknown fields are refused
// here, before anything is written, rather than reaching the file.
json camera_fields(json body) {
  only_fields(body, {"id", "name", "url", "sub_url", "record_sub", "onvif_url", "onvif_profile",
                     "enabled", "transport", "rtsp_client", "auth", "retention", "sub_retention",
                     "record", "analysis", "zones", "schedules"});
  for (const auto& [api, toml] : {std::pair{"zones", "zone"}, std::pair{"schedules", "schedule"}}) {
    if (!body.contains(api)) continue;
    json list = std::move(body[api]);
    body.erase(api);
    if (!list.is_null() && !list.is_array()) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("\"") + api + "\" must be a list (or null for none)");
    }
    body[toml] = list.is_array() && list.empty() ? json(nullptr) : std::move(list);
  }
  // A schedule entry for every zone: no "zone" key, rather than an empty name.
  if (body.contains("schedule") && body["schedule"].is_array()) {
    for (auto& e : body["schedule"]) {
      if (e.is_object() && e.contains("zone") && (e["zone"].is_null() || e["zone"] == "")) {
        e.erase("zone");
      }
    }
  }
  return body;
}

// The field names of a change, for the audit log; URLs (which may hold passwords) by name only.
std::string changed_fields(const json& body) {
  std::string s;
  for (const auto& [k, v] : body.items()) s += (s.empty() ? "" : ", ") + k;
  return s.empty() ? "nothing" : s;
}

}  // namespace

Response Api::list_cameras(Call& call) {
  const bool admin = call.principal->user.role == Role::kAdmin;
  json list = json::array();
  for (const auto& c : configs_.current()->cameras) {
    if (!call.principal->user.may_see_camera(c.id)) continue;
    list.push_back(camera_json(c, admin));
  }
  return Response::json(200, {{"cameras", list}});
}

Response Api::camera(Call& call) {
  const auto config = configs_.current();
  const CameraConfig* c = config->find_camera(call.params["id"]);
  if (!c) throw HttpFail{404, "no camera " + call.params["id"]};  // authorize() checked already
  json status = nullptr;
  if (status_) {
    const json all = status_();
    for (const auto& s : all.value("cameras", json::array())) {
      if (s.value("id", "") == c->id) status = s;
    }
  }
  if (status.is_object()) status.erase("url");  // the RTSP URL is configuration, not status
  const bool admin = call.principal->user.role == Role::kAdmin;
  json j = camera_json(*c, admin);
  j["status"] = status;
  // Schedules are local times of this zone (null: the host's), which a browser elsewhere
  // cannot guess.
  if (admin) {
    j["schedule_time_zone"] =
        config->events.time_zone.empty() ? json(nullptr) : json(config->events.time_zone);
  }
  return Response::json(200, j);
}

Response Api::add_camera(Call& call) {
  const json body = parse_body(call);
  const std::string id = need_string(body, "id");
  const auto config = configs_.add_camera(camera_fields(body));
  const CameraConfig* c = config->find_camera(id);
  if (!c) throw Error(ErrorCode::kInternal, "camera " + id + " vanished after it was added");
  audit(call, "camera_add", "url " + redact_url(c->url), std::nullopt, id);
  Response r = Response::json(201, camera_json(*c, true));
  r.with_header("Location", "/api/cameras/" + id);
  return r;
}

Response Api::change_camera(Call& call) {
  const std::string id = call.params["id"];
  json body = parse_body(call);
  const auto before = configs_.current();
  if (const CameraConfig* old = before->find_camera(id)) {
    // A client that edits what GET gave it sends the masked URL back: that means "the stored
    // password", not "set the password to ***" (also when the path changed; a new host or port
    // needs the password typed again, or an admin session could send it to any server).
    for (const char* key : {"url", "sub_url", "onvif_url"}) {
      if (!body.contains(key) || !body[key].is_string()) continue;
      const std::string given = body[key].get<std::string>();
      const std::string& stored = std::string(key) == "url"       ? old->url
                                  : std::string(key) == "sub_url" ? old->sub_url
                                                                  : old->onvif_url;
      const std::string url = unmask_url(given, {old->url, old->sub_url, old->onvif_url});
      if (has_masked_password(url)) {
        throw Error(ErrorCode::kInvalidArgument,
                    std::string("\"") + key + "\": the password is masked (***) and the user " +
                        "name, host or port differs from the stored URL's: type the password");
      }
      if (url == stored) {
        body.erase(key);
      } else {
        body[key] = url;
      }
    }
  }
  const auto config = configs_.update_camera(id, camera_fields(body));
  const CameraConfig* c = config->find_camera(id);
  if (!c) throw Error(ErrorCode::kInternal, "camera " + id + " vanished after it was changed");
  audit(call, "camera_change", changed_fields(body), std::nullopt, id);
  return Response::json(200, camera_json(*c, true));
}

// Only the clock offset of a till can change here (the transactions page sets it from one
// transaction whose moment the user found on the video); the rest is edited in the file.
Response Api::change_till(Call& call) {
  const std::string id = call.params["id"];
  const json body = parse_body(call);
  for (const auto& [k, v] : body.items()) {
    if (k != "clock_offset_ms") throw Error(ErrorCode::kInvalidArgument, "\"" + k + "\": only clock_offset_ms can be changed here");
  }
  if (!body.contains("clock_offset_ms") || !body["clock_offset_ms"].is_number_integer()) {
    throw Error(ErrorCode::kInvalidArgument, "clock_offset_ms: an integer of milliseconds is required");
  }
  const auto before = configs_.current();
  const TillConfig* old = before->find_till(id);
  const int64_t old_ms = old ? old->clock_offset.count() : 0;
  const auto config = configs_.set_till_clock_offset(id, std::chrono::milliseconds(body["clock_offset_ms"].get<int64_t>()));
  const TillConfig* t = config->find_till(id);
  if (!t) throw Error(ErrorCode::kInternal, "till " + id + " vanished after it was changed");
  audit(call, "till_change", "till " + id + ": clock_offset_ms " + std::to_string(old_ms) + " -> " +
                                 std::to_string(t->clock_offset.count()));
  return Response::json(200, {{"id", t->id}, {"clock_offset_ms", t->clock_offset.count()}});
}

Response Api::remove_camera(Call& call) {
  const std::string id = call.params["id"];
  configs_.remove_camera(id);
  // The footage stays (evidence is not deleted by a settings change); retention ages it out
  // under the default limits. To keep watching old footage, disable a camera instead.
  audit(call, "camera_remove", "recording stopped; recordings kept", std::nullopt, id);
  return Response::no_content();
}

Response Api::probe_camera(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"url", "camera", "transport", "rtsp_client", "auth"});
  CameraConfig cam;
  cam.id = "probe";
  std::optional<std::string> camera_id = opt_string(body, "camera");
  cam.url = need_string(body, "url");
  const auto config = configs_.current();
  const CameraConfig* stored = camera_id ? config->find_camera(*camera_id) : nullptr;
  if (camera_id && !stored) throw HttpFail{404, "no camera " + *camera_id};
  if (stored) {
    // The settings form shows the stored URL masked: testing it means testing the real one.
    cam.url = unmask_url(cam.url, {stored->url, stored->sub_url});
    cam.transport = stored->transport;
    cam.client = stored->client;
    cam.auth = stored->auth;
  }
  if (cam.url.rfind("rtsp://", 0) != 0 && cam.url.rfind("rtsps://", 0) != 0) {
    throw Error(ErrorCode::kInvalidArgument,
                "url \"" + redact_url(cam.url) + "\": must be an rtsp:// or rtsps:// URL");
  }
  if (has_masked_password(cam.url)) {
    throw Error(ErrorCode::kInvalidArgument,
                "url: the password is masked (***) and no stored camera URL has that user name, "
                "host and port; type the password");
  }
  if (auto t = opt_string(body, "transport")) {
    if (*t != "tcp" && *t != "udp") {
      throw Error(ErrorCode::kInvalidArgument, "transport: must be \"tcp\" or \"udp\"");
    }
    cam.transport = *t == "udp" ? RtspTransport::kUdp : RtspTransport::kTcp;
  }
  if (auto c = opt_string(body, "rtsp_client")) {
    if (*c != "native" && *c != "ffmpeg") {
      throw Error(ErrorCode::kInvalidArgument, "rtsp_client: must be \"native\" or \"ffmpeg\"");
    }
    cam.client = *c == "ffmpeg" ? RtspClient::kFfmpeg : RtspClient::kNative;
  }
  if (auto a = opt_string(body, "auth")) {
    if (*a != "digest" && *a != "basic") {
      throw Error(ErrorCode::kInvalidArgument, "auth: must be \"digest\" or \"basic\"");
    }
    cam.auth = *a == "basic" ? RtspAuth::kBasic : RtspAuth::kDigest;
  }
  auto stream = prober_->start(cam);
  if (!stream) {
    throw HttpFail{429, "other connection tests are running; try again when they are done",
                   {{"Retry-After", "10"}}};
  }
  audit(call, "camera_probe", "url " + redact_url(cam.url), std::nullopt, camera_id);
  // The answer is written when the probe is done (within its time limit), by the probe's own
  // thread: no handler thread waits meanwhile.
  Response r;
  r.stream = std::move(stream);
  return r;
}

}  // namespace vigil
