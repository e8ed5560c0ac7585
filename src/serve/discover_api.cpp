#include "serve/discover_api.h"

#include "core/error.h"
#include "core/redact.h"
#include "onvif/find.h"
#include "serve/api_request.h"

namespace vigil {

using http::Response;
using json = nlohmann::json;

namespace {

// Each SOAP call to a camera; a camera on a LAN answers in milliseconds.
constexpr std::chrono::milliseconds kCallTimeout{5'000};

onvif::Credentials credentials(const json& body) {
  return {opt_string(body, "user").value_or(""), opt_string(body, "password").value_or("")};
}

json cameras_json(const std::vector<onvif::FoundCamera>& found) {
  json out = json::array();
  for (const auto& c : found) out.push_back(onvif::to_json(c));
  return out;
}

}  // namespace

DiscoverApi::DiscoverApi(AccountStore& accounts, const Clock& clock)
    : accounts_(accounts), clock_(clock) {}

void DiscoverApi::add_routes(Router& router) {
  const Access admin{true, Role::kAdmin, ""};
  add_route(router, this, "POST", "/api/discover", admin, &DiscoverApi::discover, true);
  add_route(router, this, "POST", "/api/discover/device", admin, &DiscoverApi::read_device, true);
}

void DiscoverApi::audit(const Call& call, const std::string& detail) {
  AuditEntry e;
  e.at = clock_.wall_now();
  e.user_name = call.principal->user.name;
  e.address = call.request.remote_address;
  e.action = "camera_discover";
  e.detail = detail;
  accounts_.append_audit(e);
}

Response DiscoverApi::discover(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"address", "subnet", "multicast", "user", "password", "wait_ms"});
  onvif::DiscoveryRequest request;
  std::string what;
  if (auto a = opt_string(body, "address"); a && !a->empty()) {
    auto t = onvif::parse_target(*a);
    if (!t) throw Error(ErrorCode::kInvalidArgument, "address: not an IPv4 address[:port]");
    request.targets.push_back(*t);
    what += " address " + *a;
  }
  if (auto s = opt_string(body, "subnet"); s && !s->empty()) {
    std::string error;
    auto hosts = onvif::subnet_targets(*s, error);
    if (!hosts) throw Error(ErrorCode::kInvalidArgument, "subnet: " + error);
    request.targets.insert(request.targets.end(), hosts->begin(), hosts->end());
    what += " subnet " + *s;
  }
  if (body.contains("multicast")) {
    if (!body["multicast"].is_boolean()) {
      throw Error(ErrorCode::kInvalidArgument, "multicast: must be true or false");
    }
    request.multicast = body["multicast"].get<bool>();
  } else {
    request.multicast = request.targets.empty();
  }
  if (!request.multicast && request.targets.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "name an address or a subnet, or ask for multicast");
  }
  if (request.multicast) what += " multicast";
  if (body.contains("wait_ms")) {
    if (!body["wait_ms"].is_number_integer() || body["wait_ms"].get<int64_t>() < 100 ||
        body["wait_ms"].get<int64_t>() > 10'000) {
      throw Error(ErrorCode::kInvalidArgument, "wait_ms: must be a whole number in [100, 10000]");
    }
    request.wait = std::chrono::milliseconds(body["wait_ms"].get<int64_t>());
  }
  std::unique_lock lock(running_, std::try_to_lock);
  if (!lock) {
    throw HttpFail{429, "another discovery is running; try again when it is done",
                   {{"Retry-After", "5"}}};
  }
  const onvif::Credentials creds = credentials(body);
  audit(call, "probe" + what + (creds.empty() ? "" : " as " + creds.user));
  const auto found = onvif::find_cameras(request, creds, clock_, kCallTimeout);
  return Response::json(200, {{"cameras", cameras_json(found)}});
}

Response DiscoverApi::read_device(Call& call) {
  const json body = parse_body(call);
  only_fields(body, {"device_url", "user", "password"});
  const std::string url = need_string(body, "device_url");
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    throw Error(ErrorCode::kInvalidArgument, "device_url: must be an http:// or https:// URL");
  }
  std::unique_lock lock(running_, std::try_to_lock);
  if (!lock) {
    throw HttpFail{429, "another discovery is running; try again when it is done",
                   {{"Retry-After", "5"}}};
  }
  const onvif::Credentials creds = credentials(body);
  audit(call, "read " + redact_url(url) + (creds.empty() ? "" : " as " + creds.user));
  return Response::json(200, onvif::to_json(onvif::read_device(url, creds, clock_, kCallTimeout)));
}

}  // namespace vigil
