#include "serve/events_api.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>

#include "analyze/detection.h"
#include "core/error.h"
#include "serve/api_request.h"

namespace vigil {
namespace {

using http::Response;
using nlohmann::json;

// An event clip is at most as long as an export may be (playback.cpp).
constexpr WallDuration kMaxClip = std::chrono::minutes(30);
constexpr int64_t kMaxMs = int64_t{1} << 52;

json event_json(const EventRow& e) {
  json j = {{"id", e.id},
            {"camera", e.camera_id},
            {"type", e.type},
            {"zones", e.zones},
            {"open", e.open},
            {"start", format_iso8601(e.start)},
            {"start_ms", ms_since_epoch(e.start)},
            {"end", format_iso8601(e.end)},
            {"end_ms", ms_since_epoch(e.end)},
            {"peak_score", e.peak_score},
            {"peak_ms", ms_since_epoch(e.peak_at)},
            {"armed", e.armed},
            {"close_reason", e.open ? json() : json(e.close_reason)}};
  j["box"] =
      e.box ? json{{"x", e.box->x}, {"y", e.box->y}, {"w", e.box->w}, {"h", e.box->h}} : json();
  j["snapshot"] =
      e.snapshot.empty() ? json() : json("/api/events/" + std::to_string(e.id) + "/snapshot.jpg");
  return j;
}

}  // namespace

EventsApi::EventsApi(const ConfigStore& configs, const Clock& clock, Playback& playback)
    : configs_(configs), clock_(clock), playback_(playback) {}

EventsApi::~EventsApi() = default;

EventStore& EventsApi::store() {
  std::lock_guard lock(mu_);
  if (!store_) store_ = std::make_unique<EventStore>(configs_.current()->catalog_location());
  return *store_;
}

void EventsApi::add_routes(Router& router) {
  auto add = [&](std::string method, std::string pattern, Access access,
                 Response (EventsApi::*fn)(Call&)) {
    add_route(router, this, std::move(method), std::move(pattern), std::move(access), fn);
  };
  // No camera in these paths: the handlers check the camera of the rows they load.
  const Access viewer{true, Role::kViewer, ""};
  // A clip is an export, and exports are for operators (playback.cpp).
  const Access operator_{true, Role::kOperator, ""};
  add("GET", "/api/events", viewer, &EventsApi::list);
  add("GET", "/api/events/{evid:int}", viewer, &EventsApi::event);
  add("GET", "/api/events/{evid:int}/snapshot.jpg", viewer, &EventsApi::snapshot);
  add("POST", "/api/events/{evid:int}/clip", operator_, &EventsApi::clip);
}

Response EventsApi::list(Call& call) {
  for (const auto& [k, v] : call.query) {
    if (k != "camera" && k != "type" && k != "zone" && k != "from_ms" && k != "to_ms" &&
        k != "before_id" && k != "limit") {
      throw Error(ErrorCode::kInvalidArgument, "unknown query parameter " + k);
    }
  }
  const User& u = call.principal->user;
  EventFilter f;
  if (auto it = call.query.find("camera"); it != call.query.end()) {
    if (!valid_param(ParamType::kCamera, it->second)) {
      throw Error(ErrorCode::kInvalidArgument, "query camera must be a camera id");
    }
    // Not in the list: 403 whether it exists or not (as authorize() does for paths).
    if (!u.may_see_camera(it->second)) {
      throw Error(ErrorCode::kPermissionDenied, "camera " + it->second + " is not in your list");
    }
    f.cameras = std::vector<std::string>{it->second};
  } else if (!u.sees_all_cameras()) {
    f.cameras = u.cameras;
  }
  if (auto it = call.query.find("type"); it != call.query.end()) {
    if (!detection_type_from_name(it->second) && it->second != "transaction") {
      throw Error(ErrorCode::kInvalidArgument,
                  "query type must be motion, tamper_covered, tamper_defocused, tamper_moved, "
                  "signal_lost or transaction");
    }
    f.type = it->second;
  }
  if (auto it = call.query.find("zone"); it != call.query.end()) {
    if (it->second.empty() || it->second.size() > 64 || it->second.find(',') != std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, "query zone must be a zone name");
    }
    f.zone = it->second;
  }
  if (call.query.count("from_ms")) f.from = wall_from_ms(query_int(call, "from_ms", 0, kMaxMs, 0));
  if (call.query.count("to_ms")) f.to = wall_from_ms(query_int(call, "to_ms", 0, kMaxMs, 0));
  if (call.query.count("before_id")) f.before_id = query_int(call, "before_id", 1, kMaxMs, 1);
  f.limit = static_cast<int>(query_int(call, "limit", 1, 1000, f.limit));
  const auto rows = store().find(f);
  json list = json::array();
  for (const auto& e : rows) list.push_back(event_json(e));
  // A full page may have more behind it; the client asks again with before_id.
  const json next = static_cast<int>(rows.size()) == f.limit ? json(rows.back().id) : json();
  return Response::json(200, {{"events", list}, {"next_before_id", next}});
}

EventRow EventsApi::visible_event(const Call& call) {
  const std::string& id = call.params.at("evid");
  auto row = store().get(std::stoll(id));
  if (!row) throw Error(ErrorCode::kNotFound, "no event " + id);
  if (!call.principal->user.may_see_camera(row->camera_id)) {
    throw Error(ErrorCode::kPermissionDenied,
                "event " + id + " belongs to a camera not in your list");
  }
  return *row;
}

Response EventsApi::event(Call& call) {
  return Response::json(200, event_json(visible_event(call)));
}

Response EventsApi::snapshot(Call& call) {
  const EventRow e = visible_event(call);
  if (e.snapshot.empty()) {
    throw Error(ErrorCode::kNotFound, "event " + std::to_string(e.id) + " has no snapshot");
  }
  // The path is the catalog's, relative to the data directory; nothing of the request is in it.
  std::ifstream in(configs_.current()->data_dir / e.snapshot, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, "the snapshot is gone (retention deleted it)");
  Response r;
  r.content_type = "image/jpeg";
  r.body.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

Response EventsApi::clip(Call& call) {
  only_query(call, {"evidence"});
  const auto ev = call.query.find("evidence");
  if (ev != call.query.end() && ev->second != "true" && ev->second != "false") {
    throw Error(ErrorCode::kInvalidArgument, "query evidence must be true or false");
  }
  const bool evidence = ev != call.query.end() && ev->second == "true";
  const EventRow e = visible_event(call);
  const WallTime start = e.start - configs_.current()->events.pre_roll;
  // An event still open reaches up to its last sighting; the clip holds what is recorded.
  WallTime end = e.end + configs_.current()->events.post_roll;
  std::string detail = "event " + std::to_string(e.id);
  if (end - start > kMaxClip) {
    end = start + kMaxClip;
    detail += ", its first 30 minutes";
  }
  return playback_.export_range(call, e.camera_id, start, end, detail, evidence);
}

}  // namespace vigil
