#include "serve/ptz_api.h"

#include <cmath>

#include "core/error.h"
#include "onvif/client.h"
#include "serve/api_request.h"

namespace vigil {

using http::Response;
using json = nlohmann::json;

namespace {

// Each SOAP call to a camera; a camera on a LAN answers in milliseconds, and a button that
// hangs longer than this is worse than an error.
constexpr std::chrono::milliseconds kCallTimeout{3'000};

// -1..1 (ONVIF's generic velocity space); a missing speed is 0.
double speed(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return 0;
  if (!body[key].is_number()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("\"") + key + "\" must be a number");
  }
  const double v = body[key].get<double>();
  if (!std::isfinite(v) || v < -1 || v > 1) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("\"") + key + "\" must be between -1 and 1");
  }
  return v;
}

// Runs `fn` with a client for the camera's ONVIF device and its PTZ target, turning the camera's
// refusal of the credentials into a 409 (a 401 would tell the web UI the user is logged out).
template <class Fn>
auto with_camera(const ConfigStore& configs, const Clock& clock, const std::string& id, Fn fn) {
  const auto config = configs.current();
  const CameraConfig* cam = config->find_camera(id);
  if (!cam) throw HttpFail{404, "no camera " + id};
  if (cam->onvif_url.empty()) {
    throw Error(ErrorCode::kFailedPrecondition,
                "camera " + id + " has no onvif_url: vigil cannot move it (docs/config.md)");
  }
  auto [url, credentials] = onvif::split_credentials(cam->onvif_url);
  try {
    onvif::DeviceClient client(url, credentials, clock, kCallTimeout);
    const onvif::PtzTarget target = client.ptz_target(cam->onvif_profile);
    return fn(client, target);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kUnauthenticated) {
      throw Error(ErrorCode::kFailedPrecondition, "camera " + id + ": " + e.what());
    }
    // The camera answered with a fault (no such preset, a move it cannot make): its error, not
    // vigil's.
    if (e.code() == ErrorCode::kDataLoss) throw HttpFail{502, "camera " + id + ": " + e.what()};
    throw e.wrap("camera " + id);
  }
}

}  // namespace

PtzApi::PtzApi(const ConfigStore& configs, AccountStore& accounts, const Clock& clock)
    : configs_(configs), accounts_(accounts), clock_(clock) {}

void PtzApi::add_routes(Router& router) {
  const Access operator_{true, Role::kOperator, "id"};
  add_route(router, this, "GET", "/api/cameras/{id:camera}/ptz", operator_, &PtzApi::presets, true);
  add_route(router, this, "POST", "/api/cameras/{id:camera}/ptz", operator_, &PtzApi::command, true);
}

void PtzApi::audit(const Call& call, const std::string& camera, const std::string& detail) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = "camera_ptz";
  e.camera_id = camera;
  e.detail = detail;
  accounts_.append_audit(e);
}

Response PtzApi::presets(Call& call) {
  const std::string id = call.params["id"];
  const auto presets = with_camera(configs_, clock_, id, [](onvif::DeviceClient& c,
                                                            const onvif::PtzTarget& t) {
    return c.ptz_presets(t);
  });
  json list = json::array();
  for (const auto& p : presets) list.push_back({{"token", p.token}, {"name", p.name}});
  return Response::json(200, {{"presets", list}});
}

Response PtzApi::command(Call& call) {
  const std::string id = call.params["id"];
  const json body = parse_body(call);
  const std::string action = need_string(body, "action");
  if (action == "move") {
    only_fields(body, {"action", "pan", "tilt", "zoom"});
    const onvif::PtzVelocity v{speed(body, "pan"), speed(body, "tilt"), speed(body, "zoom")};
    // Audited before the camera is asked: an attempt counts even when the camera fails.
    audit(call, id, "move pan " + json(v.pan).dump() + " tilt " + json(v.tilt).dump() +
                        " zoom " + json(v.zoom).dump());
    with_camera(configs_, clock_, id, [&](onvif::DeviceClient& c, const onvif::PtzTarget& t) {
      c.ptz_move(t, v);
    });
  } else if (action == "stop") {
    only_fields(body, {"action"});
    audit(call, id, "stop");
    with_camera(configs_, clock_, id, [](onvif::DeviceClient& c, const onvif::PtzTarget& t) {
      c.ptz_stop(t);
    });
  } else if (action == "preset") {
    only_fields(body, {"action", "preset"});
    const std::string preset = need_string(body, "preset");
    if (preset.empty() || preset.size() > 64) {
      throw Error(ErrorCode::kInvalidArgument, "\"preset\" must be a preset's token (1-64 characters)");
    }
    audit(call, id, "preset " + preset);
    with_camera(configs_, clock_, id, [&](onvif::DeviceClient& c, const onvif::PtzTarget& t) {
      c.ptz_goto_preset(t, preset);
    });
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "\"action\" must be \"move\", \"stop\" or \"preset\", not \"" + action + "\"");
  }
  return Response::no_content();
}

}  // namespace vigil
