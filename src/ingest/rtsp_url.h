// An rtsp:// URL taken apart: where to connect, what to put in request lines (never the
// credentials) and the credentials themselves (percent-decoded, for authentication only).
#pragma once

#include <cstdint>
#include <string>

namespace vigil {

struct RtspUrl {
  std::string host;  // without brackets for IPv6
  uint16_t port = 554;
  std::string request_url;  // rtsp://host[:port]/path?query, without user info
  std::string user;
  std::string password;
  bool has_credentials = false;
};

// Throws Error(kInvalidArgument) naming the (redacted) URL when it is not rtsp://host[:port]/...
RtspUrl parse_rtsp_url(const std::string& url);

// Resolves a control attribute (SDP a=control) against a base URL (Content-Base): absolute URLs
// are kept, "*" means the base itself, anything else is appended below the base.
std::string resolve_control_url(const std::string& base, const std::string& control);

}  // namespace vigil
