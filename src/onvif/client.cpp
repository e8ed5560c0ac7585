#include "onvif/client.h"

#include <openssl/rand.h>

#include <cctype>
#include <cstdlib>

#include "core/error.h"
#include "core/redact.h"
#include "core/text.h"
#include "events/http_post.h"

namespace vigil::onvif {

namespace {

std::string describe(Operation op, const std::string& url) {
  return std::string(operation_name(op)) + " at " + redact_url(url);
}

// A parser's failure as an Error naming the call; a Fault that refuses the credentials is
// kUnauthenticated.
[[noreturn]] void throw_failure(const std::string& what, const std::string& error, const Fault& fault) {
  if (fault.unauthorized()) {
    throw Error(ErrorCode::kUnauthenticated,
                what + ": unauthorized (the camera refused the user name or password)");
  }
  throw Error(ErrorCode::kDataLoss, what + ": " + error);
}

}  // namespace

DeviceClient::DeviceClient(std::string device_url, Credentials credentials, const Clock& clock,
                           std::chrono::milliseconds timeout)
    : device_url_(std::move(device_url)),
      credentials_(std::move(credentials)),
      clock_(clock),
      timeout_(timeout) {}

std::string DeviceClient::call(const std::string& url, Operation op, const RequestArgs& args) {
  UsernameTokenInput token;
  // GetSystemDateAndTime goes without a token: anyone may ask (ONVIF Core §5.9.4.3), and a
  // token in the recorder's time could be refused by a camera whose clock is off.
  const bool sign = !credentials_.empty() && op != Operation::kGetSystemDateAndTime;
  if (sign) {
    token.nonce.resize(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(token.nonce.data()), 16) != 1) {
      throw Error(ErrorCode::kInternal, "no random bytes for a WS-Security nonce");
    }
    token.created = xml_datetime(ms_since_epoch(clock_.wall_now()) + clock_offset_ms_);
  }
  const std::string body = build_request(op, args, sign ? credentials_ : Credentials{}, token);
  const std::string what = describe(op, url);
  // SOAP 1.2 over HTTP names the action in the Content-Type (RFC 3902 §1).
  HttpPostResult r = http_post(
      url, {{"Content-Type", std::string("application/soap+xml; charset=utf-8")}}, body, timeout_);
  if (r.status == 0) throw Error(ErrorCode::kUnavailable, what + ": " + r.error);
  if (r.status == 401 || r.status == 403) {
    throw Error(ErrorCode::kUnauthenticated,
                what + ": unauthorized (the camera refused the user name or password)");
  }
  // A SOAP fault comes with 400 or 500 and a body the parsers read; anything else is not SOAP.
  if (r.status != 200 && r.body.find("Envelope") == std::string::npos) {
    throw Error(ErrorCode::kUnavailable, what + ": HTTP " + std::to_string(r.status));
  }
  return r.body;
}

std::optional<int64_t> DeviceClient::read_clock() {
  // Without credentials: a camera whose clock is off refuses tokens whose Created is in the
  // recorder's time, so it is needed to authenticate at all.
  std::string error;
  Fault fault;
  const int64_t asked = ms_since_epoch(clock_.wall_now());
  const std::string answer = call(device_url_, Operation::kGetSystemDateAndTime);
  const int64_t answered = ms_since_epoch(clock_.wall_now());
  auto t = parse_system_date_and_time(answer, error, &fault);
  if (!t) return std::nullopt;
  // The camera's second was read somewhere between the two; its own resolution is 1 s.
  clock_offset_ms_ = *t - (asked + answered) / 2;
  return clock_offset_ms_;
}

Services DeviceClient::read_services() {
  std::string error;
  Fault fault;
  std::optional<Services> services =
      parse_capabilities(call(device_url_, Operation::kGetCapabilities), error, &fault);
  if (!services) {
    if (fault.unauthorized()) throw_failure(describe(Operation::kGetCapabilities, device_url_), error, fault);
    fault = {};
    services = parse_services(call(device_url_, Operation::kGetServices), error, &fault);
    if (!services) throw_failure(describe(Operation::kGetServices, device_url_), error, fault);
  }
  return std::move(*services);
}

std::vector<VideoProfile> DeviceClient::read_profiles(const std::string& media_url) {
  std::string error;
  Fault fault;
  auto profiles = parse_profiles(call(media_url, Operation::kGetProfiles), error, &fault);
  if (!profiles) throw_failure(describe(Operation::kGetProfiles, media_url), error, fault);
  return std::move(*profiles);
}

