// Talks to one ONVIF camera's device and media services over HTTP (events/http_post.h):
// reads what it is (GetDeviceInformation), its clock (GetSystemDateAndTime, which ONVIF Core
// §5.9.4.3 lets anyone call, so it is read first and the UsernameToken's Created is written in
// the camera's time), where its services are (GetCapabilities, or GetServices when that
// fails), and its video profiles with their RTSP URLs (GetProfiles, GetStreamUri); and moves a
// PTZ camera (ContinuousMove, Stop, GetPresets, GotoPreset on its PTZ service).
// Errors are vigil::Error: kUnauthenticated when the camera refuses the user name or password
// (HTTP 401, or a ter:NotAuthorized / wsse:FailedAuthentication fault), kUnavailable when it
// does not answer, kDataLoss when it answers something unusable; each says which call and URL.
// Blocking; one client per thread (no shared state besides the Clock).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "onvif/messages.h"

namespace vigil::onvif {

// A camera's clock further than this from the recorder's is flagged: footage is labelled by the
// recorder, and evidence wants the camera's overlay to agree with it.
inline constexpr std::chrono::milliseconds kClockTolerance{5'000};

struct CameraReport {
  std::string device_url;
  DeviceInformation info;
  std::optional<int64_t> clock_offset_ms;  // camera minus recorder; nullopt when unreadable
  bool clock_off = false;                  // |offset| > kClockTolerance
  Services services;
  std::vector<VideoProfile> profiles;  // with stream_uri filled
  // Indexes into profiles: the largest picture (record it) and the smallest other one (analyse
  // it); sub is nullopt for a camera with one profile.
  std::optional<size_t> main, sub;
};

// Where a camera's PTZ commands go: its PTZ service and the media profile they name.
struct PtzTarget {
  std::string ptz_url;
  std::string profile;
};

class DeviceClient {
 public:
  DeviceClient(std::string device_url, Credentials credentials, const Clock& clock,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(5'000));

  // Everything above; the credentials are needed from GetDeviceInformation on.
  CameraReport read_camera();

  // Reads the camera's clock (tokens follow it), its PTZ service and checks `profile` — or, when
  // `profile` is empty, picks the first profile with a PTZ configuration. kFailedPrecondition
  // when the camera has no PTZ service or no such profile.
  PtzTarget ptz_target(const std::string& profile);
  // Starts moving at `velocity` (each -1..1) until ptz_stop or the camera's own timeout.
  void ptz_move(const PtzTarget& target, const PtzVelocity& velocity);
  void ptz_stop(const PtzTarget& target);
  std::vector<PtzPreset> ptz_presets(const PtzTarget& target);
  void ptz_goto_preset(const PtzTarget& target, const std::string& preset);

 private:
  // GetSystemDateAndTime; sets clock_offset_ms_ when the answer is readable.
  std::optional<int64_t> read_clock();
  Services read_services();
  std::vector<VideoProfile> read_profiles(const std::string& media_url);
  // A PTZ call whose answer carries nothing but success.
  void ptz_call(const PtzTarget& target, Operation op, RequestArgs args);
  // Sends `op` to `url` and returns the answer's body, or throws (401, network, HTTP error
  // without a SOAP body).
  std::string call(const std::string& url, Operation op, const RequestArgs& args = {});

  std::string device_url_;
  Credentials credentials_;
  const Clock& clock_;
  std::chrono::milliseconds timeout_;
  int64_t clock_offset_ms_ = 0;  // applied to the token's Created
};

// Chooses main and sub among profiles (see CameraReport).
void choose_streams(CameraReport& report);

// The inverse of with_credentials: an http(s) URL as vigil's configuration keeps it, with the user
// name and password (percent-decoded) taken out.
std::pair<std::string, Credentials> split_credentials(const std::string& url);

// `uri` with the user name and password put in (percent-encoded), as vigil's camera URLs carry
// them; unchanged when `credentials` is empty.
std::string with_credentials(const std::string& uri, const Credentials& credentials);

}  // namespace vigil::onvif
