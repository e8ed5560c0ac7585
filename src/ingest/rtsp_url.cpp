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

}  // namespace

RtspUrl parse_rtsp_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, redact_url(url) + ": " + why);
  };
  if (!starts_with_nocase(url, "rtsp://")) throw bad("not an rtsp:// URL");
  // Where the user info ends is redaction's definition too (core/redact.h), so that the
  // password used to log in is the one masked in every message.
  const UrlAuthority parts = *split_authority(url);  // it has a scheme: rtsp://
  const std::string authority = url.substr(parts.host_begin, parts.host_end - parts.host_begin);
  const std::string rest = parts.host_end == url.size() ? "/" : url.substr(parts.host_end);
  RtspUrl out;
  if (parts.userinfo_end != std::string::npos) {
    const size_t pass = parts.password_begin;
    const size_t user_end = pass == std::string::npos ? parts.userinfo_end : pass - 1;
    out.user = percent_decode(std::string_view(url).substr(parts.begin, user_end - parts.begin));
    if (pass != std::string::npos) {
      out.password = percent_decode(std::string_view(url).substr(pass, parts.userinfo_end - pass));
    }
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