CameraReport DeviceClient::read_camera() {
  CameraReport report;
  report.device_url = device_url_;
  std::string error;
  Fault fault;
  report.clock_offset_ms = read_clock();
  if (report.clock_offset_ms) {
    report.clock_off = std::llabs(*report.clock_offset_ms) > kClockTolerance.count();
  }
  const std::string info = call(device_url_, Operation::kGetDeviceInformation);
  auto di = parse_device_information(info, error, &fault);
  if (!di) throw_failure(describe(Operation::kGetDeviceInformation, device_url_), error, fault);
  report.info = std::move(*di);
  report.services = read_services();

  const std::string& media = report.services.media;
  report.profiles = read_profiles(media);
  for (auto& p : report.profiles) {
    fault = {};
    RequestArgs args;
    args.profile = p.token;
    auto uri = parse_stream_uri(call(media, Operation::kGetStreamUri, args), error, &fault);
    if (!uri) throw_failure(describe(Operation::kGetStreamUri, media), error + " (profile " + p.token + ")", fault);
    p.stream_uri = std::move(*uri);
  }
  choose_streams(report);
  return report;
}

PtzTarget DeviceClient::ptz_target(const std::string& profile) {
  read_clock();
  // GetDeviceInformation is not needed, but it is the first call that must authenticate, and a
  // camera that lets GetCapabilities through unauthenticated would otherwise report a wrong
  // password only at the move.
  std::string error;
  Fault fault;
  if (!parse_device_information(call(device_url_, Operation::kGetDeviceInformation), error, &fault)) {
    throw_failure(describe(Operation::kGetDeviceInformation, device_url_), error, fault);
  }
  const Services services = read_services();
  if (services.ptz.empty()) {
    throw Error(ErrorCode::kFailedPrecondition,
                "the camera at " + redact_url(device_url_) + " has no PTZ service");
  }
  PtzTarget target{services.ptz, profile};
  if (target.profile.empty()) {
    for (const auto& p : read_profiles(services.media)) {
      if (p.ptz) {
        target.profile = p.token;
        break;
      }
    }
    if (target.profile.empty()) {
      throw Error(ErrorCode::kFailedPrecondition,
                  "the camera at " + redact_url(device_url_) + " has no profile with PTZ");
    }
  }
  return target;
}

void DeviceClient::ptz_call(const PtzTarget& target, Operation op, RequestArgs args) {
  args.profile = target.profile;
  std::string error;
  Fault fault;
  if (!parse_empty_response(call(target.ptz_url, op, args), op, error, &fault)) {
    throw_failure(describe(op, target.ptz_url), error + " (profile " + target.profile + ")", fault);
  }
}

void DeviceClient::ptz_move(const PtzTarget& target, const PtzVelocity& velocity) {
  RequestArgs args;
  args.velocity = velocity;
  ptz_call(target, Operation::kContinuousMove, std::move(args));
}

void DeviceClient::ptz_stop(const PtzTarget& target) { ptz_call(target, Operation::kStop, {}); }

void DeviceClient::ptz_goto_preset(const PtzTarget& target, const std::string& preset) {
  RequestArgs args;
  args.preset = preset;
  ptz_call(target, Operation::kGotoPreset, std::move(args));
}

std::vector<PtzPreset> DeviceClient::ptz_presets(const PtzTarget& target) {
  RequestArgs args;
  args.profile = target.profile;
  std::string error;
  Fault fault;
  auto presets = parse_presets(call(target.ptz_url, Operation::kGetPresets, args), error, &fault);
  if (!presets) throw_failure(describe(Operation::kGetPresets, target.ptz_url), error, fault);
  return std::move(*presets);
}

void choose_streams(CameraReport& report) {
  report.main.reset();
  report.sub.reset();
  const auto& ps = report.profiles;
  auto area = [&](size_t i) { return static_cast<int64_t>(ps[i].width) * ps[i].height; };
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].stream_uri.empty()) continue;
    if (!report.main || area(i) > area(*report.main)) report.main = i;
  }
  if (!report.main) return;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (i == *report.main || ps[i].stream_uri.empty()) continue;
    if (ps[i].stream_uri == ps[*report.main].stream_uri) continue;
    if (!report.sub || area(i) < area(*report.sub)) report.sub = i;
  }
}

std::pair<std::string, Credentials> split_credentials(const std::string& url) {
  const auto a = split_authority(url);
  if (!a || a->userinfo_end == std::string::npos) return {url, {}};
  Credentials c;
  const size_t user_end = a->password_begin == std::string::npos ? a->userinfo_end : a->password_begin - 1;
  c.user = percent_decode(std::string_view(url).substr(a->begin, user_end - a->begin));
  if (a->password_begin != std::string::npos) {
    c.password = percent_decode(
        std::string_view(url).substr(a->password_begin, a->userinfo_end - a->password_begin));
  }
  return {url.substr(0, a->begin) + url.substr(a->host_begin), std::move(c)};
}

std::string with_credentials(const std::string& uri, const Credentials& credentials) {
  const auto a = split_authority(uri);
  if (credentials.empty() || !a || a->userinfo_end != std::string::npos) return uri;
  // Encoded here, not by with_encoded_userinfo: that one has to guess where a raw password with
  // '/' or '@' ends, while these are known.
  return uri.substr(0, a->begin) + percent_encode(credentials.user) + ":" +
         percent_encode(credentials.password) + "@" + uri.substr(a->begin);
}

}  // namespace vigil::onvif
