#include "serve/holds_api.h"

#include <algorithm>

#include "core/error.h"
#include "serve/api_request.h"

namespace vigil {

using http::Response;
using json = nlohmann::json;

namespace {

constexpr int64_t kMaxMs = int64_t{1} << 52;

json hold_json(const Hold& h) {
  return {{"id", h.id},
          {"name", h.name},
          {"reason", h.reason},
          {"cameras", h.cameras},
          {"from_ms", ms_since_epoch(h.from)},
          {"to_ms", ms_since_epoch(h.to)},
          {"created_ms", ms_since_epoch(h.created)},
          {"created_by", h.created_by},
          {"released_ms", h.released ? json(ms_since_epoch(*h.released)) : json()},
          {"released_by", h.released_by ? json(*h.released_by) : json()}};
}

int64_t need_ms(const json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_number_integer() || body[key].get<int64_t>() < 0 ||
      body[key].get<int64_t>() > kMaxMs) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string(key) + " must be UTC milliseconds since 1970 (a whole number)");
  }
  return body[key].get<int64_t>();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

HoldsApi::HoldsApi(const ConfigStore& configs, AccountStore& accounts, const Clock& clock,
                   Playback& playback)
    : configs_(configs), accounts_(accounts), clock_(clock), playback_(playback) {}

HoldsApi::~HoldsApi() = default;

HoldStore& HoldsApi::store() {
  std::lock_guard lock(mu_);
  if (!store_) store_ = std::make_unique<HoldStore>(configs_.current()->catalog_location());
  return *store_;
}

void HoldsApi::add_routes(Router& router) {
  // No camera in these paths: the handlers check the cameras a hold names.
  add_route(router, this, "GET", "/api/holds", Access{true, Role::kViewer, ""}, &HoldsApi::list);
  add_route(router, this, "POST", "/api/holds", Access{true, Role::kOperator, ""},
            &HoldsApi::add);
  // Releasing lets retention delete evidence: admins only.
  add_route(router, this, "POST", "/api/holds/{hold:int}/release", Access{true, Role::kAdmin, ""},
            &HoldsApi::release);
  // An export is for operators, as any export (playback.cpp).
  add_route(router, this, "POST", "/api/holds/{hold:int}/export",
            Access{true, Role::kOperator, ""}, &HoldsApi::export_hold);
}

Response HoldsApi::export_hold(Call& call) {
  const int64_t id = std::stoll(call.params.at("hold"));
  const auto h = store().get(id);
  const User& u = call.principal->user;
  std::vector<std::string> cameras;
  if (h) {
    for (const auto& c : h->cameras) {
      if (u.may_see_camera(c)) cameras.push_back(c);
    }
  }
  // A hold on none of the caller's cameras is none of their business (as in list()).
  if (cameras.empty()) throw Error(ErrorCode::kNotFound, "no hold " + std::to_string(id));
  json exports = json::array();
  json skipped = json::array();
  const std::string detail = "hold " + std::to_string(id) + " \"" + h->name + "\"";
  for (const auto& c : cameras) {
    try {
      exports.push_back(playback_.queue_evidence(call, c, h->from, h->to, detail));
    } catch (const Error& e) {
      // A camera with nothing (signed) in the range does not stop the others' bundles.
      if (e.code() != ErrorCode::kNotFound && e.code() != ErrorCode::kFailedPrecondition) throw;
      skipped.push_back({{"camera", c}, {"error", e.what()}});
    }
  }
  if (exports.empty()) {
    return Response::json(404, {{"error", "not_found"},
                                {"detail", "no signed footage under hold " + std::to_string(id)},
                                {"skipped", skipped}});
  }
  return Response::json(202, {{"hold", id}, {"exports", exports}, {"skipped", skipped}});
}

