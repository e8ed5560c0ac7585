#include "ingest/rtsp_url.h"

#include <cctype>

#include "core/error.h"
#include "core/redact.h"

namespace vigil {
namespace {

bool starts_with_nocase(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Cameras' passwords often contain characters that must be percent-encoded in a URL.
std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

RtspUrl parse_rtsp_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, redact_url(url) + ": " + why);
  };
  if (!starts_with_nocase(url, "rtsp://")) throw bad("not an rtsp:// URL");
  const size_t auth_start = 7;
  const size_t path_start = url.find_first_of("/?", auth_start);
  std::string authority = url.substr(auth_start, path_start == std::string::npos
                                                     ? std::string::npos
                                                     : path_start - auth_start);
  const std::string rest = path_start == std::string::npos ? "/" : url.substr(path_start);
  RtspUrl out;
  // The password may itself contain '@' when not encoded: the last '@' ends the user info.
  const size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    const std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    out.user = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string::npos) out.password = percent_decode(userinfo.substr(colon + 1));
    out.has_credentials = true;
  }
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) throw bad("unterminated IPv6 address");
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw bad("junk after the IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw bad("no host");
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || port > 65535) throw bad("bad port");
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) throw bad("bad port");
    out.port = static_cast<uint16_t>(port);
  }
  out.request_url = "rtsp://" + authority + (rest[0] == '/' ? rest : "/" + rest);
  return out;
}

std::string resolve_control_url(const std::string& base, const std::string& control) {
  if (control.empty() || control == "*") return base;
  if (starts_with_nocase(control, "rtsp://") || starts_with_nocase(control, "rtsps://")) {
    return control;
  }
  // A query string on the base stays on the base's own URL only.
  std::string b = base.substr(0, base.find('?'));
  if (!b.empty() && b.back() == '/') return b + control;
  return b + "/" + control;
}

}  // namespace vigil
