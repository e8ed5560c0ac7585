// The ONVIF messages vigil sends and the answers it reads, with no I/O: WS-Discovery Probe and
// ProbeMatches (WS-Discovery 2005/04 §5.2-5.3, as ONVIF Core §7.3 uses it), SOAP 1.2 requests
// with a WS-Security UsernameToken (OASIS UsernameToken Profile 1.0 §3.1, PasswordDigest), and
// the answers of the device (GetDeviceInformation, GetSystemDateAndTime, GetCapabilities,
// GetServices), media (GetProfiles, GetStreamUri) and PTZ (ContinuousMove, Stop, GetPresets,
// GotoPreset; ONVIF PTZ Service Specification §5.3-5.4) services.
// Every parse_* function reads bytes from the network: it returns nullopt with `error` set on
// anything it cannot use and never throws on its input. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::onvif {

// --- WS-Discovery ---------------------------------------------------------------------------

// A Probe for NetworkVideoTransmitter (ONVIF cameras) with `message_id` ("uuid:...").
std::string build_probe(const std::string& message_id);

struct ProbeMatch {
  std::string endpoint;                 // EndpointReference/Address, e.g. "urn:uuid:..."
  std::vector<std::string> xaddrs;      // device service URLs
  std::vector<std::string> scopes;      // onvif://www.onvif.org/... URIs
  // From the scopes (ONVIF Core §7.3.2.2), percent-decoded; empty when not announced.
  std::string name;
  std::string hardware;  // the model, as most cameras announce it
  std::string manufacturer;
  std::string location;
};

// The matches of a ProbeMatches answer. An answer that relates to another probe (RelatesTo
// naming another message id) is an error, so that stray answers are not reported.
std::optional<std::vector<ProbeMatch>> parse_probe_matches(std::string_view bytes,
                                                           const std::string& message_id,
                                                           std::string& error);

// --- SOAP requests --------------------------------------------------------------------------

struct Credentials {
  std::string user;
  std::string password;
  bool empty() const { return user.empty(); }
};

// What the WS-Security header needs besides the credentials; fixed values make tests exact.
struct UsernameTokenInput {
  std::string nonce;    // raw bytes (16 random ones)
  std::string created;  // "2026-12-06T12:00:00Z", in the camera's clock
};

// Base64(SHA-1(nonce + created + password)), UsernameToken Profile 1.0 §3.1.
std::string password_digest(const std::string& nonce, const std::string& created,
                            const std::string& password);

// The service a request goes to, and its operation.
enum class Operation {
  kGetDeviceInformation,
  kGetSystemDateAndTime,
  kGetCapabilities,
  kGetServices,
  kGetProfiles,
  kGetStreamUri,  // needs `profile`
  // PTZ service; each needs `profile` (a profile with a PTZ configuration).
  kContinuousMove,  // and `velocity`
  kStop,            // stops pan, tilt and zoom
  kGetPresets,
  kGotoPreset,  // and `preset`
};
const char* operation_name(Operation op);

// A ContinuousMove's speeds in ONVIF's generic velocity space (PTZ spec §5.3.1,
// VelocityGenericSpace): -1..1, positive is right, up and in.
struct PtzVelocity {
  double pan = 0, tilt = 0, zoom = 0;
};

struct RequestArgs {
  std::string profile;
  PtzVelocity velocity;
  std::string preset;  // a preset token (GotoPreset)
};

// A SOAP 1.2 envelope for `op`; with a UsernameToken when `credentials` is not empty.
std::string build_request(Operation op, const RequestArgs& args, const Credentials& credentials,
                          const UsernameTokenInput& token);

// --- answers --------------------------------------------------------------------------------

// A SOAP Fault in an answer: its code/subcode (e.g. "ter:NotAuthorized") and reason.
struct Fault {
  std::string code;
  std::string subcode;
  std::string reason;
  // The camera refused the credentials (ter:NotAuthorized, wsse:FailedAuthentication and the
  // like), as opposed to not supporting the operation.
  bool unauthorized() const;
};


struct DeviceInformation {
  std::string manufacturer, model, firmware, serial, hardware_id;
};

struct Services {
  std::string device, media, ptz;  // XAddr URLs; empty when absent
};

struct VideoProfile {
  std::string token;
  std::string name;
  std::string encoding;  // "H264", "H265", "JPEG" as the camera writes it
  int width = 0, height = 0;
  std::optional<double> fps;
  std::optional<int> bitrate_kbps;
  bool ptz = false;  // the profile has a PTZ configuration
  std::string stream_uri;  // filled by GetStreamUri
};

// Each returns nullopt with `error` set (and `fault` filled when the answer was a SOAP Fault).
std::optional<DeviceInformation> parse_device_information(std::string_view bytes,
                                                          std::string& error, Fault* fault);
// The camera's UTC clock, in milliseconds since 1970.
std::optional<int64_t> parse_system_date_and_time(std::string_view bytes, std::string& error,
                                                  Fault* fault);
std::optional<Services> parse_capabilities(std::string_view bytes, std::string& error,
                                           Fault* fault);
std::optional<Services> parse_services(std::string_view bytes, std::string& error, Fault* fault);
std::optional<std::vector<VideoProfile>> parse_profiles(std::string_view bytes,
                                                        std::string& error, Fault* fault);
std::optional<std::string> parse_stream_uri(std::string_view bytes, std::string& error,
                                            Fault* fault);

struct PtzPreset {
  std::string token;
  std::string name;  // printable(); may be empty
};

// The presets of a GetPresetsResponse (none is a valid answer).
std::optional<std::vector<PtzPreset>> parse_presets(std::string_view bytes, std::string& error,
                                                    Fault* fault);
// An answer with no content worth reading (ContinuousMoveResponse, StopResponse,
// GotoPresetResponse): true when it is `op`'s response, false with `error` (and `fault`) set.
bool parse_empty_response(std::string_view bytes, Operation op, std::string& error, Fault* fault);

// "2026-12-06T12:00:00Z" for a time in milliseconds since 1970 (UTC).
std::string xml_datetime(int64_t unix_ms);

// Percent-decoded (a scope's "HIKVISION%20DS-2CD" → "HIKVISION DS-2CD"), control characters
// replaced by spaces: text from a camera made safe to print.
std::string printable(std::string_view s);

}  // namespace vigil::onvif
