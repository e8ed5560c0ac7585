// libFuzzer target: an answer from the network as src/onvif reads it: a WS-Discovery datagram
// (parse_probe_matches) and every SOAP answer parser of the device, media and PTZ services.
// None may throw, crash or leak; a parse that succeeds must give bounded, usable values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "onvif/messages.h"

using namespace vigil::onvif;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string error;
  Fault fault;
  if (auto m = parse_probe_matches(bytes, "uuid:0a6dc791-2be6-4991-9af1-454778a1917a", error)) {
    for (const auto& pm : *m) {
      if (pm.xaddrs.empty() || pm.xaddrs.size() > 16) __builtin_trap();
    }
  }
  (void)parse_device_information(bytes, error, &fault);
  (void)fault.unauthorized();
  if (auto t = parse_system_date_and_time(bytes, error, &fault)) (void)xml_datetime(*t);
  (void)parse_capabilities(bytes, error, &fault);
  (void)parse_services(bytes, error, &fault);
  if (auto p = parse_profiles(bytes, error, &fault)) {
    for (const auto& v : *p) {
      if (v.width < 0 || v.height < 0 || v.token.empty()) __builtin_trap();
    }
  }
  if (auto u = parse_stream_uri(bytes, error, &fault)) {
    if (u->rfind("rtsp", 0) != 0) __builtin_trap();
  }
  if (auto presets = parse_presets(bytes, error, &fault)) {
    if (presets->size() > 256) __builtin_trap();
    for (const auto& p : *presets) {
      if (p.token.empty()) __builtin_trap();
    }
  }
  (void)parse_empty_response(bytes, Operation::kContinuousMove, error, &fault);
  return 0;
}
