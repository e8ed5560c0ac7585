// The API's camera routes: list, read, add, change and remove cameras. Changes go through the
// ConfigStore, which validates the whole configuration, rewrites the file durably and tells the
// recorder, so a camera added here records within seconds and survives a restart.
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/redact.h"
#include "serve/api.h"
#include "serve/api_request.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

json retention_json(const RetentionLimits& r) {
  return {{"max_days", r.max_days ? json(*r.max_days) : json(nullptr)},
          {"max_bytes", r.max_bytes ? json(*r.max_bytes) : json(nullptr)}};
}

// What a user may know of a camera: everyone who may see it gets its name; admins also get its
// configuration, with passwords in URLs masked (they are never sent back).
json camera_json(const CameraConfig& c, bool admin) {
  json j = {{"id", c.id}, {"name", c.name}, {"enabled", c.enabled}};
  if (admin) {
    j["url"] = redact_url(c.url);
    j["sub_url"] = c.sub_url.empty() ? json(nullptr) : json(redact_url(c.sub_url));
    j["transport"] = c.transport == RtspTransport::kUdp ? "udp" : "tcp";
    j["rtsp_client"] = c.client == RtspClient::kFfmpeg ? "ffmpeg" : "native";
    j["retention"] = retention_json(c.retention);
  }
  return j;
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
  json j = camera_json(*c, call.principal->user.role == Role::kAdmin);
  j["status"] = status;
  return Response::json(200, j);
}

Response Api::add_camera(Call& call) {
  const json body = parse_body(call);
  const std::string id = need_string(body, "id");
  const auto config = configs_.add_camera(body);
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
    // A client that edits what GET gave it sends the masked URL back: that means "unchanged",
    // not "set the password to ***".
    for (const char* key : {"url", "sub_url"}) {
      const std::string& stored = std::string(key) == "url" ? old->url : old->sub_url;
      if (body.contains(key) && body[key].is_string() && !stored.empty() &&
          body[key].get<std::string>() == redact_url(stored)) {
        body.erase(key);
      }
    }
  }
  const auto config = configs_.update_camera(id, body);
  const CameraConfig* c = config->find_camera(id);
  if (!c) throw Error(ErrorCode::kInternal, "camera " + id + " vanished after it was changed");
  audit(call, "camera_change", changed_fields(body), std::nullopt, id);
  return Response::json(200, camera_json(*c, true));
}

Response Api::remove_camera(Call& call) {
  const std::string id = call.params["id"];
  configs_.remove_camera(id);
  // The footage stays (evidence is not deleted by a settings change); retention ages it out
  // under the default limits. To keep watching old footage, disable a camera instead.
  audit(call, "camera_remove", "recording stopped; recordings kept", std::nullopt, id);
  return Response::no_content();
}

}  // namespace vigil