Response HoldsApi::list(Call& call) {
  only_query(call, {"released"});
  const auto it = call.query.find("released");
  if (it != call.query.end() && it->second != "true" && it->second != "false") {
    throw Error(ErrorCode::kInvalidArgument, "query released must be true or false");
  }
  const bool released = it != call.query.end() && it->second == "true";
  const User& u = call.principal->user;
  json out = json::array();
  for (const Hold& h : store().list(released)) {
    // A hold is listed to those who may see one of its cameras, with those cameras only.
    Hold visible = h;
    std::erase_if(visible.cameras, [&u](const std::string& c) { return !u.may_see_camera(c); });
    if (visible.cameras.empty()) continue;
    json j = hold_json(visible);
    // What it keeps now, per camera (footage it covers that retention would otherwise delete;
    // overlapping holds count the same footage in each). Released: nothing.
    json bytes = json::object();
    for (const auto& c : visible.cameras) {
      bytes[c] = visible.released ? uint64_t{0} : store().bytes_in_range(c, h.from, h.to);
    }
    j["held_bytes"] = bytes;
    out.push_back(std::move(j));
  }
  return Response::json(200, {{"holds", out}});
}

Response HoldsApi::add(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"name", "reason", "cameras", "from_ms", "to_ms"});
  Hold h;
  h.name = need_string(body, "name");
  h.reason = opt_string(body, "reason").value_or("");
  if (h.name.empty() || h.name.size() > 200 || h.reason.size() > 2000) {
    throw Error(ErrorCode::kInvalidArgument,
                "name must be 1 to 200 characters and reason at most 2000");
  }
  if (!body.contains("cameras") || !body["cameras"].is_array() || body["cameras"].empty()) {
    throw Error(ErrorCode::kInvalidArgument, "cameras must be a list of camera ids");
  }
  const auto config = configs_.current();
  const User& u = call.principal->user;
  for (const auto& c : body["cameras"]) {
    if (!c.is_string() || !valid_param(ParamType::kCamera, c.get<std::string>())) {
      throw Error(ErrorCode::kInvalidArgument, "cameras must be a list of camera ids");
    }
    const std::string id = c.get<std::string>();
    if (!u.may_see_camera(id)) {
      throw Error(ErrorCode::kPermissionDenied, "camera " + id + " is not in your list");
    }
    if (!config->find_camera(id)) {
      throw Error(ErrorCode::kNotFound, "no camera " + id);
    }
    h.cameras.push_back(id);
  }
  std::sort(h.cameras.begin(), h.cameras.end());
  h.cameras.erase(std::unique(h.cameras.begin(), h.cameras.end()), h.cameras.end());
  h.from = wall_from_ms(need_ms(body, "from_ms"));
  h.to = wall_from_ms(need_ms(body, "to_ms"));
  if (h.to <= h.from) throw Error(ErrorCode::kInvalidArgument, "to_ms must be after from_ms");
  h.created = clock_.wall_now();
  h.created_by = u.name;
  h.id = store().add(h);

  AuditEntry e;
  e.at = h.created;
  e.user_name = u.name;
  e.address = call.request.remote_address;
  e.action = "hold_add";
  if (h.cameras.size() == 1) e.camera_id = h.cameras.front();
  e.range_start = h.from;
  e.range_end = h.to;
  e.detail = "hold " + std::to_string(h.id) + " \"" + h.name + "\" on " + join(h.cameras) +
             ": " + h.reason;
  accounts_.append_audit(e);
  return Response::json(201, hold_json(*store().get(h.id)));
}

Response HoldsApi::release(Call& call) {
  const int64_t id = std::stoll(call.params.at("hold"));
  const auto h = store().get(id);
  if (!h) throw Error(ErrorCode::kNotFound, "no hold " + std::to_string(id));
  const WallTime now = clock_.wall_now();
  if (!store().release(id, now, call.principal->user.name)) {
    throw Error(ErrorCode::kFailedPrecondition,
                "hold " + std::to_string(id) + " was released already");
  }
  AuditEntry e;
  e.at = now;
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = "hold_release";
  if (h->cameras.size() == 1) e.camera_id = h->cameras.front();
  e.range_start = h->from;
  e.range_end = h->to;
  e.detail = "hold " + std::to_string(id) + " \"" + h->name + "\" on " + join(h->cameras);
  accounts_.append_audit(e);
  return Response::json(200, hold_json(*store().get(id)));
}

}  // namespace vigil
